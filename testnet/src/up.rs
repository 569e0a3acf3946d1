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
    let up = Up {
        refs: &refs,
        founders,
        threshold,
        json,
    };
    let result = up.run(&mut net, hold).await;
    up.say("Stopping every node");
    net.stop_all().await;
    result
}

/// The mesh being brought up.
struct Up<'a> {
    refs: &'a [&'a str],
    founders: usize,
    /// Endorsements an applicant needs.
    threshold: usize,
    json: bool,
}

/// How admission went: per applicant, ms from its endorsements to its
/// admission as the first founder saw it; whether every node agreed; and
/// ms from the first endorsement to the end.
struct Admission {
    admitted_after: Vec<u64>,
    all: Result<(), String>,
    ms: u64,
}

impl Up<'_> {
    /// Progress: on stderr when stdout carries JSON.
    fn say(&self, s: &str) {
        if self.json {
            eprintln!("{s}")
        } else {
            println!("{s}")
        }
    }

    async fn run(&self, net: &mut Testnet, hold: Option<Duration>) -> Result<UpReport> {
        let (teams, founders) = (self.refs.len(), self.founders);
        self.say(&format!(
            "Starting {founders} founders of {teams} teams in {}",
            net.root.display()
        ));
        for name in &self.refs[..founders] {
            net.start(name).await?;
        }
        let admission = self.admit(net).await?;
        let mut report = self.report(net, &admission);
        match &admission.all {
            Ok(_) => self.say(&format!(
                "All {teams} teams are members on every node: {} admitted by endorsement in {} ms (per team p50 {} ms, max {} ms)",
                report.admitted_by_endorsement,
                report.admission_ms,
                report.admission_per_team_ms.p50,
                report.admission_per_team_ms.max
            )),
            Err(e) => self.say(&format!("Admission incomplete: {e}")),
        }
        if !self.json {
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
        if admission.all.is_ok() {
            self.hold(hold).await;
        }
        report.resources = net.resource_summary();
        self.say(&format!(
            "Per node: CPU {:.2} s median ({:.2} max), peak RSS {:.1} MiB median ({:.1} max)",
            report.resources.cpu_s_median,
            report.resources.cpu_s_max,
            report.resources.rss_peak_mib_median,
            report.resources.rss_peak_mib_max
        ));
        Ok(report)
    }

    /// Has `threshold` founders vouch for each applicant by its team id (as
    /// operators do once a team sent them its id: an endorsement also
    /// invites), starts the applicants (they ask to join on first start),
    /// and waits (bounded) until every node counts every team a member.
    async fn admit(&self, net: &mut Testnet) -> Result<Admission> {
        let (refs, teams) = (self.refs, self.refs.len());
        let first = refs[0];
        let start = Instant::now();
        let mut vouched_at = Vec::new();
        for name in &refs[self.founders..] {
            let id = net.team_id(name)?.to_string();
            for sponsor in &refs[..self.threshold] {
                net.api(sponsor)?.membership(&vouch(&id)).await?;
            }
            vouched_at.push((name.to_string(), start.elapsed()));
        }
        if teams > self.founders {
            self.say(&format!(
                "Founders vouched for {} applicants by team id; starting them (they ask to join on first start)",
                teams - self.founders
            ));
        }
        for name in &refs[self.founders..] {
            net.start(name).await?;
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
            for name in refs {
                if net.api(name)?.members().await?.members.len() < teams {
                    agreed = false;
                    break;
                }
            }
            // Every admission seen by the first founder too: it may have
            // come between its answer and the others' (then one more round).
            if agreed && seen.len() == vouched_at.len() {
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
        Ok(Admission {
            admitted_after,
            all,
            ms: start.elapsed().as_millis() as u64,
        })
    }

    fn report(&self, net: &Testnet, a: &Admission) -> UpReport {
        UpReport {
            teams: self.refs.len(),
            founders: self.founders,
            admitted_by_endorsement: a.admitted_after.len(),
            admission_ms: a.ms,
            admission_per_team_ms: Percentiles {
                p50: a
                    .admitted_after
                    .get(a.admitted_after.len() / 2)
                    .copied()
                    .unwrap_or(0),
                max: a.admitted_after.last().copied().unwrap_or(0),
            },
            all_admitted: a.all.is_ok(),
            bootstrap: net.bootstrap().unwrap_or_default().to_owned(),
            nodes: net
                .teams
                .iter()
                .enumerate()
                .map(|(i, t)| NodeInfo {
                    name: t.name.clone(),
                    data_dir: t.dir.root().display().to_string(),
                    founder: i < self.founders,
                })
                .collect(),
            resources: Default::default(),
        }
    }

    /// Holds the mesh for `hold`, or until Ctrl-C.
    async fn hold(&self, hold: Option<Duration>) {
        match hold {
            Some(d) if d.is_zero() => {}
            Some(d) => {
                self.say(&format!("Holding the mesh for {} s", d.as_secs()));
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            None => {
                self.say(
                    "The mesh is up. Try: csirtmesh members --data-dir <a data dir above>. Ctrl-C stops every node.",
                );
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
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
