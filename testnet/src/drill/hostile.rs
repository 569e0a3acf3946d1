//! The hostile side of a drill: stranger peers, in process, each a libp2p
//! node of the project's own `net` crate with no invitation, that dial every
//! member and keep dialling, gossip a flood of self-signed join requests,
//! envelopes forged in a member's name and junk bytes, answer no sync and
//! relay nothing; and, with `gossip_abuse`, a py-libp2p client (a
//! gossipsub implementation nobody here wrote) abusing control messages
//! (`testnet/hostile/gossip_abuse.py`).
//!
//! What the strangers see is what the figures come from: which of their
//! connections stayed open past the members' window, and the ids of every
//! envelope they sent (none may be stored by a member).

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use proto::{Body, Envelope, EnvelopeContent, Kind, MeshId, Profile, TeamId, Tlp};
use seal::TeamKeys;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often each stranger sends something.
const SEND_EVERY: Duration = Duration::from_millis(40);

/// How often each stranger dials the members it is not connected to.
const REDIAL_EVERY: Duration = Duration::from_secs(2);

/// A connection counts as held when it stays open this much longer than
/// the members' window (the check runs every second; closing takes a
/// round trip).
const HELD_SLACK: Duration = Duration::from_secs(5);

/// What the strangers did and saw, shared by their tasks.
#[derive(Default)]
struct Seen {
    /// Ids of every envelope sent.
    sent: HashSet<String>,
    join_requests: usize,
    forged: usize,
    junk: usize,
    /// Connections opened to members.
    connections: usize,
    /// Open connections to members' nodes: (stranger, member) -> since.
    /// (Strangers also find each other; those links do not count.)
    open: HashMap<(usize, net::PeerId), Instant>,
}

/// The strangers, running.
pub(super) struct Strangers {
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    seen: Arc<Mutex<Seen>>,
}

/// What the strangers achieved.
#[derive(Debug, Default, serde::Serialize)]
pub struct StrangerFigures {
    /// Stranger peers.
    pub peers: usize,
    /// Join requests sent (each by a fresh, uninvited identity).
    pub join_requests: usize,
    /// Envelopes forged in a member's name.
    pub forged: usize,
    /// Junk messages.
    pub junk: usize,
    /// Connections the strangers opened to members.
    pub connections: usize,
    /// Connections still open longer than the members' window allows.
    pub connections_held: usize,
}

impl Strangers {
    /// Starts `n` strangers against the members listening at `members`.
    pub(super) fn start(n: usize, mesh: MeshId, members: Vec<(String, TeamId)>) -> Result<Self> {
        let shutdown = CancellationToken::new();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut tasks = Vec::new();
        for i in 0..n {
            let addrs: Vec<net::Multiaddr> = members
                .iter()
                .map(|(a, _)| a.parse())
                .collect::<Result<_, _>>()
                .context("member address")?;
            let victims: Vec<TeamId> = members.iter().map(|(_, t)| *t).collect();
            let config = net::Config {
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
                bootstrap: addrs.clone(),
                topic: net::protocol::envelope_topic(&mesh.to_string()),
                heartbeat: Duration::from_millis(200),
                discovery_interval: Duration::from_secs(1),
                ..net::Config::default()
            };
            let (client, events, event_loop) = net::new(net::NodeKey::generate(), config)?;
            tasks.push(tokio::spawn(event_loop.run(shutdown.clone())));
            let stranger = Stranger {
                index: i,
                mesh,
                client,
                addrs,
                victims,
                seen: seen.clone(),
                sent: 0,
            };
            tasks.push(tokio::spawn(stranger.run(events, shutdown.clone())));
        }
        Ok(Strangers {
            shutdown,
            tasks,
            seen,
        })
    }

    /// The ids of every envelope the strangers sent.
    pub(super) fn sent_ids(&self) -> HashSet<String> {
        self.seen.lock().map(|s| s.sent.clone()).unwrap_or_default()
    }

    /// The figures so far: a connection is held when it has been open longer
    /// than `window` (plus slack).
    pub(super) fn figures(&self, window: Duration) -> StrangerFigures {
        let Ok(s) = self.seen.lock() else {
            return StrangerFigures::default();
        };
        let now = Instant::now();
        StrangerFigures {
            peers: self.tasks.len() / 2,
            join_requests: s.join_requests,
            forged: s.forged,
            junk: s.junk,
            connections: s.connections,
            connections_held: s
                .open
                .values()
                .filter(|since| now.duration_since(**since) > window + HELD_SLACK)
                .count(),
        }
    }

    /// Stops every stranger (bounded).
    pub(super) async fn stop(self) {
        self.shutdown.cancel();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

struct Stranger {
    index: usize,
    mesh: MeshId,
    client: net::Client,
    addrs: Vec<net::Multiaddr>,
    victims: Vec<TeamId>,
    seen: Arc<Mutex<Seen>>,
    sent: u64,
}

impl Stranger {
    async fn run(
        mut self,
        mut events: tokio::sync::mpsc::Receiver<net::Event>,
        stop: CancellationToken,
    ) {
        let mut send = tokio::time::interval(SEND_EVERY);
        let mut redial = tokio::time::interval(REDIAL_EVERY);
        let mut connected: HashSet<net::PeerId> = HashSet::new();
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                e = events.recv() => match e {
                    None => break,
                    Some(e) => self.on_event(e, &mut connected),
                },
                _ = send.tick() => self.send_one().await,
                _ = redial.tick() => {
                    let peers: HashSet<net::PeerId> = self.addrs.iter().filter_map(peer_of).collect();
                    if !peers.is_subset(&connected) {
                        for a in &self.addrs {
                            if peer_of(a).is_some_and(|p| !connected.contains(&p)) {
                                let _ = self.client.dial(a.clone()).await;
                            }
                        }
                    }
                }
            }
        }
    }

    fn on_event(&self, e: net::Event, connected: &mut HashSet<net::PeerId>) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        let member = |p: &net::PeerId| self.addrs.iter().any(|a| peer_of(a) == Some(*p));
        match e {
            net::Event::Connected { peer } | net::Event::Disconnected { peer }
                if !member(&peer) => {}
            net::Event::Connected { peer } => {
                connected.insert(peer);
                seen.connections += 1;
                seen.open.insert((self.index, peer), Instant::now());
            }
            net::Event::Disconnected { peer } => {
                connected.remove(&peer);
                seen.open.remove(&(self.index, peer));
            }
            // Relays nothing, answers nothing.
            net::Event::Gossip {
                message_id, source, ..
            } => {
                let _ = self
                    .client
                    .validate(message_id, source, net::Validation::Ignore);
            }
            _ => {}
        }
    }

    /// One of: a join request by a fresh, uninvited identity (most), an
    /// incident forged in a member's name, junk.
    async fn send_one(&mut self) {
        self.sent += 1;
        let n = self.sent;
        let (bytes, id, kind) = match n % 10 {
            0 => (junk(n), None, 2),
            5 => match self.forged(n) {
                Some(e) => (e.bytes.clone(), Some(e.id.to_string()), 1),
                None => return,
            },
            _ => match self.join_request(n) {
                Some(e) => (e.bytes.clone(), Some(e.id.to_string()), 0),
                None => return,
            },
        };
        match self.client.publish(bytes).await {
            Ok(()) => {}
            // Nobody subscribed (yet, or any more): not sent.
            Err(_) => return,
        }
        if let Ok(mut seen) = self.seen.lock() {
            if let Some(id) = id {
                seen.sent.insert(id);
            }
            match kind {
                0 => seen.join_requests += 1,
                1 => seen.forged += 1,
                _ => seen.junk += 1,
            }
        }
    }

    fn join_request(&self, n: u64) -> Option<Envelope> {
        let keys = TeamKeys::generate();
        let profile = Profile {
            team: keys.team_id(),
            name: format!("Sybil-{}-{n}", self.index),
            country: Some("BR".into()),
            constituency: vec![],
            contact: None,
            recipient: keys.recipient(),
            peers: vec![],
            roles: vec![],
            updated_at: csirtmesh::now_ms(),
        };
        let body = seal::sign_profile(&keys, &profile).ok()?.to_bytes().ok()?;
        let content = EnvelopeContent {
            mesh: self.mesh,
            kind: Kind::Profile,
            author: keys.team_id(),
            seq: 1,
            created_at: csirtmesh::now_ms(),
            tlp: Tlp::Clear,
            thread: None,
            parents: vec![],
            body: Body::Clear(body),
        };
        seal::sign_envelope(&keys, &content)
            .ok()
            .map(|v| v.into_inner())
    }

    /// A membership act claiming to be a member's (signed by a stranger's
    /// key): only a bad signature tells it apart.
    fn forged(&self, n: u64) -> Option<Envelope> {
        let victim = self.victims[(n as usize) % self.victims.len().max(1)];
        let keys = TeamKeys::generate();
        let act = proto::MembershipAct::Suspend {
            target: victim,
            reason: "forged".into(),
        };
        let content = EnvelopeContent {
            mesh: self.mesh,
            kind: Kind::Membership,
            author: victim,
            seq: 1_000 + n,
            created_at: csirtmesh::now_ms(),
            tlp: Tlp::Clear,
            thread: None,
            parents: vec![],
            body: Body::Clear(act.to_bytes().ok()?),
        };
        let bytes = Envelope::content_bytes(&content).ok()?;
        let signature = keys.sign(proto::context::ENVELOPE, &bytes);
        Envelope::assemble(bytes, signature).ok()
    }
}

/// Bytes that decode as nothing.
fn junk(n: u64) -> Vec<u8> {
    (0..512u64)
        .map(|i| (i.wrapping_mul(31) ^ n) as u8)
        .collect()
}

fn peer_of(a: &net::Multiaddr) -> Option<net::PeerId> {
    a.iter().find_map(|p| match p {
        net::multiaddr::Protocol::P2p(p) => Some(p),
        _ => None,
    })
}

/// The py-libp2p client abusing gossipsub control messages, running.
pub(super) struct GossipAbuse {
    child: tokio::process::Child,
}

/// Where the pinned py-libp2p lives: `CSIRTMESH_HOSTILE_PYTHON`, else the
/// virtual environment `scripts/hostile-venv` creates.
pub fn hostile_python() -> PathBuf {
    std::env::var_os("CSIRTMESH_HOSTILE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-hostile/bin/python")
        })
}

impl GossipAbuse {
    /// Starts the abuse against `targets` for `seconds`; the error says
    /// plainly when the virtual environment is missing.
    pub(super) fn start(
        targets: &[String],
        topic: &str,
        seconds: u64,
        log: PathBuf,
    ) -> Result<Self> {
        let python = hostile_python();
        if !python.exists() {
            anyhow::bail!(
                "py-libp2p is not installed: {} is missing; run scripts/hostile-venv (or set CSIRTMESH_HOSTILE_PYTHON)",
                python.display()
            );
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("hostile/gossip_abuse.py");
        let out = std::fs::File::create(&log)?;
        let child = tokio::process::Command::new(python)
            .arg(script)
            .arg("--topic")
            .arg(topic)
            .arg("--seconds")
            .arg(seconds.to_string())
            .args(targets)
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the py-libp2p client")?;
        Ok(GossipAbuse { child })
    }

    /// Waits (bounded) for it to finish; kills it otherwise. Returns its
    /// summary line (JSON), or why there is none.
    pub(super) async fn finish(mut self, log: &std::path::Path, limit: Duration) -> String {
        if tokio::time::timeout(limit, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        let text = std::fs::read_to_string(log).unwrap_or_default();
        text.lines()
            .rev()
            .find(|l| l.starts_with("{\"abuse\""))
            .map(str::to_owned)
            .unwrap_or_else(|| format!("no summary; see {}", log.display()))
    }
}
