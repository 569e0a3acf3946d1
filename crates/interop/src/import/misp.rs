//! MISP events in (one event, a list, or MISP's search answer): the event's
//! attributes (also inside objects) as indicators, its event reports as
//! description and comments, its label the narrowest of its `tlp:*` tags,
//! narrowed by its distributions.

use std::collections::BTreeSet;

use proto::{IncidentStatus, Tlp};
use serde_json::{Map, Value};

use super::*;
use crate::tlp;

/// A MISP attribute's indicator text, for the types that have one.
fn misp_value(kind: &str, value: &str) -> Option<String> {
    Some(match kind {
        // Not `link`: a reference to a write-up, not an indicator.
        "ip-src" | "ip-dst" | "domain" | "hostname" | "url" | "email" | "email-src"
        | "email-dst" => value.to_owned(),
        "AS" => {
            let v = value.trim();
            if v.starts_with("AS") || v.starts_with("as") {
                v.to_owned()
            } else {
                format!("AS{v}")
            }
        }
        "md5" | "sha1" | "sha256" => format!("{kind}:{value}"),
        _ => return None,
    })
}

pub(super) fn parse(doc: &Value, unmarked: Option<Tlp>) -> Result<Parsed, ImportError> {
    let events: Vec<&Value> = match doc {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) if o.contains_key("response") => match &o["response"] {
            Value::Array(a) => a.iter().collect(),
            _ => return Err(fail("file", "response", "expected an array of events")),
        },
        other => vec![other],
    };
    if events.len() > MAX_INCIDENTS {
        return Err(fail(
            "file",
            "(events)",
            format!("{} events, at most {MAX_INCIDENTS} per file", events.len()),
        ));
    }
    let mut parsed = Parsed {
        format: "misp",
        ..Parsed::default()
    };
    let mut sources = BTreeSet::new();
    for (n, wrapper) in events.into_iter().enumerate() {
        let here = format!("MISP event {n}");
        let ev = wrapper
            .get("Event")
            .and_then(Value::as_object)
            .ok_or_else(|| fail(&here, "Event", "missing, or not an object"))?;
        let uuid = req_str(ev, &here, "uuid")?;
        let object = format!("MISP event {uuid}");
        let source = uuid_of(uuid, &object)?;
        if !sources.insert(source) {
            return Err(fail(
                &object,
                "uuid",
                "two events of the file have this uuid",
            ));
        }
        let name = title(req_str(ev, &object, "info")?, &object, "info")?;
        let mut found = misp_tags(ev, &object)?;
        // The distribution narrows too (it is no label by itself): an event
        // kept to its organisation is not shared wider than AMBER+STRICT.
        let mut limit = misp_distribution(ev, &object)?;
        let status = match ev.get("analysis").map(|a| {
            a.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| a.to_string())
        }) {
            None => IncidentStatus::New,
            Some(a) => match a.as_str() {
                "0" => IncidentStatus::New,
                "1" => IncidentStatus::InProgress,
                "2" => IncidentStatus::Resolved,
                _ => return Err(fail(&object, "analysis", format!("{a:?} is not 0, 1 or 2"))),
            },
        };
        let mut attributes: Vec<(&Map<String, Value>, String)> = Vec::new();
        for (i, a) in array(ev, &object, "Attribute")?.iter().enumerate() {
            let a = a
                .as_object()
                .ok_or_else(|| fail(&object, format!("Attribute[{i}]"), "not an object"))?;
            attributes.push((a, format!("{object} Attribute[{i}]")));
        }
        for (j, obj) in array(ev, &object, "Object")?.iter().enumerate() {
            let obj = obj
                .as_object()
                .ok_or_else(|| fail(&object, format!("Object[{j}]"), "not an object"))?;
            for (i, a) in array(obj, &object, "Attribute")?.iter().enumerate() {
                let a = a.as_object().ok_or_else(|| {
                    fail(
                        &object,
                        format!("Object[{j}].Attribute[{i}]"),
                        "not an object",
                    )
                })?;
                attributes.push((a, format!("{object} Object[{j}].Attribute[{i}]")));
            }
            limit = narrowest(
                limit,
                misp_distribution(obj, &format!("{object} Object[{j}]"))?,
            );
        }
        let mut indicators = Vec::new();
        let mut seen = BTreeSet::new();
        for (a, at) in attributes {
            let kind = req_str(a, &at, "type")?;
            let value = req_str(a, &at, "value")?;
            match misp_value(kind, value) {
                Some(v) => {
                    let i = indicator(&v, &at, "value")?;
                    found = narrowest(found, misp_tags(a, &at)?);
                    limit = narrowest(limit, misp_distribution(a, &at)?);
                    if seen.insert(i.clone()) {
                        indicators.push(i);
                    }
                }
                None => parsed
                    .skipped
                    .push(format!("{at}: type {kind:?} has no indicator kind")),
            }
        }
        if indicators.len() > proto::indicator::MAX_INDICATORS {
            return Err(fail(
                &object,
                "Attribute",
                format!(
                    "{} indicators, at most {}",
                    indicators.len(),
                    proto::indicator::MAX_INDICATORS
                ),
            ));
        }
        let mut description = String::new();
        let mut comments = Vec::new();
        for (i, r) in array(ev, &object, "EventReport")?.iter().enumerate() {
            let at = format!("{object} EventReport[{i}]");
            let r = r
                .as_object()
                .ok_or_else(|| fail(&at, "(object)", "not an object"))?;
            let content = text(req_str(r, &at, "content")?, &at, "content")?;
            limit = narrowest(limit, misp_distribution(r, &at)?);
            if comments.len() >= MAX_COMMENTS {
                return Err(fail(
                    &at,
                    "(object)",
                    format!("more than {MAX_COMMENTS} event reports"),
                ));
            }
            if opt_str(r, &at, "name")? == Some(crate::misp::DESCRIPTION_REPORT)
                && description.is_empty()
            {
                description = content;
            } else {
                comments.push(content);
            }
        }
        parsed.incidents.push(Imported {
            source,
            origin: object.clone(),
            title: name,
            description,
            tlp: label(found, unmarked, &object, "Tag")?.max(limit.unwrap_or(Tlp::Clear)),
            status,
            indicators,
            comments,
        });
    }
    Ok(parsed)
}

/// The widest label a MISP distribution allows: 0 (this organisation)
/// AMBER+STRICT, 1 and 2 (communities) GREEN, 3 (all) CLEAR, 4 (a sharing
/// group) AMBER, 5 (inherit) none of its own.
fn misp_distribution(o: &Map<String, Value>, object: &str) -> Result<Option<Tlp>, ImportError> {
    let d = match o.get("distribution") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(fail(object, "distribution", "expected 0 to 5")),
    };
    Ok(match d.as_str() {
        "0" => Some(Tlp::AmberStrict),
        "1" | "2" => Some(Tlp::Green),
        "3" => Some(Tlp::Clear),
        "4" => Some(Tlp::Amber),
        "5" => None,
        _ => return Err(fail(object, "distribution", format!("{d:?} is not 0 to 5"))),
    })
}

/// The narrowest `tlp:*` tag of an event or attribute.
fn misp_tags(o: &Map<String, Value>, object: &str) -> Result<Option<Tlp>, ImportError> {
    let mut found = None;
    for (i, t) in array(o, object, "Tag")?.iter().enumerate() {
        let name = t
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| fail(object, format!("Tag[{i}].name"), "missing, or not a string"))?;
        if name.trim().to_ascii_lowercase().starts_with("tlp:") {
            let t = tlp::from_tag(name).ok_or_else(|| {
                fail(
                    object,
                    format!("Tag[{i}]"),
                    format!("unknown TLP label {name:?}"),
                )
            })?;
            found = narrowest(found, Some(t));
        }
    }
    Ok(found)
}
