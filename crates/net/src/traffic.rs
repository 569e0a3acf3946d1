//! Traffic counters, read from libp2p's own metrics (bandwidth per
//! direction from `libp2p-metrics`, received gossip with and without
//! duplicates from gossipsub's metrics) rather than counted again here.

use prometheus_client::{encoding::text::encode, registry::Registry};

/// What the node sent and received since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes read from all connections (after decryption by noise: payload
    /// plus framing of the protocols above it).
    pub bytes_in: u64,
    /// Bytes written to all connections.
    pub bytes_out: u64,
    /// Gossip messages received, duplicates included.
    pub gossip_received: u64,
    /// Of those, copies of messages already seen (dropped by id, before
    /// the node decodes or verifies anything).
    pub gossip_duplicates: u64,
}

impl Traffic {
    /// What was counted since `before` (counters only grow; a restart
    /// that reset them counts as nothing).
    pub fn since(&self, before: &Traffic) -> Traffic {
        Traffic {
            bytes_in: self.bytes_in.saturating_sub(before.bytes_in),
            bytes_out: self.bytes_out.saturating_sub(before.bytes_out),
            gossip_received: self.gossip_received.saturating_sub(before.gossip_received),
            gossip_duplicates: self
                .gossip_duplicates
                .saturating_sub(before.gossip_duplicates),
        }
    }
}

impl std::ops::AddAssign for Traffic {
    fn add_assign(&mut self, other: Traffic) {
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.gossip_received += other.gossip_received;
        self.gossip_duplicates += other.gossip_duplicates;
    }
}

/// Sums the counters in a registry's text encoding.
pub(crate) fn read(registry: &Registry) -> Traffic {
    let mut text = String::new();
    if encode(&mut text, registry).is_err() {
        return Traffic::default();
    }
    let mut t = Traffic::default();
    let (mut unfiltered, mut filtered) = (0u64, 0u64);
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let value = value as u64;
        let name = key.split('{').next().unwrap_or(key);
        match name {
            "libp2p_bandwidth_bytes_total" if key.contains("direction=\"Inbound\"") => {
                t.bytes_in += value
            }
            "libp2p_bandwidth_bytes_total" if key.contains("direction=\"Outbound\"") => {
                t.bytes_out += value
            }
            "gossipsub_topic_msg_recv_counts_unfiltered_total" => unfiltered += value,
            "gossipsub_topic_msg_recv_counts_total" => filtered += value,
            _ => {}
        }
    }
    t.gossip_received = unfiltered;
    t.gossip_duplicates = unfiltered.saturating_sub(filtered);
    t
}
