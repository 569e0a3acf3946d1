//! A bare rust-libp2p gossipsub mesh in one process: the baseline that
//! `testnet bench` measures csirtmesh against, on the same topology and
//! payload sizes. Each node is TCP + noise + yamux on loopback with
//! gossipsub's defaults (signed messages, D = 6) and nothing else: no
//! application validation, no envelope crypto, no storage.
//!
//! It lives here because only this crate may depend on libp2p.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use libp2p::{
    Multiaddr, SwarmBuilder,
    gossipsub::{self, IdentTopic, MessageAuthenticity},
    metrics::Registry,
    noise,
    swarm::SwarmEvent,
    tcp, yamux,
};
use tokio::sync::{mpsc, oneshot};

use crate::{Error, Traffic};

/// What to run.
#[derive(Clone, Debug)]
pub struct BaselineConfig {
    /// Nodes in the mesh.
    pub nodes: usize,
    /// `None`: each node connects to every other, as csirtmesh nodes of a
    /// forum do. `Some(k)`: each dials `k` pseudo-random earlier nodes (a
    /// random graph like `testnet sim`'s, for meshes too big to connect
    /// fully).
    pub dials: Option<usize>,
    /// Messages to publish, from the nodes in turn.
    pub messages: usize,
    /// Size of each message's data, bytes (at least 16).
    pub payload_bytes: usize,
    /// Publications per second.
    pub rate_per_sec: f64,
    /// How long to wait for the mesh to form and for the last deliveries.
    pub timeout: Duration,
}

/// What happened.
#[derive(Clone, Debug, Default)]
pub struct BaselineReport {
    /// Nodes that ran.
    pub nodes: usize,
    /// Messages published.
    pub published: usize,
    /// Deliveries expected (messages x other nodes).
    pub expected: usize,
    /// Latency of each delivery, publish to receipt, in microseconds.
    pub latencies_us: Vec<u64>,
    /// Traffic summed over all nodes during the run.
    pub traffic: Traffic,
    /// From the first publication to the last delivery (or the timeout).
    pub window: Duration,
}

/// What a baseline node is asked; its loop ends when every sender is dropped.
enum NodeCommand {
    Publish(Vec<u8>),
    MeshPeers(oneshot::Sender<usize>),
    Traffic(oneshot::Sender<Traffic>),
}

/// Runs the baseline; every node is stopped on return.
pub async fn run(config: &BaselineConfig) -> Result<BaselineReport, Error> {
    if config.nodes < 2 || config.payload_bytes < 16 {
        return Err(Error::Start(
            "the baseline needs at least 2 nodes and 16-byte payloads".into(),
        ));
    }
    let epoch = Instant::now();
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut nodes = Vec::new();
    let mut addrs: Vec<Multiaddr> = Vec::new();
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..config.nodes {
        let dial: Vec<Multiaddr> = match config.dials {
            None => addrs.clone(),
            Some(k) => {
                let mut picked: Vec<usize> = Vec::new();
                while picked.len() < k.min(i) {
                    // xorshift64: reproducible, no dependency.
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let j = (rng % i as u64) as usize;
                    if !picked.contains(&j) {
                        picked.push(j);
                    }
                }
                picked.into_iter().map(|j| addrs[j].clone()).collect()
            }
        };
        let (tx, addr) = spawn_node(&dial, epoch, latencies.clone()).await?;
        nodes.push(tx);
        addrs.push(addr);
    }
    // Wait for gossip meshes to form: every node with min(n-1, 4) mesh peers
    // when all are connected; one (as in `testnet sim`) in a random graph,
    // where an early node may have few links.
    let want = match config.dials {
        None => (config.nodes - 1).min(4),
        Some(_) => 1,
    };
    let formed = Instant::now();
    loop {
        let mut ready = true;
        for n in &nodes {
            let (reply, rx) = oneshot::channel();
            let _ = n.send(NodeCommand::MeshPeers(reply)).await;
            if rx.await.unwrap_or(0) < want {
                ready = false;
                break;
            }
        }
        if ready {
            break;
        }
        if formed.elapsed() > config.timeout {
            return Err(Error::Start("the baseline mesh did not form".into()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = traffic_now(&nodes).await;
    let interval = Duration::from_secs_f64(1.0 / config.rate_per_sec.max(0.001));
    let start = Instant::now();
    for i in 0..config.messages {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let mut data = vec![0u8; config.payload_bytes];
        let sent_us = epoch.elapsed().as_micros() as u64;
        data[..8].copy_from_slice(&sent_us.to_be_bytes());
        data[8..16].copy_from_slice(&(i as u64).to_be_bytes());
        let _ = nodes[i % nodes.len()]
            .send(NodeCommand::Publish(data))
            .await;
    }
    let expected = config.messages * (config.nodes - 1);
    let deadline = Instant::now() + config.timeout;
    while latencies.lock().map(|l| l.len()).unwrap_or(0) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let window = start.elapsed();
    let after = traffic_now(&nodes).await;
    drop(nodes);
    let latencies_us = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    Ok(BaselineReport {
        nodes: config.nodes,
        published: config.messages,
        expected,
        latencies_us,
        traffic: after.since(&before),
        window,
    })
}

/// Current traffic of all nodes, summed.
async fn traffic_now(nodes: &[mpsc::Sender<NodeCommand>]) -> Traffic {
    let mut total = Traffic::default();
    for n in nodes {
        let (reply, rx) = oneshot::channel();
        if n.send(NodeCommand::Traffic(reply)).await.is_ok()
            && let Ok(t) = rx.await
        {
            total += t;
        }
    }
    total
}

async fn spawn_node(
    dial: &[Multiaddr],
    epoch: Instant,
    latencies: Arc<Mutex<Vec<u64>>>,
) -> Result<(mpsc::Sender<NodeCommand>, Multiaddr), Error> {
    let start = |e: &dyn std::fmt::Display| Error::Start(e.to_string());
    let mut registry = Registry::default();
    let mut swarm = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| start(&e))?
        .with_bandwidth_metrics(&mut registry)
        .with_behaviour(|key| {
            gossipsub::Behaviour::<
                gossipsub::IdentityTransform,
                gossipsub::AllowAllSubscriptionFilter,
            >::new(
                MessageAuthenticity::Signed(key.clone()),
                gossipsub::Config::default(),
            )
            .map(|g| {
                g.with_metrics(
                    registry.sub_registry_with_prefix("gossipsub"),
                    gossipsub::MetricsConfig::default(),
                )
            })
            .map_err(|e| Box::<dyn std::error::Error + Send + Sync>::from(e.to_string()))
        })
        .map_err(|e| start(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    let topic = IdentTopic::new("baseline");
    swarm
        .behaviour_mut()
        .subscribe(&topic)
        .map_err(|e| start(&e))?;
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().map_err(|e| start(&e))?)
        .map_err(|e| start(&e))?;
    let addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address;
        }
    };
    for a in dial {
        swarm.dial(a.clone()).map_err(|e| start(&e))?;
    }
    let (tx, mut rx) = mpsc::channel::<NodeCommand>(64);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                command = rx.recv() => match command {
                    Some(NodeCommand::Publish(data)) => {
                        let _ = swarm.behaviour_mut().publish(topic.clone(), data);
                    }
                    Some(NodeCommand::MeshPeers(reply)) => {
                        let _ = reply.send(swarm.behaviour().mesh_peers(&topic.hash()).count());
                    }
                    Some(NodeCommand::Traffic(reply)) => {
                        let _ = reply.send(crate::traffic::read(&registry));
                    }
                    None => break,
                },
                event = swarm.select_next_some() => {
                    if let SwarmEvent::Behaviour(gossipsub::Event::Message { message, .. }) = event {
                        let now = epoch.elapsed().as_micros() as u64;
                        let sent = message.data.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok());
                        if let (Some(sent), Ok(mut l)) = (sent, latencies.lock()) {
                            l.push(now.saturating_sub(u64::from_be_bytes(sent)));
                        }
                    }
                }
            }
        }
    });
    Ok((tx, addr))
}
