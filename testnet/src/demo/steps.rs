//! The demo's steps, one method each, in the order [`Demo::scenario`] runs
//! them. Each records what it checked; an error (the admin API
//! unreachable) ends the scenario.

use std::{
    collections::{HashMap, HashSet},
    time::Instant,
};

use anyhow::Result;
use csirtmesh::api::types::{
    EnvelopeView, EventKind, IncidentStep, Label, NewIncident, NewReport, PeerBlock, Status,
    StepAction,
};

use super::{A, B, C, D, Demo, Outcome, STEP_TIMEOUT, TEAMS};
use crate::harness::{Testnet, vouch};

impl Demo {
    /// Start A, B and C and let them find each other from one bootstrap address.
    pub(super) async fn start_three(&mut self) -> Result<()> {
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
    pub(super) async fn amber_incident(&mut self) -> Result<()> {
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
                indicators: [
                    "203.0.113.7",
                    "https://203.0.113.7/bank/login",
                    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                ]
                .iter()
                .map(|s| s.parse())
                .collect::<Result<_, _>>()?,
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
    pub(super) async fn comment_and_status(&mut self) -> Result<()> {
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
    pub(super) async fn non_recipient_cannot_read(&mut self) -> Result<()> {
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
    pub(super) async fn green_advisory(&mut self) -> Result<()> {
        let t = Instant::now();
        let green = self
            .net
            .api(A)?
            .open(&NewIncident {
                title: "Advisory: credential-phishing campaign against regional banks".into(),
                description: "Indicators: login-secure-bank.example, 198.51.100.23".into(),
                tlp: Label(proto::Tlp::Green),
                to: vec![],
                indicators: Vec::new(),
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
    pub(super) async fn last_resort_report(&mut self) -> Result<()> {
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
                indicators: Vec::new(),
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
    pub(super) async fn kill_and_restart(&mut self) -> Result<()> {
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
    pub(super) async fn stranger_refused(&mut self) -> Result<()> {
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
                    match (rep.disconnected, rep.banned) {
                        (true, true) => "disconnected and banned",
                        (true, false) => "disconnected but did NOT ban",
                        _ => "did NOT disconnect",
                    }
                );
                let d = format!(
                    "{d}; it sent the stranger {} sync requests",
                    rep.sync_requests
                );
                if rep.rejected >= 2
                    && rep.disconnected
                    && rep.banned
                    && !rep.stored
                    && rep.sync_requests == 0
                {
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

    /// A invites D by the team id D sent it; D starts behind A's relay and
    /// asks to join; A and B vouch; every node admits D.
    pub(super) async fn join_by_endorsement(&mut self) -> Result<()> {
        let t = Instant::now();
        self.net.invite(A, D).await?;
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
                        "A invited D; D's join request reached A; after A and B vouched, all 4 nodes count D as a member ({ms} ms from the first vouch)"
                    )
                })
            }
        };
        self.record("D joins by invitation and endorsement", t, r);
        Ok(())
    }

    /// D catches up on the history, but not on GREEN from before it joined.
    pub(super) async fn late_catch_up(&mut self) -> Result<()> {
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
        // D must hold the old advisory (an error is no proof of anything)
        // and be unable to read it.
        let old_green = net.api(D)?.incident(&self.green_incident).await;
        let old_green_sealed = matches!(&old_green, Ok(i) if i.summary.title.is_none());
        let fresh = net
            .api(A)?
            .open(&NewIncident {
                title: "Advisory: the campaign moved to a new domain".into(),
                description: "Indicators: secure-login-bank.example".into(),
                tlp: Label(proto::Tlp::Green),
                to: vec![],
                indicators: Vec::new(),
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
            match (&old_green, old_green_sealed) {
                (_, true) => "sealed".to_string(),
                (Ok(_), false) => "READABLE (wrong)".to_string(),
                (Err(e), _) => format!("not found at D ({e:#})"),
            },
            if fresh_read.is_ok() {
                "readable"
            } else {
                "NOT readable"
            }
        );
        let r = if caught_up.is_ok() && old_green_sealed && fresh_read.is_ok() {
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
    pub(super) async fn relayed_only_team(&mut self) -> Result<()> {
        let t = Instant::now();
        let r = self.through_the_relay().await;
        self.report.relayed_only_delivered = r.is_ok();
        self.record("a relayed-only team takes part", t, r);
        Ok(())
    }

    /// AutoNAT: B's peers dial it back; D's cannot (it listens only
    /// through the relay), and D's status says so.
    pub(super) async fn reachability(&mut self) -> Result<()> {
        let t = Instant::now();
        let net = &self.net;
        let r = Testnet::wait_for(STEP_TIMEOUT, || async {
            let d = net.api(D)?.status().await?.reachability;
            let b = net.api(B)?.status().await?.reachability;
            Ok(d == "private" && b == "public")
        })
        .await;
        let (d, b) = (
            net.api(D)?.status().await?.reachability,
            net.api(B)?.status().await?.reachability,
        );
        self.report.reachability_detected = r.is_ok();
        let outcome = r
            .map(|_| "AutoNAT: D (relay only) is private, B (direct) is public".to_owned())
            .map_err(|e| format!("D is {d}, B is {b}: {e}"));
        self.record("each node knows whether it is reachable", t, outcome);
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
                unblock: vec![],
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
                indicators: Vec::new(),
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
    pub(super) async fn figures(&mut self) -> Result<()> {
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
