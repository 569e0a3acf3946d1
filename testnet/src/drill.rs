//! `testnet drill`: publish from many teams while nodes are killed and
//! restarted and the mesh is split in two; then heal and check that nothing
//! acknowledged was lost and every node holds the same set.
//!
//! Timeline, over a burst of `incidents` publications from random teams
//! (half GREEN advisories, half AMBER to one to three named teams):
//! - from a third of the burst to its end, with `--partition`, the mesh is
//!   split in two halves: every node blocks the other half's peers through
//!   its admin API (and a restarted node gets its blocks again);
//! - `churn x teams` nodes (never the bootstrap node) are each killed with
//!   SIGKILL while a background task is publishing through them, and
//!   restarted a few publications later;
//! - after the burst the partition heals and the drill waits (bounded) until
//!   every node holds the same envelope set.
//!
//! An envelope counts as published only when its node acknowledged it (the
//! API call returned: it was durable). It is lost if any intended recipient
//! (GREEN: every team; AMBER: the named teams and the author) does not hold
//! it readable at the end.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use csirtmesh::api::types::{EnvelopeView, Label, NewIncident, PeerBlock};
use serde::Serialize;

use crate::{
    harness::{NodeCommand, Testnet},
    rng::Rng,
};

/// What to drill.
#[derive(Clone, Debug)]
pub struct DrillConfig {
    /// Teams (all founders).
    pub teams: usize,
    /// Incidents to publish.
    pub incidents: usize,
    /// Share of teams killed and restarted during the burst (0..1).
    pub churn: f64,
    /// Split the mesh in two during the burst.
    pub partition: bool,
    /// Seed for the choice of authors, labels and recipients.
    pub seed: u64,
    /// Share of incidents published GREEN (the rest AMBER to 1 to 3 teams).
    pub green_share: f64,
    /// Teams (after the first) that are the last resort for BR.
    pub last_resort: usize,
    /// Share of publications that are reports about a BR address no team
    /// covers, routed by the directory to the last-resort teams.
    pub report_share: f64,
    /// Teams that listen only through the first team's relay (behind NAT).
    pub relayed: usize,
    /// Emulated delay on every incoming link, ms.
    pub latency_ms: u64,
    /// Emulated loss of incoming gossip on every link (0..1).
    pub loss: f64,
    /// Publications per second (`None`: as fast as the nodes acknowledge).
    pub rate_per_sec: Option<f64>,
    /// Faults at chosen times, ms after the burst starts.
    pub faults: Vec<Fault>,
}

/// A fault on the drill's timeline.
///
/// ```toml
/// [[fault]]
/// at_ms = 2000
/// action = "pause"          # kill, restart, pause, resume, partition, heal
/// teams = ["CSIRT-03"]      # partition: the teams on one side
/// ```
#[derive(Clone, Debug, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// When, ms after the first publication.
    pub at_ms: u64,
    /// What.
    pub action: FaultAction,
    /// Which teams (by name, `CSIRT-01`...); for `partition`, one side.
    #[serde(default)]
    pub teams: Vec<String>,
}

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultAction {
    /// SIGKILL the teams' nodes (they stay down until `restart` or the end).
    Kill,
    /// Start the teams' nodes again.
    Restart,
    /// SIGSTOP the teams' nodes: alive but silent, as a hung machine.
    Pause,
    /// SIGCONT them.
    Resume,
    /// Cut the named teams off from all others (both ways).
    Partition,
    /// Lift every partition.
    Heal,
}

/// A drill scenario file. Every key is optional; flags override the file.
///
/// ```toml
/// name = "a region behind a relay"
/// latency_ms = 40
/// loss = 0.05
/// teams = 8
/// incidents = 120
/// churn = 0.25
/// partition = false
/// green_share = 0.3
/// relayed = 3
/// seed = 4
/// ```
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for the report.
    pub name: Option<String>,
    /// Teams.
    pub teams: Option<usize>,
    /// Incidents.
    pub incidents: Option<usize>,
    /// Churn share.
    pub churn: Option<f64>,
    /// Partition during the burst.
    pub partition: Option<bool>,
    /// Seed.
    pub seed: Option<u64>,
    /// GREEN share.
    pub green_share: Option<f64>,
    /// Last-resort teams.
    pub last_resort: Option<usize>,
    /// Share of reports.
    pub report_share: Option<f64>,
    /// Relayed-only teams.
    pub relayed: Option<usize>,
    /// Emulated link delay, ms.
    pub latency_ms: Option<u64>,
    /// Emulated gossip loss, 0..1.
    pub loss: Option<f64>,
    /// Publications per second.
    pub rate_per_sec: Option<f64>,
    /// Faults on a timeline (`[[fault]]` tables).
    #[serde(default)]
    pub fault: Vec<Fault>,
}

impl Scenario {
    /// Reads a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read scenario {}: {e}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("invalid scenario {}: {e}", path.display()))
    }

    /// The drill this scenario describes, `over` taking precedence, then
    /// the defaults of `testnet drill`.
    pub fn resolve(&self, over: &Scenario) -> Result<DrillConfig> {
        let cfg = DrillConfig {
            teams: over.teams.or(self.teams).unwrap_or(12),
            incidents: over.incidents.or(self.incidents).unwrap_or(300),
            churn: over.churn.or(self.churn).unwrap_or(0.3),
            partition: over.partition.or(self.partition).unwrap_or(false),
            seed: over.seed.or(self.seed).unwrap_or(1),
            green_share: over.green_share.or(self.green_share).unwrap_or(0.5),
            last_resort: over.last_resort.or(self.last_resort).unwrap_or(0),
            report_share: over.report_share.or(self.report_share).unwrap_or(0.0),
            relayed: over.relayed.or(self.relayed).unwrap_or(0),
            latency_ms: over.latency_ms.or(self.latency_ms).unwrap_or(0),
            loss: over.loss.or(self.loss).unwrap_or(0.0),
            rate_per_sec: over.rate_per_sec.or(self.rate_per_sec),
            faults: if over.fault.is_empty() {
                self.fault.clone()
            } else {
                over.fault.clone()
            },
        };
        if cfg.rate_per_sec.is_some_and(|r| r.is_nan() || r <= 0.0) {
            bail!("rate_per_sec must be above 0");
        }
        let names: Vec<String> = (1..=cfg.teams).map(|i| format!("CSIRT-{i:02}")).collect();
        for f in &cfg.faults {
            if let Some(bad) = f.teams.iter().find(|t| !names.contains(t)) {
                bail!(
                    "fault at {} ms names {bad}, which is not a team of this drill (CSIRT-01 to CSIRT-{:02})",
                    f.at_ms,
                    cfg.teams
                );
            }
            let needs_teams = !matches!(f.action, FaultAction::Heal);
            if needs_teams && f.teams.is_empty() {
                bail!("fault at {} ms ({:?}) names no team", f.at_ms, f.action);
            }
        }
        if cfg.report_share > 0.0 && cfg.last_resort == 0 {
            bail!("report_share needs last_resort teams to route the reports to");
        }
        if cfg.last_resort >= cfg.teams {
            bail!("last_resort must leave the first team out (it is the bootstrap and relay)");
        }
        if [cfg.churn, cfg.green_share, cfg.loss, cfg.report_share]
            .iter()
            .any(|v| !(0.0..=1.0).contains(v))
        {
            bail!("churn, green_share and loss are shares, from 0 to 1");
        }
        if cfg.teams < 2 || cfg.relayed >= cfg.teams {
            bail!(
                "a drill needs at least 2 teams, and fewer relayed teams than teams (the first team is the relay)"
            );
        }
        Ok(cfg)
    }
}

/// Latency percentiles, ms.
#[derive(Debug, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Maximum.
    pub max: u64,
    /// Deliveries measured.
    pub samples: usize,
}

/// The drill's figures.
#[derive(Debug, Default, Serialize)]
pub struct DrillReport {
    /// Teams.
    pub teams: usize,
    /// Envelopes acknowledged by their node (durable).
    pub envelopes_published: usize,
    /// Publications refused or cut off by a kill (never acknowledged).
    pub not_acknowledged: usize,
    /// Acknowledged envelopes some intended recipient lacks at the end. Must be 0.
    pub lost: usize,
    /// The first few losses, in words.
    pub lost_examples: Vec<String>,
    /// Whether every node holds the same set at the end.
    pub converged: bool,
    /// From healing the partition (after the burst) to every node holding the same set.
    pub converge_after_heal_ms: u64,
    /// From publish (author's clock) to stored at each intended recipient.
    pub latency_ms: Latency,
    /// Nodes killed with SIGKILL during the burst (each restarted).
    pub kills: usize,
    /// Envelopes a killed node had acknowledged just before it was killed,
    /// all found again after its restart.
    pub acknowledged_before_kill: usize,
    /// How long the mesh was split, ms (0 without `--partition`).
    pub partition_ms: u64,
    /// Why publications were not acknowledged (the first ten).
    pub not_acknowledged_examples: Vec<String>,
    /// Faults applied from the timeline, in order.
    pub faults: Vec<String>,
    /// Reports published (about addresses no team covers).
    pub reports: usize,
    /// Of those, routed by the directory to last-resort teams only.
    pub reports_to_last_resort: usize,
    /// Intended deliveries (publication x recipient other than its author).
    pub deliveries_intended: usize,
    /// Of those, held readable at the end.
    pub delivery_ratio: f64,
    /// Gossip copies dropped as duplicates, per delivery (all nodes; a
    /// restarted node counts from its restart).
    pub duplicates_per_delivery: f64,
    /// Bytes sent by all nodes, per delivery (same caveat).
    pub bytes_sent_per_delivery: f64,
    /// Time for a new team to be admitted by two endorsements, from the
    /// first vouch to every node counting it a member, ms.
    pub admit_ms: u64,
    /// Wall time of the whole drill, ms.
    pub wall_ms: u64,
    /// CPU seconds and peak RSS per node at the end (restarted nodes count
    /// from their restart).
    pub resources: crate::harness::ResourceSummary,
}

impl DrillReport {
    /// Records a timeline fault as applied (`line` says what it did).
    fn record_fault(&mut self, f: &Fault, line: &str) {
        if f.action == FaultAction::Kill {
            self.kills += f.teams.len();
        }
        self.faults.push(line.to_string());
    }
}

/// A publication to check at the end.
struct Sent {
    id: String,
    author: String,
    recipients: Vec<String>,
}

/// The team that joins by endorsement during the drill.
const NEWCOMER: &str = "NEWCOMER";

/// How long admission may take.
const ADMIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The shortest partition: a fast burst would otherwise heal it at once.
const MIN_PARTITION: Duration = Duration::from_secs(5);

/// How long convergence after healing may take.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs the drill; every process is stopped on return.
pub async fn run(command: NodeCommand, cfg: DrillConfig, json: bool) -> Result<DrillReport> {
    let progress = crate::progress::Progress::new(cfg.incidents as u64, json);
    let say = |s: &str| progress.say(s);
    if cfg.teams < 2 {
        bail!("a drill needs at least 2 teams");
    }
    let started = Instant::now();
    let names: Vec<String> = (1..=cfg.teams).map(|i| format!("CSIRT-{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    // The first team is the bootstrap point and, when some teams sit behind
    // NAT, their relay; the last `relayed` teams listen only through it.
    let teams_opts: Vec<(&str, csirtmesh::datadir::InitOptions)> = refs
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut o = csirtmesh::datadir::InitOptions::default();
            if i == 0 && cfg.relayed > 0 {
                o.roles = vec![proto::Role::Relay];
            }
            if (1..=cfg.last_resort).contains(&i) {
                o.roles = vec![proto::Role::LastResortFor(vec!["BR".into()])];
            }
            (*n, o)
        })
        .collect();
    // One more team, not a founder, joins by endorsement once the mesh is up.
    let mut teams_opts = teams_opts;
    teams_opts.push((NEWCOMER, csirtmesh::datadir::InitOptions::default()));
    let mut net = Testnet::create_with(command, &teams_opts, cfg.teams, 2)?;
    if cfg.latency_ms > 0 || cfg.loss > 0.0 {
        net.emulation = Some((cfg.latency_ms, cfg.loss));
    }
    say(&format!(
        "Drill: {} teams, {} incidents, churn {}, partition {} ({})",
        cfg.teams,
        cfg.incidents,
        cfg.churn,
        cfg.partition,
        net.root.display()
    ));
    let result = drill(&mut net, &cfg, &names, &progress).await;
    progress.finish();
    net.stop_all().await;
    let mut report = result?;
    report.wall_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

async fn drill(
    net: &mut Testnet,
    cfg: &DrillConfig,
    names: &[String],
    progress: &crate::progress::Progress,
) -> Result<DrillReport> {
    let say = |s: &str| progress.say(s);
    let mut rng = Rng(cfg.seed);
    let mut report = DrillReport {
        teams: cfg.teams,
        ..DrillReport::default()
    };
    let mut peer_ids: HashMap<String, String> = HashMap::new();
    for n in names {
        let s = start(net, n, cfg, names).await?;
        peer_ids.insert(n.clone(), s.peer_id);
    }
    let want = (cfg.teams - 1).min(3);
    let connected = net
        .wait_connected(names, want, Duration::from_secs(60))
        .await;
    if let Err(e) = connected {
        bail!("the mesh did not form: {e}");
    }
    say(&format!("{} nodes up and connected", cfg.teams));
    report.admit_ms = admit_newcomer(net, names).await?;
    say(&format!(
        "{NEWCOMER} admitted by two endorsements in {} ms",
        report.admit_ms
    ));

    // Who is killed when, and the two halves of the partition.
    let victims: Vec<String> = {
        let k = ((cfg.churn * cfg.teams as f64).round() as usize).min(cfg.teams - 1);
        let mut pool: Vec<String> = names[1..].to_vec();
        let mut v = Vec::new();
        for _ in 0..k {
            v.push(pool.remove(rng.below(pool.len())));
        }
        v
    };
    let half: HashSet<String> = names[..cfg.teams / 2].iter().cloned().collect();
    let partition_from = cfg.incidents / 3;
    let kill_every = if victims.is_empty() {
        usize::MAX
    } else {
        (cfg.incidents / (victims.len() + 1)).max(2)
    };
    let restart_after = (cfg.incidents / 20).max(2);

    let mut sent: Vec<Sent> = Vec::new();
    let mut chaos = Chaos::default();
    let mut next_victim = 0;
    let mut timeline: std::collections::VecDeque<Fault> = {
        let mut f = cfg.faults.clone();
        f.sort_by_key(|f| f.at_ms);
        f.into()
    };
    let burst = Instant::now();
    for i in 0..cfg.incidents {
        if let Some(rate) = cfg.rate_per_sec {
            tokio::time::sleep_until((burst + Duration::from_secs_f64(i as f64 / rate)).into())
                .await;
        }
        while timeline
            .front()
            .is_some_and(|f| burst.elapsed() >= Duration::from_millis(f.at_ms))
        {
            if let Some(f) = timeline.pop_front() {
                let line = chaos.apply(net, cfg, names, &peer_ids, &f).await?;
                report.record_fault(&f, &line);
                say(&format!("[{i}/{}] {line}", cfg.incidents));
            }
        }
        if cfg.partition && i == partition_from {
            chaos.partition(net, names, &peer_ids, half.clone()).await?;
            say(&format!(
                "[{i}/{}] partition: {} | {} teams",
                cfg.incidents,
                half.len(),
                cfg.teams - half.len()
            ));
        }
        // Restart those due.
        let due: Vec<String> = chaos
            .down
            .iter()
            .filter(|(_, at)| **at <= i)
            .map(|(n, _)| n.clone())
            .collect();
        for n in due {
            chaos.restart(net, cfg, names, &peer_ids, &n).await?;
            say(&format!("[{i}/{}] restarted {n}", cfg.incidents));
        }
        // Kill the next victim while a background task publishes through it.
        if i > 0 && i % kill_every == 0 && next_victim < victims.len() {
            let v = victims[next_victim].clone();
            next_victim += 1;
            if !chaos.down.contains_key(&v) && !chaos.paused.contains(&v) {
                let acked = kill_mid_burst(net, &v, names, &mut sent).await?;
                report.acknowledged_before_kill += acked;
                report.kills += 1;
                chaos.down.insert(v.clone(), i + restart_after);
                say(&format!(
                    "[{i}/{}] killed {v} (SIGKILL) after it acknowledged {acked} envelopes mid-burst",
                    cfg.incidents
                ));
            }
        }
        // One publication from a random running team.
        let alive: Vec<&String> = names.iter().filter(|n| chaos.running(n)).collect();
        if alive.is_empty() {
            report.not_acknowledged += 1;
            continue;
        }
        let author = alive[rng.below(alive.len())].clone();
        // The last-resort teams do not report to themselves (the node
        // refuses: they are responsible for those addresses).
        let is_last_resort = |n: &str| {
            names
                .iter()
                .position(|m| m == n)
                .is_some_and(|p| (1..=cfg.last_resort).contains(&p))
        };
        if cfg.report_share > 0.0
            && !is_last_resort(&author)
            && (rng.next_u64() % 1000) < (cfg.report_share * 1000.0) as u64
        {
            // A report about an address no constituency covers: the
            // directory routes it to the last-resort teams for BR.
            let req = csirtmesh::api::types::NewReport {
                about: format!("198.51.100.{}", 1 + i % 250),
                country: Some("BR".into()),
                title: format!("drill report {i}"),
                description: "scanning from this address".into(),
                tlp: None,
            };
            match net.api(&author)?.report(&req).await {
                Ok(r) => {
                    let to: Vec<String> = r
                        .route
                        .teams
                        .iter()
                        .filter_map(|t| t.name.clone())
                        .collect();
                    report.reports += 1;
                    if !to.is_empty() && to.iter().all(|t| is_last_resort(t)) {
                        report.reports_to_last_resort += 1;
                    }
                    sent.push(Sent {
                        id: r.published.id,
                        recipients: to.into_iter().chain([author.clone()]).collect(),
                        author,
                    });
                }
                Err(e) => {
                    report.not_acknowledged += 1;
                    if report.not_acknowledged_examples.len() < 10 {
                        report.not_acknowledged_examples.push(format!("{e:#}"));
                    }
                }
            }
            continue;
        }
        let green = (rng.next_u64() % 1000) < (cfg.green_share * 1000.0) as u64;
        let mut to = Vec::new();
        if !green {
            for _ in 0..1 + rng.below(3) {
                let r = names[rng.below(names.len())].clone();
                if r != author && !to.contains(&r) {
                    to.push(r);
                }
            }
            if to.is_empty() {
                to.push(
                    names
                        .iter()
                        .find(|n| **n != author)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
        }
        match publish(net, &author, i, green, &to).await {
            Ok(id) => {
                let recipients = if green {
                    names.to_vec()
                } else {
                    to.iter().cloned().chain([author.clone()]).collect()
                };
                sent.push(Sent {
                    id,
                    author,
                    recipients,
                });
            }
            Err(e) => {
                report.not_acknowledged += 1;
                if report.not_acknowledged_examples.len() < 10 {
                    report.not_acknowledged_examples.push(format!("{e:#}"));
                }
            }
        }
        progress.step(
            i as u64 + 1,
            &format!(
                "published {}, not acknowledged {}, down {}, paused {}",
                sent.len(),
                report.not_acknowledged,
                chaos.down.len(),
                chaos.paused.len()
            ),
        );
    }
    // Faults timed after the last publication still happen.
    while let Some(f) = timeline.pop_front() {
        tokio::time::sleep_until((burst + Duration::from_millis(f.at_ms)).into()).await;
        let line = chaos.apply(net, cfg, names, &peer_ids, &f).await?;
        report.record_fault(&f, &line);
        say(&format!("[end] {line}"));
    }
    // Everyone back up and running, then heal.
    for n in chaos.paused.clone() {
        chaos
            .apply(
                net,
                cfg,
                names,
                &peer_ids,
                &Fault {
                    at_ms: 0,
                    action: FaultAction::Resume,
                    teams: vec![n],
                },
            )
            .await?;
    }
    for n in chaos.down.keys().cloned().collect::<Vec<_>>() {
        chaos.restart(net, cfg, names, &peer_ids, &n).await?;
    }
    if let Some(since) = chaos.partitioned_at {
        // Hold the split long enough for both sides to diverge for real.
        let held = since.elapsed();
        if held < MIN_PARTITION {
            tokio::time::sleep(MIN_PARTITION - held).await;
        }
        report.partition_ms = since.elapsed().as_millis() as u64;
        chaos.heal(net, names).await?;
        say(&format!(
            "healed the partition after {} ms",
            report.partition_ms
        ));
    }
    let healed = Instant::now();
    report.envelopes_published = sent.len();

    // Wait until every node holds the same set, including every acknowledged envelope.
    let acked: HashSet<String> = sent.iter().map(|s| s.id.clone()).collect();
    let converged = Testnet::wait_for(CONVERGE_TIMEOUT, || async {
        let mut first: Option<HashSet<String>> = None;
        for n in names {
            let ids: HashSet<String> = net
                .api(n)?
                .envelopes()
                .await?
                .into_iter()
                .map(|e| e.id)
                .collect();
            if !acked.is_subset(&ids) {
                return Ok(false);
            }
            match &first {
                None => first = Some(ids),
                Some(f) if *f != ids => return Ok(false),
                Some(_) => {}
            }
        }
        Ok(true)
    })
    .await;
    report.converged = converged.is_ok();
    report.converge_after_heal_ms = healed.elapsed().as_millis() as u64;
    say(&format!(
        "{} after {} ms",
        if report.converged {
            "converged"
        } else {
            "NOT converged"
        },
        report.converge_after_heal_ms
    ));

    report.resources = net.resource_summary();

    // Losses and latency, from every node's view.
    let mut views: HashMap<String, HashMap<String, EnvelopeView>> = HashMap::new();
    for n in names {
        let v = net.api(n)?.envelopes().await?;
        views.insert(
            n.clone(),
            v.into_iter().map(|e| (e.id.clone(), e)).collect(),
        );
    }
    let mut latencies = Vec::new();
    let mut delivered = 0usize;
    for s in &sent {
        report.deliveries_intended += s.recipients.iter().filter(|r| **r != s.author).count();
        let created_at = views[&s.author].get(&s.id).map(|e| e.created_at);
        let mut missing = Vec::new();
        for r in &s.recipients {
            match views[r].get(&s.id) {
                Some(e) if e.readable => {
                    if *r != s.author {
                        delivered += 1;
                    }
                    if *r != s.author
                        && let Some(t) = created_at
                    {
                        latencies.push(e.received_at.saturating_sub(t));
                    }
                }
                Some(_) => missing.push(format!("{r} (holds it, cannot read it)")),
                None => missing.push(r.clone()),
            }
        }
        if !missing.is_empty() {
            report.lost += 1;
            if report.lost_examples.len() < 10 {
                report.lost_examples.push(format!(
                    "{} by {}: missing at {}",
                    &s.id[..8],
                    s.author,
                    missing.join(", ")
                ));
            }
        }
    }
    let (mut bytes, mut dups) = (0u64, 0u64);
    for n in names {
        let st = net.api(n)?.status().await?;
        bytes += st.bytes_out;
        dups += st.gossip_duplicates;
    }
    let per = |v: u64| v as f64 / delivered.max(1) as f64;
    report.delivery_ratio = delivered as f64 / report.deliveries_intended.max(1) as f64;
    report.duplicates_per_delivery = per(dups);
    report.bytes_sent_per_delivery = per(bytes);
    latencies.sort_unstable();
    let pct = |p: f64| crate::stats::percentile(&latencies, p).unwrap_or(0);
    report.latency_ms = Latency {
        p50: pct(0.50),
        p95: pct(0.95),
        p99: pct(0.99),
        max: latencies.last().copied().unwrap_or(0),
        samples: latencies.len(),
    };
    Ok(report)
}

/// Starts the newcomer (it asks to join on first start), has the first two
/// teams vouch for it, and returns the ms from the first vouch until every
/// node counts it a member.
async fn admit_newcomer(net: &mut Testnet, names: &[String]) -> Result<u64> {
    net.start(NEWCOMER).await?;
    // Both sponsors must know the applicant before they can vouch.
    if let Err(e) = net
        .wait_applicant(&names[..2.min(names.len())], NEWCOMER, ADMIT_TIMEOUT)
        .await
    {
        bail!("{NEWCOMER}'s join request did not reach its sponsors: {e}");
    }
    let start = Instant::now();
    for sponsor in names.iter().take(2) {
        net.api(sponsor)?
            .membership(&crate::harness::vouch(NEWCOMER))
            .await?;
    }
    let everyone: Vec<String> = names.iter().cloned().chain([NEWCOMER.into()]).collect();
    if let Err(e) = net
        .wait_members(&everyone, everyone.len(), ADMIT_TIMEOUT)
        .await
    {
        bail!("{NEWCOMER} was not admitted everywhere: {e}");
    }
    Ok(start.elapsed().as_millis() as u64)
}

/// Starts a team's node: relayed-only teams listen through the first team's relay.
async fn start(
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

async fn publish(
    net: &Testnet,
    author: &str,
    i: usize,
    green: bool,
    to: &[String],
) -> Result<String> {
    let req = NewIncident {
        title: format!("drill incident {i}"),
        description: "x".repeat(200),
        tlp: Label(if green {
            proto::Tlp::Green
        } else {
            proto::Tlp::Amber
        }),
        to: to.to_vec(),
    };
    Ok(net.api(author)?.open(&req).await?.id)
}

/// Kills `victim` while a task is publishing through it; returns how many
/// envelopes it acknowledged before the kill (recorded in `sent`).
async fn kill_mid_burst(
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

/// The faults in force: who is down (and at which publication it comes
/// back; `usize::MAX`: when the timeline says), who is paused, and the
/// partition's side.
#[derive(Default)]
struct Chaos {
    down: HashMap<String, usize>,
    paused: HashSet<String>,
    side: Option<HashSet<String>>,
    /// When the partition in force began.
    partitioned_at: Option<Instant>,
}

impl Chaos {
    /// Up and answering.
    fn running(&self, name: &str) -> bool {
        !self.down.contains_key(name) && !self.paused.contains(name)
    }

    async fn apply(
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

    async fn restart(
        &mut self,
        net: &mut Testnet,
        cfg: &DrillConfig,
        names: &[String],
        peer_ids: &HashMap<String, String>,
        n: &str,
    ) -> Result<()> {
        self.down.remove(n);
        start(net, n, cfg, names).await?;
        self.sync_blocks(net, names, peer_ids, n).await
    }

    /// Splits the mesh: `side` against the rest, on every running node.
    async fn partition(
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
    async fn heal(&mut self, net: &Testnet, names: &[String]) -> Result<()> {
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
            dial: vec![],
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped scenario parses and resolves.
    #[test]
    fn shipped_scenarios_are_valid() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let cfg = Scenario::load(&path)
                .and_then(|s| s.resolve(&Scenario::default()))
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            assert!(cfg.teams >= 2);
            n += 1;
        }
        assert!(n >= 5, "only {n} scenarios");
    }

    /// A timeline naming a team the drill does not have is refused, by name.
    #[test]
    fn a_fault_on_an_unknown_team_is_refused() {
        let s: Scenario = toml::from_str(
            "teams = 4\n[[fault]]\nat_ms = 10\naction = \"pause\"\nteams = [\"CSIRT-07\"]\n",
        )
        .unwrap();
        let e = s.resolve(&Scenario::default()).unwrap_err().to_string();
        assert!(e.contains("CSIRT-07"), "{e}");
        let bad: Result<Scenario, _> =
            toml::from_str("[[fault]]\nat_ms = 10\naction = \"explode\"\n");
        assert!(bad.is_err());
    }
}
