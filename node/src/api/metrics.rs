//! `GET /metrics`: the node's state in the OpenMetrics text format
//! ([`CONTENT_TYPE`]; counters end in `_total`, byte counts declare their
//! unit), built from the same status the CLI shows, at each scrape (behind the same bearer
//! token as the rest of the admin API; Prometheus sends it with
//! `authorization: { credentials_file: .../api.token }`).

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, family::Family, gauge::Gauge, info::Info},
    registry::{Registry, Unit},
};

use super::types::StatusView;

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of [`to_prometheus_text`]'s output: the classic
/// Prometheus text format, for scrapers and tools that do not ask for
/// OpenMetrics (`promtool check metrics`, `curl`).
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether a request's `Accept` header asks for OpenMetrics (Prometheus
/// itself does).
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("application/openmetrics-text"))
}

/// The same metrics in the classic text format: a counter's family is
/// named as its samples (`_total`), an info metric is a gauge named
/// `_info`, and the OpenMetrics-only lines (`# UNIT`, `# EOF`) go.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    // The family names whose TYPE says counter or info, from their TYPE
    // lines (a HELP line comes first and is renamed with them).
    let mut renamed: std::collections::HashMap<&str, String> = Default::default();
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some((name, kind)) = rest.split_once(' ')
        {
            match kind {
                "counter" => {
                    renamed.insert(name, format!("{name}_total"));
                }
                "info" => {
                    renamed.insert(name, format!("{name}_info"));
                }
                _ => {}
            }
        }
    }
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let name = renamed.get(name).map(String::as_str).unwrap_or(name);
                let tail = if prefix == "# TYPE " && tail == "info" {
                    "gauge"
                } else {
                    tail
                };
                out.push_str(prefix);
                out.push_str(name);
                out.push(' ');
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The commit this binary was built from, when the build said
/// (`CSIRTMESH_COMMIT`, set by packaging), else `unknown`.
const COMMIT: &str = match option_env!("CSIRTMESH_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

/// Renders a status as OpenMetrics text.
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
        "hole_punches",
        "Relayed connections upgraded to direct ones by hole punching (DCUtR) since start",
        s.hole_punches,
    );
    counter(
        &mut registry,
        "envelopes_ignored",
        "Envelopes ignored since start (mostly duplicates)",
        s.ignored,
    );
    for (name, help, v) in [
        (
            "network_received",
            "Bytes read from all connections since start",
            s.bytes_in,
        ),
        (
            "network_sent",
            "Bytes written to all connections since start",
            s.bytes_out,
        ),
    ] {
        let c: Counter = Counter::default();
        c.inc_by(v);
        registry.register_with_unit(name, help, Unit::Bytes, c);
    }
    let store: Gauge = Gauge::default();
    store.set(as_i64(s.store_bytes));
    registry.register_with_unit(
        "store_size",
        "The store on disk (database and write-ahead log)",
        Unit::Bytes,
        store,
    );
    gauge(
        &mut registry,
        "applicants",
        "Teams waiting for members' endorsements",
        as_i64(s.applicants as u64),
    );
    gauge(
        &mut registry,
        "handoffs_pending",
        "Incidents handed to this team that wait for its accept or decline",
        as_i64(s.pending_handoffs as u64),
    );
    gauge(
        &mut registry,
        "catching_up",
        "1 while a node restored from a backup has not caught up with a member (it writes nothing)",
        i64::from(s.catching_up),
    );
    registry.register(
        "build",
        "The node's version and the commit it was built from",
        Info::new(vec![
            ("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
            ("commit".to_owned(), COMMIT.to_owned()),
        ]),
    );
    // Reachability as a state set: 1 for the current state, 0 for the others.
    let reach = Family::<Vec<(String, String)>, Gauge>::default();
    for state in ["public", "private", "unknown"] {
        reach
            .get_or_create(&vec![("state".to_owned(), state.to_owned())])
            .set(i64::from(s.reachability == state));
    }
    registry.register(
        "reachability",
        "Whether other nodes can dial this one, as AutoNAT found (1 for the current state)",
        reach,
    );
    if let Some(ms) = s.clock_offset_ms {
        let g: Gauge<f64, std::sync::atomic::AtomicU64> = Gauge::default();
        g.set(ms as f64 / 1000.0);
        registry.register_with_unit(
            "clock_offset",
            "This clock minus the mesh's (median over teams of gossip arrivals against their stamps)",
            Unit::Seconds,
            g,
        );
    }
    // When each connected member's node last synced with us (a member whose
    // sync stops is the first sign of a partition or a dead node).
    let last_sync = Family::<Vec<(String, String)>, Gauge>::default();
    for p in &s.peers {
        if let (Some(at), Some(team)) = (p.last_sync_ok, &p.team) {
            last_sync
                .get_or_create(&vec![
                    ("peer".to_owned(), p.peer_id.clone()),
                    ("team".to_owned(), team.to_string()),
                ])
                .set(as_i64(at / 1000));
        }
    }
    registry.register_with_unit(
        "peer_last_sync_timestamp",
        "When each connected member's node last completed a sync with this node (Unix time)",
        Unit::Seconds,
        last_sync,
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
pub(crate) mod tests {
    use super::*;
    use crate::api::types::TeamRef;

    /// A status with a little of everything (also for the API's tests).
    pub(crate) fn status() -> StatusView {
        StatusView {
            team: TeamRef {
                id: "00".into(),
                name: Some("A".into()),
            },
            mesh_name: "m".into(),
            mesh_id: "11".into(),
            peer_id: "p".into(),
            listen_addrs: vec![],
            peers: vec![crate::api::types::PeerView {
                peer_id: "p1".into(),
                team: Some(TeamRef {
                    id: "22".into(),
                    name: Some("B \"the bank\"".into()),
                }),
                last_sync_ok: Some(1_700_000_000_123),
                last_sync_fetched: 0,
                last_sync_rounds: 1,
                last_sync_bytes: 10,
                last_sync_error: None,
                via_relay: false,
            }],
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
            applicants: 2,
            store_bytes: 4096,
            catching_up: false,
            pending_handoffs: 2,
            reachability: "private".into(),
            clock_offset_ms: Some(-1500),
            clock_offset_teams: 3,
            hole_punches: 0,
        }
    }

    #[test]
    fn renders_prometheus_text() {
        let s = status();
        let text = render(&s).unwrap();
        for line in [
            "csirtmesh_members 4",
            "csirtmesh_peers 1",
            "csirtmesh_envelopes_stored 12",
            "csirtmesh_envelopes_rejected_total 3",
            "# TYPE csirtmesh_envelopes_accepted counter",
            "csirtmesh_network_sent_bytes_total 800",
            "csirtmesh_gossip_duplicates_total 7",
            "csirtmesh_strangers_closed_total 2",
            "csirtmesh_forked_keys 0",
            "# UNIT csirtmesh_network_sent_bytes bytes",
            "csirtmesh_store_size_bytes 4096",
            "csirtmesh_applicants 2",
            "csirtmesh_handoffs_pending 2",
            "csirtmesh_reachability{state=\"private\"} 1",
            "csirtmesh_reachability{state=\"public\"} 0",
            "csirtmesh_clock_offset_seconds -1.5",
            "csirtmesh_build_info{version=\"",
            "# UNIT csirtmesh_peer_last_sync_timestamp_seconds seconds",
            // A peer-chosen name is a label value, escaped.
            "csirtmesh_peer_last_sync_timestamp_seconds{peer=\"p1\",team=\"B \\\"the bank\\\"\"} 1700000000",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
        let classic = to_prometheus_text(&text);
        for line in [
            "# TYPE csirtmesh_envelopes_accepted_total counter",
            "# HELP csirtmesh_envelopes_accepted_total Envelopes accepted since start.",
            "csirtmesh_envelopes_accepted_total ",
            "# TYPE csirtmesh_network_sent_bytes_total counter",
            "# TYPE csirtmesh_build_info gauge",
            "csirtmesh_build_info{version=\"",
            "# TYPE csirtmesh_members gauge",
        ] {
            assert!(classic.contains(line), "{line} missing in:\n{classic}");
        }
        assert!(!classic.contains("# EOF") && !classic.contains("# UNIT"));
        assert!(!classic.contains("# TYPE csirtmesh_envelopes_accepted counter"));
        promtool_finds_nothing(&classic);
    }

    /// `promtool check metrics` (Debian package `prometheus`; `.ci/run`
    /// installs it) on the classic text: it reads no OpenMetrics.
    fn promtool_finds_nothing(text: &str) {
        use std::io::Write;
        let child = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!(
                    "SKIPPED: promtool is missing ({e}); install the Debian package prometheus"
                );
                return;
            }
            Err(e) => panic!("promtool is missing in CI: {e}"),
        };
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && said.trim().is_empty(),
            "promtool check metrics: {said}\n{text}"
        );
    }

    #[test]
    fn prometheus_asks_for_openmetrics_and_curl_gets_text() {
        assert!(wants_openmetrics(Some(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        )));
        assert!(!wants_openmetrics(Some("*/*")));
        assert!(!wants_openmetrics(None));
    }
}
