//! The node: the one event loop wiring net <-> seal <-> core <-> store.
//!
//! Who owns what:
//! - the loop ([`Node::run_loop`]) owns the [`Store`], the keys, the member
//!   set and the clock; nothing else touches them, so there are no locks;
//! - the network actor (`net::EventLoop`) owns the swarm and talks to the
//!   loop through `net::Client` (commands) and `net::Event`s;
//! - the admin API (axum) sends [`ApiRequest`]s with a `oneshot` reply;
//! - sync exchanges run as short tasks that only talk to the network and
//!   hand their results back as [`SyncResult`]s, so the loop never waits on
//!   a remote peer.
//!
//! Every envelope, whatever way it came (gossip, sync, the local API), goes
//! through [`Node::ingest`]: decode (bounded) -> outer signature -> the
//! mesh's rules (`mesh_core::validate`) -> open if addressed to us -> store
//! durably -> effects. Gossip relays only what `ingest` accepted.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, anyhow, bail};
use mesh_core::{
    Incident, Membership, Reason, ThreadEntry, Verdict,
    clock::Hlc,
    membership::{Record, Rules},
};
use net::PeerId;
use proto::{
    Body, Charter, Envelope, EnvelopeContent, EnvelopeId, IncidentPayload, IncidentStatus,
    InnerContent, KeyId, Kind, MembershipAct, MeshId, Payload, Profile, SealedTo, SignedInner,
    TeamId, Tlp,
    payload::SenderKeyShare,
    sync::{MAX_GET, MAX_SYNC_BYTES, SyncRequest, SyncResponse},
};
use seal::{SenderKey, TeamKeys, VerifiedEnvelope};
use store::{Derived, SenderKeyRow, Store, Stored};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::api::types::*;

/// Milliseconds since the epoch: the one clock read, at the edge.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A peer that gossiped this many invalid envelopes is disconnected (the
/// network layer also drops peers whose gossip score falls below the
/// graylist threshold, which takes about as many).
const MAX_REJECTS_PER_PEER: u32 = 3;

/// How long an endorsement counts toward an admission unless told otherwise.
const DEFAULT_ENDORSEMENT_DAYS: u64 = 30;

/// Join requests accepted per forwarding peer and minute. A relay forwards
/// others' join requests too, so this is generous; it bounds floods.
const MAX_JOIN_REQUESTS_PER_PEER_MINUTE: u32 = 30;

/// Applicants pending at once; past it, new join requests wait (sync brings
/// them again) until members admit or applications expire from view.
const MAX_PENDING_APPLICANTS: usize = 1000;

/// Envelopes we authored but could not gossip yet (no peer subscribed). A
/// bound: past it anti-entropy delivers them instead.
const OUTBOX_CAPACITY: usize = 1024;

/// Where an envelope came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Gossip, forwarded by this peer.
    Gossip(PeerId),
    /// Anti-entropy, from this peer.
    Sync(PeerId),
    /// This node's own admin API.
    Local,
}

impl Origin {
    fn peer(&self) -> Option<PeerId> {
        match self {
            Origin::Gossip(p) | Origin::Sync(p) => Some(*p),
            Origin::Local => None,
        }
    }
}

/// A request from the admin API.
pub enum ApiRequest {
    /// Node status.
    Status(oneshot::Sender<Result<StatusView, ApiError>>),
    /// All incidents.
    Incidents(oneshot::Sender<Result<Vec<IncidentSummary>, ApiError>>),
    /// One incident.
    Incident(String, oneshot::Sender<Result<IncidentView, ApiError>>),
    /// Open an incident.
    Open(NewIncident, oneshot::Sender<Result<Published, ApiError>>),
    /// Comment on an incident.
    Comment(
        String,
        NewComment,
        oneshot::Sender<Result<Published, ApiError>>,
    ),
    /// Change an incident's status.
    SetStatus(
        String,
        NewStatus,
        oneshot::Sender<Result<Published, ApiError>>,
    ),
    /// Members, applicants, removed teams.
    Members(oneshot::Sender<Result<MembersView, ApiError>>),
    /// Publish (again) this team's join request.
    Join(oneshot::Sender<Result<Published, ApiError>>),
    /// A membership act: vouch, object, suspend, revoke.
    Act(
        MembershipRequest,
        oneshot::Sender<Result<Published, ApiError>>,
    ),
    /// Stored envelopes' public headers.
    Envelopes(oneshot::Sender<Result<Vec<EnvelopeView>, ApiError>>),
    /// Replace this team's signing key.
    RotateKey(oneshot::Sender<Result<Published, ApiError>>),
    /// Open a routed report.
    Report(
        NewReport,
        oneshot::Sender<Result<ReportPublished, ApiError>>,
    ),
    /// Look up who is responsible for an indicator.
    Lookup(
        String,
        Option<String>,
        oneshot::Sender<Result<RouteView, ApiError>>,
    ),
    /// Ack, accept, decline or hand off an incident.
    Step(
        String,
        IncidentStep,
        oneshot::Sender<Result<Published, ApiError>>,
    ),
    /// Retract one of this team's envelopes.
    Retract(
        String,
        NewRetraction,
        oneshot::Sender<Result<Published, ApiError>>,
    ),
    /// Block or unblock peers.
    Peers(PeerBlock, oneshot::Sender<Result<StatusView, ApiError>>),
}

/// An API failure: bad input (400), unknown thing (404), or our fault (500).
#[derive(Debug)]
pub enum ApiError {
    /// The request is wrong; the message says how.
    BadRequest(String),
    /// The thing asked for does not exist here.
    NotFound(String),
    /// The node failed (disk, database).
    Internal(String),
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(format!("{e:#}"))
    }
}

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// What the node knows of a connected peer.
#[derive(Default)]
struct PeerState {
    rejects: u32,
    /// A reconciliation we started with this peer is under way.
    sync_in_flight: bool,
    /// The conversation under way.
    conversation: anti_entropy::Conversation,
    last_sync_ok: Option<u64>,
    /// What the last finished conversation exchanged.
    last_sync: anti_entropy::Conversation,
    last_sync_error: Option<String>,
}

#[derive(Default)]
struct Counters {
    accepted: u64,
    rejected: u64,
    ignored: u64,
    published: u64,
    synced_in: u64,
}

/// The node's state, owned by its loop.
pub struct Node {
    store: Store,
    keys: TeamKeys,
    me: TeamId,
    mesh: MeshId,
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
    members: Membership,
    hlc: Hlc,
    seq: u64,
    net: net::Client,
    outbox: VecDeque<Vec<u8>>,
    peers: HashMap<PeerId, PeerState>,
    /// (peer, reason) pairs already logged, so a noisy peer is logged once.
    logged: HashSet<(PeerId, String)>,
    counters: Counters,
    sync_results: mpsc::Sender<SyncResult>,
    /// The `(created_at, id)` keys of every stored envelope, for reconciliation.
    sync_set: sync::Set,
    /// Join requests (profiles of non-members) accepted per forwarding peer
    /// in the current minute: (minute, count).
    join_requests: HashMap<PeerId, (u64, u32)>,
    /// GREEN sender keys already read from the store and parsed (a key never
    /// changes under its id), so each GREEN envelope does not pay a look-up
    /// and an X25519 base-point multiplication.
    sender_keys: HashMap<KeyId, SenderKey>,
}

/// At most this many parsed sender keys are kept; past it the cache starts over.
const MAX_CACHED_SENDER_KEYS: usize = 4_096;

impl Node {
    /// Builds the node state from an open store and verified charter.
    pub fn new(
        store: Store,
        keys: TeamKeys,
        own_profile: proto::SignedProfile,
        charter: Charter,
        founders: Vec<Profile>,
        net: net::Client,
        sync_results: mpsc::Sender<SyncResult>,
    ) -> Result<Self> {
        let me = keys.team_id();
        let mesh = charter.mesh_id()?;
        let seq = store.max_seq(&me)?;
        let hlc = Hlc::new(store.max_created_at()?);
        let rules = Rules {
            founders,
            threshold: usize::from(charter.threshold),
            objection_window_ms: charter.objection_window_ms,
        };
        let mut node = Node {
            store,
            keys,
            me,
            mesh,
            charter,
            members: Membership::default(),
            rules,
            own_profile,
            dir: None,
            profiles: Vec::new(),
            records: Vec::new(),
            join_requests: HashMap::new(),
            hlc,
            seq,
            net,
            outbox: VecDeque::new(),
            peers: HashMap::new(),
            logged: HashSet::new(),
            counters: Counters::default(),
            sync_results,
            sync_set: sync::Set::new(),
            sender_keys: HashMap::new(),
        };
        node.sync_set = node.store.keys()?.into_iter().collect();
        node.load_membership_records()?;
        node.rebuild_membership()?;
        Ok(node)
    }

    /// Gives the node its data directory, where a key rotation is persisted.
    pub fn with_data_dir(mut self, dir: crate::datadir::DataDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Loads the verified profiles and membership acts from the log (the
    /// source of truth), once at start; later ones are added as accepted.
    fn load_membership_records(&mut self) -> Result<()> {
        for s in self.store.by_kind(Kind::Profile)? {
            let env = Envelope::decode(&s.bytes).context("stored profile envelope")?;
            if let Body::Clear(b) = &env.content.body
                && let Ok(sp) = proto::SignedProfile::from_bytes(b)
                && let Ok(p) = seal::verify_profile(&sp)
            {
                self.profiles.push(p);
            }
        }
        for s in self.store.by_kind(Kind::Membership)? {
            let env = Envelope::decode(&s.bytes).context("stored membership envelope")?;
            if let Some(r) = record_of(&env) {
                self.records.push(r);
            }
        }
        Ok(())
    }

    /// Recomputes the member view from the rules, profiles and acts held.
    /// Logs who was admitted or removed since the last computation.
    fn rebuild_membership(&mut self) -> Result<()> {
        let next = Membership::compute(
            &self.rules,
            self.profiles.iter().cloned(),
            &self.records,
            now_ms(),
        );
        for t in next.member_ids().filter(|t| !self.members.is_member(t)) {
            if !self.members.is_empty() {
                let name = next
                    .profile(t)
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| t.short());
                tracing::info!(team = %name, "admitted to the mesh");
            }
        }
        for (t, r) in next
            .removed()
            .iter()
            .filter(|(t, _)| !self.members.removed().contains_key(t))
        {
            let name = next
                .profile(t)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| t.short());
            tracing::warn!(team = %name, removal = ?r.removal, "removed from the mesh");
        }
        self.members = next;
        // Only members' nodes may use this node's relay (if it runs one).
        let peers: Vec<PeerId> = self
            .members
            .members()
            .flat_map(|p| p.peers.iter().filter_map(|b| net::peer_id_from_bytes(b)))
            .collect();
        let _ = self.net.set_relay_allowed(peers);
        Ok(())
    }

    /// The loop: network events, API requests, sync results and timers,
    /// until `shutdown`.
    pub async fn run_loop(
        mut self,
        mut events: mpsc::Receiver<net::Event>,
        mut api: mpsc::Receiver<ApiRequest>,
        mut sync_results: mpsc::Receiver<SyncResult>,
        sync_interval: Duration,
        shutdown: CancellationToken,
    ) -> Result<()> {
        let mut sync_tick = tokio::time::interval(sync_interval);
        sync_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if let Err(e) = self.join_if_needed().await {
            tracing::warn!(error = ?e, "could not publish the join request");
        }
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                e = events.recv() => match e {
                    Some(e) => self.on_net_event(e).await,
                    // The network stops first when both see the shutdown.
                    None if shutdown.is_cancelled() => break,
                    None => bail!("the network stopped unexpectedly"),
                },
                Some(r) = api.recv() => self.on_api(r).await,
                Some(r) = sync_results.recv() => self.on_sync_result(r),
                _ = sync_tick.tick() => {
                    if self.rules.objection_window_ms.is_some()
                        && let Err(e) = self.rebuild_membership()
                    {
                        tracing::error!(error = %format!("{e:#}"), "cannot rebuild membership");
                    }
                    self.sync_with_random_peer();
                }
            }
        }
        Ok(())
    }

    async fn on_net_event(&mut self, event: net::Event) {
        match event {
            net::Event::Gossip {
                message_id,
                source,
                data,
            } => {
                let verdict = self.ingest(&data, Origin::Gossip(source));
                let v = match verdict {
                    Verdict::Accept => net::Validation::Accept,
                    Verdict::Reject(_) => net::Validation::Reject,
                    Verdict::Ignore(_) => net::Validation::Ignore,
                };
                let _ = self.net.validate(message_id, source, v).await;
                if matches!(verdict, Verdict::Reject(_)) {
                    self.penalise(source).await;
                }
            }
            net::Event::Request {
                peer,
                data,
                channel,
            } => {
                let answer = self.answer_sync(peer, &data);
                let bytes = answer.to_bytes().unwrap_or_default();
                let _ = self.net.respond(channel, bytes).await;
            }
            net::Event::Connected { peer } => {
                self.peers.entry(peer).or_default();
                // Catch up with every new peer at once: what we missed while
                // away is most likely there.
                self.start_sync(peer);
            }
            net::Event::Disconnected { peer } => {
                self.peers.remove(&peer);
            }
            net::Event::Subscribed { .. } => self.flush_outbox().await,
            net::Event::Listening { addr } => {
                tracing::info!(%addr, "node reachable at");
            }
        }
    }

    async fn penalise(&mut self, peer: PeerId) {
        let state = self.peers.entry(peer).or_default();
        state.rejects += 1;
        if state.rejects == MAX_REJECTS_PER_PEER {
            tracing::warn!(%peer, rejects = state.rejects, "disconnecting peer that keeps sending invalid envelopes");
            let _ = self.net.disconnect(peer).await;
        }
    }

    /// The one validation path. Returns the verdict; on `Accept` the envelope
    /// is durably stored when this returns.
    pub fn ingest(&mut self, bytes: &[u8], origin: Origin) -> Verdict {
        let verdict = self.ingest_inner(bytes, origin);
        self.count(verdict, origin)
    }

    /// Counts a verdict, and logs a rejection once per peer and reason.
    fn count(&mut self, verdict: Verdict, origin: Origin) -> Verdict {
        match &verdict {
            Verdict::Accept => self.counters.accepted += 1,
            Verdict::Ignore(_) => self.counters.ignored += 1,
            Verdict::Reject(reason) => {
                self.counters.rejected += 1;
                let key = (
                    origin.peer().unwrap_or(PeerId::random()),
                    reason_kind(reason),
                );
                if self.logged.len() < 10_000 && self.logged.insert(key) {
                    tracing::warn!(?origin, %reason, "rejected envelope");
                }
            }
        }
        verdict
    }

    fn ingest_inner(&mut self, bytes: &[u8], origin: Origin) -> Verdict {
        let prepared = match decode(bytes).and_then(|e| self.prepare(e, origin, &HashSet::new())) {
            Ok(p) => p,
            Err(v) => return v,
        };
        match self
            .store
            .insert(prepared.verified.envelope(), &prepared.derived, now_ms())
        {
            Ok(true) => self.finish(prepared, origin),
            Ok(false) => Verdict::Ignore(Reason::Duplicate),
            Err(e) => store_failed(&e, prepared.verified.envelope().id),
        }
    }

    /// The batch form of [`Node::ingest`], for envelopes that arrive
    /// together (a sync fetch): every envelope is validated exactly as one by
    /// one, and the accepted ones are stored in one transaction (one fsync:
    /// group commit). Profiles, membership acts and key shares change what
    /// the next envelopes are checked against, so each of those is stored on
    /// its own, in order, after what came before it.
    pub fn ingest_batch(&mut self, batch: &[Vec<u8>], origin: Origin) -> Vec<Verdict> {
        let mut verdicts: Vec<Option<Verdict>> = vec![None; batch.len()];
        let mut pending: Vec<(usize, Prepared)> = Vec::new();
        let mut ids = HashSet::new();
        for (i, bytes) in batch.iter().enumerate() {
            let envelope = match decode(bytes) {
                Ok(e) => e,
                Err(v) => {
                    verdicts[i] = Some(self.count(v, origin));
                    continue;
                }
            };
            if matches!(
                envelope.content.kind,
                Kind::Profile | Kind::Membership | Kind::KeyShare | Kind::Retraction
            ) {
                self.flush(&mut pending, &mut verdicts, origin);
                ids.clear();
                verdicts[i] = Some(self.ingest(bytes, origin));
                continue;
            }
            match self.prepare(envelope, origin, &ids) {
                Ok(p) => {
                    ids.insert(p.verified.envelope().id);
                    pending.push((i, p));
                }
                Err(v) => verdicts[i] = Some(self.count(v, origin)),
            }
        }
        self.flush(&mut pending, &mut verdicts, origin);
        verdicts
            .into_iter()
            .map(|v| v.unwrap_or(Verdict::Ignore(Reason::Duplicate)))
            .collect()
    }

    /// Stores the prepared envelopes in one transaction, then applies them.
    fn flush(
        &mut self,
        pending: &mut Vec<(usize, Prepared)>,
        verdicts: &mut [Option<Verdict>],
        origin: Origin,
    ) {
        if pending.is_empty() {
            return;
        }
        let items: Vec<(&Envelope, &Derived)> = pending
            .iter()
            .map(|(_, p)| (p.verified.envelope(), &p.derived))
            .collect();
        match self.store.insert_many(&items, now_ms()) {
            Ok(inserted) => {
                for ((i, p), new) in pending.drain(..).zip(inserted) {
                    let v = if new {
                        self.finish(p, origin)
                    } else {
                        Verdict::Ignore(Reason::Duplicate)
                    };
                    verdicts[i] = Some(self.count(v, origin));
                }
            }
            Err(e) => {
                for (i, p) in pending.drain(..) {
                    let v = store_failed(&e, p.verified.envelope().id);
                    verdicts[i] = Some(self.count(v, origin));
                }
            }
        }
    }

    /// Everything before the durable write on a decoded envelope: duplicate
    /// and tombstone checks, outer signature, the mesh's rules, join-request
    /// limits, and what the node learns (opened content, awaited key,
    /// retraction). `batch` holds ids already prepared in the same batch.
    fn prepare(
        &mut self,
        envelope: Envelope,
        origin: Origin,
        batch: &HashSet<EnvelopeId>,
    ) -> Result<Prepared, Verdict> {
        // Duplicates go first, before any signature check, and from memory:
        // the reconciliation set mirrors the store. The store stays the
        // authority: a duplicate that got past this is refused by the insert.
        if batch.contains(&envelope.id)
            || self
                .sync_set
                .contains(&(envelope.content.created_at, envelope.id))
        {
            return Err(Verdict::Ignore(Reason::Duplicate));
        }
        if let Ok(Some(by)) = self.store.retracted_by(&envelope.id)
            && by == envelope.content.author
            && envelope.content.kind == Kind::Incident
        {
            return Err(Verdict::Ignore(Reason::Retracted));
        }
        let verified = seal::verify_envelope(envelope)
            .map_err(|e| Verdict::Reject(Reason::BadSignature(e.to_string())))?;
        match mesh_core::validate::check(&verified, &self.mesh, &self.members, now_ms()) {
            Verdict::Accept => {}
            other => return Err(other),
        }
        if verified.content().kind == Kind::Profile
            && !self.members.is_member(&verified.content().author)
            && let Err(reason) = self.admit_join_request(origin)
        {
            return Err(Verdict::Ignore(reason));
        }
        let derived = self.derive(&verified).map_err(Verdict::Reject)?;
        let env = verified.envelope();
        let retracted_key = derived
            .retracts
            .and_then(|t| self.store.get(&t).ok().flatten())
            .and_then(|s| Envelope::decode(&s.bytes).ok())
            .filter(|t| t.content.author == env.content.author)
            .map(|t| (t.content.created_at, t.id));
        Ok(Prepared {
            verified,
            derived,
            retracted_key,
        })
    }

    /// Everything after the durable write.
    fn finish(&mut self, p: Prepared, origin: Origin) -> Verdict {
        let env = p.verified.envelope();
        self.hlc.observe(env.content.created_at);
        self.sync_set.insert((env.content.created_at, env.id));
        if let Some(key) = p.retracted_key {
            // The retracted envelope left the store; its key leaves the set.
            self.sync_set.remove(&key);
        }
        if origin == Origin::Local {
            self.seq = self.seq.max(env.content.seq);
        }
        if let Err(e) = self.after_accept(&p.verified, &p.derived) {
            tracing::error!(error = %format!("{e:#}"), id = %env.id, "post-accept processing failed");
        }
        Verdict::Accept
    }

    /// Bounds join requests (profiles of non-members): per forwarding peer
    /// per minute, and in total pending. A flood of fresh identities costs
    /// the flooder its peer's budget, not our disk.
    fn admit_join_request(&mut self, origin: Origin) -> Result<(), Reason> {
        if self.members.applicants().len() >= MAX_PENDING_APPLICANTS {
            return Err(Reason::RateLimited(format!(
                "{MAX_PENDING_APPLICANTS} applicants already pending"
            )));
        }
        let Some(peer) = origin.peer() else {
            return Ok(());
        };
        let minute = now_ms() / 60_000;
        let slot = self.join_requests.entry(peer).or_insert((minute, 0));
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        if slot.1 >= MAX_JOIN_REQUESTS_PER_PEER_MINUTE {
            return Err(Reason::RateLimited(format!(
                "more than {MAX_JOIN_REQUESTS_PER_PEER_MINUTE} join requests a minute from peer {peer}"
            )));
        }
        slot.1 += 1;
        Ok(())
    }

    /// What this node can learn from an authentic envelope of a member:
    /// opened content when addressed to us, or the key it waits for.
    fn derive(&mut self, env: &VerifiedEnvelope) -> Result<Derived, Reason> {
        let c = env.content();
        match (&c.kind, &c.body) {
            (Kind::Profile, Body::Clear(b)) => {
                let sp = proto::SignedProfile::from_bytes(b)
                    .map_err(|e| Reason::BadProfile(e.to_string()))?;
                let p = seal::verify_profile(&sp).map_err(|e| Reason::BadProfile(e.to_string()))?;
                if p.team != c.author {
                    return Err(Reason::BadProfile("profile of another team".into()));
                }
                Ok(Derived::default())
            }
            (Kind::Retraction, Body::Clear(b)) => {
                let r = proto::Retraction::from_bytes(b)
                    .map_err(|e| Reason::BadRetraction(e.to_string()))?;
                if let Ok(Some(stored)) = self.store.get(&r.target)
                    && let Ok(target) = Envelope::decode(&stored.bytes)
                {
                    if target.content.author != c.author {
                        return Err(Reason::BadRetraction(
                            "a team retracts only its own envelopes".into(),
                        ));
                    }
                    if target.content.kind != Kind::Incident {
                        return Err(Reason::BadRetraction(
                            "only incident envelopes can be retracted".into(),
                        ));
                    }
                }
                Ok(Derived {
                    retracts: Some(r.target),
                    ..Derived::default()
                })
            }
            (Kind::Membership, Body::Clear(b)) => {
                let act = MembershipAct::from_bytes(b)
                    .map_err(|e| Reason::BadMembershipAct(e.to_string()))?;
                if let MembershipAct::RotateKey { new, proof } = &act {
                    let msg = proto::membership::rotation_message(&self.mesh, &c.author);
                    seal::verify(
                        new,
                        "key rotation",
                        proto::context::KEY_ROTATION,
                        &msg,
                        proof,
                    )
                    .map_err(|e| Reason::BadMembershipAct(e.to_string()))?;
                }
                Ok(Derived::default())
            }
            (_, Body::Clear(_)) => {
                let opened =
                    seal::read_clear(env).map_err(|e| Reason::BadSignature(e.to_string()))?;
                Ok(Derived {
                    opened: Some(opened.plaintext),
                    waiting_for: None,
                    retracts: None,
                })
            }
            (
                _,
                Body::Sealed {
                    to: SealedTo::Teams { .. },
                    ..
                },
            ) if !self.addressed_to_us(env) => Ok(Derived::default()),
            (
                _,
                Body::Sealed {
                    to: SealedTo::Teams { .. },
                    ..
                },
            ) => match seal::open(env, self.keys.age_identity()) {
                Ok(o) => Ok(Derived {
                    opened: Some(o.plaintext),
                    waiting_for: None,
                    retracts: None,
                }),
                Err(seal::Error::NotForUs) => Ok(Derived::default()),
                // Addressed to us but wrong inside (re-wrapped, mislabelled):
                // only a recipient can see it, and it refuses it.
                Err(e) => Err(Reason::BadSignature(e.to_string())),
            },
            (
                _,
                Body::Sealed {
                    to: SealedTo::SenderKey(k),
                    ..
                },
            ) => match self.sender_key(k) {
                Some(key) => match seal::open(env, key.identity()) {
                    Ok(o) => Ok(Derived {
                        opened: Some(o.plaintext),
                        waiting_for: None,
                        retracts: None,
                    }),
                    Err(e) => Err(Reason::BadSignature(e.to_string())),
                },
                None => Ok(Derived {
                    opened: None,
                    waiting_for: Some(*k),
                    retracts: None,
                }),
            },
        }
    }

    /// Whether an envelope sealed to named teams carries our recipient hint
    /// (the hint key with its author is computed once and kept by
    /// [`TeamKeys`]). Without the author's profile, or a usable key in it,
    /// there is no hint to check, and age decides.
    fn addressed_to_us(&self, env: &VerifiedEnvelope) -> bool {
        let author = env.content().author;
        let Some(profile) = self.members.profile(&author) else {
            return true;
        };
        match seal::parse_recipient(&profile.recipient).and_then(|r| self.keys.hint_key(&r)) {
            Ok(key) => seal::addressed_to(env, &key),
            Err(e) => {
                tracing::debug!(team = %author.short(), error = %e, "no recipient-hint key with this team");
                true
            }
        }
    }

    fn sender_key(&mut self, id: &KeyId) -> Option<SenderKey> {
        if let Some(key) = self.sender_keys.get(id) {
            return Some(key.clone());
        }
        let row = self.store.sender_key(id).ok()??;
        let key = SenderKey::from_secret(&row.secret).ok()?;
        if self.sender_keys.len() >= MAX_CACHED_SENDER_KEYS {
            self.sender_keys.clear();
        }
        self.sender_keys.insert(*id, key.clone());
        Some(key)
    }

    fn after_accept(&mut self, env: &VerifiedEnvelope, derived: &Derived) -> Result<()> {
        let c = env.content();
        match c.kind {
            Kind::Retraction => {}
            Kind::Profile => {
                if let Body::Clear(b) = &c.body
                    && let Ok(sp) = proto::SignedProfile::from_bytes(b)
                    && let Ok(p) = sp.profile()
                {
                    // Verified in `derive` before it was stored.
                    self.profiles.push(p);
                }
                self.rebuild_membership()?
            }
            Kind::Membership => {
                if let Some(r) = record_of(env.envelope()) {
                    self.records.push(r);
                }
                self.rebuild_membership()?
            }
            Kind::KeyShare => {
                let Some(plaintext) = &derived.opened else {
                    return Ok(());
                };
                let inner = inner_of(plaintext)?;
                if let Payload::SenderKey(share) = inner.payload {
                    self.adopt_sender_key(c.author, c.created_at, share)?;
                }
            }
            Kind::Incident => {}
        }
        Ok(())
    }

    /// Stores a teammate's sender key and opens what waited for it.
    fn adopt_sender_key(&mut self, team: TeamId, at: u64, share: SenderKeyShare) -> Result<()> {
        let key = SenderKey::from_secret(&share.secret)?;
        if key.id() != share.key_id {
            bail!(
                "key share names key {} but carries {}",
                share.key_id.short(),
                key.id().short()
            );
        }
        self.store.put_sender_key(
            &SenderKeyRow {
                key_id: key.id(),
                team,
                secret: share.secret,
                created_at: at,
                members: None,
            },
            false,
        )?;
        for waiting in self.store.waiting_for(&key.id())? {
            let env = seal::verify_envelope(Envelope::decode(&waiting.bytes)?)?;
            match seal::open(&env, key.identity()) {
                Ok(o) => self.store.set_opened(&env.envelope().id, &o.plaintext)?,
                Err(e) => {
                    tracing::warn!(id = %env.envelope().id, error = %e, "envelope does not open with its announced sender key");
                    self.store.clear_pending(&env.envelope().id)?;
                }
            }
        }
        Ok(())
    }

    /// Our GREEN sender key for the current member set; a new one (shared in
    /// a key-share envelope) when the members changed since the last one.
    async fn current_sender_key(&mut self) -> Result<SenderKey, ApiError> {
        let digest = members_digest(&self.members);
        if let Some(row) = self.store.own_sender_key()?
            && row.members == Some(digest)
        {
            return self.sender_key(&row.key_id).ok_or_else(|| {
                ApiError::Internal(format!("own sender key {} unreadable", row.key_id.short()))
            });
        }
        let key = SenderKey::generate();
        let now = now_ms();
        self.store.put_sender_key(
            &SenderKeyRow {
                key_id: key.id(),
                team: self.me,
                secret: key.secret(),
                created_at: now,
                members: Some(digest),
            },
            true,
        )?;
        let others: Vec<Profile> = self
            .members
            .members()
            .filter(|p| p.team != self.me)
            .cloned()
            .collect();
        if !others.is_empty() {
            let inner = InnerContent {
                author: self.me,
                mesh: self.mesh,
                tlp: Tlp::Red,
                recipients: others.iter().map(|p| p.team).collect(),
                payload: Payload::SenderKey(SenderKeyShare {
                    key_id: key.id(),
                    secret: key.secret(),
                }),
            };
            let recipients = recipients_of(&others)?;
            let body = seal::seal_to_teams(&self.keys, &inner, &recipients)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            self.publish(Kind::KeyShare, Tlp::Red, None, body).await?;
            tracing::info!(key = %key.id().short(), members = others.len(), "shared a new GREEN sender key");
        }
        Ok(key)
    }

    /// Signs, validates through [`Node::ingest`] like any arrival, stores,
    /// then gossips. Returns once the envelope is durable.
    async fn publish(
        &mut self,
        kind: Kind,
        tlp: Tlp,
        thread: Option<EnvelopeId>,
        body: Body,
    ) -> Result<(EnvelopeId, bool), ApiError> {
        if kind != Kind::Profile && !self.members.is_member(&self.me) {
            let why = match self.members.removed().get(&self.me) {
                Some(r) => format!(
                    "this team was removed from the mesh ({:?}); its envelopes are refused",
                    r.removal
                ),
                None => format!(
                    "this team is not a member of the mesh{}: it can publish nothing but its join request until {} members vouch for it",
                    if self.members.applicants().contains_key(&self.me) {
                        " yet"
                    } else {
                        ""
                    },
                    self.members.threshold()
                ),
            };
            return Err(ApiError::BadRequest(why));
        }
        let content = EnvelopeContent {
            mesh: self.mesh,
            kind,
            author: self.me,
            seq: self.seq + 1,
            created_at: self.hlc.tick(now_ms()),
            tlp,
            thread,
            parents: thread.into_iter().collect(),
            body,
        };
        let env = seal::sign_envelope(&self.keys, &content)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let bytes = env.envelope().bytes.clone();
        let id = env.envelope().id;
        match self.ingest(&bytes, Origin::Local) {
            Verdict::Accept => {}
            Verdict::Reject(r) | Verdict::Ignore(r) => {
                return Err(ApiError::BadRequest(format!(
                    "this node refuses its own envelope: {r}"
                )));
            }
        }
        self.counters.published += 1;
        let gossiped = match self.net.publish(bytes.clone()).await {
            Ok(()) => true,
            Err(net::Error::NoPeers) => {
                if self.outbox.len() == OUTBOX_CAPACITY {
                    self.outbox.pop_front();
                }
                self.outbox.push_back(bytes);
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, %id, "gossip publish failed; anti-entropy will deliver it");
                false
            }
        };
        Ok((id, gossiped))
    }

    async fn flush_outbox(&mut self) {
        while let Some(bytes) = self.outbox.pop_front() {
            match self.net.publish(bytes.clone()).await {
                Ok(()) => {}
                Err(net::Error::NoPeers) => {
                    self.outbox.push_front(bytes);
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "outbox publish failed; anti-entropy will deliver it")
                }
            }
        }
    }

    // ---- incidents -------------------------------------------------------

    async fn open_incident(&mut self, req: NewIncident) -> Result<Published, ApiError> {
        let tlp: Tlp = req
            .tlp
            .parse()
            .map_err(|e: proto::Error| ApiError::BadRequest(e.to_string()))?;
        if req.title.trim().is_empty() {
            return Err(ApiError::BadRequest("an incident needs a --title".into()));
        }
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
            title: req.title.trim().to_owned(),
            description: req.description,
        };
        let (id, gossiped) = self.send_incident_step(None, tlp, to, payload).await?;
        Ok(Published {
            id: id.to_string(),
            incident: Some(id.to_string()),
            gossiped,
        })
    }

    /// Everyone in an incident's conversation this team can see: authors
    /// and recipients of every entry it can read (the reporter, its
    /// recipients, teams a report was handed to). Empty if it reads nothing.
    fn participants(&self, root_id: &EnvelopeId) -> Result<(ThreadEntry, Vec<TeamId>), ApiError> {
        let root = self
            .load_entry(root_id)?
            .ok_or_else(|| ApiError::NotFound(format!("no incident {root_id}")))?;
        let mut people = std::collections::BTreeSet::new();
        let replies = self.store.thread(root_id)?;
        let entries = std::iter::once(Ok(root.clone())).chain(replies.iter().map(entry_of));
        for e in entries {
            let e = e?;
            if e.payload.is_some() {
                people.insert(e.author);
                people.extend(e.recipients.iter().copied());
            }
        }
        Ok((root, people.into_iter().collect()))
    }

    async fn reply(
        &mut self,
        incident: &str,
        payload: IncidentPayload,
    ) -> Result<Published, ApiError> {
        let root_id = self.find_incident(incident)?;
        let (root, people) = self.participants(&root_id)?;
        if people.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "incident {} is not readable by this team: only those it was addressed or handed to can reply",
                root_id.short()
            )));
        }
        // Everyone in the conversation, under the thread's label.
        let to: Vec<TeamId> = people.into_iter().filter(|t| *t != self.me).collect();
        let (id, gossiped) = self
            .send_incident_step(Some(root_id), root.tlp, to, payload)
            .await?;
        Ok(Published {
            id: id.to_string(),
            incident: Some(root_id.to_string()),
            gossiped,
        })
    }

    /// Who is responsible for an indicator, and why.
    fn route(
        &self,
        about: &str,
        country: Option<&str>,
    ) -> Result<(mesh_core::directory::Route, String), ApiError> {
        let indicator: mesh_core::directory::Indicator =
            about.parse().map_err(ApiError::BadRequest)?;
        let members: Vec<&Profile> = self.members.members().collect();
        let route = mesh_core::directory::lookup(
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

    fn route_view(&self, route: &mesh_core::directory::Route, about: String) -> RouteView {
        RouteView {
            about,
            teams: route.teams.iter().map(|t| self.team_ref(t)).collect(),
            why: route.why.to_string(),
        }
    }

    /// Opens a report, addressed to whoever the directory finds responsible.
    async fn report(&mut self, req: NewReport) -> Result<ReportPublished, ApiError> {
        let (route, about) = self.route(&req.about, req.country.as_deref())?;
        let tlp: Tlp = req
            .tlp
            .as_deref()
            .unwrap_or("amber")
            .parse()
            .map_err(|e: proto::Error| ApiError::BadRequest(e.to_string()))?;
        if req.title.trim().is_empty() {
            return Err(ApiError::BadRequest("a report needs a --title".into()));
        }
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
        let view = self.route_view(&route, about.clone());
        let payload = IncidentPayload::Report {
            title: req.title.trim().to_owned(),
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
        };
        let recipients = if tlp.is_named_recipients() {
            to
        } else {
            vec![]
        };
        let (id, gossiped) = self
            .send_incident_step(None, tlp, recipients, payload)
            .await?;
        Ok(ReportPublished {
            published: Published {
                id: id.to_string(),
                incident: Some(id.to_string()),
                gossiped,
            },
            route: view,
        })
    }

    /// Acknowledge, accept, decline, or hand off an incident.
    async fn step(&mut self, incident: &str, step: IncidentStep) -> Result<Published, ApiError> {
        let root_id = self.find_incident(incident)?;
        let inc = self.incident(&root_id)?;
        let (root, people) = self.participants(&root_id)?;
        if !people.contains(&self.me) {
            return Err(ApiError::BadRequest(format!(
                "incident {} was not addressed or handed to this team",
                root_id.short()
            )));
        }
        let bad = |m: String| Err(ApiError::BadRequest(m));
        match step.action.as_str() {
            "ack" => {
                if root.author == self.me {
                    return bad("the reporter does not acknowledge its own report".into());
                }
                self.reply(incident, IncidentPayload::Ack).await
            }
            "accept" | "decline" => {
                if !inc.pending_handoff.contains(&self.me) {
                    return bad(format!(
                        "incident {} was not handed to this team (or it already answered)",
                        root_id.short()
                    ));
                }
                let payload = if step.action == "accept" {
                    IncidentPayload::Accept
                } else {
                    IncidentPayload::Decline { reason: step.note }
                };
                self.reply(incident, payload).await
            }
            "handoff" => {
                let to = self.resolve_recipients(&step.to)?;
                if to.is_empty() {
                    return bad("hand it to whom? name the team with --to".into());
                }
                if root.author == self.me {
                    return bad(
                        "the reporter does not hand off its own report; address it anew".into(),
                    );
                }
                if inc.tlp >= Tlp::AmberStrict {
                    // Never forwarded: the reporter is told whom to contact.
                    let payload = IncidentPayload::Referral {
                        responsible: to,
                        note: step.note,
                    };
                    let (id, gossiped) = self
                        .send_incident_step(Some(root_id), inc.tlp, vec![root.author], payload)
                        .await?;
                    return Ok(Published {
                        id: id.to_string(),
                        incident: Some(root_id.to_string()),
                        gossiped,
                    });
                }
                let payload = IncidentPayload::Handoff {
                    to: to.clone(),
                    title: inc.title.clone().unwrap_or_default(),
                    description: inc.description.clone().unwrap_or_default(),
                    note: step.note,
                };
                let mut recipients = to;
                if !recipients.contains(&root.author) {
                    recipients.push(root.author);
                }
                let (id, gossiped) = self
                    .send_incident_step(Some(root_id), inc.tlp, recipients, payload)
                    .await?;
                Ok(Published {
                    id: id.to_string(),
                    incident: Some(root_id.to_string()),
                    gossiped,
                })
            }
            other => bad(format!(
                "unknown step {other:?}: ack, accept, decline or handoff"
            )),
        }
    }

    async fn send_incident_step(
        &mut self,
        thread: Option<EnvelopeId>,
        tlp: Tlp,
        to: Vec<TeamId>,
        payload: IncidentPayload,
    ) -> Result<(EnvelopeId, bool), ApiError> {
        let inner = InnerContent {
            author: self.me,
            mesh: self.mesh,
            tlp,
            recipients: to.clone(),
            payload: Payload::Incident(payload),
        };
        let bad = |e: seal::Error| ApiError::BadRequest(e.to_string());
        let body = match tlp {
            Tlp::Clear => Body::Clear(seal::sign_inner(&self.keys, &inner).map_err(bad)?),
            Tlp::Green => {
                let key = self.current_sender_key().await?;
                Body::Sealed {
                    to: SealedTo::SenderKey(key.id()),
                    ciphertext: key.seal(&self.keys, &inner).map_err(bad)?,
                }
            }
            _ => {
                // The named teams, and ourselves, so our own copy stays readable.
                let mut profiles = Vec::with_capacity(to.len() + 1);
                for t in to.iter().chain(std::iter::once(&self.me)) {
                    let p = self.members.profile(t).ok_or_else(|| {
                        ApiError::BadRequest(format!("no profile for team {}", t.short()))
                    })?;
                    profiles.push(p.clone());
                }
                seal::seal_to_teams(&self.keys, &inner, &recipients_of(&profiles)?).map_err(bad)?
            }
        };
        self.publish(Kind::Incident, tlp, thread, body).await
    }

    fn resolve_recipients(&self, names: &[String]) -> Result<Vec<TeamId>, ApiError> {
        let mut out = Vec::new();
        for n in names
            .iter()
            .flat_map(|n| n.split(','))
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let p = self
                .members
                .find(n)
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            if p.team != self.me && !out.contains(&p.team) {
                out.push(p.team);
            }
        }
        Ok(out)
    }

    /// Finds an incident by full id or unique prefix (at least 8 hex digits).
    fn find_incident(&self, q: &str) -> Result<EnvelopeId, ApiError> {
        let q = q.trim().to_ascii_lowercase();
        if let Ok(id) = q.parse::<EnvelopeId>() {
            return Ok(id);
        }
        if q.len() < 8 || !q.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ApiError::BadRequest(format!(
                "{q:?} is not an incident id (give at least 8 hex digits)"
            )));
        }
        let roots = self.store.incident_roots()?;
        let matches: Vec<EnvelopeId> = roots
            .iter()
            .filter_map(|s| Envelope::decode(&s.bytes).ok())
            .map(|e| e.id)
            .filter(|id| id.to_string().starts_with(&q))
            .collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(ApiError::NotFound(format!("no incident {q}"))),
            _ => Err(ApiError::BadRequest(format!(
                "{q} matches several incidents; give more digits"
            ))),
        }
    }

    fn load_entry(&self, id: &EnvelopeId) -> Result<Option<ThreadEntry>, ApiError> {
        match self.store.get(id)? {
            Some(s) => Ok(Some(entry_of(&s)?)),
            None => Ok(None),
        }
    }

    fn incident(&self, root_id: &EnvelopeId) -> Result<Incident, ApiError> {
        let root = self
            .load_entry(root_id)?
            .ok_or_else(|| ApiError::NotFound(format!("no incident {root_id}")))?;
        let replies = self
            .store
            .thread(root_id)?
            .iter()
            .map(entry_of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Incident::fold(&root, replies))
    }

    fn team_ref(&self, t: &TeamId) -> TeamRef {
        TeamRef {
            id: t.to_string(),
            name: self.members.profile(t).map(|p| p.name.clone()),
        }
    }

    fn event(
        &self,
        kind: &str,
        id: &EnvelopeId,
        author: &TeamId,
        at: u64,
        text: Option<String>,
    ) -> EventView {
        EventView {
            id: id.to_string(),
            kind: kind.into(),
            author: self.team_ref(author),
            at: Some(at),
            text,
            waiting_for_key: false,
        }
    }

    fn names(&self, teams: &[TeamId]) -> String {
        teams
            .iter()
            .map(|t| self.team_ref(t).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn summary(&self, inc: &Incident) -> IncidentSummary {
        IncidentSummary {
            id: inc.id.to_string(),
            title: inc.title.clone(),
            tlp: inc.tlp.to_string(),
            status: inc.status.to_string(),
            author: self.team_ref(&inc.author),
            opened_at: inc.opened_at,
            updated_at: inc.updated_at,
            readable: inc.title.is_some(),
            waiting_for_key: inc.waiting_for_key,
            replies: inc.events.len(),
            about: inc.report.as_ref().map(|(a, _)| a.clone()),
            handled_by: inc.handled_by.iter().map(|t| self.team_ref(t)).collect(),
            pending_handoff: inc
                .pending_handoff
                .iter()
                .map(|t| self.team_ref(t))
                .collect(),
        }
    }

    fn incident_view(&self, inc: &Incident) -> IncidentView {
        use mesh_core::IncidentEvent as E;
        let events = inc
            .events
            .iter()
            .map(|e| match e {
                E::Comment {
                    id,
                    author,
                    at,
                    text,
                } => EventView {
                    id: id.to_string(),
                    kind: "comment".into(),
                    author: self.team_ref(author),
                    at: Some(*at),
                    text: Some(text.clone()),
                    waiting_for_key: false,
                },
                E::Status {
                    id,
                    author,
                    at,
                    status,
                } => EventView {
                    id: id.to_string(),
                    kind: "status".into(),
                    author: self.team_ref(author),
                    at: Some(*at),
                    text: Some(status.to_string()),
                    waiting_for_key: false,
                },
                E::Sealed {
                    id,
                    author,
                    at,
                    waiting_for_key,
                } => EventView {
                    id: id.to_string(),
                    kind: "sealed".into(),
                    author: self.team_ref(author),
                    at: Some(*at),
                    text: None,
                    waiting_for_key: *waiting_for_key,
                },
                E::Retracted {
                    id,
                    author,
                    at,
                    target,
                } => EventView {
                    id: id.to_string(),
                    kind: "retracted".into(),
                    author: self.team_ref(author),
                    at: Some(*at),
                    text: Some(target.to_string()),
                    waiting_for_key: false,
                },
                E::Acknowledged { id, author, at } => self.event("ack", id, author, *at, None),
                E::Accepted { id, author, at } => self.event("accept", id, author, *at, None),
                E::Declined {
                    id,
                    author,
                    at,
                    reason,
                } => self.event("decline", id, author, *at, Some(reason.clone())),
                E::HandedOff {
                    id,
                    author,
                    at,
                    to,
                    note,
                } => self.event(
                    "handoff",
                    id,
                    author,
                    *at,
                    Some(format!("{}{}", self.names(to), note_suffix(note))),
                ),
                E::Referred {
                    id,
                    author,
                    at,
                    responsible,
                    note,
                } => self.event(
                    "referral",
                    id,
                    author,
                    *at,
                    Some(format!("{}{}", self.names(responsible), note_suffix(note))),
                ),
                E::Refused { id, author, reason } => EventView {
                    id: id.to_string(),
                    kind: "refused".into(),
                    author: self.team_ref(author),
                    at: None,
                    text: Some(reason.clone()),
                    waiting_for_key: false,
                },
            })
            .collect();
        IncidentView {
            summary: self.summary(inc),
            description: inc.description.clone(),
            recipients: inc.recipients.iter().map(|t| self.team_ref(t)).collect(),
            routed: inc.report.as_ref().map(|(_, r)| r.clone()),
            events,
        }
    }

    // ---- API -------------------------------------------------------------

    async fn on_api(&mut self, request: ApiRequest) {
        match request {
            ApiRequest::Status(reply) => {
                let r = self.status().await;
                let _ = reply.send(r);
            }
            ApiRequest::Incidents(reply) => {
                let r = self.incidents();
                let _ = reply.send(r);
            }
            ApiRequest::Incident(id, reply) => {
                let r = self
                    .find_incident(&id)
                    .and_then(|id| self.incident(&id))
                    .map(|i| self.incident_view(&i));
                let _ = reply.send(r);
            }
            ApiRequest::Open(req, reply) => {
                let r = self.open_incident(req).await;
                let _ = reply.send(r);
            }
            ApiRequest::Comment(id, c, reply) => {
                let r = if c.text.trim().is_empty() {
                    Err(ApiError::BadRequest("an empty comment: give --text".into()))
                } else {
                    self.reply(&id, IncidentPayload::Comment { text: c.text })
                        .await
                };
                let _ = reply.send(r);
            }
            ApiRequest::SetStatus(id, s, reply) => {
                let r = match s.status.parse::<IncidentStatus>() {
                    Ok(status) => self.reply(&id, IncidentPayload::Status { status }).await,
                    Err(e) => Err(ApiError::BadRequest(e.to_string())),
                };
                let _ = reply.send(r);
            }
            ApiRequest::Members(reply) => {
                let _ = reply.send(Ok(self.members_view()));
            }
            ApiRequest::Join(reply) => {
                let r = self.join().await;
                let _ = reply.send(r);
            }
            ApiRequest::Act(req, reply) => {
                let r = self.act(req).await;
                let _ = reply.send(r);
            }
            ApiRequest::Report(req, reply) => {
                let r = self.report(req).await;
                let _ = reply.send(r);
            }
            ApiRequest::Lookup(q, country, reply) => {
                let r = self
                    .route(&q, country.as_deref())
                    .map(|(route, about)| self.route_view(&route, about));
                let _ = reply.send(r);
            }
            ApiRequest::Step(id, step, reply) => {
                let r = self.step(&id, step).await;
                let _ = reply.send(r);
            }
            ApiRequest::Retract(id, req, reply) => {
                let r = self.retract(&id, req.reason).await;
                let _ = reply.send(r);
            }
            ApiRequest::Peers(req, reply) => {
                let r = self.block_peers(req).await;
                let _ = reply.send(r);
            }
            ApiRequest::RotateKey(reply) => {
                let r = self.rotate_key().await;
                let _ = reply.send(r);
            }
            ApiRequest::Envelopes(reply) => {
                let _ = reply.send(self.envelope_views());
            }
        }
    }

    fn incidents(&self) -> Result<Vec<IncidentSummary>, ApiError> {
        let mut out = Vec::new();
        for s in self.store.incident_roots()? {
            let id = Envelope::decode(&s.bytes)
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .id;
            out.push(self.summary(&self.incident(&id)?));
        }
        Ok(out)
    }

    async fn status(&mut self) -> Result<StatusView, ApiError> {
        let net = self
            .net
            .status()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut peers: Vec<PeerView> = net
            .connected
            .iter()
            .map(|peer| {
                let state = self.peers.get(peer);
                PeerView {
                    peer_id: peer.to_string(),
                    team: self
                        .members
                        .members()
                        .find(|p| {
                            p.peers
                                .iter()
                                .any(|b| net::peer_id_from_bytes(b) == Some(*peer))
                        })
                        .map(|p| self.team_ref(&p.team)),
                    last_sync_ok: state.and_then(|s| s.last_sync_ok),
                    last_sync_fetched: state.map(|s| s.last_sync.fetched).unwrap_or(0),
                    last_sync_rounds: state.map(|s| s.last_sync.rounds).unwrap_or(0),
                    last_sync_bytes: state.map(|s| s.last_sync.bytes).unwrap_or(0),
                    last_sync_error: state.and_then(|s| s.last_sync_error.clone()),
                    via_relay: net.relayed.contains(peer),
                }
            })
            .collect();
        peers.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        Ok(StatusView {
            team: self.team_ref(&self.me),
            mesh_name: self.charter.name.clone(),
            mesh_id: self.mesh.to_string(),
            peer_id: net.peer_id.to_string(),
            listen_addrs: net
                .listen_addrs
                .iter()
                .map(|a| {
                    // Relayed addresses already end with our peer id.
                    let me = format!("/p2p/{}", net.peer_id);
                    if a.to_string().ends_with(&me) {
                        a.to_string()
                    } else {
                        format!("{a}{me}")
                    }
                })
                .collect(),
            peers,
            members: self.members.len(),
            envelopes: self.store.count()?,
            waiting_for_key: self.store.waiting_count()?,
            accepted: self.counters.accepted,
            rejected: self.counters.rejected,
            bytes_in: net.traffic.bytes_in,
            bytes_out: net.traffic.bytes_out,
            gossip_received: net.traffic.gossip_received,
            gossip_duplicates: net.traffic.gossip_duplicates,
            ignored: self.counters.ignored,
            published: self.counters.published,
            synced_in: self.counters.synced_in,
        })
    }

    fn members_view(&self) -> MembersView {
        let m = &self.members;
        let members = m
            .members()
            .map(|p| {
                let admission = m.admission(&p.team);
                MemberView {
                    team: self.team_ref(&p.team),
                    country: p.country.clone(),
                    constituency: p.constituency.iter().map(|c| c.to_string()).collect(),
                    contact: p.contact.clone(),
                    founder: m.is_founder(&p.team),
                    peers: p
                        .peers
                        .iter()
                        .filter_map(|b| net::peer_id_from_bytes(b))
                        .map(|p| p.to_string())
                        .collect(),
                    sponsors: admission
                        .map(|(s, _)| s.iter().map(|t| self.team_ref(t)).collect())
                        .unwrap_or_default(),
                    admitted_at: admission.map(|(_, at)| *at),
                }
            })
            .collect();
        let applicants = m
            .applicants()
            .iter()
            .map(|(team, a)| {
                let p = m.profile(team);
                ApplicantView {
                    team: self.team_ref(team),
                    country: p.and_then(|p| p.country.clone()),
                    constituency: p
                        .map(|p| p.constituency.iter().map(|c| c.to_string()).collect())
                        .unwrap_or_default(),
                    contact: p.and_then(|p| p.contact.clone()),
                    sponsors: a.sponsors.iter().map(|t| self.team_ref(t)).collect(),
                    needed: m.threshold().saturating_sub(a.sponsors.len()),
                    objections: a
                        .objections
                        .iter()
                        .map(|(by, reason, at)| ObjectionView {
                            by: self.team_ref(by),
                            reason: reason.clone(),
                            at: *at,
                        })
                        .collect(),
                    threshold_reached_at: a.threshold_reached_at,
                }
            })
            .collect();
        let removed = m
            .removed()
            .iter()
            .map(|(team, r)| RemovedView {
                team: self.team_ref(team),
                how: match &r.removal {
                    mesh_core::membership::Removal::Revoked { reason } => {
                        format!("revoked its own key: {reason}")
                    }
                    mesh_core::membership::Removal::Suspended { by } => format!(
                        "suspended by {}",
                        by.iter()
                            .map(|t| self.team_ref(t).to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
                at: r.at,
            })
            .collect();
        MembersView {
            threshold: m.threshold(),
            objection_window_ms: self.rules.objection_window_ms,
            members,
            applicants,
            removed,
        }
    }

    /// Publishes this team's profile as a join request.
    pub async fn join(&mut self) -> Result<Published, ApiError> {
        let body = Body::Clear(
            self.own_profile
                .to_bytes()
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        let (id, gossiped) = self.publish(Kind::Profile, Tlp::Clear, None, body).await?;
        Ok(Published {
            id: id.to_string(),
            incident: None,
            gossiped,
        })
    }

    /// Publishes a join request on first start, if this team is not a member
    /// and has not asked yet.
    pub async fn join_if_needed(&mut self) -> Result<(), ApiError> {
        if self.members.is_member(&self.me) || self.store.max_seq(&self.me)? > 0 {
            return Ok(());
        }
        let p = self.join().await?;
        tracing::info!(envelope = %p.id, "not a member yet: published a join request; members can vouch with `csirtmesh vouch {}`", self.me);
        Ok(())
    }

    /// Publishes a tombstone for one of this team's incident envelopes.
    async fn retract(&mut self, q: &str, reason: String) -> Result<Published, ApiError> {
        let q = q.trim().to_ascii_lowercase();
        let target = match q.parse::<EnvelopeId>() {
            Ok(id) => id,
            Err(_) => {
                if q.len() < 8 {
                    return Err(ApiError::BadRequest(format!(
                        "{q:?} is not an envelope id (give at least 8 hex digits)"
                    )));
                }
                let matches: Vec<EnvelopeId> = self
                    .store
                    .ids()?
                    .into_iter()
                    .filter(|id| id.to_string().starts_with(&q))
                    .collect();
                match matches.as_slice() {
                    [one] => *one,
                    [] => return Err(ApiError::NotFound(format!("no envelope {q}"))),
                    _ => {
                        return Err(ApiError::BadRequest(format!(
                            "{q} matches several envelopes; give more digits"
                        )));
                    }
                }
            }
        };
        let stored = self
            .store
            .get(&target)?
            .ok_or_else(|| ApiError::NotFound(format!("no envelope {target}")))?;
        let env = Envelope::decode(&stored.bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
        if env.content.author != self.me {
            return Err(ApiError::BadRequest(format!(
                "only its author can retract an envelope; this one is by {}",
                self.team_ref(&env.content.author)
            )));
        }
        if env.content.kind != Kind::Incident {
            return Err(ApiError::BadRequest(
                "only incident envelopes (reports, comments, status changes) can be retracted"
                    .into(),
            ));
        }
        let body = proto::Retraction { target, reason }
            .to_bytes()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let thread = env.content.thread.unwrap_or(target);
        let (id, gossiped) = self
            .publish(
                Kind::Retraction,
                Tlp::Clear,
                Some(thread),
                Body::Clear(body),
            )
            .await?;
        Ok(Published {
            id: id.to_string(),
            incident: Some(thread.to_string()),
            gossiped,
        })
    }

    async fn block_peers(&mut self, req: PeerBlock) -> Result<StatusView, ApiError> {
        let mut peers = Vec::new();
        for p in &req.block {
            peers.push(
                p.parse::<PeerId>()
                    .map_err(|e| ApiError::BadRequest(format!("{p:?} is not a peer id: {e}")))?,
            );
        }
        if req.unblock_all {
            self.net
                .unblock_all()
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
        if !peers.is_empty() {
            self.net
                .block(peers)
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
        for a in &req.dial {
            let addr: net::Multiaddr = a
                .parse()
                .map_err(|e| ApiError::BadRequest(format!("{a:?} is not a multiaddr: {e}")))?;
            self.net
                .dial(addr)
                .await
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        }
        self.status().await
    }

    /// Replaces the team's signing key. Crash-safe order: the new key is
    /// durable in `team.key.next` before the rotation act names it; the act
    /// is durable before `team.key` is replaced; a restart finishes or
    /// discards an interrupted rotation (`crate::recover_key_rotation`).
    async fn rotate_key(&mut self) -> Result<Published, ApiError> {
        if !self.members.is_member(&self.me) {
            return Err(ApiError::BadRequest("only a member rotates its key".into()));
        }
        let dir = self.dir.clone().ok_or_else(|| {
            ApiError::Internal("this node has no data directory to keep a new key in".into())
        })?;
        let new = self.keys.with_new_signing_key();
        let next = dir.file(crate::datadir::files::TEAM_KEY_NEXT);
        let _ = std::fs::remove_file(&next);
        crate::datadir::write_new(&next, new.secrets().0.as_bytes(), 0o600)?;
        let msg = proto::membership::rotation_message(&self.mesh, &self.me);
        let act = MembershipAct::RotateKey {
            new: new.team_id(),
            proof: new.sign(proto::context::KEY_ROTATION, &msg),
        };
        let body = Body::Clear(
            act.to_bytes()
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        let (id, gossiped) = self
            .publish(Kind::Membership, Tlp::Clear, None, body)
            .await?;
        std::fs::rename(&next, dir.file(crate::datadir::files::TEAM_KEY))
            .map_err(|e| ApiError::Internal(format!("the rotation is published but team.key was not replaced: {e}; restart the node to finish it")))?;
        let old = self.me;
        self.keys = new;
        self.me = self.keys.team_id();
        self.seq = self.store.max_seq(&self.me)?;
        let signed = crate::resign_profile(&dir, &self.keys)?;
        self.own_profile = signed;
        // Publish the profile under the new key, so others can address it.
        self.join().await?;
        tracing::info!(old = %old.short(), new = %self.me.short(), "rotated the team's signing key");
        Ok(Published {
            id: id.to_string(),
            incident: None,
            gossiped,
        })
    }

    async fn act(&mut self, req: MembershipRequest) -> Result<Published, ApiError> {
        if !self.members.is_member(&self.me) {
            return Err(ApiError::BadRequest(
                "this team is not a member of the mesh (yet): only members vouch, object, suspend or revoke".into(),
            ));
        }
        let bad = |m: String| ApiError::BadRequest(m);
        let team = |this: &Self| -> Result<TeamId, ApiError> {
            let q = req
                .team
                .as_deref()
                .ok_or_else(|| bad("name the team".into()))?;
            if let Ok(id) = q.parse::<TeamId>() {
                return Ok(id);
            }
            this.members
                .find_known(q)
                .map(|p| p.team)
                .map_err(|e| bad(e.to_string()))
        };
        let act = match req.action.as_str() {
            "vouch" => {
                let candidate = team(self)?;
                if candidate == self.me {
                    return Err(bad("a team cannot vouch for itself".into()));
                }
                if self.members.is_member(&candidate) {
                    return Err(bad(format!(
                        "{} is already a member",
                        self.team_ref(&candidate)
                    )));
                }
                let days = req.days.unwrap_or(DEFAULT_ENDORSEMENT_DAYS).clamp(1, 366);
                MembershipAct::Endorse {
                    candidate,
                    expires_at: now_ms() + days * 24 * 3600 * 1000,
                }
            }
            "object" => {
                let candidate = team(self)?;
                if self.members.is_member(&candidate) {
                    return Err(bad(format!(
                        "{} is already a member: to remove a member, suspend it",
                        self.team_ref(&candidate)
                    )));
                }
                MembershipAct::Object {
                    candidate,
                    reason: req.reason,
                }
            }
            "suspend" => {
                let target = team(self)?;
                if !self.members.is_member(&target) {
                    return Err(bad(format!("{} is not a member", self.team_ref(&target))));
                }
                if target == self.me {
                    return Err(bad(
                        "to leave, revoke your own key (`csirtmesh revoke`)".into()
                    ));
                }
                MembershipAct::Suspend {
                    target,
                    reason: req.reason,
                }
            }
            "revoke" => MembershipAct::Revoke { reason: req.reason },
            other => return Err(bad(format!("unknown membership action {other:?}"))),
        };
        let body = Body::Clear(act.to_bytes().map_err(|e| bad(e.to_string()))?);
        let (id, gossiped) = self
            .publish(Kind::Membership, Tlp::Clear, None, body)
            .await?;
        Ok(Published {
            id: id.to_string(),
            incident: None,
            gossiped,
        })
    }

    fn envelope_views(&self) -> Result<Vec<EnvelopeView>, ApiError> {
        let mut out = Vec::new();
        for id in self.store.ids()? {
            let Some(s) = self.store.get(&id)? else {
                continue;
            };
            let env = Envelope::decode(&s.bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
            let c = &env.content;
            out.push(EnvelopeView {
                id: id.to_string(),
                author: self.team_ref(&c.author),
                kind: match c.kind {
                    Kind::Profile => "profile",
                    Kind::KeyShare => "key-share",
                    Kind::Incident => "incident",
                    Kind::Membership => "membership",
                    Kind::Retraction => "retraction",
                }
                .into(),
                tlp: c.tlp.to_string(),
                created_at: c.created_at,
                size: env.size(),
                thread: c.thread.map(|t| t.to_string()),
                readable: s.opened.is_some(),
                waiting_for_key: s.waiting_for_key,
                received_at: s.received_at,
            });
        }
        Ok(out)
    }
}

fn reason_kind(r: &Reason) -> String {
    let s = format!("{r:?}");
    s.split('(').next().unwrap_or_default().to_owned()
}

fn note_suffix(note: &str) -> String {
    if note.is_empty() {
        String::new()
    } else {
        format!(": {note}")
    }
}

/// An envelope that passed every check, waiting for its durable write.
struct Prepared {
    verified: VerifiedEnvelope,
    derived: Derived,
    /// The key of the envelope it retracts, if stored (leaves the sync set).
    retracted_key: Option<(u64, EnvelopeId)>,
}

/// The verdict when the durable write failed: not the sender's fault (disk
/// full, I/O error), so no penalty, and nothing is acknowledged; sync brings
/// the envelope again later.
fn store_failed(e: &store::Error, id: EnvelopeId) -> Verdict {
    tracing::error!(error = %e, %id, "cannot store envelope");
    Verdict::Ignore(Reason::Malformed(format!("not stored: {e}")))
}

/// Decodes wire bytes; what does not decode is refused as malformed.
fn decode(bytes: &[u8]) -> Result<Envelope, Verdict> {
    Envelope::decode(bytes).map_err(|e| Verdict::Reject(Reason::Malformed(e.to_string())))
}

/// The membership act an accepted envelope carries, if it is one.
fn record_of(env: &Envelope) -> Option<Record> {
    match (&env.content.kind, &env.content.body) {
        (Kind::Membership, Body::Clear(b)) => MembershipAct::from_bytes(b).ok().map(|act| Record {
            id: env.id,
            author: env.content.author,
            created_at: env.content.created_at,
            act,
        }),
        _ => None,
    }
}

/// A digest of the member set, to tell when the GREEN key must rotate.
fn members_digest(m: &Membership) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for p in m.members() {
        h.update(p.team.as_bytes());
    }
    *h.finalize().as_bytes()
}

fn recipients_of(profiles: &[Profile]) -> Result<Vec<seal::AgeRecipient>, ApiError> {
    profiles
        .iter()
        .map(|p| {
            seal::parse_recipient(&p.recipient)
                .map_err(|e| ApiError::Internal(format!("{}: {e}", p.name)))
        })
        .collect()
}

/// The inner content of a plaintext this node stored after checking it.
fn inner_of(plaintext: &[u8]) -> Result<InnerContent> {
    let signed = SignedInner::from_bytes(plaintext)?;
    Ok(InnerContent::from_bytes(&signed.content)?)
}

fn entry_of(s: &Stored) -> Result<ThreadEntry, ApiError> {
    let env = Envelope::decode(&s.bytes)
        .map_err(|e| ApiError::Internal(format!("stored envelope: {e}")))?;
    let inner = match &s.opened {
        Some(p) => {
            Some(inner_of(p).map_err(|e| ApiError::Internal(format!("stored plaintext: {e:#}")))?)
        }
        None => None,
    };
    let (payload, recipients) = match inner {
        Some(InnerContent {
            payload: Payload::Incident(p),
            recipients,
            ..
        }) => (Some(p), recipients),
        Some(_) => {
            return Err(ApiError::Internal(
                anyhow!("not an incident envelope").to_string(),
            ));
        }
        None => (None, vec![]),
    };
    Ok(ThreadEntry {
        id: env.id,
        author: env.content.author,
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

mod anti_entropy;
pub use anti_entropy::SyncResult;

#[cfg(test)]
mod tests;
