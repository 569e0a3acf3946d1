//! What the event loop does with each swarm event: one handler per
//! behaviour and per connection event, each returning what the node is to be
//! told, if anything.

use libp2p::{
    Multiaddr, PeerId,
    core::ConnectedPoint,
    gossipsub, identify, kad,
    multiaddr::Protocol,
    relay, request_response,
    swarm::{ConnectionId, SwarmEvent, dial_opts::DialOpts},
};

use super::EventLoop;
use crate::{Error, Event, ResponseChannel, behaviour::BehaviourEvent};

/// Direct connections kept to one peer: two nodes may dial each other at
/// once; more are closed as soon as they are established.
const KEPT_PER_PEER: u32 = 2;

impl EventLoop {
    /// Handles a swarm event; returns what the node is to be told, if anything.
    pub(super) fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) -> Option<Event> {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(e)) => self.on_gossip(e),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(e)) => self.on_identify(e),
            SwarmEvent::Behaviour(BehaviourEvent::Kademlia(e)) => self.on_kademlia(e),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(e)) => self.on_sync(e),
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(libp2p::dcutr::Event {
                remote_peer_id,
                result,
            })) => {
                match result {
                    Ok(_) => {
                        self.hole_punches += 1;
                        tracing::info!(peer = %remote_peer_id, "direct connection through the relay's hole punch (DCUtR)");
                    }
                    Err(e) => {
                        tracing::debug!(peer = %remote_peer_id, error = %e, "hole punch failed (DCUtR); staying on the relay")
                    }
                }
                None
            }
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(
                libp2p::autonat::Event::StatusChanged { old, new },
            )) => {
                match &new {
                    libp2p::autonat::NatStatus::Private => tracing::warn!(
                        "other nodes cannot dial this one (AutoNAT): open the listen port, set external_addresses, or listen through a member's relay"
                    ),
                    libp2p::autonat::NatStatus::Public(addr) => {
                        tracing::info!(%addr, "other nodes can dial this one (AutoNAT)")
                    }
                    libp2p::autonat::NatStatus::Unknown => {
                        tracing::debug!(?old, "reachability unknown again (AutoNAT)")
                    }
                }
                None
            }
            SwarmEvent::Behaviour(BehaviourEvent::Relay(relay::Event::ReservationReqDenied {
                src_peer_id,
                ..
            })) => {
                tracing::debug!(peer = %src_peer_id, "relay reservation denied: not a member's node");
                None
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => self.on_connected(peer_id, connection_id, &endpoint, num_established.get()),
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => self.on_closed(peer_id, connection_id, num_established),
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                for (addr, _, l) in &mut self.circuits {
                    if *l == Some(listener_id) {
                        tracing::info!(%addr, ?reason, "relay listener closed; will listen again");
                        *l = None;
                    }
                }
                None
            }
            SwarmEvent::NewListenAddr { address, .. } => Some(self.on_listening(address)),
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                if let Some(p) = peer_id {
                    self.dialling.remove(&p);
                }
                tracing::debug!(?peer_id, %error, "outgoing connection failed");
                None
            }
            _ => None,
        }
    }

    /// A gossip message (for the node to validate), or a peer subscribing
    /// to our topic (publishing works from then on).
    fn on_gossip(&mut self, event: gossipsub::Event) -> Option<Event> {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                #[cfg(feature = "link-emulation")]
                if self.lost_on_link(&message_id, &propagation_source) {
                    return None;
                }
                Some(Event::Gossip {
                    message_id,
                    source: propagation_source,
                    data: message.data,
                })
            }
            gossipsub::Event::Subscribed { peer_id, topic, .. } if topic == self.topic.hash() => {
                Some(Event::Subscribed { peer: peer_id })
            }
            _ => None,
        }
    }

    /// A peer of our network tells us where it listens (for discovery); a
    /// peer of another network is disconnected.
    fn on_identify(&mut self, event: identify::Event) -> Option<Event> {
        if let identify::Event::Received { peer_id, info, .. } = event {
            if info.protocol_version == crate::protocol::IDENTIFY {
                if let Some(k) = self.swarm.behaviour_mut().kademlia.as_mut() {
                    for addr in info.listen_addrs {
                        k.add_address(&peer_id, addr);
                    }
                }
            } else {
                tracing::debug!(%peer_id, version = %info.protocol_version, "peer of another network, disconnecting");
                let _ = self.swarm.disconnect_peer_id(peer_id);
            }
        }
        None
    }

    /// Discovery: connect to peers we learn of while short of the target,
    /// so gossip has a mesh. Only members' nodes (once the node said who
    /// they are): a stranger that got into routing tables is not dialled.
    fn on_kademlia(&mut self, event: kad::Event) -> Option<Event> {
        if let kad::Event::RoutingUpdated { peer, .. } = event
            && self.welcome.standing(&peer) == crate::welcome::Standing::Member
            && !self.connected.contains(&peer)
            && !self.dialling.contains(&peer)
            && peer != *self.swarm.local_peer_id()
            && !self.bans.is_out(&peer)
            && self.connected.len() + self.dialling.len() < self.config.target_peers
            && self.swarm.dial(DialOpts::peer_id(peer).build()).is_ok()
        {
            self.dialling.insert(peer);
        }
        None
    }

    /// A peer's sync request (for the node to answer), or the answer to one
    /// of ours (to its waiting caller, correlated by request id).
    fn on_sync(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) -> Option<Event> {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                // A censoring member (link emulation) answers nobody: the
                // channel is dropped and the asker sees a failure.
                #[cfg(feature = "link-emulation")]
                if self.config.emulation.as_ref().is_some_and(|e| e.censor) {
                    drop(channel);
                    return None;
                }
                Some(Event::Request {
                    peer,
                    data: request,
                    channel: ResponseChannel(channel),
                })
            }
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some((_, reply)) = self.pending_requests.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
                None
            }
            request_response::Event::OutboundFailure {
                request_id,
                error,
                peer,
                ..
            } => {
                if let Some((_, reply)) = self.pending_requests.remove(&request_id) {
                    let _ = reply.send(Err(Error::Request {
                        peer,
                        reason: error.to_string(),
                    }));
                }
                None
            }
            _ => None,
        }
    }

    /// A connection opened: relayed connections are counted; the node hears
    /// of a peer's first connection only.
    fn on_connected(
        &mut self,
        peer_id: PeerId,
        connection_id: ConnectionId,
        endpoint: &ConnectedPoint,
        num_established: u32,
    ) -> Option<Event> {
        // Relayed: dialled through a circuit, or accepted on a circuit
        // listener (whose remote address does not name the circuit).
        let circuit = |a: &Multiaddr| a.iter().any(|p| matches!(p, Protocol::P2pCircuit));
        let relayed = match endpoint {
            ConnectedPoint::Dialer { address, .. } => circuit(address),
            ConnectedPoint::Listener {
                local_addr,
                send_back_addr,
            } => circuit(local_addr) || circuit(send_back_addr),
        };
        if relayed {
            self.relayed
                .entry(peer_id)
                .or_default()
                .insert(connection_id);
        }
        self.dialling.remove(&peer_id);
        // Every connection, not only a peer's first: a stranger's second
        // connection, opened while its first was being closed, must not
        // outlive it unwatched.
        if self.welcome.connected(peer_id, std::time::Instant::now()) {
            tracing::debug!(peer = %peer_id, "closing a stranger's connection at once: too many on probation");
            let _ = self.swarm.disconnect_peer_id(peer_id);
            return None;
        }
        // A direct connection beyond the second to one peer is AutoNAT's
        // dial-back (or a duplicate dial): it has served its purpose once
        // established (the dial-back counts then), and would otherwise stay
        // open, until every probe is denied by the per-peer bound and the
        // peer wrongly believes itself unreachable. (A dial-back that is
        // only the second connection stays, as a second dial would.)
        let relayed = self.relayed.get(&peer_id);
        let direct = num_established.saturating_sub(relayed.map_or(0, |c| c.len() as u32));
        if direct > KEPT_PER_PEER && !relayed.is_some_and(|c| c.contains(&connection_id)) {
            tracing::debug!(peer = %peer_id, num_established, "closing a surplus connection");
            let _ = self.swarm.close_connection(connection_id);
            return None;
        }
        if num_established != 1 {
            return None;
        }
        if self
            .circuits
            .iter()
            .any(|(_, relay, l)| *relay == peer_id && l.is_none())
        {
            self.listen_through_relays();
        }
        self.connected.insert(peer_id);
        self.apply_standing(&peer_id);
        Some(Event::Connected { peer: peer_id })
    }

    /// A connection closed: the node hears of a peer's last one only.
    fn on_closed(
        &mut self,
        peer_id: PeerId,
        connection_id: ConnectionId,
        num_established: u32,
    ) -> Option<Event> {
        if let Some(set) = self.relayed.get_mut(&peer_id) {
            set.remove(&connection_id);
        }
        if num_established > 0 {
            return None;
        }
        self.relayed.remove(&peer_id);
        self.connected.remove(&peer_id);
        self.welcome.disconnected(&peer_id);
        Some(Event::Disconnected { peer: peer_id })
    }

    /// We listen on a new address. A relay tells the nodes it serves how to
    /// reach it: its listen addresses are what it puts in their reservations.
    fn on_listening(&mut self, address: Multiaddr) -> Event {
        if self.config.relay_server && !address.iter().any(|p| matches!(p, Protocol::P2pCircuit)) {
            self.swarm.add_external_address(address.clone());
        }
        let addr = address.with(Protocol::P2p(*self.swarm.local_peer_id()));
        tracing::info!(%addr, "listening");
        Event::Listening { addr }
    }
}
