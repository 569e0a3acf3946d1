//! The node's one loop: routes network events, API requests and
//! anti-entropy results to the [`Node`], and carries out what the node asks
//! of the network ([`Effect`]s).
//!
//! Who owns what:
//! - this loop owns the [`Node`] (store, keys, members), the per-peer state,
//!   the outbox of envelopes not gossiped yet, and the anti-entropy tasks;
//! - the network actor (`net::EventLoop`) owns the swarm. It never waits for
//!   this loop (an event it has no room for is held while it keeps serving
//!   commands), so this loop may await its answers (publish, status);
//!   commands without an answer (verdicts, sync answers, bans) never
//!   wait for room (`net::Error::Busy`);
//! - the admin API (axum) sends [`ApiRequest`]s with a `oneshot` reply;
//! - anti-entropy's network exchanges run as tasks in a bounded
//!   [`tokio::task::JoinSet`] (`anti_entropy`) whose results come back here;
//!   at shutdown they are aborted and awaited.
//!
//! Channels: net events (`net::Config::event_capacity`, 1,024), API requests
//! (64, from `crate::run`), net commands (2,048, in `net`). The `select!` is
//! biased: shutdown first, then the operator's API calls, then anti-entropy
//! results, then the sync timer (so a flood cannot starve it), then network
//! events.
//!
//! The clock is read here, once per event, and handed to the node.

mod anti_entropy;

use std::{
    collections::{HashMap, VecDeque},
    time::Duration,
};

use anyhow::Result;
use mesh_core::Verdict;
use net::PeerId;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    api::{
        ApiError, ApiRequest,
        request::Reply,
        types::{Published, ReportPublished, StatusView},
        views,
    },
    node::{Effect, Node, Origin, SyncAccess},
    now_ms,
};

/// A peer that sent this many envelopes with a fault every node sees
/// (`Reason::blames_sender`), by gossip or sync, is banned (the network
/// layer also bans peers whose gossip score falls below the graylist
/// threshold).
const MAX_REJECTS_PER_PEER: u32 = 3;

/// Envelopes we authored but could not gossip yet (no peer subscribed). A
/// bound: past it anti-entropy delivers them instead.
const OUTBOX_CAPACITY: usize = 1024;

/// What the loop knows of a connected peer.
#[derive(Default)]
struct PeerState {
    /// Invalid envelopes it sent.
    rejects: u32,
    /// The reconciliation we started with it, if one is under way.
    conversation: Option<anti_entropy::Conversation>,
    /// How the last finished conversation went.
    last_sync: views::PeerSync,
}

/// The loop. Build with [`EventLoop::new`], then [`EventLoop::run`].
pub struct EventLoop {
    /// The node's state; only this loop touches it.
    node: Node,
    /// Commands to the network actor.
    net: net::Client,
    /// Our envelopes not gossiped yet: no peer was subscribed.
    outbox: VecDeque<Vec<u8>>,
    /// Connected peers.
    peers: HashMap<PeerId, PeerState>,
    /// Anti-entropy's network exchanges in flight.
    sync: anti_entropy::Tasks,
    /// Admitted nodes (members', applicants') not yet told to the network.
    admitted: Option<(Vec<PeerId>, Vec<PeerId>)>,
}

impl EventLoop {
    /// A loop around `node`, talking to the network through `net`.
    pub fn new(node: Node, net: net::Client) -> Self {
        EventLoop {
            node,
            net,
            outbox: VecDeque::new(),
            peers: HashMap::new(),
            sync: anti_entropy::Tasks::default(),
            admitted: None,
        }
    }

    /// Runs until `shutdown`; then stops the anti-entropy tasks and waits
    /// for them.
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<net::Event>,
        mut api: mpsc::Receiver<ApiRequest>,
        sync_interval: Duration,
        shutdown: CancellationToken,
    ) -> Result<()> {
        let mut sync_tick = tokio::time::interval(sync_interval);
        sync_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if let Err(e) = self.node.join_if_needed(now_ms()) {
            tracing::warn!(error = %e, "could not publish the join request");
        }
        self.carry_out().await;
        let result = loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break Ok(()),
                Some(r) = api.recv() => self.on_api(r).await,
                Some(r) = self.sync.next(), if !self.sync.is_empty() => {
                    self.on_sync_result(r);
                    self.carry_out().await;
                }
                _ = sync_tick.tick() => self.on_tick().await,
                e = events.recv() => match e {
                    Some(e) => self.on_net_event(e).await,
                    // The network stops first when both see the shutdown.
                    None if shutdown.is_cancelled() => break Ok(()),
                    None => break Err(anyhow::anyhow!("the network stopped unexpectedly")),
                },
            }
        };
        self.sync.shutdown().await;
        result
    }

    async fn on_tick(&mut self) {
        // Membership changes with time alone: objection windows pass,
        // applications open and close.
        if self.node.membership_due(now_ms())
            && let Err(e) = self.node.rebuild_membership(now_ms())
        {
            tracing::error!(error = %format!("{e:#}"), "cannot rebuild membership");
        }
        if let Err(e) = self.node.forget_retired_age_keys(now_ms()) {
            tracing::error!(error = %format!("{e:#}"), "cannot delete retired age keys");
        }
        self.sync_with_random_peer();
        self.carry_out().await;
    }

    async fn on_net_event(&mut self, event: net::Event) {
        match event {
            net::Event::Gossip {
                message_id,
                source,
                data,
            } => {
                let verdict = self.node.ingest(now_ms(), &data, Origin::Gossip(source));
                // A fault every node sees blames the peer. So does any
                // refusal from a peer that is not a member's node: it has
                // nothing of the mesh's to relay (its own join request is
                // not blamed, see `Node::prepare`), whereas a member's node
                // may relay, in good faith, what its view of the members
                // allows: that is not relayed, and costs it nothing, not
                // even gossip score.
                let blamed = matches!(&verdict, Verdict::Reject(reason)
                    if reason.blames_sender() || self.node.sync_access(&source) != SyncAccess::Full);
                let v = match verdict {
                    Verdict::Accept => net::Validation::Accept,
                    Verdict::Reject(_) if blamed => net::Validation::Reject,
                    Verdict::Reject(_) | Verdict::Ignore(_) => net::Validation::Ignore,
                };
                if let Err(e) = self.net.validate(message_id, source, v) {
                    // Unvalidated, gossipsub forgets it; anti-entropy brings
                    // what we accepted to those who miss it.
                    tracing::debug!(error = %e, "verdict not reported to gossip");
                }
                if blamed {
                    self.penalise(source);
                }
            }
            net::Event::Request {
                peer,
                data,
                channel,
            } => {
                let (answer, need) = self.node.answer_sync(now_ms(), peer, &data);
                let bytes = answer.to_bytes().unwrap_or_default();
                if let Err(e) = self.net.respond(channel, bytes) {
                    tracing::debug!(%peer, error = %e, "sync answer not sent");
                }
                // As a responder, fetch what the exchange shows we lack.
                self.fetch(peer, need, false);
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
        self.carry_out().await;
    }

    /// Counts an invalid envelope against a connected peer; the third bans
    /// it (and the count starts over, so one bad batch is one ban).
    fn penalise(&mut self, peer: PeerId) {
        let Some(state) = self.peers.get_mut(&peer) else {
            // Gone already (a sync result after it disconnected).
            return;
        };
        state.rejects += 1;
        if state.rejects >= MAX_REJECTS_PER_PEER {
            let reason = format!("sent {} invalid envelopes", state.rejects);
            state.rejects = 0;
            if let Err(e) = self.net.ban(peer, reason) {
                tracing::warn!(%peer, error = %e, "could not ban peer");
            }
        }
    }

    /// Carries out what the node asked of the network since the last call.
    /// Returns whether every envelope went out on gossip now.
    async fn carry_out(&mut self) -> bool {
        let mut gossiped = true;
        for effect in self.node.take_effects() {
            match effect {
                Effect::Gossip(bytes) => gossiped &= self.gossip(bytes).await,
                // Only the last lists count: one command, not one per change.
                Effect::Admitted {
                    members,
                    applicants,
                } => self.admitted = Some((members, applicants)),
            }
        }
        if let Some((members, applicants)) = self.admitted.take()
            && let Err(e) = self.net.set_admitted(members.clone(), applicants.clone())
        {
            // The network's queue is full: kept, and tried again next time.
            tracing::debug!(error = %e, "admitted peers not updated yet");
            self.admitted = Some((members, applicants));
        }
        gossiped
    }

    /// Gossips one of our envelopes, or keeps it in the outbox until a peer
    /// subscribes (anti-entropy delivers it in any case).
    async fn gossip(&mut self, bytes: Vec<u8>) -> bool {
        match self.net.publish(bytes.clone()).await {
            Ok(()) => true,
            Err(net::Error::NoPeers) => {
                if self.outbox.len() == OUTBOX_CAPACITY {
                    self.outbox.pop_front();
                }
                self.outbox.push_back(bytes);
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "gossip publish failed; anti-entropy will deliver it");
                false
            }
        }
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

    /// Routes an API request to the node; answers once the network effects
    /// are carried out (so `gossiped` is known).
    async fn on_api(&mut self, request: ApiRequest) {
        let now = now_ms();
        let node = &mut self.node;
        match request {
            ApiRequest::Status(reply) => {
                let r = self.status().await;
                let _ = reply.send(r);
            }
            ApiRequest::Peers(req, reply) => {
                let r = self.peers_request(req).await;
                let _ = reply.send(r);
            }
            ApiRequest::Incidents(reply) => {
                let r = node.incidents(now);
                self.answer(reply, r).await
            }
            ApiRequest::Incident(id, reply) => {
                let r = node.incident_view(now, &id);
                self.answer(reply, r).await
            }
            ApiRequest::Open(req, reply) => {
                let r = node.open_incident(now, req);
                self.answer(reply, r).await
            }
            ApiRequest::Comment(id, c, reply) => {
                let r = node.comment(now, &id, c);
                self.answer(reply, r).await
            }
            ApiRequest::SetStatus(id, s, reply) => {
                let r = node.set_status(now, &id, s);
                self.answer(reply, r).await
            }
            ApiRequest::Members(reply) => {
                let r = Ok(node.members_view());
                self.answer(reply, r).await
            }
            ApiRequest::Join(reply) => {
                let r = node.join(now);
                self.answer(reply, r).await
            }
            ApiRequest::Act(req, reply) => {
                let r = node.act(now, req);
                self.answer(reply, r).await
            }
            ApiRequest::Report(req, reply) => {
                let r = node.report(now, req);
                self.answer(reply, r).await
            }
            ApiRequest::Lookup(q, country, reply) => {
                let r = node.lookup(&q, country.as_deref());
                self.answer(reply, r).await
            }
            ApiRequest::Step(id, step, reply) => {
                let r = node.step(now, &id, step);
                self.answer(reply, r).await
            }
            ApiRequest::Retract(id, req, reply) => {
                let r = node.retract(now, &id, req);
                self.answer(reply, r).await
            }
            ApiRequest::Check(reply) => {
                let r = node.check(now);
                self.answer(reply, r).await
            }
            ApiRequest::RotateKey(req, reply) => {
                let r = node.rotate_keys(now, req);
                self.answer(reply, r).await
            }
            ApiRequest::Envelopes(reply) => {
                let r = node.envelopes(now);
                self.answer(reply, r).await
            }
            ApiRequest::Export(q, reply) => {
                let r = node.export(now, &q);
                self.answer(reply, r).await
            }
            ApiRequest::Import(parsed, q, reply) => {
                let r = node.import(now, parsed, &q);
                self.answer(reply, r).await
            }
            ApiRequest::Profile(details, reply) => {
                let r = node.update_profile(now, details);
                self.answer(reply, r).await
            }
        }
    }

    /// Carries out the node's effects, then answers.
    async fn answer<T: Answer>(&mut self, reply: Reply<T>, result: Result<T, ApiError>) {
        let gossiped = self.carry_out().await;
        let _ = reply.send(result.map(|mut a| {
            a.set_gossiped(gossiped);
            a
        }));
    }

    /// The node's status, with the network's.
    async fn status(&mut self) -> Result<StatusView, ApiError> {
        let net = self.net.status().await?;
        let pending_handoffs = self.node.pending_handoffs(now_ms())?;
        let node = &self.node;
        let peers = &self.peers;
        let sync = |p: &PeerId| {
            peers
                .get(p)
                .map(|s| s.last_sync.clone())
                .unwrap_or_default()
        };
        Ok(views::status(views::StatusParts {
            members: node.members(),
            me: node.me(),
            mesh_name: node.charter().name.clone(),
            mesh_id: node.mesh().to_string(),
            net: &net,
            sync: &sync,
            envelopes: node.store().count()?,
            waiting_for_key: node.store().waiting_count()?,
            quarantined: node.store().quarantine_count()?,
            counters: node.counters(),
            store_bytes: node.store_bytes(),
            catching_up: node.catching_up(),
            pending_handoffs,
            clock: node.clock_offset(now_ms()),
        }))
    }

    /// Blocks and unblocks peers, dials addresses; answers with the status.
    async fn peers_request(
        &mut self,
        req: crate::api::types::PeerBlock,
    ) -> Result<StatusView, ApiError> {
        let peer_ids = |list: &[String]| {
            list.iter()
                .map(|p| {
                    p.parse::<PeerId>()
                        .map_err(|e| ApiError::BadRequest(format!("{p:?} is not a peer id: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let peers = peer_ids(&req.block)?;
        let lift = peer_ids(&req.unblock)?;
        let addrs = req
            .dial
            .iter()
            .map(|a| {
                a.parse::<net::Multiaddr>()
                    .map_err(|e| ApiError::BadRequest(format!("{a:?} is not a multiaddr: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if req.unblock_all {
            self.net.unblock_all()?;
        }
        if !lift.is_empty() {
            self.net.unblock(lift)?;
        }
        if !peers.is_empty() {
            self.net.block(peers)?;
        }
        for addr in addrs {
            self.net.dial(addr).await?;
        }
        self.status().await
    }
}

/// An API answer; those that report a publish learn whether it was gossiped.
trait Answer {
    fn set_gossiped(&mut self, _gossiped: bool) {}
}

impl Answer for Published {
    fn set_gossiped(&mut self, gossiped: bool) {
        self.gossiped = gossiped;
    }
}

impl Answer for ReportPublished {
    fn set_gossiped(&mut self, gossiped: bool) {
        self.published.gossiped = gossiped;
    }
}

impl<T> Answer for Vec<T> {}
impl Answer for crate::api::types::IncidentView {}
impl Answer for crate::api::types::MembersView {}
impl Answer for crate::api::types::RouteView {}
impl Answer for crate::api::types::CheckView {}
impl Answer for crate::api::types::ImportView {}
impl Answer for serde_json::Value {}
