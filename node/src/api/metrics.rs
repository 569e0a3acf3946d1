//! `GET /metrics`: the node's state in Prometheus text format, built from
//! the same status the CLI shows, at each scrape (behind the same bearer
//! token as the rest of the admin API; Prometheus sends it with
//! `authorization: { credentials_file: .../api.token }`).

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, gauge::Gauge},
    registry::Registry,
};

use super::types::StatusView;

/// Renders a status as Prometheus text.
pub fn render(s: &StatusView) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("csirtmesh");
    let gauge = |registry: &mut Registry, name: &str, help: &str, v: i64| {
        let g: Gauge = Gauge::default();
        g.set(v);
        registry.register(name, help, g);
    };
    let counter = |registry: &mut Registry, name: &str, help: &str, v: u64| {
        let c: Counter = Counter::default();
        c.inc_by(v);
        registry.register(name, help, c);
    };
    let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    gauge(
        &mut registry,
        "members",
        "Teams that are members of the mesh",
        as_i64(s.members as u64),
    );
    gauge(
        &mut registry,
        "peers",
        "Connected peers",
        as_i64(s.peers.len() as u64),
    );
    gauge(
        &mut registry,
        "peers_sync_failing",
        "Connected peers whose last sync failed",
        as_i64(
            s.peers
                .iter()
                .filter(|p| p.last_sync_error.is_some() && p.last_sync_ok.is_none())
                .count() as u64,
        ),
    );
    gauge(
        &mut registry,
        "envelopes_stored",
        "Envelopes in the log",
        as_i64(s.envelopes),
    );
    gauge(
        &mut registry,
        "envelopes_waiting_for_key",
        "GREEN envelopes waiting for their sender key",
        as_i64(s.waiting_for_key),
    );
    gauge(
        &mut registry,
        "envelopes_quarantined",
        "Stored envelopes found damaged (bytes not hashing to their id) and quarantined",
        as_i64(s.quarantined),
    );
    gauge(
        &mut registry,
        "forked_keys",
        "Team keys whose chain forked (two histories signed by one key: evidence of a stolen key)",
        as_i64(s.forks.len() as u64),
    );
    counter(
        &mut registry,
        "envelopes_accepted",
        "Envelopes accepted since start",
        s.accepted,
    );
    counter(
        &mut registry,
        "envelopes_rejected",
        "Envelopes rejected since start",
        s.rejected,
    );
    counter(
        &mut registry,
        "envelopes_ignored",
        "Envelopes ignored since start (mostly duplicates)",
        s.ignored,
    );
    counter(
        &mut registry,
        "network_received_bytes",
        "Bytes read from all connections since start",
        s.bytes_in,
    );
    counter(
        &mut registry,
        "network_sent_bytes",
        "Bytes written to all connections since start",
        s.bytes_out,
    );
    counter(
        &mut registry,
        "gossip_received",
        "Gossip messages received since start, duplicates included",
        s.gossip_received,
    );
    counter(
        &mut registry,
        "gossip_duplicates",
        "Gossip copies of messages already seen, dropped before decoding",
        s.gossip_duplicates,
    );
    counter(
        &mut registry,
        "envelopes_published",
        "Envelopes this node published since start",
        s.published,
    );
    counter(
        &mut registry,
        "strangers_closed",
        "Connections of peers that are neither members' nor applicants' nodes, closed after their window",
        s.strangers_closed,
    );
    counter(
        &mut registry,
        "envelopes_synced",
        "Envelopes fetched by anti-entropy since start",
        s.synced_in,
    );
    let mut out = String::new();
    encode(&mut out, &registry)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::TeamRef;

    #[test]
    fn renders_prometheus_text() {
        let s = StatusView {
            team: TeamRef {
                id: "00".into(),
                name: Some("A".into()),
            },
            mesh_name: "m".into(),
            mesh_id: "11".into(),
            peer_id: "p".into(),
            listen_addrs: vec![],
            peers: vec![],
            members: 4,
            envelopes: 12,
            waiting_for_key: 1,
            quarantined: 0,
            accepted: 10,
            rejected: 3,
            ignored: 2,
            published: 5,
            synced_in: 6,
            bytes_in: 700,
            bytes_out: 800,
            gossip_received: 9,
            gossip_duplicates: 7,
            blocked: vec![],
            strangers_closed: 2,
            forks: vec![],
            overlaps: vec![],
        };
        let text = render(&s).unwrap();
        for line in [
            "csirtmesh_members 4",
            "csirtmesh_envelopes_stored 12",
            "csirtmesh_envelopes_rejected_total 3",
            "# TYPE csirtmesh_envelopes_accepted counter",
            "csirtmesh_network_sent_bytes_total 800",
            "csirtmesh_gossip_duplicates_total 7",
            "csirtmesh_strangers_closed_total 2",
            "csirtmesh_forked_keys 0",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
    }
}
