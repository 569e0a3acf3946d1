//! # csirtmesh-net: all of libp2p, and nothing about meanings
//!
//! This crate knows bytes, peers and topics. It does not know what an
//! envelope, a team or a member is: the node decodes, verifies and decides,
//! and reports its verdict back so that gossip relays only what the node
//! accepted (`validate_messages`).
//!
//! Shape (as in rust-libp2p's file-sharing example and iroh's actors):
//! [`new`] returns a [`Client`] (a cloneable handle whose commands carry a
//! `oneshot` reply), a bounded receiver of [`Event`]s, and an [`EventLoop`]
//! to spawn. The loop owns the swarm; it stops when the shutdown token is
//! cancelled or every `Client` is dropped.
//!
//! ```text
//!   node ──Command (mpsc 2048)──▶ EventLoop ──Event (mpsc 1024)──▶ node
//!                                   │ owns
//!                                   ▼
//!   Swarm<Behaviour>: gossipsub · kademlia · identify · ping · request-response (sync)
//! ```
//!
//! Transports: TCP + noise + yamux, and QUIC. Gossip runs in anonymous mode
//! (envelopes carry their own signatures, so gossipsub's per-copy signing
//! would be wasted work) with message ids that are the BLAKE3 of the data,
//! so a duplicate is dropped by id before the node sees it.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod bans;
pub mod baseline;
mod behaviour;
mod codec;
mod event_loop;
#[cfg(feature = "link-emulation")]
mod link;
pub mod protocol;
mod traffic;
mod transport;
mod welcome;

use std::{collections::HashMap, time::Duration};

pub use bans::{Blocked, MAX_BAN};
pub use event_loop::EventLoop;
pub use libp2p::{Multiaddr, PeerId, gossipsub::MessageId, identity::Keypair, multiaddr};
use tokio::sync::{mpsc, oneshot};
pub use traffic::Traffic;

/// The node's libp2p identity, kept apart from the team's keys: a team may
/// run several nodes, and a node key can be replaced without changing the
/// team.
pub struct NodeKey(Keypair);

impl NodeKey {
    /// A fresh ed25519 node key.
    pub fn generate() -> Self {
        NodeKey(Keypair::generate_ed25519())
    }

    /// Encodes the key for storage (protobuf, as libp2p defines it).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        self.0
            .to_protobuf_encoding()
            .map_err(|e| Error::Key(e.to_string()))
    }

    /// Decodes a stored key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Keypair::from_protobuf_encoding(bytes)
            .map(NodeKey)
            .map_err(|e| Error::Key(e.to_string()))
    }

    /// The node's PeerId.
    pub fn peer_id(&self) -> PeerId {
        self.0.public().to_peer_id()
    }

    /// Signs `message` with the node key (a team's profile lists this node
    /// only with its signature, so no team can claim another's node).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.0.sign(message).map_err(|e| Error::Key(e.to_string()))
    }
}

/// Checks that the node whose PeerId is `peer` (its bytes) signed
/// `message`. An ed25519 node's id is its public key itself (an identity
/// multihash), so the id alone is enough to check; an id that only hashes
/// its key cannot be checked and is refused.
pub fn verify_node_signature(peer: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error> {
    let id = PeerId::from_bytes(peer).map_err(|e| Error::Key(format!("not a node id: {e}")))?;
    let hash = id.as_ref();
    if hash.code() != 0 {
        return Err(Error::Key(format!(
            "node id {id} does not carry its public key"
        )));
    }
    let key = libp2p::identity::PublicKey::try_decode_protobuf(hash.digest())
        .map_err(|e| Error::Key(format!("node id {id}: {e}")))?;
    if key.verify(message, signature) {
        Ok(())
    } else {
        Err(Error::Key(format!("node {id} did not sign this")))
    }
}

/// What went wrong in the network layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A node key could not be encoded or decoded.
    #[error("invalid node key: {0}")]
    Key(String),
    /// The swarm could not be built or could not listen.
    #[error("cannot start the network: {0}")]
    Start(String),
    /// No peer subscribed to the topic yet: the message was not sent.
    /// The node keeps it; anti-entropy delivers it later.
    #[error("no peer to publish to yet")]
    NoPeers,
    /// gossipsub refused to publish.
    #[error("publish failed: {0}")]
    Publish(String),
    /// A dial could not start.
    #[error("cannot dial {addr}: {reason}")]
    Dial {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// A request failed (timeout, closed connection, refused protocol).
    #[error("request to {peer} failed: {reason}")]
    Request {
        /// The peer.
        peer: PeerId,
        /// Why, in words.
        reason: String,
    },
    /// The event loop has stopped.
    #[error("the network event loop has stopped")]
    Stopped,
    /// The command queue is full: a command that waits for no answer is
    /// dropped rather than make its caller wait.
    #[error("the network's command queue is full; try again")]
    Busy,
}

/// Network settings. `Default` is a working local setup.
#[derive(Clone, Debug)]
pub struct Config {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start (with `/p2p/<peer id>`).
    pub bootstrap: Vec<Multiaddr>,
    /// Addresses others reach this node at, as the operator knows them (a
    /// public address in front of a NAT or a port forward): announced to
    /// peers, and put in the reservations of a relay that runs here.
    pub external_addresses: Vec<Multiaddr>,
    /// The mesh runs on a private network (or loopback): AutoNAT dials back
    /// private addresses too.
    pub private_network: bool,
    /// The gossip topic (one per mesh; see [`protocol::envelope_topic`]).
    pub topic: String,
    /// Largest gossip message, in bytes. Messages up to four times this
    /// reach the node (which refuses and counts them); larger frames are
    /// dropped by gossipsub.
    pub max_message_bytes: usize,
    /// Largest sync request or response, in bytes.
    pub max_sync_bytes: usize,
    /// How long a sync request may take.
    pub request_timeout: Duration,
    /// Close connections idle for this long.
    pub idle_timeout: Duration,
    /// How often to run a Kademlia bootstrap (random walk) to find peers,
    /// or, with no connection at all, to dial the bootstrap peers again.
    pub discovery_interval: Duration,
    /// gossipsub heartbeat.
    pub heartbeat: Duration,
    /// Run a circuit relay for other members' nodes.
    pub relay_server: bool,
    /// Emulated latency and loss on this node's incoming links (tests only;
    /// applied only when built with the `link-emulation` feature).
    pub emulation: Option<LinkEmulation>,
    /// Peers discovered through Kademlia are dialled, and random walks
    /// made, only while fewer than this many are connected. A forum of
    /// tens of teams connects everyone to everyone; a larger mesh keeps
    /// fewer links per node and relies on gossip's multi-hop relaying.
    /// Connections that carry nothing (not in the gossip mesh, no sync)
    /// close after `idle_timeout`.
    pub target_peers: usize,
    /// Find peers through Kademlia. Off only in simulations, where each
    /// node is given the peers to dial.
    pub discovery: bool,
    /// Events the node may fall behind by before the loop stops reading
    /// the swarm (backpressure to peers). Commands are served meanwhile.
    pub event_capacity: usize,
    /// How long a peer banned for misbehaving stays out the first time;
    /// each repeat doubles it, up to [`MAX_BAN`].
    pub ban_time: Duration,
    /// How long a stranger (a peer that is neither a member's nor an
    /// applicant's node, see [`Client::set_admitted`]) stays connected: time
    /// to hand in a join request. Then it is closed.
    pub stranger_window: Duration,
}

/// Emulated link conditions on this node's incoming links.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkEmulation {
    /// One-way delay of every incoming link without an entry in `links`.
    pub delay: Duration,
    /// Share of incoming gossip messages dropped on such links (0..1);
    /// anti-entropy must bring them back.
    pub loss: f64,
    /// Links to particular peers that differ from the default.
    pub links: HashMap<PeerId, Link>,
    /// Play a censoring member: relay no gossip (every message is
    /// ignored, whatever the node says) and answer no sync request.
    pub censor: bool,
    /// Bytes per second every incoming link without an entry in `links`
    /// carries at most (`None`: no cap).
    pub bandwidth: Option<u64>,
}

/// One emulated link, in the direction towards this node.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Link {
    /// Every byte read from the link is held back this long (all
    /// protocols: gossip, sync, handshakes), as on a long wire.
    pub delay: Duration,
    /// Share of gossip messages from the link that are dropped.
    pub loss: f64,
    /// Bytes per second the link carries at most, all substreams of the
    /// connection together (`None`: no cap).
    pub bandwidth: Option<u64>,
}

impl Link {
    /// Whether the link needs the delaying muxer.
    pub fn shaped(&self) -> bool {
        !self.delay.is_zero() || self.bandwidth.is_some()
    }
}

impl LinkEmulation {
    /// The link from `peer`.
    pub fn link(&self, peer: &PeerId) -> Link {
        self.links.get(peer).copied().unwrap_or(Link {
            delay: self.delay,
            loss: self.loss,
            bandwidth: self.bandwidth,
        })
    }
}

/// Whether this build applies [`LinkEmulation`].
pub const LINK_EMULATION: bool = cfg!(feature = "link-emulation");

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: vec![],
            bootstrap: vec![],
            external_addresses: vec![],
            private_network: false,
            topic: protocol::envelope_topic("local"),
            max_message_bytes: 256 * 1024 + 4096,
            max_sync_bytes: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            discovery_interval: Duration::from_secs(5),
            heartbeat: Duration::from_millis(700),
            relay_server: false,
            emulation: None,
            target_peers: 64,
            discovery: true,
            event_capacity: EVENT_CAPACITY,
            ban_time: Duration::from_secs(600),
            stranger_window: Duration::from_secs(10),
        }
    }
}

/// The application's verdict on a gossip message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validation {
    /// Relay it.
    Accept,
    /// Invalid: do not relay, penalise the sender.
    Reject,
    /// Do not relay, no penalty.
    Ignore,
}

/// A reply slot for a sync request from a peer.
pub struct ResponseChannel(libp2p::request_response::ResponseChannel<Vec<u8>>);

impl std::fmt::Debug for ResponseChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseChannel")
    }
}

/// What the network tells the node.
#[derive(Debug)]
pub enum Event {
    /// A gossip message arrived; answer with [`Client::validate`].
    Gossip {
        /// Its id (BLAKE3 of the data).
        message_id: MessageId,
        /// The peer that forwarded it.
        source: PeerId,
        /// The bytes.
        data: Vec<u8>,
    },
    /// A peer asks something over the sync protocol; answer with [`Client::respond`].
    Request {
        /// Who asks.
        peer: PeerId,
        /// The request bytes.
        data: Vec<u8>,
        /// Where the answer goes.
        channel: ResponseChannel,
    },
    /// A connection to a peer opened (its first).
    Connected {
        /// The peer.
        peer: PeerId,
    },
    /// The last connection to a peer closed.
    Disconnected {
        /// The peer.
        peer: PeerId,
    },
    /// A peer subscribed to our topic: publishing to it works from now on.
    Subscribed {
        /// The peer.
        peer: PeerId,
    },
    /// We listen on a new address.
    Listening {
        /// The address, with `/p2p/<our peer id>`.
        addr: Multiaddr,
    },
}

/// Whether other nodes can dial this one (AutoNAT).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reachability {
    /// Not probed yet, or no peer to ask.
    #[default]
    Unknown,
    /// Peers dialled it back.
    Public,
    /// Peers could not dial it back: it reaches others, they do not reach
    /// it (behind NAT or a firewall, or listening only through a relay).
    Private,
}

impl Reachability {
    /// As shown: `unknown`, `public`, `private`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reachability::Unknown => "unknown",
            Reachability::Public => "public",
            Reachability::Private => "private",
        }
    }
}

/// What the network says about itself.
#[derive(Clone, Debug)]
pub struct Status {
    /// Our PeerId.
    pub peer_id: PeerId,
    /// Where we listen.
    pub listen_addrs: Vec<Multiaddr>,
    /// Connected peers.
    pub connected: Vec<PeerId>,
    /// Peers subscribed to our topic.
    pub topic_peers: usize,
    /// Peers with at least one connection through a relay.
    pub relayed: Vec<PeerId>,
    /// Bytes and gossip messages since start.
    pub traffic: Traffic,
    /// Peers kept out now (banned or blocked), and why.
    pub blocked: Vec<Blocked>,
    /// Strangers connected now (within their window).
    pub strangers: usize,
    /// Strangers closed since start, their window over.
    pub strangers_closed: u64,
    /// Whether other nodes can dial this one, as AutoNAT found.
    pub reachability: Reachability,
    /// Relayed connections upgraded to direct ones by hole punching (DCUtR)
    /// since start.
    pub hole_punches: u64,
}

pub(crate) enum Command {
    Publish {
        data: Vec<u8>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Validate {
        message_id: MessageId,
        source: PeerId,
        verdict: Validation,
    },
    Request {
        peer: PeerId,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, Error>>,
    },
    Respond {
        channel: ResponseChannel,
        data: Vec<u8>,
    },
    Dial {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Ban {
        peer: PeerId,
        reason: String,
    },
    Status {
        reply: oneshot::Sender<Status>,
    },
    Block {
        peers: Vec<PeerId>,
    },
    Admitted {
        members: Vec<PeerId>,
        applicants: Vec<PeerId>,
    },
    Unblock {
        peers: Vec<PeerId>,
    },
    UnblockAll,
}

/// A handle to the network. Cheap to clone; the loop stops when all are dropped.
#[derive(Clone)]
pub struct Client {
    tx: mpsc::Sender<Command>,
}

/// Capacity of the command channel. The loop serves commands before anything
/// else, and the node sends about one per event (a verdict, an answer), so
/// twice the event capacity leaves room for a whole burst's answers plus the
/// API's calls. Commands without an answer never wait for room
/// ([`Error::Busy`]); calls with an answer wait for the loop, which never
/// waits for the node.
const COMMAND_CAPACITY: usize = 2 * EVENT_CAPACITY;
/// Default capacity of the event channel ([`Config::event_capacity`]): a
/// burst of gossip this large waits for the node; the loop stops reading
/// the swarm meanwhile but keeps serving commands.
const EVENT_CAPACITY: usize = 1024;

/// Builds the network: a client, the event receiver, and the loop to spawn.
pub fn new(
    key: NodeKey,
    config: Config,
) -> Result<(Client, mpsc::Receiver<Event>, EventLoop), Error> {
    let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
    let (event_tx, event_rx) = mpsc::channel(config.event_capacity.max(1));
    let event_loop = EventLoop::new(key.0, config, rx, event_tx)?;
    Ok((Client { tx }, event_rx, event_loop))
}

impl Client {
    /// Queues a command that waits for no answer, without waiting for room.
    fn send_now(&self, command: Command) -> Result<(), Error> {
        self.tx.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => Error::Busy,
            mpsc::error::TrySendError::Closed(_) => Error::Stopped,
        })
    }

    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Error> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Publishes bytes on the topic.
    pub async fn publish(&self, data: Vec<u8>) -> Result<(), Error> {
        self.call(|reply| Command::Publish { data, reply }).await?
    }

    /// Reports the node's verdict on a gossip message.
    pub fn validate(
        &self,
        message_id: MessageId,
        source: PeerId,
        verdict: Validation,
    ) -> Result<(), Error> {
        self.send_now(Command::Validate {
            message_id,
            source,
            verdict,
        })
    }

    /// Sends a sync request and waits for the answer (bounded by the request timeout).
    pub async fn request(&self, peer: PeerId, data: Vec<u8>) -> Result<Vec<u8>, Error> {
        self.call(|reply| Command::Request { peer, data, reply })
            .await?
    }

    /// Answers a sync request.
    pub fn respond(&self, channel: ResponseChannel, data: Vec<u8>) -> Result<(), Error> {
        self.send_now(Command::Respond { channel, data })
    }

    /// Dials an address.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), Error> {
        self.call(|reply| Command::Dial { addr, reply }).await?
    }

    /// Bans a peer that misbehaved: its connections are closed and refused,
    /// and it is not dialled, for [`Config::ban_time`] (doubling on each
    /// repeat). `reason` is shown in the status.
    pub fn ban(&self, peer: PeerId, reason: String) -> Result<(), Error> {
        self.send_now(Command::Ban { peer, reason })
    }

    /// Lifts the bans or blocks of `peers`.
    pub fn unblock(&self, peers: Vec<PeerId>) -> Result<(), Error> {
        self.send_now(Command::Unblock { peers })
    }

    /// Blocks peers: their connections are closed and refused until unblocked.
    pub fn block(&self, peers: Vec<PeerId>) -> Result<(), Error> {
        self.send_now(Command::Block { peers })
    }

    /// Says who is admitted: members' nodes may stay connected and use this
    /// node's relay; applicants' nodes may stay connected; any other peer
    /// is a stranger, closed after [`Config::stranger_window`]. If the queue
    /// is full the next membership change sets it again.
    pub fn set_admitted(&self, members: Vec<PeerId>, applicants: Vec<PeerId>) -> Result<(), Error> {
        self.send_now(Command::Admitted {
            members,
            applicants,
        })
    }

    /// Lifts every block.
    pub fn unblock_all(&self) -> Result<(), Error> {
        self.send_now(Command::UnblockAll)
    }

    /// The network's status.
    pub async fn status(&self) -> Result<Status, Error> {
        self.call(|reply| Command::Status { reply }).await
    }
}

/// Parses a PeerId from its bytes (as kept in team profiles).
pub fn peer_id_from_bytes(bytes: &[u8]) -> Option<PeerId> {
    PeerId::from_bytes(bytes).ok()
}

#[cfg(test)]
mod tests;
