//! The directory: who is responsible for a network, from member profiles.
//!
//! A report about an indicator goes to the team whose constituency matches it
//! most specifically: the longest IP prefix containing the address (or the
//! prefix), the exact ASN, the longest domain suffix on a label boundary.
//! When no constituency matches, it goes to the team(s) of last resort for the
//! economy (the country given with the report, or the indicator itself when
//! it is a country code), and failing those to the mesh's point of contact
//! named in the charter. Teams that tie (two teams listing the same most
//! specific prefix, say a national team and an ISP) all receive it.
//!
//! Claims are self-declared: a member can list a prefix inside another
//! team's and win its reports. So nothing is won silently: a route lists
//! every other team whose constituency also covers the indicator
//! (`Route::contested`), and [`overlaps`] gives each team every other
//! member's entry that overlaps one of its own.

use std::{fmt, net::IpAddr, str::FromStr};

use ipnet::IpNet;
use proto::{Constituency, Profile, Role, TeamId};

/// What a report is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Indicator {
    /// One address.
    Ip(IpAddr),
    /// A network.
    Prefix(IpNet),
    /// An autonomous system.
    Asn(u32),
    /// A domain name.
    Domain(String),
    /// An economy (ISO 3166 alpha-2).
    Country(String),
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Indicator::Ip(a) => write!(f, "{a}"),
            Indicator::Prefix(p) => write!(f, "{p}"),
            Indicator::Asn(a) => write!(f, "AS{a}"),
            Indicator::Domain(d) => f.write_str(d),
            Indicator::Country(c) => f.write_str(c),
        }
    }
}

impl FromStr for Indicator {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Indicator::Ip(ip));
        }
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(Indicator::Prefix(net.trunc()));
        }
        if let Some(n) = s.strip_prefix("AS").or_else(|| s.strip_prefix("as"))
            && let Ok(asn) = n.parse()
        {
            return Ok(Indicator::Asn(asn));
        }
        if s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic()) {
            return Ok(Indicator::Country(s.to_ascii_uppercase()));
        }
        match s.parse::<Constituency>() {
            Ok(Constituency::Domain(d)) => Ok(Indicator::Domain(d)),
            _ => Err(format!(
                "{s:?} is not an IP address, prefix, ASN (AS64500), domain or country code (BR)"
            )),
        }
    }
}

/// Why a team was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// Its constituency entry matched.
    Constituency(Constituency),
    /// It is the team of last resort for this economy.
    LastResort(String),
    /// It is the mesh's point of contact (no other match).
    PointOfContact,
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Constituency(Constituency::Prefix(p)) => write!(f, "its constituency includes {p} (the most specific matching prefix)"),
            Why::Constituency(Constituency::Asn(a)) => write!(f, "its constituency includes AS{a}"),
            Why::Constituency(Constituency::Domain(d)) => write!(f, "its constituency includes {d} (the longest matching domain)"),
            Why::LastResort(c) => write!(f, "no team's constituency covers it; it is the team of last resort for {c}"),
            Why::PointOfContact => f.write_str("no team covers it and no team is last resort for its economy; it is the mesh's point of contact"),
        }
    }
}

/// Where a report goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The responsible teams (several on a tie), in team-id order.
    pub teams: Vec<TeamId>,
    /// Why.
    pub why: Why,
    /// Other teams whose constituency also covers the indicator, less
    /// specifically (most specific first): the report does not go to them,
    /// but the reporter is shown them.
    pub contested: Vec<Claim>,
}

/// One entry of a team's constituency.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Claim {
    /// The team.
    pub team: TeamId,
    /// The entry.
    pub entry: Constituency,
}

/// Another member's entry that overlaps one of a team's own (one contains
/// the other, or they are equal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlap {
    /// The team's own entry.
    pub ours: Constituency,
    /// The other team's.
    pub theirs: Claim,
}

/// Every other member's entry that overlaps one of `team`'s entries, in
/// (our entry, their team) order: what a team is shown so that a member
/// claiming a prefix inside its own (to receive its reports) is seen.
pub fn overlaps<'a>(members: impl IntoIterator<Item = &'a Profile>, team: &TeamId) -> Vec<Overlap> {
    let members: Vec<&Profile> = members.into_iter().collect();
    let Some(own) = members.iter().find(|p| p.team == *team) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ours in &own.constituency {
        for p in members.iter().filter(|p| p.team != *team) {
            for theirs in p.constituency.iter().filter(|c| overlapping(ours, c)) {
                out.push(Overlap {
                    ours: ours.clone(),
                    theirs: Claim {
                        team: p.team,
                        entry: theirs.clone(),
                    },
                });
            }
        }
    }
    out.sort_by_cached_key(|o| {
        (
            o.ours.to_string(),
            o.theirs.team,
            o.theirs.entry.to_string(),
        )
    });
    out.dedup();
    out
}

/// Whether two entries cover some network in common.
fn overlapping(a: &Constituency, b: &Constituency) -> bool {
    match (a, b) {
        (Constituency::Prefix(p), Constituency::Prefix(q)) => p.contains(q) || q.contains(p),
        (Constituency::Asn(x), Constituency::Asn(y)) => x == y,
        (Constituency::Domain(d), Constituency::Domain(e)) => {
            let under = |a: &str, b: &str| {
                a.strip_suffix(b)
                    .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
            };
            under(d, e) || under(e, d)
        }
        _ => false,
    }
}

/// Finds who is responsible for `indicator`. `country` is the economy to fall
/// back on when no constituency matches (a country indicator is its own).
pub fn lookup<'a>(
    members: impl IntoIterator<Item = &'a Profile> + Clone,
    point_of_contact: Option<TeamId>,
    indicator: &Indicator,
    country: Option<&str>,
) -> Option<Route> {
    // Score every constituency entry that matches; higher is more specific.
    let mut matches: Vec<(u32, Claim)> = Vec::new();
    for p in members.clone() {
        for c in &p.constituency {
            if let Some(score) = specificity(c, indicator) {
                matches.push((
                    score,
                    Claim {
                        team: p.team,
                        entry: c.clone(),
                    },
                ));
            }
        }
    }
    // Most specific first; among equals, in (team, entry) order, so the
    // entry named in `why` is the same on every node.
    matches.sort_by(|(a, x), (b, y)| b.cmp(a).then_with(|| x.cmp(y)));
    if let Some((best, first)) = matches.first().cloned() {
        let mut teams: Vec<TeamId> = matches
            .iter()
            .filter(|(s, _)| *s == best)
            .map(|(_, c)| c.team)
            .collect();
        teams.sort();
        teams.dedup();
        let mut contested: Vec<Claim> = Vec::new();
        for (_, c) in matches.into_iter().filter(|(s, _)| *s < best) {
            if !teams.contains(&c.team) && !contested.iter().any(|k| k.team == c.team) {
                contested.push(c);
            }
        }
        return Some(Route {
            teams,
            why: Why::Constituency(first.entry),
            contested,
        });
    }
    let economy = match indicator {
        Indicator::Country(c) => Some(c.clone()),
        _ => country.map(|c| c.trim().to_ascii_uppercase()),
    };
    if let Some(economy) = economy {
        let mut lr: Vec<TeamId> = members
            .into_iter()
            .filter(|p| {
                p.roles
                    .iter()
                    .any(|r| matches!(r, Role::LastResortFor(cs) if cs.iter().any(|c| c.eq_ignore_ascii_case(&economy))))
            })
            .map(|p| p.team)
            .collect();
        if !lr.is_empty() {
            lr.sort();
            return Some(Route {
                teams: lr,
                why: Why::LastResort(economy),
                contested: Vec::new(),
            });
        }
    }
    point_of_contact.map(|t| Route {
        teams: vec![t],
        why: Why::PointOfContact,
        contested: Vec::new(),
    })
}

/// How specifically a constituency entry covers an indicator, if at all.
fn specificity(c: &Constituency, i: &Indicator) -> Option<u32> {
    match (c, i) {
        (Constituency::Prefix(p), Indicator::Ip(a)) if p.contains(a) => {
            Some(u32::from(p.prefix_len()))
        }
        (Constituency::Prefix(p), Indicator::Prefix(q)) if p.contains(q) => {
            Some(u32::from(p.prefix_len()))
        }
        // An ASN is one exact entry; it ranks with a /32.
        (Constituency::Asn(a), Indicator::Asn(b)) if a == b => Some(1),
        (Constituency::Domain(d), Indicator::Domain(q)) => {
            let q = q.to_ascii_lowercase();
            let on_boundary = q == *d || q.ends_with(&format!(".{d}"));
            on_boundary.then(|| d.split('.').count() as u32)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(n: u8, entries: &[&str], last_resort: &[&str]) -> Profile {
        Profile {
            team: TeamId([n; 32]),
            name: format!("T{n}"),
            country: None,
            constituency: entries.iter().map(|e| e.parse().unwrap()).collect(),
            contact: None,
            recipient: "age1x".into(),
            peers: vec![],
            node_proofs: vec![],
            roles: if last_resort.is_empty() {
                vec![]
            } else {
                vec![Role::LastResortFor(
                    last_resort.iter().map(|s| s.to_string()).collect(),
                )]
            },
            updated_at: 1,
            details: Default::default(),
        }
    }

    fn t(n: u8) -> TeamId {
        TeamId([n; 32])
    }

    #[test]
    fn table() {
        let dir = vec![
            team(1, &["203.0.113.0/24", "AS64500", "example.org"], &[]),
            team(2, &["203.0.113.128/25", "bank.example.org"], &[]),
            team(3, &["2001:db8::/32"], &[]),
            team(4, &["2001:db8:1::/48", "AS64501"], &[]),
            team(5, &["198.51.100.0/24"], &[]),
            team(6, &["198.51.100.0/24"], &[]),
            team(7, &[], &["BR", "AR"]),
            team(8, &[], &["CL"]),
        ];
        let poc = Some(t(9));
        let cases: Vec<(&str, Option<&str>, Vec<u8>, &str)> = vec![
            // Overlapping prefixes: the longest wins.
            ("203.0.113.7", None, vec![1], "prefix"),
            ("203.0.113.200", None, vec![2], "prefix"),
            ("203.0.113.128/26", None, vec![2], "prefix"),
            ("203.0.113.0/24", None, vec![1], "prefix"),
            // IPv6.
            ("2001:db8:1::5", None, vec![4], "prefix"),
            ("2001:db8:2::5", None, vec![3], "prefix"),
            // ASN: exact only.
            ("AS64500", None, vec![1], "asn"),
            ("AS64501", None, vec![4], "asn"),
            // Domains: longest suffix on a label boundary.
            ("www.bank.example.org", None, vec![2], "domain"),
            ("mail.example.org", None, vec![1], "domain"),
            ("example.org", None, vec![1], "domain"),
            // Ties: both teams listing the same prefix get it.
            ("198.51.100.9", None, vec![5, 6], "prefix"),
            // No match: the economy's last resort, else the point of contact.
            ("192.0.2.1", Some("BR"), vec![7], "last resort"),
            ("192.0.2.1", Some("cl"), vec![8], "last resort"),
            ("AR", None, vec![7], "last resort"),
            ("192.0.2.1", Some("JP"), vec![9], "contact"),
            ("192.0.2.1", None, vec![9], "contact"),
            ("badexample.org", None, vec![9], "contact"),
            ("AS1", None, vec![9], "contact"),
        ];
        for (q, country, want, kind) in cases {
            let i: Indicator = q.parse().unwrap();
            let r = lookup(&dir, poc, &i, country).unwrap_or_else(|| panic!("{q}: no route"));
            let want: Vec<TeamId> = want.into_iter().map(t).collect();
            assert_eq!(r.teams, want, "{q} {country:?}");
            let got_kind = match &r.why {
                Why::Constituency(Constituency::Prefix(_)) => "prefix",
                Why::Constituency(Constituency::Asn(_)) => "asn",
                Why::Constituency(Constituency::Domain(_)) => "domain",
                Why::LastResort(_) => "last resort",
                Why::PointOfContact => "contact",
            };
            assert_eq!(got_kind, kind, "{q}");
        }
    }

    #[test]
    fn a_more_specific_claim_wins_the_route_but_not_silently() {
        // 2 claims a /25 inside 1's /24, and a subdomain of 1's domain; 3,
        // a national team, covers the whole /16.
        let dir = vec![
            team(1, &["203.0.113.0/24", "example.org", "AS64500"], &[]),
            team(2, &["203.0.113.128/25", "bank.example.org"], &[]),
            team(3, &["203.0.0.0/16"], &[]),
            team(4, &["198.51.100.0/24", "AS64500"], &[]),
        ];
        let route = |q: &str| lookup(&dir, None, &q.parse().unwrap(), None).unwrap();
        let r = route("203.0.113.200");
        assert_eq!(r.teams, vec![t(2)]);
        let claim = |n, e: &str| Claim {
            team: t(n),
            entry: e.parse().unwrap(),
        };
        assert_eq!(
            r.contested,
            vec![claim(1, "203.0.113.0/24"), claim(3, "203.0.0.0/16")]
        );
        assert_eq!(
            route("203.0.113.7").contested,
            vec![claim(3, "203.0.0.0/16")]
        );
        assert_eq!(
            route("www.bank.example.org").contested,
            vec![claim(1, "example.org")]
        );
        assert!(route("198.51.100.1").contested.is_empty());
        // A tie is shared, not contested.
        let r = route("AS64500");
        assert_eq!(r.teams, vec![t(1), t(4)]);
        assert!(r.contested.is_empty());

        // Each team is shown every entry overlapping its own.
        let seen = |n| {
            overlaps(&dir, &t(n))
                .into_iter()
                .map(|o| {
                    (
                        o.ours.to_string(),
                        o.theirs.team,
                        o.theirs.entry.to_string(),
                    )
                })
                .collect::<Vec<_>>()
        };
        let s = |x: &str| x.to_string();
        assert_eq!(
            seen(1),
            vec![
                (s("203.0.113.0/24"), t(2), s("203.0.113.128/25")),
                (s("203.0.113.0/24"), t(3), s("203.0.0.0/16")),
                (s("AS64500"), t(4), s("AS64500")),
                (s("example.org"), t(2), s("bank.example.org")),
            ]
        );
        assert_eq!(
            seen(2),
            vec![
                (s("203.0.113.128/25"), t(1), s("203.0.113.0/24")),
                (s("203.0.113.128/25"), t(3), s("203.0.0.0/16")),
                (s("bank.example.org"), t(1), s("example.org")),
            ]
        );
        // Neighbours that merely share a suffix of characters do not overlap.
        let apart = vec![
            team(1, &["example.org"], &[]),
            team(2, &["badexample.org"], &[]),
        ];
        assert!(overlaps(&apart, &t(1)).is_empty());
    }

    #[test]
    fn no_route_without_a_point_of_contact() {
        let dir = vec![team(1, &["203.0.113.0/24"], &[])];
        let i: Indicator = "192.0.2.1".parse().unwrap();
        assert_eq!(lookup(&dir, None, &i, Some("BR")), None);
    }

    #[test]
    fn indicators_parse_or_say_why_not() {
        assert_eq!("AS64500".parse::<Indicator>(), Ok(Indicator::Asn(64500)));
        assert_eq!(
            "br".parse::<Indicator>(),
            Ok(Indicator::Country("BR".into()))
        );
        assert!(
            matches!("Example.COM".parse::<Indicator>(), Ok(Indicator::Domain(d)) if d == "example.com")
        );
        assert!(
            "not an indicator!"
                .parse::<Indicator>()
                .unwrap_err()
                .contains("not an IP")
        );
    }
}
