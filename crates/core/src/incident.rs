//! An incident's state as a deterministic fold of its thread.
//!
//! The thread is the root envelope (an `Open`) and every envelope naming it
//! as `thread`. Entries are applied in `(created_at, id)` order, so the same
//! set of envelopes gives the same state on every node whatever order they
//! arrived in. An entry this team cannot read (not a recipient, or its GREEN
//! key has not arrived yet) still shows that it exists: author, time, label.
//!
//! A conversation under a named-recipient label (AMBER, AMBER+STRICT, RED)
//! has its participants fixed by its root: the root's author and
//! recipients, plus each team a hand-off named once it accepts. A reply by
//! anyone else is refused by the fold (shown, not applied), and replies are
//! sealed to the participants only (`Incident::participants`), so a member
//! that learns a thread's id cannot join the conversation by replying. Only
//! a team it was addressed to, the team handling it, or its reporter hands
//! it off, and never under AMBER+STRICT or RED.
//!
//! A hand-off carries the report as its reporter signed it: the fold checks
//! the signature against the root's author and the label against the
//! thread's, and where this team reads the root, that it is the root's
//! text. A team the report was handed to thus reads the reporter's words,
//! never the handing team's retelling.

use std::collections::BTreeSet;

use proto::{EnvelopeId, IncidentPayload, IncidentStatus, Indicator, MeshId, Payload, TeamId, Tlp};

/// What an incident's root says: its title, description, for a routed
/// report what it is about and why it went where it went, its indicators
/// and the object it was imported from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Opening {
    title: String,
    description: String,
    report: Option<(String, String)>,
    indicators: Vec<Indicator>,
    source: Option<[u8; 16]>,
}

impl Opening {
    /// The opening of an `Open` or a `Report`; `None` for any other step.
    /// A peer's indicators went through no parser: only those in the one
    /// form the parser gives are kept, each once, at most
    /// [`proto::indicator::MAX_INDICATORS`] (what is shown and exported is
    /// what a node would have accepted from its own operator).
    fn of(payload: IncidentPayload) -> Option<Opening> {
        let mut o = Opening::unchecked(payload)?;
        let mut seen = BTreeSet::new();
        o.indicators
            .retain(|i| i.check().is_ok() && seen.insert(i.clone()));
        o.indicators.truncate(proto::indicator::MAX_INDICATORS);
        Some(o)
    }

    fn unchecked(payload: IncidentPayload) -> Option<Opening> {
        match payload {
            IncidentPayload::Open {
                title,
                description,
                indicators,
                source,
            } => Some(Opening {
                title,
                description,
                report: None,
                indicators,
                source,
            }),
            IncidentPayload::Report {
                title,
                description,
                about,
                routed,
                indicators,
            } => Some(Opening {
                title,
                description,
                report: Some((about, routed)),
                indicators,
                source: None,
            }),
            _ => None,
        }
    }
}

/// One envelope of a thread, as the node knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadEntry {
    /// The envelope.
    pub id: EnvelopeId,
    /// Its author.
    pub author: TeamId,
    /// Its mesh.
    pub mesh: MeshId,
    /// Its HLC stamp.
    pub created_at: u64,
    /// Its label.
    pub tlp: Tlp,
    /// Its content, when this team could open it.
    pub payload: Option<IncidentPayload>,
    /// The teams the author addressed, when this team could open it.
    pub recipients: Vec<TeamId>,
    /// Whether it is sealed to a GREEN key this node does not hold yet.
    pub waiting_for_key: bool,
    /// For a tombstone: the envelope its author retracted.
    pub retracts: Option<EnvelopeId>,
}

/// Something that happened in an incident, in thread order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncidentEvent {
    /// A comment.
    Comment {
        /// The envelope.
        id: EnvelopeId,
        /// Who wrote it.
        author: TeamId,
        /// When.
        at: u64,
        /// What it says.
        text: String,
    },
    /// A status change.
    Status {
        /// The envelope.
        id: EnvelopeId,
        /// Who changed it.
        author: TeamId,
        /// When.
        at: u64,
        /// The new status.
        status: IncidentStatus,
    },
    /// A recipient acknowledged the report.
    Acknowledged {
        /// The envelope.
        id: EnvelopeId,
        /// Who.
        author: TeamId,
        /// When.
        at: u64,
    },
    /// The report was handed to other teams.
    HandedOff {
        /// The envelope.
        id: EnvelopeId,
        /// Who handed it.
        author: TeamId,
        /// When.
        at: u64,
        /// To whom.
        to: Vec<TeamId>,
        /// The handing team's note.
        note: String,
    },
    /// The reporter was referred to the responsible teams (STRICT/RED).
    Referred {
        /// The envelope.
        id: EnvelopeId,
        /// Who referred.
        author: TeamId,
        /// When.
        at: u64,
        /// The responsible teams.
        responsible: Vec<TeamId>,
        /// A note.
        note: String,
    },
    /// A team the report was handed to took it.
    Accepted {
        /// The envelope.
        id: EnvelopeId,
        /// Who.
        author: TeamId,
        /// When.
        at: u64,
    },
    /// A team the report was handed to declined it.
    Declined {
        /// The envelope.
        id: EnvelopeId,
        /// Who.
        author: TeamId,
        /// When.
        at: u64,
        /// Why.
        reason: String,
    },
    /// An entry this team cannot read.
    Sealed {
        /// The envelope.
        id: EnvelopeId,
        /// Who wrote it.
        author: TeamId,
        /// When.
        at: u64,
        /// Whether it waits for a GREEN key that has not arrived yet.
        waiting_for_key: bool,
    },
    /// The author retracted one of its entries (its content is gone).
    Retracted {
        /// The tombstone.
        id: EnvelopeId,
        /// Who retracted (the retracted entry's author).
        author: TeamId,
        /// When.
        at: u64,
        /// The retracted entry.
        target: EnvelopeId,
    },
    /// An entry that breaks the thread's rules and is not applied.
    Refused {
        /// The envelope.
        id: EnvelopeId,
        /// Who wrote it.
        author: TeamId,
        /// Why it is not applied.
        reason: String,
    },
}

/// The folded state of an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    /// The root envelope's id: the incident's id.
    pub id: EnvelopeId,
    /// Who opened it.
    pub author: TeamId,
    /// The mesh it was opened in.
    pub mesh: MeshId,
    /// When it was opened.
    pub opened_at: u64,
    /// The thread's label (the root's; replies may only narrow it).
    pub tlp: Tlp,
    /// Title, when readable.
    pub title: Option<String>,
    /// Description, when readable.
    pub description: Option<String>,
    /// Recipients the reporter named, when readable.
    pub recipients: Vec<TeamId>,
    /// Current status.
    pub status: IncidentStatus,
    /// Time of the latest applied entry.
    pub updated_at: u64,
    /// Whether the root waits for a GREEN key.
    pub waiting_for_key: bool,
    /// For a report: what it is about and why it went where it went.
    pub report: Option<(String, String)>,
    /// Its indicators, when readable.
    pub indicators: Vec<Indicator>,
    /// The UUID of the object it was imported from, if it was.
    pub source: Option<[u8; 16]>,
    /// Who handles it now: the recipients at first; after a hand-off, the
    /// teams it was handed to once they accept; the handing team again if
    /// they decline.
    pub handled_by: Vec<TeamId>,
    /// Teams a hand-off awaits an answer from.
    pub pending_handoff: Vec<TeamId>,
    /// The report as its reporter signed it (the root's plaintext), from
    /// the first hand-off whose copy checked, when this team cannot read
    /// the root: what it hands on in turn.
    pub original: Option<Vec<u8>>,
    /// Who is in the conversation, when this team reads the root of a
    /// named-recipient thread: the root's author and recipients, and teams
    /// that accepted a hand-off. `None` when the thread is not closed
    /// (CLEAR, GREEN) or this team cannot read its root.
    pub participants: Option<BTreeSet<TeamId>>,
    /// Replies in thread order.
    pub events: Vec<IncidentEvent>,
}

impl Incident {
    /// Folds a thread. `root` must be the thread's root entry; `replies` are
    /// every other entry naming it, in any order: they are applied in
    /// `(created_at, id)` order, so every node folds the same state.
    pub fn fold(root: &ThreadEntry, mut replies: Vec<ThreadEntry>) -> Incident {
        let mut incident = Incident::opened(root, replies.len());
        // Who handed the pending hand-off, to return it on a decline.
        let mut handed_by: Option<TeamId> = None;
        replies.sort_by_key(|a| (a.created_at, a.id));
        for e in replies {
            let event = incident.apply(e, &mut handed_by);
            incident.events.push(event);
        }
        incident
    }

    /// The incident as its root opens it, before any reply.
    fn opened(root: &ThreadEntry, replies: usize) -> Incident {
        let opening = root.payload.clone().and_then(Opening::of);
        let (title, description, report, indicators, source) = match opening {
            Some(o) => (
                Some(o.title),
                Some(o.description),
                o.report,
                o.indicators,
                o.source,
            ),
            None => (None, None, None, Vec::new(), None),
        };
        Incident {
            id: root.id,
            author: root.author,
            mesh: root.mesh,
            opened_at: root.created_at,
            tlp: root.tlp,
            title,
            description,
            recipients: root.recipients.clone(),
            status: IncidentStatus::New,
            updated_at: root.created_at,
            waiting_for_key: root.waiting_for_key,
            report,
            indicators,
            source,
            handled_by: root.recipients.clone(),
            pending_handoff: Vec::new(),
            original: None,
            participants: (root.payload.is_some() && root.tlp.is_named_recipients()).then(|| {
                std::iter::once(root.author)
                    .chain(root.recipients.iter().copied())
                    .collect()
            }),
            events: Vec::with_capacity(replies),
        }
    }

    /// The title, description and (for a report) what it is about and why
    /// it was routed, from a copy of the root carried by a hand-off: signed
    /// by the root's author, under the thread's label, an incident's opening.
    fn reporters_text(&self, original: &[u8]) -> Result<(Opening, Vec<TeamId>), String> {
        let inner = seal::verify_signed_inner(original, &self.author).map_err(|e| {
            format!("the hand-off's copy of the report is not its reporter's signed text: {e}")
        })?;
        if inner.tlp != self.tlp || inner.mesh != self.mesh {
            return Err(format!(
                "the hand-off's copy is labelled {} in mesh {}, the report {} in {}",
                inner.tlp,
                inner.mesh.short(),
                self.tlp,
                self.mesh.short()
            ));
        }
        let Payload::Incident(payload) = inner.payload else {
            return Err("the hand-off carries something other than a report".into());
        };
        payload
            .check_text()
            .map_err(|e| format!("the hand-off's copy is not a report a node would accept: {e}"))?;
        Opening::of(payload)
            .map(|o| (o, inner.recipients))
            .ok_or_else(|| "the hand-off carries something other than a report".into())
    }

    /// Applies one reply and returns what it was: a retraction, a refusal
    /// (a widened label, an incident inside a thread, a hand-off of a STRICT
    /// or RED report), or the step it takes.
    fn apply(&mut self, e: ThreadEntry, handed_by: &mut Option<TeamId>) -> IncidentEvent {
        let (id, author, at) = (e.id, e.author, e.created_at);
        let refused = |reason: String| IncidentEvent::Refused { id, author, reason };
        if let Some(target) = e.retracts {
            return IncidentEvent::Retracted {
                id,
                author,
                at,
                target,
            };
        }
        if !e.tlp.may_follow(self.tlp) {
            return refused(format!(
                "labelled {} in a {} thread: a reply may not widen the label",
                e.tlp, self.tlp
            ));
        }
        let Some(payload) = e.payload else {
            // (An outsider's entry does not move the incident forward.)
            if self
                .participants
                .as_ref()
                .is_none_or(|p| p.contains(&author))
            {
                self.updated_at = self.updated_at.max(at);
            }
            return IncidentEvent::Sealed {
                id,
                author,
                at,
                waiting_for_key: e.waiting_for_key,
            };
        };
        let answers_handoff = matches!(
            payload,
            IncidentPayload::Accept | IncidentPayload::Decline { .. }
        ) && self.pending_handoff.contains(&author);
        if let Some(people) = &self.participants
            && !people.contains(&author)
            && !answers_handoff
        {
            return refused(format!(
                "not in this {} conversation: only its reporter, its recipients and teams that accepted a hand-off take part",
                self.tlp
            ));
        }
        self.updated_at = self.updated_at.max(at);
        match payload {
            IncidentPayload::Comment { text } => IncidentEvent::Comment {
                id,
                author,
                at,
                text,
            },
            IncidentPayload::Status { status } => {
                self.status = status;
                IncidentEvent::Status {
                    id,
                    author,
                    at,
                    status,
                }
            }
            IncidentPayload::Open { .. } | IncidentPayload::Report { .. } => {
                refused("an incident opened inside an existing thread".into())
            }
            IncidentPayload::Ack => IncidentEvent::Acknowledged { id, author, at },
            IncidentPayload::Handoff { to, original, note } => {
                if self.tlp >= Tlp::AmberStrict {
                    return refused(format!(
                        "a {} report may not be handed on, only referred",
                        self.tlp
                    ));
                }
                if self.participants.is_some()
                    && author != self.author
                    && !self.handled_by.contains(&author)
                    && !self.recipients.contains(&author)
                {
                    return refused(
                        "only a team it was addressed to or handed to, or its reporter, hands it off"
                            .into(),
                    );
                }
                let (o, recipients) = match self.reporters_text(&original) {
                    Ok(text) => text,
                    Err(why) => return refused(why),
                };
                if self.title.is_some()
                    && (
                        self.title.as_ref(),
                        self.description.as_ref(),
                        &self.report,
                        &self.indicators,
                        &self.source,
                        &self.recipients,
                    ) != (
                        Some(&o.title),
                        Some(&o.description),
                        &o.report,
                        &o.indicators,
                        &o.source,
                        &recipients,
                    )
                {
                    return refused("the hand-off's copy is not this report's text".into());
                }
                // A team the report was handed to, which cannot read the
                // root, reads it from the hand-off: the reporter's words.
                if self.title.is_none() {
                    self.title = Some(o.title);
                    self.description = Some(o.description);
                    self.report = o.report;
                    self.indicators = o.indicators;
                    self.source = o.source;
                    self.original = Some(original);
                }
                *handed_by = Some(author);
                self.pending_handoff = to.clone();
                IncidentEvent::HandedOff {
                    id,
                    author,
                    at,
                    to,
                    note,
                }
            }
            IncidentPayload::Referral { responsible, note } => IncidentEvent::Referred {
                id,
                author,
                at,
                responsible,
                note,
            },
            IncidentPayload::Accept => {
                if self.pending_handoff.contains(&author) {
                    self.handled_by = vec![author];
                    self.pending_handoff.clear();
                    if let Some(people) = self.participants.as_mut() {
                        people.insert(author);
                    }
                }
                IncidentEvent::Accepted { id, author, at }
            }
            IncidentPayload::Decline { reason } => {
                if self.pending_handoff.contains(&author) {
                    self.pending_handoff.retain(|t| *t != author);
                    if self.pending_handoff.is_empty()
                        && let Some(by) = *handed_by
                    {
                        self.handled_by = vec![by];
                    }
                }
                IncidentEvent::Declined {
                    id,
                    author,
                    at,
                    reason,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
