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

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use net::{Event, Multiaddr, PeerId, Validation};
use proto::{Body, Envelope, EnvelopeId, KeyId, SealedTo, TeamId};
use seal::{SenderKey, TeamKeys};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::{
    bench_gossip::LatencyMs,
    bench_ingest::{Sealing, incident},
    harness::process_resources,
    rng::Rng,
};

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

/// When each team opened each envelope, µs after the epoch.
type Opened = Mutex<HashMap<EnvelopeId, Vec<(usize, u64)>>>;

/// What every simulated team shares read-only (as if each had its own copy).
struct Shared {
    /// Each member's age recipient, for recipient hints.
    members: HashMap<TeamId, seal::AgeRecipient>,
    sender_keys: HashMap<KeyId, SenderKey>,
    epoch: Instant,
    opened: Opened,
}

/// How long the mesh settles before it is measured: discovery's extra
/// links close after the 15 s idle timeout.
const SETTLE: Duration = Duration::from_secs(20);
/// How long the idle cost is measured.
const IDLE_MEASURE: Duration = Duration::from_secs(5);
/// How long one publication may take to reach everyone.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the mesh may take to form.
const FORM_TIMEOUT: Duration = Duration::from_secs(180);

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

async fn simulate(cfg: &SimConfig, shutdown: &CancellationToken) -> Result<SimReport> {
    let started = Instant::now();
    let cpu0 = process_resources(std::process::id())
        .map(|r| r.0)
        .unwrap_or(0.0);
    let mut sim = Sim::new(cfg)?;
    sim.start(shutdown).await?;
    sim.wait_formed().await?;
    let mesh_formed_ms = started.elapsed().as_millis() as u64;
    sim.say(&format!("mesh formed after {mesh_formed_ms} ms"));
    let idle_cores_busy = sim.idle_cores_busy().await;
    let links = sim.map_links().await?;
    let green_hops = sim.hops(sim.green_author);
    let green = sim.green(&green_hops).await?;
    let amber = sim.amber().await?;
    let load = sim.load(&green_hops).await?;
    let (cpu1, rss) = process_resources(std::process::id()).unwrap_or((0.0, 0.0));
    Ok(SimReport {
        teams: cfg.teams,
        link_latency_ms: cfg.latency_ms,
        delivery_ratio: green.delivery_ratio,
        latency_ms: green.latency_ms.clone(),
        ideal_latency_ms: green.ideal_latency_ms.clone(),
        green,
        amber,
        load,
        load_rate: cfg.rate,
        links_per_node_median: links.get(links.len() / 2).copied().unwrap_or(0),
        hops_max: green_hops.iter().flatten().copied().max().unwrap_or(0),
        mesh_formed_ms,
        cpu_s: cpu1 - cpu0,
        idle_cores_busy,
        rss_peak_mib: rss,
        rss_per_team_mib: rss / cfg.teams as f64,
        wall_ms: started.elapsed().as_millis() as u64,
    })
}

/// A simulation under way: the teams' keys, their nodes, and the graph of
/// links that formed.
struct Sim<'a> {
    cfg: &'a SimConfig,
    /// Chooses links, authors and recipients (same seed, same choices).
    rng: Rng,
    keys: Vec<TeamKeys>,
    mesh: proto::MeshId,
    /// Who sends the GREEN advisory and the load.
    green_author: usize,
    /// The GREEN author's sender key, known to every team.
    sender_key: SenderKey,
    /// What every team's loop reads and records.
    shared: Arc<Shared>,
    /// Each team's network client, by team index.
    clients: Vec<net::Client>,
    /// Team index by its node's peer id.
    peers: HashMap<PeerId, usize>,
    /// Each team's connections, by team index (once formed).
    graph: Vec<Vec<usize>>,
    /// The next envelope's sequence number.
    seq: std::cell::Cell<u64>,
}

impl<'a> Sim<'a> {
    fn new(cfg: &'a SimConfig) -> Result<Self> {
        let mut rng = Rng(cfg.seed);
        let keys: Vec<TeamKeys> = (0..cfg.teams).map(|_| TeamKeys::generate()).collect();
        let green_author = rng.below(cfg.teams);
        let sender_key = SenderKey::generate();
        let shared = Arc::new(Shared {
            members: keys
                .iter()
                .map(|k| Ok((k.team_id(), seal::parse_recipient(&k.recipient())?)))
                .collect::<Result<_>>()?,
            sender_keys: HashMap::from([(
                sender_key.id(),
                SenderKey::from_secret(&sender_key.secret())?,
            )]),
            epoch: Instant::now(),
            opened: Mutex::default(),
        });
        Ok(Sim {
            cfg,
            rng,
            keys,
            mesh: proto::MeshId([7; 32]),
            green_author,
            sender_key,
            shared,
            clients: Vec::new(),
            peers: HashMap::new(),
            graph: Vec::new(),
            seq: std::cell::Cell::new(1),
        })
    }

    /// Progress: on stderr when stdout carries JSON.
    fn say(&self, s: &str) {
        if self.cfg.json {
            eprintln!("{s}")
        } else {
            println!("{s}")
        }
    }

    /// Starts the nodes: a random graph, each team dialling up to half its
    /// degree of earlier teams (and dialled by later ones).
    async fn start(&mut self, shutdown: &CancellationToken) -> Result<()> {
        let cfg = self.cfg;
        let mut addrs: Vec<Multiaddr> = Vec::new();
        for i in 0..cfg.teams {
            let mut bootstrap = Vec::new();
            while bootstrap.len() < (cfg.degree / 2).max(1).min(i) {
                let a = addrs[self.rng.below(i)].clone();
                if !bootstrap.contains(&a) {
                    bootstrap.push(a);
                }
            }
            let config = net::Config {
                listen: vec!["/memory/0".parse()?],
                bootstrap,
                topic: net::protocol::envelope_topic("sim"),
                emulation: Some(net::LinkEmulation {
                    delay: Duration::from_millis(cfg.latency_ms),
                    ..Default::default()
                }),
                target_peers: cfg.degree,
                discovery: false,
                discovery_interval: Duration::from_secs(10),
                // Links outside the gossip mesh close when idle (simulated
                // teams run no anti-entropy to keep them busy).
                idle_timeout: Duration::from_secs(15),
                ..net::Config::default()
            };
            let node_key = net::NodeKey::generate();
            self.peers.insert(node_key.peer_id(), i);
            let (client, mut events, event_loop) = net::new(node_key, config)?;
            tokio::spawn(event_loop.run(shutdown.clone()));
            let addr = loop {
                match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
                    Ok(Some(Event::Listening { addr })) => break addr,
                    Ok(Some(_)) => {}
                    _ => bail!("simulated node {i} did not start listening"),
                }
            };
            addrs.push(addr);
            let (signing, age) = self.keys[i].secrets();
            let team = TeamKeys::from_secrets(&signing, &age)?;
            tokio::spawn(team_loop(
                i,
                team,
                client.clone(),
                events,
                self.shared.clone(),
            ));
            self.clients.push(client);
            if (i + 1) % 100 == 0 {
                self.say(&format!("{} teams started", i + 1));
            }
        }
        Ok(())
    }

    /// Waits (bounded) until every node has a gossip peer. A team whose
    /// dials met full peers (each accepts three times its degree) may have
    /// fewer links than it asked for; the ideal latencies are computed on
    /// the links that did form, and [`Sim::map_links`] checks the graph is
    /// connected.
    async fn wait_formed(&self) -> Result<()> {
        let want = 1;
        let form_start = Instant::now();
        loop {
            let mut ready = 0;
            for c in &self.clients {
                ready += usize::from(c.status().await?.topic_peers >= want);
            }
            if ready == self.cfg.teams {
                return Ok(());
            }
            if form_start.elapsed() > FORM_TIMEOUT {
                bail!(
                    "the mesh did not form: {ready} of {} nodes have {want} gossip peers",
                    self.cfg.teams
                );
            }
            self.say(&format!(
                "{ready}/{} nodes have {want} gossip peers",
                self.cfg.teams
            ));
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    /// What the mesh costs when nothing is published, once links that carry
    /// nothing have closed: cores kept busy.
    async fn idle_cores_busy(&self) -> f64 {
        let cpu = || {
            process_resources(std::process::id())
                .map(|r| r.0)
                .unwrap_or(0.0)
        };
        tokio::time::sleep(SETTLE).await;
        let cpu_idle0 = cpu();
        tokio::time::sleep(IDLE_MEASURE).await;
        let busy = (cpu() - cpu_idle0) / IDLE_MEASURE.as_secs_f64();
        self.say(&format!(
            "idle: {:.2} cores busy for {} teams",
            busy, self.cfg.teams
        ));
        busy
    }

    /// The connection graph as it is now (for the ideal latencies); refused
    /// unless every team can be reached. Returns links per node, sorted.
    async fn map_links(&mut self) -> Result<Vec<usize>> {
        let mut graph = Vec::with_capacity(self.clients.len());
        for c in &self.clients {
            let s = c.status().await?;
            graph.push(
                s.connected
                    .iter()
                    .filter_map(|p| self.peers.get(p).copied())
                    .collect(),
            );
        }
        self.graph = graph;
        if let Some(cut_off) = self.hops(0).iter().position(Option::is_none) {
            bail!("the links did not form one connected graph: team {cut_off} cannot be reached");
        }
        let mut links: Vec<usize> = self.graph.iter().map(Vec::len).collect();
        links.sort_unstable();
        Ok(links)
    }

    /// Hops from `from` to every team over the formed links (breadth first).
    fn hops(&self, from: usize) -> Vec<Option<usize>> {
        let mut dist = vec![None; self.graph.len()];
        dist[from] = Some(0);
        let mut queue = VecDeque::from([from]);
        while let Some(n) = queue.pop_front() {
            let d = dist[n].unwrap_or(0);
            for &m in &self.graph[n] {
                if dist[m].is_none() {
                    dist[m] = Some(d + 1);
                    queue.push_back(m);
                }
            }
        }
        dist
    }

    /// A 1 KiB incident by `author`, sealed as `sealing` says.
    fn publish(&self, author: usize, sealing: Sealing<'_>) -> Result<(EnvelopeId, Vec<u8>)> {
        let created_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis() as u64;
        let seq = self.seq.get();
        let e = incident(
            &self.keys[author],
            self.mesh,
            seq,
            created_at,
            1024,
            sealing,
        )?;
        self.seq.set(seq + 1);
        Ok((e.envelope().id, e.envelope().bytes.clone()))
    }

    fn everyone_but(&self, author: usize) -> Vec<usize> {
        (0..self.cfg.teams).filter(|t| *t != author).collect()
    }

    /// One GREEN advisory to every other team.
    async fn green(&self, hops: &[Option<usize>]) -> Result<Delivery> {
        let author = self.green_author;
        let message = self.publish(author, Sealing::Green(&self.sender_key))?;
        let to = self.everyone_but(author);
        let (lat, ideal, got) = deliver_samples(
            &self.shared,
            &self.clients[author],
            vec![message],
            1.0,
            &to,
            hops,
            self.cfg.latency_ms,
        )
        .await?;
        let green = summary(1, lat, ideal, got, to.len());
        self.say(&format!(
            "GREEN advisory: delivered to {:.4} of {} teams, p50 {:.0} ms, p99 {:.0} ms (ideal p99 {:.0} ms)",
            green.delivery_ratio,
            self.cfg.teams - 1,
            green.latency_ms.p50,
            green.latency_ms.p99,
            green.ideal_latency_ms.p99
        ));
        Ok(green)
    }

    /// `amber` AMBER incidents, each from a random team to
    /// `amber_recipients` others.
    async fn amber(&mut self) -> Result<Delivery> {
        let cfg = self.cfg;
        let (mut lat, mut ideal, mut got, mut due) = (Vec::new(), Vec::new(), 0usize, 0usize);
        for _ in 0..cfg.amber {
            let author = self.rng.below(cfg.teams);
            let mut to = Vec::new();
            while to.len() < cfg.amber_recipients.min(cfg.teams - 1) {
                let r = self.rng.below(cfg.teams);
                if r != author && !to.contains(&r) {
                    to.push(r);
                }
            }
            let to_keys: Vec<&TeamKeys> = to.iter().map(|r| &self.keys[*r]).collect();
            let message = self.publish(author, Sealing::Teams(&to_keys))?;
            let (l, i, g) = deliver_samples(
                &self.shared,
                &self.clients[author],
                vec![message],
                1.0,
                &to,
                &self.hops(author),
                cfg.latency_ms,
            )
            .await?;
            lat.extend(l);
            ideal.extend(i);
            got += g;
            due += to.len();
        }
        let amber = summary(cfg.amber, lat, ideal, got, due);
        if cfg.amber > 0 {
            self.say(&format!(
                "AMBER: {} incidents to {} teams each: delivered {:.3}, p50 {:.0} ms, p99 {:.0} ms (ideal p99 {:.0} ms)",
                cfg.amber,
                cfg.amber_recipients,
                amber.delivery_ratio,
                amber.latency_ms.p50,
                amber.latency_ms.p99,
                amber.ideal_latency_ms.p99
            ));
        }
        Ok(amber)
    }

    /// The sustained load: `load` GREEN advisories at `rate`, if asked for.
    async fn load(&self, hops: &[Option<usize>]) -> Result<Option<Delivery>> {
        let cfg = self.cfg;
        if cfg.load == 0 {
            return Ok(None);
        }
        let author = self.green_author;
        let messages = (0..cfg.load)
            .map(|_| self.publish(author, Sealing::Green(&self.sender_key)))
            .collect::<Result<Vec<_>>>()?;
        let to = self.everyone_but(author);
        let (lat, ideal, got) = deliver_samples(
            &self.shared,
            &self.clients[author],
            messages,
            cfg.rate,
            &to,
            hops,
            cfg.latency_ms,
        )
        .await?;
        let load = summary(cfg.load, lat, ideal, got, cfg.load * to.len());
        self.say(&format!(
            "load: {} GREEN advisories at {}/s: delivered {:.4}, p50 {:.0} ms, p99 {:.0} ms (ideal p99 {:.0} ms)",
            cfg.load,
            cfg.rate,
            load.delivery_ratio,
            load.latency_ms.p50,
            load.latency_ms.p99,
            load.ideal_latency_ms.p99
        ));
        Ok(Some(load))
    }
}

/// Publishes `messages` at `rate` per second, then waits (bounded) until
/// each reached every team of `to`; latency and ideal samples (ms) over all
/// of them, and how many deliveries happened.
async fn deliver_samples(
    shared: &Shared,
    author: &net::Client,
    messages: Vec<(EnvelopeId, Vec<u8>)>,
    rate: f64,
    to: &[usize],
    hops: &[Option<usize>],
    latency_ms: u64,
) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let mut sent = Vec::with_capacity(messages.len());
    for (i, (id, bytes)) in messages.into_iter().enumerate() {
        tokio::time::sleep_until((start + interval.mul_f64(i as f64)).into()).await;
        sent.push((id, shared.epoch.elapsed().as_micros() as u64));
        author
            .publish(bytes)
            .await
            .context("publishing into the simulated mesh")?;
    }
    let wanted: HashSet<usize> = to.iter().copied().collect();
    let opened_by_wanted = |o: &HashMap<EnvelopeId, Vec<(usize, u64)>>, id: &EnvelopeId| {
        o.get(id)
            .into_iter()
            .flatten()
            .filter(|(t, _)| wanted.contains(t))
            .copied()
            .collect::<Vec<_>>()
    };
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    loop {
        let done = shared.opened.lock().is_ok_and(|o| {
            sent.iter().all(|(id, _)| {
                o.get(id)
                    .map_or(0, |v| v.iter().filter(|(t, _)| wanted.contains(t)).count())
                    >= wanted.len()
            })
        });
        if done || Instant::now() > deadline {
            break;
        }
        // Not more often: the teams record openings under the same lock, and
        // polling every 20 ms measurably raised the load's p99 at 300 teams.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut latencies, mut ideal) = (Vec::new(), Vec::new());
    if let Ok(o) = shared.opened.lock() {
        for (id, sent_us) in &sent {
            for (team, at_us) in opened_by_wanted(&o, id) {
                latencies.push(at_us.saturating_sub(*sent_us) as f64 / 1000.0);
                if let Some(Some(h)) = hops.get(team) {
                    ideal.push((*h as u64 * latency_ms) as f64);
                }
            }
        }
    }
    let got = latencies.len();
    Ok((latencies, ideal, got))
}

fn summary(
    published: usize,
    latencies: Vec<f64>,
    ideal: Vec<f64>,
    got: usize,
    wanted: usize,
) -> Delivery {
    let latency_ms = LatencyMs::of(latencies);
    let ideal_latency_ms = LatencyMs::of(ideal);
    Delivery {
        published,
        delivery_ratio: got as f64 / wanted.max(1) as f64,
        p99_vs_ideal: if ideal_latency_ms.p99 > 0.0 {
            latency_ms.p99 / ideal_latency_ms.p99
        } else {
            0.0
        },
        latency_ms,
        ideal_latency_ms,
    }
}

/// One simulated team: checks each gossip message as a node does, answers
/// gossipsub, and records what it could open.
async fn team_loop(
    index: usize,
    keys: TeamKeys,
    client: net::Client,
    mut events: tokio::sync::mpsc::Receiver<Event>,
    shared: Arc<Shared>,
) {
    let mut seen: HashSet<EnvelopeId> = HashSet::new();
    while let Some(event) = events.recv().await {
        let Event::Gossip {
            message_id,
            source,
            data,
        } = event
        else {
            continue;
        };
        let verdict = match check(&data, &keys, &shared) {
            Err(()) => Validation::Reject,
            Ok((id, _)) if !seen.insert(id) => Validation::Ignore,
            Ok((id, opened)) => {
                if opened {
                    let at = shared.epoch.elapsed().as_micros() as u64;
                    if let Ok(mut o) = shared.opened.lock() {
                        o.entry(id).or_default().push((index, at));
                    }
                }
                Validation::Accept
            }
        };
        if client.validate(message_id, source, verdict).is_err() {
            break;
        }
    }
}

/// Decode, membership, signature, then open if possible (with the sender
/// key, or by recipient hint and age): `(id, opened)`.
fn check(data: &[u8], keys: &TeamKeys, shared: &Shared) -> Result<(EnvelopeId, bool), ()> {
    let envelope = Envelope::decode(data).map_err(|_| ())?;
    let author = envelope.content.author;
    let Some(recipient) = shared.members.get(&author) else {
        return Err(());
    };
    let verified = seal::verify_envelope(envelope).map_err(|_| ())?;
    let id = verified.envelope().id;
    let opened = match &verified.content().body {
        Body::Sealed {
            to: SealedTo::SenderKey(kid),
            ..
        } => shared
            .sender_keys
            .get(kid)
            .is_some_and(|k| seal::open(&verified, k.identity()).is_ok()),
        Body::Sealed {
            to: SealedTo::Teams { .. },
            ..
        } => {
            keys.hint_key(recipient)
                .is_ok_and(|k| seal::addressed_to(&verified, &k))
                && seal::open(&verified, keys.age_identity()).is_ok()
        }
        _ => false,
    };
    Ok((id, opened))
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
