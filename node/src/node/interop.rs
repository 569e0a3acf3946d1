//! The CSIRT toolchain's formats at the node: export what this team reads
//! (STIX 2.1, MISP, X-ARF), open the incidents of an imported file, and
//! publish a new version of the team's profile (its RFC 2350 details). The
//! conversions themselves are `csirtmesh-interop`'s, free of I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mesh_core::{Incident, IncidentEvent};
use proto::{EnvelopeId, IncidentPayload, InnerContent, Payload, TeamId};

use super::{Node, incidents::Among};
use crate::api::{ApiError, types::*};

/// Room left in an envelope for sealing and the outer header: an imported
/// incident whose opening does not fit is refused before anything is
/// published.
const SEAL_MARGIN: usize = 16 * 1024;

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
        let incidents: Vec<Incident> = incidents
            .into_iter()
            .filter(|i| q.since.is_none_or(|s| i.updated_at >= s))
            .collect();
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
    /// anything is published: recipients for AMBER and narrower, and that
    /// each opening fits in an envelope. An incident an earlier import
    /// opened (the same source id) is not opened again; only comments not
    /// already in its thread are added.
    pub fn import(
        &mut self,
        now: u64,
        parsed: interop::import::Parsed,
        q: &ImportQuery,
    ) -> Result<ImportView, ApiError> {
        let names: Vec<String> = q.to.iter().cloned().collect();
        let to = self.resolve_recipients(&names)?;
        let mut existing: HashMap<[u8; 16], (EnvelopeId, BTreeSet<String>)> = HashMap::new();
        for i in self.all_incidents(now)? {
            if let Some(source) = i.source {
                let said: BTreeSet<String> = i
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        IncidentEvent::Comment { author, text, .. } if *author == self.me => {
                            Some(text.clone())
                        }
                        _ => None,
                    })
                    .collect();
                existing.entry(source).or_insert((i.id, said));
            }
        }
        let mut openings = Vec::new();
        for inc in &parsed.incidents {
            let named = inc.tlp.is_named_recipients();
            if named && to.is_empty() {
                return Err(ApiError::BadRequest(format!(
                    "{}: labelled {} by its source, so it goes to named recipients: name them with --to TEAM,...",
                    inc.origin, inc.tlp
                )));
            }
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
            openings.push((payload, recipients));
        }
        let mut out = Vec::new();
        for (inc, (payload, recipients)) in parsed.incidents.into_iter().zip(openings) {
            let (id, created, mut said) = match existing.remove(&inc.source) {
                Some((id, said)) => (id, false, said),
                None => {
                    let id = self.send_incident_step(now, None, inc.tlp, recipients, payload)?;
                    (id, true, BTreeSet::new())
                }
            };
            let mut comments_added = 0;
            for c in inc.comments {
                if c.trim().is_empty() || !said.insert(c.clone()) {
                    continue;
                }
                self.comment(now, &id.to_string(), NewComment { text: c })?;
                comments_added += 1;
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
