//! The CSIRT toolchain's formats at the node: export what this team reads
//! (STIX 2.1, MISP, X-ARF), open the incidents of an imported file, and
//! publish a new version of the team's profile (its RFC 2350 details). The
//! conversions themselves are `csirtmesh-interop`'s, free of I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use mesh_core::{Incident, IncidentEvent};
use proto::{EnvelopeId, IncidentPayload, InnerContent, Payload, TeamId};

use super::{Node, incidents::Among};
use crate::api::{ApiError, types::*};

/// Room left in an envelope for sealing and the outer header: an imported
/// incident whose opening does not fit is refused before anything is
/// published.
const SEAL_MARGIN: usize = 16 * 1024;

/// The most envelopes one import publishes (openings, comments, statuses):
/// each is sealed and written on the node's loop.
pub const MAX_IMPORT_ENVELOPES: usize = 5_000;

/// An incident this team imported before from the same source.
struct Earlier {
    id: EnvelopeId,
    tlp: proto::Tlp,
    recipients: Vec<TeamId>,
    said: BTreeSet<String>,
}

impl Node {
    /// Every intact incident, folded.
    fn all_incidents(&mut self, now: u64) -> Result<Vec<Incident>, ApiError> {
        let roots = self.store.incident_roots()?;
        let mut out = Vec::new();
        for s in self.keep_intact(now, roots) {
            out.push(self.incident(now, &s.id)?);
        }
        Ok(out)
    }

    /// The profiles of the teams `incidents` name (members and removed
    /// teams alike, when known).
    fn profiles_named(&self, incidents: &[Incident]) -> BTreeMap<TeamId, proto::Profile> {
        let mut named = BTreeSet::new();
        for i in incidents {
            named.insert(i.author);
            named.extend(i.recipients.iter().copied());
            for e in &i.events {
                named.extend(event_teams(e));
            }
        }
        named
            .into_iter()
            .filter_map(|t| self.members.profile(&t).map(|p| (t, p.clone())))
            .collect()
    }

    /// What this team reads, as STIX 2.1, MISP events or X-ARF reports.
    pub fn export(&mut self, now: u64, q: &ExportQuery) -> Result<serde_json::Value, ApiError> {
        let incidents = match &q.incident {
            Some(s) => {
                let id = self.resolve(s, Among::Incidents)?;
                let inc = self.incident(now, &id)?;
                if inc.title.is_none() {
                    return Err(ApiError::Forbidden(format!(
                        "incident {} is not readable by this team: nothing to export",
                        id.short()
                    )));
                }
                vec![inc]
            }
            None => self.all_incidents(now)?,
        };
        let mut incidents: Vec<Incident> = incidents
            .into_iter()
            .filter(|i| q.since.is_none_or(|s| i.updated_at >= s))
            .collect();
        // A reply may narrow its thread's label (a RED comment in a GREEN
        // thread); the formats mark a thread's objects with one label, so
        // such a reply is left out rather than written under the wider one.
        for inc in &mut incidents {
            let narrower: HashSet<EnvelopeId> = self
                .store
                .thread(&inc.id)?
                .iter()
                .filter(|s| {
                    proto::Envelope::decode(&s.bytes).map_or(true, |e| e.content.tlp != inc.tlp)
                })
                .map(|s| s.id)
                .collect();
            if narrower.is_empty() {
                continue;
            }
            inc.events.retain(|e| !narrower.contains(&event_id(e)));
            // Nor may what they did show: status and time from what is kept.
            inc.status = inc
                .events
                .iter()
                .filter_map(|e| match e {
                    IncidentEvent::Status { status, .. } => Some(*status),
                    _ => None,
                })
                .next_back()
                .unwrap_or(proto::IncidentStatus::New);
            inc.updated_at = inc
                .events
                .iter()
                .filter_map(event_at)
                .fold(inc.opened_at, u64::max);
        }
        let teams = self.profiles_named(&incidents);
        let x = interop::Export {
            exporter: self.me,
            incidents: &incidents,
            teams: &teams,
        };
        Ok(match q.format {
            ExportFormat::Stix => interop::stix::export(&x),
            ExportFormat::Misp => interop::misp::export(&x),
            ExportFormat::Xarf => serde_json::Value::Array(interop::xarf::export(&x)),
        })
    }

    /// Opens the incidents of a parsed file. Everything is checked before
    /// anything is published: recipients for AMBER and narrower, consent
    /// to pass on AMBER+STRICT and RED, that each opening fits in an
    /// envelope, and the number of envelopes in all. An incident this team
    /// opened from the same source before is not opened again; only
    /// comments not already in its thread are added, and only if its label
    /// is at least as narrow as the file's.
    pub fn import(
        &mut self,
        now: u64,
        parsed: interop::import::Parsed,
        q: &ImportQuery,
    ) -> Result<ImportView, ApiError> {
        let names: Vec<String> = q.to.iter().cloned().collect();
        let to = self.resolve_recipients(&names)?;
        // Only this team's own incidents: another team's incident naming the
        // same source must not receive this file's comments (under its own
        // label and participants).
        let mut existing: HashMap<[u8; 16], Earlier> = HashMap::new();
        for i in self.all_incidents(now)? {
            if let Some(source) = i.source
                && i.author == self.me
            {
                let said = i
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        IncidentEvent::Comment { author, text, .. } if *author == self.me => {
                            Some(text.clone())
                        }
                        _ => None,
                    })
                    .collect();
                existing.entry(source).or_insert(Earlier {
                    id: i.id,
                    tlp: i.tlp,
                    recipients: i.recipients.clone(),
                    said,
                });
            }
        }
        let mut plans = Vec::new();
        let mut envelopes = 0;
        for inc in &parsed.incidents {
            let named = inc.tlp.is_named_recipients();
            if named && to.is_empty() {
                return Err(ApiError::BadRequest(format!(
                    "{}: labelled {} by its source, so it goes to named recipients: name them with --to TEAM,...",
                    inc.origin, inc.tlp
                )));
            }
            if matches!(inc.tlp, proto::Tlp::AmberStrict | proto::Tlp::Red) && !q.reshare_restricted
            {
                return Err(ApiError::BadRequest(format!(
                    "{}: labelled {} by its source, which allows no disclosure beyond its recipients: import it only if this team is the source or has its consent (--reshare-restricted)",
                    inc.origin, inc.tlp
                )));
            }
            let earlier = existing.remove(&inc.source);
            if let Some(e) = &earlier
                && e.tlp < inc.tlp
            {
                return Err(ApiError::BadRequest(format!(
                    "{}: imported before as incident {} under {}, and now marked {}: its comments would go out wider than the source allows (import into a new incident by removing the old one, or re-label the source)",
                    inc.origin,
                    e.id.short(),
                    e.tlp,
                    inc.tlp
                )));
            }
            // New comments go to the earlier thread's recipients: a --to
            // naming others would not be obeyed, so it is refused.
            if let Some(e) = &earlier
                && named
                && !to.is_empty()
            {
                let (mut was, mut now) = (e.recipients.clone(), to.clone());
                was.sort();
                now.sort();
                if was != now {
                    return Err(ApiError::BadRequest(format!(
                        "{}: imported before as incident {}, addressed to other teams than --to names; its new comments would go to those: name the same teams, or open a new incident",
                        inc.origin,
                        e.id.short()
                    )));
                }
            }
            let mut said = earlier.as_ref().map(|e| e.said.clone()).unwrap_or_default();
            let comments: Vec<String> = inc
                .comments
                .iter()
                .filter(|c| !c.trim().is_empty() && said.insert((*c).clone()))
                .cloned()
                .collect();
            let payload = IncidentPayload::Open {
                title: inc.title.clone(),
                description: inc.description.clone(),
                indicators: inc.indicators.clone(),
                source: Some(inc.source),
            };
            let recipients = if named { to.clone() } else { Vec::new() };
            let size = InnerContent {
                author: self.me,
                mesh: self.mesh,
                tlp: inc.tlp,
                recipients: recipients.clone(),
                payload: Payload::Incident(payload.clone()),
            }
            .to_bytes()
            .map_err(|e| ApiError::BadRequest(format!("{}: {e}", inc.origin)))?
            .len();
            if size + SEAL_MARGIN > proto::MAX_ENVELOPE_BYTES {
                return Err(ApiError::BadRequest(format!(
                    "{}: {size} bytes of title, description and indicators; an incident holds at most {}",
                    inc.origin,
                    proto::MAX_ENVELOPE_BYTES - SEAL_MARGIN
                )));
            }
            if let Some(c) = comments
                .iter()
                .find(|c| c.len() + SEAL_MARGIN > proto::MAX_ENVELOPE_BYTES)
            {
                return Err(ApiError::BadRequest(format!(
                    "{}: a comment of {} bytes; a comment holds at most {}",
                    inc.origin,
                    c.len(),
                    proto::MAX_ENVELOPE_BYTES - SEAL_MARGIN
                )));
            }
            envelopes += comments.len()
                + usize::from(earlier.is_none())
                + usize::from(earlier.is_none() && inc.status != proto::IncidentStatus::New);
            plans.push((earlier.map(|e| e.id), payload, recipients, comments));
        }
        if envelopes > MAX_IMPORT_ENVELOPES {
            return Err(ApiError::BadRequest(format!(
                "the file would publish {envelopes} envelopes, at most {MAX_IMPORT_ENVELOPES} per import: split it"
            )));
        }
        let mut out = Vec::new();
        for (inc, (earlier, payload, recipients, comments)) in
            parsed.incidents.into_iter().zip(plans)
        {
            let (id, created) = match earlier {
                Some(id) => (id, false),
                None => (
                    self.send_incident_step(now, None, inc.tlp, recipients, payload)?,
                    true,
                ),
            };
            let comments_added = comments.len();
            for text in comments {
                self.comment(now, &id.to_string(), NewComment { text })?;
            }
            if created && inc.status != proto::IncidentStatus::New {
                self.set_status(
                    now,
                    &id.to_string(),
                    NewStatus {
                        status: inc.status.into(),
                    },
                )?;
            }
            out.push(ImportedView {
                id: id.to_string(),
                source: interop::ids::uuid_text(&inc.source),
                title: inc.title,
                tlp: inc.tlp.into(),
                created,
                comments_added,
                indicators: inc.indicators.len(),
            });
        }
        Ok(ImportView {
            format: parsed.format.to_owned(),
            incidents: out,
            skipped: parsed.skipped,
        })
    }

    /// Publishes a new version of this team's profile with these RFC 2350
    /// details: signed, kept in the data directory, sent as a join request
    /// (the newest valid profile of a team wins on every node).
    pub fn update_profile(
        &mut self,
        now: u64,
        details: proto::rfc2350::TeamDetails,
    ) -> Result<Published, ApiError> {
        let details = details.normalized();
        details
            .check()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let dir = self.key_dir()?;
        let (_, mut profile) = dir.profile_unchecked()?;
        profile.details = details;
        let held = self.members.profile(&self.me).map_or(0, |p| p.updated_at);
        profile.updated_at = now
            .max(held.saturating_add(1))
            .max(profile.updated_at.saturating_add(1));
        let signed = seal::sign_profile(&self.keys, &profile)?;
        crate::datadir::replace(
            &dir.file(crate::datadir::files::PROFILE),
            &signed.to_bytes()?,
            0o644,
        )?;
        self.own_profile = signed;
        self.join(now)
    }
}

/// The envelope an entry of a thread is.
fn event_id(e: &IncidentEvent) -> EnvelopeId {
    use IncidentEvent as E;
    match e {
        E::Comment { id, .. }
        | E::Status { id, .. }
        | E::Acknowledged { id, .. }
        | E::HandedOff { id, .. }
        | E::Referred { id, .. }
        | E::Accepted { id, .. }
        | E::Declined { id, .. }
        | E::Retracted { id, .. }
        | E::Refused { id, .. }
        | E::Sealed { id, .. } => *id,
    }
}

/// When an entry of a thread was written, where the fold knows.
fn event_at(e: &IncidentEvent) -> Option<u64> {
    use IncidentEvent as E;
    match e {
        E::Comment { at, .. }
        | E::Status { at, .. }
        | E::Acknowledged { at, .. }
        | E::HandedOff { at, .. }
        | E::Referred { at, .. }
        | E::Accepted { at, .. }
        | E::Declined { at, .. }
        | E::Retracted { at, .. }
        | E::Sealed { at, .. } => Some(*at),
        E::Refused { .. } => None,
    }
}

/// The teams an entry of a thread names.
fn event_teams(e: &IncidentEvent) -> Vec<TeamId> {
    use IncidentEvent as E;
    match e {
        E::Comment { author, .. }
        | E::Status { author, .. }
        | E::Acknowledged { author, .. }
        | E::Accepted { author, .. }
        | E::Declined { author, .. }
        | E::Retracted { author, .. }
        | E::Refused { author, .. }
        | E::Sealed { author, .. } => vec![*author],
        E::HandedOff { author, to, .. } => {
            std::iter::once(*author).chain(to.iter().copied()).collect()
        }
        E::Referred {
            author,
            responsible,
            ..
        } => std::iter::once(*author)
            .chain(responsible.iter().copied())
            .collect(),
    }
}
