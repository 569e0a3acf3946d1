//! Structured indicators: the typed, validated observables an incident or a
//! report carries (an address, a network, an ASN, a domain, a URL, an e-mail
//! address, a file hash), beside its free-text description.
//!
//! An indicator decoded from a peer went through no parser, so [`Indicator::check`]
//! requires each to be in the one form the parser produces: one value, one
//! encoding, and nothing a terminal or browser could be tricked by.

use std::{fmt, net::IpAddr, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{Constituency, Error};

/// The most indicators one incident or report may carry.
pub const MAX_INDICATORS: usize = 256;

/// Longest URL, in bytes (what browsers and proxies reliably pass).
pub const MAX_URL_BYTES: usize = 2048;

/// One typed indicator.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Indicator {
    /// One IPv4 or IPv6 address.
    Ip(IpAddr),
    /// An IPv4 or IPv6 network (no host bits).
    Prefix(ipnet::IpNet),
    /// An autonomous system number.
    Asn(u32),
    /// A domain name (lowercase, no trailing dot).
    Domain(String),
    /// A URL, as the `url` crate (WHATWG URL standard) serialises it.
    Url(String),
    /// An e-mail address (its domain lowercase).
    Email(String),
    /// A file's MD5.
    Md5([u8; 16]),
    /// A file's SHA-1.
    Sha1([u8; 20]),
    /// A file's SHA-256.
    Sha256([u8; 32]),
}

impl Indicator {
    /// Its type, as written in JSON and on the command line.
    pub fn kind(&self) -> &'static str {
        match self {
            Indicator::Ip(IpAddr::V4(_)) => "ipv4",
            Indicator::Ip(IpAddr::V6(_)) => "ipv6",
            Indicator::Prefix(_) => "prefix",
            Indicator::Asn(_) => "asn",
            Indicator::Domain(_) => "domain",
            Indicator::Url(_) => "url",
            Indicator::Email(_) => "email",
            Indicator::Md5(_) => "md5",
            Indicator::Sha1(_) => "sha1",
            Indicator::Sha256(_) => "sha256",
        }
    }

    /// The network part a directory can route by: the address, network or
    /// ASN itself, a URL's host, an e-mail address's domain. File hashes
    /// have none.
    pub fn network(&self) -> Option<Indicator> {
        match self {
            Indicator::Ip(_) | Indicator::Prefix(_) | Indicator::Asn(_) | Indicator::Domain(_) => {
                Some(self.clone())
            }
            Indicator::Url(u) => match url::Url::parse(u).ok()?.host()? {
                url::Host::Domain(d) => d.parse::<Constituency>().ok().and_then(|c| match c {
                    Constituency::Domain(d) => Some(Indicator::Domain(d)),
                    _ => None,
                }),
                url::Host::Ipv4(a) => Some(Indicator::Ip(a.into())),
                url::Host::Ipv6(a) => Some(Indicator::Ip(a.into())),
            },
            Indicator::Email(e) => e
                .rsplit_once('@')
                .map(|(_, d)| Indicator::Domain(d.to_owned())),
            Indicator::Md5(_) | Indicator::Sha1(_) | Indicator::Sha256(_) => None,
        }
    }

    /// Checks a decoded indicator: it must be in the form the parser gives.
    pub fn check(&self) -> Result<(), Error> {
        let canonical = match self {
            Indicator::Ip(_)
            | Indicator::Asn(_)
            | Indicator::Md5(_)
            | Indicator::Sha1(_)
            | Indicator::Sha256(_) => return Ok(()),
            Indicator::Prefix(p) => p.trunc() == *p,
            Indicator::Domain(s) | Indicator::Url(s) | Indicator::Email(s) => {
                s.len() <= MAX_URL_BYTES && s.parse::<Indicator>().ok().as_ref() == Some(self)
            }
        };
        if canonical {
            Ok(())
        } else {
            Err(Error::Invalid {
                field: "indicators",
                reason: format!(
                    "{:?} is not a valid {} indicator",
                    crate::text::printable(&self.to_string(), false),
                    self.kind()
                ),
            })
        }
    }
}

/// Checks a list of indicators: at most [`MAX_INDICATORS`], each valid,
/// none twice.
pub fn check_all(indicators: &[Indicator]) -> Result<(), Error> {
    if indicators.len() > MAX_INDICATORS {
        return Err(Error::Invalid {
            field: "indicators",
            reason: format!("{} indicators, at most {MAX_INDICATORS}", indicators.len()),
        });
    }
    for i in indicators {
        i.check()?;
    }
    let distinct: std::collections::HashSet<&Indicator> = indicators.iter().collect();
    if distinct.len() != indicators.len() {
        return Err(Error::Invalid {
            field: "indicators",
            reason: "an indicator is listed twice".into(),
        });
    }
    Ok(())
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Indicator::Ip(a) => write!(f, "{a}"),
            Indicator::Prefix(p) => write!(f, "{p}"),
            Indicator::Asn(a) => write!(f, "AS{a}"),
            Indicator::Domain(s) | Indicator::Url(s) | Indicator::Email(s) => f.write_str(s),
            Indicator::Md5(h) => write!(f, "md5:{}", hex::encode(h)),
            Indicator::Sha1(h) => write!(f, "sha1:{}", hex::encode(h)),
            Indicator::Sha256(h) => write!(f, "sha256:{}", hex::encode(h)),
        }
    }
}

impl Serialize for IndicatorText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for IndicatorText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map(IndicatorText)
            .map_err(serde::de::Error::custom)
    }
}

/// An indicator that serialises as its text (`198.51.100.7`, `AS64500`,
/// `sha256:...`), for JSON and TOML; the wire uses [`Indicator`] itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndicatorText(pub Indicator);

impl FromStr for IndicatorText {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        s.parse().map(IndicatorText)
    }
}

impl fmt::Display for IndicatorText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn parse_hash<const N: usize>(hex_digits: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(hex_digits, &mut out).ok()?;
    Some(out)
}

impl FromStr for Indicator {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let err = |reason: &str| Error::Parse {
            what: "indicator",
            input: crate::text::printable(s, false).into_owned(),
            reason: reason.into(),
        };
        if s.is_empty() {
            return Err(err("empty"));
        }
        // A hash: `md5:`, `sha1:`, `sha256:` or bare hex of the right length.
        let (algo, digits) = match s.split_once(':') {
            Some((a @ ("md5" | "sha1" | "sha256" | "MD5" | "SHA1" | "SHA256"), d)) => {
                (Some(a.to_ascii_lowercase()), d)
            }
            _ => (None, s),
        };
        if algo.is_some() || (digits.chars().all(|c| c.is_ascii_hexdigit()) && digits.len() >= 32) {
            let d = digits.to_ascii_lowercase();
            let parsed = match (algo.as_deref(), d.len()) {
                (Some("md5") | None, 32) => parse_hash::<16>(&d).map(Indicator::Md5),
                (Some("sha1") | None, 40) => parse_hash::<20>(&d).map(Indicator::Sha1),
                (Some("sha256") | None, 64) => parse_hash::<32>(&d).map(Indicator::Sha256),
                _ => None,
            };
            return parsed.ok_or_else(|| {
                err("a file hash is 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex digits")
            });
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Indicator::Ip(ip));
        }
        if s.contains('/') && !s.contains("://") {
            let net: ipnet::IpNet = s
                .parse()
                .map_err(|_| err("not an IP prefix like 203.0.113.0/24"))?;
            return Ok(Indicator::Prefix(net.trunc()));
        }
        if let Some(n) = s.strip_prefix("AS").or_else(|| s.strip_prefix("as"))
            && n.chars().all(|c| c.is_ascii_digit())
        {
            return n
                .parse()
                .map(Indicator::Asn)
                .map_err(|_| err("not an AS number like AS64500"));
        }
        if s.contains("://") {
            return parse_url(s).ok_or_else(|| {
                err("not a URL with a scheme and a host, like https://evil.example/login (at most 2048 bytes, printable)")
            });
        }
        if let Some((local, domain)) = s.rsplit_once('@') {
            return parse_email(local, domain)
                .ok_or_else(|| err("not an e-mail address like abuse@example.org"));
        }
        match s.parse::<Constituency>() {
            // A name whose last label is all digits is a mistyped address.
            Ok(Constituency::Domain(d))
                if !d
                    .rsplit('.')
                    .next()
                    .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) =>
            {
                Ok(Indicator::Domain(d))
            }
            _ => Err(err(
                "expected an IP address or prefix, an ASN (AS64500), a domain, a URL, an e-mail address or a file hash (md5:, sha1:, sha256:)",
            )),
        }
    }
}

fn parse_url(s: &str) -> Option<Indicator> {
    if s.len() > MAX_URL_BYTES || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let u = url::Url::parse(s).ok()?;
    u.host()?;
    let text = u.to_string();
    (text.len() <= MAX_URL_BYTES
        && text.is_ascii()
        && crate::text::check_line("url", &text, MAX_URL_BYTES).is_ok())
    .then_some(Indicator::Url(text))
}

fn parse_email(local: &str, domain: &str) -> Option<Indicator> {
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.chars().all(|c| {
            c.is_ascii_graphic()
                && !matches!(
                    c,
                    '@' | '<' | '>' | '(' | ')' | ',' | ';' | ':' | '\\' | '"' | '[' | ']'
                )
        });
    match domain.parse::<Constituency>() {
        Ok(Constituency::Domain(d)) if local_ok => Some(Indicator::Email(format!("{local}@{d}"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Indicator {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_each_kind_and_prints_it_back() {
        for (input, kind, shown) in [
            ("198.51.100.7", "ipv4", "198.51.100.7"),
            ("2001:db8::1", "ipv6", "2001:db8::1"),
            ("198.51.100.7/24", "prefix", "198.51.100.0/24"),
            ("AS64500", "asn", "AS64500"),
            ("Evil.Example.", "domain", "evil.example"),
            (
                "HTTP://Evil.Example/login?x=1",
                "url",
                "http://evil.example/login?x=1",
            ),
            ("Phish@Evil.Example", "email", "Phish@evil.example"),
            (&"d4".repeat(16), "md5", &format!("md5:{}", "d4".repeat(16))),
            (
                &format!("SHA1:{}", "AB".repeat(20)),
                "sha1",
                &format!("sha1:{}", "ab".repeat(20)),
            ),
            (
                &"0f".repeat(32),
                "sha256",
                &format!("sha256:{}", "0f".repeat(32)),
            ),
        ] {
            let i = p(input);
            assert_eq!(i.kind(), kind, "{input}");
            assert_eq!(i.to_string(), shown, "{input}");
            assert_eq!(p(shown), i, "{shown} parses back");
            i.check().unwrap();
        }
    }

    #[test]
    fn refuses_what_is_not_an_indicator_and_names_why() {
        for bad in [
            "",
            "not a thing",
            "md5:abcd",
            &"a".repeat(33),
            "http://",
            "javascript:alert(1)",
            "a b@evil.example",
            "@evil.example",
            "x@nodot",
            "http://evil.example/\u{1b}[2J",
            "999.1.1.1/8",
            "999.1.2.3",
        ] {
            let e = bad.parse::<Indicator>().unwrap_err().to_string();
            assert!(e.contains("indicator"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_decoded_indicator_must_be_in_parsed_form() {
        for bad in [
            Indicator::Domain("Evil.Example".into()),
            Indicator::Domain("evil.example\u{1b}".into()),
            Indicator::Url("http://evil.example".into()),
            Indicator::Email("a@Evil.example".into()),
            Indicator::Prefix("198.51.100.7/24".parse().unwrap()),
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        let twice = vec![p("AS1"), p("AS1")];
        assert!(check_all(&twice).unwrap_err().to_string().contains("twice"));
        let many: Vec<Indicator> = (0..=MAX_INDICATORS as u32).map(Indicator::Asn).collect();
        assert!(check_all(&many).is_err());
    }

    #[test]
    fn routes_by_the_network_part() {
        assert_eq!(
            p("https://a.evil.example/x").network(),
            Some(p("a.evil.example"))
        );
        assert_eq!(
            p("http://[2001:db8::1]:8080/").network(),
            Some(p("2001:db8::1"))
        );
        assert_eq!(p("x@evil.example").network(), Some(p("evil.example")));
        assert_eq!(p(&"aa".repeat(32)).network(), None);
    }
}
