//! How the command line shows the node's typed answers: a text for people,
//! or JSON with `--json`. Writing to a closed pipe (`csirtmesh members |
//! head`) ends the command quietly.

use std::{
    io::Write,
    time::{Duration, UNIX_EPOCH},
};

use anyhow::Result;
use serde::Serialize;

use super::args::ClientArgs;
use crate::api::types::*;

/// Prints an answer as JSON (`--json`) or as text for people. A reader that
/// went away (a closed pipe) is not an error: the command ends quietly.
pub(super) fn print<T: Serialize>(
    c: &ClientArgs,
    value: &T,
    human: impl Fn(&T) -> String,
) -> Result<()> {
    let text = if c.json {
        // JSON escapes every control character itself.
        serde_json::to_string_pretty(value)? + "\n"
    } else {
        for_terminal(&human(value))
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// A publish's answer: what was done, and the new envelope's short id.
pub(super) fn published(what: &str) -> impl Fn(&Published) -> String + '_ {
    move |p| format!("{what} ({})\n", short(&p.id))
}

fn teams(list: &[TeamRef]) -> String {
    list.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn render_report(r: &ReportPublished) -> String {
    format!(
        "Reported {} about {} to {}\n  because {}\n{}",
        short(&r.published.id),
        r.route.about,
        teams(&r.route.teams),
        r.route.why,
        contested(&r.route.contested)
    )
}

pub(super) fn render_route(r: &RouteView) -> String {
    let mut out = format!(
        "{}: {}\n  because {}\n{}",
        r.about,
        teams(&r.teams),
        r.why,
        contested(&r.contested)
    );
    for c in &r.contacts {
        let how = reach(c.contact.as_deref(), &c.details);
        if !how.is_empty() {
            out += &format!("  reach {}: {how}\n", c.team);
        }
    }
    out
}

/// How to reach a team, on one line: its contact and RFC 2350 details
/// (each a peer's text, escaped).
pub(super) fn reach(contact: Option<&str>, d: &proto::rfc2350::TeamDetails) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.extend(contact.map(|c| line(c).into_owned()));
    parts.extend(
        d.emergency_phone
            .as_deref()
            .map(|p| format!("emergency {}", line(p))),
    );
    match (&d.business_hours, &d.time_zone) {
        (Some(h), Some(tz)) => parts.push(format!("hours {} ({})", line(h), line(tz))),
        (Some(h), None) => parts.push(format!("hours {}", line(h))),
        (None, Some(tz)) => parts.push(format!("time zone {}", line(tz))),
        (None, None) => {}
    }
    if !d.languages.is_empty() {
        parts.push(format!("languages {}", line(&d.languages.join(","))));
    }
    parts.extend(
        d.pgp_fingerprint
            .as_deref()
            .map(|f| format!("PGP {}", line(f))),
    );
    parts.extend(
        d.constituency_type
            .as_deref()
            .map(|t| format!("{} team", line(t))),
    );
    parts.extend(
        d.rfc2350_url
            .as_deref()
            .map(|u| format!("RFC 2350 {}", line(u))),
    );
    parts.join("; ")
}

/// Other teams claiming the indicator less specifically: claims are
/// self-declared, so the reporter sees who else says it is theirs.
fn contested(claims: &[ClaimView]) -> String {
    claims
        .iter()
        .map(|c| {
            format!(
                "  also claimed, less specifically, by {} ({}): not sent to them; add them with `csirtmesh incident open --to` if they should know\n",
                c.team, c.entry
            )
        })
        .collect()
}

/// Rendered text as it may reach a terminal: whatever a peer wrote and a
/// renderer let through, no escape sequence, bell or carriage return gets
/// there (one-line fields are escaped, line breaks included, where they are
/// rendered).
pub(super) fn for_terminal(text: &str) -> String {
    proto::text::printable(text, true).into_owned()
}

/// A one-line field a peer wrote (a title, a reason, a contact), as it may
/// be printed: a line break in it cannot forge another line.
fn line(s: &str) -> std::borrow::Cow<'_, str> {
    proto::text::printable(s, false)
}

/// The first 8 digits of an id, for people.
pub(super) fn short(id: &str) -> &str {
    &id[..8.min(id.len())]
}

/// A timestamp for people: UTC, to the second.
pub fn when(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

pub(super) fn render_status(s: &StatusView) -> String {
    let mut out = format!(
        "Team:      {} ({})\nMesh:      {} ({})\nPeer id:   {}\n",
        s.team,
        short(&s.team.id),
        s.mesh_name,
        short(&s.mesh_id),
        s.peer_id
    );
    for a in &s.listen_addrs {
        out += &format!("Listening: {a}\n");
    }
    if s.reachability == "private" {
        out += "UNREACHABLE: other nodes cannot dial this one (AutoNAT); see `csirtmesh doctor`\n";
    }
    if s.catching_up {
        out += "RESTORED:  from a backup; writing nothing until caught up with a member's node\n";
    }
    if s.quarantined > 0 {
        out += &format!(
            "DAMAGED:   {} stored envelopes no longer matched their id and were quarantined (`csirtmesh check` scans all)\n",
            s.quarantined
        );
    }
    out += &format!(
        "Members:   {}\nEnvelopes: {} stored, {} waiting for a GREEN key\nSince start: {} accepted, {} rejected, {} ignored, {} published, {} fetched by sync\nPeers:     {}\n",
        s.members,
        s.envelopes,
        s.waiting_for_key,
        s.accepted,
        s.rejected,
        s.ignored,
        s.published,
        s.synced_in,
        s.peers.len()
    );
    for p in &s.peers {
        let team = p
            .team
            .as_ref()
            .map(|t| t.to_string())
            .unwrap_or_else(|| "unknown team".into());
        let sync = match (&p.last_sync_ok, &p.last_sync_error) {
            (Some(t), _) => format!(
                "last sync {} ({} fetched, {} round trips, {} bytes)",
                when(*t),
                p.last_sync_fetched,
                p.last_sync_rounds,
                p.last_sync_bytes
            ),
            (None, Some(e)) => format!("sync failing: {}", line(e)),
            (None, None) => "not synced yet".into(),
        };
        out += &format!("  {}  {:<16} {}\n", p.peer_id, team, sync);
        if let (Some(_), Some(e)) = (&p.last_sync_ok, &p.last_sync_error) {
            out += &format!("      last sync error: {}\n", line(e));
        }
    }
    if !s.blocked.is_empty() {
        out += &render_blocked(&s.blocked);
    }
    for o in &s.overlaps {
        out += &format!(
            "Overlap:   {} claims {}, which overlaps this team's {}: reports about the more specific part go to the more specific claim\n",
            o.theirs.team, o.theirs.entry, o.ours
        );
    }
    out
}

pub(super) fn render_check(r: &CheckView) -> String {
    let mut out = format!(
        "Checked {} envelopes: {} damaged{}\n",
        r.scanned,
        r.damaged.len(),
        if r.damaged.is_empty() {
            String::new()
        } else {
            " (quarantined; anti-entropy fetches them again from peers)".into()
        }
    );
    for id in &r.damaged {
        out += &format!("  {id}\n");
    }
    out += &format!("{} in quarantine in all\n", r.quarantined);
    out
}

pub(super) fn render_blocked(b: &Vec<BlockedView>) -> String {
    if b.is_empty() {
        return "No peer is banned or blocked.\n".into();
    }
    let mut out = format!("{} peers kept out\n", b.len());
    for p in b {
        let until = match p.remaining_secs {
            Some(s) => format!("for {s} s more"),
            None => "until lifted".into(),
        };
        out += &format!("  {}  {until}: {}\n", p.peer_id, line(&p.reason));
    }
    out
}

pub(super) fn render_members(m: &MembersView) -> String {
    let mut out = format!(
        "{} members (admission needs {} endorsements",
        m.members.len(),
        m.threshold
    );
    if let Some(w) = m.objection_window_ms {
        out += &format!(
            " and no objection within {}",
            humantime::format_duration(Duration::from_millis(w))
        );
    }
    out += ")\n";
    for v in &m.members {
        let how = if v.founder {
            "founder".to_string()
        } else if !v.sponsors.is_empty() {
            let names: Vec<String> = v.sponsors.iter().map(|s| s.to_string()).collect();
            format!(
                "vouched for by {}{}",
                names.join(", "),
                v.admitted_at
                    .map(|t| format!(", admitted {}", when(t)))
                    .unwrap_or_default()
            )
        } else {
            "member".to_string()
        };
        out += &format!(
            "  {:<20} {}  {}  {}{}\n",
            v.team.to_string(),
            short(&v.team.id),
            v.country.as_deref().unwrap_or("--"),
            how,
            if v.constituency.is_empty() {
                String::new()
            } else {
                format!("; covers {}", line(&v.constituency.join(", ")))
            }
        );
        let how = reach(v.contact.as_deref(), &v.details);
        if !how.is_empty() {
            out += &format!("  {:<20} reach: {how}\n", "");
        }
    }
    if !m.applicants.is_empty() {
        out += &format!("{} pending\n", m.applicants.len());
        out += &render_applicants(&m.applicants);
    }
    if !m.removed.is_empty() {
        out += &format!("{} removed\n", m.removed.len());
        for r in &m.removed {
            out += &format!(
                "  {:<20} {}  {} (from {})\n",
                r.team.to_string(),
                short(&r.team.id),
                line(&r.how),
                when(r.at)
            );
        }
    }
    out
}

pub(super) fn render_applicants(a: &Vec<ApplicantView>) -> String {
    if a.is_empty() {
        return "  no pending applicants\n".into();
    }
    let mut out = String::new();
    for v in a {
        let sponsors: Vec<String> = v.sponsors.iter().map(|s| s.to_string()).collect();
        out += &format!(
            "  {:<20} {}  {}  {} endorsement(s){}, {} more needed\n",
            v.team.to_string(),
            v.team.id,
            v.country.as_deref().unwrap_or("--"),
            v.sponsors.len(),
            if sponsors.is_empty() {
                String::new()
            } else {
                format!(" by {}", sponsors.join(", "))
            },
            v.needed
        );
        let invited: Vec<String> = v.invited_by.iter().map(|s| s.to_string()).collect();
        out += &format!(
            "      {}{}; until {}\n",
            if invited.is_empty() {
                "vouched for".to_string()
            } else {
                format!("invited by {}", invited.join(", "))
            },
            if v.join_request {
                ""
            } else {
                ", join request not received yet"
            },
            when(v.expires_at)
        );
        if !v.constituency.is_empty() {
            out += &format!("      covers {}\n", line(&v.constituency.join(", ")));
        }
        if let Some(c) = &v.contact {
            out += &format!("      contact {}\n", line(c));
        }
        for o in &v.objections {
            out += &format!(
                "      OBJECTION by {} at {}: {}\n",
                o.by,
                when(o.at),
                line(&o.reason)
            );
        }
        if let Some(t) = v.threshold_reached_at {
            out += &format!(
                "      reached the threshold at {}; waiting for the objection window\n",
                when(t)
            );
        }
    }
    out
}

pub(super) fn render_envelopes(e: &Vec<EnvelopeView>) -> String {
    let mut out = format!("{} envelopes\n", e.len());
    for v in e {
        out += &format!(
            "  {}  {:<10} {:<13} {:<16} {:>6} B  {}\n",
            short(&v.id),
            v.kind,
            v.tlp,
            v.author.to_string(),
            v.size,
            if v.readable {
                "readable"
            } else if v.waiting_for_key {
                "waiting for key"
            } else {
                "sealed"
            }
        );
    }
    out
}

pub(super) fn render_incidents(l: &Vec<IncidentSummary>) -> String {
    if l.is_empty() {
        return "No incidents.\n".into();
    }
    let mut out = String::new();
    for i in l {
        let title = match (&i.title, i.waiting_for_key) {
            (Some(t), _) => line(t).into_owned(),
            (None, true) => "(waiting for the author's GREEN key)".into(),
            (None, false) => "(sealed: not addressed to this team)".into(),
        };
        out += &format!(
            "{}  {:<13} {:<12} {:<16} {}  {}\n",
            short(&i.id),
            i.tlp,
            i.status,
            i.author.to_string(),
            when(i.opened_at),
            title
        );
    }
    out
}

pub(super) fn render_incident(i: &IncidentView) -> String {
    let s = &i.summary;
    let mut out = format!(
        "Incident {}\nTitle:   {}\nTLP:     {}\nStatus:  {}\nOpened:  {} by {}\n",
        s.id,
        s.title
            .as_deref()
            .map_or("(sealed: not addressed to this team)".into(), line),
        s.tlp,
        s.status,
        when(s.opened_at),
        s.author
    );
    if !i.recipients.is_empty() {
        let names: Vec<String> = i.recipients.iter().map(|r| r.to_string()).collect();
        out += &format!("To:      {}\n", names.join(", "));
    }
    if let Some(about) = &s.about {
        out += &format!("About:   {}\n", line(about));
    }
    if let Some(r) = &i.routed {
        out += &format!("Routed:  {}\n", line(r));
    }
    if !i.indicators.is_empty() {
        let list: Vec<String> = i.indicators.iter().map(|x| x.to_string()).collect();
        out += &format!("Indicators: {}\n", line(&list.join(", ")));
    }
    if let Some(s) = &i.source {
        out += &format!("Imported from: {s}\n");
    }
    if !s.handled_by.is_empty() {
        let names: Vec<String> = s.handled_by.iter().map(|r| r.to_string()).collect();
        out += &format!("Handled by: {}\n", names.join(", "));
    }
    if !s.pending_handoff.is_empty() {
        let names: Vec<String> = s.pending_handoff.iter().map(|r| r.to_string()).collect();
        out += &format!("Handed to (awaiting an answer): {}\n", names.join(", "));
    }
    if let Some(d) = &i.description
        && !d.is_empty()
    {
        out += &format!("\n{d}\n");
    }
    if !i.events.is_empty() {
        out += "\nThread:\n";
    }
    for e in &i.events {
        let at = e.at.map(when).unwrap_or_default();
        // A line break in a comment or a note starts an indented line, so it
        // cannot pass for another entry of the thread.
        let text = e
            .text
            .as_deref()
            .unwrap_or("")
            .replace('\n', "\n        | ");
        let text = text.as_str();
        let what = match e.kind {
            EventKind::Comment => format!("commented: {text}"),
            EventKind::Status => format!("set status to {text}"),
            EventKind::Sealed if e.waiting_for_key => {
                "wrote something (waiting for the key)".into()
            }
            EventKind::Sealed => "wrote something this team cannot read".into(),
            EventKind::Retracted => format!("retracted {}", short(text)),
            EventKind::Ack => "acknowledged".into(),
            EventKind::Accept => "accepted the hand-off".into(),
            EventKind::Decline => format!("declined the hand-off: {text}"),
            EventKind::Handoff => format!("handed it to {text}"),
            EventKind::Referral => format!("referred the reporter to {text} (not forwarded)"),
            EventKind::Refused => format!("(refused: {text})"),
        };
        out += &format!("  {at}  {}  {what}\n", e.author);
    }
    out
}

pub(super) fn render_import(r: &ImportView) -> String {
    let opened = r.incidents.iter().filter(|i| i.created).count();
    let mut out = format!(
        "Imported a {} file: {} incidents opened, {} already here\n",
        r.format.to_uppercase(),
        opened,
        r.incidents.len() - opened
    );
    for i in &r.incidents {
        out += &format!(
            "  {}  {:<12} {}  {} indicators, {} comments added  (source {})  {}\n",
            short(&i.id),
            i.tlp.to_string(),
            if i.created { "opened " } else { "existing" },
            i.indicators,
            i.comments_added,
            i.source,
            line(&i.title)
        );
    }
    for s in &r.skipped {
        out += &format!("  left out: {}\n", line(s));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(name: &str) -> TeamRef {
        TeamRef {
            id: "ab".repeat(32),
            name: Some(name.into()),
        }
    }

    /// What a peer wrote reaches the terminal as visible text: no escape
    /// sequence, no bell, no forged line, whichever field it hides in.
    #[test]
    fn peer_text_cannot_drive_the_terminal() {
        let evil = "X\u{1b}]0;owned\u{7}\n  CSIRT-Z  founder";
        let members = MembersView {
            threshold: 2,
            objection_window_ms: None,
            members: vec![],
            applicants: vec![ApplicantView {
                team: team(evil),
                country: None,
                constituency: vec![],
                contact: Some(evil.into()),
                sponsors: vec![],
                needed: 2,
                objections: vec![ObjectionView {
                    by: team(evil),
                    reason: evil.into(),
                    at: 0,
                }],
                threshold_reached_at: None,
                invited_by: vec![team(evil)],
                expires_at: 0,
                join_request: true,
            }],
            removed: vec![],
        };
        let shown = for_terminal(&render_members(&members));
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
            "{shown}"
        );
        assert!(
            !shown.lines().any(|l| l.trim_start().starts_with("CSIRT-Z")),
            "{shown}"
        );
        assert!(shown.contains("\\u{1b}]0;owned"), "{shown}");
    }
}
