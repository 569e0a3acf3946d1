//! Two teams, one incident: embed CSIRT Mesh nodes in your own program.
//!
//! ```text
//! cargo run -p csirtmesh-examples --example two_teams
//! ```
//!
//! CSIRT-A finds a phishing kit on a network CSIRT-B is responsible for and
//! tells B, under TLP:AMBER, so that only B (and A) can read it. Both nodes
//! run inside this one process, on loopback, in a temporary directory.

use std::time::Duration;

use anyhow::{Context, Result};
use csirtmesh::{
    api::{client::ApiClient, types::NewIncident},
    config::{Config, FileConfig},
    datadir::{DataDir, InitOptions},
    now_ms,
};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<()> {
    let tmp = tempfile::tempdir()?;

    // 1. Each team creates its identity: signing key, age key, node key and a
    //    signed profile, in its own data directory.
    let a = DataDir::new(tmp.path().join("a"));
    let b = DataDir::new(tmp.path().join("b"));
    for (dir, name) in [(&a, "CSIRT-A"), (&b, "CSIRT-B")] {
        let opts = InitOptions {
            name: name.into(),
            country: Some("BR".into()),
            ..Default::default()
        };
        let profile = dir.init(&opts, now_ms())?;
        println!("{name} is team {}", profile.team.short());
    }

    // 2. The forum writes a charter naming both teams as founders.
    let (charter, text) = csirtmesh::make_charter(
        "Example forum",
        &[a.root().to_path_buf(), b.root().to_path_buf()],
        2,
        None,
        None,
        now_ms(),
    )?;
    let charter_file = tmp.path().join("charter.toml");
    std::fs::write(&charter_file, text)?;
    println!("Mesh {:?} is {}", charter.name, charter.mesh_id()?.short());

    // 3. Run A's node, then B's with A's address as its bootstrap.
    let shutdown = CancellationToken::new();
    let config = |dir: &DataDir, bootstrap: Vec<String>| {
        Config::build(
            FileConfig::default(),
            FileConfig {
                data_dir: Some(dir.root().to_path_buf()),
                charter: Some(charter_file.clone()),
                listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
                bootstrap,
                ..Default::default()
            },
        )
    };
    let node_a = tokio::spawn(csirtmesh::run(config(&a, vec![])?, shutdown.clone()));
    let api_a = wait_for_api(&a).await?;
    let a_addr = api_a.status().await?.listen_addrs[0].clone();
    let node_b = tokio::spawn(csirtmesh::run(config(&b, vec![a_addr])?, shutdown.clone()));
    let api_b = wait_for_api(&b).await?;

    // 4. A opens an AMBER incident addressed to B. The call returns once the
    //    envelope is durable in A's database.
    let published = api_a
        .open(&NewIncident {
            title: "Phishing kit on 203.0.113.7".into(),
            description: "Please take it down; the kit harvests bank credentials.".into(),
            tlp: csirtmesh::api::types::Label(proto::Tlp::Amber),
            to: vec!["CSIRT-B".into()],
            indicators: Vec::new(),
        })
        .await?;
    let incident = published
        .incident
        .context("an incident envelope names its incident")?;
    println!("A opened incident {}", &incident[..8]);

    // 5. B receives it over gossip (or anti-entropy), decrypts it, reads it.
    let mut seen = None;
    for _ in 0..100 {
        if let Ok(i) = api_b.incident(&incident).await
            && i.summary.title.is_some()
        {
            seen = Some(i);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let incident = seen.context("B did not receive the incident within 10 s")?;
    println!(
        "B reads: [{}] {} -- {}",
        incident.summary.tlp,
        incident.summary.title.unwrap_or_default(),
        incident.description.unwrap_or_default()
    );

    // 6. Shut both nodes down and wait for them.
    shutdown.cancel();
    node_a.await??;
    node_b.await??;
    Ok(())
}

/// Waits (bounded) until a node's admin API answers.
async fn wait_for_api(dir: &DataDir) -> Result<ApiClient> {
    for _ in 0..100 {
        if let Ok(api) = ApiClient::for_data_dir(dir)
            && api.status().await.is_ok()
        {
            return Ok(api);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("node in {} did not start within 10 s", dir.root().display())
}
