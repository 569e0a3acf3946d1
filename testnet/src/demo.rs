//! The demo: a scripted scenario on a real local mesh of four teams.
//!
//! Twelve steps, each a method of [`Demo`] in the order [`Demo::scenario`]
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
//! 12. Every intended recipient reads, nobody else.
//!
//! Each step prints what it checked. The report counts delivery over the
//! intended recipients of every incident envelope and any read by a team
//! that was not a recipient (must be 0).

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use anyhow::Result;
use csirtmesh::{
    api::types::{
        EnvelopeView, EventKind, IncidentStep, Label, NewIncident, NewReport, PeerBlock, Status,
        StepAction,
    },
    datadir::InitOptions,
};
use serde::Serialize;

use crate::harness::{NodeCommand, Testnet, vouch};

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
    /// Whether a report about a network no team covers reached the team of
    /// last resort, was handed to the right team and accepted, with the path
    /// visible to the reporter.
    pub routed_via_last_resort: bool,
    /// How the late node got what it missed.
    pub late_node_catch_up: String,
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
pub async fn run(command: NodeCommand, json: bool) -> Result<Report> {
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
    let result = demo.scenario().await;
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
    async fn scenario(&mut self) -> Result<()> {
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

    /// Start A, B and C and let them find each other from one bootstrap address.
    async fn start_three(&mut self) -> Result<()> {
        let t = Instant::now();
        for name in [A, B, C] {
            self.net.start(name).await?;
        }
        let r = self
            .net
            .wait_connected(&[A, B, C], 2, STEP_TIMEOUT)
            .await
            .map(|_| {
                "A, B and C are connected to each other (B and C were given only A's address)"
                    .to_string()
            });
        self.record("start three nodes", t, r);
        Ok(())
    }

    /// A opens an AMBER incident to B; B reads it.
    async fn amber_incident(&mut self) -> Result<()> {
        let t = Instant::now();
        let opened = self
            .net
            .api(A)?
            .open(&NewIncident {
                title: "Phishing kit on 203.0.113.7".into(),
                description: "Credential-harvesting page imitating a bank; please take it down."
                    .into(),
                tlp: Label(proto::Tlp::Amber),
                to: vec![B.into()],
            })
            .await?;
        self.incident = opened.incident.clone().unwrap_or_default();
        self.intended.add(&opened.id, &[B]);
        let (net, incident) = (&self.net, &self.incident);
        let r = Testnet::wait_for(STEP_TIMEOUT, || async {
            Ok(net
                .api(B)?
                .incident(incident)
                .await?
                .summary
                .title
                .is_some())
        })
        .await
        .map(|d| {
            format!(
                "B received and decrypted incident {} in {} ms",
                &incident[..8],
                d.as_millis()
            )
        });
        self.record("A opens an AMBER incident to B", t, r);
        Ok(())
    }

    /// B comments and sets the incident in-progress; A sees both.
    async fn comment_and_status(&mut self) -> Result<()> {
        let t = Instant::now();
        let (net, incident) = (&self.net, &self.incident);
        let b = net.api(B)?;
        let comment = b
            .comment(incident, "Confirmed; contacting the hosting provider.")
            .await?;
        let status = b
            .set_status(incident, Status(proto::IncidentStatus::InProgress))
            .await?;
        let r = Testnet::wait_for(STEP_TIMEOUT, || async {
            let i = net.api(A)?.incident(incident).await?;
            Ok(i.summary.status.0 == proto::IncidentStatus::InProgress
                && i.events.iter().any(|e| e.kind == EventKind::Comment))
        })
        .await
        .map(|_| "A sees B's comment and the status in-progress".to_string());
        self.intended.add(&comment.id, &[A]);
        self.intended.add(&status.id, &[A]);
        self.record("B comments and sets in-progress", t, r);
        Ok(())
    }

    /// C holds the ciphertext of the AMBER thread but cannot read it.
    async fn non_recipient_cannot_read(&mut self) -> Result<()> {
        let t = Instant::now();
        let (net, incident) = (&self.net, &self.incident);
        let r = Testnet::wait_for(STEP_TIMEOUT, || async {
            let envs = net.api(C)?.envelopes().await?;
            let thread: Vec<&EnvelopeView> = envs
                .iter()
                .filter(|e| &e.id == incident || e.thread.as_ref() == Some(incident))
                .collect();
            if thread.len() < 3 {
                return Ok(false);
            }
            if thread.iter().any(|e| e.readable) {
                anyhow::bail!("C can read an envelope of the AMBER thread");
            }
            let i = net.api(C)?.incident(incident).await?;
            Ok(i.summary.title.is_none() && i.description.is_none())
        })
        .await
        .map(|_| {
            "C stores all 3 envelopes of the thread (author, time, TLP, size visible) and reads none"
                .to_string()
        });
        self.record("C holds the ciphertext but cannot read it", t, r);
        Ok(())
    }

    /// A sends a GREEN advisory that every running member reads.
    async fn green_advisory(&mut self) -> Result<()> {
        let t = Instant::now();
        let green = self
            .net
            .api(A)?
            .open(&NewIncident {
                title: "Advisory: credential-phishing campaign against regional banks".into(),
                description: "Indicators: login-secure-bank.example, 198.51.100.23".into(),
                tlp: Label(proto::Tlp::Green),
                to: vec![],
            })
            .await?;
        self.green_incident = green.incident.clone().unwrap_or_default();
        // D is not a member yet: GREEN goes to the members of the moment.
        self.intended.add(&green.id, &[B, C]);
        let r = self
            .readable_by(&[B, C], &self.green_incident)
            .await
            .map(|_| {
                "B and C read the advisory through A's GREEN sender key (one age stanza per message)"
                    .to_string()
            });
        self.record("A sends a GREEN advisory", t, r);
        Ok(())
    }

    /// Waits (bounded) until every one of `teams` reads `incident`.
    async fn readable_by(&self, teams: &[&str], incident: &str) -> Outcome {
        let net = &self.net;
        Testnet::wait_for(STEP_TIMEOUT, || async {
            for name in teams {
                if net
                    .api(name)?
                    .incident(incident)
                    .await?
                    .summary
                    .title
                    .is_none()
                {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await
        .map(|_| String::new())
    }

    /// A report about a network no team covers goes to the team of last
    /// resort, which hands it to the owner; the reporter sees the path.
    async fn last_resort_report(&mut self) -> Result<()> {
        let t = Instant::now();
        let routed = self
            .net
            .api(A)?
            .report(&NewReport {
                about: "198.51.100.7".into(),
                country: Some("BR".into()),
                title: "Open resolver used in a DDoS".into(),
                description: "198.51.100.7 answers ANY queries for anyone".into(),
                tlp: Some(Label(proto::Tlp::Amber)),
            })
            .await?;
        let report_id = routed.published.id.clone();
        self.intended.add(&report_id, &[C]);
        let r = if routed
            .route
            .teams
            .iter()
            .any(|t| t.name.as_deref() == Some(C))
        {
            self.hand_off_to_b(&report_id).await.map(|()| {
                format!(
                    "A's report about 198.51.100.7 went to C ({}); C acknowledged and handed it to B; B accepted; A sees that path",
                    routed.route.why
                )
            })
        } else {
            Err(format!(
                "routed to the wrong team: {:?} ({})",
                routed.route.teams, routed.route.why
            ))
        };
        self.report.routed_via_last_resort = r.is_ok();
        self.record("a report no team covers goes through last resort", t, r);
        Ok(())
    }

    /// C acknowledges the report and hands it to B; B accepts; A sees it.
    async fn hand_off_to_b(&mut self, report_id: &str) -> Result<(), String> {
        let net = &self.net;
        let api = |team| net.api(team).map_err(|e| e.to_string());
        let step = |action, to: Vec<String>, note: &str| IncidentStep {
            action,
            to,
            note: note.into(),
        };
        Testnet::wait_for(STEP_TIMEOUT, || async {
            Ok(net
                .api(C)?
                .incident(report_id)
                .await?
                .summary
                .title
                .is_some())
        })
        .await?;
        let c = api(C)?;
        c.step(report_id, &step(StepAction::Ack, vec![], ""))
            .await
            .map_err(|e| e.to_string())?;
        let handoff = c
            .step(
                report_id,
                &step(
                    StepAction::Handoff,
                    vec![B.into()],
                    "this is in your customer's network",
                ),
            )
            .await
            .map_err(|e| e.to_string())?;
        self.intended.add(&handoff.id, &[B, A]);
        let net = &self.net;
        Testnet::wait_for(STEP_TIMEOUT, || async {
            let i = net.api(B)?.incident(report_id).await?;
            Ok(i.summary
                .pending_handoff
                .iter()
                .any(|t| t.name.as_deref() == Some(B)))
        })
        .await?;
        net.api(B)
            .map_err(|e| e.to_string())?
            .step(report_id, &step(StepAction::Accept, vec![], ""))
            .await
            .map_err(|e| e.to_string())?;
        Testnet::wait_for(STEP_TIMEOUT, || async {
            let v = net.api(A)?.incident(report_id).await?;
            let kinds: Vec<EventKind> = v.events.iter().map(|e| e.kind).collect();
            Ok(
                kinds == [EventKind::Ack, EventKind::Handoff, EventKind::Accept]
                    && v.summary
                        .handled_by
                        .iter()
                        .any(|t| t.name.as_deref() == Some(B)),
            )
        })
        .await?;
        Ok(())
    }

    /// B is killed with SIGKILL, A writes to it while it is down, B restarts
    /// with its data and fetches what it missed.
    async fn kill_and_restart(&mut self) -> Result<()> {
        let t = Instant::now();
        self.net.kill(B)?;
        let missed = self
            .net
            .api(A)?
            .comment(
                &self.incident,
                "Provider says the page is down; can you confirm?",
            )
            .await?;
        self.intended.add(&missed.id, &[B]);
        self.net.start(B).await?;
        let (net, incident) = (&self.net, &self.incident);
        let r = Testnet::wait_for(STEP_TIMEOUT, || async {
            let i = net.api(B)?.incident(incident).await?;
            let kept = i.summary.title.is_some()
                && i.summary.status.0 == proto::IncidentStatus::InProgress;
            if !kept {
                anyhow::bail!("B lost its copy of the incident");
            }
            Ok(i.events
                .iter()
                .any(|e| e.id == missed.id && e.kind == EventKind::Comment))
        })
        .await;
        self.report.survived_restart = r.is_ok()
            || net
                .api(B)?
                .incident(incident)
                .await
                .is_ok_and(|i| i.summary.title.is_some());
        let r = r.map(|_| {
            "B kept its incident and status across SIGKILL, and fetched A's comment sent while it was down"
                .to_string()
        });
        self.record("B is killed and restarted", t, r);
        Ok(())
    }

    /// A stranger's node gossips what the mesh must refuse.
    async fn stranger_refused(&mut self) -> Result<()> {
        let t = Instant::now();
        let net = &self.net;
        let (charter, _) = csirtmesh::load_charter(&net.charter)?;
        let a_id: proto::TeamId = net.api(A)?.status().await?.team.id.parse()?;
        let bootstrap = net.bootstrap().unwrap_or_default().to_owned();
        let attack = crate::rogue::attack(&bootstrap, charter.mesh_id()?, a_id, &net.api(A)?).await;
        let r = match attack {
            Ok(rep) => {
                self.report.rejected_non_member_envelopes = rep.rejected;
                self.report.rogue_disconnected = rep.disconnected;
                let d = format!(
                    "A rejected {} of the {} envelopes (non-member incidents, one forged in A's name), stored {}, and {} the peer",
                    rep.rejected,
                    rep.sent,
                    if rep.stored { "SOME" } else { "none" },
                    if rep.disconnected {
                        "disconnected"
                    } else {
                        "did NOT disconnect"
                    }
                );
                if rep.rejected >= 3 && rep.disconnected && !rep.stored {
                    Ok(d)
                } else {
                    Err(d)
                }
            }
            Err(e) => Err(format!("{e:#}")),
        };
        self.record("a stranger's node is refused", t, r);
        Ok(())
    }

    /// D starts behind A's relay and asks to join; A and B vouch; every node
    /// admits D.
    async fn join_by_endorsement(&mut self) -> Result<()> {
        let t = Instant::now();
        // D is behind a NAT in this story: it listens only through A's relay.
        let circuit = format!("{}/p2p-circuit", self.net.bootstrap().unwrap_or_default());
        self.net.start_listening(D, &[circuit]).await?;
        let net = &self.net;
        let pending = Testnet::wait_for(STEP_TIMEOUT, || async {
            let m = net.api(A)?.members().await?;
            Ok(m.applicants
                .iter()
                .any(|p| p.team.name.as_deref() == Some(D)))
        })
        .await;
        let vouched_at = Instant::now();
        let r = match pending {
            Err(e) => Err(format!("A never saw D's join request: {e}")),
            Ok(_) => {
                net.api(A)?.membership(&vouch(D)).await?;
                net.api(B)?.membership(&vouch(D)).await?;
                net.wait_member(&TEAMS, D, STEP_TIMEOUT).await.map(|_| {
                    let ms = vouched_at.elapsed().as_millis() as u64;
                    self.report.admitted_by_endorsement += 1;
                    self.report.admission_ms = ms;
                    format!(
                        "D's join request reached A; after A and B vouched, all 4 nodes count D as a member ({ms} ms from the first vouch)"
                    )
                })
            }
        };
        self.record("D joins by endorsement", t, r);
        Ok(())
    }

    /// D catches up on the history, but not on GREEN from before it joined.
    async fn late_catch_up(&mut self) -> Result<()> {
        let t = Instant::now();
        let net = &self.net;
        let ids_of = |team| async move {
            Ok::<HashSet<String>, anyhow::Error>(
                net.api(team)?
                    .envelopes()
                    .await?
                    .into_iter()
                    .map(|e| e.id)
                    .collect(),
            )
        };
        let a_ids = ids_of(A).await?;
        let caught_up = Testnet::wait_for(STEP_TIMEOUT, || async {
            Ok(a_ids.is_subset(&ids_of(D).await?))
        })
        .await;
        self.report.late_node_caught_up = caught_up.is_ok();
        let old_green_read = net
            .api(D)?
            .incident(&self.green_incident)
            .await
            .is_ok_and(|i| i.summary.title.is_some());
        let fresh = net
            .api(A)?
            .open(&NewIncident {
                title: "Advisory: the campaign moved to a new domain".into(),
                description: "Indicators: secure-login-bank.example".into(),
                tlp: Label(proto::Tlp::Green),
                to: vec![],
            })
            .await?;
        self.intended.add(&fresh.id, &[B, C, D]);
        let fresh_read = self
            .readable_by(&[D], &fresh.incident.clone().unwrap_or_default())
            .await;
        let synced = self
            .net
            .api(D)?
            .status()
            .await
            .map(|s| s.synced_in)
            .unwrap_or(0);
        self.report.late_node_catch_up = format!(
            "gossip only carries what is published while a node is online; D got the {synced} envelopes it missed by anti-entropy sync"
        );
        let detail = format!(
            "D holds all {} envelopes A holds ({synced} fetched by sync, not gossip); the GREEN advisory sent before D joined is {} to D; the one sent after is {}",
            a_ids.len(),
            if old_green_read {
                "READABLE (wrong)"
            } else {
                "sealed"
            },
            if fresh_read.is_ok() {
                "readable"
            } else {
                "NOT readable"
            }
        );
        let r = if caught_up.is_ok() && !old_green_read && fresh_read.is_ok() {
            Ok(detail)
        } else {
            Err(detail)
        };
        self.record(
            "D catches up; GREEN from before it joined stays sealed",
            t,
            r,
        );
        Ok(())
    }

    /// D listens only through A's relay, yet B reaches it and both read what
    /// the other addressed to them.
    async fn relayed_only_team(&mut self) -> Result<()> {
        let t = Instant::now();
        let r = self.through_the_relay().await;
        self.report.relayed_only_delivered = r.is_ok();
        self.record("a relayed-only team takes part", t, r);
        Ok(())
    }

    async fn through_the_relay(&mut self) -> Outcome {
        let net = &self.net;
        let api = |team| net.api(team).map_err(|e| e.to_string());
        // D was refused by the relay while an applicant; once admitted, it
        // listens through the relay again (within the 5 s discovery tick).
        let circuit = Testnet::wait_for(STEP_TIMEOUT, || async {
            let s = net.api(D)?.status().await?;
            Ok(!s.listen_addrs.is_empty()
                && s.listen_addrs.iter().all(|a| a.contains("/p2p-circuit")))
        })
        .await;
        let d_status = api(D)?.status().await.map_err(|e| e.to_string())?;
        circuit.map_err(|e| {
            format!(
                "D has no relayed listen address ({:?}): {e}",
                d_status.listen_addrs
            )
        })?;
        // B dials D's relayed address: the only way in to D.
        api(B)?
            .peers(&PeerBlock {
                block: vec![],
                unblock_all: false,
                dial: d_status.listen_addrs.clone(),
            })
            .await
            .map_err(|e| e.to_string())?;
        let d_peer = &d_status.peer_id;
        Testnet::wait_for(STEP_TIMEOUT, || async {
            let peers = net.api(B)?.status().await?.peers;
            Ok(peers.iter().any(|p| &p.peer_id == d_peer && p.via_relay))
        })
        .await
        .map_err(|e| format!("B never connected to D through the relay: {e}"))?;
        let to_d = api(B)?
            .open(&NewIncident {
                title: "Your customer's host scans our network".into(),
                description: "192.0.2.44 -> 203.0.113.0/24, since 02:00 UTC".into(),
                tlp: Label(proto::Tlp::Amber),
                to: vec![D.into()],
            })
            .await
            .map_err(|e| e.to_string())?;
        let to_d_id = to_d.incident.clone().unwrap_or_default();
        self.intended.add(&to_d.id, &[D]);
        self.readable_by(&[D], &to_d_id).await?;
        let net = &self.net;
        let reply = net
            .api(D)
            .map_err(|e| e.to_string())?
            .comment(&to_d_id, "Blocked at our edge; customer notified.")
            .await
            .map_err(|e| e.to_string())?;
        self.intended.add(&reply.id, &[B]);
        let net = &self.net;
        Testnet::wait_for(STEP_TIMEOUT, || async {
            let events = net.api(B)?.incident(&to_d_id).await?.events;
            Ok(events.iter().any(|e| e.kind == EventKind::Comment))
        })
        .await?;
        Ok(format!(
            "D listens only on {}; B reached it through A's relay, sent it an AMBER incident and read D's reply",
            d_status.listen_addrs.first().cloned().unwrap_or_default()
        ))
    }

    /// Delivery over intended recipients, and reads by non-recipients.
    async fn figures(&mut self) -> Result<()> {
        let t = Instant::now();
        let mut views: HashMap<&str, Vec<EnvelopeView>> = HashMap::new();
        for name in TEAMS {
            views.insert(name, self.net.api(name)?.envelopes().await?);
        }
        let (mut due, mut got, mut leaks) = (0usize, 0usize, 0usize);
        for (id, to) in &self.intended.recipients {
            for name in TEAMS {
                let view = views[name].iter().find(|e| &e.id == id);
                let readable = view.is_some_and(|e| e.readable);
                let author = view.is_some_and(|e| e.author.name.as_deref() == Some(name));
                let labelled_for_few =
                    view.is_some_and(|e| !matches!(e.tlp.0, proto::Tlp::Clear | proto::Tlp::Green));
                if to.contains(name) {
                    due += 1;
                    got += usize::from(readable);
                } else if readable && !author && labelled_for_few {
                    leaks += 1;
                }
            }
        }
        self.report.envelopes_published = self.intended.published;
        self.report.delivered_ratio = if due == 0 {
            0.0
        } else {
            got as f64 / due as f64
        };
        self.report.non_recipient_reads = leaks;
        let detail = format!(
            "{got}/{due} deliveries to intended recipients, {leaks} reads by non-recipients"
        );
        let r = if got == due && leaks == 0 {
            Ok(detail)
        } else {
            Err(detail)
        };
        self.record("every recipient reads, nobody else", t, r);
        Ok(())
    }
}
