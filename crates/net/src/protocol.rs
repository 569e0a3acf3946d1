//! Topic and protocol names, in one place.

use libp2p::StreamProtocol;

/// The identify protocol version string: nodes of other networks are told apart by it.
pub const IDENTIFY: &str = "/csirtmesh/1.0.0";

/// Kademlia's protocol name: our own DHT, not the public IPFS one.
pub const KADEMLIA: StreamProtocol = StreamProtocol::new("/csirtmesh/kad/1.0.0");

/// The sync (anti-entropy) request-response protocol.
pub const SYNC: StreamProtocol = StreamProtocol::new("/csirtmesh/sync/1.0.0");

/// The gossip topic that carries a mesh's envelopes.
pub fn envelope_topic(mesh: &str) -> String {
    format!("/csirtmesh/{mesh}/envelopes/1")
}
