//! Every JSON answer of the admin API, built from domain values (`core`'s
//! incident fold and membership, `store` rows, `net` status). Only this edge
//! turns domain values into the API's shapes: the node hands over what it
//! knows and never builds display strings; nothing here imports the node.

use mesh_core::{
    Incident, IncidentEvent, Membership,
    directory::Route,
    membership::{Applicant, Removal},
};
use proto::{Envelope, Profile, TeamId};
use store::Stored;

use super::types::*;

/// A team as people see it: its name when its profile is known.
pub fn team(members: &Membership, t: &TeamId) -> TeamRef {
    TeamRef {
        id: t.to_string(),
        name: members.profile(t).map(|p| p.name.clone()),
    }
}

fn teams(members: &Membership, ts: &[TeamId]) -> Vec<TeamRef> {
    ts.iter().map(|t| team(members, t)).collect()
}

fn names(members: &Membership, ts: &[TeamId]) -> String {
    ts.iter()
        .map(|t| team(members, t).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn with_note(who: String, note: &str) -> String {
    if note.is_empty() {
        who
    } else {
        format!("{who}: {note}")
    }
}

/// One line of the incident list.
pub fn summary(members: &Membership, inc: &Incident) -> IncidentSummary {
    IncidentSummary {
        id: inc.id.to_string(),
        title: inc.title.clone(),
        tlp: inc.tlp.into(),
        status: inc.status.into(),
        author: team(members, &inc.author),
        opened_at: inc.opened_at,
        updated_at: inc.updated_at,
        readable: inc.title.is_some(),
        waiting_for_key: inc.waiting_for_key,
        replies: inc.events.len(),
        about: inc.report.as_ref().map(|(a, _)| a.clone()),
        handled_by: teams(members, &inc.handled_by),
        pending_handoff: teams(members, &inc.pending_handoff),
    }
}

/// One entry of an incident's thread.
fn event(members: &Membership, e: &IncidentEvent) -> EventView {
    use IncidentEvent as E;
    let (id, author, at, kind, text, waiting_for_key) = match e {
        E::Comment {
            id,
            author,
            at,
            text,
        } => (
            id,
            author,
            Some(*at),
            EventKind::Comment,
            Some(text.clone()),
            false,
        ),
        E::Status {
            id,
            author,
            at,
            status,
        } => (
            id,
            author,
            Some(*at),
            EventKind::Status,
            Some(status.to_string()),
            false,
        ),
        E::Sealed {
            id,
            author,
            at,
            waiting_for_key,
        } => (
            id,
            author,
            Some(*at),
            EventKind::Sealed,
            None,
            *waiting_for_key,
        ),
        E::Retracted {
            id,
            author,
            at,
            target,
        } => (
            id,
            author,
            Some(*at),
            EventKind::Retracted,
            Some(target.to_string()),
            false,
        ),
        E::Acknowledged { id, author, at } => (id, author, Some(*at), EventKind::Ack, None, false),
        E::Accepted { id, author, at } => (id, author, Some(*at), EventKind::Accept, None, false),
        E::Declined {
            id,
            author,
            at,
            reason,
        } => (
            id,
            author,
            Some(*at),
            EventKind::Decline,
            Some(reason.clone()),
            false,
        ),
        E::HandedOff {
            id,
            author,
            at,
            to,
            note,
        } => (
            id,
            author,
            Some(*at),
            EventKind::Handoff,
            Some(with_note(names(members, to), note)),
            false,
        ),
        E::Referred {
            id,
            author,
            at,
            responsible,
            note,
        } => (
            id,
            author,
            Some(*at),
            EventKind::Referral,
            Some(with_note(names(members, responsible), note)),
            false,
        ),
        E::Refused { id, author, reason } => (
            id,
            author,
            None,
            EventKind::Refused,
            Some(reason.clone()),
            false,
        ),
    };
    EventView {
        id: id.to_string(),
        kind,
        author: team(members, author),
        at,
        text,
        waiting_for_key,
    }
}

/// An incident with its thread.
pub fn incident(members: &Membership, inc: &Incident) -> IncidentView {
    IncidentView {
        summary: summary(members, inc),
        description: inc.description.clone(),
        recipients: teams(members, &inc.recipients),
        routed: inc.report.as_ref().map(|(_, r)| r.clone()),
        indicators: inc
            .indicators
            .iter()
            .cloned()
            .map(proto::IndicatorText)
            .collect(),
        source: inc.source.map(|s| interop::ids::uuid_text(&s)),
        events: inc.events.iter().map(|e| event(members, e)).collect(),
    }
}

/// Who a report about `about` goes to, and why.
pub fn route(members: &Membership, route: &Route, about: String) -> RouteView {
    RouteView {
        about,
        teams: teams(members, &route.teams),
        why: route.why.to_string(),
        contested: route.contested.iter().map(|c| claim(members, c)).collect(),
        contacts: route
            .teams
            .iter()
            .filter_map(|t| members.profile(t))
            .map(|p| ContactCard {
                team: team(members, &p.team),
                contact: p.contact.clone(),
                details: p.details.clone(),
            })
            .collect(),
    }
}

fn claim(members: &Membership, c: &mesh_core::directory::Claim) -> ClaimView {
    ClaimView {
        team: team(members, &c.team),
        entry: c.entry.to_string(),
    }
}

/// Other members' entries overlapping `me`'s constituency.
pub fn overlaps(members: &Membership, me: &TeamId) -> Vec<OverlapView> {
    mesh_core::directory::overlaps(members.members(), me)
        .iter()
        .map(|o| OverlapView {
            ours: o.ours.to_string(),
            theirs: claim(members, &o.theirs),
        })
        .collect()
}

fn constituency(p: &Profile) -> Vec<String> {
    p.constituency.iter().map(|c| c.to_string()).collect()
}

fn member(m: &Membership, p: &Profile) -> MemberView {
    let admission = m.admission(&p.team);
    MemberView {
        team: team(m, &p.team),
        country: p.country.clone(),
        constituency: constituency(p),
        contact: p.contact.clone(),
        founder: m.is_founder(&p.team),
        peers: p
            .peers
            .iter()
            .filter_map(|b| net::peer_id_from_bytes(b))
            .map(|p| p.to_string())
            .collect(),
        sponsors: admission.map(|(s, _)| teams(m, s)).unwrap_or_default(),
        admitted_at: admission.map(|(_, at)| *at),
        details: p.details.clone(),
    }
}

fn applicant(m: &Membership, t: &TeamId, a: &Applicant) -> ApplicantView {
    let p = m.profile(t);
    ApplicantView {
        team: team(m, t),
        country: p.and_then(|p| p.country.clone()),
        constituency: p.map(constituency).unwrap_or_default(),
        contact: p.and_then(|p| p.contact.clone()),
        sponsors: teams(m, &a.sponsors),
        needed: m.threshold().saturating_sub(a.sponsors.len()),
        objections: a
            .objections
            .iter()
            .map(|(by, reason, at)| ObjectionView {
                by: team(m, by),
                reason: reason.clone(),
                at: *at,
            })
            .collect(),
        threshold_reached_at: a.threshold_reached_at,
        invited_by: teams(m, &a.invited_by),
        expires_at: a.expires_at,
        join_request: p.is_some(),
    }
}

/// Members, applicants and removed teams.
pub fn members(m: &Membership, objection_window_ms: Option<u64>) -> MembersView {
    MembersView {
        threshold: m.threshold(),
        objection_window_ms,
        members: m.members().map(|p| member(m, p)).collect(),
        applicants: m
            .applicants()
            .iter()
            .map(|(t, a)| applicant(m, t, a))
            .collect(),
        removed: m
            .removed()
            .iter()
            .map(|(t, r)| RemovedView {
                team: team(m, t),
                how: match &r.removal {
                    Removal::Revoked { reason } => format!("revoked its own key: {reason}"),
                    Removal::Suspended { by } => format!("suspended by {}", names(m, by)),
                    Removal::Forked => {
                        "its key signed two different histories (a fork: evidence of a stolen key)"
                            .into()
                    }
                },
                at: r.at,
                last_seq: r.last_seq,
            })
            .collect(),
    }
}

/// One stored envelope's public header.
pub fn envelope(members: &Membership, env: &Envelope, s: &Stored) -> EnvelopeView {
    let c = &env.content;
    EnvelopeView {
        seq: c.seq,
        id: env.id.to_string(),
        author: team(members, &c.author),
        kind: c.kind.into(),
        tlp: c.tlp.into(),
        created_at: c.created_at,
        size: env.size(),
        thread: c.thread.map(|t| t.to_string()),
        readable: s.opened.is_some(),
        waiting_for_key: s.waiting_for_key,
        received_at: s.received_at,
    }
}

/// What one peer's anti-entropy did last, for the status view.
#[derive(Clone, Debug, Default)]
pub struct PeerSync {
    /// When the last conversation with it ended well (ms).
    pub last_ok: Option<u64>,
    /// Envelopes the last conversation fetched.
    pub fetched: u64,
    /// Its round trips.
    pub rounds: u64,
    /// Its reconciliation bytes.
    pub bytes: u64,
    /// Why the last conversation failed, if it did.
    pub last_error: Option<String>,
}

/// What the node counts, for the status view.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    /// Envelopes accepted (stored).
    pub accepted: u64,
    /// Envelopes refused as invalid.
    pub rejected: u64,
    /// Envelopes dropped without blame (duplicates, early, rate limited).
    pub ignored: u64,
    /// Envelopes this team published.
    pub published: u64,
    /// Envelopes that came in through anti-entropy.
    pub synced_in: u64,
}

/// Everything the status view is made of.
pub struct StatusParts<'a> {
    /// The member set (for names).
    pub members: &'a Membership,
    /// This team.
    pub me: TeamId,
    /// The mesh's name.
    pub mesh_name: String,
    /// The mesh's id.
    pub mesh_id: String,
    /// The network's own status.
    pub net: &'a net::Status,
    /// Each connected peer's last anti-entropy.
    pub sync: &'a dyn Fn(&net::PeerId) -> PeerSync,
    /// Envelopes stored.
    pub envelopes: u64,
    /// Envelopes waiting for a GREEN key.
    pub waiting_for_key: u64,
    /// Damaged rows in quarantine.
    pub quarantined: u64,
    /// The node's counters.
    pub counters: Counters,
    /// The store's size on disk, bytes.
    pub store_bytes: u64,
    /// Restored and not yet caught up.
    pub catching_up: bool,
    /// Incidents handed to this team, waiting for its answer.
    pub pending_handoffs: usize,
    /// The clock estimate.
    pub clock: Option<crate::node::clock::ClockOffset>,
}

/// The node's status.
pub fn status(s: StatusParts<'_>) -> StatusView {
    let m = s.members;
    let mut peers: Vec<PeerView> = s
        .net
        .connected
        .iter()
        .map(|peer| {
            let sync = (s.sync)(peer);
            PeerView {
                peer_id: peer.to_string(),
                team: m
                    .members()
                    .find(|p| p.peers.iter().any(|b| *b == peer.to_bytes()))
                    .map(|p| team(m, &p.team)),
                last_sync_ok: sync.last_ok,
                last_sync_fetched: sync.fetched,
                last_sync_rounds: sync.rounds,
                last_sync_bytes: sync.bytes,
                last_sync_error: sync.last_error,
                via_relay: s.net.relayed.contains(peer),
            }
        })
        .collect();
    peers.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
    // Relayed addresses already end with our peer id.
    let me = format!("/p2p/{}", s.net.peer_id);
    let listen_addrs = s
        .net
        .listen_addrs
        .iter()
        .map(|a| {
            let a = a.to_string();
            if a.ends_with(&me) {
                a
            } else {
                format!("{a}{me}")
            }
        })
        .collect();
    StatusView {
        team: team(m, &s.me),
        mesh_name: s.mesh_name,
        mesh_id: s.mesh_id,
        peer_id: s.net.peer_id.to_string(),
        listen_addrs,
        peers,
        members: m.len(),
        envelopes: s.envelopes,
        waiting_for_key: s.waiting_for_key,
        quarantined: s.quarantined,
        accepted: s.counters.accepted,
        rejected: s.counters.rejected,
        ignored: s.counters.ignored,
        published: s.counters.published,
        synced_in: s.counters.synced_in,
        bytes_in: s.net.traffic.bytes_in,
        bytes_out: s.net.traffic.bytes_out,
        gossip_received: s.net.traffic.gossip_received,
        gossip_duplicates: s.net.traffic.gossip_duplicates,
        blocked: s
            .net
            .blocked
            .iter()
            .map(|b| BlockedView {
                peer_id: b.peer.to_string(),
                reason: b.reason.clone(),
                remaining_secs: b.remaining_secs,
            })
            .collect(),
        strangers_closed: s.net.strangers_closed,
        forks: m
            .forks()
            .iter()
            .map(|(key, at)| ForkView {
                key: key.to_string(),
                team: team(m, key),
                seq: *at,
            })
            .collect(),
        overlaps: overlaps(m, &s.me),
        applicants: m.applicants().len(),
        store_bytes: s.store_bytes,
        catching_up: s.catching_up,
        pending_handoffs: s.pending_handoffs,
        reachability: s.net.reachability.as_str().into(),
        hole_punches: s.net.hole_punches,
        clock_offset_ms: s.clock.map(|c| c.ms),
        clock_offset_teams: s.clock.map(|c| c.teams).unwrap_or(0),
    }
}
