//! The insider side of a drill: after the burst, one member turns hostile.
//! Its node is stopped and replaced by a hostile one in process (the
//! project's own `net` crate, with the member's node key, so the others
//! take it for the member's node), which publishes what a member with a
//! valid key could craft; a second member's signing key is stolen and used
//! too. Honest nodes (every other running member) are the judges.
//!
//! The attacks, in order (each measured before the next):
//! 1. joining a RED conversation it was not named in, by replying in it and
//!    by handing it to itself; then the participants reply: any of their
//!    replies the insider's age key opens is a label breach;
//! 2. aiming at a victim what only the victim can check (a body whose
//!    inner label differs from the outer): no honest node may ban another
//!    honest node for relaying it;
//! 3. retracting another team's incident with its own tombstone, before
//!    the author does: the incident must stay until the author retracts it,
//!    and go everywhere when the author does;
//! 4. a backdated suspension (stamped before its own latest envelope): a
//!    fork, and the insider removed;
//! 5. with the stolen key, a rotation to the thief's key backdated below
//!    the victim's latest envelope: a fork, the thief's key nobody;
//! 6. (played between 3 and 4, while the insider's node still hears the
//!    mesh) a copy of the victim's data directory, after which the victim
//!    replaces its age key: nothing sealed after that opens with the copy
//!    (`stolen_age`);
//! 7. (before 4 too) a profile claiming half of the victim's prefix: it
//!    wins the route, but the victim and a reporter are shown the overlap
//!    (`capture`).
//!
//! Then every judge must hold the same members.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use csirtmesh::api::{
    client::ApiClient,
    types::{Label, NewIncident},
};
use proto::{
    Body, Envelope, EnvelopeContent, EnvelopeId, IncidentPayload, InnerContent, Kind,
    MembershipAct, MeshId, Payload, TeamId, Tlp,
};
use seal::TeamKeys;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::harness::Testnet;

/// How long each step may take to reach every judge.
pub(super) const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// What the insider tried and what it got. Every count but the last two
/// must be 0; `forks_detected` must equal `forks_made`.
#[derive(Debug, Default, Serialize)]
pub struct InsiderReport {
    /// Envelopes of a RED conversation the insider was not named in, written
    /// by its participants after the insider's attempts, that the insider's
    /// age key opens.
    pub label_breaches: usize,
    /// Of the participants' replies, how many the insider's node received
    /// (the breach count means something only if they arrived).
    pub conversation_replies_seen: usize,
    /// Whether both participants held the insider's reply and hand-off
    /// before they replied (else the attack did not land).
    pub attack_delivered: bool,
    /// Mislabelled envelopes the victim holds (kept unread), of 3: it got
    /// them through honest relays, since the insider's node does not talk
    /// to it.
    pub victim_received: usize,
    /// Judges whose refusals rose when the fake tombstone went out (it
    /// reached them; refused, it is relayed by nobody, so only the judges
    /// the insider's node talks to get it).
    pub fake_tombstone_refused: usize,
    /// Judges on which a backdated envelope counted: the insider still a
    /// member after its backdated act, or the thief's key a member.
    pub backdated_accepted: usize,
    /// Judges whose member set differs from the first judge's, at the end.
    pub divergent_member_sets: usize,
    /// Bans by a judge of another judge's node (an honest relay penalised).
    pub honest_relays_penalised: usize,
    /// Judges where a retraction went wrong: another team's tombstone took
    /// the incident away early, or the author's left it in place.
    pub retractions_shadowed: usize,
    /// Forks made (the insider's backdated act, the stolen key's rotation).
    pub forks_made: usize,
    /// Forks every judge lists in its status.
    pub forks_detected: usize,
    /// Judges (honest running members' nodes).
    pub judges: usize,
    /// Of an AMBER incident to the victim and a GREEN one sealed before the
    /// theft of its data directory, how many the stolen copy opens (2).
    pub stolen_age_key_reads_before: usize,
    /// Of the same two sealed after the victim replaced its age key, how
    /// many the stolen copy opens (0).
    pub stolen_age_key_reads_after: usize,
    /// Of those two, how many the victim reads (2).
    pub victim_reads_after_replacement: usize,
    /// Whether the insider's claim on half the victim's prefix reached a
    /// reporter's directory (it wins the route: claims are self-declared).
    pub prefix_captured: bool,
    /// Of the reporter and the victim, how many were not shown the overlap
    /// (0).
    pub captures_unseen: usize,
}

impl InsiderReport {
    /// Whether the mesh held against the insider.
    pub fn held(&self) -> bool {
        self.label_breaches == 0
            && self.conversation_replies_seen > 0
            && self.attack_delivered
            && self.victim_received == 3
            && self.fake_tombstone_refused > 0
            && self.backdated_accepted == 0
            && self.divergent_member_sets == 0
            && self.honest_relays_penalised == 0
            && self.retractions_shadowed == 0
            && self.forks_detected == self.forks_made
            && self.stolen_age_key_reads_before == 2
            && self.stolen_age_key_reads_after == 0
            && self.victim_reads_after_replacement == 2
            && self.prefix_captured
            && self.captures_unseen == 0
    }
}

/// A member of the drill, as the insider sees it.
struct Team {
    name: String,
    id: TeamId,
    peer: net::PeerId,
    recipient: seal::AgeRecipient,
}

/// The insider's hostile node, running.
struct HostileNode {
    client: net::Client,
    /// Every gossip message it received.
    heard: Arc<Mutex<Vec<Vec<u8>>>>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    keys: TeamKeys,
    mesh: MeshId,
    /// The insider's next place in its chain, and its latest time.
    seq: u64,
    latest: u64,
}

/// Runs the insider's attacks against a running, converged drill mesh.
/// `names` are the drill's teams; the last turns hostile, the one before
/// has its signing key stolen, and the second and third hold a RED
/// conversation.
pub async fn run(net: &mut Testnet, names: &[String], say: &dyn Fn(&str)) -> Result<InsiderReport> {
    let n = names.len();
    let (insider, robbed) = (&names[n - 1], &names[n - 2]);
    let (a, b, victim) = (&names[1], &names[2], &names[3]);
    let mut teams = HashMap::new();
    for name in names {
        let status = net.api(name)?.status().await?;
        let (_, profile) = net.data_dir(name)?.profile()?;
        teams.insert(
            name.clone(),
            Team {
                name: name.clone(),
                id: status.team.id.parse()?,
                peer: status.peer_id.parse()?,
                recipient: seal::parse_recipient(&profile.recipient)?,
            },
        );
    }
    let judges: Vec<String> = names
        .iter()
        .filter(|x| *x != insider && *x != robbed)
        .cloned()
        .collect();
    let mut report = InsiderReport {
        judges: judges.len(),
        ..InsiderReport::default()
    };
    let mesh: MeshId = net.api(a)?.status().await?.mesh_id.parse()?;
    let (seq, latest) = chain_head(&net.api(a)?, &teams[insider].id).await?;
    let latest = latest.max(csirtmesh::now_ms());
    let keys = net.data_dir(insider)?.team_keys()?;
    let node_key = net.data_dir(insider)?.node_key()?;
    net.stop(insider).await?;
    let others: Vec<net::PeerId> = teams
        .values()
        .filter(|t| t.name != *insider)
        .map(|t| t.peer)
        .collect();
    let bootstrap = net.bootstrap().context("no bootstrap address")?.to_owned();
    // It does not talk to the victim: what it aims at the victim must come
    // through honest relays, which must not be blamed for it.
    let victim_peer = teams[victim].peer;
    let others: Vec<net::PeerId> = others.into_iter().filter(|p| *p != victim_peer).collect();
    let mut hostile = HostileNode::start(
        node_key,
        &bootstrap,
        others,
        victim_peer,
        keys,
        mesh,
        seq,
        latest,
    )
    .await?;
    say(&format!(
        "{insider} turns hostile: its node is replaced by one that crafts what a member's key can sign"
    ));
    let result = attack(
        net,
        &teams,
        &judges,
        [a, b, victim, insider, robbed],
        &mut hostile,
        &mut report,
        say,
    )
    .await;
    hostile.stop().await;
    result?;
    Ok(report)
}

/// The attacks, in order; `who` is (a, b, victim, insider, robbed).
async fn attack(
    net: &Testnet,
    teams: &HashMap<String, Team>,
    judges: &[String],
    who: [&String; 5],
    hostile: &mut HostileNode,
    report: &mut InsiderReport,
    say: &dyn Fn(&str),
) -> Result<()> {
    let [a, b, victim, insider, robbed] = who;
    let me = &teams[insider];
    // 1. A RED conversation between A and B.
    let red = NewIncident {
        title: "insider drill: red".into(),
        description: "for A and B only".into(),
        tlp: Label(Tlp::Red),
        to: vec![b.clone()],
        indicators: Vec::new(),
    };
    let root: EnvelopeId = net.api(a)?.open(&red).await?.id.parse()?;
    wait_all_hold(net, &[a.clone(), b.clone()], &root.to_string()).await?;
    let participants = [&teams[a], &teams[b], me];
    let widen = |payload| InnerContent {
        author: me.id,
        mesh: hostile.mesh,
        tlp: Tlp::Red,
        recipients: participants.iter().map(|t| t.id).collect(),
        payload: Payload::Incident(payload),
    };
    let recipients: Vec<_> = participants.iter().map(|t| t.recipient.clone()).collect();
    let reply = widen(IncidentPayload::Comment {
        text: "count me in".into(),
    });
    // It cannot read the root, so the copy it hands on is its own text.
    let handoff = widen(IncidentPayload::Handoff {
        to: vec![me.id],
        original: seal::sign_inner(
            &hostile.keys,
            &widen(IncidentPayload::Open {
                title: "insider drill: red".into(),
                description: "handed to myself".into(),
                indicators: Vec::new(),
                source: None,
            }),
        )?,
        note: "mine now".into(),
    });
    let mut crafted = Vec::new();
    for inner in [reply, handoff] {
        let body = seal::seal_to_teams(&hostile.keys, &inner, &recipients)?;
        let id = hostile
            .publish(Kind::Incident, Tlp::Red, Some(root), body)
            .await?;
        crafted.push(id.to_string());
    }
    let landed = Testnet::wait_for(STEP_TIMEOUT, || async {
        for who in [a, b] {
            for id in &crafted {
                if !holds(net, who, id).await? {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    })
    .await;
    report.attack_delivered = landed.is_ok();
    let mut replies = BTreeSet::new();
    for who in [a, b] {
        let p = net
            .api(who)?
            .comment(&root.to_string(), "between us")
            .await?;
        replies.insert(p.id);
    }
    let seen = Testnet::wait_for(STEP_TIMEOUT, || async {
        Ok(hostile.heard_ids().is_superset(&replies))
    })
    .await;
    if let Err(e) = seen {
        say(&format!(
            "the insider's node did not hear the participants' replies: {e}"
        ));
    }
    for env in hostile.heard() {
        if env.content.thread != Some(root) || env.content.author == me.id {
            continue;
        }
        report.conversation_replies_seen += usize::from(replies.contains(&env.id.to_string()));
        let Ok(verified) = seal::verify_envelope(env) else {
            continue;
        };
        if replies.contains(&verified.envelope().id.to_string())
            && seal::open(&verified, hostile.keys.age_identity()).is_ok()
        {
            report.label_breaches += 1;
        }
    }
    say(&format!(
        "1. replied and handed off in a RED thread it was not named in: {} of the participants' {} later replies open with its key",
        report.label_breaches, report.conversation_replies_seen
    ));

    // 2. What only the victim can check: a body whose inner label is GREEN
    // under an outer AMBER.
    let mut aimed = Vec::new();
    for i in 0..3 {
        let inner = InnerContent {
            author: me.id,
            mesh: hostile.mesh,
            tlp: Tlp::Green,
            recipients: vec![teams[victim].id],
            payload: Payload::Incident(IncidentPayload::Open {
                title: format!("mislabelled {i}"),
                description: "only the victim sees the fault".into(),
                indicators: Vec::new(),
                source: None,
            }),
        };
        let body = seal::seal_to_teams(&hostile.keys, &inner, &[teams[victim].recipient.clone()])?;
        let id = hostile
            .publish(Kind::Incident, Tlp::Amber, None, body)
            .await?;
        aimed.push(id.to_string());
    }
    let _ = Testnet::wait_for(STEP_TIMEOUT, || async {
        let held = net.api(victim)?.envelopes().await?;
        Ok(aimed.iter().all(|id| held.iter().any(|e| e.id == *id)))
    })
    .await;
    let held = net.api(victim)?.envelopes().await?;
    report.victim_received = aimed
        .iter()
        .filter(|id| held.iter().any(|e| e.id == **id))
        .count();

    // 3. Another team's tombstone before the author's.
    let clear = NewIncident {
        title: "insider drill: to be retracted".into(),
        description: "by its author only".into(),
        tlp: Label(Tlp::Clear),
        to: vec![],
        indicators: Vec::new(),
    };
    let target = net.api(a)?.open(&clear).await?.id;
    wait_all_hold(net, judges, &target).await?;
    let fake = proto::Retraction {
        target: target.parse()?,
        reason: "not yours to keep".into(),
        target_seq: 1,
    };
    let mut refused_before = HashMap::new();
    for j in judges {
        refused_before.insert(j.clone(), net.api(j)?.status().await?.rejected);
    }
    hostile
        .publish(
            Kind::Retraction,
            Tlp::Clear,
            None,
            Body::Clear(fake.to_bytes()?),
        )
        .await?;
    // Refused, it is relayed by nobody: judges the insider's node does
    // not reach never see it, so this waits a few seconds, not a step.
    let _ = Testnet::wait_for(Duration::from_secs(5), || async {
        for j in judges {
            if net.api(j)?.status().await?.rejected <= refused_before[j] {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await;
    for j in judges {
        let now = net.api(j)?.status().await?.rejected;
        report.fake_tombstone_refused += usize::from(now > refused_before[j]);
    }
    for j in judges {
        if !holds(net, j, &target).await? {
            report.retractions_shadowed += 1;
        }
    }
    net.api(a)?
        .retract(&target, "withdrawn by its author")
        .await?;
    let gone = Testnet::wait_for(STEP_TIMEOUT, || async {
        for j in judges {
            if holds(net, j, &target).await? {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await;
    if gone.is_err() {
        for j in judges {
            report.retractions_shadowed += usize::from(holds(net, j, &target).await?);
        }
    }
    say(&format!(
        "2-3. aimed mislabelled envelopes at {victim}; retracted another team's incident: {} judges went wrong",
        report.retractions_shadowed
    ));

    // 6. The victim's data directory copied, then its age key replaced:
    // played now, while the insider's node still hears the mesh.
    let stolen = super::stolen_age::run(net, a, victim, judges, &|| hostile.heard()).await?;
    report.stolen_age_key_reads_before = stolen.before;
    report.stolen_age_key_reads_after = stolen.after;
    report.victim_reads_after_replacement = stolen.member_reads_after;
    say(&format!(
        "6. copied {victim}'s data directory; {victim} replaced its age key: the copy opens {} of 2 sealed before, {} of 2 sealed after; {victim} reads {} of 2",
        stolen.before, stolen.after, stolen.member_reads_after
    ));

    // 7. A claim on half the victim's prefix.
    let (_, mut profile) = net.data_dir(insider)?.profile()?;
    profile.constituency = vec![super::capture::CLAIMED_PREFIX.parse()?];
    profile.updated_at = csirtmesh::now_ms().max(hostile.latest);
    let signed = seal::sign_profile(&hostile.keys, &profile)?;
    hostile
        .publish(
            Kind::Profile,
            Tlp::Clear,
            None,
            Body::Clear(signed.to_bytes()?),
        )
        .await?;
    let seen = super::capture::seen(
        net,
        a,
        victim,
        &me.id.to_string(),
        &teams[victim].id.to_string(),
    )
    .await?;
    report.prefix_captured = seen.captured;
    report.captures_unseen =
        usize::from(!seen.shown_to_reporter) + usize::from(!seen.shown_to_victim);
    say(&format!(
        "7. claimed half of {victim}'s prefix: it wins the route ({}), and {} of the reporter and {victim} were not shown the overlap",
        seen.captured, report.captures_unseen
    ));

    // 4. A backdated suspension by the insider, 5. a backdated rotation with
    // the stolen key: both forks.
    let suspend = MembershipAct::Suspend {
        target: teams[a].id,
        reason: "backdated".into(),
        after_seq: 0,
    };
    let backdated = hostile.latest.saturating_sub(60_000);
    hostile
        .publish_at(
            backdated,
            Kind::Membership,
            Body::Clear(suspend.to_bytes()?),
        )
        .await?;
    let stolen = net.data_dir(robbed)?.team_keys()?;
    let thief = TeamKeys::generate();
    // Stamped just below the victim's latest envelope (as if before a
    // revocation it had made): a later place stamped earlier.
    let (seq, latest) = chain_head(&net.api(a)?, &teams[robbed].id).await?;
    if latest == 0 {
        bail!("{robbed} has published nothing to backdate below");
    }
    let msg = proto::membership::rotation_message(&hostile.mesh, &teams[robbed].id);
    let rotation = MembershipAct::RotateKey {
        new: thief.team_id(),
        proof: thief.sign(proto::context::KEY_ROTATION, &msg),
    };
    let content = EnvelopeContent {
        mesh: hostile.mesh,
        kind: Kind::Membership,
        author: stolen.team_id(),
        seq,
        created_at: latest - 1,
        tlp: Tlp::Clear,
        thread: None,
        parents: vec![],
        body: Body::Clear(rotation.to_bytes()?),
    };
    let env = seal::sign_envelope(&stolen, &content)?;
    hostile.send(env.envelope().bytes.clone()).await?;
    report.forks_made = 2;
    let forked = [me.id.to_string(), teams[robbed].id.to_string()];
    let _ = Testnet::wait_for(STEP_TIMEOUT, || async {
        for j in judges {
            let s = net.api(j)?.status().await?;
            if !forked.iter().all(|f| s.forks.iter().any(|k| k.key == *f)) {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await;
    let mut listed = [0usize; 2];
    for j in judges {
        let s = net.api(j)?.status().await?;
        for (i, f) in forked.iter().enumerate() {
            listed[i] += usize::from(s.forks.iter().any(|k| k.key == *f));
        }
        let members: BTreeSet<String> = member_ids(&net.api(j)?).await?;
        if members.contains(&me.id.to_string()) || members.contains(&thief.team_id().to_string()) {
            report.backdated_accepted += 1;
        }
        for blocked in &s.blocked {
            let honest = judges
                .iter()
                .any(|o| teams[o].peer.to_string() == blocked.peer_id);
            report.honest_relays_penalised += usize::from(honest);
        }
    }
    report.forks_detected = listed.iter().filter(|n| **n == judges.len()).count();
    say(&format!(
        "4-5. a backdated suspension and, with {robbed}'s stolen key, a backdated rotation: {} of {} forks listed by every judge; {} judges took a backdated act",
        report.forks_detected, report.forks_made, report.backdated_accepted
    ));

    // The same members everywhere.
    let mut sets = Vec::new();
    for j in judges {
        sets.push(member_ids(&net.api(j)?).await?);
    }
    report.divergent_member_sets = sets.iter().filter(|s| **s != sets[0]).count();
    Ok(())
}

/// The next place in `team`'s chain and its latest time, as `api`'s node
/// holds it.
async fn chain_head(api: &ApiClient, team: &TeamId) -> Result<(u64, u64)> {
    let id = team.to_string();
    let mine: Vec<_> = api
        .envelopes()
        .await?
        .into_iter()
        .filter(|e| e.author.id == id)
        .collect();
    let seq = mine.iter().map(|e| e.seq).max().unwrap_or(0) + 1;
    let latest = mine.iter().map(|e| e.created_at).max().unwrap_or(0);
    Ok((seq, latest))
}

async fn member_ids(api: &ApiClient) -> Result<BTreeSet<String>> {
    Ok(api
        .members()
        .await?
        .members
        .into_iter()
        .map(|m| m.team.id)
        .collect())
}

async fn holds(net: &Testnet, name: &str, id: &str) -> Result<bool> {
    Ok(net.api(name)?.envelopes().await?.iter().any(|e| e.id == id))
}

pub(super) async fn wait_all_hold(net: &Testnet, names: &[String], id: &str) -> Result<()> {
    let held = Testnet::wait_for(STEP_TIMEOUT, || async {
        for n in names {
            if !holds(net, n, id).await? {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await;
    if let Err(e) = held {
        bail!("envelope {id} did not reach every judge: {e}");
    }
    Ok(())
}

impl HostileNode {
    #[allow(clippy::too_many_arguments)]
    async fn start(
        key: net::NodeKey,
        bootstrap: &str,
        others: Vec<net::PeerId>,
        shunned: net::PeerId,
        keys: TeamKeys,
        mesh: MeshId,
        seq: u64,
        latest: u64,
    ) -> Result<Self> {
        let config = crate::rogue::peer_config(bootstrap, mesh)?;
        let (client, mut events, event_loop) = net::new(key, config)?;
        client.set_admitted(others, vec![])?;
        client.block(vec![shunned])?;
        let shutdown = CancellationToken::new();
        let loop_task = tokio::spawn(event_loop.run(shutdown.clone()));
        let heard = Arc::new(Mutex::new(Vec::new()));
        let (subscribed, mut ready) = tokio::sync::watch::channel(false);
        let task = {
            let heard = heard.clone();
            tokio::spawn(async move {
                while let Some(e) = events.recv().await {
                    match e {
                        net::Event::Gossip { data, .. } => {
                            if let Ok(mut h) = heard.lock() {
                                h.push(data);
                            }
                        }
                        net::Event::Subscribed { .. } => {
                            let _ = subscribed.send(true);
                        }
                        _ => {}
                    }
                }
                let _ = loop_task.await;
            })
        };
        let joined = tokio::time::timeout(STEP_TIMEOUT, ready.wait_for(|s| *s)).await;
        if !matches!(joined, Ok(Ok(_))) {
            shutdown.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
            bail!("the insider's node never joined the gossip mesh");
        }
        // Time for the mesh to graft it.
        tokio::time::sleep(Duration::from_secs(2)).await;
        Ok(HostileNode {
            client,
            heard,
            shutdown,
            task,
            keys,
            mesh,
            seq,
            latest,
        })
    }

    /// Signs and gossips the insider's next envelope, stamped now.
    async fn publish(
        &mut self,
        kind: Kind,
        tlp: Tlp,
        thread: Option<EnvelopeId>,
        body: Body,
    ) -> Result<EnvelopeId> {
        let now = csirtmesh::now_ms().max(self.latest);
        self.sign_and_send(now, kind, tlp, thread, body).await
    }

    /// Signs and gossips the insider's next envelope, stamped `at`.
    async fn publish_at(&mut self, at: u64, kind: Kind, body: Body) -> Result<EnvelopeId> {
        self.sign_and_send(at, kind, Tlp::Clear, None, body).await
    }

    async fn sign_and_send(
        &mut self,
        at: u64,
        kind: Kind,
        tlp: Tlp,
        thread: Option<EnvelopeId>,
        body: Body,
    ) -> Result<EnvelopeId> {
        let content = EnvelopeContent {
            mesh: self.mesh,
            kind,
            author: self.keys.team_id(),
            seq: self.seq,
            created_at: at,
            tlp,
            thread,
            parents: thread.into_iter().collect(),
            body,
        };
        let env = seal::sign_envelope(&self.keys, &content)?;
        self.seq += 1;
        self.latest = self.latest.max(at);
        self.send(env.envelope().bytes.clone()).await?;
        Ok(env.envelope().id)
    }

    async fn send(&self, bytes: Vec<u8>) -> Result<()> {
        match self.client.publish(bytes).await {
            Ok(()) => Ok(()),
            Err(e) => bail!("the insider's node could not publish: {e}"),
        }
    }

    /// Every envelope heard, decoded.
    fn heard(&self) -> Vec<Envelope> {
        let raw = self.heard.lock().map(|h| h.clone()).unwrap_or_default();
        raw.iter()
            .filter_map(|b| Envelope::decode(b).ok())
            .collect()
    }

    fn heard_ids(&self) -> BTreeSet<String> {
        self.heard().iter().map(|e| e.id.to_string()).collect()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}
