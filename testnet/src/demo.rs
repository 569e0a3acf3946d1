//! The demo: a scripted scenario on a real local mesh of four teams.
//!
//! 1. A opens an AMBER incident to B; B reads it.
//! 2. B comments and sets it in-progress; A sees both.
//! 3. C, not a recipient, holds the ciphertext and cannot read it.
//! 4. A sends a GREEN advisory; every running member reads it.
//! 5. B is killed (SIGKILL) while A writes to it, restarted, still has its
//!    data, and catches up on what it missed.
//! 6. A stranger's node (not a member) gossips incidents and one envelope
//!    forged in a member's name: all rejected, none stored, peer dropped.
//! 7. D, not a founder, starts last and asks to join; A and B vouch; every
//!    node admits D with no further step; D catches up on the history by
//!    anti-entropy, cannot read the GREEN sent before it was admitted, and
//!    reads the GREEN sent after.
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
        EnvelopeView, IncidentStep, Label, NewIncident, NewReport, PeerBlock, Status, StepAction,
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
    /// Where the node logs were (removed at exit).
    pub wall_ms: u64,
}

/// Who must be able to read each incident envelope (besides its author).
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

/// Runs the demo and returns its report; every process is stopped on return.
pub async fn run(command: NodeCommand, json: bool) -> Result<Report> {
    let say = Say { json };
    let started = Instant::now();
    // B is an ISP covering 203.0.113.0/24; C is the CSIRT of last resort for BR.
    let opts: Vec<(&str, InitOptions)> = TEAMS
        .iter()
        .map(|n| {
            let mut o = InitOptions::default();
            if *n == "CSIRT-B" {
                o.constituency = vec!["203.0.113.0/24".parse().expect("a valid prefix")];
            }
            if *n == "CSIRT-C" {
                o.roles = vec![proto::Role::LastResortFor(vec!["BR".into()])];
            }
            if *n == "CSIRT-A" {
                // A is the forum's bootstrap point and relay.
                o.roles = vec![proto::Role::Relay];
            }
            (*n, o)
        })
        .collect();
    let mut net = Testnet::create_with(command, &opts, FOUNDERS, 2)?;
    say.line(&format!(
        "CSIRT Mesh demo: {} teams in {} (charter: {})",
        TEAMS.len(),
        net.root.display(),
        net.charter.display()
    ));
    let mut report = Report {
        teams: TEAMS.len(),
        ..Report::default()
    };
    let result = scenario(&mut net, &say, &mut report).await;
    net.stop_all().await;
    if let Err(e) = result {
        report.steps.push(Step {
            name: "scenario".into(),
            ok: false,
            detail: format!("{e:#}"),
            ms: 0,
        });
    }
    report.steps_failed = report
        .steps
        .iter()
        .filter(|s| !s.ok)
        .map(|s| s.name.clone())
        .collect();
    report.wall_ms = started.elapsed().as_millis() as u64;
    if report.steps_failed.is_empty() {
        say.line(&format!(
            "\nAll {} steps held in {:.1} s.",
            report.steps.len(),
            report.wall_ms as f64 / 1000.0
        ));
    } else {
        say.line(&format!(
            "\n{} of {} steps FAILED: {}. Node logs were in {}",
            report.steps_failed.len(),
            report.steps.len(),
            report.steps_failed.join(", "),
            net.root.display()
        ));
    }
    Ok(report)
}

fn record(
    say: &Say,
    report: &mut Report,
    name: &str,
    started: Instant,
    result: Result<String, String>,
) -> bool {
    let ms = started.elapsed().as_millis() as u64;
    let (ok, detail) = match result {
        Ok(d) => (true, d),
        Err(d) => (false, d),
    };
    say.line(&format!(
        "{} {name} ({ms} ms)\n    {detail}",
        if ok { "[ok]  " } else { "[FAIL]" }
    ));
    report.steps.push(Step {
        name: name.into(),
        ok,
        detail,
        ms,
    });
    ok
}

async fn scenario(net: &mut Testnet, say: &Say, report: &mut Report) -> Result<()> {
    let mut intended = Intended {
        recipients: HashMap::new(),
        published: 0,
    };
    let (a, b, c, d) = (TEAMS[0], TEAMS[1], TEAMS[2], TEAMS[3]);

    // Step 0: start A, B, C and let them find each other from one bootstrap address.
    let t = Instant::now();
    for name in [a, b, c] {
        net.start(name).await?;
    }
    let r = Testnet::wait_for(STEP_TIMEOUT, || async {
        for name in [a, b, c] {
            if net.api(name)?.status().await?.peers.len() < 2 {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await
    .map(|_| {
        "A, B and C are connected to each other (B and C were given only A's address)".to_string()
    });
    record(say, report, "start three nodes", t, r);

    // Step 1: A opens an AMBER incident to B.
    let t = Instant::now();
    let opened = net
        .api(a)?
        .open(&NewIncident {
            title: "Phishing kit on 203.0.113.7".into(),
            description: "Credential-harvesting page imitating a bank; please take it down.".into(),
            tlp: Label(proto::Tlp::Amber),
            to: vec![b.into()],
        })
        .await?;
    let incident = opened.incident.clone().unwrap_or_default();
    intended.add(&opened.id, &[b]);
    let r = Testnet::wait_for(STEP_TIMEOUT, || async {
        let i = net.api(b)?.incident(&incident).await?;
        Ok(i.summary.title.is_some())
    })
    .await
    .map(|d| {
        format!(
            "B received and decrypted incident {} in {} ms",
            &incident[..8],
            d.as_millis()
        )
    });
    record(say, report, "A opens an AMBER incident to B", t, r);

    // Step 2: B comments and sets it in-progress; A sees both.
    let t = Instant::now();
    let bc = net.api(b)?;
    let c1 = bc
        .comment(&incident, "Confirmed; contacting the hosting provider.")
        .await?;
    let s1 = bc
        .set_status(&incident, Status(proto::IncidentStatus::InProgress))
        .await?;
    intended.add(&c1.id, &[a]);
    intended.add(&s1.id, &[a]);
    let r = Testnet::wait_for(STEP_TIMEOUT, || async {
        let i = net.api(a)?.incident(&incident).await?;
        Ok(i.summary.status.0 == proto::IncidentStatus::InProgress
            && i.events.iter().any(|e| e.kind.as_str() == "comment"))
    })
    .await
    .map(|_| "A sees B's comment and the status in-progress".to_string());
    record(say, report, "B comments and sets in-progress", t, r);

    // Step 3: C holds the ciphertext but cannot read it.
    let t = Instant::now();
    let r = Testnet::wait_for(STEP_TIMEOUT, || async {
        let envs = net.api(c)?.envelopes().await?;
        let thread: Vec<&EnvelopeView> = envs
            .iter()
            .filter(|e| e.id == incident || e.thread.as_deref() == Some(incident.as_str()))
            .collect();
        if thread.len() < 3 {
            return Ok(false);
        }
        if thread.iter().any(|e| e.readable) {
            anyhow::bail!("C can read an envelope of the AMBER thread");
        }
        let i = net.api(c)?.incident(&incident).await?;
        Ok(i.summary.title.is_none() && i.description.is_none())
    })
    .await
    .map(|_| {
        "C stores all 3 envelopes of the thread (author, time, TLP, size visible) and reads none"
            .to_string()
    });
    record(
        say,
        report,
        "C holds the ciphertext but cannot read it",
        t,
        r,
    );

    // Step 4: A sends a GREEN advisory that every running member reads.
    let t = Instant::now();
    let green = net
        .api(a)?
        .open(&NewIncident {
            title: "Advisory: credential-phishing campaign against regional banks".into(),
            description: "Indicators: login-secure-bank.example, 198.51.100.23".into(),
            tlp: Label(proto::Tlp::Green),
            to: vec![],
        })
        .await?;
    let green_incident = green.incident.as_deref().unwrap_or_default();
    // D is not a member yet: GREEN goes to the members of the moment.
    intended.add(&green.id, &[b, c]);
    let r = Testnet::wait_for(STEP_TIMEOUT, || async {
        for name in [b, c] {
            if net
                .api(name)?
                .incident(green_incident)
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
    .map(|_| {
        "B and C read the advisory through A's GREEN sender key (one age stanza per message)"
            .to_string()
    });
    record(say, report, "A sends a GREEN advisory", t, r);

    // Step 4b: a report about a network no team covers goes to the team of
    // last resort, which hands it to the owner.
    let t = Instant::now();
    let routed = net
        .api(a)?
        .report(&NewReport {
            about: "198.51.100.7".into(),
            country: Some("BR".into()),
            title: "Open resolver used in a DDoS".into(),
            description: "198.51.100.7 answers ANY queries for anyone".into(),
            tlp: Some(Label(proto::Tlp::Amber)),
        })
        .await?;
    let report_id = routed.published.id.clone();
    intended.add(&report_id, &[c]);
    let to_c = routed
        .route
        .teams
        .iter()
        .any(|t| t.name.as_deref() == Some(c));
    let r = async {
        if !to_c {
            return Err(format!("routed to the wrong team: {:?} ({})", routed.route.teams, routed.route.why));
        }
        Testnet::wait_for(STEP_TIMEOUT, || async { Ok(net.api(c)?.incident(&report_id).await?.summary.title.is_some()) })
            .await?;
        let step = |action: StepAction, to: Vec<String>, note: &str| IncidentStep {
            action,
            to,
            note: note.into(),
        };
        let api_c = net.api(c).map_err(|e| e.to_string())?;
        api_c.step(&report_id, &step(StepAction::Ack, vec![], "")).await.map_err(|e| e.to_string())?;
        let h = api_c
            .step(&report_id, &step(StepAction::Handoff, vec![b.into()], "this is in your customer's network"))
            .await
            .map_err(|e| e.to_string())?;
        intended.add(&h.id, &[b, a]);
        Testnet::wait_for(STEP_TIMEOUT, || async {
            Ok(net.api(b)?.incident(&report_id).await?.summary.pending_handoff.iter().any(|t| t.name.as_deref() == Some(b)))
        })
        .await?;
        net.api(b)
            .map_err(|e| e.to_string())?
            .step(&report_id, &step(StepAction::Accept, vec![], ""))
            .await
            .map_err(|e| e.to_string())?;
        Testnet::wait_for(STEP_TIMEOUT, || async {
            let v = net.api(a)?.incident(&report_id).await?;
            let kinds: Vec<&str> = v.events.iter().map(|e| e.kind.as_str()).collect();
            Ok(kinds == ["ack", "handoff", "accept"] && v.summary.handled_by.iter().any(|t| t.name.as_deref() == Some(b)))
        })
        .await?;
        Ok(format!(
            "A's report about 198.51.100.7 went to C ({}); C acknowledged and handed it to B; B accepted; A sees that path",
            routed.route.why
        ))
    }
    .await;
    report.routed_via_last_resort = r.is_ok();
    record(
        say,
        report,
        "a report no team covers goes through last resort",
        t,
        r,
    );

    // Step 5: kill B with SIGKILL, write to it while it is down, restart it.
    let t = Instant::now();
    net.kill(b)?;
    let missed = net
        .api(a)?
        .comment(
            &incident,
            "Provider says the page is down; can you confirm?",
        )
        .await?;
    intended.add(&missed.id, &[b]);
    net.start(b).await?;
    let r = Testnet::wait_for(STEP_TIMEOUT, || async {
        let i = net.api(b)?.incident(&incident).await?;
        let kept =
            i.summary.title.is_some() && i.summary.status.0 == proto::IncidentStatus::InProgress;
        let caught_up = i
            .events
            .iter()
            .any(|e| e.id == missed.id && e.kind.as_str() == "comment");
        if !kept {
            anyhow::bail!("B lost its copy of the incident");
        }
        Ok(caught_up)
    })
    .await;
    report.survived_restart = r.is_ok()
        || net
            .api(b)?
            .incident(&incident)
            .await
            .is_ok_and(|i| i.summary.title.is_some());
    let r = r.map(|_| "B kept its incident and status across SIGKILL, and fetched A's comment sent while it was down".to_string());
    record(say, report, "B is killed and restarted", t, r);

    // Step 6: a stranger's node gossips what the mesh must refuse.
    let t = Instant::now();
    let (charter, _) = csirtmesh::load_charter(&net.charter)?;
    let a_id: proto::TeamId = net.api(a)?.status().await?.team.id.parse()?;
    let bootstrap = net.bootstrap().unwrap_or_default().to_owned();
    let attack = crate::rogue::attack(&bootstrap, charter.mesh_id()?, a_id, &net.api(a)?).await;
    let r = match attack {
        Ok(rep) => {
            report.rejected_non_member_envelopes = rep.rejected;
            report.rogue_disconnected = rep.disconnected;
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
    record(say, report, "a stranger's node is refused", t, r);

    // Step 7: D starts, asks to join, A and B vouch; everyone admits D.
    let t = Instant::now();
    // D is behind a NAT in this story: it listens only through A's relay.
    let circuit = format!("{}/p2p-circuit", net.bootstrap().unwrap_or_default());
    net.start_listening(d, &[circuit]).await?;
    let pending = Testnet::wait_for(STEP_TIMEOUT, || async {
        let m = net.api(a)?.members().await?;
        Ok(m.applicants
            .iter()
            .any(|p| p.team.name.as_deref() == Some(d)))
    })
    .await;
    let vouched_at = Instant::now();
    let r = match pending {
        Err(e) => Err(format!("A never saw D's join request: {e}")),
        Ok(_) => {
            net.api(a)?.membership(&vouch(d)).await?;
            net.api(b)?.membership(&vouch(d)).await?;
            Testnet::wait_for(STEP_TIMEOUT, || async {
                for name in TEAMS {
                    let m = net.api(name)?.members().await?;
                    if !m.members.iter().any(|p| p.team.name.as_deref() == Some(d)) {
                        return Ok(false);
                    }
                }
                Ok(true)
            })
            .await
            .map(|_| {
                report.admitted_by_endorsement += 1;
                report.admission_ms = vouched_at.elapsed().as_millis() as u64;
                format!(
                    "D's join request reached A; after A and B vouched, all 4 nodes count D as a member ({} ms from the first vouch)",
                    report.admission_ms
                )
            })
        }
    };
    record(say, report, "D joins by endorsement", t, r);

    // Step 8: D catches up on the history, but not on GREEN from before it joined.
    let t = Instant::now();
    let a_ids: HashSet<String> = net
        .api(a)?
        .envelopes()
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect();
    let r = Testnet::wait_for(STEP_TIMEOUT, || async {
        let d_ids: HashSet<String> = net
            .api(d)?
            .envelopes()
            .await?
            .into_iter()
            .map(|e| e.id)
            .collect();
        Ok(a_ids.is_subset(&d_ids))
    })
    .await;
    report.late_node_caught_up = r.is_ok();
    let old_green_read = net
        .api(d)?
        .incident(green_incident)
        .await
        .is_ok_and(|i| i.summary.title.is_some());
    let fresh = net
        .api(a)?
        .open(&NewIncident {
            title: "Advisory: the campaign moved to a new domain".into(),
            description: "Indicators: secure-login-bank.example".into(),
            tlp: Label(proto::Tlp::Green),
            to: vec![],
        })
        .await?;
    intended.add(&fresh.id, &[b, c, d]);
    let fresh_incident = fresh.incident.clone().unwrap_or_default();
    let fresh_read = Testnet::wait_for(STEP_TIMEOUT, || async {
        Ok(net
            .api(d)?
            .incident(&fresh_incident)
            .await?
            .summary
            .title
            .is_some())
    })
    .await;
    let synced = net.api(d)?.status().await.map(|s| s.synced_in).unwrap_or(0);
    report.late_node_catch_up = format!(
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
    let r = if r.is_ok() && !old_green_read && fresh_read.is_ok() {
        Ok(detail)
    } else {
        Err(detail)
    };
    record(
        say,
        report,
        "D catches up; GREEN from before it joined stays sealed",
        t,
        r,
    );

    // Step 9: D listens only through A's relay, yet B reaches it and both
    // read what the other addressed to them.
    let t = Instant::now();
    let r = async {
        let d_status = net.api(d).map_err(|e| e.to_string())?.status().await.map_err(|e| e.to_string())?;
        let d_peer = d_status.peer_id.clone();
        // D was refused by the relay while an applicant; once admitted, it
        // listens through the relay again (within the 5 s discovery tick).
        let circuit = Testnet::wait_for(STEP_TIMEOUT, || async {
            let s = net.api(d)?.status().await?;
            Ok(!s.listen_addrs.is_empty() && s.listen_addrs.iter().all(|a| a.contains("/p2p-circuit")))
        })
        .await;
        let d_status = net.api(d).map_err(|e| e.to_string())?.status().await.map_err(|e| e.to_string())?;
        circuit.map_err(|e| format!("D has no relayed listen address ({:?}): {e}", d_status.listen_addrs))?;
        // B dials D's relayed address: the only way in to D.
        net.api(b)
            .map_err(|e| e.to_string())?
            .peers(&PeerBlock {
                block: vec![],
                unblock_all: false,
                dial: d_status.listen_addrs.clone(),
            })
            .await
            .map_err(|e| e.to_string())?;
        Testnet::wait_for(STEP_TIMEOUT, || async {
            Ok(net.api(b)?.status().await?.peers.iter().any(|p| p.peer_id == d_peer && p.via_relay))
        })
        .await
        .map_err(|e| format!("B never connected to D through the relay: {e}"))?;
        let to_d = net
            .api(b)
            .map_err(|e| e.to_string())?
            .open(&NewIncident {
                title: "Your customer's host scans our network".into(),
                description: "192.0.2.44 -> 203.0.113.0/24, since 02:00 UTC".into(),
                tlp: Label(proto::Tlp::Amber),
                to: vec![d.into()],
            })
            .await
            .map_err(|e| e.to_string())?;
        let to_d_id = to_d.incident.clone().unwrap_or_default();
        intended.add(&to_d.id, &[d]);
        Testnet::wait_for(STEP_TIMEOUT, || async { Ok(net.api(d)?.incident(&to_d_id).await?.summary.title.is_some()) })
            .await?;
        let reply = net
            .api(d)
            .map_err(|e| e.to_string())?
            .comment(&to_d_id, "Blocked at our edge; customer notified.")
            .await
            .map_err(|e| e.to_string())?;
        intended.add(&reply.id, &[b]);
        Testnet::wait_for(STEP_TIMEOUT, || async {
            Ok(net.api(b)?.incident(&to_d_id).await?.events.iter().any(|e| e.kind.as_str() == "comment"))
        })
        .await?;
        Ok(format!(
            "D listens only on {}; B reached it through A's relay, sent it an AMBER incident and read D's reply",
            d_status.listen_addrs.first().cloned().unwrap_or_default()
        ))
    }
    .await;
    report.relayed_only_delivered = r.is_ok();
    record(say, report, "a relayed-only team takes part", t, r);

    // Figures: delivery over intended recipients, and reads by non-recipients.
    let mut views: HashMap<&str, Vec<EnvelopeView>> = HashMap::new();
    for name in TEAMS {
        views.insert(name, net.api(name)?.envelopes().await?);
    }
    let (mut due, mut got, mut leaks) = (0usize, 0usize, 0usize);
    for (id, to) in &intended.recipients {
        for name in TEAMS {
            let view = views[name].iter().find(|e| &e.id == id);
            let readable = view.is_some_and(|e| e.readable);
            let author = view.is_some_and(|e| e.author.name.as_deref() == Some(name));
            if to.contains(name) {
                due += 1;
                got += usize::from(readable);
            } else if readable
                && !author
                && view.is_some_and(|e| !matches!(e.tlp.0, proto::Tlp::Clear | proto::Tlp::Green))
            {
                leaks += 1;
            }
        }
    }
    report.envelopes_published = intended.published;
    report.delivered_ratio = if due == 0 {
        0.0
    } else {
        got as f64 / due as f64
    };
    report.non_recipient_reads = leaks;
    let t = Instant::now();
    let r = if got == due && leaks == 0 {
        Ok(format!(
            "{got}/{due} deliveries to intended recipients, {leaks} reads by non-recipients"
        ))
    } else {
        Err(format!(
            "{got}/{due} deliveries to intended recipients, {leaks} reads by non-recipients"
        ))
    };
    record(say, report, "every recipient reads, nobody else", t, r);
    Ok(())
}
