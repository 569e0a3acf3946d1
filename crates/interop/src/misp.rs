//! MISP export in MISP's core format: `{"response": [{"Event": ...}]}`, as
//! MISP's own REST search answers, one event per incident a team can read.
//! The label becomes the `tlp:*` tag of the TLP 2.0 taxonomy and the
//! event's distribution (CLEAR: all communities; GREEN: this community;
//! AMBER: a sharing group of its recipients, or this organisation when it
//! names none; AMBER+STRICT and RED: this organisation only). Indicators
//! become attributes with valid type and category pairs; the description
//! and the thread become event reports.

use mesh_core::{Incident, IncidentEvent};
use proto::{IncidentStatus, Indicator, TeamId, Tlp};
use serde_json::{Value, json};

use crate::{Export, date, ids, tlp};

/// The name of the event report holding the incident's description.
pub const DESCRIPTION_REPORT: &str = "Description";

/// The name of the event report holding the thread.
pub const THREAD_REPORT: &str = "CSIRT Mesh thread";

/// A team's MISP organisation uuid (stable, derived from its id).
pub fn org_uuid(team: &TeamId) -> String {
    ids::derived("misp-org", team.as_bytes()).to_string()
}

fn org(x: &Export, team: &TeamId) -> Value {
    json!({"name": x.name(team), "uuid": org_uuid(team)})
}

/// An indicator's MISP attribute type and category (a pair MISP's
/// describeTypes allows).
pub fn attribute_type(i: &Indicator) -> (&'static str, &'static str) {
    match i {
        Indicator::Ip(_) | Indicator::Prefix(_) => ("ip-dst", "Network activity"),
        Indicator::Asn(_) => ("AS", "Network activity"),
        Indicator::Domain(_) => ("domain", "Network activity"),
        Indicator::Url(_) => ("url", "Network activity"),
        Indicator::Email(_) => ("email-src", "Payload delivery"),
        Indicator::Md5(_) => ("md5", "Payload delivery"),
        Indicator::Sha1(_) => ("sha1", "Payload delivery"),
        Indicator::Sha256(_) => ("sha256", "Payload delivery"),
    }
}

/// An indicator's value as MISP writes it (hashes as bare hex).
pub fn attribute_value(i: &Indicator) -> String {
    match i {
        Indicator::Md5(h) => hex::encode(h),
        Indicator::Sha1(h) => hex::encode(h),
        Indicator::Sha256(h) => hex::encode(h),
        Indicator::Asn(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn analysis(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::New => "0",
        IncidentStatus::InProgress => "1",
        IncidentStatus::Resolved | IncidentStatus::Closed => "2",
    }
}

fn thread_markdown(x: &Export, inc: &Incident) -> String {
    let names = |ts: &[TeamId]| ts.iter().map(|t| x.name(t)).collect::<Vec<_>>().join(", ");
    let mut out = String::new();
    for e in &inc.events {
        let line = match e {
            IncidentEvent::Comment {
                author, at, text, ..
            } => {
                format!(
                    "**{}** ({}): {text}",
                    x.name(author),
                    crate::rfc3339_ms(*at)
                )
            }
            IncidentEvent::Status {
                author, at, status, ..
            } => format!(
                "**{}** ({}): status changed to {status}",
                x.name(author),
                crate::rfc3339_ms(*at)
            ),
            IncidentEvent::Acknowledged { author, at, .. } => {
                format!(
                    "**{}** ({}): acknowledged",
                    x.name(author),
                    crate::rfc3339_ms(*at)
                )
            }
            IncidentEvent::HandedOff {
                author,
                at,
                to,
                note,
                ..
            } => format!(
                "**{}** ({}): handed off to {} {note}",
                x.name(author),
                crate::rfc3339_ms(*at),
                names(to)
            ),
            IncidentEvent::Referred {
                author,
                at,
                responsible,
                note,
                ..
            } => format!(
                "**{}** ({}): referred to {} {note}",
                x.name(author),
                crate::rfc3339_ms(*at),
                names(responsible)
            ),
            IncidentEvent::Accepted { author, at, .. } => {
                format!(
                    "**{}** ({}): accepted",
                    x.name(author),
                    crate::rfc3339_ms(*at)
                )
            }
            IncidentEvent::Declined {
                author, at, reason, ..
            } => format!(
                "**{}** ({}): declined {reason}",
                x.name(author),
                crate::rfc3339_ms(*at)
            ),
            _ => continue,
        };
        out.push_str("- ");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One incident as a MISP event.
pub fn event(x: &Export, inc: &Incident) -> Value {
    let uuid = crate::stix::incident_uuid(inc, &x.exporter);
    let seconds = (inc.updated_at.max(inc.opened_at) / 1000).to_string();
    let (distribution, sharing_group) = match inc.tlp {
        Tlp::Clear => ("3", None),
        Tlp::Green => ("1", None),
        Tlp::Amber if !inc.recipients.is_empty() => {
            let members: Vec<&TeamId> = std::iter::once(&inc.author)
                .chain(&inc.recipients)
                .collect();
            let group = json!({
                "uuid": ids::derived("misp-sharing-group", uuid.as_bytes()).to_string(),
                "name": format!("Recipients of {}", inc.id.short()),
                "releasability": "TLP:AMBER: the recipients' organisations, need to know",
                "Organisation": org(x, &inc.author),
                "SharingGroupOrg": members
                    .iter()
                    .map(|t| json!({"Organisation": org(x, t), "extend": false}))
                    .collect::<Vec<_>>(),
            });
            ("4", Some(group))
        }
        Tlp::Amber | Tlp::AmberStrict | Tlp::Red => ("0", None),
    };
    let attributes: Vec<Value> = inc
        .indicators
        .iter()
        .map(|i| {
            let (kind, category) = attribute_type(i);
            json!({
                "uuid": ids::derived("misp-attribute", format!("{uuid} {i}").as_bytes()).to_string(),
                "type": kind,
                "category": category,
                "value": attribute_value(i),
                "to_ids": false,
                "distribution": "5",
                "timestamp": (inc.opened_at / 1000).to_string(),
                "comment": "",
            })
        })
        .collect();
    let mut reports = Vec::new();
    if let Some(d) = inc.description.as_ref().filter(|d| !d.is_empty()) {
        reports.push(json!({
            "uuid": ids::derived("misp-report-description", uuid.as_bytes()).to_string(),
            "name": DESCRIPTION_REPORT,
            "content": d,
            "distribution": "5",
            "timestamp": (inc.opened_at / 1000).to_string(),
        }));
    }
    let thread = thread_markdown(x, inc);
    if !thread.is_empty() {
        reports.push(json!({
            "uuid": ids::derived("misp-report-thread", uuid.as_bytes()).to_string(),
            "name": THREAD_REPORT,
            "content": thread,
            "distribution": "5",
            "timestamp": seconds,
        }));
    }
    let mut ev = json!({
        "uuid": uuid.to_string(),
        "info": inc.title.clone().unwrap_or_default(),
        "date": date(inc.opened_at),
        "timestamp": seconds,
        "threat_level_id": "4",
        "analysis": analysis(inc.status),
        "distribution": distribution,
        "published": false,
        "Orgc": org(x, &inc.author),
        "Tag": [{"name": tlp::tag(inc.tlp)}],
        "Attribute": attributes,
        "EventReport": reports,
    });
    if let Some(g) = sharing_group {
        ev["SharingGroup"] = g;
    }
    json!({ "Event": ev })
}

/// Every incident the team can read, as MISP's REST search answers.
pub fn export(x: &Export) -> Value {
    json!({ "response": x.readable().map(|i| event(x, i)).collect::<Vec<_>>() })
}
