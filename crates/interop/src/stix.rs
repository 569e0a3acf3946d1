//! STIX 2.1 export: one bundle holding, for each incident a team can read,
//! a `grouping` (context `suspicious-activity`, named as the incident, which
//! is what keeps the title through MISP's importer) of the `incident` (with
//! the incident-core extension), a `note` per step of its thread, an
//! observable per indicator and a `related-to` relationship from the
//! incident to each; an `identity` per team named. Every object carries its
//! incident's label, a TLP 2.0 marking by its official id.

use std::collections::BTreeSet;

use mesh_core::{Incident, IncidentEvent};
use proto::{IncidentStatus, Indicator, TeamId, Tlp};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Export, ids, rfc3339_ms, tlp};

/// The incident-core extension definition (OASIS).
pub const INCIDENT_CORE: &str = "extension-definition--ef765651-680c-498d-9894-99799f2fa126";

/// An incident's STIX id: the source's id for an incident the exporting
/// team imported (so an export gives back what was imported), else derived
/// from its envelope. Another team's `source` is not taken: two teams
/// importing one file would otherwise export one id for two incidents, and
/// a member could name its incident after someone else's.
pub fn incident_id(inc: &Incident, exporter: &TeamId) -> String {
    ids::stix_id("incident", incident_uuid(inc, exporter))
}

/// The UUID behind [`incident_id`] (also the MISP event's uuid).
pub fn incident_uuid(inc: &Incident, exporter: &TeamId) -> Uuid {
    match inc.source {
        Some(s) if inc.author == *exporter => Uuid::from_bytes(s),
        _ => ids::derived("incident", &inc.id.0),
    }
}

fn is_observable(id: &str) -> bool {
    [
        "ipv4-addr--",
        "ipv6-addr--",
        "autonomous-system--",
        "domain-name--",
        "url--",
        "email-addr--",
        "file--",
    ]
    .iter()
    .any(|p| id.starts_with(p))
}

/// A team's identity id.
pub fn identity_id(team: &TeamId) -> String {
    ids::stix_id("identity", ids::derived("team", team.as_bytes()))
}

/// An observable for an indicator: its id and the object (without markings).
pub fn observable(i: &Indicator) -> (String, Value) {
    let (kind, contributing) = match i {
        Indicator::Ip(a) if a.is_ipv4() => ("ipv4-addr", json!({"value": a.to_string()})),
        Indicator::Ip(a) => ("ipv6-addr", json!({"value": a.to_string()})),
        Indicator::Prefix(p) if p.addr().is_ipv4() => {
            ("ipv4-addr", json!({"value": p.to_string()}))
        }
        Indicator::Prefix(p) => ("ipv6-addr", json!({"value": p.to_string()})),
        Indicator::Asn(n) => ("autonomous-system", json!({"number": n})),
        Indicator::Domain(d) => ("domain-name", json!({"value": d})),
        Indicator::Url(u) => ("url", json!({"value": u})),
        Indicator::Email(e) => ("email-addr", json!({"value": e})),
        Indicator::Md5(h) => ("file", json!({"hashes": {"MD5": hex::encode(h)}})),
        Indicator::Sha1(h) => ("file", json!({"hashes": {"SHA-1": hex::encode(h)}})),
        Indicator::Sha256(h) => ("file", json!({"hashes": {"SHA-256": hex::encode(h)}})),
    };
    let id = ids::sco_id(kind, &contributing);
    let mut obj = contributing;
    obj["type"] = json!(kind);
    obj["spec_version"] = json!("2.1");
    obj["id"] = json!(id);
    (id, obj)
}

fn identity(x: &Export, team: &TeamId) -> Value {
    let mut o = json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id(team),
        "created": rfc3339_ms(0),
        "modified": rfc3339_ms(0),
        "name": x.name(team),
        "identity_class": "organization",
        "object_marking_refs": [tlp::stix_marking(Tlp::Clear)],
    });
    let Some(p) = x.teams.get(team) else {
        return o;
    };
    o["created"] = json!(rfc3339_ms(p.updated_at));
    o["modified"] = json!(rfc3339_ms(p.updated_at));
    let d = &p.details;
    let mut contact: Vec<String> = Vec::new();
    contact.extend(p.contact.clone());
    contact.extend(
        d.emergency_phone
            .as_ref()
            .map(|x| format!("emergency: {x}")),
    );
    contact.extend(d.pgp_fingerprint.as_ref().map(|x| format!("PGP: {x}")));
    contact.extend(d.rfc2350_url.as_ref().map(|x| format!("RFC 2350: {x}")));
    if !contact.is_empty() {
        o["contact_information"] = json!(contact.join("; "));
    }
    let mut about: Vec<String> = vec![format!("CSIRT Mesh team {team}")];
    about.extend(p.country.as_ref().map(|c| format!("country: {c}")));
    about.extend(
        d.constituency_type
            .as_ref()
            .map(|c| format!("constituency type: {c}")),
    );
    if !p.constituency.is_empty() {
        let list: Vec<String> = p.constituency.iter().map(ToString::to_string).collect();
        about.push(format!("constituency: {}", list.join(", ")));
    }
    about.extend(d.time_zone.as_ref().map(|t| format!("time zone: {t}")));
    about.extend(
        d.business_hours
            .as_ref()
            .map(|h| format!("business hours: {h}")),
    );
    if !d.languages.is_empty() {
        about.push(format!("languages: {}", d.languages.join(", ")));
    }
    o["description"] = json!(about.join("\n"));
    if let Some(s) = d.constituency_type.as_deref().and_then(sector) {
        o["sectors"] = json!([s]);
    }
    o
}

/// The STIX industry sector of a constituency type, where one fits.
fn sector(constituency_type: &str) -> Option<&'static str> {
    Some(match constituency_type {
        "national" => "government-national",
        "government" => "government",
        "academic" => "education",
        "financial" => "financial-services",
        "isp" => "telecommunications",
        "vendor" => "technology",
        _ => return None,
    })
}

/// incident-core's `investigation_status`.
fn investigation_status(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::New => "new",
        IncidentStatus::InProgress => "open",
        IncidentStatus::Resolved | IncidentStatus::Closed => "closed",
    }
}

/// A thread step as a note's text, for the steps a note can carry.
fn step_text(x: &Export, e: &IncidentEvent) -> Option<(String, TeamId, u64, [u8; 32])> {
    let names = |ts: &[TeamId]| ts.iter().map(|t| x.name(t)).collect::<Vec<_>>().join(", ");
    let with_note = |s: String, note: &str| {
        if note.is_empty() {
            s
        } else {
            format!("{s}: {note}")
        }
    };
    Some(match e {
        IncidentEvent::Comment {
            id,
            author,
            at,
            text,
        } => (text.clone(), *author, *at, id.0),
        IncidentEvent::Status {
            id,
            author,
            at,
            status,
        } => (format!("Status changed to {status}."), *author, *at, id.0),
        IncidentEvent::Acknowledged { id, author, at } => {
            ("Acknowledged.".into(), *author, *at, id.0)
        }
        IncidentEvent::HandedOff {
            id,
            author,
            at,
            to,
            note,
        } => (
            with_note(format!("Handed off to {}", names(to)), note),
            *author,
            *at,
            id.0,
        ),
        IncidentEvent::Referred {
            id,
            author,
            at,
            responsible,
            note,
        } => (
            with_note(format!("Referred to {}", names(responsible)), note),
            *author,
            *at,
            id.0,
        ),
        IncidentEvent::Accepted { id, author, at } => ("Accepted.".into(), *author, *at, id.0),
        IncidentEvent::Declined {
            id,
            author,
            at,
            reason,
        } => (with_note("Declined".into(), reason), *author, *at, id.0),
        _ => return None,
    })
}

/// Whether a step is a comment (imported back as one) rather than a
/// record of a step (status, hand-off...), which a note only describes.
pub const STEP_ABSTRACT: &str = "CSIRT Mesh thread step";

/// The objects of one incident, its label on each.
fn incident_objects(x: &Export, inc: &Incident, teams: &mut BTreeSet<TeamId>) -> Vec<Value> {
    let marking = json!([tlp::stix_marking(inc.tlp)]);
    let id = incident_id(inc, &x.exporter);
    let created = rfc3339_ms(inc.opened_at);
    let modified = rfc3339_ms(inc.updated_at.max(inc.opened_at));
    teams.insert(inc.author);
    let grouping = ids::stix_id(
        "grouping",
        ids::derived("grouping", incident_uuid(inc, &x.exporter).as_bytes()),
    );
    let mut objects = Vec::new();
    let mut incident = json!({
        "type": "incident",
        "spec_version": "2.1",
        "id": id,
        "created": created,
        "modified": modified,
        "created_by_ref": identity_id(&inc.author),
        "name": inc.title.clone().unwrap_or_default(),
        "extensions": {
            INCIDENT_CORE: {
                "extension_type": "property-extension",
                // The mesh does not track a determination; "suspected"
                // claims the least.
                "determination": "suspected",
                "investigation_status": investigation_status(inc.status),
            }
        },
        "object_marking_refs": marking,
    });
    if let Some(d) = inc.description.as_ref().filter(|d| !d.is_empty()) {
        incident["description"] = json!(d);
    }
    objects.push(incident);
    for i in &inc.indicators {
        let (oid, mut obj) = observable(i);
        obj["object_marking_refs"] = marking.clone();
        objects.push(obj);
        objects.push(json!({
            "type": "relationship",
            "spec_version": "2.1",
            "id": ids::stix_id("relationship", ids::derived(&format!("related-to {oid}"), &inc.id.0)),
            "created": created,
            "modified": created,
            "created_by_ref": identity_id(&inc.author),
            "relationship_type": "related-to",
            "source_ref": id,
            "target_ref": oid,
            "object_marking_refs": marking,
        }));
    }
    for e in &inc.events {
        let Some((text, author, at, envelope)) = step_text(x, e) else {
            continue;
        };
        teams.insert(author);
        let mut note = json!({
            "type": "note",
            "spec_version": "2.1",
            "id": ids::stix_id("note", ids::derived("note", &envelope)),
            "created": rfc3339_ms(at),
            "modified": rfc3339_ms(at),
            "created_by_ref": identity_id(&author),
            "content": text,
            "authors": [x.name(&author)],
            // The grouping too: MISP's importer drops the incident, and a
            // note naming only it.
            "object_refs": [id, grouping],
            "object_marking_refs": marking,
        });
        if !matches!(e, IncidentEvent::Comment { .. }) {
            note["abstract"] = json!(STEP_ABSTRACT);
        }
        objects.push(note);
    }
    let refs: Vec<Value> = objects.iter().map(|o| o["id"].clone()).collect();
    objects.push(json!({
        "type": "grouping",
        "spec_version": "2.1",
        "id": grouping,
        "created": created,
        "modified": modified,
        "created_by_ref": identity_id(&inc.author),
        "name": inc.title.clone().unwrap_or_default(),
        "context": "suspicious-activity",
        "object_refs": refs,
        "object_marking_refs": marking,
    }));
    objects
}

/// The bundle of every incident the team can read.
pub fn export(x: &Export) -> Value {
    let mut teams = BTreeSet::new();
    let mut body: Vec<Value> = Vec::new();
    // An observable two incidents share is one object (its id is its
    // value's). It carries the wider of their labels: the wider incident
    // already discloses the value that far, and the importer narrows each
    // incident to the narrowest of what it holds, so a narrower marking
    // here would narrow the wider incident on the way back.
    let mut observables: std::collections::BTreeMap<String, usize> = Default::default();
    for inc in x.readable() {
        for o in incident_objects(x, inc, &mut teams) {
            let id = o["id"].as_str().unwrap_or_default().to_owned();
            if !is_observable(&id) {
                body.push(o);
                continue;
            }
            match observables.get(&id) {
                Some(&at) => {
                    let label = |v: &Value| {
                        v["object_marking_refs"][0]
                            .as_str()
                            .and_then(tlp::from_stix_marking)
                    };
                    if label(&o) < label(&body[at]) {
                        body[at] = o;
                    }
                }
                None => {
                    observables.insert(id, body.len());
                    body.push(o);
                }
            }
        }
    }
    // The TLP 2.0 markings are referenced by their official ids, not
    // repeated: MISP's importer turns unreferenced definitions into tags.
    let mut objects: Vec<Value> = teams.iter().map(|t| identity(x, t)).collect();
    objects.extend(body);
    let mut h = blake3::Hasher::new();
    for o in &objects {
        h.update(o["id"].as_str().unwrap_or_default().as_bytes());
    }
    json!({
        "type": "bundle",
        "id": ids::stix_id("bundle", ids::derived("bundle", h.finalize().as_bytes())),
        "objects": objects,
    })
}
