//! A rogue peer: an in-process libp2p node (the project's own `net` crate)
//! with a team identity that no member vouched for. It joins the gossip mesh
//! and publishes envelopes the mesh must refuse: incidents by a non-member,
//! and one forged in a member's name. The target node must reject them all,
//! store none, ban the peer, and send it no sync request.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use csirtmesh::api::client::ApiClient;
use proto::{
    Body, Envelope, EnvelopeContent, IncidentPayload, InnerContent, Kind, MeshId, Payload, TeamId,
    Tlp,
};
use seal::TeamKeys;
use tokio_util::sync::CancellationToken;

/// What the attack showed.
#[derive(Debug)]
pub struct RogueReport {
    /// Envelopes the rogue gossiped.
    pub sent: usize,
    /// How many more envelopes the target rejected during the attack.
    pub rejected: u64,
    /// Whether the target dropped the rogue's connection.
    pub disconnected: bool,
    /// Whether the target lists the rogue as banned (so it cannot come back).
    pub banned: bool,
    /// Whether any of the rogue's envelopes was stored by the target.
    pub stored: bool,
    /// Sync requests the target sent the rogue (it must start none with a
    /// stranger: they would hand it the envelope log's ids).
    pub sync_requests: usize,
}

const WAIT: Duration = Duration::from_secs(20);

fn clear_incident(
    keys: &TeamKeys,
    author: TeamId,
    mesh: MeshId,
    seq: u64,
    text: &str,
) -> Result<Envelope> {
    let inner = InnerContent {
        author: keys.team_id(),
        mesh,
        tlp: Tlp::Clear,
        recipients: vec![],
        payload: Payload::Incident(IncidentPayload::Open {
            title: text.into(),
            description: "spam".into(),
            indicators: Vec::new(),
            source: None,
        }),
    };
    let content = EnvelopeContent {
        mesh,
        kind: Kind::Incident,
        author,
        seq,
        created_at: csirtmesh::now_ms(),
        tlp: Tlp::Clear,
        thread: None,
        parents: vec![],
        body: Body::Clear(seal::sign_inner(keys, &inner)?),
    };
    // Signed by `keys`, whoever `author` claims to be.
    let bytes = Envelope::content_bytes(&content)?;
    let signature = keys.sign(proto::context::ENVELOPE, &bytes);
    Ok(Envelope::assemble(bytes, signature)?)
}

/// The network configuration of an in-process peer of a drill (a rogue, an
/// insider's node): loopback, dialling `bootstrap`, on `mesh`'s topic.
pub fn peer_config(bootstrap: &str, mesh: MeshId) -> Result<net::Config> {
    Ok(net::Config {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
        bootstrap: vec![bootstrap.parse()?],
        topic: net::protocol::envelope_topic(&mesh.to_string()),
        heartbeat: Duration::from_millis(200),
        ..net::Config::default()
    })
}

/// Runs the attack against the node at `bootstrap`, watched through `target`.
pub async fn attack(
    bootstrap: &str,
    mesh: MeshId,
    impersonated: TeamId,
    target: &ApiClient,
) -> Result<RogueReport> {
    let stranger = TeamKeys::generate();
    // The forgery first (the one fault every node sees: a bad signature);
    // the non-members' incidents sink the rogue's gossip score until the
    // target bans it.
    let mut envelopes = vec![clear_incident(
        &stranger,
        impersonated,
        mesh,
        99,
        "forged in a member's name",
    )?];
    for seq in 1..=6 {
        envelopes.push(clear_incident(
            &stranger,
            stranger.team_id(),
            mesh,
            seq,
            "buy cheap indicators",
        )?);
    }

    let config = peer_config(bootstrap, mesh)?;
    let key = net::NodeKey::generate();
    let rogue_peer = key.peer_id().to_string();
    let (client, mut events, event_loop) = net::new(key, config)?;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(event_loop.run(shutdown.clone()));
    let result = async {
        let deadline = Instant::now() + WAIT;
        let mut sync_requests = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, events.recv()).await {
                Ok(Some(net::Event::Subscribed { .. })) => break,
                Ok(Some(net::Event::Request { .. })) => sync_requests += 1,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => bail!("the rogue peer never joined the gossip mesh"),
            }
        }
        let before = target.status().await?.rejected;
        for e in &envelopes {
            match client.publish(e.bytes.clone()).await {
                Ok(()) | Err(net::Error::NoPeers) => {}
                Err(e) => return Err(e).context("rogue publish"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Wait (bounded) for the target to reject them and drop the rogue.
        let deadline = Instant::now() + WAIT;
        let (mut rejected, mut disconnected, mut banned) = (0, false, false);
        while Instant::now() < deadline {
            let s = target.status().await?;
            rejected = s.rejected.saturating_sub(before);
            disconnected = !s.peers.iter().any(|p| p.peer_id == rogue_peer);
            banned = s.blocked.iter().any(|b| b.peer_id == rogue_peer);
            if rejected >= 2 && disconnected && banned {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        while let Ok(e) = events.try_recv() {
            sync_requests += usize::from(matches!(e, net::Event::Request { .. }));
        }
        let stored_ids: std::collections::HashSet<String> = target
            .envelopes()
            .await?
            .into_iter()
            .map(|e| e.id)
            .collect();
        let stored = envelopes
            .iter()
            .any(|e| stored_ids.contains(&e.id.to_string()));
        Ok(RogueReport {
            sent: envelopes.len(),
            rejected,
            disconnected,
            banned,
            stored,
            sync_requests,
        })
    }
    .await;
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    result
}
