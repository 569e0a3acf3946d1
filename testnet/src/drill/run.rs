//! Running a drill: set the mesh up, publish a burst while faults strike,
//! put everything back, wait for convergence, and measure.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use csirtmesh::api::types::{EnvelopeView, Label, NewIncident, NewReport};

use super::{
    DrillConfig, DrillReport, Fault, FaultAction, Latency,
    chaos::{Chaos, kill_mid_burst, start_team},
    hostile::{GossipAbuse, Strangers},
    report::HostileReport,
};
use crate::{
    harness::{NodeCommand, Testnet},
    progress::Progress,
    rng::Rng,
};

/// A publication to check at the end.
pub(super) struct Sent {
    pub(super) id: String,
    pub(super) author: String,
    pub(super) recipients: Vec<String>,
}

/// The team that joins by endorsement during the drill.
const NEWCOMER: &str = "NEWCOMER";

/// How long admission may take.
const ADMIT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the mesh may take to form.
const FORM_TIMEOUT: Duration = Duration::from_secs(60);

/// The shortest partition: a fast burst would otherwise heal it at once.
const MIN_PARTITION: Duration = Duration::from_secs(5);

/// How long convergence after healing may take.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(180);

/// Reasons kept for publications that were not acknowledged.
const MAX_EXAMPLES: usize = 10;

/// Runs the drill; every process is stopped on return.
pub async fn run(command: NodeCommand, cfg: DrillConfig, json: bool) -> Result<DrillReport> {
    let progress = Progress::new(cfg.incidents as u64, json);
    let started = Instant::now();
    let names = cfg.names();
    let mut net = Testnet::create_with(command, &team_options(&cfg, &names), cfg.teams, 2)?;
    if cfg.latency_ms > 0 || cfg.loss > 0.0 {
        net.emulation = Some((cfg.latency_ms, cfg.loss));
    }
    let loss = ["--emulate-loss".to_string(), cfg.loss.to_string()];
    for n in cfg.slow_names() {
        let delay = ["--emulate-delay-ms".into(), cfg.slow_delay_ms.to_string()];
        let kbps = ["--emulate-bandwidth-kbps".into(), cfg.slow_kbps.to_string()];
        net.team_emulation
            .insert(n, [delay, kbps, loss.clone()].concat());
    }
    for n in cfg.censor_names() {
        let delay = ["--emulate-delay-ms".into(), cfg.latency_ms.to_string()];
        let censor = ["--emulate-censor".to_string()];
        net.team_emulation
            .insert(n, [delay.as_slice(), &loss, &censor].concat());
    }
    let censors = cfg.censor_names();
    let honest: Vec<String> = names
        .iter()
        .filter(|n| !censors.contains(n))
        .cloned()
        .collect();
    progress.say(&format!(
        "Drill: {} teams, {} incidents, churn {}, partition {} ({})",
        cfg.teams,
        cfg.incidents,
        cfg.churn,
        cfg.partition,
        net.root.display()
    ));
    let mut run = Run {
        rng: Rng(cfg.seed),
        report: DrillReport {
            teams: cfg.teams,
            ..DrillReport::default()
        },
        net: &mut net,
        cfg: &cfg,
        names: &names,
        honest: &honest,
        hostiles: None,
        progress: &progress,
        peer_ids: HashMap::new(),
        sent: Vec::new(),
        chaos: Chaos::default(),
    };
    let result = run.all().await;
    if let Some(h) = run.hostiles.take() {
        h.stop().await;
    }
    let result = result.map(|()| run.report);
    progress.finish();
    net.stop_all().await;
    let mut report = result?;
    report.wall_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The first team is the bootstrap point and, when some teams sit behind
/// NAT, their relay; the next `last_resort` teams are the last resort for
/// BR; one more team, not a founder, joins by endorsement once the mesh is up.
fn team_options<'a>(
    cfg: &DrillConfig,
    names: &'a [String],
) -> Vec<(&'a str, csirtmesh::datadir::InitOptions)> {
    let mut opts: Vec<_> = names
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
            // The insider's victim (`insider::run`) owns a prefix the
            // insider will claim part of.
            if cfg.insider && i == 3 {
                o.constituency = vec![
                    super::capture::VICTIM_PREFIX
                        .parse()
                        .expect("a valid constituency entry"),
                ];
            }
            (n.as_str(), o)
        })
        .collect();
    opts.push((NEWCOMER, csirtmesh::datadir::InitOptions::default()));
    opts
}

/// The hostile parts of a drill, running.
struct Hostiles {
    strangers: Option<Strangers>,
    abuse: Option<(GossipAbuse, std::path::PathBuf)>,
    /// Each honest node's peak RSS (MiB) before the hostiles started.
    rss_before: HashMap<String, f64>,
}

impl Hostiles {
    async fn stop(self) {
        if let Some(s) = self.strangers {
            s.stop().await;
        }
        if let Some((a, log)) = self.abuse {
            a.finish(&log, Duration::from_secs(1)).await;
        }
    }
}

/// How long the py-libp2p client may run at most (it is stopped at the end
/// of the burst in any case).
const ABUSE_SECONDS: u64 = 600;

/// A drill under way.
struct Run<'a> {
    net: &'a mut Testnet,
    cfg: &'a DrillConfig,
    names: &'a [String],
    /// Teams that do not censor: authors, recipients and judges of the
    /// figures.
    honest: &'a [String],
    hostiles: Option<Hostiles>,
    progress: &'a Progress,
    /// Chooses authors, labels and recipients, and who is killed.
    rng: Rng,
    report: DrillReport,
    /// Each team's node's peer id (for partition blocks).
    peer_ids: HashMap<String, String>,
    /// Every acknowledged publication, to check at the end.
    sent: Vec<Sent>,
    /// The faults in force.
    chaos: Chaos,
}

impl Run<'_> {
    async fn all(&mut self) -> Result<()> {
        self.setup().await?;
        self.burst().await?;
        self.wind_down().await?;
        self.judge_hostiles().await?;
        self.converge().await?;
        self.measure().await?;
        if self.cfg.insider {
            let progress = self.progress;
            let say = |line: &str| progress.say(line);
            self.report.insider = Some(super::insider::run(self.net, self.names, &say).await?);
        }
        let panics = self.panics();
        if let Some(h) = self.report.hostile.as_mut() {
            h.panics += panics;
        }
        Ok(())
    }

    fn say(&self, line: &str) {
        self.progress.say(line);
    }

    /// Starts every team, waits for the mesh, admits the newcomer.
    async fn setup(&mut self) -> Result<()> {
        for n in self.names {
            let s = start_team(self.net, n, self.cfg, self.names).await?;
            self.peer_ids.insert(n.clone(), s.peer_id);
        }
        let want = (self.cfg.teams - 1).min(3);
        if let Err(e) = self
            .net
            .wait_connected(self.names, want, FORM_TIMEOUT)
            .await
        {
            bail!("the mesh did not form: {e}");
        }
        self.say(&format!("{} nodes up and connected", self.cfg.teams));
        if !self.cfg.hostile() {
            self.report.admit_ms = self.admit_newcomer().await?;
            self.say(&format!(
                "{NEWCOMER} admitted by two endorsements in {} ms",
                self.report.admit_ms
            ));
            return Ok(());
        }
        self.start_hostiles().await?;
        // A real team applies while the strangers flood.
        let admitted = self.admit_newcomer().await;
        let hostile = self
            .report
            .hostile
            .get_or_insert_with(HostileReport::default);
        match admitted {
            Ok(ms) => {
                self.report.admit_ms = ms;
                hostile.legit_applicant_admitted = true;
                self.say(&format!("{NEWCOMER} admitted during the flood in {ms} ms"));
            }
            Err(e) => {
                hostile.legit_applicant_admitted = false;
                self.say(&format!("{NEWCOMER} NOT admitted during the flood: {e:#}"));
            }
        }
        Ok(())
    }

    /// Starts the strangers and the gossip abuse against every member.
    async fn start_hostiles(&mut self) -> Result<()> {
        let mut rss_before = HashMap::new();
        let mut members = Vec::new();
        for n in self.names {
            if let Some((_, rss)) = self.net.resources(n) {
                rss_before.insert(n.clone(), rss);
            }
            let s = self.net.api(n)?.status().await?;
            let team: proto::TeamId = s.team.id.parse()?;
            if let Some(a) = s
                .listen_addrs
                .iter()
                .find(|a| a.contains("/tcp/") && !a.contains("p2p-circuit"))
            {
                members.push((a.clone(), team));
            }
        }
        let status = self.net.api(&self.names[0])?.status().await?;
        let mesh: proto::MeshId = status.mesh_id.parse()?;
        let (n, lurkers) = (self.cfg.strangers, self.cfg.lurkers);
        let strangers = if n + lurkers > 0 {
            self.say(&format!(
                "{n} strangers dial every member and flood join requests, forgeries and junk; {lurkers} more only connect"
            ));
            Some(Strangers::start(n, lurkers, mesh, members.clone())?)
        } else {
            None
        };
        let abuse = if self.cfg.gossip_abuse {
            let log = self.net.root.join("gossip-abuse.log");
            let targets: Vec<String> = members.iter().map(|(a, _)| a.clone()).collect();
            let topic = net::protocol::envelope_topic(&mesh.to_string());
            let a = GossipAbuse::start(&targets, &topic, ABUSE_SECONDS, log.clone())?;
            self.say("py-libp2p abuses gossipsub control messages (PRUNE, SUBSCRIBE, IWANT, IHAVE floods)");
            Some((a, log))
        } else {
            None
        };
        self.hostiles = Some(Hostiles {
            strangers,
            abuse,
            rss_before,
        });
        Ok(())
    }

    /// At the end of the burst, with the hostiles still at it: what they
    /// got. Then they stop.
    async fn judge_hostiles(&mut self) -> Result<()> {
        let Some(h) = self.hostiles.take() else {
            return Ok(());
        };
        let window = net::Config::default().stranger_window;
        let mut report = self.report.hostile.take().unwrap_or_default();
        if let Some(s) = &h.strangers {
            // Past a full window after the burst, as the strangers keep dialling.
            tokio::time::sleep(window + Duration::from_secs(6)).await;
            let figures = s.figures(window, self.cfg.lurkers);
            report.stranger_connections_held = figures.connections_held;
            let sent = s.sent_ids();
            for n in self.honest {
                let ids = self.net.api(n)?.envelopes().await?;
                report.stranger_envelopes_stored +=
                    ids.iter().filter(|e| sent.contains(&e.id)).count();
            }
            report.strangers = Some(figures);
        }
        for n in self.honest {
            let st = self.net.api(n)?.status().await?;
            report.bans += st.blocked.len();
            report.strangers_closed += st.strangers_closed;
            if let (Some((_, now)), Some(before)) = (self.net.resources(n), h.rss_before.get(n)) {
                report.rss_growth_mb = report.rss_growth_mb.max(now - before);
            }
        }
        let Hostiles {
            strangers, abuse, ..
        } = h;
        if let Some(s) = strangers {
            // Panics in the strangers' own tasks (the project's net crate).
            report.panics += s.stop().await;
        }
        if let Some((a, log)) = abuse {
            report.gossip_abuse = Some(a.finish(&log, Duration::from_secs(1)).await);
        }
        self.say(&format!(
            "hostiles: {} stranger connections held, {} stranger envelopes stored, {} bans, RSS growth {:.1} MiB",
            report.stranger_connections_held,
            report.stranger_envelopes_stored,
            report.bans,
            report.rss_growth_mb,
        ));
        self.report.hostile = Some(report);
        Ok(())
    }

    /// Panics in any node's log, read at the very end (catch-up included).
    fn panics(&self) -> usize {
        self.names
            .iter()
            .chain([&NEWCOMER.to_string()])
            .filter_map(|n| std::fs::read_to_string(self.net.root.join(format!("{n}.log"))).ok())
            .map(|log| log.matches("panicked at").count())
            .sum()
    }

    /// Has the first team invite the newcomer, starts it (it asks to join on
    /// first start), has the first two teams vouch for it, and returns the ms from the first vouch until
    /// every node counts it a member.
    async fn admit_newcomer(&mut self) -> Result<u64> {
        let sponsors = &self.names[..2.min(self.names.len())];
        // The newcomer sent its team id to the first sponsor, who invited it.
        self.net.invite(&sponsors[0], NEWCOMER).await?;
        self.net.start(NEWCOMER).await?;
        // Both sponsors must know the applicant before they can vouch.
        if let Err(e) = self
            .net
            .wait_applicant(sponsors, NEWCOMER, ADMIT_TIMEOUT)
            .await
        {
            bail!("{NEWCOMER}'s join request did not reach its sponsors: {e}");
        }
        let start = Instant::now();
        for sponsor in sponsors {
            self.net
                .api(sponsor)?
                .membership(&crate::harness::vouch(NEWCOMER))
                .await?;
        }
        let everyone: Vec<String> = self
            .names
            .iter()
            .cloned()
            .chain([NEWCOMER.into()])
            .collect();
        if let Err(e) = self
            .net
            .wait_members(&everyone, everyone.len(), ADMIT_TIMEOUT)
            .await
        {
            bail!("{NEWCOMER} was not admitted everywhere: {e}");
        }
        Ok(start.elapsed().as_millis() as u64)
    }

    /// The teams `churn` kills, in order (never the bootstrap team).
    fn victims(&mut self) -> Vec<String> {
        let k = ((self.cfg.churn * self.cfg.teams as f64).round() as usize).min(self.cfg.teams - 1);
        let mut pool: Vec<String> = self.names[1..].to_vec();
        (0..k)
            .map(|_| pool.remove(self.rng.below(pool.len())))
            .collect()
    }

    /// The burst: one publication a step, with the timeline's faults, the
    /// partition and the kills at their steps.
    async fn burst(&mut self) -> Result<()> {
        let cfg = self.cfg;
        let victims = self.victims();
        let half: HashSet<String> = self.names[..cfg.teams / 2].iter().cloned().collect();
        let partition_from = cfg.incidents / 3;
        let kill_every = if victims.is_empty() {
            usize::MAX
        } else {
            (cfg.incidents / (victims.len() + 1)).max(2)
        };
        let restart_after = (cfg.incidents / 20).max(2);
        let mut next_victim = 0;
        let mut timeline: VecDeque<Fault> = {
            let mut f = cfg.faults.clone();
            f.sort_by_key(|f| f.at_ms);
            f.into()
        };
        let burst = Instant::now();
        for i in 0..cfg.incidents {
            if let Some(rate) = cfg.rate_per_sec {
                let at = burst + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(at.into()).await;
            }
            while let Some(f) = timeline
                .front()
                .filter(|f| burst.elapsed() >= Duration::from_millis(f.at_ms))
                .cloned()
            {
                timeline.pop_front();
                let line = self.apply(&f).await?;
                self.say(&format!("[{i}/{}] {line}", cfg.incidents));
            }
            if cfg.partition && i == partition_from {
                let (net, names, peers) = (&*self.net, self.names, &self.peer_ids);
                self.chaos
                    .partition(net, names, peers, half.clone())
                    .await?;
                self.say(&format!(
                    "[{i}/{}] partition: {} | {} teams",
                    cfg.incidents,
                    half.len(),
                    cfg.teams - half.len()
                ));
            }
            self.restart_due(i).await?;
            if i > 0 && i % kill_every == 0 && next_victim < victims.len() {
                let v = victims[next_victim].clone();
                next_victim += 1;
                self.kill(i, &v, i + restart_after).await?;
            }
            self.publish_one(i).await?;
        }
        // Faults timed after the last publication still happen.
        while let Some(f) = timeline.pop_front() {
            tokio::time::sleep_until((burst + Duration::from_millis(f.at_ms)).into()).await;
            let line = self.apply(&f).await?;
            self.say(&format!("[end] {line}"));
        }
        Ok(())
    }

    /// Applies a timeline fault and records it.
    async fn apply(&mut self, f: &Fault) -> Result<String> {
        let line = self
            .chaos
            .apply(self.net, self.cfg, self.names, &self.peer_ids, f)
            .await?;
        self.report.record_fault(f, &line);
        Ok(line)
    }

    /// Restarts the teams whose time to come back (publication `i`) came.
    async fn restart_due(&mut self, i: usize) -> Result<()> {
        let due: Vec<String> = self
            .chaos
            .down
            .iter()
            .filter(|(_, at)| **at <= i)
            .map(|(n, _)| n.clone())
            .collect();
        for n in due {
            self.chaos
                .restart(self.net, self.cfg, self.names, &self.peer_ids, &n)
                .await?;
            self.say(&format!("[{i}/{}] restarted {n}", self.cfg.incidents));
        }
        Ok(())
    }

    /// Kills `victim` while a background task publishes through it; it
    /// comes back at publication `back_at`.
    async fn kill(&mut self, i: usize, victim: &str, back_at: usize) -> Result<()> {
        if !self.chaos.running(victim) {
            return Ok(());
        }
        let acked = kill_mid_burst(self.net, victim, self.names, &mut self.sent).await?;
        self.report.acknowledged_before_kill += acked;
        self.report.kills += 1;
        self.chaos.down.insert(victim.to_owned(), back_at);
        self.say(&format!(
            "[{i}/{}] killed {victim} (SIGKILL) after it acknowledged {acked} envelopes mid-burst",
            self.cfg.incidents
        ));
        Ok(())
    }

    /// Whether `n` is one of the last-resort teams for BR.
    fn is_last_resort(&self, n: &str) -> bool {
        self.names
            .iter()
            .position(|m| m == n)
            .is_some_and(|p| (1..=self.cfg.last_resort).contains(&p))
    }

    /// One publication from a random running team: a report, a GREEN
    /// advisory or an AMBER incident to one to three teams.
    async fn publish_one(&mut self, i: usize) -> Result<()> {
        let alive: Vec<&String> = self
            .honest
            .iter()
            .filter(|n| self.chaos.running(n))
            .collect();
        if alive.is_empty() {
            self.report.not_acknowledged += 1;
            return Ok(());
        }
        let author = alive[self.rng.below(alive.len())].clone();
        // The last-resort teams do not report to themselves (the node
        // refuses: they are responsible for those addresses).
        let report = self.cfg.report_share > 0.0
            && !self.is_last_resort(&author)
            && self.rng.chance(self.cfg.report_share);
        let published = if report {
            self.report_one(i, &author).await
        } else {
            self.incident_one(i, &author).await
        };
        match published {
            Ok(sent) => self.sent.push(sent),
            Err(e) => {
                self.report.not_acknowledged += 1;
                if self.report.not_acknowledged_examples.len() < MAX_EXAMPLES {
                    self.report.not_acknowledged_examples.push(format!("{e:#}"));
                }
            }
        }
        self.progress.step(
            i as u64 + 1,
            &format!(
                "published {}, not acknowledged {}, down {}, paused {}",
                self.sent.len(),
                self.report.not_acknowledged,
                self.chaos.down.len(),
                self.chaos.paused.len()
            ),
        );
        Ok(())
    }

    /// A report about an address no constituency covers: the directory
    /// routes it to the last-resort teams for BR.
    async fn report_one(&mut self, i: usize, author: &str) -> Result<Sent> {
        let req = NewReport {
            about: format!("198.51.100.{}", 1 + i % 250),
            country: Some("BR".into()),
            title: format!("drill report {i}"),
            description: "scanning from this address".into(),
            tlp: None,
            indicators: Vec::new(),
        };
        let r = self.net.api(author)?.report(&req).await?;
        let to: Vec<String> = r
            .route
            .teams
            .iter()
            .filter_map(|t| t.name.clone())
            .collect();
        self.report.reports += 1;
        if !to.is_empty() && to.iter().all(|t| self.is_last_resort(t)) {
            self.report.reports_to_last_resort += 1;
        }
        Ok(Sent {
            id: r.published.id,
            recipients: to.into_iter().chain([author.to_owned()]).collect(),
            author: author.to_owned(),
        })
    }

    /// A GREEN advisory to every team, or an AMBER incident to one to three.
    async fn incident_one(&mut self, i: usize, author: &str) -> Result<Sent> {
        let names = self.honest;
        let green = self.rng.chance(self.cfg.green_share);
        let mut to = Vec::new();
        if !green {
            for _ in 0..1 + self.rng.below(3) {
                let r = names[self.rng.below(names.len())].clone();
                if r != author && !to.contains(&r) {
                    to.push(r);
                }
            }
            if to.is_empty() {
                to.extend(names.iter().find(|n| *n != author).cloned());
            }
        }
        let req = NewIncident {
            title: format!("drill incident {i}"),
            description: "x".repeat(200),
            tlp: Label(if green {
                proto::Tlp::Green
            } else {
                proto::Tlp::Amber
            }),
            to: to.clone(),
            indicators: Vec::new(),
        };
        let id = self.net.api(author)?.open(&req).await?.id;
        let recipients = if green {
            names.to_vec()
        } else {
            to.into_iter().chain([author.to_owned()]).collect()
        };
        Ok(Sent {
            id,
            author: author.to_owned(),
            recipients,
        })
    }

    /// Everyone back up and running, then the partition healed.
    async fn wind_down(&mut self) -> Result<()> {
        for n in self.chaos.paused.clone() {
            let resume = Fault {
                at_ms: 0,
                action: FaultAction::Resume,
                teams: vec![n],
            };
            self.chaos
                .apply(self.net, self.cfg, self.names, &self.peer_ids, &resume)
                .await?;
        }
        for n in self.chaos.down.keys().cloned().collect::<Vec<_>>() {
            self.chaos
                .restart(self.net, self.cfg, self.names, &self.peer_ids, &n)
                .await?;
        }
        if let Some(since) = self.chaos.partitioned_at {
            // Hold the split long enough for both sides to diverge for real.
            let held = since.elapsed();
            if held < MIN_PARTITION {
                tokio::time::sleep(MIN_PARTITION - held).await;
            }
            self.report.partition_ms = since.elapsed().as_millis() as u64;
            self.chaos.heal(self.net, self.names).await?;
            self.say(&format!(
                "healed the partition after {} ms",
                self.report.partition_ms
            ));
        }
        Ok(())
    }

    /// Waits (bounded) until every node holds the same set, including every
    /// acknowledged envelope.
    async fn converge(&mut self) -> Result<()> {
        let healed = Instant::now();
        self.report.envelopes_published = self.sent.len();
        let acked: HashSet<String> = self.sent.iter().map(|s| s.id.clone()).collect();
        let (net, names) = (&*self.net, self.honest);
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
        self.report.converged = converged.is_ok();
        self.report.converge_after_heal_ms = healed.elapsed().as_millis() as u64;
        self.say(&format!(
            "{} after {} ms",
            if self.report.converged {
                "converged"
            } else {
                "NOT converged"
            },
            self.report.converge_after_heal_ms
        ));
        Ok(())
    }

    /// Losses, latency and traffic, from every node's view.
    async fn measure(&mut self) -> Result<()> {
        self.report.resources = self.net.resource_summary();
        let mut views: HashMap<String, HashMap<String, EnvelopeView>> = HashMap::new();
        for n in self.honest {
            let v = self.net.api(n)?.envelopes().await?;
            views.insert(
                n.clone(),
                v.into_iter().map(|e| (e.id.clone(), e)).collect(),
            );
        }
        let report = &mut self.report;
        let mut latencies = Vec::new();
        let mut delivered = 0usize;
        for s in &self.sent {
            report.deliveries_intended += s.recipients.iter().filter(|r| **r != s.author).count();
            let created_at = views[&s.author].get(&s.id).map(|e| e.created_at);
            let mut missing = Vec::new();
            for r in &s.recipients {
                match views[r].get(&s.id) {
                    Some(e) if e.readable => {
                        if *r != s.author {
                            delivered += 1;
                            if let Some(t) = created_at {
                                latencies.push(e.received_at.saturating_sub(t));
                            }
                        }
                    }
                    Some(_) => missing.push(format!("{r} (holds it, cannot read it)")),
                    None => missing.push(r.clone()),
                }
            }
            if !missing.is_empty() {
                report.lost += 1;
                if report.lost_examples.len() < MAX_EXAMPLES {
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
        for n in self.names {
            let st = self.net.api(n)?.status().await?;
            bytes += st.bytes_out;
            dups += st.gossip_duplicates;
        }
        let report = &mut self.report;
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
        Ok(())
    }
}
