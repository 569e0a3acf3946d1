//! The simulation's phases: start the teams' nodes on a random graph, wait
//! for the gossip mesh, measure its idle cost, map the links that formed,
//! then deliver a GREEN advisory, AMBER incidents and a sustained load.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use net::{Event, Multiaddr, PeerId};
use proto::EnvelopeId;
use seal::{SenderKey, TeamKeys};
use tokio_util::sync::CancellationToken;

use super::{
    Delivery, SimConfig, SimReport,
    team::{Shared, deliver_samples, summary, team_loop},
};
use crate::{
    bench_ingest::{Sealing, incident},
    harness::process_resources,
    rng::Rng,
};

/// How long the mesh settles before it is measured: discovery's extra
/// links close after the 15 s idle timeout.
const SETTLE: Duration = Duration::from_secs(20);
/// How long the idle cost is measured.
const IDLE_MEASURE: Duration = Duration::from_secs(5);
/// How long the mesh may take to form.
const FORM_TIMEOUT: Duration = Duration::from_secs(180);

pub(super) async fn simulate(cfg: &SimConfig, shutdown: &CancellationToken) -> Result<SimReport> {
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
