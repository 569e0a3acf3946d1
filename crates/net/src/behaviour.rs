//! The one `NetworkBehaviour` and how each part is configured.

use std::{collections::HashMap, time::Duration};

use libp2p::{
    PeerId, allow_block_list, autonat, connection_limits, dcutr,
    gossipsub::{
        self, IdentTopic, MessageAuthenticity, MessageId, PeerScoreParams, PeerScoreThresholds,
        TopicScoreParams,
    },
    identify,
    identity::Keypair,
    kad, ping, relay, request_response,
    swarm::NetworkBehaviour,
    swarm::behaviour::toggle::Toggle,
};

use crate::{Config, Error, codec::BytesCodec, protocol};

/// How many times the largest message a gossip frame may be (see
/// `max_transmit_size`).
const OVERSIZE_SEEN: usize = 4;

/// Everything the node speaks.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// A bound on connections (first: a connection it denies must not be
    /// seen by the behaviours after it, which libp2p requires): `LINK_FACTOR` times `target_peers` in all,
    /// eight per peer (two nodes dialling each other at once, relayed
    /// connections, and AutoNAT's dial-backs, which the event loop closes
    /// once established: a bound they hit makes the peer believe itself
    /// unreachable). Kademlia's walks and other nodes' dials would
    /// otherwise connect every node to every other, and gossip keeps its
    /// connections open, so they never idle out.
    pub(crate) limits: connection_limits::Behaviour,
    /// Peers the operator (or the testnet, for a partition) blocked: no
    /// connection in or out.
    pub(crate) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    /// Envelope dissemination, validated by the node before relaying.
    pub(crate) gossipsub: gossipsub::Behaviour,
    /// Peer discovery: one bootstrap address is enough to find the rest.
    /// Off in simulations that give each node its links (`Config::discovery`).
    pub(crate) kademlia: Toggle<kad::Behaviour<kad::store::MemoryStore>>,
    /// Tells peers our listen addresses and protocols, feeding Kademlia.
    pub(crate) identify: identify::Behaviour,
    /// Liveness of connections.
    pub(crate) ping: ping::Behaviour,
    /// Anti-entropy requests between two nodes (bytes; the node gives meaning).
    pub(crate) sync: request_response::Behaviour<BytesCodec>,
    /// Circuit relay v2 server, on nodes of teams with the `relay` role: it
    /// carries (ciphertext) traffic for nodes that cannot be reached directly.
    pub(crate) relay: Toggle<relay::Behaviour>,
    /// Circuit relay client: listen and dial through a relay.
    pub(crate) relay_client: relay::client::Behaviour,
    /// Hole punching over a relayed connection, where the network allows it.
    pub(crate) dcutr: dcutr::Behaviour,
    /// Whether others can dial this node (AutoNAT v1): connected peers are
    /// asked to dial back the addresses they see it at; and the same for
    /// them (a peer is dialled back only at its own IP address).
    pub(crate) autonat: autonat::Behaviour,
}

/// AutoNAT's settings. On the internet, only public addresses are dialled
/// back (no one uses a node to probe a private network); a mesh on a
/// private network says so (`Config::private_network`). Test builds probe
/// within seconds instead of libp2p's quarter of an hour.
fn autonat_config(config: &Config) -> autonat::Config {
    let mut c = autonat::Config {
        only_global_ips: !config.private_network,
        // Only members' nodes are asked (the event loop names them): any
        // connected peer's answer would confirm an external address of its
        // choosing, which identify then advertises.
        use_connected: false,
        ..autonat::Config::default()
    };
    if crate::LINK_EMULATION {
        c.boot_delay = Duration::from_secs(1);
        c.retry_interval = Duration::from_secs(3);
        c.refresh_interval = Duration::from_secs(30);
        c.throttle_server_period = Duration::ZERO;
    }
    c
}

/// Relay limits. libp2p's defaults (128 KiB and 2 minutes per circuit) suit
/// a public relay for strangers; ours serve only members' nodes, which keep
/// their gossip stream on the circuit, so circuits get more room, while the
/// counts stay bounded. Store-and-forward (every node holds every envelope,
/// anti-entropy pulls what is missing) covers what a closed circuit drops.
fn relay_config(allowed: &RelayAllowed) -> relay::Config {
    let mut config = relay::Config {
        max_reservations: 256,
        max_reservations_per_peer: 4,
        reservation_duration: Duration::from_secs(3600),
        max_circuits: 256,
        max_circuits_per_peer: 16,
        max_circuit_duration: Duration::from_secs(3600),
        max_circuit_bytes: 256 * 1024 * 1024,
        ..relay::Config::default()
    };
    // Only members' nodes may reserve or open circuits; others are denied
    // (the relay answers "permission denied"), without dropping their
    // connection: an applicant still reaches the lobby through this node.
    for limiters in [
        &mut config.reservation_rate_limiters,
        &mut config.circuit_src_rate_limiters,
    ] {
        let allowed = allowed.clone();
        limiters.push(Box::new(
            move |peer: PeerId, _: &libp2p::Multiaddr, _: std::time::Instant| {
                allowed
                    .lock()
                    .map(|a| a.as_ref().is_some_and(|a| a.contains(&peer)))
                    .unwrap_or(false)
            },
        ));
    }
    config
}

/// The peers (members' nodes) that may use this node's relay; `None` until
/// the node has computed its members, and then nobody else may.
pub(crate) type RelayAllowed =
    std::sync::Arc<std::sync::Mutex<Option<std::collections::HashSet<PeerId>>>>;

/// Connections allowed, as a multiple of `target_peers`: our own dials
/// stop at the target, the rest is room for others' dials.
pub(crate) const LINK_FACTOR: usize = 3;

/// Penalty for each message the node rejects (gossipsub squares the decayed
/// count): about three invalid envelopes in quick succession take a
/// member's node below the graylist threshold (-80), where the event loop
/// disconnects it; two take a stranger's (it starts at -60, see
/// `event_loop::OUTSIDER_SCORE`).
/// Milder than one strike, because an honest relay may forward an envelope
/// that it accepted and we refuse (it has not seen a revocation yet).
const INVALID_MESSAGE_WEIGHT: f64 = -10.0;

/// How much of the invalid-message count survives each decay interval
/// (1 s): a peer that stops sending invalid envelopes recovers in a minute.
const INVALID_MESSAGE_DECAY: f64 = 0.9;

impl Behaviour {
    pub(crate) fn new(
        key: &Keypair,
        config: &Config,
        relay_client: relay::client::Behaviour,
        relay_allowed: &RelayAllowed,
        metrics: &mut libp2p::metrics::Registry,
    ) -> Result<Self, Error> {
        let start = |e: &dyn std::fmt::Display| Error::Start(e.to_string());
        let gossip_config = gossipsub::ConfigBuilder::default()
            .validation_mode(gossipsub::ValidationMode::Anonymous)
            .validate_messages()
            .message_id_fn(|m: &gossipsub::Message| {
                MessageId::from(blake3::hash(&m.data).as_bytes().to_vec())
            })
            // A frame may be a few times the largest message: a message over
            // the limit then reaches the node, which refuses it, logs it with
            // its peer and counts it against that peer. Past this gossipsub
            // drops the frame itself, and reports it to nobody.
            .max_transmit_size(config.max_message_bytes * OVERSIZE_SEEN)
            .heartbeat_interval(config.heartbeat)
            // IDONTWANT (gossipsub 1.2) for anything above 1 KiB: peers that
            // already have a large envelope are told not to send it again.
            .idontwant_message_size_threshold(1024)
            .build()
            .map_err(|e| start(&e))?;
        let mut gossipsub =
            gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)
                .map_err(|e| start(&e))?
                .with_metrics(metrics, gossipsub::MetricsConfig::default());
        let topic = IdentTopic::new(&config.topic);
        let mut params = PeerScoreParams {
            // Every node of a testnet (and of a forum behind one NAT) shares
            // one IP; membership gating, not IP diversity, keeps Sybils out.
            ip_colocation_factor_weight: 0.0,
            topics: HashMap::new(),
            ..PeerScoreParams::default()
        };
        params.topics.insert(
            topic.hash(),
            TopicScoreParams {
                topic_weight: 1.0,
                // Positive credit is bounded (at most +36 for an hour in the
                // mesh, +50 for delivering first), so that five invalid
                // envelopes graylist even a long-standing peer, and three a
                // new one. gossipsub's defaults (+1 per millisecond in the
                // mesh, up to 3600) would outweigh any penalty.
                time_in_mesh_weight: 0.01,
                time_in_mesh_quantum: Duration::from_secs(1),
                time_in_mesh_cap: 3600.0,
                first_message_deliveries_weight: 0.5,
                first_message_deliveries_decay: 0.9,
                first_message_deliveries_cap: 100.0,
                // A quiet forum sends few envelopes: do not punish peers for
                // not delivering enough of them.
                mesh_message_deliveries_weight: 0.0,
                mesh_failure_penalty_weight: 0.0,
                invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
                invalid_message_deliveries_decay: INVALID_MESSAGE_DECAY,
                ..TopicScoreParams::default()
            },
        );
        gossipsub
            .with_peer_score(params, PeerScoreThresholds::default())
            .map_err(|e| start(&e))?;
        gossipsub.subscribe(&topic).map_err(|e| start(&e))?;

        let peer_id = key.public().to_peer_id();
        let mut kad_config = kad::Config::new(protocol::KADEMLIA);
        kad_config.set_query_timeout(Duration::from_secs(30));
        // Our own discovery tick walks when a node has too few links; kad's
        // periodic walk would connect to peers we do not want.
        kad_config.set_periodic_bootstrap_interval(None);
        let mut kademlia =
            kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
        kademlia.set_mode(Some(kad::Mode::Server));

        let identify = identify::Behaviour::new(identify::Config::new(
            protocol::IDENTIFY.into(),
            key.public(),
        ));
        let sync = request_response::Behaviour::with_codec(
            BytesCodec {
                max_bytes: config.max_sync_bytes,
            },
            [(protocol::SYNC, request_response::ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(config.request_timeout),
        );
        let limits = connection_limits::ConnectionLimits::default()
            .with_max_established(Some(
                u32::try_from(config.target_peers.saturating_mul(LINK_FACTOR)).unwrap_or(u32::MAX),
            ))
            .with_max_established_per_peer(Some(8));
        Ok(Behaviour {
            limits: connection_limits::Behaviour::new(limits),
            gossipsub,
            kademlia: Toggle::from(config.discovery.then_some(kademlia)),
            identify,
            ping: ping::Behaviour::default(),
            sync,
            blocked: allow_block_list::Behaviour::default(),
            relay: Toggle::from(config.relay_server.then(|| {
                let mut relay = relay::Behaviour::new(peer_id, relay_config(relay_allowed));
                // By default the server offers the hop protocol only once it
                // has a confirmed external address. A team with the relay
                // role declared it: offer it from the start (a forum's relay
                // on a private network, or a testnet, has none to confirm).
                relay.set_status(Some(relay::Status::Enable));
                relay
            })),
            relay_client,
            dcutr: dcutr::Behaviour::new(peer_id),
            autonat: autonat::Behaviour::new(peer_id, autonat_config(config)),
        })
    }
}
