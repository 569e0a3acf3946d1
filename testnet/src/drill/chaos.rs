//! The faults: who is killed, paused or cut off, and putting them back.
//! Faults come from the timeline (`[[fault]]`), from `churn` (kills while a
//! node is publishing) and from `partition` (the mesh split in two halves);
//! a partition is applied as peer blocks through each node's admin API, and
//! a node that comes back gets the blocks in force again.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use anyhow::Result;
use csirtmesh::api::types::{Label, NewIncident, PeerBlock};

use super::{DrillConfig, Fault, FaultAction, run::Sent};
use crate::harness::Testnet;

/// The faults in force: who is down (and at which publication it comes
/// back; `usize::MAX`: when the timeline says), who is paused, and the
/// partition's side.
#[derive(Default)]
pub(super) struct Chaos {
    /// Who is down, and at which publication it comes back.
    pub(super) down: HashMap<String, usize>,
    /// Who is paused (SIGSTOP).
    pub(super) paused: HashSet<String>,
    /// One side of the partition in force.
    side: Option<HashSet<String>>,
    /// When the partition in force began.
    pub(super) partitioned_at: Option<Instant>,
}

impl Chaos {
    /// Up and answering.
    pub(super) fn running(&self, name: &str) -> bool {
        !self.down.contains_key(name) && !self.paused.contains(name)
    }

    /// Applies a timeline fault; says what it did.
    pub(super) async fn apply(
        &mut self,
        net: &mut Testnet,
        cfg: &DrillConfig,
        names: &[String],
        peer_ids: &HashMap<String, String>,
        f: &Fault,
    ) -> Result<String> {
        let mut done = Vec::new();
        match f.action {
            FaultAction::Kill => {
                for n in &f.teams {
                    if !self.down.contains_key(n) {
                        net.kill(n)?;
                        self.paused.remove(n);
                        self.down.insert(n.clone(), usize::MAX);
                        done.push(n.clone());
                    }
                }
            }
            FaultAction::Restart => {
                for n in &f.teams {
                    if self.down.contains_key(n) {
                        self.restart(net, cfg, names, peer_ids, n).await?;
                        done.push(n.clone());
                    }
                }
            }
            FaultAction::Pause => {
                for n in &f.teams {
                    if self.running(n) {
                        net.pause(n, true)?;
                        self.paused.insert(n.clone());
                        done.push(n.clone());
                    }
                }
            }
            FaultAction::Resume => {
                for n in &f.teams {
                    if self.paused.remove(n) {
                        net.pause(n, false)?;
                        // It missed the blocks or unblocks made while it slept.
                        self.sync_blocks(net, names, peer_ids, n).await?;
                        done.push(n.clone());
                    }
                }
            }
            FaultAction::Partition => {
                self.partition(net, names, peer_ids, f.teams.iter().cloned().collect())
                    .await?;
                done = f.teams.clone();
            }
            FaultAction::Heal => {
                if self.side.is_some() {
                    done.push("every team".into());
                }
                self.heal(net, names).await?;
            }
        }
        Ok(format!(
            "{} ms: {:?} {}",
            f.at_ms,
            f.action,
            if done.is_empty() {
                "(nothing to do)".to_string()
            } else {
                done.join(", ")
            }
        ))
    }

    /// Starts a downed team again, with the partition's blocks.
    pub(super) async fn restart(
        &mut self,
        net: &mut Testnet,
        cfg: &DrillConfig,
        names: &[String],
        peer_ids: &HashMap<String, String>,
        n: &str,
    ) -> Result<()> {
        self.down.remove(n);
        start_team(net, n, cfg, names).await?;
        self.sync_blocks(net, names, peer_ids, n).await
    }

    /// Splits the mesh: `side` against the rest, on every running node.
    pub(super) async fn partition(
        &mut self,
        net: &Testnet,
        names: &[String],
        peer_ids: &HashMap<String, String>,
        side: HashSet<String>,
    ) -> Result<()> {
        self.side = Some(side);
        self.partitioned_at = Some(Instant::now());
        for n in names.iter().filter(|n| self.running(n)) {
            self.sync_blocks(net, names, peer_ids, n).await?;
        }
        Ok(())
    }

    /// Lifts the partition on every running node.
    pub(super) async fn heal(&mut self, net: &Testnet, names: &[String]) -> Result<()> {
        self.side = None;
        self.partitioned_at = None;
        for n in names.iter().filter(|n| self.running(n)) {
            unblock(net, n).await?;
        }
        Ok(())
    }

    /// Makes `n`'s blocks match the partition in force (none: unblocked).
    async fn sync_blocks(
        &self,
        net: &Testnet,
        names: &[String],
        peer_ids: &HashMap<String, String>,
        n: &str,
    ) -> Result<()> {
        unblock(net, n).await?;
        let Some(side) = &self.side else {
            return Ok(());
        };
        let mine = side.contains(n);
        let others: Vec<String> = names
            .iter()
            .filter(|m| side.contains(*m) != mine)
            .filter_map(|m| peer_ids.get(m).cloned())
            .collect();
        net.api(n)?
            .peers(&PeerBlock {
                block: others,
                unblock_all: false,
                unblock: vec![],
                dial: vec![],
            })
            .await?;
        Ok(())
    }
}

async fn unblock(net: &Testnet, n: &str) -> Result<()> {
    net.api(n)?
        .peers(&PeerBlock {
            block: vec![],
            unblock_all: true,
            unblock: vec![],
            dial: vec![],
        })
        .await?;
    Ok(())
}

/// Starts a team's node: relayed-only teams listen through the first team's relay.
pub(super) async fn start_team(
    net: &mut Testnet,
    name: &str,
    cfg: &DrillConfig,
    names: &[String],
) -> Result<csirtmesh::api::types::StatusView> {
    let relayed = names.iter().rev().take(cfg.relayed).any(|n| n == name);
    match (relayed, net.bootstrap()) {
        (true, Some(b)) => {
            let circuit = format!("{b}/p2p-circuit");
            net.start_listening(name, &[circuit]).await
        }
        _ => net.start(name).await,
    }
}

/// Kills `victim` while a task is publishing through it; returns how many
/// envelopes it acknowledged before the kill (recorded in `sent`).
pub(super) async fn kill_mid_burst(
    net: &mut Testnet,
    victim: &str,
    names: &[String],
    sent: &mut Vec<Sent>,
) -> Result<usize> {
    let api = net.api(victim)?;
    let victim_name = victim.to_owned();
    let everyone = names.to_vec();
    let hammer = tokio::spawn(async move {
        let mut acked = Vec::new();
        for j in 0..1_000 {
            let req = NewIncident {
                title: format!("burst {j} from {victim_name}"),
                description: String::new(),
                tlp: Label(proto::Tlp::Green),
                to: vec![],
                indicators: Vec::new(),
            };
            match api.open(&req).await {
                Ok(p) => acked.push(p.id),
                Err(_) => break,
            }
        }
        acked
    });
    // Let the burst run, then pull the plug without warning.
    tokio::time::sleep(Duration::from_millis(150)).await;
    net.kill(victim)?;
    let acked = tokio::time::timeout(Duration::from_secs(30), hammer).await??;
    let n = acked.len();
    for id in acked {
        sent.push(Sent {
            id,
            author: victim.to_owned(),
            recipients: everyone.clone(),
        });
    }
    Ok(n)
}
