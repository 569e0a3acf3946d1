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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proto::{IncidentStatus, Indicator, Tlp};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{stix::INCIDENT_CORE, tlp};

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
        Stix::new(&doc)?.parse(unmarked)?
    } else if doc.get("Event").is_some() || doc.get("response").is_some() || doc.is_array() {
        misp(&doc, unmarked)?
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
                values += 1;
                if values > MAX_VALUES {
                    return Err(fail(
                        "file",
                        "(values)",
                        format!("more than {MAX_VALUES} values"),
                    ));
                }
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(fail(
                        "file",
                        "(nesting)",
                        format!("nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                if b == b'{' {
                    objects += 1;
                    if objects > MAX_OBJECTS {
                        return Err(fail(
                            "file",
                            "(objects)",
                            format!("more than {MAX_OBJECTS} objects"),
                        ));
                    }
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' => {
                values += 1;
                if values > MAX_VALUES {
                    return Err(fail(
                        "file",
                        "(values)",
                        format!("more than {MAX_VALUES} values"),
                    ));
                }
            }
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

/// Whether an indicator is a value of this STIX observable type.
fn fits(kind: &str, i: &Indicator) -> bool {
    match (i, kind) {
        (Indicator::Ip(a), "ipv4-addr") => a.is_ipv4(),
        (Indicator::Prefix(p), "ipv4-addr") => p.addr().is_ipv4(),
        (Indicator::Ip(a), "ipv6-addr") => a.is_ipv6(),
        (Indicator::Prefix(p), "ipv6-addr") => p.addr().is_ipv6(),
        (Indicator::Domain(_), "domain-name")
        | (Indicator::Url(_), "url")
        | (Indicator::Email(_), "email-addr") => true,
        (Indicator::Md5(_) | Indicator::Sha1(_) | Indicator::Sha256(_), "file") => true,
        _ => false,
    }
}

struct Stix<'a> {
    objects: BTreeMap<&'a str, &'a Map<String, Value>>,
    order: Vec<&'a str>,
    /// For each id, the groupings and reports that hold it.
    held_by: HashMap<&'a str, Vec<&'a str>>,
    /// For each id, the relationships naming it, and the other end.
    related: HashMap<&'a str, Vec<(&'a str, &'a str)>>,
    /// For each id, the notes about it.
    notes: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Stix<'a> {
    fn new(doc: &'a Value) -> Result<Self, ImportError> {
        let Some(Value::Array(list)) = doc.get("objects") else {
            return Err(fail("bundle", "objects", "missing, or not an array"));
        };
        let mut objects = BTreeMap::new();
        let mut order = Vec::new();
        for (n, v) in list.iter().enumerate() {
            let here = format!("bundle object {n}");
            let o = v
                .as_object()
                .ok_or_else(|| fail(&here, "(object)", "not a JSON object"))?;
            let kind = req_str(o, &here, "type")?;
            let id = req_str(o, &here, "id")?;
            if !id.strip_prefix(kind).is_some_and(|r| r.starts_with("--")) {
                return Err(fail(
                    &here,
                    "id",
                    format!("{id:?} is not a {kind} id ({kind}--<uuid>)"),
                ));
            }
            uuid_of(id, id)?;
            match objects.insert(id, o) {
                Some(earlier) if earlier != o => {
                    return Err(fail(
                        id,
                        "id",
                        "appears twice in the bundle, with different content",
                    ));
                }
                Some(_) => {}
                None => order.push(id),
            }
        }
        let (mut held_by, mut related, mut notes) = (
            HashMap::new(),
            HashMap::<&str, Vec<_>>::new(),
            HashMap::new(),
        );
        for (&id, o) in &objects {
            let kind = o.get("type").and_then(Value::as_str);
            if matches!(kind, Some("grouping" | "report" | "note")) {
                let refs = strings(o, id, "object_refs")?;
                if refs.len() > MAX_RELATED {
                    return Err(fail(
                        id,
                        "object_refs",
                        format!("{} references, at most {MAX_RELATED}", refs.len()),
                    ));
                }
                if refs.iter().collect::<BTreeSet<_>>().len() != refs.len() {
                    return Err(fail(id, "object_refs", "a reference is listed twice"));
                }
            }
            match kind {
                Some("grouping" | "report") => {
                    for r in strings(o, id, "object_refs")? {
                        held_by.entry(r).or_insert_with(Vec::new).push(id);
                    }
                }
                Some("relationship") => {
                    let (s, t) = (req_str(o, id, "source_ref")?, req_str(o, id, "target_ref")?);
                    related.entry(s).or_default().push((id, t));
                    related.entry(t).or_default().push((id, s));
                }
                Some("note") => {
                    for r in strings(o, id, "object_refs")? {
                        notes.entry(r).or_insert_with(Vec::new).push(id);
                    }
                }
                _ => {}
            }
        }
        Ok(Stix {
            objects,
            order,
            held_by,
            related,
            notes,
        })
    }

    fn revoked(&self, id: &str) -> bool {
        self.objects[id].get("revoked") == Some(&Value::Bool(true))
    }

    fn kind(&self, id: &str) -> Option<&'a str> {
        self.objects
            .get(id)
            .and_then(|o| o.get("type"))
            .and_then(Value::as_str)
    }

    /// The narrowest TLP among an object's markings; an error for a marking
    /// that is neither a known TLP id nor a definition in the bundle.
    fn tlp_of(&self, id: &str) -> Result<Option<Tlp>, ImportError> {
        let o = self.objects[id];
        let mut found = None;
        // Markings of parts of the object count as the whole's: the
        // incident takes the narrowest of them all.
        let mut refs = strings(o, id, "object_marking_refs")?;
        if refs.len() > MAX_MARKINGS {
            return Err(fail(
                id,
                "object_marking_refs",
                format!("{} markings, at most {MAX_MARKINGS}", refs.len()),
            ));
        }
        for (n, g) in array(o, id, "granular_markings")?.iter().enumerate() {
            let g = g
                .as_object()
                .ok_or_else(|| fail(id, format!("granular_markings[{n}]"), "not an object"))?;
            refs.extend(opt_str(g, id, "marking_ref")?);
        }
        for m in refs {
            let t = match tlp::from_stix_marking(m) {
                Some(t) => Some(t),
                None => match self.objects.get(m) {
                    Some(def) if opt_str(def, m, "type")? == Some("marking-definition") => {
                        marking_tlp(def, m)?
                    }
                    _ => {
                        return Err(fail(
                            id,
                            "object_marking_refs",
                            format!(
                                "unknown marking {m:?}: not a TLP marking, and not defined in the bundle"
                            ),
                        ));
                    }
                },
            };
            found = narrowest(found, t);
        }
        Ok(found)
    }

    /// An observable's indicators (a file may carry several hashes).
    fn observable(&self, id: &str) -> Result<Vec<Indicator>, ImportError> {
        let o = self.objects[id];
        Ok(match self.kind(id).unwrap_or_default() {
            kind @ ("ipv4-addr" | "ipv6-addr" | "domain-name" | "url" | "email-addr") => {
                let i = indicator(req_str(o, id, "value")?, id, "value")?;
                if !fits(kind, &i) {
                    return Err(fail(
                        id,
                        "value",
                        format!("{i} is not a valid {kind} value"),
                    ));
                }
                vec![i]
            }
            "autonomous-system" => {
                let n = o
                    .get("number")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| fail(id, "number", "missing, or not an AS number"))?;
                vec![Indicator::Asn(n)]
            }
            "file" => {
                let Some(hashes) = o.get("hashes") else {
                    return Ok(Vec::new());
                };
                let hashes = hashes
                    .as_object()
                    .ok_or_else(|| fail(id, "hashes", "expected an object"))?;
                let mut out = Vec::new();
                for (algo, v) in hashes {
                    let field = format!("hashes.{algo}");
                    let v = v
                        .as_str()
                        .ok_or_else(|| fail(id, &field, "expected a string"))?;
                    let prefix = match algo.as_str() {
                        "MD5" => "md5",
                        "SHA-1" => "sha1",
                        "SHA-256" => "sha256",
                        _ => continue,
                    };
                    out.push(indicator(&format!("{prefix}:{v}"), id, &field)?);
                }
                out
            }
            _ => Vec::new(),
        })
    }

    fn parse(&self, unmarked: Option<Tlp>) -> Result<Parsed, ImportError> {
        let mut parsed = Parsed {
            format: "stix",
            ..Parsed::default()
        };
        // Each incident; with none, each grouping or report (what MISP and
        // OpenCTI export) stands for one.
        let mut roots: Vec<&str> = self
            .order
            .iter()
            .copied()
            .filter(|id| self.kind(id) == Some("incident"))
            .collect();
        if roots.is_empty() {
            roots = self
                .order
                .iter()
                .copied()
                .filter(|id| matches!(self.kind(id), Some("grouping" | "report")))
                .collect();
        }
        if roots.len() > MAX_INCIDENTS {
            return Err(fail(
                "bundle",
                "objects",
                format!(
                    "{} incidents, at most {MAX_INCIDENTS} per file",
                    roots.len()
                ),
            ));
        }
        let mut used = BTreeSet::new();
        for root in roots {
            if self.revoked(root) {
                used.insert(root);
                parsed
                    .skipped
                    .push(format!("{root}: revoked by its producer"));
                continue;
            }
            let inc = self.incident(root, unmarked, &mut used)?;
            parsed.incidents.push(inc);
        }
        for id in &self.order {
            let kind = self.kind(id).unwrap_or_default();
            if !used.contains(id)
                && !matches!(
                    kind,
                    "marking-definition"
                        | "identity"
                        | "grouping"
                        | "report"
                        | "relationship"
                        | "extension-definition"
                )
            {
                parsed
                    .skipped
                    .push(format!("{id}: not part of any incident"));
            }
        }
        Ok(parsed)
    }

    /// The objects that belong to `root`: what its groupings hold (or it
    /// holds, for a grouping), what relationships tie to it, the notes
    /// about it; and the links themselves (those groupings and
    /// relationships), whose labels count too. At most [`MAX_RELATED`].
    fn members(
        &self,
        root: &'a str,
    ) -> Result<(BTreeSet<&'a str>, BTreeSet<&'a str>), ImportError> {
        let (mut out, mut links) = (BTreeSet::new(), BTreeSet::new());
        let known = |r: &str| self.objects.get_key_value(r).map(|(k, _)| *k);
        let mut groups: Vec<&str> = self.held_by.get(root).cloned().unwrap_or_default();
        if matches!(self.kind(root), Some("grouping" | "report")) {
            groups.push(root);
        }
        // Counted as walked, not as found: a root in many groupings costs
        // every reference of each.
        let mut walked = 0usize;
        for g in groups {
            if g != root {
                links.insert(g);
            }
            for r in strings(self.objects[g], g, "object_refs")? {
                out.extend(known(r));
                walked += 1;
                if walked > MAX_RELATED {
                    return Err(fail(
                        root,
                        "(related objects)",
                        format!("more than {MAX_RELATED}"),
                    ));
                }
            }
        }
        for (rel, other) in self.related.get(root).into_iter().flatten() {
            links.insert(*rel);
            out.extend(known(other));
        }
        out.extend(self.notes.get(root).into_iter().flatten().copied());
        if out.len() + links.len() > MAX_RELATED {
            return Err(fail(
                root,
                "(related objects)",
                format!("more than {MAX_RELATED}"),
            ));
        }
        out.remove(root);
        Ok((out, links))
    }

    fn incident(
        &self,
        root: &'a str,
        unmarked: Option<Tlp>,
        used: &mut BTreeSet<&'a str>,
    ) -> Result<Imported, ImportError> {
        let o = self.objects[root];
        let mut found = self.tlp_of(root)?;
        let name = title(req_str(o, root, "name")?, root, "name")?;
        let description = text(
            opt_str(o, root, "description")?.unwrap_or_default(),
            root,
            "description",
        )?;
        let status = match o.get("extensions").and_then(|e| e.get(INCIDENT_CORE)) {
            None => IncidentStatus::New,
            Some(ext) => match ext.get("investigation_status").and_then(Value::as_str) {
                None | Some("new") => IncidentStatus::New,
                Some("open") => IncidentStatus::InProgress,
                Some("closed") => IncidentStatus::Closed,
                Some(other) => {
                    return Err(fail(
                        root,
                        "extensions.investigation_status",
                        format!("{other:?} is not new, open or closed"),
                    ));
                }
            },
        };
        let mut indicators = Vec::new();
        let mut notes: Vec<(&str, &str)> = Vec::new();
        used.insert(root);
        let (members, links) = self.members(root)?;
        // Every object taken into the incident, and every link that ties
        // one to it, narrows its label; one without a marking takes the
        // operator's label for unmarked objects, or the file is refused.
        let narrow = |id: &str, found: &mut Option<Tlp>| -> Result<(), ImportError> {
            let t = match self.tlp_of(id)? {
                Some(t) => t,
                None => label(None, unmarked, id, "object_marking_refs")?,
            };
            *found = narrowest(*found, Some(t));
            Ok(())
        };
        for id in links {
            if !self.revoked(id) {
                narrow(id, &mut found)?;
                used.insert(id);
            }
        }
        for id in members {
            let obj = self.objects[id];
            let kind = self.kind(id).unwrap_or_default();
            if self.revoked(id) {
                continue;
            }
            let got = match kind {
                "note" => {
                    if opt_str(obj, id, "abstract")? != Some(crate::stix::STEP_ABSTRACT) {
                        notes.push((opt_str(obj, id, "created")?.unwrap_or_default(), id));
                    }
                    true
                }
                "indicator" if opt_str(obj, id, "pattern_type")?.is_none_or(|t| t == "stix") => {
                    match simple_pattern(req_str(obj, id, "pattern")?) {
                        Some((kind, value)) => {
                            let i = indicator(&value, id, "pattern")?;
                            if !fits(kind, &i) {
                                return Err(fail(
                                    id,
                                    "pattern",
                                    format!("{i} is not a valid {kind} value"),
                                ));
                            }
                            indicators.push(i);
                            true
                        }
                        None => false,
                    }
                }
                "indicator" => false,
                "relationship" | "grouping" | "report" | "identity" | "marking-definition" => true,
                _ => {
                    let found_here = self.observable(id)?;
                    let any = !found_here.is_empty();
                    indicators.extend(found_here);
                    any
                }
            };
            if got {
                used.insert(id);
                if kind != "identity" && kind != "marking-definition" {
                    narrow(id, &mut found)?;
                }
            }
            if indicators.len() > proto::indicator::MAX_INDICATORS * 4 {
                return Err(fail(
                    root,
                    "(indicators)",
                    "far more indicators than an incident holds",
                ));
            }
        }
        notes.sort();
        if notes.len() > MAX_COMMENTS {
            return Err(fail(
                root,
                "(notes)",
                format!("{} notes, at most {MAX_COMMENTS}", notes.len()),
            ));
        }
        let comments = notes
            .into_iter()
            .map(|(_, id)| text(req_str(self.objects[id], id, "content")?, id, "content"))
            .collect::<Result<Vec<_>, _>>()?;
        let mut seen = BTreeSet::new();
        indicators.retain(|i| seen.insert(i.clone()));
        if indicators.len() > proto::indicator::MAX_INDICATORS {
            return Err(fail(
                root,
                "(indicators)",
                format!(
                    "{} indicators, at most {}",
                    indicators.len(),
                    proto::indicator::MAX_INDICATORS
                ),
            ));
        }
        Ok(Imported {
            source: uuid_of(root, root)?,
            origin: root.to_owned(),
            title: name,
            description,
            tlp: label(found, unmarked, root, "object_marking_refs")?,
            status,
            indicators,
            comments,
        })
    }
}

/// A marking definition's TLP: TLP 2.0 (`extensions` with `tlp_2_0`, or a
/// `TLP:...` name) or STIX 2.0's `definition_type: tlp`; `None` for a
/// statement (not a label); an error otherwise.
fn marking_tlp(def: &Map<String, Value>, id: &str) -> Result<Option<Tlp>, ImportError> {
    if opt_str(def, id, "definition_type")? == Some("statement") {
        return Ok(None);
    }
    if let Some(t) = def
        .get("definition")
        .and_then(|d| d.get("tlp"))
        .and_then(Value::as_str)
    {
        return tlp::from_tag(&format!("tlp:{t}"))
            .map(Some)
            .ok_or_else(|| fail(id, "definition.tlp", format!("{t:?} is not a TLP label")));
    }
    let tlp_2 = def
        .get("extensions")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|e| e.values())
        .find_map(|e| e.get("tlp_2_0").and_then(Value::as_str));
    if let Some(t) = tlp_2 {
        return tlp::from_tag(&format!("tlp:{t}")).map(Some).ok_or_else(|| {
            fail(
                id,
                "extensions.tlp_2_0",
                format!("{t:?} is not a TLP label"),
            )
        });
    }
    if let Some(name) = opt_str(def, id, "name")?
        && let Some(t) = tlp::from_tag(name)
    {
        return Ok(Some(t));
    }
    Err(fail(
        id,
        "(marking)",
        "a marking this node cannot read: neither TLP nor a statement",
    ))
}

/// The value of a one-comparison STIX pattern (`[ipv4-addr:value =
/// '198.51.100.7']`, `[file:hashes.'SHA-256' = '...']`), as an indicator's
/// text; `None` for anything more complex.
fn simple_pattern(p: &str) -> Option<(&'static str, String)> {
    let inner = p.trim().strip_prefix('[')?.strip_suffix(']')?;
    let (path, value) = inner.split_once('=')?;
    let value = value.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    if value.contains('\'') {
        return None;
    }
    let path = path.trim();
    Some(match path {
        "ipv4-addr:value" => ("ipv4-addr", value.to_owned()),
        "ipv6-addr:value" => ("ipv6-addr", value.to_owned()),
        "domain-name:value" => ("domain-name", value.to_owned()),
        "url:value" => ("url", value.to_owned()),
        "email-addr:value" => ("email-addr", value.to_owned()),
        "file:hashes.MD5" | "file:hashes.'MD5'" => ("file", format!("md5:{value}")),
        "file:hashes.'SHA-1'" => ("file", format!("sha1:{value}")),
        "file:hashes.'SHA-256'" => ("file", format!("sha256:{value}")),
        _ => return None,
    })
}

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

fn misp(doc: &Value, unmarked: Option<Tlp>) -> Result<Parsed, ImportError> {
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
