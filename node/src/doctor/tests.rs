//! Each rule of `doctor` on made-up facts.

use super::*;

const NOW: u64 = 1_800_000_000_000;

fn status(extra: serde_json::Value) -> StatusView {
    let mut v = serde_json::json!({
        "team": {"id": "aa", "name": "CSIRT-A"},
        "mesh_name": "m", "mesh_id": "11", "peer_id": "p",
        "listen_addrs": [], "peers": [],
        "members": 3, "envelopes": 1, "waiting_for_key": 0, "quarantined": 0,
        "accepted": 0, "rejected": 0, "ignored": 0, "published": 0, "synced_in": 0,
        "bytes_in": 0, "bytes_out": 0,
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn members(ids: &[&str]) -> MembersView {
    serde_json::from_value(serde_json::json!({
        "threshold": 2, "objection_window_ms": null,
        "members": ids.iter().map(|id| serde_json::json!({
            "team": {"id": id, "name": null}, "country": null, "constituency": [],
            "contact": null, "founder": true, "peers": [], "sponsors": [], "admitted_at": null,
        })).collect::<Vec<_>>(),
        "applicants": [], "removed": [],
    }))
    .unwrap()
}

fn healthy() -> Facts {
    let peer = serde_json::json!({
        "peer_id": "p1", "team": {"id": "bb", "name": "CSIRT-B"},
        "last_sync_ok": NOW - 60_000, "last_sync_fetched": 0, "last_sync_rounds": 1,
        "last_sync_bytes": 10, "last_sync_error": null, "via_relay": false,
    });
    Facts {
        dir: "/var/lib/csirtmesh".into(),
        dir_mode: Some(0o700),
        dir_owner: Some(103),
        denied: None,
        files: vec![
            FileFact {
                name: "team.key",
                mode: Some(0o600),
                owner: Some(103),
                secret: true,
            },
            FileFact {
                name: "profile.bin",
                mode: Some(0o644),
                owner: Some(103),
                secret: false,
            },
        ],
        charter: Ok("Forum".into()),
        disk: Some((50 << 30, 100 << 30)),
        node: Ok((
            status(serde_json::json!({
                "peers": [peer], "reachability": "public",
                "clock_offset_ms": 300, "clock_offset_teams": 2,
            })),
            members(&["aa", "bb"]),
        )),
        now: NOW,
    }
}

fn level(findings: &[Finding], check: &str) -> Level {
    findings
        .iter()
        .find(|f| f.check == check)
        .unwrap_or_else(|| panic!("no {check} finding"))
        .level
}

#[test]
fn a_healthy_node_is_all_ok() {
    let found = diagnose(&healthy());
    for f in &found {
        assert_eq!(f.level, Level::Ok, "{f:?}");
    }
    assert_eq!(found.len(), 10);
}

#[test]
fn readable_keys_missing_files_and_no_charter_fail_with_a_fix() {
    let mut f = healthy();
    f.files[0].mode = Some(0o644);
    f.dir_mode = Some(0o755);
    let found = diagnose(&f);
    let files = found.iter().find(|x| x.check == "files").unwrap();
    assert_eq!(files.level, Level::Fail);
    let fix = files.fix.as_deref().unwrap();
    assert!(
        fix.contains("chmod 600 /var/lib/csirtmesh/team.key") && fix.contains("chmod 700"),
        "{fix}"
    );
    // A public file may be readable.
    let mut f = healthy();
    f.files[1].mode = Some(0o644);
    assert_eq!(level(&diagnose(&f), "files"), Level::Ok);
    let mut f = healthy();
    f.files[0].mode = None;
    assert_eq!(level(&diagnose(&f), "files"), Level::Fail);
    let mut f = healthy();
    f.charter = Err("no charter".into());
    assert_eq!(level(&diagnose(&f), "charter"), Level::Fail);
    // Root's file in the node's directory: the node cannot read it.
    let mut f = healthy();
    f.files[0].owner = Some(0);
    let found = diagnose(&f);
    assert_eq!(level(&found, "files"), Level::Fail);
    assert!(found[0].what.contains("team.key"), "{:?}", found[0]);
    // Run as another user: says so, and does not claim files are missing.
    let mut f = healthy();
    f.denied = Some("/var/lib/csirtmesh".into());
    f.charter = Err("permission denied".into());
    let found = diagnose(&f);
    assert_eq!(level(&found, "files"), Level::Fail);
    assert!(
        found[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("sudo -u csirtmesh")
    );
    assert!(!found[0].what.contains("missing"));
    assert_eq!(level(&found, "charter"), Level::Warn);
}

#[test]
fn disk_clock_reachability_and_sync_are_judged_by_their_thresholds() {
    let mut f = healthy();
    f.disk = Some((1 << 30, 100 << 30));
    assert_eq!(level(&diagnose(&f), "disk"), Level::Warn);
    f.disk = Some((100 << 20, 100 << 30));
    assert_eq!(level(&diagnose(&f), "disk"), Level::Fail);

    for (ms, teams, want) in [
        (59_000, 3, Level::Ok),
        (-90_000, 3, Level::Warn),
        (400_000, 3, Level::Fail),
        // Two teams do not make a failure: they may be the odd ones.
        (400_000, 2, Level::Warn),
    ] {
        let mut f = healthy();
        if let Ok((s, _)) = &mut f.node {
            s.clock_offset_ms = Some(ms);
            s.clock_offset_teams = teams;
        }
        assert_eq!(
            level(&diagnose(&f), "clock"),
            want,
            "{ms} ms, {teams} teams"
        );
    }

    let mut f = healthy();
    if let Ok((s, _)) = &mut f.node {
        s.reachability = "private".into();
    }
    let found = diagnose(&f);
    assert_eq!(level(&found, "reachability"), Level::Warn);
    let reach = found.iter().find(|x| x.check == "reachability").unwrap();
    assert!(reach.fix.as_deref().is_some_and(|t| t.contains("relay")));
    let mut f = healthy();
    if let Ok((s, _)) = &mut f.node {
        s.reachability = "unknown".into();
        s.clock_offset_ms = Some(-400_000);
        s.clock_offset_teams = 3;
        // A failed sync after a recent success is not a failure.
        s.peers[0].last_sync_error = Some("one timeout".into());
    }
    let found = diagnose(&f);
    assert_eq!(level(&found, "reachability"), Level::Ok);
    assert_eq!(level(&found, "clock"), Level::Fail, "behind counts too");
    assert_eq!(level(&found, "sync"), Level::Ok);
    let mut f = healthy();
    f.disk = None;
    f.dir_mode = None;
    let found = diagnose(&f);
    assert_eq!(level(&found, "disk"), Level::Warn);
    assert_eq!(level(&found, "files"), Level::Fail);

    let mut f = healthy();
    if let Ok((s, _)) = &mut f.node {
        s.peers[0].last_sync_ok = Some(NOW - 3_600_000);
    }
    assert_eq!(level(&diagnose(&f), "sync"), Level::Warn);
    let mut f = healthy();
    if let Ok((s, _)) = &mut f.node {
        s.peers[0].last_sync_ok = None;
        s.peers[0].last_sync_error = Some("timeout".into());
    }
    assert_eq!(level(&diagnose(&f), "sync"), Level::Warn);
}

#[test]
fn no_node_no_peers_or_no_membership_fail() {
    let mut f = healthy();
    f.node = Err("connection refused".into());
    let found = diagnose(&f);
    assert_eq!(level(&found, "node"), Level::Fail);
    assert_eq!(found.len(), 4, "the node's checks need the node");

    let mut f = healthy();
    if let Ok((s, _)) = &mut f.node {
        s.peers.clear();
    }
    assert_eq!(level(&diagnose(&f), "peers"), Level::Fail);

    let mut f = healthy();
    if let Ok((_, m)) = &mut f.node {
        *m = members(&["bb"]);
    }
    assert_eq!(level(&diagnose(&f), "membership"), Level::Fail);
    let mut f = healthy();
    if let Ok((s, _)) = &mut f.node {
        s.peers[0].team = None;
    }
    assert_eq!(
        level(&diagnose(&f), "peers"),
        Level::Warn,
        "no member's node among the peers"
    );
    let mut f = healthy();
    if let Ok((s, _)) = &mut f.node {
        s.forks = vec![
            serde_json::from_value(serde_json::json!({
                "key": "cc", "team": {"id": "cc", "name": "CSIRT-C"}, "seq": 7
            }))
            .unwrap(),
        ];
    }
    assert_eq!(level(&diagnose(&f), "integrity"), Level::Warn);

    let mut f = healthy();
    if let Ok((s, _)) = &mut f.node {
        s.catching_up = true;
        s.quarantined = 2;
    }
    let found = diagnose(&f);
    assert_eq!(level(&found, "restore"), Level::Warn);
    assert_eq!(level(&found, "integrity"), Level::Warn);
}
