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

/// What a stranger does. Each kind tests another defence: a peer refused
/// twice is banned, so one stranger doing everything would test only the
/// first thing it sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Membership acts forged in a member's name, and junk bytes: refused
    /// by every node, the stranger banned.
    Forger,
    /// Join requests of fresh identities nobody invited: refused, blamed.
    Flooder,
    /// Join requests of fresh identities that list the stranger's own node
    /// (as an applicant's node would): refused without blame within the
    /// per-peer join budget, blamed past it.
    SelfLister,
    /// Connects, subscribes, sends nothing: only the stranger window
    /// closes it, and it keeps dialling back.
    Lurker,
}

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
    /// Lurkers' connections that members closed.
    lurker_closes: usize,
    /// Open connections to members' nodes: (stranger, member) -> (since,
    /// the stranger's role).
    open: HashMap<(usize, net::PeerId), (Instant, Role)>,
    /// Each stranger's own node id.
    ids: HashMap<usize, net::PeerId>,
}

/// The strangers, running.
pub(super) struct Strangers {
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    seen: Arc<Mutex<Seen>>,
    peers: usize,
}

/// What the strangers achieved.
#[derive(Debug, Default, serde::Serialize)]
pub struct StrangerFigures {
    /// Stranger peers (of which lurkers).
    pub peers: usize,
    /// Lurkers: they only connect and subscribe.
    pub lurkers: usize,
    /// Join requests that reached a member (each by a fresh, uninvited
    /// identity; strangers dial only members).
    pub join_requests: usize,
    /// Envelopes forged in a member's name that reached a member.
    pub forged: usize,
    /// Junk messages that reached a member.
    pub junk: usize,
    /// Connections the strangers opened to members.
    pub connections: usize,
    /// Lurkers' connections members closed (by the stranger window).
    pub lurker_closes: usize,
    /// Connections still open longer than the members' window allows.
    pub connections_held: usize,
    /// Those connections: the stranger's role, the member's node, how long.
    pub held: Vec<String>,
}

impl Strangers {
    /// Starts `n` strangers of every kind in turn, and `lurkers` more that
    /// only connect, against the members listening at `members`.
    pub(super) fn start(
        n: usize,
        lurkers: usize,
        mesh: MeshId,
        members: Vec<(String, TeamId)>,
    ) -> Result<Self> {
        let shutdown = CancellationToken::new();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut tasks = Vec::new();
        let addrs: Vec<net::Multiaddr> = members
            .iter()
            .map(|(a, _)| a.parse())
            .collect::<Result<_, _>>()
            .context("member address")?;
        let victims: Vec<TeamId> = members.iter().map(|(_, t)| *t).collect();
        let kinds = [Role::Forger, Role::Flooder, Role::SelfLister, Role::Lurker];
        for i in 0..n + lurkers {
            let kind = if i < n {
                kinds[i % kinds.len()]
            } else {
                Role::Lurker
            };
            let config = net::Config {
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
                bootstrap: addrs.clone(),
                topic: net::protocol::envelope_topic(&mesh.to_string()),
                heartbeat: Duration::from_millis(200),
                // Members only: strangers do not find each other, so a
                // message that went out reached a member.
                discovery: false,
                ..net::Config::default()
            };
            let key = net::NodeKey::generate();
            let node = key.peer_id().to_bytes();
            // A copy to sign its own listing with (a self-lister's profile
            // names its node, signed, as an honest one would).
            let node_key = net::NodeKey::from_bytes(&key.to_bytes()?)?;
            if let Ok(mut s) = seen.lock() {
                s.ids.insert(i, key.peer_id());
            }
            let (client, events, event_loop) = net::new(key, config)?;
            tasks.push(tokio::spawn(event_loop.run(shutdown.clone())));
            let stranger = Stranger {
                index: i,
                kind,
                node,
                node_key,
                mesh,
                client,
                addrs: addrs.clone(),
                victims: victims.clone(),
                seen: seen.clone(),
                sent: 0,
            };
            tasks.push(tokio::spawn(stranger.run(events, shutdown.clone())));
        }
        Ok(Strangers {
            shutdown,
            tasks,
            seen,
            peers: n + lurkers,
        })
    }

    /// The ids of every envelope the strangers sent.
    pub(super) fn sent_ids(&self) -> HashSet<String> {
        self.seen.lock().map(|s| s.sent.clone()).unwrap_or_default()
    }

    /// The figures so far: a connection is held when it has been open longer
    /// than `window` (plus slack).
    pub(super) fn figures(&self, window: Duration, lurkers: usize) -> StrangerFigures {
        let Ok(s) = self.seen.lock() else {
            return StrangerFigures::default();
        };
        let now = Instant::now();
        let held: Vec<String> = s
            .open
            .iter()
            .filter(|(_, (since, _))| now.duration_since(*since) > window + HELD_SLACK)
            .map(|((i, member), (since, role))| {
                let me = s.ids.get(i).map(|p| p.to_string()).unwrap_or_default();
                format!(
                    "stranger {i} {me} ({role:?}) to {member} for {} s",
                    now.duration_since(*since).as_secs()
                )
            })
            .collect();
        StrangerFigures {
            peers: self.peers,
            lurkers,
            join_requests: s.join_requests,
            forged: s.forged,
            junk: s.junk,
            connections: s.connections,
            lurker_closes: s.lurker_closes,
            connections_held: held.len(),
            held,
        }
    }

    /// Stops every stranger (bounded); returns how many of their tasks
    /// panicked.
    pub(super) async fn stop(self) -> usize {
        self.shutdown.cancel();
        let mut panics = 0;
        for t in self.tasks {
            if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(5), t).await
                && e.is_panic()
            {
                panics += 1;
            }
        }
        panics
    }
}

struct Stranger {
    index: usize,
    kind: Role,
    /// Its own node id, as a profile lists it.
    node: Vec<u8>,
    node_key: net::NodeKey,
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
                _ = send.tick(), if self.kind != Role::Lurker => self.send_one().await,
                _ = redial.tick() => {
                    for a in &self.addrs {
                        if peer_of(a).is_some_and(|p| !connected.contains(&p)) {
                            let _ = self.client.dial(a.clone()).await;
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
                seen.open
                    .insert((self.index, peer), (Instant::now(), self.kind));
            }
            net::Event::Disconnected { peer } => {
                connected.remove(&peer);
                seen.open.remove(&(self.index, peer));
                if self.kind == Role::Lurker {
                    seen.lurker_closes += 1;
                }
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

    /// One message of the stranger's kind.
    async fn send_one(&mut self) {
        self.sent += 1;
        let n = self.sent;
        let (bytes, id, what) = match self.kind {
            Role::Forger if n.is_multiple_of(2) => (junk(n), None, 2),
            Role::Forger => match self.forged(n) {
                Some(e) => (e.bytes.clone(), Some(e.id.to_string()), 1),
                None => return,
            },
            Role::Flooder | Role::SelfLister => {
                let nodes = if self.kind == Role::SelfLister {
                    vec![self.node.clone()]
                } else {
                    vec![]
                };
                match self.join_request(n, nodes) {
                    Some(e) => (e.bytes.clone(), Some(e.id.to_string()), 0),
                    None => return,
                }
            }
            Role::Lurker => return,
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
            match what {
                0 => seen.join_requests += 1,
                1 => seen.forged += 1,
                _ => seen.junk += 1,
            }
        }
    }

    fn join_request(&self, n: u64, peers: Vec<Vec<u8>>) -> Option<Envelope> {
        let keys = TeamKeys::generate();
        let profile = Profile {
            team: keys.team_id(),
            name: format!("Sybil-{}-{n}", self.index),
            country: Some("BR".into()),
            constituency: vec![],
            contact: None,
            recipient: keys.recipient(),
            node_proofs: peers
                .iter()
                .map(|_| csirtmesh::datadir::node_proof(&self.node_key, &keys.team_id()).ok())
                .collect::<Option<_>>()?,
            peers,
            roles: vec![],
            updated_at: csirtmesh::now_ms(),
            details: Default::default(),
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
            after_seq: 0,
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
