//! `testnet up`: a local mesh of N teams, F of them founders, the others
//! admitted the real way (join request, then `k` members vouch), held open
//! for a developer to use with the `csirtmesh` client commands.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde::Serialize;

use crate::harness::{NodeCommand, Testnet, vouch};

/// A running node, for the developer to point client commands at.
#[derive(Debug, Serialize)]
pub struct NodeInfo {
    /// Team name.
    pub name: String,
    /// Its data directory (`--data-dir` for client commands).
    pub data_dir: String,
    /// Whether it founded the mesh.
    pub founder: bool,
}

/// What `up` reports.
#[derive(Debug, Serialize)]
pub struct UpReport {
    /// Teams in the mesh.
    pub teams: usize,
    /// Founders among them.
    pub founders: usize,
    /// Teams admitted by endorsement.
    pub admitted_by_endorsement: usize,
    /// From the first endorsement to every node agreeing on all members, ms.
    pub admission_ms: u64,
    /// Per applicant, from its own endorsements to admission as seen by the
    /// first founder: median and max, ms.
    pub admission_per_team_ms: Percentiles,
    /// Whether every node counts every team as a member.
    pub all_admitted: bool,
    /// The address to give new nodes as `--bootstrap`.
    pub bootstrap: String,
    /// The nodes.
    pub nodes: Vec<NodeInfo>,
    /// CPU seconds and peak RSS per node, measured when the mesh is stopped.
    pub resources: crate::harness::ResourceSummary,
}

/// Median and maximum.
#[derive(Debug, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// Maximum.
    pub max: u64,
}

/// How long admission of everyone may take.
const ADMISSION_TIMEOUT: Duration = Duration::from_secs(120);

/// Brings the mesh up, admits everyone, holds it for `hold` (until Ctrl-C if
/// `None`), then stops every node.
pub async fn run(
    command: NodeCommand,
    teams: usize,
    founders: usize,
    hold: Option<Duration>,
    json: bool,
) -> Result<UpReport> {
    let say = |s: &str| {
        if json {
            eprintln!("{s}")
        } else {
            println!("{s}")
        }
    };
    if teams == 0 || founders == 0 || founders > teams {
        bail!("need 1 <= --founders <= --teams (got {founders} founders of {teams} teams)");
    }
    let threshold = usize::from(proto::charter::DEFAULT_THRESHOLD);
    if teams > founders && founders < threshold {
        bail!("admitting teams needs {threshold} endorsements: give at least {threshold} founders");
    }
    let names: Vec<String> = (1..=teams).map(|i| format!("CSIRT-{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut net = Testnet::create(command, &refs, founders, 5)?;
    say(&format!(
        "Starting {founders} founders of {teams} teams in {}",
        net.root.display()
    ));
    for name in &refs[..founders] {
        net.start(name).await?;
    }
    say(&format!(
        "Starting {} applicants; they ask to join on first start",
        teams - founders
    ));
    for name in &refs[founders..] {
        net.start(name).await?;
    }
    let first = refs[0];
    let pending = Testnet::wait_for(ADMISSION_TIMEOUT, || async {
        let m = net.api(first)?.members().await?;
        Ok(m.applicants.len() + m.members.len() >= teams)
    })
    .await;
    if let Err(e) = pending {
        net.stop_all().await;
        bail!("not every join request reached {first}: {e}");
    }
    let start = Instant::now();
    let mut vouched_at = Vec::new();
    for name in &refs[founders..] {
        for sponsor in &refs[..threshold] {
            net.api(sponsor)?.membership(&vouch(name)).await?;
        }
        vouched_at.push((name.to_string(), start.elapsed()));
    }
    // Admission per team as seen by the first founder, then everyone agreeing.
    let mut admitted_after: Vec<u64> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let deadline = Instant::now() + ADMISSION_TIMEOUT;
    let all: Result<(), String> = loop {
        let m = net.api(first)?.members().await?;
        for member in &m.members {
            let Some(name) = member.team.name.clone() else {
                continue;
            };
            if let Some((_, at)) = vouched_at.iter().find(|(n, _)| *n == name)
                && seen.insert(name)
            {
                admitted_after.push(start.elapsed().saturating_sub(*at).as_millis() as u64);
            }
        }
        let mut agreed = true;
        for name in &refs {
            if net.api(name)?.members().await?.members.len() < teams {
                agreed = false;
                break;
            }
        }
        if agreed {
            break Ok(());
        }
        if Instant::now() > deadline {
            break Err(format!(
                "not every node counted {teams} members within {ADMISSION_TIMEOUT:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    admitted_after.sort_unstable();
    let report = UpReport {
        teams,
        founders,
        admitted_by_endorsement: admitted_after.len(),
        admission_ms: start.elapsed().as_millis() as u64,
        admission_per_team_ms: Percentiles {
            p50: admitted_after
                .get(admitted_after.len() / 2)
                .copied()
                .unwrap_or(0),
            max: admitted_after.last().copied().unwrap_or(0),
        },
        all_admitted: all.is_ok(),
        bootstrap: net.bootstrap().unwrap_or_default().to_owned(),
        nodes: net
            .teams
            .iter()
            .enumerate()
            .map(|(i, t)| NodeInfo {
                name: t.name.clone(),
                data_dir: t.dir.root().display().to_string(),
                founder: i < founders,
            })
            .collect(),
        resources: Default::default(),
    };
    let mut report = report;
    match &all {
        Ok(_) => say(&format!(
            "All {teams} teams are members on every node: {} admitted by endorsement in {} ms (per team p50 {} ms, max {} ms)",
            report.admitted_by_endorsement,
            report.admission_ms,
            report.admission_per_team_ms.p50,
            report.admission_per_team_ms.max
        )),
        Err(e) => say(&format!("Admission incomplete: {e}")),
    }
    if !json {
        for n in &report.nodes {
            println!(
                "  {:<10} {:<8} --data-dir {}",
                n.name,
                if n.founder { "founder" } else { "admitted" },
                n.data_dir
            );
        }
        println!("Bootstrap: {}", report.bootstrap);
    }
    if all.is_ok() {
        match hold {
            Some(d) if d.is_zero() => {}
            Some(d) => {
                say(&format!("Holding the mesh for {} s", d.as_secs()));
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            None => {
                say(
                    "The mesh is up. Try: csirtmesh members --data-dir <a data dir above>. Ctrl-C stops every node.",
                );
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    report.resources = net.resource_summary();
    say(&format!(
        "Per node: CPU {:.2} s median ({:.2} max), peak RSS {:.1} MiB median ({:.1} max)",
        report.resources.cpu_s_median,
        report.resources.cpu_s_max,
        report.resources.rss_peak_mib_median,
        report.resources.rss_peak_mib_max
    ));
    say("Stopping every node");
    net.stop_all().await;
    Ok(report)
}

/// A closing line: the nodes and the bootstrap address were printed while
/// the mesh was up.
impl std::fmt::Display for UpReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} teams ({} founders, {} admitted by endorsement); every team a member on every node: {}",
            self.teams, self.founders, self.admitted_by_endorsement, self.all_admitted
        )
    }
}

impl crate::Report for UpReport {
    fn held(&self) -> bool {
        self.all_admitted
    }
}
