//! The event loop: owns the swarm, carries out commands, turns swarm events
//! into [`Event`]s.
//!
//! Who owns what: the loop alone owns the `Swarm`; pending sync requests are
//! correlated with their `oneshot` reply by `OutboundRequestId`; the node
//! owns everything above. The loop ends when the shutdown token fires or the
//! command channel closes (every `Client` dropped).
//!
//! Why the loop never awaits the node: the node awaits answers from this
//! loop (publish, status). If this loop waited for room in the event channel
//! while the node waited for an answer, both would stop. So an event the
//! node has no room for is held in [`EventLoop::undelivered`]; while it is
//! held the swarm is not polled (backpressure to peers through their
//! connections' flow control), but commands are still served. The `select!`
//! is biased: shutdown, then commands, then timers, then delivery, then the
//! swarm.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use futures::StreamExt;
use libp2p::{
    Multiaddr, PeerId, Swarm, SwarmBuilder,
    gossipsub::{IdentTopic, MessageAcceptance, PeerScoreThresholds, PublishError},
    metrics::Registry,
    multiaddr::Protocol,
    noise,
    request_response::OutboundRequestId,
    yamux,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::{
    Command, Config, Error, Event, Status, Validation,
    behaviour::{Behaviour, RelayAllowed},
};

mod swarm_events;

/// The application-specific gossip score of applicants' and strangers'
/// nodes: times gossipsub's weight (10), -60, below the publish (-50) and
/// gossip (-10) thresholds, above the graylist (-80).
const OUTSIDER_SCORE: f64 = -6.0;

/// How often peer scores are checked for peers to disconnect.
const SCORE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Where the answer to one of our sync requests goes.
type PendingRequest = (PeerId, oneshot::Sender<Result<Vec<u8>, Error>>);

/// Drives the swarm. Spawn [`EventLoop::run`].
pub struct EventLoop {
    swarm: Swarm<Behaviour>,
    /// libp2p's metrics (bandwidth, gossipsub), read for [`crate::Traffic`].
    registry: Registry,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    /// An event the node had no room for yet; delivered before the swarm is
    /// polled again.
    undelivered: Option<Event>,
    topic: IdentTopic,
    config: Config,
    /// Sync requests in flight, by id, with where their answer goes.
    pending_requests: HashMap<OutboundRequestId, PendingRequest>,
    /// Peers we are connected to (at least one connection).
    connected: HashSet<PeerId>,
    /// Peers kept out (banned for misbehaving, or blocked by the operator),
    /// mirrored in the behaviour's block list.
    bans: crate::bans::Bans,
    /// Peers that may use our relay (members' nodes), shared with the
    /// relay's limiters.
    relay_allowed: RelayAllowed,
    /// Members' nodes AutoNAT asks whether we can be dialled.
    autonat_servers: HashSet<PeerId>,
    /// Relayed connections upgraded to direct ones by hole punching.
    hole_punches: u64,
    /// Who may stay connected; strangers on probation.
    welcome: crate::welcome::Welcome,
    /// Listen addresses through a relay: the address, the relay, and the
    /// listener while it is up. We listen once connected to the relay (a
    /// reservation attempted while our own dial to it is pending fails); a
    /// relay may refuse us (we are not admitted yet) or restart, so the
    /// discovery tick listens again on those that are down.
    circuits: Vec<(
        Multiaddr,
        PeerId,
        Option<libp2p::core::transport::ListenerId>,
    )>,
    /// Connections that run through a relay, by peer.
    relayed: HashMap<PeerId, HashSet<libp2p::swarm::ConnectionId>>,
    /// Peers found by discovery that we are dialling: they count towards
    /// `target_peers` until the dial ends, or a burst of discoveries would
    /// dial everyone at once.
    dialling: HashSet<PeerId>,
}

impl EventLoop {
    pub(crate) fn new(
        key: libp2p::identity::Keypair,
        config: Config,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<Event>,
    ) -> Result<Self, Error> {
        let start = |e: &dyn std::fmt::Display| Error::Start(e.to_string());
        let behaviour_config = config.clone();
        let relay_allowed = RelayAllowed::default();
        let limiter_allowed = relay_allowed.clone();
        let mut registry = Registry::default();
        let mut swarm = SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_quic()
            .with_other_transport(|key| {
                crate::transport::build(key, &behaviour_config)
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
            })
            .map_err(|e| start(&e))?
            .with_relay_client(noise::Config::new, yamux::Config::default)
            .map_err(|e| start(&e))?
            .with_bandwidth_metrics(&mut registry)
            .with_behaviour(|key, relay_client| {
                Behaviour::new(
                    key,
                    &behaviour_config,
                    relay_client,
                    &limiter_allowed,
                    registry.sub_registry_with_prefix("gossipsub"),
                )
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
            })
            .map_err(|e| start(&e))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(config.idle_timeout))
            .build();
        let mut circuits = Vec::new();
        for addr in &config.listen {
            if addr.iter().any(|p| matches!(p, Protocol::P2pCircuit)) {
                let relay = peer_of(addr).ok_or_else(|| {
                    start(&format!(
                        "{addr}: a relay address needs /p2p/<relay peer id> before /p2p-circuit"
                    ))
                })?;
                let relay_addr: Multiaddr = addr
                    .iter()
                    .take_while(|p| !matches!(p, Protocol::P2pCircuit))
                    .collect();
                if let Some(k) = swarm.behaviour_mut().kademlia.as_mut() {
                    k.add_address(&relay, relay_addr.clone());
                }
                if let Err(e) = swarm.dial(relay_addr) {
                    tracing::warn!(%addr, error = %e, "cannot dial relay");
                }
                circuits.push((addr.clone(), relay, None));
                continue;
            }
            swarm
                .listen_on(addr.clone())
                .map_err(|e| start(&format!("{addr}: {e}")))?;
        }
        for addr in &config.external_addresses {
            tracing::info!(%addr, "announcing a configured external address");
            swarm.add_external_address(addr.clone());
            // And ask whether it really reaches us (a port forward's outside
            // port may differ from the one listened on).
            swarm.behaviour_mut().autonat.probe_address(addr.clone());
        }
        for addr in &config.bootstrap {
            if let Some(peer) = peer_of(addr)
                && let Some(k) = swarm.behaviour_mut().kademlia.as_mut()
            {
                k.add_address(&peer, addr.clone());
            }
            if let Err(e) = swarm.dial(addr.clone()) {
                tracing::warn!(%addr, error = %e, "cannot dial bootstrap address");
            }
        }
        let ban_time = config.ban_time;
        let chosen: Vec<PeerId> = config
            .bootstrap
            .iter()
            .chain(&config.listen)
            .filter_map(peer_of)
            .collect();
        let welcome = crate::welcome::Welcome::new(config.stranger_window, chosen);
        Ok(EventLoop {
            registry,
            topic: IdentTopic::new(&config.topic),
            swarm,
            commands,
            events,
            undelivered: None,
            config,
            pending_requests: HashMap::new(),
            connected: HashSet::new(),
            bans: crate::bans::Bans::new(ban_time),
            relay_allowed,
            autonat_servers: HashSet::new(),
            hole_punches: 0,
            welcome,
            circuits,
            relayed: HashMap::new(),
            dialling: HashSet::new(),
        })
    }

    /// Runs until `shutdown` fires or every client is gone.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut discovery = tokio::time::interval(self.config.discovery_interval);
        discovery.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut score_check = tokio::time::interval(SCORE_CHECK_INTERVAL);
        score_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A second handle, so a permit it grants borrows no part of `self`.
        let events = self.events.clone();
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                command = self.commands.recv() => match command {
                    Some(c) => self.on_command(c),
                    None => break,
                },
                _ = score_check.tick() => {
                    self.lift_expired_bans();
                    self.drop_graylisted_peers();
                    self.close_strangers();
                }
                _ = discovery.tick() => self.discover(),
                permit = events.reserve(), if self.undelivered.is_some() => match permit {
                    Ok(permit) => {
                        if let Some(e) = self.undelivered.take() {
                            permit.send(e);
                        }
                    }
                    // The node dropped its receiver: it has stopped.
                    Err(_) => break,
                },
                event = self.swarm.select_next_some(), if self.undelivered.is_none() => {
                    if let Some(e) = self.on_swarm_event(event) {
                        match self.events.try_send(e) {
                            Ok(()) => {}
                            Err(mpsc::error::TrySendError::Full(e)) => self.undelivered = Some(e),
                            Err(mpsc::error::TrySendError::Closed(_)) => break,
                        }
                    }
                }
            }
        }
        for (_, (_, reply)) in self.pending_requests.drain() {
            let _ = reply.send(Err(Error::Stopped));
        }
        tracing::debug!("network event loop stopped");
    }

    /// The discovery tick: listen through relays that are down, dial the
    /// bootstrap peers again when alone, walk the DHT when short of peers.
    fn discover(&mut self) {
        self.listen_through_relays();
        if self.connected.is_empty() {
            // Alone (our bootstrap peers were down when we started, or we
            // were cut off): try them again.
            for addr in self.config.bootstrap.clone() {
                let _ = self.swarm.dial(addr);
            }
        } else if self.connected.len() < self.config.target_peers {
            // Look for more peers (a random walk). Each query connects to
            // the peers it asks, so a node with enough links does not walk.
            // Errors only when the routing table is empty; nothing to do then.
            if let Some(k) = self.swarm.behaviour_mut().kademlia.as_mut() {
                let _ = k.bootstrap();
            }
        }
    }

    /// Whether an incoming gossip message is lost on an emulated lossy
    /// link (then it is neither delivered, relayed nor penalised). Delay is
    /// applied in the transport (see `link`).
    #[cfg(feature = "link-emulation")]
    fn lost_on_link(&mut self, message_id: &libp2p::gossipsub::MessageId, source: &PeerId) -> bool {
        let Some(emu) = &self.config.emulation else {
            return false;
        };
        if rand::random::<f64>() >= emu.link(source).loss {
            return false;
        }
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(message_id, source, MessageAcceptance::Ignore);
        true
    }

    /// Listens through each configured relay we are connected to and are
    /// not yet listening through; dials the others.
    fn listen_through_relays(&mut self) {
        for (addr, relay, listener) in &mut self.circuits {
            if listener.is_some() {
                continue;
            }
            if self.swarm.is_connected(relay) {
                *listener = self.swarm.listen_on(addr.clone()).ok();
            } else {
                let relay_addr: Multiaddr = addr
                    .iter()
                    .take_while(|p| !matches!(p, Protocol::P2pCircuit))
                    .collect();
                let _ = self.swarm.dial(relay_addr);
            }
        }
    }

    /// Disconnects peers whose gossip score fell below the graylist
    /// threshold (they kept sending what the node rejected). gossipsub only
    /// ignores such peers; we also hang up and blacklist them.
    fn drop_graylisted_peers(&mut self) {
        let graylist = PeerScoreThresholds::default().graylist_threshold;
        let bad: Vec<(PeerId, f64)> = self
            .connected
            .iter()
            .filter_map(|p| {
                let score = self.swarm.behaviour().gossipsub.peer_score(p)?;
                (score < graylist).then_some((*p, score))
            })
            .collect();
        for (peer, score) in bad {
            self.ban(
                peer,
                format!("gossip score {score:.0}, below the graylist threshold"),
            );
        }
    }

    /// A peer's gossip score from its standing: members' nodes and chosen
    /// peers get none of this; applicants' and strangers' nodes sit below
    /// gossipsub's publish and gossip thresholds (nothing is published or
    /// gossiped to them, their IHAVEs are not followed) and above its
    /// graylist (what they publish, a join request, still arrives).
    pub(crate) fn apply_standing(&mut self, peer: &PeerId) {
        let score = match self.welcome.standing(peer) {
            crate::welcome::Standing::Member => 0.0,
            _ => OUTSIDER_SCORE,
        };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .set_application_score(peer, score);
    }

    /// Closes strangers whose window has passed: only members' and
    /// applicants' nodes keep a connection.
    fn close_strangers(&mut self) {
        for peer in self.welcome.due(Instant::now()) {
            tracing::info!(%peer, "closing a stranger's connection: not a member's or applicant's node");
            self.dialling.remove(&peer);
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    /// Keeps a misbehaving peer out for a while: closed, refused, not dialled.
    fn ban(&mut self, peer: PeerId, reason: String) {
        let length = self.bans.ban(peer, reason.clone(), Instant::now());
        tracing::warn!(%peer, %reason, secs = length.as_secs(), "banned peer");
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        // Out of our routing table too: peers asking us for others must
        // not learn of it.
        if let Some(k) = self.swarm.behaviour_mut().kademlia.as_mut() {
            k.remove_peer(&peer);
        }
        self.unblock_evicted();
        self.dialling.remove(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    /// Lets in the peers the full ban table forgot (they are not listed as
    /// kept out, so they must not stay blocked unseen).
    fn unblock_evicted(&mut self) {
        for peer in self.bans.take_evicted() {
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
    }

    /// Lets in again the peers whose ban is over.
    fn lift_expired_bans(&mut self) {
        for peer in self.bans.expire(Instant::now()) {
            tracing::info!(%peer, "ban lifted");
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
    }

    fn on_command(&mut self, command: Command) {
        let behaviour = self.swarm.behaviour_mut();
        match command {
            Command::Publish { data, reply } => {
                let result = match behaviour.gossipsub.publish(self.topic.clone(), data) {
                    Ok(_) => Ok(()),
                    Err(PublishError::NoPeersSubscribedToTopic) => Err(Error::NoPeers),
                    // Our own duplicate (re-publishing something already sent) is fine.
                    Err(PublishError::Duplicate) => Ok(()),
                    Err(e) => Err(Error::Publish(e.to_string())),
                };
                let _ = reply.send(result);
            }
            Command::Validate {
                message_id,
                source,
                verdict,
            } => {
                #[cfg(feature = "link-emulation")]
                let verdict = if self.config.emulation.as_ref().is_some_and(|e| e.censor) {
                    Validation::Ignore
                } else {
                    verdict
                };
                let acceptance = match verdict {
                    Validation::Accept => MessageAcceptance::Accept,
                    Validation::Reject => MessageAcceptance::Reject,
                    Validation::Ignore => MessageAcceptance::Ignore,
                };
                behaviour.gossipsub.report_message_validation_result(
                    &message_id,
                    &source,
                    acceptance,
                );
            }
            Command::Request { peer, data, reply } => {
                let id = behaviour.sync.send_request(&peer, data);
                self.pending_requests.insert(id, (peer, reply));
            }
            Command::Respond { channel, data } => {
                // Fails only if the peer went away meanwhile.
                let _ = behaviour.sync.send_response(channel.0, data);
            }
            Command::Dial { addr, reply } => {
                if let Some(peer) = peer_of(&addr) {
                    self.welcome.choose(peer);
                    if let Some(k) = behaviour.kademlia.as_mut() {
                        k.add_address(&peer, addr.clone());
                    }
                }
                let result = self.swarm.dial(addr.clone()).map_err(|e| Error::Dial {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                });
                let _ = reply.send(result);
            }
            Command::Ban { peer, reason } => self.ban(peer, reason),
            Command::Block { peers } => {
                for peer in peers {
                    behaviour.blocked.block_peer(peer);
                    self.bans.block(peer, "blocked by the operator".into());
                }
                self.unblock_evicted();
            }
            Command::Unblock { peers } => {
                for peer in peers {
                    if self.bans.lift(&peer) {
                        behaviour.blocked.unblock_peer(peer);
                    }
                }
            }
            Command::Admitted {
                members,
                applicants,
            } => {
                if let Ok(mut allowed) = self.relay_allowed.lock() {
                    *allowed = Some(members.iter().copied().collect());
                }
                // Only members' nodes are asked whether we can be dialled:
                // a server's answer confirms an external address, which
                // identify then advertises.
                let me = *self.swarm.local_peer_id();
                let autonat = &mut self.swarm.behaviour_mut().autonat;
                for peer in self.autonat_servers.drain() {
                    autonat.remove_server(&peer);
                }
                for peer in members.iter().filter(|p| **p != me) {
                    autonat.add_server(*peer, None);
                    self.autonat_servers.insert(*peer);
                }
                self.welcome.set(
                    members.into_iter().collect(),
                    applicants.into_iter().collect(),
                    &self.connected,
                    Instant::now(),
                );
                for peer in self.connected.clone() {
                    self.apply_standing(&peer);
                }
            }
            Command::UnblockAll => {
                for peer in self.bans.lift_all() {
                    behaviour.blocked.unblock_peer(peer);
                }
            }
            Command::Status { reply } => {
                let topic_peers = self
                    .swarm
                    .behaviour()
                    .gossipsub
                    .all_peers()
                    .filter(|(_, topics)| topics.contains(&&self.topic.hash()))
                    .count();
                let status = Status {
                    relayed: self
                        .relayed
                        .iter()
                        .filter(|(_, c)| !c.is_empty())
                        .map(|(p, _)| *p)
                        .collect(),
                    peer_id: *self.swarm.local_peer_id(),
                    listen_addrs: self.swarm.listeners().cloned().collect(),
                    connected: self.connected.iter().copied().collect(),
                    topic_peers,
                    traffic: crate::traffic::read(&self.registry),
                    blocked: self.bans.list(Instant::now()),
                    strangers: self.welcome.strangers(),
                    strangers_closed: self.welcome.closed(),
                    hole_punches: self.hole_punches,
                    reachability: match self.swarm.behaviour().autonat.nat_status() {
                        libp2p::autonat::NatStatus::Public(_) => crate::Reachability::Public,
                        libp2p::autonat::NatStatus::Private => crate::Reachability::Private,
                        libp2p::autonat::NatStatus::Unknown => crate::Reachability::Unknown,
                    },
                };
                let _ = reply.send(status);
            }
        }
    }
}

/// The `/p2p/<peer id>` at the end of an address, if any.
fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}
