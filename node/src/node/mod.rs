//! The node's state and what it does with it: no network, no clock.
//!
//! Who owns what:
//! - [`Node`] owns the [`Store`], the team's keys, the member set, the
//!   reconciliation sets (everything; what applicants may see) and the
//!   logical clock. It is driven by one loop
//!   ([`crate::event_loop`]) and by tests; nothing else touches it, so there
//!   are no locks.
//! - Every method takes `now` (ms since the epoch) from its caller; the node
//!   reads no clock, so tests step time themselves.
//! - What must reach the network is not done here but queued as an
//!   [`Effect`] for the loop to carry out ([`Node::take_effects`]): gossip our
//!   new envelopes (key shares included), tell the relay which nodes it
//!   serves. Verdicts on gossip and penalties are the loop's, from the
//!   `Verdict` [`Node::ingest`] returns.
//!
//! One job per file:
//! - `ingest`: the one validation path every envelope goes through, from
//!   bytes to a verdict and a durable row;
//! - `publish`: signing and storing this team's envelopes, GREEN sender keys;
//! - `incidents`: open, reply, report, steps, retract, and the one id resolver;
//! - `membership`: the member view, join, vouch/object/suspend/revoke, key
//!   rotation;
//! - `chains`: each author's chain checked at ingest (forks), and what lies
//!   beyond a chain's cut deleted;
//! - `integrity`: every stored row is checked against its id before use;
//!   damaged ones are quarantined and fetched again;
//! - [`sync_set`](Node::sync_set) and [`answer_sync`](Node::answer_sync)
//!   (`anti_entropy`): what a peer's reconciliation sees.

mod anti_entropy;
#[cfg(test)]
mod chain_tests;
mod chains;
pub mod clock;
mod incidents;
mod ingest;
mod integrity;
mod interop;
#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod key_tests;
mod keys;
mod membership;
mod publish;
#[cfg(test)]
mod recipient_tests;
mod restore;
#[cfg(test)]
mod restore_tests;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use mesh_core::{
    Membership,
    admission::JoinLimiter,
    clock::Hlc,
    membership::{Forks, Record, Rules},
};
use net::PeerId;
use proto::{Charter, KeyId, MeshId, Profile, TeamId};
use seal::{SenderKey, TeamKeys};
use store::Store;

pub use crate::api::views::Counters;
pub use anti_entropy::{Fetched, SyncAccess};
pub use ingest::Origin;

/// What the node asks its loop to do on the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Gossip an envelope this team authored (already durable): an
    /// incident, a reply, a membership act, a key share.
    Gossip(Vec<u8>),
    /// Who is admitted: members' nodes (they may also use this node's
    /// relay) and applicants' nodes. Any other peer is a stranger, closed
    /// after a short window.
    Admitted {
        /// Members' nodes.
        members: Vec<PeerId>,
        /// Applicants' nodes (invited teams whose join request arrived).
        applicants: Vec<PeerId>,
    },
}

/// The node's state. See the module's map of who owns what.
pub struct Node {
    /// The envelope log and derived views: the source of truth.
    store: Store,
    /// This team's signing and age keys.
    keys: TeamKeys,
    /// This team's id (the current signing key).
    me: TeamId,
    /// The one mesh this node serves.
    mesh: MeshId,
    /// The mesh's charter: name, founders, threshold, point of contact.
    charter: Charter,
    /// The charter's membership rules (founders, k, objection window).
    rules: Rules,
    /// This team's signed profile: its join request.
    own_profile: proto::SignedProfile,
    /// The data directory, to persist a rotated key (none in unit tests).
    dir: Option<crate::datadir::DataDir>,
    /// Every verified profile held (join requests and updates).
    profiles: Vec<Profile>,
    /// Every membership act held.
    records: Vec<Record>,
    /// Where authors' chains forked, as found in what the store holds.
    forks: Forks,
    /// Who is a member now: a pure function of rules, profiles and records.
    members: Membership,
    /// The `now` `members` was computed for.
    membership_at: u64,
    /// Stamps this team's envelopes; observes every accepted one.
    hlc: Hlc,
    /// This team's last sequence number.
    seq: u64,
    /// Restored from a backup and not yet caught up: writes nothing (see
    /// [`crate::backup`] and `restore.rs`).
    restoring: Option<restore::Restoring>,
    /// Incidents handed to this team and not yet answered, as last counted
    /// (`None`: something arrived since; counted again when asked).
    pending_handoffs: Option<usize>,
    /// How far this node's clock is from the stamps of gossip arrivals.
    clock: clock::ClockSamples,
    /// What the node has accepted, refused and published.
    counters: Counters,
    /// The `(created_at, id)` keys of every stored envelope, for
    /// reconciliation and for dropping duplicates before any signature check.
    sync_set: sync::Set,
    /// The keys of what an applicant may see to learn of its own admission:
    /// profiles and membership acts (the reconciliation set applicants'
    /// nodes get instead of the whole log).
    joining_set: sync::Set,
    /// Join requests per forwarding peer and minute.
    join_limiter: JoinLimiter<PeerId>,
    /// The minute a dropped join request was last logged (once a minute).
    join_refusal_logged: Option<u64>,
    /// GREEN sender keys already read from the store and parsed (a key never
    /// changes under its id), so each GREEN envelope does not pay a look-up
    /// and an X25519 base-point multiplication.
    sender_keys: HashMap<KeyId, SenderKey>,
    /// The age recipients each team's newest profiles named, with their
    /// dates, newest first: an envelope sealed before a team replaced its
    /// age key carries hints made with the old one.
    recipients: HashMap<TeamId, Vec<(u64, String)>>,
    /// When the earliest retired age identity is due for deletion (`None`:
    /// to be read from the data directory).
    retired_due: Option<u64>,
    /// (peer, reason) pairs already logged, so a noisy peer is logged once.
    logged: HashSet<(Option<PeerId>, &'static str)>,
    /// What the loop is to do on the network, in order.
    effects: Vec<Effect>,
}

/// At most this many parsed sender keys are kept; past it the cache starts over.
const MAX_CACHED_SENDER_KEYS: usize = 4_096;

/// At most this many (peer, reason) pairs are remembered as logged.
const MAX_LOGGED: usize = 10_000;

impl Node {
    /// Builds the node state from an open store and a verified charter.
    pub fn new(
        store: Store,
        keys: TeamKeys,
        own_profile: proto::SignedProfile,
        charter: Charter,
        founders: Vec<Profile>,
        now: u64,
    ) -> Result<Self> {
        let me = keys.team_id();
        let mesh = charter.mesh_id()?;
        // After what this node wrote, not after what a thief wrote with its
        // key (its next envelope then forks the chain and shows the theft).
        let seq = match store.written_to(&me)? {
            Some(seq) => seq,
            None => store.max_seq(&me)?,
        };
        let hlc = Hlc::new(store.max_created_at()?);
        let rules = Rules {
            founders,
            threshold: usize::from(charter.threshold),
            objection_window_ms: charter.objection_window_ms,
        };
        let sync_set = store.keys()?.into_iter().collect();
        let mut node = Node {
            store,
            keys,
            me,
            mesh,
            charter,
            members: Membership::default(),
            membership_at: 0,
            rules,
            own_profile,
            dir: None,
            profiles: Vec::new(),
            records: Vec::new(),
            forks: Forks::new(),
            join_limiter: JoinLimiter::default(),
            join_refusal_logged: None,
            hlc,
            seq,
            restoring: None,
            pending_handoffs: None,
            clock: clock::ClockSamples::default(),
            counters: Counters::default(),
            sync_set,
            joining_set: sync::Set::new(),
            sender_keys: HashMap::new(),
            recipients: HashMap::new(),
            retired_due: None,
            logged: HashSet::new(),
            effects: Vec::new(),
        };
        for f in node.rules.founders.clone() {
            node.note_recipient(&f);
        }
        node.load_membership_records(now)?;
        node.load_forks()?;
        node.rebuild_membership(now)?;
        Ok(node)
    }

    /// Gives the node its data directory, where a key rotation is persisted.
    pub fn with_data_dir(mut self, dir: crate::datadir::DataDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// What the loop is to do on the network since the last call, in order.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// This team.
    pub fn me(&self) -> TeamId {
        self.me
    }

    /// The member set now.
    pub fn members(&self) -> &Membership {
        &self.members
    }

    /// The mesh's charter.
    pub fn charter(&self) -> &Charter {
        &self.charter
    }

    /// The mesh's id.
    pub fn mesh(&self) -> MeshId {
        self.mesh
    }

    /// The node's counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The store's size on disk: the database and its write-ahead log and
    /// shared-memory files (0 without a data directory).
    pub fn store_bytes(&self) -> u64 {
        let Some(dir) = &self.dir else {
            return 0;
        };
        let db = crate::datadir::files::DATABASE;
        [db.to_owned(), format!("{db}-wal"), format!("{db}-shm")]
            .iter()
            .filter_map(|f| std::fs::metadata(dir.file(f)).ok())
            .map(|m| m.len())
            .sum()
    }

    /// This node's clock against the mesh's, from recent gossip arrivals.
    pub fn clock_offset(&self, now: u64) -> Option<clock::ClockOffset> {
        self.clock.offset(now)
    }

    /// The store, for reading.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether membership must be computed again at `now` although nothing
    /// arrived: an objection window may have passed, or an application
    /// opened or closed.
    pub fn membership_due(&self, now: u64) -> bool {
        self.rules.objection_window_ms.is_some()
            || self
                .members
                .next_change(self.membership_at)
                .is_some_and(|t| t <= now)
    }
}
