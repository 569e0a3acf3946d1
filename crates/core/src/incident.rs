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

use proto::{EnvelopeId, IncidentPayload, IncidentStatus, MeshId, Payload, TeamId, Tlp};

/// A report's title, description, for a routed report what it is about
/// and why it went where it went, and the teams it was addressed to.
type ReportersText = (String, String, Option<(String, String)>, Vec<TeamId>);

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
        let (title, description, report) = match &root.payload {
            Some(IncidentPayload::Open { title, description }) => {
                (Some(title.clone()), Some(description.clone()), None)
            }
            Some(IncidentPayload::Report {
                title,
                description,
                about,
                routed,
            }) => (
                Some(title.clone()),
                Some(description.clone()),
                Some((about.clone(), routed.clone())),
            ),
            _ => (None, None, None),
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
    fn reporters_text(&self, original: &[u8]) -> Result<ReportersText, String> {
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
        match payload {
            IncidentPayload::Open { title, description } => {
                Ok((title, description, None, inner.recipients))
            }
            IncidentPayload::Report {
                title,
                description,
                about,
                routed,
            } => Ok((title, description, Some((about, routed)), inner.recipients)),
            _ => Err("the hand-off carries something other than a report".into()),
        }
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
                let (title, description, report, recipients) = match self.reporters_text(&original)
                {
                    Ok(text) => text,
                    Err(why) => return refused(why),
                };
                if self.title.is_some()
                    && (
                        self.title.as_ref(),
                        self.description.as_ref(),
                        &self.report,
                        &self.recipients,
                    ) != (Some(&title), Some(&description), &report, &recipients)
                {
                    return refused("the hand-off's copy is not this report's text".into());
                }
                // A team the report was handed to, which cannot read the
                // root, reads it from the hand-off: the reporter's words.
                if self.title.is_none() {
                    self.title = Some(title);
                    self.description = Some(description);
                    self.report = report;
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
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The reporter: team 0, with a real key, since a hand-off carries its
    /// signed text.
    fn reporter() -> &'static seal::TeamKeys {
        static KEYS: std::sync::OnceLock<seal::TeamKeys> = std::sync::OnceLock::new();
        KEYS.get_or_init(seal::TeamKeys::generate)
    }

    fn team(n: u8) -> TeamId {
        if n == 0 {
            reporter().team_id()
        } else {
            TeamId([n; 32])
        }
    }

    /// The root's text as the reporter signed it, under `tlp`, addressed
    /// to team 7 (the team of last resort in the hand-off tests).
    fn signed_by(keys: &seal::TeamKeys, tlp: Tlp, title: &str) -> Vec<u8> {
        signed_to(keys, tlp, title, vec![TeamId([7; 32])])
    }

    fn signed_to(keys: &seal::TeamKeys, tlp: Tlp, title: &str, to: Vec<TeamId>) -> Vec<u8> {
        let inner = proto::InnerContent {
            author: keys.team_id(),
            mesh: proto::MeshId([0; 32]),
            tlp,
            recipients: to,
            payload: Payload::Incident(IncidentPayload::Open {
                title: title.into(),
                description: "d".into(),
            }),
        };
        seal::sign_inner(keys, &inner).unwrap()
    }

    fn original(tlp: Tlp) -> Vec<u8> {
        signed_by(reporter(), tlp, "t")
    }

    fn entry(n: u8, at: u64, tlp: Tlp, payload: Option<IncidentPayload>) -> ThreadEntry {
        ThreadEntry {
            id: EnvelopeId([n; 32]),
            author: team(n % 3),
            mesh: MeshId([0; 32]),
            created_at: at,
            tlp,
            payload,
            recipients: vec![],
            waiting_for_key: false,
            retracts: None,
        }
    }

    /// An AMBER incident by team 0 to teams 1 and 2 (the authors of the
    /// `entry` helper's replies).
    fn root() -> ThreadEntry {
        ThreadEntry {
            recipients: vec![TeamId([1; 32]), TeamId([2; 32])],
            ..entry(
                0,
                10,
                Tlp::Amber,
                Some(IncidentPayload::Open {
                    title: "t".into(),
                    description: "d".into(),
                }),
            )
        }
    }

    fn status(n: u8, at: u64, s: IncidentStatus) -> ThreadEntry {
        entry(
            n,
            at,
            Tlp::Amber,
            Some(IncidentPayload::Status { status: s }),
        )
    }

    #[test]
    fn latest_status_wins_and_ties_break_by_id() {
        let replies = vec![
            status(1, 20, IncidentStatus::InProgress),
            status(3, 30, IncidentStatus::Closed),
            status(2, 30, IncidentStatus::Resolved),
        ];
        let inc = Incident::fold(&root(), replies);
        // (30, id 3) sorts after (30, id 2).
        assert_eq!(inc.status, IncidentStatus::Closed);
        assert_eq!(inc.updated_at, 30);
    }

    #[test]
    fn a_reply_that_widens_the_label_is_refused() {
        let wider = entry(
            1,
            20,
            Tlp::Green,
            Some(IncidentPayload::Status {
                status: IncidentStatus::Closed,
            }),
        );
        let inc = Incident::fold(&root(), vec![wider]);
        assert_eq!(inc.status, IncidentStatus::New);
        assert!(matches!(inc.events[0], IncidentEvent::Refused { .. }));
    }

    fn step(n: u8, at: u64, author: u8, tlp: Tlp, p: IncidentPayload) -> ThreadEntry {
        ThreadEntry {
            author: TeamId([author; 32]),
            ..entry(n, at, tlp, Some(p))
        }
    }

    fn handoff(n: u8, at: u64, tlp: Tlp) -> ThreadEntry {
        step(
            n,
            at,
            7,
            tlp,
            IncidentPayload::Handoff {
                to: vec![TeamId([8; 32])],
                original: original(Tlp::Amber),
                note: "yours".into(),
            },
        )
    }

    #[test]
    fn hand_off_accept_and_decline_move_the_report() {
        let mut report = root();
        report.recipients = vec![TeamId([7; 32])]; // the team of last resort
        let inc = Incident::fold(&report, vec![handoff(1, 20, Tlp::Amber)]);
        assert_eq!(inc.pending_handoff, vec![TeamId([8; 32])]);
        assert_eq!(inc.handled_by, vec![TeamId([7; 32])]);
        let accept = step(2, 30, 8, Tlp::Amber, IncidentPayload::Accept);
        let accepted = Incident::fold(&report, vec![handoff(1, 20, Tlp::Amber), accept]);
        assert_eq!(accepted.handled_by, vec![TeamId([8; 32])]);
        assert!(accepted.pending_handoff.is_empty());
        let decline = step(
            2,
            30,
            8,
            Tlp::Amber,
            IncidentPayload::Decline {
                reason: "not ours".into(),
            },
        );
        let declined = Incident::fold(&report, vec![handoff(1, 20, Tlp::Amber), decline]);
        assert_eq!(
            declined.handled_by,
            vec![TeamId([7; 32])],
            "a declined hand-off returns to the last-resort team"
        );
        // An outsider's accept changes nothing.
        let stray = step(2, 30, 9, Tlp::Amber, IncidentPayload::Accept);
        let stray = Incident::fold(&report, vec![handoff(1, 20, Tlp::Amber), stray]);
        assert_eq!(stray.pending_handoff, vec![TeamId([8; 32])]);
    }

    #[test]
    fn a_hand_off_shows_the_reporters_signed_text_or_is_refused() {
        let mut report = root();
        report.recipients = vec![TeamId([7; 32])];
        let hand = |original: Vec<u8>| {
            step(
                1,
                20,
                7,
                Tlp::Amber,
                IncidentPayload::Handoff {
                    to: vec![TeamId([8; 32])],
                    original,
                    note: "yours".into(),
                },
            )
        };
        // The team it was handed to cannot read the root: it reads the
        // reporter's own text from the hand-off, and keeps it to hand on.
        let mut unread = report.clone();
        unread.payload = None;
        let inc = Incident::fold(&unread, vec![hand(original(Tlp::Amber))]);
        assert_eq!(inc.title.as_deref(), Some("t"));
        assert_eq!(inc.pending_handoff, vec![TeamId([8; 32])]);
        assert_eq!(inc.original, Some(original(Tlp::Amber)));
        // What the handing team wrote itself, signed by another key, a
        // copy under another label, or a copy that is not this report's
        // text: refused, and nothing is handed.
        let forged = signed_by(&seal::TeamKeys::generate(), Tlp::Amber, "t");
        let mut tampered = original(Tlp::Amber);
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        let mut elsewhere = proto::SignedInner::from_bytes(&original(Tlp::Amber)).unwrap();
        let mut inner = proto::InnerContent::from_bytes(&elsewhere.content).unwrap();
        inner.mesh = proto::MeshId([9; 32]);
        elsewhere.content = inner.to_bytes().unwrap();
        elsewhere.signature = reporter().sign(proto::context::INNER, &elsewhere.content);
        for (copy, reader) in [
            (forged, &unread),
            (tampered, &unread),
            (original(Tlp::Green), &unread),
            (elsewhere.to_bytes().unwrap(), &unread),
            (signed_by(reporter(), Tlp::Amber, "another report"), &report),
            (
                signed_to(reporter(), Tlp::Amber, "t", vec![TeamId([6; 32])]),
                &report,
            ),
        ] {
            let inc = Incident::fold(reader, vec![hand(copy)]);
            assert!(
                matches!(inc.events[0], IncidentEvent::Refused { .. }),
                "{:?}",
                inc.events[0]
            );
            assert!(inc.pending_handoff.is_empty());
            assert!(inc.original.is_none());
        }
        // Where the root is readable, the same text is accepted.
        let inc = Incident::fold(&report, vec![hand(original(Tlp::Amber))]);
        assert_eq!(inc.pending_handoff, vec![TeamId([8; 32])]);
    }

    #[test]
    fn strict_and_red_reports_are_never_handed_on() {
        for tlp in [Tlp::AmberStrict, Tlp::Red] {
            let mut report = root();
            report.tlp = tlp;
            let inc = Incident::fold(&report, vec![handoff(1, 20, tlp)]);
            assert!(
                matches!(inc.events[0], IncidentEvent::Refused { .. }),
                "{tlp}"
            );
            assert!(inc.pending_handoff.is_empty());
        }
    }

    /// A cheap deterministic shuffle driven by the seed.
    fn shuffle(entries: &[ThreadEntry], seed: u64) -> Vec<ThreadEntry> {
        let mut out = entries.to_vec();
        let len = out.len();
        for i in 0..len {
            let j = (seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(i as u64)
                % len as u64) as usize;
            out.swap(i, j);
        }
        out
    }

    #[test]
    fn unreadable_entries_still_show() {
        let inc = Incident::fold(&root(), vec![entry(4, 20, Tlp::Red, None)]);
        assert!(matches!(inc.events[0], IncidentEvent::Sealed { .. }));
    }

    proptest! {
        #[test]
        fn fold_is_independent_of_arrival_order(
            steps in proptest::collection::vec((1u8..200, 11u64..100, 0usize..4), 0..30),
            seed in any::<u64>(),
        ) {
            let statuses = [IncidentStatus::New, IncidentStatus::InProgress, IncidentStatus::Resolved, IncidentStatus::Closed];
            let mut seen = std::collections::HashSet::new();
            let replies: Vec<_> = steps
                .into_iter()
                .filter(|(n, _, _)| seen.insert(*n))
                .map(|(n, at, s)| status(n, at, statuses[s]))
                .collect();
            let shuffled = shuffle(&replies, seed);
            prop_assert_eq!(Incident::fold(&root(), replies), Incident::fold(&root(), shuffled));
        }
    }

    /// Issue 11, finding 1: a member that learns a thread's id cannot join
    /// the conversation by replying; a hand-off adds its target only once it
    /// accepts, and only the handling team or the reporter hands off.
    #[test]
    fn only_participants_take_part_in_a_named_recipient_thread() {
        let outsider = TeamId([9; 32]);
        let intrusion = step(
            1,
            20,
            9,
            Tlp::Amber,
            IncidentPayload::Status {
                status: IncidentStatus::Closed,
            },
        );
        let inc = Incident::fold(&root(), vec![intrusion]);
        assert!(matches!(inc.events[0], IncidentEvent::Refused { .. }));
        assert_eq!(inc.status, IncidentStatus::New);
        assert!(!inc.participants.as_ref().unwrap().contains(&outsider));
        // Nor can it hand the incident to itself or anyone.
        let mut report = root();
        report.recipients = vec![TeamId([7; 32])];
        let by_outsider = step(
            1,
            20,
            9,
            Tlp::Amber,
            IncidentPayload::Handoff {
                to: vec![outsider],
                original: original(Tlp::Amber),
                note: "mine".into(),
            },
        );
        let inc = Incident::fold(&report, vec![by_outsider]);
        assert!(inc.pending_handoff.is_empty());
        // A participant that neither handles it nor was addressed cannot
        // either: 7 handed it to 8, 8 accepted and handed it to 6, 6
        // accepted; then 8 tries to hand it to the outsider. (7, addressed
        // by the reporter, still may: a report whose handler left the mesh
        // must not be stuck.)
        let mut report = root();
        report.recipients = vec![TeamId([7; 32])];
        let hand = |n: u8, at: u64, by: u8, to: TeamId| {
            step(
                n,
                at,
                by,
                Tlp::Amber,
                IncidentPayload::Handoff {
                    to: vec![to],
                    original: original(Tlp::Amber),
                    note: "yours".into(),
                },
            )
        };
        let chain = vec![
            hand(1, 20, 7, TeamId([8; 32])),
            step(2, 30, 8, Tlp::Amber, IncidentPayload::Accept),
            hand(3, 40, 8, TeamId([6; 32])),
            step(4, 50, 6, Tlp::Amber, IncidentPayload::Accept),
            hand(5, 60, 8, outsider),
        ];
        let inc = Incident::fold(&report, chain.clone());
        assert_eq!(inc.handled_by, vec![TeamId([6; 32])]);
        assert!(matches!(inc.events[4], IncidentEvent::Refused { .. }));
        assert!(inc.pending_handoff.is_empty());
        let mut by_recipient = chain;
        by_recipient[4] = hand(5, 60, 7, outsider);
        let inc = Incident::fold(&report, by_recipient);
        assert_eq!(inc.pending_handoff, vec![outsider]);
        // The handling team hands off; the target is in once it accepts.
        let mut report = root();
        report.recipients = vec![TeamId([7; 32])];
        let target = TeamId([8; 32]);
        let inc = Incident::fold(&report, vec![handoff(1, 20, Tlp::Amber)]);
        assert!(!inc.participants.as_ref().unwrap().contains(&target));
        let accept = step(2, 30, 8, Tlp::Amber, IncidentPayload::Accept);
        let comment = step(
            3,
            40,
            8,
            Tlp::Amber,
            IncidentPayload::Comment {
                text: "on it".into(),
            },
        );
        let inc = Incident::fold(&report, vec![handoff(1, 20, Tlp::Amber), accept, comment]);
        assert!(inc.participants.as_ref().unwrap().contains(&target));
        assert!(matches!(inc.events[2], IncidentEvent::Comment { .. }));
        // GREEN and CLEAR threads are open to every member.
        let mut green = root();
        green.tlp = Tlp::Green;
        assert!(Incident::fold(&green, vec![]).participants.is_none());
    }

    proptest! {
        /// With outsiders, hand-offs and accepts mixed in, the fold (and its
        /// participants) is still the same in any arrival order.
        #[test]
        fn participants_are_independent_of_arrival_order(
            steps in proptest::collection::vec((1u8..200, 11u64..60, 0u8..8), 0..30),
            seed in any::<u64>(),
        ) {
            let mut seen = std::collections::HashSet::new();
            let replies: Vec<_> = steps
                .into_iter()
                .filter(|(n, _, _)| seen.insert(*n))
                .map(|(n, at, kind)| match kind {
                    0 => status(n, at, IncidentStatus::InProgress),
                    1 => step(n, at, 9, Tlp::Amber, IncidentPayload::Comment { text: "x".into() }),
                    2 => step(n, at, 1, Tlp::Amber, IncidentPayload::Handoff {
                        to: vec![TeamId([8; 32])],
                        original: signed_to(reporter(), Tlp::Amber, "t", root().recipients),
                        note: "n".into(),
                    }),
                    3 => step(n, at, 8, Tlp::Amber, IncidentPayload::Accept),
                    // The outsider hands the report to itself (with the
                    // reporter's own copy) and accepts; a participant that
                    // was handed nothing accepts.
                    5 => step(n, at, 9, Tlp::Amber, IncidentPayload::Handoff {
                        to: vec![TeamId([9; 32])],
                        original: signed_to(reporter(), Tlp::Amber, "t", root().recipients),
                        note: "mine".into(),
                    }),
                    6 => step(n, at, 9, Tlp::Amber, IncidentPayload::Accept),
                    7 => step(n, at, 2, Tlp::Amber, IncidentPayload::Accept),
                    _ => step(n, at, 8, Tlp::Amber, IncidentPayload::Comment { text: "y".into() }),
                })
                .collect();
            let shuffled = shuffle(&replies, seed);
            let a = Incident::fold(&root(), replies);
            let b = Incident::fold(&root(), shuffled);
            // Whatever the order: the outsider never joins, is never handed
            // the report, and only the team it was handed to takes it over.
            let outsider = TeamId([9; 32]);
            prop_assert!(!a.participants.as_ref().unwrap().contains(&outsider));
            prop_assert!(!a.pending_handoff.contains(&outsider) && !a.handled_by.contains(&outsider));
            prop_assert!(a.handled_by == root().recipients || a.handled_by == vec![TeamId([8; 32])], "{:?}", a.handled_by);
            prop_assert_eq!(a, b);
        }
    }
}
