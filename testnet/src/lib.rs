//! # testnet: a local CSIRT Mesh of real node processes
//!
//! `cargo run --release -p testnet -- demo` starts four teams' nodes on
//! loopback in a temporary directory, runs a scripted scenario through their
//! admin APIs, prints what each step checked, stops every process and exits
//! 0 only if every step held (`--json` prints the figures as one object).
//!
//! - [`harness`]: create teams and a charter, start, kill, restart and stop
//!   node processes, bounded waits;
//! - [`demo`]: the scripted scenario and its report.

pub mod bench_gossip;
pub mod bench_ingest;
pub mod bench_sync;
pub mod demo;
pub mod drill;
pub mod harness;
pub mod progress;
pub mod rng;
pub mod rogue;
pub mod sim;
pub mod stats;
pub mod up;

#[cfg(test)]
mod architecture;
