//! `testnet sim`: many teams in one process, to see how gossip scales.
//!
//! Each simulated team runs the real network layer (the `net` crate's
//! event loop: gossipsub with csirtmesh's configuration and scoring,
//! Kademlia discovery, identify, ping, noise, yamux) over libp2p's
//! in-process memory transport, every link delayed by the emulated
//! latency (`net`'s `link-emulation`: every byte, every protocol). Each
//! team checks what gossip brings as a node does before relaying it:
//! decode, author is a member, outer signature, then open if it can (GREEN
//! with the author's sender key, AMBER by trying its own age key).
//!
//! Left out, so that a thousand fit in one process: SQLite storage,
//! anti-entropy, membership computation (the member set is given) and key
//! shares (each team is handed the advisory author's GREEN sender key, as
//! if the key share had arrived; `bench seal` measures key shares to 500).
//!
//! Figures: delivery and latency of one GREEN advisory to every team and
//! of a few AMBER incidents to their recipients, against the ideal: the
//! shortest path in the actual connection graph times the link latency.
//!
//! One job per file: this one holds the parameters, the reports and the
//! bare-gossipsub baseline; `mesh` runs the simulation's phases; `team` is
//! what each simulated team does and how deliveries are sampled.

use std::time::Instant;

use anyhow::{Result, bail};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::{bench_gossip::LatencyMs, harness::process_resources};

mod mesh;
mod team;

use mesh::simulate;
use team::{DELIVERY_TIMEOUT, summary};

/// What to simulate (also the arguments of `testnet sim`).
#[derive(Clone, Debug, clap::Args)]
pub struct SimConfig {
    /// Teams (one node each).
    #[arg(long, default_value_t = 100)]
    pub teams: usize,
    /// One-way latency of every link, ms.
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// Average links per team: each dials half as many random earlier
    /// teams, and accepts up to three times as many.
    #[arg(long, default_value_t = 8)]
    pub degree: usize,
    /// AMBER incidents, each to `amber_recipients` random teams.
    #[arg(long, default_value_t = 5)]
    pub amber: usize,
    /// Recipients of each AMBER incident.
    #[arg(long, default_value_t = 3)]
    pub amber_recipients: usize,
    /// Seed for authors and recipients.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Then a sustained load: this many more GREEN advisories (1 KiB, from
    /// the advisory's author) at `--rate` per second, each to every team.
    #[arg(long, default_value_t = 0)]
    pub load: usize,
    /// Publications per second of the sustained load.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Instead of csirtmesh's network layer, run the bare rust-libp2p
    /// gossipsub baseline (`net::baseline`, TCP on loopback, no
    /// validation, crypto or storage) with `--teams` nodes, each dialling
    /// `--degree`/2 random earlier nodes, and the `--load` at `--rate`:
    /// the same question ("how many nodes fit at p99 under 1 s?") asked of
    /// bare gossip.
    #[arg(long)]
    pub bare: bool,
    /// Print one JSON object on stdout (progress then goes to stderr).
    #[arg(long)]
    pub json: bool,
}

/// One kind of publication's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Delivery {
    /// Publications.
    pub published: usize,
    /// Deliveries over intended deliveries.
    pub delivery_ratio: f64,
    /// Publish to opened at the recipient, ms.
    pub latency_ms: LatencyMs,
    /// Shortest path in the connection graph times the link latency, ms.
    pub ideal_latency_ms: LatencyMs,
    /// `latency_ms.p99 / ideal_latency_ms.p99`.
    pub p99_vs_ideal: f64,
}

/// The simulation's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SimReport {
    /// Teams simulated.
    pub teams: usize,
    /// One-way latency of every link, ms.
    pub link_latency_ms: u64,
    /// Delivery ratio of the GREEN advisory over all other teams.
    pub delivery_ratio: f64,
    /// GREEN advisory latency, ms.
    pub latency_ms: LatencyMs,
    /// Its ideal (hops x link latency), ms.
    pub ideal_latency_ms: LatencyMs,
    /// The GREEN advisory in full.
    pub green: Delivery,
    /// AMBER incidents.
    pub amber: Delivery,
    /// The sustained load (`--load` GREEN advisories at `--rate`), if any.
    pub load: Option<Delivery>,
    /// The load's rate, publications per second.
    pub load_rate: f64,
    /// Connections per node: median.
    pub links_per_node_median: usize,
    /// Longest shortest path from the advisory's author, hops.
    pub hops_max: usize,
    /// Time for every node to start and join the gossip mesh, ms.
    pub mesh_formed_ms: u64,
    /// CPU seconds of the whole process (all teams), start to end.
    pub cpu_s: f64,
    /// Cores kept busy by the idle mesh (heartbeats, pings, discovery),
    /// measured for 5 s once it formed; 2.0 is all of a 2-core machine.
    pub idle_cores_busy: f64,
    /// Peak resident memory of the whole process, MiB.
    pub rss_peak_mib: f64,
    /// Of which per team, MiB.
    pub rss_per_team_mib: f64,
    /// Wall time, ms.
    pub wall_ms: u64,
}

/// `testnet sim --bare`: the bare gossipsub baseline under the same load.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BareSimReport {
    /// Nodes.
    pub teams: usize,
    /// Always true: this is the bare baseline, not csirtmesh.
    pub bare: bool,
    /// The load: publications, delivery ratio, latency (no ideal: loopback).
    pub load: Delivery,
    /// The load's rate, publications per second.
    pub load_rate: f64,
    /// CPU seconds of the whole process, start to end.
    pub cpu_s: f64,
    /// Peak resident memory of the whole process, MiB.
    pub rss_peak_mib: f64,
    /// Wall time, ms.
    pub wall_ms: u64,
}

/// Runs the bare baseline with `cfg.teams` nodes and the `cfg.load` at
/// `cfg.rate` (1 KiB messages from the nodes in turn).
pub async fn run_bare(cfg: &SimConfig) -> Result<BareSimReport> {
    if cfg.load == 0 {
        bail!("--bare measures a load: give --load N");
    }
    if cfg.teams < 2 {
        bail!("a simulation needs at least 2 teams");
    }
    check_rate(cfg)?;
    let started = Instant::now();
    let report = net::baseline::run(&net::baseline::BaselineConfig {
        nodes: cfg.teams,
        dials: Some((cfg.degree / 2).max(1)),
        messages: cfg.load,
        payload_bytes: 1024,
        rate_per_sec: cfg.rate,
        timeout: DELIVERY_TIMEOUT,
    })
    .await?;
    let latencies: Vec<f64> = report
        .latencies_us
        .iter()
        .take(report.expected)
        .map(|us| *us as f64 / 1000.0)
        .collect();
    let got = latencies.len();
    let (cpu_s, rss_peak_mib) = process_resources(std::process::id()).unwrap_or((0.0, 0.0));
    Ok(BareSimReport {
        teams: cfg.teams,
        bare: true,
        load: summary(cfg.load, latencies, Vec::new(), got, report.expected),
        load_rate: cfg.rate,
        cpu_s,
        rss_peak_mib,
        wall_ms: started.elapsed().as_millis() as u64,
    })
}

/// A load needs a finite, positive rate.
fn check_rate(cfg: &SimConfig) -> Result<()> {
    if cfg.load > 0 && (!cfg.rate.is_finite() || cfg.rate <= 0.0) {
        bail!(
            "--rate must be a positive number of publications per second, not {}",
            cfg.rate
        );
    }
    Ok(())
}

/// Runs the simulation; every simulated node is stopped on return.
pub async fn run(cfg: &SimConfig) -> Result<SimReport> {
    if cfg.teams < 2 {
        bail!("a simulation needs at least 2 teams");
    }
    check_rate(cfg)?;
    if !net::LINK_EMULATION {
        bail!("this build has no link emulation (build the testnet, which turns it on)");
    }
    let shutdown = CancellationToken::new();
    let result = simulate(cfg, &shutdown).await;
    shutdown.cancel();
    result
}

impl std::fmt::Display for SimReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} teams, {} ms links ({} per node, at most {} hops): GREEN delivered {:.4}, p50 {:.0} ms p99 {:.0} ms (ideal p50 {:.0} p99 {:.0}); {:.1} CPU s, {:.0} MiB peak ({:.2} MiB per team)",
            self.teams,
            self.link_latency_ms,
            self.links_per_node_median,
            self.hops_max,
            self.delivery_ratio,
            self.latency_ms.p50,
            self.latency_ms.p99,
            self.ideal_latency_ms.p50,
            self.ideal_latency_ms.p99,
            self.cpu_s,
            self.rss_peak_mib,
            self.rss_per_team_mib
        )?;
        if let Some(l) = &self.load {
            writeln!(
                f,
                "load: {} GREEN advisories at {}/s delivered {:.4}, p50 {:.0} ms p99 {:.0} ms (ideal p99 {:.0})",
                l.published,
                self.load_rate,
                l.delivery_ratio,
                l.latency_ms.p50,
                l.latency_ms.p99,
                l.ideal_latency_ms.p99
            )?;
        }
        Ok(())
    }
}

impl crate::Report for SimReport {
    fn held(&self) -> bool {
        self.delivery_ratio >= 1.0 && self.load.as_ref().is_none_or(|l| l.delivery_ratio >= 1.0)
    }
}

impl std::fmt::Display for BareSimReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "bare gossipsub, {} nodes: {} messages at {}/s delivered {:.4}, p50 {:.0} ms p99 {:.0} ms; {:.1} CPU s, {:.0} MiB peak",
            self.teams,
            self.load.published,
            self.load_rate,
            self.load.delivery_ratio,
            self.load.latency_ms.p50,
            self.load.latency_ms.p99,
            self.cpu_s,
            self.rss_peak_mib
        )
    }
}

impl crate::Report for BareSimReport {
    fn held(&self) -> bool {
        self.load.delivery_ratio >= 1.0
    }
}
