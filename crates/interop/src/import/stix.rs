//! STIX 2.1 bundles in: each incident (or, with none, each grouping or
//! report) with what its groupings hold, its relationships name and its
//! notes say, narrowed to the narrowest marking of all of it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proto::{IncidentStatus, Indicator, Tlp};
use serde_json::{Map, Value};

use super::*;
use crate::{stix::INCIDENT_CORE, tlp};

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

pub(super) struct Stix<'a> {
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
    pub(super) fn new(doc: &'a Value) -> Result<Self, ImportError> {
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

    pub(super) fn parse(&self, unmarked: Option<Tlp>) -> Result<Parsed, ImportError> {
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
