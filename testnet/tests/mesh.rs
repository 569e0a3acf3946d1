//! The multi-process tests (the demo scenario and a small drill) and a
//! small in-process simulation. The demo runs on four real node
//! processes on loopback. Every wait inside is bounded (30 s per step) and
//! the harness kills every process it started, also on failure.

use testnet::{demo, harness::NodeCommand};

/// This test binary's own nodes: the testnet binary's `node` subcommand.
fn command() -> NodeCommand {
    NodeCommand {
        program: env!("CARGO_BIN_EXE_testnet").into(),
        prefix: vec!["node".into()],
    }
}

/// One multi-process test at a time: each runs several node processes, and
/// two at once on a 2-core machine stretch the timing windows they check
/// (a stranger's 10 s window was once measured at 19 s that way).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Back up a running node, keep working, destroy it, restore it: it catches
/// up on everything, reads what was sealed to it, and writes again without
/// forking its own chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restored_from_a_backup_catches_up_and_does_not_fork_its_chain() {
    let _one = ONE_AT_A_TIME.lock().await;
    let report = tokio::time::timeout(
        std::time::Duration::from_secs(300),
        testnet::backup_drill::drill(command(), true),
    )
    .await
    .expect("the backup drill finishes within its bound")
    .expect("the backup drill runs");
    assert!(report.written_after_backup >= 12, "{report:?}");
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(
        report.readable_after_restore, report.sealed_to_a_after_backup,
        "{report:?}"
    );
    assert!(report.wrote_only_after_catching_up, "{report:?}");
    assert!(report.write_after_restore_delivered, "{report:?}");
    assert_eq!(report.forks_seen, 0, "{report:?}");
    assert!(report.still_a_member, "{report:?}");
}

/// Two teams behind firewalls (network namespaces) reach each other
/// directly after a hole punch through a member's relay. Needs root, ip and
/// iptables (`.ci/run` installs iptables); says SKIPPED otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_behind_firewalls_connect_directly_after_a_hole_punch() {
    let _one = ONE_AT_A_TIME.lock().await;
    let report = tokio::time::timeout(
        std::time::Duration::from_secs(600),
        tokio::task::spawn_blocking(|| testnet::holepunch::run(command())),
    )
    .await
    .expect("the hole punch finishes within its bound")
    .expect("the hole punch task")
    .expect("the hole punch runs");
    if let Some(why) = &report.skipped {
        // `.ci/run` as root sets it: there, a skip is a failure.
        assert!(
            std::env::var_os("CSIRTMESH_REQUIRE_HOLEPUNCH").is_none(),
            "the hole punch test was skipped: {why}"
        );
        eprintln!("SKIPPED: teams_behind_firewalls_connect_directly_after_a_hole_punch: {why}");
        return;
    }
    assert!(report.direct_dial_blocked, "{report:?}");
    assert!(report.relayed, "{report:?}");
    assert!(report.hole_punches >= 1, "{report:?}");
    assert!(report.direct_after_relay_gone, "{report:?}");
    assert!(report.delivered, "{report:?}");
}

/// Runs a drill, bounded (every process stopped on return).
async fn run_drill(cfg: testnet::drill::DrillConfig) -> testnet::drill::DrillReport {
    tokio::time::timeout(
        std::time::Duration::from_secs(300),
        testnet::drill::run(command(), cfg, true),
    )
    .await
    .expect("the drill finishes within its bound")
    .expect("the drill runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_node_mesh_admits_by_endorsement_refuses_strangers_and_survives_kill() {
    let _one = ONE_AT_A_TIME.lock().await;
    let exports = tempfile::tempdir().unwrap();
    let report = tokio::time::timeout(
        std::time::Duration::from_secs(240),
        demo::run(command(), true, Some(exports.path())),
    )
    .await
    .expect("the demo finishes within its bound")
    .expect("the demo runs");
    let failed: Vec<_> = report
        .steps
        .iter()
        .filter(|s| !s.ok)
        .map(|s| format!("{}: {}", s.name, s.detail))
        .collect();
    assert!(failed.is_empty(), "failed steps: {failed:#?}");
    assert_eq!(report.teams, 4);
    assert_eq!(report.delivered_ratio, 1.0);
    assert_eq!(report.non_recipient_reads, 0);
    assert!(report.survived_restart);
    assert!(report.late_node_caught_up);
    assert!(report.envelopes_published >= 6);
    assert_eq!(report.admitted_by_endorsement, 1);
    assert!(report.rejected_non_member_envelopes >= 2);
    assert!(report.rogue_disconnected);
    assert!(report.routed_via_last_resort);
    assert!(report.relayed_only_delivered);
    assert!(report.reachability_detected);
    assert_eq!(report.export_leaks, 0);
    assert!(report.import_reproduced);
    // Every team's STIX and MISP, and X-ARF from the reporter (A) and the
    // teams the report reached (C, then B).
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for team in std::fs::read_dir(exports.path()).unwrap() {
        for f in std::fs::read_dir(team.unwrap().path()).unwrap() {
            files.push(f.unwrap().path());
        }
    }
    files.sort();
    assert_eq!(files.len(), report.export_files);
    assert_eq!(files.len(), 4 * 2 + 3, "{files:?}");
    testkit::check_with_interop_tools(&files);
}

/// A small drill for correctness only (no timing assertion): publish while
/// killing and partitioning, heal, and lose nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_drill_with_kills_and_a_partition_loses_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let cfg = testnet::drill::Params {
        teams: Some(5),
        incidents: Some(40),
        churn: Some(0.4),
        partition: Some(true),
        seed: Some(7),
        green_share: Some(0.5),
        relayed: Some(1),
        // Slow, lossy links: gossip drops a tenth, anti-entropy must recover it.
        latency_ms: Some(20),
        loss: Some(0.1),
        // CSIRT-02 is the last resort for BR; a fifth of the publications
        // are reports about an address no team covers.
        last_resort: Some(1),
        report_share: Some(0.2),
        // A timeline: one team hangs (SIGSTOP) for a second mid-burst.
        rate_per_sec: Some(20.0),
        fault: vec![
            testnet::drill::Fault {
                at_ms: 300,
                action: testnet::drill::FaultAction::Pause,
                teams: vec!["CSIRT-03".into()],
            },
            testnet::drill::Fault {
                at_ms: 1300,
                action: testnet::drill::FaultAction::Resume,
                teams: vec!["CSIRT-03".into()],
            },
        ],
        ..testnet::drill::Params::default()
    }
    .validate()
    .expect("a valid drill");
    let report = run_drill(cfg).await;
    assert_eq!(report.lost, 0, "lost: {:?}", report.lost_examples);
    assert!(report.converged);
    assert_eq!(report.kills, 2);
    assert!(report.envelopes_published >= 40);
    assert_eq!(report.delivery_ratio, 1.0);
    assert_eq!(report.faults.len(), 2, "{:?}", report.faults);
    assert!(
        report.faults[0].contains("Pause CSIRT-03"),
        "{:?}",
        report.faults
    );
    assert!(report.admit_ms > 0);
    assert!(report.reports > 0);
    assert_eq!(report.reports_to_last_resort, report.reports);
    assert!(report.bytes_sent_per_delivery > 0.0);
}

/// A small hostile drill: four strangers (one forger, one flooder of
/// uninvited join requests, one whose join requests list its own node, one
/// lurker) and 18 more lurkers, more than the 16 places strangers may wait
/// in, dial every member and keep dialling; one member censors; py-libp2p
/// abuses gossipsub's control messages. Every honest member still gets
/// everything, no stranger's envelope is stored or connection held, the
/// lurkers are closed by the window, and an invited team is admitted during
/// the flood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_hostile_drill_keeps_strangers_out_and_delivers_everything() {
    let _one = ONE_AT_A_TIME.lock().await;
    let python = testnet::drill::hostile::hostile_python();
    let abuse = python.exists();
    if !abuse {
        let missing = format!(
            "py-libp2p is missing ({}): run scripts/hostile-venv; the gossip abuse part is SKIPPED",
            python.display()
        );
        // CI sets the environment up: there, missing is a failure.
        assert!(std::env::var_os("CI").is_none(), "{missing}");
        eprintln!("{missing}");
    }
    let cfg = testnet::drill::Params {
        teams: Some(4),
        incidents: Some(30),
        churn: Some(0.0),
        seed: Some(3),
        strangers: Some(4),
        lurkers: Some(18),
        censors: Some(1),
        gossip_abuse: Some(abuse),
        rate_per_sec: Some(10.0),
        ..testnet::drill::Params::default()
    }
    .validate()
    .expect("a valid drill");
    let report = run_drill(cfg).await;
    assert_eq!(report.lost, 0, "lost: {:?}", report.lost_examples);
    assert!(report.converged);
    assert_eq!(report.delivery_ratio, 1.0);
    let h = report.hostile.expect("a hostile drill reports its figures");
    assert_eq!(h.stranger_envelopes_stored, 0);
    assert_eq!(
        h.stranger_connections_held,
        0,
        "{:?}",
        h.strangers.as_ref().map(|s| &s.held)
    );
    assert!(h.legit_applicant_admitted);
    assert_eq!(h.panics, 0);
    let s = h.strangers.as_ref().expect("strangers ran");
    // Each kind reached members (strangers dial only members) and was dealt
    // with: the blamed ones banned, the lurkers closed by the window.
    assert!(s.join_requests > 0 && s.forged + s.junk > 0, "{s:?}");
    assert!(h.bans >= 2, "{} bans", h.bans);
    assert!(s.lurker_closes > 0 && h.strangers_closed > 0, "{s:?}");
    if abuse {
        // The abuse got frames through to the nodes (it does not only fail
        // to connect).
        let a = h.gossip_abuse.expect("the abuse reports");
        let v: serde_json::Value = serde_json::from_str(&a).expect("a JSON summary");
        assert!(v["abuse"]["frames_written"].as_u64() > Some(0), "{a}");
    }
}

/// The in-process simulation reaches every team with a GREEN advisory and
/// every recipient with AMBER incidents (correctness; its figures are for
/// `testnet sim`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_simulation_reaches_every_team() {
    let _one = ONE_AT_A_TIME.lock().await;
    let cfg = testnet::sim::SimConfig {
        teams: 8,
        latency_ms: 5,
        degree: 4,
        amber: 2,
        amber_recipients: 2,
        seed: 3,
        json: true,
        load: 5,
        rate: 20.0,
        bare: false,
    };
    let report = tokio::time::timeout(std::time::Duration::from_secs(240), testnet::sim::run(&cfg))
        .await
        .expect("the simulation finishes within its bound")
        .expect("the simulation runs");
    assert_eq!(report.teams, 8);
    assert_eq!(report.delivery_ratio, 1.0);
    assert_eq!(report.amber.delivery_ratio, 1.0);
    assert!(report.ideal_latency_ms.max >= 5.0);
    let load = report.load.expect("a load was asked for");
    assert_eq!((load.published, load.delivery_ratio), (5, 1.0));
    // The same load through the bare baseline, on a random graph.
    let bare = tokio::time::timeout(
        std::time::Duration::from_secs(240),
        testnet::sim::run_bare(&testnet::sim::SimConfig { bare: true, ..cfg }),
    )
    .await
    .expect("the bare run finishes within its bound")
    .expect("the bare run runs");
    assert!(bare.bare);
    assert_eq!((bare.load.published, bare.load.delivery_ratio), (5, 1.0));
}

/// Issue 11: a member turns hostile after a short burst (its node replaced
/// by one that crafts what its key can sign) and another member's key is
/// stolen. No label breach, no backdated act counted, no honest relay
/// banned, no retraction shadowed, every fork found by every judge, and
/// every judge with the same members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insider_drill_breaches_nothing_and_finds_every_fork() {
    let _one = ONE_AT_A_TIME.lock().await;
    let cfg = testnet::drill::Params {
        teams: Some(6),
        incidents: Some(12),
        churn: Some(0.0),
        seed: Some(5),
        insider: Some(true),
        rate_per_sec: Some(10.0),
        ..testnet::drill::Params::default()
    }
    .validate()
    .expect("a valid drill");
    let report = run_drill(cfg).await;
    assert_eq!(report.lost, 0, "lost: {:?}", report.lost_examples);
    let i = report
        .insider
        .expect("an insider drill reports its figures");
    assert!(i.conversation_replies_seen > 0, "the insider heard nothing");
    assert!(
        i.attack_delivered,
        "the insider's reply never reached A and B"
    );
    assert_eq!(
        i.victim_received, 3,
        "the aimed envelopes did not reach the victim"
    );
    assert!(
        i.fake_tombstone_refused > 0,
        "the fake tombstone reached no judge"
    );
    assert_eq!(i.label_breaches, 0);
    assert_eq!(i.backdated_accepted, 0);
    assert_eq!(i.honest_relays_penalised, 0);
    assert_eq!(i.retractions_shadowed, 0);
    assert_eq!(i.divergent_member_sets, 0);
    assert_eq!(i.forks_made, 2);
    assert_eq!(i.forks_detected, 2, "{i:?}");
    assert_eq!(
        i.stolen_age_key_reads_before, 2,
        "the stolen copy should open what was sealed before: {i:?}"
    );
    assert_eq!(i.stolen_age_key_reads_after, 0, "{i:?}");
    assert_eq!(i.victim_reads_after_replacement, 2, "{i:?}");
    assert!(
        i.prefix_captured,
        "the insider's claim never arrived: {i:?}"
    );
    assert_eq!(i.captures_unseen, 0, "{i:?}");
}
