//! # testnet: a local CSIRT Mesh of real node processes
//!
//! `cargo run --release -p testnet -- demo` starts four teams' nodes on
//! loopback in a temporary directory, runs a scripted scenario through their
//! admin APIs, prints what each step checked, stops every process and exits
//! 0 only if every step held (`--json` prints the figures as one object).
//!
//! - [`harness`]: create teams and a charter, start, kill, restart and stop
//!   node processes, bounded waits;
//! - [`demo`]: the scripted scenario and its report;
//! - [`drill`]: publishing under faults (kills, pauses, partitions, lossy
//!   links), then convergence and losses;
//! - [`up`]: a mesh held open for a developer;
//! - [`bench_gossip`], [`bench_ingest`], [`bench_sync`]: benchmarks against
//!   baselines measured in the same run; [`sim`]: many teams in one process;
//! - [`backup_drill`]: back up a running node, destroy it, restore it, and
//!   check it caught up and did not fork its own chain; backup figures;
//! - [`holepunch`]: two teams behind firewalls, in network namespaces,
//!   connected directly by a hole punch through a member's relay;
//! - [`rogue`]: a stranger's node, for the demo;
//! - [`Report`]: every command's report prints itself, as text or JSON.

pub mod backup_drill;
pub mod bench_gossip;
pub mod bench_ingest;
pub mod bench_sync;
pub mod demo;
pub mod drill;
pub mod harness;
pub mod holepunch;
pub mod progress;
pub mod rng;
pub mod rogue;
pub mod sim;
pub mod stats;
pub mod up;

#[cfg(test)]
mod architecture;

/// What a run found, able to print itself: as text for people (`Display`)
/// or as one JSON object (`--json`); and whether what it checks held (the
/// exit status). `main` only chooses which.
pub trait Report: serde::Serialize + std::fmt::Display {
    /// Whether what the run checks held.
    fn held(&self) -> bool;
}

/// Prints `report` as JSON or as text; returns whether it held.
pub fn emit(report: &impl Report, json: bool) -> anyhow::Result<bool> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{report}");
    }
    Ok(report.held())
}
