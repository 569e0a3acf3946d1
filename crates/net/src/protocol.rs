//! Topic and protocol names, in one place.

use libp2p::StreamProtocol;

/// The identify protocol version string: nodes of other networks are told apart by it.
pub const IDENTIFY: &str = "/csirtmesh/1.0.0";

/// Kademlia's protocol name: our own DHT, not the public IPFS one.
pub const KADEMLIA: StreamProtocol = StreamProtocol::new("/csirtmesh/kad/1.0.0");

/// The sync (anti-entropy) request-response protocol. Version 2 carries
/// negentropy messages; a node of version 1 (our own range protocol) does
/// not speak it, so the two fail to negotiate instead of misreading each
/// other.
pub const SYNC: StreamProtocol = StreamProtocol::new("/csirtmesh/sync/2.0.0");

/// The gossip topic that carries a mesh's envelopes.
pub fn envelope_topic(mesh: &str) -> String {
    format!("/csirtmesh/{mesh}/envelopes/1")
}
