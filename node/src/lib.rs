//! # csirtmesh: one team's node
//!
//! The composition root. It wires the layers of DESIGN.md together and owns
//! nothing of their logic:
//!
//! - [`datadir`]: keys, profile, charter and database on disk;
//! - [`backup`]: encrypted backups of a data directory, and restoring them;
//! - [`doctor`]: what is wrong with a node and what to do about it;
//! - [`config`]: TOML config and flags, validated once;
//! - [`node`]: the node's state and every command on it, with no network and
//!   no clock, and the one validation path every envelope goes through;
//! - [`event_loop`]: the one loop that routes network events, API requests
//!   and anti-entropy to the node and carries out its network effects;
//! - [`api`]: the local admin API (HTTP/JSON on loopback), its typed
//!   requests, answers and errors, the JSON views, and its client;
//! - [`cli`]: the `csirtmesh` command line.
//!
//! To embed a node in another program, build a [`config::Config`] and call
//! [`run`] with a cancellation token; see `examples/two_teams.rs`.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod api;
pub mod backup;
pub mod cli;
pub mod config;
pub mod datadir;
pub mod doctor;
pub mod event_loop;
pub mod node;

use std::{
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use datadir::{DataDir, files};
use proto::{Charter, CharterFile, Profile};
use store::Store;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long shutdown waits for the network and API tasks.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Capacity of the API's request channel to the loop: an operator's calls
/// are few; a full channel makes a handler wait (bounded by its timeout).
const API_CAPACITY: usize = 64;

/// Milliseconds since the epoch: the one clock read, at the edge (the event
/// loop and the command line hand it to everything else).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Runs a node until `shutdown` is cancelled.
pub async fn run(config: config::Config, shutdown: CancellationToken) -> Result<()> {
    let dir = &config.data_dir;
    let (charter, founders) = adopt_charter(dir, config.charter.as_deref())?;
    let store = Store::open(&dir.file(files::DATABASE))
        .with_context(|| format!("cannot open the database in {}", dir.root().display()))?;
    recover_age_rotation(dir)?;
    recover_key_rotation(dir, &store)?;
    let keys = dir.team_keys()?;
    let (own_profile, profile) = dir.profile()?;
    if profile.team != keys.team_id() {
        bail!(
            "{}: profile.bin belongs to another team than team.key",
            dir.root().display()
        );
    }
    let mesh = charter.mesh_id()?;
    if !founders.iter().any(|f| f.team == profile.team) {
        tracing::warn!(
            team = %profile.name,
            "this team is not a founder of the mesh: it asks to join, and members admit it by vouching for it"
        );
    }

    let mut net_config = config.net.clone();
    net_config.topic = net::protocol::envelope_topic(&mesh.to_string());
    // A team with the relay role runs a circuit relay for members' nodes.
    net_config.relay_server = profile.roles.contains(&proto::Role::Relay);
    if net_config.relay_server {
        tracing::info!("running a circuit relay for members' nodes (this team has the relay role)");
    }
    let (client, events, event_loop) = net::new(dir.node_key()?, net_config)?;
    let net_task = tokio::spawn(event_loop.run(shutdown.child_token()));

    let (api_tx, api_rx) = mpsc::channel(API_CAPACITY);
    let (api_addr, serve) = api::bind(
        config.api_listen,
        dir.api_token()?,
        api_tx.clone(),
        shutdown.clone(),
    )
    .await?;
    // Bound before api.addr is written: a port in use stops the start
    // with nothing left behind.
    let metrics_serve = match config.metrics_listen {
        Some(addr) => {
            let (addr, serve) = api::bind_metrics(addr, api_tx.clone(), shutdown.clone()).await?;
            tracing::info!(%addr, "serving GET /metrics without a token");
            Some(serve)
        }
        None => None,
    };
    datadir::replace(
        &dir.file(files::API_ADDR),
        api_addr.to_string().as_bytes(),
        0o644,
    )?;
    let api_task = tokio::spawn(serve);
    let metrics_task = metrics_serve.map(tokio::spawn);
    tracing::info!(team = %profile.name, mesh = %charter.name, api = %api_addr, "node running");

    let restored = backup::restored(dir, now_ms())?;
    let node = node::Node::new(store, keys, own_profile, charter, founders, now_ms())?
        .with_data_dir(dir.clone())
        .with_restored(restored.as_ref());
    drop(api_tx);
    // Under systemd (Type=notify): the API answers and the node is built.
    // Without a notification socket this does nothing.
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let result = event_loop::EventLoop::new(node, client)
        .run(events, api_rx, config.sync_interval, shutdown.clone())
        .await;
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    shutdown.cancel();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, net_task).await;
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, api_task).await;
    if let Some(task) = metrics_task {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
    }
    let _ = std::fs::remove_file(dir.file(files::API_ADDR));
    tracing::info!("node stopped");
    result
}

/// Finishes or discards a key rotation interrupted by a crash: if the log
/// holds the rotation act naming `team.key.next`, the new key replaces
/// `team.key` (and the profile is re-signed); otherwise the unused new key is
/// removed.
pub fn recover_key_rotation(dir: &DataDir, store: &Store) -> Result<()> {
    let Some(next_secret) = dir.next_signing_key()? else {
        let keys = dir.team_keys()?;
        if dir.profile()?.1.team != keys.team_id() {
            resign_profile(dir, &keys, now_ms())?;
        }
        return Ok(());
    };
    let current = dir.team_keys()?;
    let (_, age) = current.secrets();
    // A key that does not parse was cut short while being written, before
    // any rotation act could name it.
    let Ok(next) = seal::TeamKeys::from_secrets(&next_secret, &age) else {
        std::fs::remove_file(dir.file(files::TEAM_KEY_NEXT))?;
        tracing::warn!("discarded a half-written new key");
        return Ok(());
    };
    let published = store.by_kind(proto::Kind::Membership)?.iter().any(|s| {
        proto::Envelope::decode(&s.bytes).is_ok_and(|e| {
            e.content.author == current.team_id()
                && matches!(&e.content.body, proto::Body::Clear(b)
                    if matches!(proto::MembershipAct::from_bytes(b), Ok(proto::MembershipAct::RotateKey { new, .. }) if new == next.team_id()))
        })
    });
    if published {
        std::fs::rename(dir.file(files::TEAM_KEY_NEXT), dir.file(files::TEAM_KEY))?;
        resign_profile(dir, &next, now_ms())?;
        tracing::warn!(new = %next.team_id().short(), "finished an interrupted key rotation");
    } else {
        std::fs::remove_file(dir.file(files::TEAM_KEY_NEXT))?;
        tracing::warn!("discarded a new key whose rotation was never published");
    }
    Ok(())
}

/// Finishes or discards an age-key replacement interrupted by a crash: if
/// the profile already names the new recipient, the new identity replaces
/// `age.key` (the node publishes the profile at start); otherwise the unused
/// new identity is removed. The old identity was retired before the profile
/// named the new one, so neither order loses a key.
pub fn recover_age_rotation(dir: &DataDir) -> Result<()> {
    let next = dir.file(files::AGE_KEY_NEXT);
    let secret = match std::fs::read_to_string(&next) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).context("cannot read age.key.next"),
    };
    // A profile that cannot be read cannot say the new key is unused: stop
    // rather than delete a key the mesh may already seal to.
    let (_, profile) = dir
        .profile_unchecked()
        .context("an age-key replacement was interrupted and profile.bin cannot be read")?;
    let named = seal::parse_identity(&secret)
        .is_ok_and(|id| profile.recipient == id.to_public().to_string());
    if named {
        std::fs::rename(&next, dir.file(files::AGE_KEY))?;
        tracing::warn!("finished an interrupted age-key replacement");
    } else {
        std::fs::remove_file(&next)?;
        tracing::warn!("discarded a new age key that no profile named");
    }
    Ok(())
}

/// Re-signs the team's profile with `keys` (after a key rotation).
pub fn resign_profile(
    dir: &DataDir,
    keys: &seal::TeamKeys,
    now: u64,
) -> Result<proto::SignedProfile> {
    let (_, mut profile) = dir.profile_unchecked()?;
    profile.team = keys.team_id();
    profile.recipient = keys.recipient();
    // Each node signs its listing for the team's id: this node signs again
    // for the new id. A profile lists the node whose data directory it
    // lives in (a team runs one node per key; see the README).
    let node = dir.node_key()?;
    profile.peers = vec![node.peer_id().to_bytes()];
    profile.node_proofs = vec![datadir::node_proof(&node, &profile.team)?];
    profile.updated_at = now.max(profile.updated_at + 1);
    let signed = seal::sign_profile(keys, &profile)?;
    datadir::replace(&dir.file(files::PROFILE), &signed.to_bytes()?, 0o644)?;
    Ok(signed)
}

/// Checks that every node a profile lists signed its listing for the team
/// (a team cannot claim another team's node and so take its connections
/// or its join requests).
pub fn verify_profile_nodes(p: &Profile) -> Result<()> {
    let msg = proto::profile::node_proof_message(&p.team);
    for (peer, proof) in p.peers.iter().zip(&p.node_proofs) {
        net::verify_node_signature(peer, &msg, &proof.0).with_context(|| {
            format!(
                "team {:?} lists a node that did not sign its listing",
                p.name
            )
        })?;
    }
    Ok(())
}

/// Loads a charter file and verifies every founder's signed profile.
pub fn load_charter(path: &Path) -> Result<(Charter, Vec<Profile>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read charter {}", path.display()))?;
    let file: CharterFile = toml::from_str(&text)
        .with_context(|| format!("{} is not a charter file", path.display()))?;
    let charter = file
        .to_charter()
        .with_context(|| format!("invalid charter {}", path.display()))?;
    let mut founders: Vec<Profile> = Vec::with_capacity(charter.founders.len());
    for sp in &charter.founders {
        let p = seal::verify_profile(sp)
            .with_context(|| format!("a founder profile in {} does not verify", path.display()))?;
        verify_profile_nodes(&p)
            .with_context(|| format!("a founder profile in {} does not verify", path.display()))?;
        if founders.iter().any(|f| f.team == p.team) {
            bail!("charter {} names founder {} twice", path.display(), p.name);
        }
        founders.push(p);
    }
    Ok((charter, founders))
}

/// The node's charter: the one in the data directory, adopting `given` on
/// first run. A given charter of another mesh is refused.
fn adopt_charter(dir: &DataDir, given: Option<&Path>) -> Result<(Charter, Vec<Profile>)> {
    let own = dir.file(files::CHARTER);
    if own.exists() {
        let (charter, founders) = load_charter(&own)?;
        if let Some(g) = given {
            let (other, _) = load_charter(g)?;
            if other.mesh_id()? != charter.mesh_id()? {
                bail!(
                    "this node belongs to mesh {:?} ({}); {} is the charter of another mesh ({:?}). \
                     One node serves one mesh: use another data directory.",
                    charter.name,
                    charter.mesh_id()?.short(),
                    g.display(),
                    other.name
                );
            }
        }
        return Ok((charter, founders));
    }
    let g = given.context(
        "no charter yet: pass --charter FILE on the first run (the forum gives it to you)",
    )?;
    let loaded = load_charter(g)?;
    std::fs::copy(g, &own)
        .with_context(|| format!("cannot copy the charter into {}", dir.root().display()))?;
    Ok(loaded)
}

/// Writes a new charter from founders' data directories or profile files.
pub fn make_charter(
    name: &str,
    founders: &[std::path::PathBuf],
    threshold: u8,
    objection_window_ms: Option<u64>,
    point_of_contact: Option<&str>,
    now_ms: u64,
) -> Result<(Charter, String)> {
    let mut signed = Vec::new();
    let mut profiles: Vec<Profile> = Vec::new();
    for f in founders {
        let (sp, p) = if f.is_dir() {
            DataDir::new(f).profile()?
        } else {
            datadir::read_profile(f)?
        };
        if profiles.iter().any(|q| q.team == p.team) {
            bail!("founder {} ({}) is named twice", p.name, f.display());
        }
        verify_profile_nodes(&p).with_context(|| format!("founder {}", f.display()))?;
        signed.push(sp);
        profiles.push(p);
    }
    let poc = match point_of_contact {
        None => None,
        Some(q) => {
            let rules = mesh_core::membership::Rules {
                founders: profiles.clone(),
                threshold: usize::from(threshold),
                objection_window_ms: None,
            };
            let members = mesh_core::Membership::compute(&rules, [], &[], now_ms);
            Some(
                members
                    .find(q)
                    .map_err(|e| anyhow::anyhow!("point of contact: {e}"))?
                    .team,
            )
        }
    };
    let charter = Charter {
        name: name.trim().to_owned(),
        founders: signed,
        threshold,
        objection_window_ms,
        point_of_contact: poc,
        created_at: now_ms,
    };
    charter.check()?;
    let text = toml::to_string_pretty(&CharterFile::from_charter(&charter)?)?;
    Ok((charter, text))
}
