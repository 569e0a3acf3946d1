//! Incidents: open, reply, report (routed by the directory), the steps of a
//! report's path (ack, accept, decline, hand-off, referral), retraction,
//! and reading them back. Every incident command ends in
//! [`Node::publish`]; every read folds the thread with `mesh_core`.

use std::collections::BTreeSet;

use mesh_core::{Incident, ThreadEntry, directory};
use proto::{
    Body, Envelope, EnvelopeId, IncidentPayload, InnerContent, Kind, Payload, TeamId, Tlp,
};
use store::Stored;

use super::{Node, ingest::inner_of, publish::published};
use crate::api::{ApiError, types::*, views};

/// Which ids an id or prefix is looked up among.
#[derive(Clone, Copy)]
pub(super) enum Among {
    /// Incident roots.
    Incidents,
    /// Every stored envelope.
    Envelopes,
}

impl Among {
    fn noun(self) -> &'static str {
        match self {
            Among::Incidents => "incident",
            Among::Envelopes => "envelope",
        }
    }
}

/// The shortest id prefix taken: 8 hex digits make an accidental match in a
/// store of a million envelopes unlikely (2^32).
const MIN_PREFIX: usize = 8;

impl Node {
    /// Opens an incident.
    pub fn open_incident(&mut self, now: u64, req: NewIncident) -> Result<Published, ApiError> {
        let tlp = req.tlp.0;
        let title = nonempty(&req.title, "an incident needs a --title")?;
        let to = self.resolve_recipients(&req.to)?;
        if tlp.is_named_recipients() && to.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "an incident labelled {tlp} needs recipients: name them with --to TEAM,..."
            )));
        }
        if !tlp.is_named_recipients() && !to.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "{tlp} goes to {}; --to is for AMBER, AMBER+STRICT and RED",
                if tlp == Tlp::Clear {
                    "everyone"
                } else {
                    "every member"
                }
            )));
        }
        let payload = IncidentPayload::Open {
            title,
            description: req.description,
            indicators: distinct(req.indicators.into_iter().map(|i| i.0))?,
            source: None,
        };
        let id = self.send_incident_step(now, None, tlp, to, payload)?;
        Ok(published(id, Some(id)))
    }

    /// Comments on an incident.
    pub fn comment(
        &mut self,
        now: u64,
        incident: &str,
        c: NewComment,
    ) -> Result<Published, ApiError> {
        // Sent as written (a pasted log keeps its indentation).
        nonempty(&c.text, "an empty comment: give --text")?;
        self.reply(now, incident, IncidentPayload::Comment { text: c.text })
    }

    /// Changes an incident's status.
    pub fn set_status(
        &mut self,
        now: u64,
        incident: &str,
        s: NewStatus,
    ) -> Result<Published, ApiError> {
        self.reply(
            now,
            incident,
            IncidentPayload::Status { status: s.status.0 },
        )
    }

    /// Who an incident's conversation goes to, current members only. When
    /// this team reads the root of a named-recipient thread, its
    /// participants as the fold fixes them (the root's author and
    /// recipients, teams that accepted a hand-off): a reply by anyone else
    /// adds nobody. A team a report was handed to cannot read the root: it
    /// takes the participants from the hand-offs that name it (their author
    /// and recipients; a hand-off is sealed to every participant), never
    /// from other replies. In a GREEN or CLEAR thread, the authors and
    /// recipients of every entry it reads. Empty if it takes no part.
    pub(super) fn participants(
        &mut self,
        now: u64,
        root_id: &EnvelopeId,
    ) -> Result<(ThreadEntry, Vec<TeamId>), ApiError> {
        let root = self
            .load_entry(now, root_id)?
            .ok_or_else(|| ApiError::NotFound(format!("no incident {root_id}")))?;
        let replies = self.store.thread(root_id)?;
        let replies = self.keep_intact(now, replies);
        let replies = replies
            .iter()
            .map(entry_of)
            .collect::<Result<Vec<_>, _>>()?;
        let me = self.me;
        let everyone = |e: &ThreadEntry| std::iter::once(e.author).chain(e.recipients.clone());
        let folded = mesh_core::Incident::fold(&root, replies.clone());
        // Hand-offs to us that the fold applied (one it refused, say with a
        // copy that is not the reporter's, names nobody to reply to).
        let handed: BTreeSet<EnvelopeId> = folded
            .events
            .iter()
            .filter_map(|e| match e {
                mesh_core::IncidentEvent::HandedOff { id, to, .. } if to.contains(&me) => Some(*id),
                _ => None,
            })
            .collect();
        let people: BTreeSet<TeamId> = match folded.participants {
            Some(fixed) => fixed,
            None if root.tlp.is_named_recipients() => replies
                .iter()
                .filter(|e| handed.contains(&e.id))
                .flat_map(everyone)
                .collect(),
            None => std::iter::once(&root)
                .chain(&replies)
                .filter(|e| e.payload.is_some())
                .flat_map(everyone)
                .collect(),
        };
        let people = people
            .into_iter()
            .filter(|t| self.members.is_member(t))
            .collect();
        Ok((root, people))
    }

    /// Replies to everyone in the conversation, under the thread's label.
    fn reply(
        &mut self,
        now: u64,
        incident: &str,
        payload: IncidentPayload,
    ) -> Result<Published, ApiError> {
        let root_id = self.resolve(incident, Among::Incidents)?;
        let (root, people) = self.participants(now, &root_id)?;
        if people.is_empty() {
            return Err(ApiError::Forbidden(format!(
                "incident {} is not readable by this team: only those it was addressed or handed to can reply",
                root_id.short()
            )));
        }
        let to: Vec<TeamId> = people.into_iter().filter(|t| *t != self.me).collect();
        let id = self.send_incident_step(now, Some(root_id), root.tlp, to, payload)?;
        Ok(published(id, Some(root_id)))
    }

    /// Who is responsible for an indicator, and why.
    fn route(
        &self,
        about: &str,
        country: Option<&str>,
    ) -> Result<(directory::Route, String), ApiError> {
        let indicator: directory::Indicator = about.parse().map_err(ApiError::BadRequest)?;
        let members: Vec<_> = self.members.members().collect();
        let route = directory::lookup(
            members.iter().copied(),
            self.charter.point_of_contact,
            &indicator,
            country,
        )
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no team covers {indicator}{}, and the charter names no point of contact",
                country
                    .map(|c| format!(" and no team is last resort for {c}"))
                    .unwrap_or_default()
            ))
        })?;
        Ok((route, indicator.to_string()))
    }

    /// Who a report about `about` would go to.
    pub fn lookup(&self, about: &str, country: Option<&str>) -> Result<RouteView, ApiError> {
        let (route, about) = self.route(about, country)?;
        Ok(views::route(&self.members, &route, about))
    }

    /// Opens a report, addressed to whoever the directory finds responsible.
    pub fn report(&mut self, now: u64, req: NewReport) -> Result<ReportPublished, ApiError> {
        let mut indicators: Vec<proto::Indicator> =
            req.indicators.into_iter().map(|i| i.0).collect();
        // Routed by `about`, or else by the first indicator with a network
        // part (a URL by its host, an e-mail address by its domain).
        let about = if req.about.trim().is_empty() {
            indicators
                .iter()
                .find_map(proto::Indicator::network)
                .map(|n| n.to_string())
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "a report needs --about, or an --indicator with a network part (an address, prefix, ASN, domain, URL or e-mail address) to be routed by"
                            .into(),
                    )
                })?
        } else {
            req.about
        };
        if let Ok(i) = about.parse::<proto::Indicator>() {
            indicators.insert(0, i);
        }
        let indicators = distinct(indicators)?;
        let (route, about) = self.route(&about, req.country.as_deref())?;
        let tlp = req.tlp.map_or(Tlp::Amber, |l| l.0);
        let title = nonempty(&req.title, "a report needs a --title")?;
        let to: Vec<TeamId> = route
            .teams
            .iter()
            .copied()
            .filter(|t| *t != self.me)
            .collect();
        if to.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "this team is itself responsible for {about} ({})",
                route.why
            )));
        }
        let view = views::route(&self.members, &route, about.clone());
        let payload = IncidentPayload::Report {
            title,
            description: req.description,
            about,
            routed: format!(
                "to {} because {}",
                view.teams
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                view.why
            ),
            indicators,
        };
        let recipients = if tlp.is_named_recipients() {
            to
        } else {
            vec![]
        };
        let id = self.send_incident_step(now, None, tlp, recipients, payload)?;
        Ok(ReportPublished {
            published: published(id, Some(id)),
            route: view,
        })
    }

    /// Acknowledge, accept, decline, or hand off an incident.
    pub fn step(
        &mut self,
        now: u64,
        incident: &str,
        step: IncidentStep,
    ) -> Result<Published, ApiError> {
        let root_id = self.resolve(incident, Among::Incidents)?;
        let inc = self.incident(now, &root_id)?;
        let (root, people) = self.participants(now, &root_id)?;
        if !people.contains(&self.me) {
            return Err(ApiError::Forbidden(format!(
                "incident {} was not addressed or handed to this team",
                root_id.short()
            )));
        }
        let payload = match step.action {
            StepAction::Ack => {
                if root.author == self.me {
                    return Err(ApiError::BadRequest(
                        "the reporter does not acknowledge its own report".into(),
                    ));
                }
                IncidentPayload::Ack
            }
            StepAction::Accept | StepAction::Decline => {
                if !inc.pending_handoff.contains(&self.me) {
                    return Err(ApiError::Conflict(format!(
                        "incident {} was not handed to this team (or it already answered)",
                        root_id.short()
                    )));
                }
                if step.action == StepAction::Accept {
                    IncidentPayload::Accept
                } else {
                    IncidentPayload::Decline { reason: step.note }
                }
            }
            StepAction::Handoff => {
                return self.hand_off(now, &root, &inc, &people, step);
            }
        };
        let to: Vec<TeamId> = people.into_iter().filter(|t| *t != self.me).collect();
        let id = self.send_incident_step(now, Some(root_id), root.tlp, to, payload)?;
        Ok(published(id, Some(root_id)))
    }

    /// Hands a report to the responsible teams; for AMBER+STRICT and RED a
    /// referral back to the reporter instead, never a forward.
    fn hand_off(
        &mut self,
        now: u64,
        root: &ThreadEntry,
        inc: &Incident,
        people: &[TeamId],
        step: IncidentStep,
    ) -> Result<Published, ApiError> {
        let to = self.resolve_recipients(&step.to)?;
        if to.is_empty() {
            return Err(ApiError::BadRequest(
                "hand it to whom? name the team with --to".into(),
            ));
        }
        if root.author == self.me {
            return Err(ApiError::BadRequest(
                "the reporter does not hand off its own report; address it anew".into(),
            ));
        }
        let (payload, recipients) = if inc.tlp >= Tlp::AmberStrict {
            // Never forwarded: the reporter is told whom to contact.
            let payload = IncidentPayload::Referral {
                responsible: to,
                note: step.note,
            };
            (payload, vec![root.author])
        } else {
            // Sealed to everyone in the conversation as well as the new
            // teams: every participant learns who joins, and the new teams
            // (which cannot read the root) learn who takes part.
            let mut recipients = to.clone();
            for t in people.iter().chain([&root.author]) {
                if *t != self.me && !recipients.contains(t) {
                    recipients.push(*t);
                }
            }
            // The reporter's signed text: the root as this node opened it,
            // or, where it was handed the report, the copy it was handed.
            let opened = self.store.get(&root.id)?.and_then(|s| s.opened);
            let original = opened.or_else(|| inc.original.clone()).ok_or_else(|| {
                ApiError::Conflict(format!(
                    "this node cannot read report {}, so it cannot hand it on",
                    root.id.short()
                ))
            })?;
            let payload = IncidentPayload::Handoff {
                to,
                original,
                note: step.note,
            };
            (payload, recipients)
        };
        let id = self.send_incident_step(now, Some(root.id), inc.tlp, recipients, payload)?;
        Ok(published(id, Some(root.id)))
    }

    pub(super) fn send_incident_step(
        &mut self,
        now: u64,
        thread: Option<EnvelopeId>,
        tlp: Tlp,
        to: Vec<TeamId>,
        payload: IncidentPayload,
    ) -> Result<EnvelopeId, ApiError> {
        let inner = InnerContent {
            author: self.me,
            mesh: self.mesh,
            tlp,
            recipients: to,
            payload: Payload::Incident(payload),
        };
        let body = self.seal_body(now, tlp, &inner)?;
        self.publish(now, Kind::Incident, tlp, thread, body)
    }

    /// Member teams by name or id (comma-separated lists allowed), without
    /// this team and without repeats.
    pub(super) fn resolve_recipients(&self, names: &[String]) -> Result<Vec<TeamId>, ApiError> {
        let mut out = Vec::new();
        for n in names
            .iter()
            .flat_map(|n| n.split(','))
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let p = self.members.find(n).map_err(|e| match e {
                mesh_core::membership::FindError::Unknown(_) => ApiError::NotFound(e.to_string()),
                _ => ApiError::BadRequest(e.to_string()),
            })?;
            if p.team != self.me && !out.contains(&p.team) {
                out.push(p.team);
            }
        }
        Ok(out)
    }

    /// The one id resolver: a full id, or a unique prefix of at least
    /// [`MIN_PREFIX`] hex digits among incident roots or all envelopes.
    pub(super) fn resolve(&self, q: &str, among: Among) -> Result<EnvelopeId, ApiError> {
        let q = q.trim().to_ascii_lowercase();
        let noun = among.noun();
        if let Ok(id) = q.parse::<EnvelopeId>() {
            return Ok(id);
        }
        if q.len() < MIN_PREFIX || !q.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ApiError::BadRequest(format!(
                "{q:?} is not an {noun} id (give at least {MIN_PREFIX} hex digits)"
            )));
        }
        let ids: Vec<EnvelopeId> = match among {
            Among::Envelopes => self.store.ids()?,
            Among::Incidents => self.store.incident_roots()?.iter().map(|s| s.id).collect(),
        };
        let matches: Vec<EnvelopeId> = ids
            .into_iter()
            .filter(|id| id.to_string().starts_with(&q))
            .collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(ApiError::NotFound(format!("no {noun} {q}"))),
            _ => Err(ApiError::BadRequest(format!(
                "{q} matches several {noun}s; give more digits"
            ))),
        }
    }

    pub(super) fn load_entry(
        &mut self,
        now: u64,
        id: &EnvelopeId,
    ) -> Result<Option<ThreadEntry>, ApiError> {
        match self.get_intact(now, id)? {
            Some(s) => Ok(Some(entry_of(&s)?)),
            None => Ok(None),
        }
    }

    /// An incident's state: its thread folded (damaged rows left out and
    /// quarantined).
    pub(super) fn incident(
        &mut self,
        now: u64,
        root_id: &EnvelopeId,
    ) -> Result<Incident, ApiError> {
        let root = self
            .load_entry(now, root_id)?
            .ok_or_else(|| ApiError::NotFound(format!("no incident {root_id}")))?;
        let thread = self.store.thread(root_id)?;
        let replies = self
            .keep_intact(now, thread)
            .iter()
            .map(entry_of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Incident::fold(&root, replies))
    }

    /// One incident with its thread, by id or unique prefix.
    pub fn incident_view(&mut self, now: u64, q: &str) -> Result<IncidentView, ApiError> {
        let id = self.resolve(q, Among::Incidents)?;
        let incident = self.incident(now, &id)?;
        Ok(views::incident(&self.members, &incident))
    }

    /// Every incident whose root is intact.
    pub fn incidents(&mut self, now: u64) -> Result<Vec<IncidentSummary>, ApiError> {
        let roots = self.store.incident_roots()?;
        let mut out = Vec::new();
        for s in self.keep_intact(now, roots) {
            let incident = self.incident(now, &s.id)?;
            out.push(views::summary(&self.members, &incident));
        }
        Ok(out)
    }

    /// How many incidents were handed to this team and wait for its accept
    /// or decline. Counted by folding every incident, again only after an
    /// envelope was accepted since the last count.
    pub fn pending_handoffs(&mut self, now: u64) -> Result<usize, ApiError> {
        if let Some(n) = self.pending_handoffs {
            return Ok(n);
        }
        let me = self.me.to_string();
        let n = self
            .incidents(now)?
            .iter()
            .filter(|i| i.pending_handoff.iter().any(|t| t.id == me))
            .count();
        self.pending_handoffs = Some(n);
        Ok(n)
    }

    /// Every intact stored envelope's public header.
    pub fn envelopes(&mut self, now: u64) -> Result<Vec<EnvelopeView>, ApiError> {
        let mut out = Vec::new();
        for id in self.store.ids()? {
            let Some(s) = self.get_intact(now, &id)? else {
                continue;
            };
            let env = Envelope::decode(&s.bytes)?;
            out.push(views::envelope(&self.members, &env, &s));
        }
        Ok(out)
    }

    /// Publishes a tombstone for one of this team's incident envelopes.
    pub fn retract(
        &mut self,
        now: u64,
        q: &str,
        req: NewRetraction,
    ) -> Result<Published, ApiError> {
        let target = self.resolve(q, Among::Envelopes)?;
        let stored = self
            .store
            .get(&target)?
            .ok_or_else(|| ApiError::NotFound(format!("no envelope {target}")))?;
        let env = Envelope::decode(&stored.bytes)?;
        // The same rule ingest applies to everyone's tombstones.
        if env.content.author != self.me {
            return Err(ApiError::Forbidden(format!(
                "only its author can retract an envelope; this one is by {}",
                views::team(&self.members, &env.content.author)
            )));
        }
        mesh_core::validate::check_retraction(
            &self.me,
            Some((env.content.author, env.content.kind)),
        )
        .map_err(|_| {
            ApiError::BadRequest(
                "only incident envelopes (reports, comments, status changes) can be retracted"
                    .into(),
            )
        })?;
        let body = proto::Retraction {
            target,
            reason: req.reason,
            target_seq: env.content.seq,
        }
        .to_bytes()?;
        let thread = env.content.thread.unwrap_or(target);
        let id = self.publish(
            now,
            Kind::Retraction,
            Tlp::Clear,
            Some(thread),
            Body::Clear(body),
        )?;
        Ok(published(id, Some(thread)))
    }
}

/// Indicators without repeats, in the order given, within the limit.
fn distinct(
    list: impl IntoIterator<Item = proto::Indicator>,
) -> Result<Vec<proto::Indicator>, ApiError> {
    let mut seen = BTreeSet::new();
    let out: Vec<proto::Indicator> = list
        .into_iter()
        .filter(|i| seen.insert(i.clone()))
        .collect();
    proto::indicator::check_all(&out).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(out)
}

/// A trimmed, non-empty text, or the given complaint.
fn nonempty(text: &str, complaint: &str) -> Result<String, ApiError> {
    let t = text.trim();
    if t.is_empty() {
        Err(ApiError::BadRequest(complaint.into()))
    } else {
        Ok(t.to_owned())
    }
}

/// A stored envelope as an entry of its thread.
fn entry_of(s: &Stored) -> Result<ThreadEntry, ApiError> {
    let env = Envelope::decode(&s.bytes)?;
    let inner = s.opened.as_deref().map(inner_of).transpose()?;
    let (payload, recipients) = match inner {
        Some(InnerContent {
            payload: Payload::Incident(p),
            recipients,
            ..
        }) => (Some(p), recipients),
        Some(_) => {
            return Err(ApiError::Other(anyhow::anyhow!(
                "stored envelope {} is in a thread but is not an incident envelope",
                env.id
            )));
        }
        None => (None, vec![]),
    };
    Ok(ThreadEntry {
        id: env.id,
        author: env.content.author,
        mesh: env.content.mesh,
        created_at: env.content.created_at,
        tlp: env.content.tlp,
        payload,
        recipients,
        waiting_for_key: s.waiting_for_key,
        retracts: match (&env.content.kind, &env.content.body) {
            (Kind::Retraction, Body::Clear(b)) => {
                proto::Retraction::from_bytes(b).ok().map(|r| r.target)
            }
            _ => None,
        },
    })
}
