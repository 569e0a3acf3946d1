//! X-ARF v4 export: each report about a network (`csirtmesh report
//! --about`) that the team can read, as an abuse report for a desk outside
//! the mesh (category `reputation`, type `threat_intelligence`). X-ARF has
//! one report per document; a file of several holds one per line.

use mesh_core::Incident;
use proto::TeamId;
use serde_json::{Value, json};

use crate::{Export, ids, rfc3339_ms, tlp};

/// The X-ARF version written.
pub const XARF_VERSION: &str = "4.2.0";

/// X-ARF's limit on a description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 1000;

/// A team as X-ARF names a reporter or sender: its name, an e-mail address
/// from its contact line and that address's domain. A team that lists no
/// address gets one under `csirtmesh.invalid` (a reserved name that
/// reaches nobody), so the report says so rather than invent one.
fn party(x: &Export, team: &TeamId) -> Value {
    let profile = x.teams.get(team);
    let email = profile
        .and_then(|p| p.contact.as_deref())
        .into_iter()
        .flat_map(|c| c.split(|ch: char| ch.is_whitespace() || ",;<>()".contains(ch)))
        .map(|w| w.trim_start_matches("mailto:"))
        .find_map(|w| match w.parse::<proto::Indicator>() {
            Ok(proto::Indicator::Email(e)) => Some(e),
            _ => None,
        });
    let (contact, domain) = match email {
        Some(e) => {
            let d = e
                .rsplit_once('@')
                .map(|(_, d)| d.to_owned())
                .unwrap_or_default();
            (e, d)
        }
        None => {
            let d = "csirtmesh.invalid".to_owned();
            (format!("team-{}@{d}", team.short()), d)
        }
    };
    let mut name: String = x.name(team);
    if name.chars().count() > 200 {
        name = name.chars().take(200).collect();
    }
    json!({"org": name, "contact": contact, "domain": domain})
}

/// One report as an X-ARF document; `None` for an incident that is not a
/// routed report, or that the team cannot read.
pub fn report(x: &Export, inc: &Incident) -> Option<Value> {
    let (about, _routed) = inc.report.as_ref()?;
    let title = inc.title.as_deref()?;
    let mut description = title.to_owned();
    if let Some(d) = inc.description.as_deref().filter(|d| !d.is_empty()) {
        description.push_str(": ");
        description.push_str(d);
    }
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        description = description
            .chars()
            .take(MAX_DESCRIPTION_CHARS - 1)
            .collect();
        description.push('…');
    }
    let mut doc = json!({
        "xarf_version": XARF_VERSION,
        "report_id": ids::derived("xarf", &inc.id.0).to_string(),
        "timestamp": rfc3339_ms(inc.opened_at),
        "reporter": party(x, &inc.author),
        "sender": party(x, &x.exporter),
        "source_identifier": about,
        "category": "reputation",
        "type": "threat_intelligence",
        "threat_type": "incident",
        "evidence_source": "threat_intelligence",
        "description": description,
        "tags": [tlp::tag(inc.tlp)],
    });
    if let Ok(proto::Indicator::Url(u)) = about.parse::<proto::Indicator>()
        && let Some(port) = url_port(&u)
    {
        doc["source_port"] = json!(port);
    }
    Some(doc)
}

fn url_port(u: &str) -> Option<u16> {
    let scheme_default = match u.split_once("://")?.0 {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let host_port = u.split_once("://")?.1.split('/').next()?;
    Some(
        host_port
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or(scheme_default),
    )
}

/// Every report the team can read: one X-ARF document each.
pub fn export(x: &Export) -> Vec<Value> {
    x.readable().filter_map(|i| report(x, i)).collect()
}

/// The documents as a file: one per line.
pub fn to_lines(docs: &[Value]) -> String {
    docs.iter().map(|d| format!("{d}\n")).collect()
}
