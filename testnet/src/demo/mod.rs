//! The demo: a scripted scenario on a real local mesh of four teams.
//!
//! Thirteen steps, each a method of `Demo` in the order `Demo::scenario`
//! runs them:
//!
//! 1. A, B and C start and find each other from one bootstrap address.
//! 2. A opens an AMBER incident to B; B reads it.
//! 3. B comments and sets it in-progress; A sees both.
//! 4. C, not a recipient, holds the ciphertext and cannot read it.
//! 5. A sends a GREEN advisory; every running member reads it.
//! 6. A report about a network no team covers goes to the team of last
//!    resort (C), which acknowledges and hands it to B; B accepts; A sees
//!    the path.
//! 7. B is killed (SIGKILL) while A writes to it, restarted, still has its
//!    data, and catches up on what it missed.
//! 8. A stranger's node (not a member) gossips incidents and one envelope
//!    forged in a member's name: all rejected, none stored, peer dropped.
//! 9. D, not a founder, reachable only through A's relay, starts last and
//!    asks to join; A and B vouch; every node admits D.
//! 10. D catches up on the history by anti-entropy, cannot read the GREEN
//!     sent before it was admitted, and reads the GREEN sent after.
//! 11. B reaches D through the relay; both read what the other sent.
//! 12. Every team exports STIX 2.1, MISP and X-ARF (to `--export-dir`);
//!     C's export holds nothing of the AMBER thread; D imports A's STIX
//!     export and holds the same incidents.
//! 13. Every intended recipient reads, nobody else.
//!
//! Each step prints what it checked. The report counts delivery over the
//! intended recipients of every incident envelope and any read by a team
//! that was not a recipient (must be 0).

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use anyhow::Result;
use csirtmesh::datadir::InitOptions;
use serde::Serialize;

use crate::harness::{NodeCommand, Testnet};

mod interop;
mod steps;

/// How long one step may wait for the mesh to deliver.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// The teams of the demo: three founders start together; D joins late.
const TEAMS: [&str; 4] = ["CSIRT-A", "CSIRT-B", "CSIRT-C", "CSIRT-D"];

/// A, B and C found the mesh; D is admitted by endorsement.
const FOUNDERS: usize = 3;

/// One checked step.
#[derive(Debug, Serialize)]
pub struct Step {
    /// What the step does.
    pub name: String,
    /// Whether it held.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
    /// How long it took, ms.
    pub ms: u64,
}

/// The demo's figures (`--json`).
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Teams in the mesh.
    pub teams: usize,
    /// Incident envelopes published through the admin API.
    pub envelopes_published: usize,
    /// Of every (incident envelope, intended recipient) pair, the share where
    /// the recipient holds and can read the envelope at the end (0..1).
    pub delivered_ratio: f64,
    /// (envelope, team) pairs where a team that was not an intended
    /// recipient could read an AMBER-or-narrower envelope. Must be 0.
    pub non_recipient_reads: usize,
    /// Whether B still had its data after SIGKILL and restart.
    pub survived_restart: bool,
    /// Whether the late node ended with every envelope of the mesh.
    pub late_node_caught_up: bool,
    /// Teams admitted by endorsement (not founders) during the run.
    pub admitted_by_endorsement: usize,
    /// From the first endorsement to every node counting the team as a member, ms.
    pub admission_ms: u64,
    /// Envelopes from a non-member (or forged) that the target node rejected.
    pub rejected_non_member_envelopes: u64,
    /// Whether the target node disconnected the peer that sent them.
    pub rogue_disconnected: bool,
    /// Whether D, reachable only through A's relay, exchanged envelopes with
    /// B and C over relayed connections.
    pub relayed_only_delivered: bool,
    /// Whether AutoNAT found D (listening only through the relay) not
    /// reachable, and B (listening on loopback) reachable.
    #[serde(default)]
    pub reachability_detected: bool,
    /// Whether a report about a network no team covers reached the team of
    /// last resort, was handed to the right team and accepted, with the path
    /// visible to the reporter.
    pub routed_via_last_resort: bool,
    /// How the late node got what it missed.
    pub late_node_catch_up: String,
    /// Export files written under `--export-dir`.
    pub export_files: usize,
    /// Traces of an AMBER thread in the exports of a team it was not
    /// addressed to. Must be 0.
    pub export_leaks: usize,
    /// Whether D's import of A's STIX export reproduced A's incidents, and
    /// a second import opened nothing.
    pub import_reproduced: bool,
    /// Names of failed steps (empty on success).
    pub steps_failed: Vec<String>,
    /// Every step.
    pub steps: Vec<Step>,
    /// Wall time of the whole demo, ms.
    pub wall_ms: u64,
    /// Where the node logs were (removed at exit unless `TESTNET_KEEP`).
    pub logs: String,
}

/// The closing line (each step printed its own as it ran).
impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.steps_failed.is_empty() {
            writeln!(
                f,
                "\nAll {} steps held in {:.1} s.",
                self.steps.len(),
                self.wall_ms as f64 / 1000.0
            )
        } else {
            writeln!(
                f,
                "\n{} of {} steps FAILED: {}. Node logs were in {}",
                self.steps_failed.len(),
                self.steps.len(),
                self.steps_failed.join(", "),
                self.logs
            )
        }
    }
}

impl crate::Report for Report {
    fn held(&self) -> bool {
        self.steps_failed.is_empty()
    }
}

/// Who must be able to read each incident envelope (besides its author).
#[derive(Default)]
struct Intended {
    recipients: HashMap<String, HashSet<String>>,
    published: usize,
}

impl Intended {
    fn add(&mut self, id: &str, to: &[&str]) {
        self.published += 1;
        self.recipients
            .insert(id.to_owned(), to.iter().map(|s| s.to_string()).collect());
    }
}

/// Prints progress lines to stderr in `--json` mode (stdout is the JSON).
pub struct Say {
    json: bool,
}

impl Say {
    fn line(&self, s: &str) {
        if self.json {
            eprintln!("{s}");
        } else {
            println!("{s}");
        }
    }
}

/// The teams' options: B is an ISP covering 203.0.113.0/24; C is the CSIRT
/// of last resort for BR; A is the forum's bootstrap point and relay.
fn team_options() -> Vec<(&'static str, InitOptions)> {
    TEAMS
        .iter()
        .map(|n| {
            let mut o = InitOptions::default();
            // A contact and RFC 2350 details, as a real team publishes them
            // (the X-ARF export names the reporter by this address).
            let domain = format!("{}.example", n.to_ascii_lowercase());
            o.contact = Some(format!("cert@{domain}"));
            o.details = proto::rfc2350::TeamDetails {
                time_zone: Some("UTC".into()),
                business_hours: Some("Mon-Fri 08:00-18:00".into()),
                languages: vec!["en".into()],
                rfc2350_url: Some(format!("https://{domain}/rfc2350.txt")),
                ..Default::default()
            };
            match *n {
                "CSIRT-A" => o.roles = vec![proto::Role::Relay],
                "CSIRT-B" => {
                    o.constituency = vec!["203.0.113.0/24".parse().expect("a valid prefix")]
                }
                "CSIRT-C" => o.roles = vec![proto::Role::LastResortFor(vec!["BR".into()])],
                _ => {}
            }
            (*n, o)
        })
        .collect()
}

/// Runs the demo and returns its report; every process is stopped on return.
pub async fn run(
    command: NodeCommand,
    json: bool,
    export_dir: Option<&std::path::Path>,
) -> Result<Report> {
    let started = Instant::now();
    let net = Testnet::create_with(command, &team_options(), FOUNDERS, 2)?;
    let say = Say { json };
    say.line(&format!(
        "CSIRT Mesh demo: {} teams in {} (charter: {})",
        TEAMS.len(),
        net.root.display(),
        net.charter.display()
    ));
    let mut demo = Demo {
        net,
        say,
        report: Report {
            teams: TEAMS.len(),
            ..Report::default()
        },
        intended: Intended::default(),
        incident: String::new(),
        green_incident: String::new(),
    };
    let result = demo.scenario(export_dir).await;
    demo.net.stop_all().await;
    if let Err(e) = result {
        demo.report.steps.push(Step {
            name: "scenario".into(),
            ok: false,
            detail: format!("{e:#}"),
            ms: 0,
        });
    }
    demo.finish(started);
    Ok(demo.report)
}

const A: &str = TEAMS[0];
const B: &str = TEAMS[1];
const C: &str = TEAMS[2];
const D: &str = TEAMS[3];

/// The demo under way: the mesh, what it reported so far, and the ids later
/// steps refer to.
struct Demo {
    net: Testnet,
    say: Say,
    report: Report,
    /// Who must read each incident envelope.
    intended: Intended,
    /// The AMBER incident A opens to B (step 2), worked on later.
    incident: String,
    /// The GREEN advisory sent before D joined (step 5).
    green_incident: String,
}

/// A step's outcome: what was seen, or what went wrong.
type Outcome = Result<String, String>;

impl Demo {
    /// Every step, in order. A step that fails is recorded and the next one
    /// runs; an error here (the admin API unreachable) ends the scenario.
    async fn scenario(&mut self, export_dir: Option<&std::path::Path>) -> Result<()> {
        self.start_three().await?;
        self.amber_incident().await?;
        self.comment_and_status().await?;
        self.non_recipient_cannot_read().await?;
        self.green_advisory().await?;
        self.last_resort_report().await?;
        self.kill_and_restart().await?;
        self.stranger_refused().await?;
        self.join_by_endorsement().await?;
        self.late_catch_up().await?;
        self.relayed_only_team().await?;
        self.reachability().await?;
        self.interop(export_dir).await?;
        self.figures().await
    }

    fn record(&mut self, name: &str, started: Instant, result: Outcome) {
        let ms = started.elapsed().as_millis() as u64;
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        self.say.line(&format!(
            "{} {name} ({ms} ms)\n    {detail}",
            if ok { "[ok]  " } else { "[FAIL]" }
        ));
        self.report.steps.push(Step {
            name: name.into(),
            ok,
            detail,
            ms,
        });
    }

    /// The failed steps and the wall time.
    fn finish(&mut self, started: Instant) {
        let report = &mut self.report;
        report.steps_failed = report
            .steps
            .iter()
            .filter(|s| !s.ok)
            .map(|s| s.name.clone())
            .collect();
        report.wall_ms = started.elapsed().as_millis() as u64;
        report.logs = self.net.root.display().to_string();
    }
}
