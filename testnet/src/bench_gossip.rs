//! `testnet bench gossip`: the same topology and payload size, run through
//! csirtmesh nodes (separate processes: gossip, verification, decryption,
//! durable storage, anti-entropy) and through a bare rust-libp2p gossipsub
//! mesh in this process (`net::baseline`: nothing but gossipsub). The
//! ratios say what the mesh costs on top of gossip itself.
//!
//! Topology: `nodes` nodes, each connected to every other (a forum's mesh;
//! csirtmesh nodes find each other through one bootstrap peer and
//! Kademlia). Traffic: `messages` publications of `payload_bytes`, from the
//! nodes in turn, at `rate_per_sec`. csirtmesh publishes GREEN incidents
//! whose description has `payload_bytes` characters (the envelope adds its
//! header, signature and encryption); every other team must store and read
//! each one. Before measuring, every team publishes once, so that sender
//! keys are shared and connections are warm.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use csirtmesh::api::types::{Label, NewIncident};
use serde::Serialize;

use crate::harness::{NodeCommand, Testnet, process_resources};

/// What to run, for both sides.
#[derive(Clone, Debug, Serialize)]
pub struct GossipCase {
    /// Nodes (teams).
    pub nodes: usize,
    /// Publications measured.
    pub messages: usize,
    /// Payload bytes per publication.
    pub payload_bytes: usize,
    /// Publications per second.
    pub rate_per_sec: f64,
}

/// Latency percentiles, ms.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LatencyMs {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl LatencyMs {
    /// Percentiles of samples (ms), nearest rank.
    pub fn of(mut samples: Vec<f64>) -> Self {
        samples.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| crate::stats::percentile(&samples, p).unwrap_or(0.0);
        LatencyMs {
            p50: pct(0.50),
            p95: pct(0.95),
            p99: pct(0.99),
            max: samples.last().copied().unwrap_or(0.0),
        }
    }
}

/// One side's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Side {
    /// Deliveries over intended deliveries (messages x other nodes).
    pub delivery_ratio: f64,
    /// Publish to stored (csirtmesh) or received (bare), over deliveries.
    pub latency_ms: LatencyMs,
    /// Bytes written by all nodes during the window, per delivery.
    pub bytes_sent_per_delivery: f64,
    /// Gossip copies received and dropped as duplicates, per delivery.
    pub duplicates_per_delivery: f64,
    /// Bytes on the wire of one publication (csirtmesh: the envelope).
    pub message_bytes: usize,
    /// CPU seconds used by all nodes during the window, per delivery, in µs.
    pub cpu_us_per_delivery: f64,
}

impl Side {
    /// Figures of a measurement window: one latency sample (ms) per
    /// delivery, out of `expected`; bytes sent, duplicates and CPU seconds
    /// summed over the nodes during the window.
    fn of_window(
        latencies_ms: Vec<f64>,
        expected: usize,
        bytes_sent: u64,
        duplicates: u64,
        cpu_s: f64,
        message_bytes: usize,
    ) -> Self {
        let delivered = latencies_ms.len();
        let per = |v: f64| {
            if delivered > 0 {
                v / delivered as f64
            } else {
                0.0
            }
        };
        Side {
            delivery_ratio: delivered as f64 / expected.max(1) as f64,
            latency_ms: LatencyMs::of(latencies_ms),
            bytes_sent_per_delivery: per(bytes_sent as f64),
            duplicates_per_delivery: per(duplicates as f64),
            message_bytes,
            cpu_us_per_delivery: per(cpu_s * 1e6),
        }
    }
}

/// Both sides and their ratios.
#[derive(Clone, Debug, Serialize)]
pub struct GossipComparison {
    /// What ran.
    pub case: GossipCase,
    /// Through csirtmesh nodes.
    pub csirtmesh: Side,
    /// Through bare gossipsub.
    pub bare: Side,
    /// `csirtmesh.latency_ms.p99 / bare.latency_ms.p99`.
    pub latency_p99_vs_bare: f64,
    /// `csirtmesh.bytes_sent_per_delivery / bare.bytes_sent_per_delivery`.
    pub bytes_per_delivery_vs_bare: f64,
}

/// How long to wait for the last deliveries after the last publication.
const DRAIN: Duration = Duration::from_secs(30);

/// Runs both sides.
pub async fn compare(command: NodeCommand, case: &GossipCase) -> Result<GossipComparison> {
    if case.nodes < 2 || case.messages == 0 || case.rate_per_sec <= 0.0 {
        bail!("the gossip bench needs at least 2 nodes, 1 message and a positive rate");
    }
    let csirtmesh = mesh(command, case).await?;
    let bare = bare(case).await?;
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    Ok(GossipComparison {
        case: case.clone(),
        latency_p99_vs_bare: ratio(csirtmesh.latency_ms.p99, bare.latency_ms.p99),
        bytes_per_delivery_vs_bare: ratio(
            csirtmesh.bytes_sent_per_delivery,
            bare.bytes_sent_per_delivery,
        ),
        csirtmesh,
        bare,
    })
}

/// The bare side, in this process.
pub async fn bare(case: &GossipCase) -> Result<Side> {
    let cpu_before = process_resources(std::process::id()).map(|r| r.0);
    let report = net::baseline::run(&net::baseline::BaselineConfig {
        dials: None,
        nodes: case.nodes,
        messages: case.messages,
        payload_bytes: case.payload_bytes.max(16),
        rate_per_sec: case.rate_per_sec,
        timeout: DRAIN,
    })
    .await?;
    let cpu_after = process_resources(std::process::id()).map(|r| r.0);
    let mut latencies: Vec<f64> = report
        .latencies_us
        .iter()
        .map(|us| *us as f64 / 1000.0)
        .collect();
    latencies.truncate(report.expected);
    Ok(Side::of_window(
        latencies,
        report.expected,
        report.traffic.bytes_out,
        report.traffic.gossip_duplicates,
        match (cpu_before, cpu_after) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        },
        case.payload_bytes.max(16),
    ))
}

/// The csirtmesh side: node processes on loopback.
pub async fn mesh(command: NodeCommand, case: &GossipCase) -> Result<Side> {
    let names: Vec<String> = (1..=case.nodes).map(|i| format!("B-{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut net = Testnet::create(command, &refs, case.nodes, 2)?;
    let result = mesh_run(&mut net, case, &names).await;
    net.stop_all().await;
    result
}

/// Sums bytes out, duplicates and CPU seconds over the nodes.
async fn totals(net: &Testnet, names: &[String]) -> Result<(u64, u64, f64)> {
    let (mut bytes, mut dups, mut cpu) = (0, 0, 0.0);
    for n in names {
        let s = net.api(n)?.status().await?;
        bytes += s.bytes_out;
        dups += s.gossip_duplicates;
        cpu += net.resources(n).map(|r| r.0).unwrap_or(0.0);
    }
    Ok((bytes, dups, cpu))
}

async fn publish(net: &Testnet, author: &str, i: usize, case: &GossipCase) -> Result<String> {
    let req = NewIncident {
        title: format!("bench {i}"),
        description: "x".repeat(case.payload_bytes),
        tlp: Label(proto::Tlp::Green),
        to: vec![],
        indicators: Vec::new(),
    };
    Ok(net.api(author)?.open(&req).await?.id)
}

/// Waits until every id is held readable by every team; returns the views.
async fn wait_delivered(
    net: &Testnet,
    names: &[String],
    ids: &[String],
    limit: Duration,
) -> Result<HashMap<String, HashMap<String, csirtmesh::api::types::EnvelopeView>>> {
    let _ = Testnet::wait_for(limit, || async {
        for n in names {
            let held = net.api(n)?.envelopes().await?;
            let readable: std::collections::HashSet<&str> = held
                .iter()
                .filter(|e| e.readable)
                .map(|e| e.id.as_str())
                .collect();
            if !ids.iter().all(|id| readable.contains(id.as_str())) {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await;
    let mut views = HashMap::new();
    for n in names {
        let v = net.api(n)?.envelopes().await?;
        views.insert(
            n.clone(),
            v.into_iter().map(|e| (e.id.clone(), e)).collect(),
        );
    }
    Ok(views)
}

async fn mesh_run(net: &mut Testnet, case: &GossipCase, names: &[String]) -> Result<Side> {
    for n in names {
        net.start(n).await?;
    }
    let want = (case.nodes - 1).min(4);
    if let Err(e) = net
        .wait_connected(names, want, Duration::from_secs(60))
        .await
    {
        bail!("the mesh did not form: {e}");
    }
    // Warm-up: every team publishes once (sharing its GREEN sender key).
    let mut warm = Vec::new();
    for (i, n) in names.iter().enumerate() {
        warm.push(publish(net, n, i, case).await?);
    }
    wait_delivered(net, names, &warm, DRAIN).await?;

    let (bytes0, dups0, cpu0) = totals(net, names).await?;
    let interval = Duration::from_secs_f64(1.0 / case.rate_per_sec);
    let start = Instant::now();
    let mut sent: Vec<(String, String)> = Vec::new();
    for i in 0..case.messages {
        tokio::time::sleep_until((start + interval.mul_f64(i as f64)).into()).await;
        let author = &names[i % names.len()];
        sent.push((publish(net, author, i, case).await?, author.clone()));
    }
    let ids: Vec<String> = sent.iter().map(|(id, _)| id.clone()).collect();
    let views = wait_delivered(net, names, &ids, DRAIN).await?;
    let (bytes1, dups1, cpu1) = totals(net, names).await?;

    let mut latencies = Vec::new();
    let mut message_bytes = 0;
    for (id, author) in &sent {
        let Some(created) = views[author].get(id) else {
            continue;
        };
        message_bytes = created.size;
        for n in names.iter().filter(|n| *n != author) {
            if let Some(e) = views[n].get(id).filter(|e| e.readable) {
                latencies.push(e.received_at.saturating_sub(created.created_at) as f64);
            }
        }
    }
    Ok(Side::of_window(
        latencies,
        case.messages * (case.nodes - 1),
        bytes1.saturating_sub(bytes0),
        dups1.saturating_sub(dups0),
        cpu1 - cpu0,
        message_bytes,
    ))
}

/// Gossip comparison runs and their medians.
#[derive(Serialize)]
pub struct GossipRuns {
    /// The case every run measured.
    #[serde(skip)]
    pub case: GossipCase,
    /// Median over runs of `latency_p99_vs_bare`.
    pub latency_p99_vs_bare: f64,
    /// Median over runs of `bytes_per_delivery_vs_bare`.
    pub bytes_per_delivery_vs_bare: f64,
    /// Each run.
    pub runs: Vec<GossipComparison>,
}

/// Runs the comparison `runs` times (progress on stderr) and takes medians.
pub async fn compare_runs(
    command: NodeCommand,
    case: &GossipCase,
    runs: usize,
) -> Result<GossipRuns> {
    let mut out = Vec::new();
    for i in 0..runs.max(1) {
        eprintln!(
            "gossip run {}/{}: {} nodes, {} x {} B at {}/s, csirtmesh then bare gossipsub",
            i + 1,
            runs.max(1),
            case.nodes,
            case.messages,
            case.payload_bytes,
            case.rate_per_sec
        );
        out.push(compare(command.clone(), case).await?);
    }
    Ok(GossipRuns {
        case: case.clone(),
        latency_p99_vs_bare: crate::stats::median(
            out.iter().map(|r| r.latency_p99_vs_bare).collect(),
        ),
        bytes_per_delivery_vs_bare: crate::stats::median(
            out.iter().map(|r| r.bytes_per_delivery_vs_bare).collect(),
        ),
        runs: out,
    })
}

impl std::fmt::Display for GossipRuns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let case = &self.case;
        writeln!(
            f,
            "Gossip: {} nodes (all connected), {} x {} B payloads at {}/s, {} run(s)",
            case.nodes,
            case.messages,
            case.payload_bytes,
            case.rate_per_sec,
            self.runs.len()
        )?;
        writeln!(
            f,
            "{:>4} {:>10} {:>9} {:>9} {:>9} {:>9} {:>12} {:>11} {:>10} {:>9}",
            "run",
            "side",
            "delivered",
            "p50 ms",
            "p99 ms",
            "max ms",
            "B sent/deliv",
            "dups/deliv",
            "msg bytes",
            "CPU us/d"
        )?;
        for (i, r) in self.runs.iter().enumerate() {
            for (name, s) in [("csirtmesh", &r.csirtmesh), ("bare", &r.bare)] {
                writeln!(
                    f,
                    "{:>4} {:>10} {:>9.3} {:>9.1} {:>9.1} {:>9.1} {:>12.0} {:>11.2} {:>10} {:>9.0}",
                    i + 1,
                    name,
                    s.delivery_ratio,
                    s.latency_ms.p50,
                    s.latency_ms.p99,
                    s.latency_ms.max,
                    s.bytes_sent_per_delivery,
                    s.duplicates_per_delivery,
                    s.message_bytes,
                    s.cpu_us_per_delivery
                )?;
            }
        }
        writeln!(
            f,
            "median latency_p99_vs_bare {:.2}, bytes_per_delivery_vs_bare {:.2}",
            self.latency_p99_vs_bare, self.bytes_per_delivery_vs_bare
        )
    }
}

impl crate::Report for GossipRuns {
    fn held(&self) -> bool {
        true
    }
}
