//! Import: a STIX 2.1 bundle or a MISP event (or MISP's search answer, a
//! list of events) into incidents to open, with their indicators, comments
//! and status.
//!
//! A file is hostile until checked, and is taken whole or not at all: any
//! malformed object (a wrong type, an invalid indicator, a title too long,
//! an unknown marking) fails the whole file with an error naming the object
//! and the field, before anything is opened. What is not malformed but has
//! no place in an incident (a STIX malware object, a MISP attribute of a
//! type with no indicator kind) is left out and listed in
//! [`Parsed::skipped`].
//!
//! The label comes from the source: the narrowest TLP marking found on the
//! incident and on everything imported into it, so nothing is published
//! wider than its source allowed. An incident with no TLP marking is
//! refused unless the operator names a label for unmarked objects; nothing
//! ever defaults to CLEAR.

use proto::{IncidentStatus, Indicator, Tlp};
use serde_json::{Map, Value};
use uuid::Uuid;

mod misp;
mod stix;

/// Largest file accepted, in bytes.
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;
/// Deepest nesting of JSON arrays and objects accepted.
pub const MAX_DEPTH: usize = 24;
/// Most objects (STIX objects, MISP events and attributes) in one file.
pub const MAX_OBJECTS: usize = 100_000;
/// Most JSON values (of any kind) in one file: counted on the bytes before
/// a tree is built, so a file of a million tiny values cannot cost more
/// memory than a few dozen MiB.
pub const MAX_VALUES: usize = 1_000_000;
/// Most objects one incident may relate (observables, notes, links), and
/// most references one grouping, report or note may list.
pub const MAX_RELATED: usize = 10_000;
/// Most markings one object may carry.
pub const MAX_MARKINGS: usize = 64;
/// Most incidents one file may open.
pub const MAX_INCIDENTS: usize = 1_000;
/// Most comments one incident may bring.
pub const MAX_COMMENTS: usize = 1_000;

/// An incident to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// The UUID of the object it comes from (a STIX incident or grouping,
    /// a MISP event): a second import finds the incident by it.
    pub source: [u8; 16],
    /// Where it comes from, for messages (`incident--...`, `MISP event ...`).
    pub origin: String,
    /// One line.
    pub title: String,
    /// The description.
    pub description: String,
    /// The label: the narrowest of the source's markings.
    pub tlp: Tlp,
    /// Its status in the source.
    pub status: IncidentStatus,
    /// Its indicators.
    pub indicators: Vec<Indicator>,
    /// Its comments, oldest first.
    pub comments: Vec<String>,
}

/// What a file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// `stix` or `misp`.
    pub format: &'static str,
    /// The incidents to open.
    pub incidents: Vec<Imported>,
    /// What was left out, and why.
    pub skipped: Vec<String>,
}

/// Why a file was refused: the object and field at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{object}: {field}: {reason}")]
pub struct ImportError {
    /// The object (`incident--...`, `MISP event ...`, `file`).
    pub object: String,
    /// The field.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

fn fail(
    object: impl Into<String>,
    field: impl Into<String>,
    reason: impl Into<String>,
) -> ImportError {
    ImportError {
        object: object.into(),
        field: field.into(),
        reason: reason.into(),
    }
}

/// Parses a STIX 2.1 bundle or MISP event(s). `unmarked` is the label the
/// operator names for objects without a TLP marking (never assumed).
pub fn parse(bytes: &[u8], unmarked: Option<Tlp>) -> Result<Parsed, ImportError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(fail(
            "file",
            "(size)",
            format!("{} bytes, at most {MAX_IMPORT_BYTES}", bytes.len()),
        ));
    }
    scan(bytes)?;
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        // serde_json stops at 128 levels, before our own check can.
        if e.to_string().contains("recursion limit") {
            fail(
                "file",
                "(nesting)",
                format!("nested deeper than {MAX_DEPTH} levels ({e})"),
            )
        } else {
            fail("file", "(json)", format!("not JSON: {e}"))
        }
    })?;
    let parsed = if doc.get("type").and_then(Value::as_str) == Some("bundle") {
        stix::Stix::new(&doc)?.parse(unmarked)?
    } else if doc.get("Event").is_some() || doc.get("response").is_some() || doc.is_array() {
        misp::parse(&doc, unmarked)?
    } else {
        return Err(fail(
            "file",
            "type",
            "neither a STIX 2.1 bundle (\"type\": \"bundle\") nor a MISP event ({\"Event\": ...})",
        ));
    };
    if parsed.incidents.len() > MAX_INCIDENTS {
        return Err(fail(
            "file",
            "(incidents)",
            format!(
                "{} incidents, at most {MAX_INCIDENTS} per file",
                parsed.incidents.len()
            ),
        ));
    }
    Ok(parsed)
}

/// Refuses nesting deeper than [`MAX_DEPTH`], more than [`MAX_OBJECTS`]
/// objects and more than [`MAX_VALUES`] values, reading the bytes only
/// (strings skipped, escapes included), before any tree is built.
fn scan(bytes: &[u8]) -> Result<(), ImportError> {
    // One counter past its limit: the file is refused, naming which.
    fn bump(n: &mut usize, max: usize, field: &str, what: &str) -> Result<(), ImportError> {
        *n += 1;
        if *n > max {
            return Err(fail("file", field, format!("{what} {max}")));
        }
        Ok(())
    }
    let (mut depth, mut objects, mut values) = (0usize, 0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                // A container is a value of its own (a first element costs
                // no comma): nested arrays are counted too.
                bump(&mut values, MAX_VALUES, "(values)", "more values than")?;
                bump(&mut depth, MAX_DEPTH, "(nesting)", "nested deeper than")?;
                if b == b'{' {
                    bump(&mut objects, MAX_OBJECTS, "(objects)", "more objects than")?;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' => bump(&mut values, MAX_VALUES, "(values)", "more values than")?,
            _ => {}
        }
    }
    Ok(())
}

/// A string field, if present; an error if present and not a string.
fn opt_str<'a>(
    o: &'a Map<String, Value>,
    object: &str,
    field: &str,
) -> Result<Option<&'a str>, ImportError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(fail(object, field, "expected a string")),
    }
}

fn req_str<'a>(
    o: &'a Map<String, Value>,
    object: &str,
    field: &str,
) -> Result<&'a str, ImportError> {
    opt_str(o, object, field)?.ok_or_else(|| fail(object, field, "missing"))
}

fn array<'a>(
    o: &'a Map<String, Value>,
    object: &str,
    field: &str,
) -> Result<&'a [Value], ImportError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(fail(object, field, "expected an array")),
    }
}

fn strings<'a>(
    o: &'a Map<String, Value>,
    object: &str,
    field: &str,
) -> Result<Vec<&'a str>, ImportError> {
    array(o, object, field)?
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| fail(object, field, "expected an array of strings"))
        })
        .collect()
}

fn title(s: &str, object: &str, field: &str) -> Result<String, ImportError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(fail(object, field, "empty: an incident needs a title"));
    }
    proto::text::check_line("title", t, proto::payload::MAX_TITLE_BYTES)
        .map_err(|e| fail(object, field, e.to_string()))?;
    Ok(t.to_owned())
}

fn text(s: &str, object: &str, field: &str) -> Result<String, ImportError> {
    proto::text::check_text("text", s, proto::MAX_ENVELOPE_BYTES / 2)
        .map_err(|e| fail(object, field, e.to_string()))?;
    Ok(s.to_owned())
}

fn indicator(s: &str, object: &str, field: &str) -> Result<Indicator, ImportError> {
    s.parse::<Indicator>()
        .map_err(|e| fail(object, field, e.to_string()))
}

/// The label: the narrowest found, else the operator's, else an error.
fn label(
    found: Option<Tlp>,
    unmarked: Option<Tlp>,
    object: &str,
    field: &str,
) -> Result<Tlp, ImportError> {
    found.or(unmarked).ok_or_else(|| {
        fail(
            object,
            field,
            "no TLP marking: name the label for unmarked objects (--tlp); it is never assumed",
        )
    })
}

fn narrowest(a: Option<Tlp>, b: Option<Tlp>) -> Option<Tlp> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The UUID an id ends in, written only in its one canonical form
/// (lowercase, hyphenated): two spellings must not name one source.
fn uuid_of(id: &str, object: &str) -> Result<[u8; 16], ImportError> {
    let tail = id.split_once("--").map_or(id, |(_, u)| u);
    match Uuid::parse_str(tail) {
        Ok(u) if u.hyphenated().to_string() == tail => Ok(*u.as_bytes()),
        _ => Err(fail(
            object,
            "id",
            format!("{id:?} does not end in a UUID in lowercase hyphenated form"),
        )),
    }
}
