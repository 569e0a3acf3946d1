//! The one ingest path under attack: every bad input is refused with a
//! reason, nothing refused is stored, and nothing accepted is lost.

use proto::{
    Body, EnvelopeContent, IncidentPayload, InnerContent, Kind, MAX_ENVELOPE_BYTES, Payload,
    SealedTo, Tlp, payload::SenderKeyShare,
};
use seal::SenderKey;
use testkit::Team;

use super::*;
use crate::api::{ApiError, types::*};
use mesh_core::{Reason, Verdict};
use proto::{
    Envelope, EnvelopeId, MembershipAct,
    sync::{SyncRequest, SyncResponse},
};
use seal::VerifiedEnvelope;

/// The tests' clock: every step happens at this time unless a test moves it.
pub(super) const NOW: u64 = testkit::NOW + 60_000;

/// A node acting as `me` in a mesh founded by `founders`, with an in-memory
/// store and a network that is built but never started (ingest does not
/// touch the network).
pub(super) fn node_for(me: &Team, founders: &[&Team]) -> Node {
    let charter = testkit::charter(founders);
    let profiles = founders.iter().map(|t| t.profile.clone()).collect();
    let store = Store::open_in_memory().unwrap();
    Node::new(
        store,
        me.keys_copy(),
        me.signed_profile(),
        charter,
        profiles,
        NOW,
    )
    .unwrap()
}

/// Teams A, B, C founding one mesh, their envelopes addressed to it.
pub(super) fn mesh() -> (Team, Team, Team) {
    let (mut a, mut b, mut c) = (Team::new("A"), Team::new("B"), Team::new("C"));
    let id = testkit::charter(&[&a, &b, &c]).mesh_id().unwrap();
    a.mesh = id;
    b.mesh = id;
    c.mesh = id;
    (a, b, c)
}

/// `n` teams founding one mesh (for tests that need many sponsors: each
/// member opens at most `MAX_OPEN_INVITATIONS` applications at a time).
pub(super) fn mesh_of(n: usize) -> Vec<Team> {
    let mut teams: Vec<Team> = (0..n).map(|i| Team::new(&format!("F{i}"))).collect();
    let id = testkit::charter(&teams.iter().collect::<Vec<_>>())
        .mesh_id()
        .unwrap();
    for t in &mut teams {
        t.mesh = id;
    }
    teams
}

/// An incident request for the admin API.
pub(super) fn incident(title: &str, tlp: &str, to: Vec<String>) -> NewIncident {
    NewIncident {
        title: title.into(),
        description: String::new(),
        tlp: tlp.parse().unwrap(),
        to,
        indicators: Vec::new(),
    }
}

/// Lists a new node in `t`'s profile, signed by that node's key, and
/// returns its id.
pub(super) fn add_node(t: &mut Team) -> PeerId {
    list_node(t, &net::NodeKey::generate())
}

/// Lists the node with `key` in `t`'s profile, signed by it.
fn list_node(t: &mut Team, key: &net::NodeKey) -> PeerId {
    t.profile.peers.push(key.peer_id().to_bytes());
    t.profile
        .node_proofs
        .push(crate::datadir::node_proof(key, &t.id()).unwrap());
    key.peer_id()
}

pub(super) fn bytes(e: &VerifiedEnvelope) -> Vec<u8> {
    e.envelope().bytes.clone()
}

fn is_reject(v: &Verdict) -> bool {
    matches!(v, Verdict::Reject(_))
}

#[tokio::test]
async fn accepts_a_members_envelope_once() {
    let (a, b, c) = mesh();
    let mut node = node_for(&b, &[&a, &b, &c]);
    let env = a.clear_comment(1, "hello");
    assert_eq!(
        node.ingest(NOW, &bytes(&env), Origin::Local),
        Verdict::Accept
    );
    assert_eq!(
        node.ingest(NOW, &bytes(&env), Origin::Local),
        Verdict::Ignore(Reason::Duplicate)
    );
    assert_eq!(node.store.count().unwrap(), 1);
}

#[tokio::test]
async fn refuses_malformed_oversized_and_unknown_versions_storing_nothing() {
    let (a, b, c) = mesh();
    let mut node = node_for(&b, &[&a, &b, &c]);
    let good = bytes(&a.clear_comment(1, "hello"));
    let mut trailing = good.clone();
    trailing.push(0);
    let mut future_version = good.clone();
    future_version[0] = (proto::FORMAT_VERSION + 1) as u8;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("garbage", vec![0xff; 64]),
        ("truncated", good[..good.len() - 10].to_vec()),
        ("trailing byte", trailing),
        // A valid version byte, so only its size refuses it.
        ("oversized", {
            let mut over = vec![1u8; MAX_ENVELOPE_BYTES + 1];
            over[0] = proto::FORMAT_VERSION as u8;
            over
        }),
        ("unknown version", future_version),
    ];
    for (what, input) in cases {
        let v = node.ingest(NOW, &input, Origin::Local);
        assert!(
            matches!(v, Verdict::Reject(Reason::Malformed(_))),
            "{what}: {v:?}"
        );
    }
    // A real envelope grown past the limit is refused for its size, before
    // anything else is read.
    let mut grown = good.clone();
    grown.resize(MAX_ENVELOPE_BYTES + 1, 0);
    let v = node.ingest(NOW, &grown, Origin::Local);
    assert!(
        matches!(&v, Verdict::Reject(Reason::Malformed(m)) if m.contains(&MAX_ENVELOPE_BYTES.to_string())),
        "{v:?}"
    );
    let v = node.ingest(
        NOW,
        &bytes(&a.clear_comment(1, "x"))
            .into_iter()
            .chain([0])
            .collect::<Vec<_>>(),
        Origin::Local,
    );
    assert!(is_reject(&v));
    assert_eq!(node.store.count().unwrap(), 0);
}

#[tokio::test]
async fn refuses_forged_signatures() {
    let (a, b, c) = mesh();
    let eve = Team::new("Eve");
    let mut node = node_for(&b, &[&a, &b, &c]);
    // Eve signs content that claims A as its author.
    let mut content = a.clear_comment(1, "I am A").content().clone();
    content.created_at += 1;
    let content_bytes = Envelope::content_bytes(&content).unwrap();
    let sig = eve.keys.sign(proto::context::ENVELOPE, &content_bytes);
    let forged = Envelope::assemble(content_bytes, sig).unwrap();
    assert!(matches!(
        node.ingest(NOW, &forged.bytes, Origin::Local),
        Verdict::Reject(Reason::BadSignature(_))
    ));
    // A bit flipped inside a validly signed envelope.
    let mut tampered = bytes(&a.amber_open(2, "t", &[&b]));
    let i = tampered.len() - 80;
    tampered[i] ^= 0x01;
    assert!(is_reject(&node.ingest(NOW, &tampered, Origin::Local)));
    assert_eq!(node.store.count().unwrap(), 0);
}

#[tokio::test]
async fn refuses_non_members_and_other_meshes() {
    let (a, b, c) = mesh();
    let mut node = node_for(&b, &[&a, &b, &c]);
    let mut stranger = Team::new("Stranger");
    stranger.mesh = a.mesh;
    assert!(matches!(
        node.ingest(
            NOW,
            &bytes(&stranger.clear_comment(1, "let me in")),
            Origin::Local
        ),
        Verdict::Reject(Reason::NotAMember(_))
    ));
    let mut elsewhere = Team::new("A-elsewhere");
    elsewhere.keys = a.keys_copy();
    elsewhere.mesh = MeshId([1; 32]);
    assert!(matches!(
        node.ingest(
            NOW,
            &bytes(&elsewhere.clear_comment(1, "wrong mesh")),
            Origin::Local
        ),
        Verdict::Reject(Reason::WrongMesh(_))
    ));
    assert_eq!(node.store.count().unwrap(), 0);
}

/// A member re-wraps another's ciphertext as its own: the recipient does not
/// read it as the re-wrapper's (age authenticates no sender), but keeps it
/// unread like any envelope it cannot read, blaming nobody (only a recipient
/// can see the fault; relays checked all they could).
#[tokio::test]
async fn recipient_keeps_content_rewrapped_by_another_member_unread() {
    let (a, b, c) = mesh();
    let original = a.amber_open(1, "for B only", &[&b]);
    let Body::Sealed { ciphertext, .. } = &original.content().body else {
        unreachable!()
    };
    // C, a member, re-signs A's ciphertext as its own envelope, with a hint
    // that makes B try it.
    let to_b = [seal::parse_recipient(&b.keys.recipient()).unwrap()];
    let rewrapped = c.envelope(
        1,
        Tlp::Amber,
        None,
        Body::Sealed {
            to: SealedTo::Teams {
                hints: seal::recipient_hints(&c.keys, &to_b, ciphertext).unwrap(),
            },
            ciphertext: ciphertext.clone(),
        },
    );
    let mut as_b = node_for(&b, &[&a, &b, &c]);
    assert_eq!(
        as_b.ingest(NOW, &bytes(&rewrapped), Origin::Local),
        Verdict::Accept
    );
    let kept = as_b.store.get(&rewrapped.envelope().id).unwrap().unwrap();
    assert!(kept.opened.is_none(), "read as the re-wrapper's");
    // The original is fine, and readable by B.
    assert_eq!(
        as_b.ingest(NOW, &bytes(&original), Origin::Local),
        Verdict::Accept
    );
    let root = as_b
        .load_entry(NOW, &original.envelope().id)
        .unwrap()
        .unwrap();
    assert!(root.payload.is_some());
    // A non-recipient stores the ciphertext and reads nothing.
    let mut as_c = node_for(&c, &[&a, &b, &c]);
    assert_eq!(
        as_c.ingest(NOW, &bytes(&original), Origin::Local),
        Verdict::Accept
    );
    assert!(
        as_c.load_entry(NOW, &original.envelope().id)
            .unwrap()
            .unwrap()
            .payload
            .is_none()
    );
}

#[tokio::test]
async fn a_recipient_opens_only_what_its_hint_marks() {
    let (a, b, c) = mesh();
    let original = a.amber_open(1, "for B", &[&b]);
    let Body::Sealed { ciphertext, .. } = &original.content().body else {
        unreachable!()
    };
    // The same ciphertext (B holds a stanza) with C's hint instead of B's:
    // B does not try its key, stores the envelope and reads nothing.
    let to_c = [seal::parse_recipient(&c.keys.recipient()).unwrap()];
    let hinted_to_c = a.envelope(
        2,
        Tlp::Amber,
        None,
        Body::Sealed {
            to: SealedTo::Teams {
                hints: seal::recipient_hints(&a.keys, &to_c, ciphertext).unwrap(),
            },
            ciphertext: ciphertext.clone(),
        },
    );
    let mut as_b = node_for(&b, &[&a, &b, &c]);
    assert_eq!(
        as_b.ingest(NOW, &bytes(&hinted_to_c), Origin::Local),
        Verdict::Accept
    );
    let entry = as_b
        .load_entry(NOW, &hinted_to_c.envelope().id)
        .unwrap()
        .unwrap();
    assert!(entry.payload.is_none());
    // With B's hint, B reads it.
    assert_eq!(
        as_b.ingest(NOW, &bytes(&original), Origin::Local),
        Verdict::Accept
    );
    let entry = as_b
        .load_entry(NOW, &original.envelope().id)
        .unwrap()
        .unwrap();
    assert!(entry.payload.is_some());
}

#[tokio::test]
async fn green_waits_for_its_key_and_opens_when_the_share_arrives() {
    let (a, b, c) = mesh();
    let mut node = node_for(&b, &[&a, &b, &c]);
    let key = SenderKey::generate();
    let inner = a.inner(
        Tlp::Green,
        vec![],
        IncidentPayload::Open {
            title: "advisory".into(),
            description: "".into(),
            indicators: Vec::new(),
            source: None,
        },
    );
    let green = a.envelope(
        1,
        Tlp::Green,
        None,
        Body::Sealed {
            to: SealedTo::SenderKey(key.id()),
            ciphertext: key.seal(&a.keys, &inner).unwrap(),
        },
    );
    assert_eq!(
        node.ingest(NOW, &bytes(&green), Origin::Local),
        Verdict::Accept
    );
    assert_eq!(node.store.waiting_count().unwrap(), 1);
    assert!(
        node.load_entry(NOW, &green.envelope().id)
            .unwrap()
            .unwrap()
            .waiting_for_key
    );

    // The key share, sealed to B and C.
    let share_inner = InnerContent {
        author: a.id(),
        mesh: a.mesh,
        tlp: Tlp::Red,
        recipients: vec![b.id(), c.id()],
        payload: Payload::SenderKey(SenderKeyShare {
            key_id: key.id(),
            secret: key.secret(),
        }),
    };
    let recipients = [&b, &c].map(|t| seal::parse_recipient(&t.keys.recipient()).unwrap());
    let content = EnvelopeContent {
        mesh: a.mesh,
        kind: Kind::KeyShare,
        author: a.id(),
        seq: 2,
        created_at: testkit::NOW + 2,
        tlp: Tlp::Red,
        thread: None,
        parents: vec![],
        body: seal::seal_to_teams(&a.keys, &share_inner, &recipients).unwrap(),
    };
    let share = seal::sign_envelope(&a.keys, &content).unwrap();
    assert_eq!(
        node.ingest(NOW, &bytes(&share), Origin::Local),
        Verdict::Accept
    );
    assert_eq!(node.store.waiting_count().unwrap(), 0);
    let opened = node.load_entry(NOW, &green.envelope().id).unwrap().unwrap();
    assert!(matches!(opened.payload, Some(IncidentPayload::Open { .. })));
}

#[tokio::test]
async fn survives_reopen_of_its_database() {
    let (a, b, c) = mesh();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.sqlite");
    let env = a.amber_open(1, "kept", &[&b]);
    {
        let charter = testkit::charter(&[&a, &b, &c]);
        let profiles = vec![a.profile.clone(), b.profile.clone(), c.profile.clone()];
        let mut node = Node::new(
            Store::open(&path).unwrap(),
            b.keys_copy(),
            b.signed_profile(),
            charter,
            profiles,
            NOW,
        )
        .unwrap();
        assert_eq!(
            node.ingest(NOW, &bytes(&env), Origin::Local),
            Verdict::Accept
        );
        // Dropped without any shutdown, as if killed after the ack.
    }
    let store = Store::open(&path).unwrap();
    let stored = store.get(&env.envelope().id).unwrap().unwrap();
    assert_eq!(stored.bytes, bytes(&env));
    assert!(stored.opened.is_some());
}

/// `by` (a member) invites `who`, the act delivered to `node`.
fn invite(node: &mut Node, by: &Team, seq: u64, who: &Team) {
    let act = MembershipAct::Invite {
        candidate: who.id(),
        expires_at: NOW + 86_400_000,
        nodes: vec![],
    };
    let env = by.act(seq, testkit::NOW + seq, &act);
    assert_eq!(
        node.ingest(NOW, &bytes(&env), Origin::Local),
        Verdict::Accept
    );
}

/// `by` (a member) vouches for `who`, the act delivered to `node`: an open
/// endorsement works as an invitation, without the bound on invitations.
fn vouch_for(node: &mut Node, by: &Team, seq: u64, who: &Team) {
    let env = by.act(seq, testkit::NOW + seq, &endorse(who, NOW));
    assert_eq!(
        node.ingest(NOW, &bytes(&env), Origin::Local),
        Verdict::Accept
    );
}

fn endorse(candidate: &Team, at: u64) -> proto::MembershipAct {
    proto::MembershipAct::Endorse {
        candidate: candidate.id(),
        expires_at: at + 86_400_000,
    }
}

#[tokio::test]
async fn applicants_are_admitted_by_k_members_and_not_before() {
    let (a, b, c) = mesh();
    let mut d = Team::new("D");
    d.mesh = a.mesh;
    let mut node = node_for(&c, &[&a, &b, &c]);
    let peer = PeerId::random();
    invite(&mut node, &a, 900, &d);
    // D's join request is accepted; its incidents are not.
    assert_eq!(
        node.ingest(NOW, &bytes(&d.join_request(1)), Origin::Gossip(peer)),
        Verdict::Accept
    );
    assert!(matches!(
        node.ingest(
            NOW,
            &bytes(&d.clear_comment(2, "let me in")),
            Origin::Gossip(peer)
        ),
        Verdict::Ignore(Reason::NotYetAdmitted(_))
    ));
    // A non-member cannot vouch at all, nor can D, an applicant, publish an
    // act (its endorsement of itself included: refused as an applicant's;
    // the self-endorsement rule itself is in the core's membership tests).
    let mut stranger = Team::new("Stranger");
    stranger.mesh = a.mesh;
    assert!(matches!(
        node.ingest(
            NOW,
            &bytes(&stranger.act(1, testkit::NOW, &endorse(&d, testkit::NOW))),
            Origin::Gossip(peer)
        ),
        Verdict::Reject(Reason::NotAMember(_))
    ));
    assert!(!matches!(
        node.ingest(
            NOW,
            &bytes(&d.act(3, testkit::NOW + 3, &endorse(&d, testkit::NOW))),
            Origin::Gossip(peer)
        ),
        Verdict::Accept
    ));
    assert!(!node.members.is_member(&d.id()));
    // One endorsement, then two from distinct members: admitted.
    assert_eq!(
        node.ingest(
            NOW,
            &bytes(&a.act(1, testkit::NOW + 10, &endorse(&d, testkit::NOW))),
            Origin::Local
        ),
        Verdict::Accept
    );
    assert_eq!(
        node.ingest(
            NOW,
            &bytes(&a.act(2, testkit::NOW + 11, &endorse(&d, testkit::NOW))),
            Origin::Local
        ),
        Verdict::Accept
    );
    assert!(
        !node.members.is_member(&d.id()),
        "one sponsor twice is one sponsor"
    );
    assert_eq!(
        node.ingest(
            NOW,
            &bytes(&b.act(1, testkit::NOW + 12, &endorse(&d, testkit::NOW))),
            Origin::Local
        ),
        Verdict::Accept
    );
    assert!(node.members.is_member(&d.id()));
    assert_eq!(
        node.ingest(NOW, &bytes(&d.clear_comment(4, "hello")), Origin::Local),
        Verdict::Accept
    );
}

#[tokio::test]
async fn a_revoked_team_keeps_its_history_and_can_add_nothing() {
    let (a, b, c) = mesh();
    let mut node = node_for(&a, &[&a, &b, &c]);
    let before = c.clear_comment(1, "written before the revocation");
    let revoke = c.act(
        2,
        testkit::NOW + 100,
        &proto::MembershipAct::Revoke {
            reason: "key compromised".into(),
        },
    );
    assert_eq!(
        node.ingest(NOW, &bytes(&revoke), Origin::Local),
        Verdict::Accept
    );
    // Arriving late (by sync, or re-published by a third node): still accepted.
    assert_eq!(
        node.ingest(NOW, &bytes(&before), Origin::Sync(PeerId::random())),
        Verdict::Accept
    );
    let mut after = c.clear_comment(3, "written after");
    let mut content = after.content().clone();
    content.created_at = testkit::NOW + 200;
    after = seal::sign_envelope(&c.keys, &content).unwrap();
    for origin in [
        Origin::Gossip(PeerId::random()),
        Origin::Sync(PeerId::random()),
        Origin::Local,
    ] {
        assert!(matches!(
            node.ingest(NOW, &bytes(&after), origin),
            Verdict::Reject(Reason::Revoked { .. })
        ));
    }
}

#[tokio::test]
async fn a_key_rotation_needs_the_new_keys_consent() {
    let (a, b, c) = mesh();
    let mut node = node_for(&a, &[&a, &b, &c]);
    let new_keys = seal::TeamKeys::generate();
    let msg = proto::membership::rotation_message(&a.mesh, &c.id());
    let forged = proto::MembershipAct::RotateKey {
        new: new_keys.team_id(),
        proof: c.keys.sign(proto::context::KEY_ROTATION, &msg),
    };
    assert!(matches!(
        node.ingest(
            NOW,
            &bytes(&c.act(1, testkit::NOW + 1, &forged)),
            Origin::Local
        ),
        Verdict::Reject(Reason::BadMembershipAct(_))
    ));
    let real = proto::MembershipAct::RotateKey {
        new: new_keys.team_id(),
        proof: new_keys.sign(proto::context::KEY_ROTATION, &msg),
    };
    assert_eq!(
        node.ingest(
            NOW,
            &bytes(&c.act(2, testkit::NOW + 2, &real)),
            Origin::Local
        ),
        Verdict::Accept
    );
    assert!(node.members.is_member(&new_keys.team_id()));
    assert!(!node.members.is_member(&c.id()));
}

#[tokio::test]
async fn join_requests_are_rate_limited_per_forwarding_peer() {
    let f = mesh_of(5);
    let (a, sponsors) = (&f[0], &f[1..]);
    let mut node = node_for(a, &f.iter().collect::<Vec<_>>());
    let flooder = PeerId::random();
    let mut accepted = 0;
    let mut limited = 0;
    for i in 0..(mesh_core::admission::MAX_JOIN_REQUESTS_PER_PEER_MINUTE + 5) {
        let mut t = Team::new(&format!("Sybil-{i}"));
        t.mesh = a.mesh;
        // (Each vouched for by a hostile member: the limit holds whoever did.)
        vouch_for(&mut node, &sponsors[i as usize % 4], 900 + u64::from(i), &t);
        match node.ingest(NOW, &bytes(&t.join_request(1)), Origin::Gossip(flooder)) {
            Verdict::Accept => accepted += 1,
            Verdict::Ignore(Reason::RateLimited(_)) => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    // All within one minute of the manual clock: exactly the budget.
    assert_eq!(
        accepted,
        mesh_core::admission::MAX_JOIN_REQUESTS_PER_PEER_MINUTE
    );
    assert_eq!(limited, 5);
    // Another peer has its own budget.
    let mut t = Team::new("Honest applicant");
    t.mesh = a.mesh;
    invite(&mut node, a, 800, &t);
    assert_eq!(
        node.ingest(
            NOW,
            &bytes(&t.join_request(1)),
            Origin::Gossip(PeerId::random())
        ),
        Verdict::Accept
    );
}

/// A member cannot vouch for itself (it would spend its budget on nothing;
/// refused as a bad request, before the check that it is already a member).
#[test]
fn a_member_cannot_vouch_for_itself() {
    let (a, b, c) = mesh();
    let mut node = node_for(&a, &[&a, &b, &c]);
    let r = node.act(NOW, vouch_request(&a));
    assert!(
        matches!(&r, Err(ApiError::BadRequest(m)) if m.contains("itself")),
        "{r:?}"
    );
    assert_eq!(node.store.count().unwrap(), 0);
}

#[tokio::test]
async fn the_api_cannot_publish_as_a_non_member() {
    let (a, b, c) = mesh();
    let mut d = Team::new("D");
    d.mesh = a.mesh;
    let mut node = node_for(&d, &[&a, &b, &c]);
    let r = node.open_incident(NOW, incident("t", "clear", vec![]));
    assert!(matches!(r, Err(ApiError::Forbidden(m)) if m.contains("not a member")));
    let r = node.act(NOW, vouch_request(&a));
    assert!(matches!(r, Err(ApiError::Forbidden(_))));
    assert_eq!(node.store.count().unwrap(), 0);
}

#[tokio::test]
async fn a_suspended_team_cannot_read_green_sent_after_its_removal() {
    let (a, b, c) = mesh();
    let mut as_a = node_for(&a, &[&a, &b, &c]);
    let mut as_c = node_for(&c, &[&a, &b, &c]);
    let green = |title: &str| incident(title, "green", vec![]);
    // Before: C reads A's GREEN (key share + advisory copied to C's node).
    let first = as_a.open_incident(NOW, green("before")).unwrap();
    for id in as_a.store.ids().unwrap() {
        let bytes = as_a.store.get(&id).unwrap().unwrap().bytes;
        as_c.ingest(NOW, &bytes, Origin::Sync(PeerId::random()));
    }
    let first_id: EnvelopeId = first.id.parse().unwrap();
    assert!(
        as_c.load_entry(NOW, &first_id)
            .unwrap()
            .unwrap()
            .payload
            .is_some()
    );
    // A and B suspend C.
    let suspend = |by: &Team, seq: u64| {
        by.act(
            seq,
            NOW + seq,
            &MembershipAct::Suspend {
                target: c.id(),
                reason: "test".into(),
                after_seq: 1_000,
            },
        )
    };
    let (s1, s2) = (suspend(&a, 100), suspend(&b, 101));
    for node in [&mut as_a, &mut as_c] {
        assert_eq!(
            node.ingest(NOW, &bytes(&s1), Origin::Local),
            Verdict::Accept
        );
        assert_eq!(
            node.ingest(NOW, &bytes(&s2), Origin::Local),
            Verdict::Accept
        );
    }
    assert!(!as_a.members.is_member(&c.id()));
    // After: A's next GREEN uses a new sender key shared with A and B only.
    let second = as_a.open_incident(NOW, green("after")).unwrap();
    for id in as_a.store.ids().unwrap() {
        let bytes = as_a.store.get(&id).unwrap().unwrap().bytes;
        as_c.ingest(NOW, &bytes, Origin::Sync(PeerId::random()));
    }
    let second_id: EnvelopeId = second.id.parse().unwrap();
    let seen = as_c.load_entry(NOW, &second_id).unwrap().unwrap();
    assert!(
        seen.payload.is_none(),
        "a removed team must not read GREEN sent after its removal"
    );
    assert!(seen.waiting_for_key);
    // The earlier advisory stays readable to C.
    assert!(
        as_c.load_entry(NOW, &first_id)
            .unwrap()
            .unwrap()
            .payload
            .is_some()
    );
}

#[tokio::test]
async fn a_retraction_converges_whichever_arrives_first() {
    let (a, b, c) = mesh();
    let mut as_a = node_for(&a, &[&a, &b, &c]);
    let opened = as_a
        .open_incident(
            NOW,
            incident(
                "wrong host, please ignore",
                "amber",
                vec![b.id().to_string()],
            ),
        )
        .unwrap();
    let target: EnvelopeId = opened.id.parse().unwrap();
    let target_bytes = as_a.store.get(&target).unwrap().unwrap().bytes;
    // Only the author may retract.
    let mut as_b = node_for(&b, &[&a, &b, &c]);
    assert_eq!(
        as_b.ingest(NOW, &target_bytes, Origin::Local),
        Verdict::Accept
    );
    assert!(matches!(
        as_b.retract(NOW, &opened.id, NewRetraction { reason: String::new() }),
        Err(ApiError::Forbidden(m)) if m.contains("only its author")
    ));
    let forged = b.clear_record(
        Kind::Retraction,
        1,
        NOW,
        proto::Retraction {
            target,
            reason: "not yours".into(),
            target_seq: 1,
        }
        .to_bytes()
        .unwrap(),
    );
    assert!(matches!(
        as_b.ingest(NOW, &bytes(&forged), Origin::Local),
        Verdict::Reject(Reason::BadRetraction(_))
    ));
    // A retracts: its own copy is gone and the tombstone is served instead.
    let tomb = as_a
        .retract(
            NOW,
            &opened.id,
            NewRetraction {
                reason: "sent to the wrong team".into(),
            },
        )
        .unwrap();
    let tomb_id: EnvelopeId = tomb.id.parse().unwrap();
    let tomb_bytes = as_a.store.get(&tomb_id).unwrap().unwrap().bytes;
    assert!(as_a.store.get(&target).unwrap().is_none());
    assert!(as_a.incidents(NOW).unwrap().is_empty());
    // B had the target: the tombstone deletes it.
    assert_eq!(
        as_b.ingest(NOW, &tomb_bytes, Origin::Sync(PeerId::random())),
        Verdict::Accept
    );
    assert!(as_b.store.get(&target).unwrap().is_none());
    assert!(as_b.incidents(NOW).unwrap().is_empty());
    // C gets the tombstone first, then the target (by gossip from a slow peer): refused.
    let mut as_c = node_for(&c, &[&a, &b, &c]);
    assert_eq!(
        as_c.ingest(NOW, &tomb_bytes, Origin::Sync(PeerId::random())),
        Verdict::Accept
    );
    assert_eq!(
        as_c.ingest(NOW, &target_bytes, Origin::Gossip(PeerId::random())),
        Verdict::Ignore(Reason::Retracted)
    );
    // All three reconcile to the same set: the tombstone, not the target.
    assert_eq!(as_a.sync_set, as_b.sync_set);
    assert_eq!(as_b.sync_set, as_c.sync_set);
    assert!(as_c.sync_set.contains(&(
        Envelope::decode(&tomb_bytes).unwrap().content.created_at,
        tomb_id
    )));
    let target_key = (
        Envelope::decode(&target_bytes).unwrap().content.created_at,
        target,
    );
    for set in [&as_a.sync_set, &as_b.sync_set, &as_c.sync_set] {
        assert!(!set.contains(&target_key));
    }
}

/// Copies every envelope `from` holds into `to`, as sync would.
pub(super) fn copy_all(from: &Node, to: &mut Node) {
    for id in from.store.ids().unwrap() {
        let bytes = from.store.get(&id).unwrap().unwrap().bytes;
        to.ingest(NOW, &bytes, Origin::Sync(PeerId::random()));
    }
}

/// A (reporter), B (ISP, covers 203.0.113.0/24), C (last resort for BR).
fn last_resort_mesh() -> (Team, Team, Team) {
    let (mut a, mut b, mut c) = (Team::new("A"), Team::new("B"), Team::new("C"));
    b.profile.constituency = vec!["203.0.113.0/24".parse().unwrap()];
    c.profile.roles = vec![proto::Role::LastResortFor(vec!["BR".into()])];
    let id = testkit::charter(&[&a, &b, &c]).mesh_id().unwrap();
    a.mesh = id;
    b.mesh = id;
    c.mesh = id;
    (a, b, c)
}

fn report(about: &str, tlp: &str) -> NewReport {
    NewReport {
        about: about.into(),
        country: Some("BR".into()),
        title: "Phishing kit".into(),
        description: "credential harvesting".into(),
        tlp: Some(tlp.parse().unwrap()),
        indicators: Vec::new(),
    }
}

fn step(action: &str, to: &[&Team], note: &str) -> IncidentStep {
    IncidentStep {
        action: serde_json::from_value(serde_json::Value::String(action.into())).unwrap(),
        to: to.iter().map(|t| t.id().to_string()).collect(),
        note: note.into(),
    }
}

#[tokio::test]
async fn a_report_no_team_covers_goes_to_last_resort_and_is_handed_off() {
    let (a, b, c) = last_resort_mesh();
    let mut as_a = node_for(&a, &[&a, &b, &c]);
    let mut as_b = node_for(&b, &[&a, &b, &c]);
    let mut as_c = node_for(&c, &[&a, &b, &c]);
    // Covered: straight to B.
    let direct = as_a.report(NOW, report("203.0.113.7", "amber")).unwrap();
    assert_eq!(direct.route.teams[0].id, b.id().to_string());
    // Not covered: to C, the last resort for BR, and the reporter sees why.
    let r = as_a.report(NOW, report("198.51.100.7", "amber")).unwrap();
    assert_eq!(r.route.teams.len(), 1);
    assert_eq!(r.route.teams[0].id, c.id().to_string());
    assert!(
        r.route.why.contains("last resort for BR"),
        "{}",
        r.route.why
    );
    let incident = r.published.id.clone();
    copy_all(&as_a, &mut as_c);
    copy_all(&as_a, &mut as_b);
    // B cannot read it; C can, acknowledges and hands it to B.
    assert!(
        as_b.incidents(NOW)
            .unwrap()
            .iter()
            .all(|i| i.id != incident || i.title.is_none())
    );
    as_c.step(NOW, &incident, step("ack", &[], "")).unwrap();
    as_c.step(
        NOW,
        &incident,
        step("handoff", &[&b], "your customer's network"),
    )
    .unwrap();
    copy_all(&as_c, &mut as_b);
    // B reads the report from the hand-off, and accepts it.
    let at_b = as_b.incident(NOW, &incident.parse().unwrap()).unwrap();
    assert_eq!(at_b.title.as_deref(), Some("Phishing kit"));
    assert_eq!(at_b.pending_handoff, vec![b.id()]);
    // Only a team it was handed to may accept.
    assert!(as_a.step(NOW, &incident, step("accept", &[], "")).is_err());
    as_b.step(NOW, &incident, step("accept", &[], "")).unwrap();
    copy_all(&as_b, &mut as_a);
    copy_all(&as_c, &mut as_a);
    // The reporter sees the path: received and acknowledged by C, handed to B, accepted.
    let view = as_a.incident_view(NOW, &incident).unwrap();
    let kinds: Vec<EventKind> = view.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::Ack, EventKind::Handoff, EventKind::Accept]
    );
    assert_eq!(view.summary.handled_by[0].id, b.id().to_string());
    assert!(view.routed.unwrap().contains("last resort"));
}

/// A member claiming part of another team's networks wins the reports
/// about that part, but not silently: the reporter is shown the team it
/// overlaps, and that team sees the claim in its status.
#[test]
fn an_overlapping_claim_is_shown_to_the_reporter_and_to_the_team_it_overlaps() {
    let (a, b, c) = last_resort_mesh();
    let mut m = Team::new("M");
    m.mesh = a.mesh;
    let mut as_a = node_for(&a, &[&a, &b, &c]);
    let mut as_b = node_for(&b, &[&a, &b, &c]);
    // M is admitted, then publishes a profile claiming a /25 of B's /24.
    invite(&mut as_a, &b, 900, &m);
    invite(&mut as_b, &b, 900, &m);
    for node in [&mut as_a, &mut as_b] {
        assert_eq!(
            node.ingest(NOW, &bytes(&m.join_request(1)), Origin::Local),
            Verdict::Accept
        );
        vouch_for(node, &b, 901, &m);
        vouch_for(node, &c, 900, &m);
        assert!(node.members.is_member(&m.id()));
    }
    assert!(crate::api::views::overlaps(&as_b.members, &b.id()).is_empty());
    m.profile.constituency = vec!["203.0.113.128/25".parse().unwrap()];
    m.profile.updated_at += 1;
    for node in [&mut as_a, &mut as_b] {
        let v = node.ingest(NOW, &bytes(&m.join_request(2)), Origin::Local);
        assert_eq!(v, Verdict::Accept);
    }
    let r = as_a.report(NOW, report("203.0.113.200", "amber")).unwrap();
    assert_eq!(r.route.teams.len(), 1);
    assert_eq!(r.route.teams[0].id, m.id().to_string());
    assert_eq!(r.route.contested.len(), 1);
    assert_eq!(r.route.contested[0].team.id, b.id().to_string());
    assert_eq!(r.route.contested[0].entry, "203.0.113.0/24");
    // The lookup says the same, and B's status names M's claim.
    assert_eq!(
        as_a.lookup("203.0.113.200", None).unwrap().contested.len(),
        1
    );
    let seen = crate::api::views::overlaps(&as_b.members, &b.id());
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].ours, "203.0.113.0/24");
    assert_eq!(seen[0].theirs.team.id, m.id().to_string());
    assert_eq!(seen[0].theirs.entry, "203.0.113.128/25");
    // Outside M's claim nothing is contested.
    assert!(
        as_a.lookup("203.0.113.7", None)
            .unwrap()
            .contested
            .is_empty()
    );
}

#[tokio::test]
async fn a_declined_handoff_returns_to_the_last_resort_team() {
    let (a, b, c) = last_resort_mesh();
    let mut as_a = node_for(&a, &[&a, &b, &c]);
    let mut as_b = node_for(&b, &[&a, &b, &c]);
    let mut as_c = node_for(&c, &[&a, &b, &c]);
    let incident = as_a
        .report(NOW, report("198.51.100.7", "amber"))
        .unwrap()
        .published
        .id;
    copy_all(&as_a, &mut as_c);
    as_c.step(NOW, &incident, step("handoff", &[&b], ""))
        .unwrap();
    copy_all(&as_c, &mut as_b);
    as_b.step(NOW, &incident, step("decline", &[], "not our network"))
        .unwrap();
    copy_all(&as_b, &mut as_c);
    let at_c = as_c.incident(NOW, &incident.parse().unwrap()).unwrap();
    assert_eq!(at_c.handled_by, vec![c.id()]);
    assert!(at_c.pending_handoff.is_empty());
}

#[tokio::test]
async fn strict_and_red_reports_are_referred_never_forwarded() {
    for tlp in ["amber+strict", "red"] {
        let (a, b, c) = last_resort_mesh();
        let mut as_a = node_for(&a, &[&a, &b, &c]);
        let mut as_b = node_for(&b, &[&a, &b, &c]);
        let mut as_c = node_for(&c, &[&a, &b, &c]);
        let incident = as_a
            .report(NOW, report("198.51.100.7", tlp))
            .unwrap()
            .published
            .id;
        copy_all(&as_a, &mut as_c);
        as_c.step(NOW, &incident, step("handoff", &[&b], "contact B"))
            .unwrap();
        copy_all(&as_c, &mut as_b);
        copy_all(&as_c, &mut as_a);
        // B holds everything and reads nothing.
        let at_b = as_b.incident(NOW, &incident.parse().unwrap()).unwrap();
        assert!(at_b.title.is_none(), "{tlp}: the content must not reach B");
        assert!(
            at_b.events
                .iter()
                .all(|e| matches!(e, mesh_core::IncidentEvent::Sealed { .. }))
        );
        // The reporter reads the referral naming B.
        let at_a = as_a.incident(NOW, &incident.parse().unwrap()).unwrap();
        assert!(
            at_a.events
                .iter()
                .any(|e| matches!(e, mesh_core::IncidentEvent::Referred { responsible, .. } if responsible == &vec![b.id()])),
            "{tlp}"
        );
    }
}

#[tokio::test]
async fn a_batch_is_validated_envelope_by_envelope_and_stored_together() {
    let (a, b, c) = mesh();
    let mut as_a = node_for(&a, &[&a, &b, &c]);
    // A GREEN advisory (its key share comes first in A's log) and two AMBER.
    let green = as_a
        .open_incident(NOW, incident("advisory", "green", vec![]))
        .unwrap();
    for t in ["one", "two"] {
        as_a.open_incident(NOW, incident(t, "amber", vec![b.id().to_string()]))
            .unwrap();
    }
    let mut batch: Vec<Vec<u8>> = as_a
        .store
        .ids()
        .unwrap()
        .into_iter()
        .map(|id| as_a.store.get(&id).unwrap().unwrap().bytes)
        .collect();
    assert_eq!(batch.len(), 4, "key share, GREEN, two AMBER");
    let first = batch[1].clone();
    batch.insert(2, vec![0xff; 40]); // garbage in the middle
    batch.push(first); // a duplicate within the batch
    let mut as_b = node_for(&b, &[&a, &b, &c]);
    let verdicts = as_b.ingest_batch(NOW, &batch, Origin::Sync(PeerId::random()));
    let accepted = verdicts.iter().filter(|v| **v == Verdict::Accept).count();
    assert_eq!(accepted, 4, "{verdicts:?}");
    assert!(matches!(verdicts[2], Verdict::Reject(Reason::Malformed(_))));
    assert_eq!(verdicts[5], Verdict::Ignore(Reason::Duplicate));
    assert_eq!(as_b.store.count().unwrap(), 4);
    // The GREEN advisory, after its key share in the same batch, is open.
    let g = as_b
        .load_entry(NOW, &green.id.parse().unwrap())
        .unwrap()
        .unwrap();
    assert!(g.payload.is_some());
    assert_eq!(as_b.sync_set, as_a.sync_set);
}

#[tokio::test]
async fn sync_is_served_to_known_teams_nodes_only() {
    let (mut a, mut b, c) = (Team::new("A"), Team::new("B"), Team::new("C"));
    let b_node = add_node(&mut b);
    let id = testkit::charter(&[&a, &b, &c]).mesh_id().unwrap();
    a.mesh = id;
    b.mesh = id;
    let mut as_a = node_for(&a, &[&a, &b, &c]);
    let req = SyncRequest::Negentropy(sync::initiate(&sync::Set::new()).unwrap())
        .to_bytes()
        .unwrap();
    // An unknown node is answered over what joining needs only (its own
    // join request may have been lost by gossip); a member's over the log.
    assert_eq!(as_a.sync_access(&PeerId::random()), SyncAccess::Joining);
    assert!(matches!(
        as_a.answer_sync(NOW, b_node, &req).0,
        SyncResponse::Negentropy(_)
    ));
}

/// What a peer may tell us it holds and we lack (we fetch it from the
/// peer): a member's node up to a batch, other nodes a handful (a long list
/// would probe which ids our store holds); and a reconciliation message
/// over the frame is refused before any work.
#[tokio::test]
async fn a_peer_tells_what_we_lack_within_bounds() {
    let (mut a, mut b, c) = (Team::new("A"), Team::new("B"), Team::new("C"));
    let b_node = add_node(&mut b);
    let id = testkit::charter(&[&a, &b, &c]).mesh_id().unwrap();
    (a.mesh, b.mesh) = (id, id);
    let mut as_a = node_for(&a, &[&a, &b, &c]);
    let ids = |n: usize| {
        (0..n)
            .map(|i| EnvelopeId([i as u8; 32]))
            .collect::<Vec<_>>()
    };
    let have = |n| SyncRequest::Have(ids(n)).to_bytes().unwrap();
    let (answer, fetch) = as_a.answer_sync(NOW, b_node, &have(10));
    assert_eq!(answer, SyncResponse::Noted);
    assert_eq!(fetch, ids(10));
    let (answer, fetch) = as_a.answer_sync(NOW, b_node, &have(proto::sync::MAX_GET + 1));
    assert!(matches!(answer, SyncResponse::Refused(_)) && fetch.is_empty());
    let stranger = PeerId::random();
    let (answer, _) = as_a.answer_sync(NOW, stranger, &have(8));
    assert_eq!(answer, SyncResponse::Noted);
    let (answer, fetch) = as_a.answer_sync(NOW, stranger, &have(9));
    assert!(matches!(answer, SyncResponse::Refused(_)) && fetch.is_empty());
    let huge = SyncRequest::Negentropy(vec![0x61; sync::FRAME_LIMIT as usize + 2048])
        .to_bytes()
        .unwrap();
    let (answer, _) = as_a.answer_sync(NOW, b_node, &huge);
    assert!(
        matches!(&answer, SyncResponse::Refused(why) if why.contains("frame")),
        "{answer:?}"
    );
}

/// Ingest reads no clock: what "now" is comes from the caller, so a test
/// moves time and the rules that depend on it follow.
#[test]
fn ingest_follows_the_clock_it_is_given() {
    use mesh_core::{admission::MAX_JOIN_REQUESTS_PER_PEER_MINUTE, validate::MAX_CLOCK_SKEW_MS};
    let f = mesh_of(5);
    let (a, b, sponsors) = (&f[0], &f[1], &f[1..]);
    let mut node = node_for(a, &f.iter().collect::<Vec<_>>());
    // An envelope stamped ahead of the node's clock waits, whatever the wall clock says.
    let ahead = b.clear_comment(1, "from the future");
    let stamp = ahead.content().created_at;
    let early = stamp - MAX_CLOCK_SKEW_MS - 1;
    assert!(matches!(
        node.ingest(early, &bytes(&ahead), Origin::Local),
        Verdict::Ignore(Reason::FromTheFuture(_))
    ));
    assert_eq!(
        node.ingest(stamp, &bytes(&ahead), Origin::Local),
        Verdict::Accept
    );
    // A forwarding peer's join budget is per minute of the given clock.
    let peer = PeerId::random();
    let applicant = |node: &mut Node, i: u32| {
        let mut t = Team::new(&format!("Applicant-{i}"));
        t.mesh = a.mesh;
        vouch_for(node, &sponsors[i as usize % 4], 900 + u64::from(i), &t);
        bytes(&t.join_request(1))
    };
    for i in 0..MAX_JOIN_REQUESTS_PER_PEER_MINUTE {
        let join = applicant(&mut node, i);
        assert_eq!(
            node.ingest(NOW, &join, Origin::Gossip(peer)),
            Verdict::Accept
        );
    }
    let one_more = applicant(&mut node, 1000);
    assert!(matches!(
        node.ingest(NOW, &one_more, Origin::Gossip(peer)),
        Verdict::Ignore(Reason::RateLimited(_))
    ));
    assert_eq!(
        node.ingest(NOW + 60_000, &one_more, Origin::Gossip(peer)),
        Verdict::Accept
    );
}

/// A comment is stored as written; only incident envelopes can be retracted,
/// and retracting anything else is the caller's mistake (400), not a
/// permission (403).
#[test]
fn comments_keep_their_text_and_only_incidents_are_retracted() {
    let (a, b, c) = mesh();
    let mut node = node_for(&a, &[&a, &b, &c]);
    let opened = node
        .open_incident(NOW, incident("t", "clear", vec![]))
        .unwrap();
    let text = "  indented log line\n    and its continuation\n";
    node.comment(NOW, &opened.id, NewComment { text: text.into() })
        .unwrap();
    let view = node.incident_view(NOW, &opened.id).unwrap();
    assert_eq!(view.events[0].text.as_deref(), Some(text));
    let act = node
        .act(
            NOW,
            MembershipRequest {
                action: MembershipAction::Revoke,
                team: None,
                reason: "leaving".into(),
                days: None,
                nodes: vec![],
            },
        )
        .unwrap();
    let r = node.retract(NOW, &act.id, NewRetraction::default());
    assert!(
        matches!(&r, Err(ApiError::BadRequest(m)) if m.contains("only incident envelopes")),
        "{r:?}"
    );
}

/// A join request carrying `profile`, signed by `team` without the checks
/// `seal::sign_profile` makes: what a modified client could send.
fn join_request_bypassing_checks(
    team: &Team,
    profile: &proto::Profile,
    seq: u64,
) -> VerifiedEnvelope {
    let content = profile.to_bytes().unwrap();
    let signed = proto::SignedProfile {
        signature: team.keys.sign(proto::context::PROFILE, &content),
        content,
    };
    team.clear_record(
        Kind::Profile,
        seq,
        testkit::NOW + seq,
        signed.to_bytes().unwrap(),
    )
}

/// Text that reaches every member's terminal is checked at ingest: a join
/// request whose name carries escape sequences or a forged line, and an
/// objection whose reason does, are refused (no member would ever print
/// them), while the same team with a plain name is accepted.
#[test]
fn names_and_reasons_with_control_characters_are_refused() {
    let (a, b, c) = mesh();
    let mut node = node_for(&a, &[&a, &b, &c]);
    let mut d = Team::new("D");
    d.mesh = a.mesh;
    invite(&mut node, &b, 900, &d);
    for bad in [
        "D\u{1b}]0;owned\u{7}",
        "D\nE  member  admitted",
        "D\u{202e}",
    ] {
        let mut profile = d.profile.clone();
        profile.name = bad.into();
        let env = join_request_bypassing_checks(&d, &profile, 1);
        assert!(
            matches!(
                node.ingest(NOW, &bytes(&env), Origin::Local),
                Verdict::Reject(Reason::BadProfile(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        node.ingest(NOW, &bytes(&d.join_request(1)), Origin::Local),
        Verdict::Accept
    );
    // A member's objection whose reason would forge a line.
    let act = MembershipAct::Object {
        candidate: d.id(),
        reason: "fine\n  CSIRT-B  OBJECTION withdrawn".into(),
    };
    let body = proto::codec::encode("membership act", &act).unwrap();
    let env = b.clear_record(Kind::Membership, 1, testkit::NOW + 2, body);
    assert!(matches!(
        node.ingest(NOW, &bytes(&env), Origin::Local),
        Verdict::Reject(Reason::BadMembershipAct(_))
    ));
    // A profile whose domain or contact hides a line break is refused too.
    for (domain, contact) in [("x.example\n  forged", None), ("ok.example", Some("a\nb"))] {
        let mut profile = d.profile.clone();
        profile.constituency = vec![proto::Constituency::Domain(domain.into())];
        profile.contact = contact.map(Into::into);
        let env = join_request_bypassing_checks(&d, &profile, 9);
        assert!(matches!(
            node.ingest(NOW, &bytes(&env), Origin::Local),
            Verdict::Reject(Reason::BadProfile(_))
        ));
    }
    // And the API refuses to write such text in the first place.
    let r = node.open_incident(NOW, incident("title\u{1b}[8m hidden", "clear", vec![]));
    assert!(
        matches!(&r, Err(ApiError::BadRequest(m)) if m.contains("control character")),
        "{r:?}"
    );
}

/// A byte flipped in a stored envelope (SQLite's own integrity check does
/// not see it) is found where the row is read: the damaged incident is
/// quarantined, never served to a peer, and leaves the reconciliation set so
/// sync fetches it again; every other incident stays listed; once the
/// intact envelope comes back, it is listed again.
#[test]
fn a_damaged_row_is_quarantined_not_served_and_fetched_again() {
    let (mut a, mut b, mut c) = (Team::new("A"), Team::new("B"), Team::new("C"));
    let a_node = add_node(&mut a);
    let id = testkit::charter(&[&a, &b, &c]).mesh_id().unwrap();
    (a.mesh, b.mesh, c.mesh) = (id, id, id);
    let mut node = node_for(&b, &[&a, &b, &c]);
    let damaged = a.amber_open(1, "damaged on disk", &[&b]);
    let kept = a.amber_open(2, "kept", &[&b]);
    for e in [&damaged, &kept] {
        assert_eq!(node.ingest(NOW, &bytes(e), Origin::Local), Verdict::Accept);
    }
    let id = damaged.envelope().id;
    let key = (damaged.content().created_at, id);
    node.store.tamper(&id, |b| b[40] ^= 1).unwrap();

    // Served to no peer: a Get for it answers nothing.
    let get = SyncRequest::Get(vec![id]).to_bytes().unwrap();
    match node.answer_sync(NOW, a_node, &get).0 {
        SyncResponse::Envelopes(e) => assert!(e.is_empty(), "served damaged bytes"),
        other => panic!("{other:?}"),
    }
    // Quarantined, out of the reconciliation set; the other incident listed.
    assert!(!node.sync_set().contains(&key));
    assert_eq!(node.store.quarantine_count().unwrap(), 1);
    let listed: Vec<String> = node
        .incidents(NOW)
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(listed, vec![kept.envelope().id.to_string()]);
    // Sync brings the intact envelope again: accepted and listed.
    assert_eq!(
        node.ingest_batch(NOW, &[bytes(&damaged)], Origin::Sync(a_node)),
        vec![Verdict::Accept]
    );
    assert_eq!(node.incidents(NOW).unwrap().len(), 2);
    assert_eq!(node.check(NOW).unwrap().damaged, Vec::<String>::new());
}

/// `check` scans the whole store and names what it quarantined.
#[test]
fn check_finds_every_damaged_row() {
    let (a, b, c) = mesh();
    let mut node = node_for(&b, &[&a, &b, &c]);
    let envs: Vec<_> = (1..=4).map(|i| a.clear_comment(i, "x")).collect();
    for e in &envs {
        assert_eq!(node.ingest(NOW, &bytes(e), Origin::Local), Verdict::Accept);
    }
    for e in &envs[1..3] {
        node.store.tamper(&e.envelope().id, |b| b.push(0)).unwrap();
    }
    let report = node.check(NOW).unwrap();
    assert_eq!(report.scanned, 4);
    let mut want: Vec<String> = envs[1..3]
        .iter()
        .map(|e| e.envelope().id.to_string())
        .collect();
    let mut got = report.damaged.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(report.quarantined, 2);
    assert_eq!(node.store.count().unwrap(), 2);
}

/// Sync is for members: a stranger's or an applicant's node reconciles only
/// what joining needs (profiles and membership acts, never
/// the incident log, not even its ids), a member's node everything; and
/// junk a peer serves by sync is counted, as junk by gossip is.
#[test]
fn applicants_and_strangers_see_only_membership_records() {
    let (mut a, mut b, mut c) = (Team::new("A"), Team::new("B"), Team::new("C"));
    let b_node = add_node(&mut b);
    let id = testkit::charter(&[&a, &b, &c]).mesh_id().unwrap();
    (a.mesh, b.mesh, c.mesh) = (id, id, id);
    let mut d = Team::new("D");
    d.mesh = id;
    let d_node = add_node(&mut d);
    let mut node = node_for(&a, &[&a, &b, &c]);
    invite(&mut node, &c, 900, &d);
    let incident = b.clear_comment(1, "the incident log");
    let join = d.join_request(1);
    for e in [&incident, &join] {
        assert_eq!(node.ingest(NOW, &bytes(e), Origin::Local), Verdict::Accept);
    }
    assert_eq!(node.sync_access(&PeerId::random()), SyncAccess::Joining);
    assert_eq!(node.sync_access(&d_node), SyncAccess::Joining);
    assert_eq!(node.sync_access(&b_node), SyncAccess::Full);

    // What a full reconciliation from an empty set shows each of them.
    let learn = |node: &mut Node, peer: PeerId| {
        let empty = sync::Set::new();
        let mut msg = sync::initiate(&empty).unwrap();
        let mut need = Vec::new();
        for _ in 0..12 {
            let req = SyncRequest::Negentropy(msg).to_bytes().unwrap();
            let SyncResponse::Negentropy(answer) = node.answer_sync(NOW, peer, &req).0 else {
                panic!("refused");
            };
            let step = sync::reconcile(&empty, &answer).unwrap();
            need.extend(step.need);
            match step.reply {
                Some(next) => msg = next,
                None => return need,
            }
        }
        panic!("did not settle");
    };
    let to_applicant = learn(&mut node, d_node);
    assert!(to_applicant.contains(&join.envelope().id));
    assert!(!to_applicant.contains(&incident.envelope().id));
    let to_stranger = learn(&mut node, PeerId::random());
    assert!(!to_stranger.contains(&incident.envelope().id));
    assert!(learn(&mut node, b_node).contains(&incident.envelope().id));
    // And a Get for the incident serves an applicant nothing.
    let get = SyncRequest::Get(vec![incident.envelope().id, join.envelope().id])
        .to_bytes()
        .unwrap();
    let SyncResponse::Envelopes(served) = node.answer_sync(NOW, d_node, &get).0 else {
        panic!("refused");
    };
    assert_eq!(served, vec![bytes(&join)]);

    // Junk by sync is counted against the peer that served it.
    let forged = {
        let mut e = bytes(&c.clear_comment(1, "x"));
        let n = e.len();
        e[n - 1] ^= 1;
        e
    };
    // A stranger's envelope is refused too, but that depends on this node's
    // view of the members: it blames nobody.
    let mut stranger = Team::new("Stranger");
    stranger.mesh = id;
    let fetched = node.ingest_fetched(
        NOW,
        b_node,
        vec![
            forged,
            bytes(&stranger.clear_comment(1, "z")),
            bytes(&c.clear_comment(2, "y")),
        ],
    );
    assert_eq!((fetched.accepted, fetched.rejected), (1, 1));
    assert!(fetched.invalid.is_some_and(|i| i.starts_with("2 invalid")));
}

/// Vouching by full team id works whatever the pending list holds: a team
/// whose join request this node never kept (its slots were full) can be
/// endorsed all the same.
#[test]
fn vouching_by_team_id_needs_no_pending_join_request() {
    let (a, b, c) = mesh();
    let mut node = node_for(&a, &[&a, &b, &c]);
    let unseen = Team::new("Unseen");
    let r = node.act(NOW, vouch_request(&unseen));
    assert!(r.is_ok(), "{r:?}");
    // By name it is unknown, and says so.
    let r = node.act(
        NOW,
        MembershipRequest {
            action: MembershipAction::Vouch,
            team: Some("Unseen".into()),
            reason: String::new(),
            days: None,
            nodes: vec![],
        },
    );
    assert!(matches!(r, Err(ApiError::NotFound(_))), "{r:?}");
}

/// A request to vouch for `team`, by its id.
fn vouch_request(team: &Team) -> MembershipRequest {
    MembershipRequest {
        action: MembershipAction::Vouch,
        team: Some(team.id().to_string()),
        reason: String::new(),
        days: None,
        nodes: vec![],
    }
}

fn invite_request(team: &Team) -> MembershipRequest {
    MembershipRequest {
        action: MembershipAction::Invite,
        team: Some(team.id().to_string()),
        reason: String::new(),
        days: Some(14),
        nodes: vec![],
    }
}

/// Issue 12, finding 1: a flood of self-signed join requests takes no
/// pending slot; only a team a member invited (or vouched for) becomes an
/// applicant, each member has a bounded number of invitations open, and an
/// applicant whose invitation expired is nobody's applicant any more.
#[test]
fn only_invited_join_requests_enter_and_invitations_expire() {
    let (a, b, c) = mesh();
    let mut node = node_for(&a, &[&a, &b, &c]);
    let stranger = PeerId::random();
    for i in 0..200 {
        let mut t = Team::new(&format!("Sybil-{i}"));
        t.mesh = a.mesh;
        let v = node.ingest(NOW, &bytes(&t.join_request(1)), Origin::Gossip(stranger));
        assert!(matches!(v, Verdict::Reject(Reason::NotInvited(_))), "{v:?}");
    }
    assert_eq!(node.store.count().unwrap(), 0);
    assert!(node.members_view().applicants.is_empty());
    // A invites D: D's join request now enters, and shows who invited it.
    let mut d = Team::new("D");
    d.mesh = a.mesh;
    node.act(NOW, invite_request(&d)).unwrap();
    assert_eq!(
        node.ingest(NOW, &bytes(&d.join_request(1)), Origin::Gossip(stranger)),
        Verdict::Accept
    );
    let pending = node.members_view().applicants;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].team.name.as_deref(), Some("D"));
    assert_eq!(pending[0].invited_by[0].id, a.id().to_string());
    assert!(pending[0].join_request);
    // Invitations by full id only; A has at most MAX_OPEN_INVITATIONS open.
    let by_name = MembershipRequest {
        team: Some("D".into()),
        ..invite_request(&d)
    };
    assert!(matches!(
        node.act(NOW, by_name),
        Err(ApiError::BadRequest(_))
    ));
    for _ in 1..mesh_core::membership::MAX_OPEN_INVITATIONS {
        node.act(NOW, invite_request(&Team::new("E"))).unwrap();
    }
    let r = node.act(NOW, invite_request(&Team::new("F")));
    assert!(matches!(r, Err(ApiError::Conflict(_))), "{r:?}");
    // Fifteen days on, D's invitation expired: D is nobody's applicant, and
    // a new join request from it is refused again.
    let later = NOW + 15 * 86_400_000;
    // The loop recomputes membership on its tick when an application
    // closes, though nothing arrives.
    assert!(!node.membership_due(NOW));
    assert!(node.membership_due(later));
    node.rebuild_membership(later).unwrap();
    assert!(node.members_view().applicants.is_empty());
    let v = node.ingest(later, &bytes(&d.join_request(2)), Origin::Gossip(stranger));
    assert!(matches!(v, Verdict::Reject(Reason::NotInvited(_))), "{v:?}");
    // ... and A may invite again.
    assert!(node.act(later, invite_request(&d)).is_ok());
}

/// An applicant's own node keeps its join request before it learns of any
/// invitation (members take it by sync once they hold one).
#[test]
fn an_applicant_keeps_its_own_join_request_uninvited() {
    let (a, b, c) = mesh();
    let mut d = Team::new("D");
    d.mesh = a.mesh;
    let mut node = node_for(&d, &[&a, &b, &c]);
    node.join_if_needed(NOW).unwrap();
    assert_eq!(node.store.count().unwrap(), 1);
    assert_eq!(node.joining_set.len(), 1);
}

/// A team's node handing in its own join request before its invitation
/// reached us is refused without blame (an honest applicant that started
/// first); a peer handing in someone else's uninvited join request is
/// blamed.
#[test]
fn an_uninvited_join_request_blames_only_a_peer_that_is_not_its_team() {
    let (a, b, c) = mesh();
    let mut node = node_for(&a, &[&a, &b, &c]);
    let mut d = Team::new("D");
    d.mesh = a.mesh;
    let node_key = net::NodeKey::generate();
    let own_node = list_node(&mut d, &node_key);
    let join = bytes(&d.join_request(1));
    let v = node.ingest(NOW, &join, Origin::Gossip(own_node));
    assert!(matches!(v, Verdict::Ignore(Reason::NotInvited(_))), "{v:?}");
    let v = node.ingest(NOW, &join, Origin::Gossip(PeerId::random()));
    assert!(matches!(v, Verdict::Reject(Reason::NotInvited(_))), "{v:?}");
    // Minting identities that list the sender's node is free only within
    // the per-peer join budget: past it, the sender is blamed.
    let mut blamed = 0;
    for i in 0..mesh_core::admission::MAX_JOIN_REQUESTS_PER_PEER_MINUTE {
        let mut t = Team::new(&format!("Minted-{i}"));
        t.mesh = a.mesh;
        list_node(&mut t, &node_key);
        let v = node.ingest(NOW, &bytes(&t.join_request(1)), Origin::Gossip(own_node));
        blamed += usize::from(matches!(v, Verdict::Reject(Reason::NotInvited(_))));
    }
    // One of the budget went to D's own request above.
    assert_eq!(blamed, 1);
    assert_eq!(node.store.count().unwrap(), 0);
}

/// A team lists only nodes whose keys signed the listing for it: a member
/// that lists a victim's node id (to take its connections, or to hand in
/// join requests as it) is refused, whatever signature it makes up.
#[test]
fn a_profile_lists_only_nodes_that_signed_for_the_team() {
    let (mut a, mut b, mut c) = (Team::new("A"), Team::new("B"), Team::new("C"));
    let victim = net::NodeKey::generate();
    list_node(&mut b, &victim);
    let id = testkit::charter(&[&a, &b, &c]).mesh_id().unwrap();
    (a.mesh, b.mesh, c.mesh) = (id, id, id);
    let mut node = node_for(&a, &[&a, &b, &c]);
    // A's new profile lists its own node and the victim's, whose listing it
    // signs with its own node key, or copies from B's profile (signed for B).
    let own = net::NodeKey::generate();
    list_node(&mut a, &own);
    a.profile.updated_at += 1;
    let mut forged = a.profile.clone();
    forged.peers.push(victim.peer_id().to_bytes());
    forged
        .node_proofs
        .push(crate::datadir::node_proof(&own, &a.id()).unwrap());
    let mut copied = a.profile.clone();
    copied.peers.push(victim.peer_id().to_bytes());
    copied.node_proofs.push(b.profile.node_proofs[0]);
    let mut unsigned = a.profile.clone();
    unsigned.peers.push(victim.peer_id().to_bytes());
    for (seq, profile) in [(1, &forged), (2, &copied)] {
        let env = join_request_bypassing_checks(&a, profile, seq);
        let v = node.ingest(NOW, &bytes(&env), Origin::Sync(PeerId::random()));
        assert!(
            matches!(&v, Verdict::Reject(Reason::BadProfile(why)) if why.contains("did not sign")),
            "{v:?}"
        );
    }
    let env = join_request_bypassing_checks(&a, &unsigned, 3);
    let v = node.ingest(NOW, &bytes(&env), Origin::Sync(PeerId::random()));
    assert!(matches!(v, Verdict::Reject(Reason::BadProfile(_))), "{v:?}");
    // Its own node, signed: accepted, and the victim's node is still B's.
    let env = join_request_bypassing_checks(&a, &a.profile, 4);
    assert_eq!(
        node.ingest(NOW, &bytes(&env), Origin::Sync(PeerId::random())),
        Verdict::Accept
    );
    assert_eq!(
        node.members.team_of_node(&victim.peer_id().to_bytes()),
        Some(b.id())
    );
    assert_eq!(
        node.members.team_of_node(&own.peer_id().to_bytes()),
        Some(a.id())
    );
}

/// A profile or an invitation listing more nodes than a team may have is
/// refused: each listed node may hold connections to every member.
#[test]
fn a_team_lists_a_bounded_number_of_nodes() {
    let (a, b, c) = mesh();
    let mut node = node_for(&a, &[&a, &b, &c]);
    let many: Vec<Vec<u8>> = (0..=proto::profile::MAX_NODES)
        .map(|_| PeerId::random().to_bytes())
        .collect();
    let mut d = Team::new("D");
    d.mesh = a.mesh;
    invite(&mut node, &b, 900, &d);
    // Nine nodes, each signing its listing: refused for their number.
    let mut listed = Team::new("D");
    listed.keys = d.keys_copy();
    listed.profile = d.profile.clone();
    for _ in 0..=proto::profile::MAX_NODES {
        add_node(&mut listed);
    }
    let env = join_request_bypassing_checks(&d, &listed.profile, 1);
    let v = node.ingest(NOW, &bytes(&env), Origin::Local);
    assert!(
        matches!(&v, Verdict::Reject(Reason::BadProfile(why)) if why.contains("at most 8")),
        "{v:?}"
    );
    let act = MembershipAct::Invite {
        candidate: Team::new("E").id(),
        expires_at: NOW + 1,
        nodes: many,
    };
    assert!(act.to_bytes().is_err());
    for nodes in [
        vec!["not a peer id".to_string()],
        (0..=proto::profile::MAX_NODES)
            .map(|_| PeerId::random().to_string())
            .collect(),
    ] {
        let r = node.act(
            NOW,
            MembershipRequest {
                nodes,
                ..invite_request(&d)
            },
        );
        assert!(matches!(r, Err(ApiError::BadRequest(_))), "{r:?}");
    }
    // From a peer: an invitation naming too many nodes is an invalid act.
    let act = MembershipAct::Invite {
        candidate: Team::new("E").id(),
        expires_at: NOW + 1,
        nodes: (0..=proto::profile::MAX_NODES)
            .map(|_| PeerId::random().to_bytes())
            .collect(),
    };
    let body = proto::codec::encode("act", &act).unwrap();
    let env = b.clear_record(Kind::Membership, 901, testkit::NOW + 901, body);
    let v = node.ingest(NOW, &bytes(&env), Origin::Local);
    assert!(
        matches!(v, Verdict::Reject(Reason::BadMembershipAct(_))),
        "{v:?}"
    );
}

/// A tombstone counts only from its target's author, whatever arrives
/// first: another member's tombstone that came before the author's does not
/// stand in its place, and the target, once its author retracted it, does
/// not come back by sync (issue 11, item 7).
#[test]
fn another_members_tombstone_does_not_shadow_the_authors() {
    let (a, b, c) = mesh();
    let mut node = node_for(&b, &[&a, &b, &c]);
    let target = a.clear_comment(1, "to be retracted");
    let tomb = |by: &Team, seq: u64| {
        let r = proto::Retraction {
            target: target.envelope().id,
            reason: "withdrawn".into(),
            target_seq: target.content().seq,
        };
        by.clear_record(
            Kind::Retraction,
            seq,
            testkit::NOW + seq,
            r.to_bytes().unwrap(),
        )
    };
    // C's fake tombstone first: kept (its target is not held yet).
    assert_eq!(
        node.ingest(NOW, &bytes(&tomb(&c, 5)), Origin::Local),
        Verdict::Accept
    );
    // A's envelope arrives and is stored: C cannot retract it.
    assert_eq!(
        node.ingest(NOW, &bytes(&target), Origin::Local),
        Verdict::Accept
    );
    // A's own tombstone removes it ...
    assert_eq!(
        node.ingest(NOW, &bytes(&tomb(&a, 6)), Origin::Local),
        Verdict::Accept
    );
    assert!(!node.store.contains(&target.envelope().id).unwrap());
    // ... for good: served again by a peer that still has it, it is not
    // taken back (before, C's row stood for the retraction, and A's target
    // was accepted again).
    assert_eq!(
        node.ingest(NOW, &bytes(&target), Origin::Sync(PeerId::random())),
        Verdict::Ignore(Reason::Retracted)
    );
    assert!(!node.store.contains(&target.envelope().id).unwrap());
}

/// Issue 11, item 1: a member that learns a thread's id cannot join an
/// AMBER conversation by replying in it: its reply is shown as refused, and
/// the participants' next replies are not sealed to it.
#[tokio::test]
async fn a_reply_from_outside_the_conversation_joins_nothing() {
    let (a, b, c) = mesh();
    let mut node = node_for(&a, &[&a, &b, &c]);
    let opened = node
        .open_incident(NOW, incident("for B", "amber", vec!["B".into()]))
        .unwrap();
    let root: EnvelopeId = opened.id.parse().unwrap();
    // C, not addressed, replies to A (it knows the thread id and the author
    // from the envelope's clear metadata).
    let inner = c.inner(
        Tlp::Amber,
        vec![a.id()],
        IncidentPayload::Comment {
            text: "let me in".into(),
        },
    );
    let a_recipient = seal::parse_recipient(&a.keys_copy().recipient()).unwrap();
    let body = seal::seal_to_teams(&c.keys_copy(), &inner, &[a_recipient]).unwrap();
    let intrusion = c.envelope(5, Tlp::Amber, Some(root), body);
    assert_eq!(
        node.ingest(NOW, &bytes(&intrusion), Origin::Local),
        Verdict::Accept
    );
    let (_, people) = node.participants(NOW, &root).unwrap();
    assert_eq!(people.len(), 2);
    assert!(people.contains(&a.id()) && people.contains(&b.id()));
    assert!(!people.contains(&c.id()), "C joined the conversation");
    let view = node.incident_view(NOW, &opened.id).unwrap();
    let shown = serde_json::to_string(&view).unwrap();
    assert!(shown.contains("not in this"), "{shown}");
}

/// A team a report was handed to cannot read the report itself: it takes
/// the conversation's participants from the hand-off that names it, never
/// from other replies, so a member replying to it uninvited (and claiming
/// recipients) does not join the conversation through it.
#[tokio::test]
async fn a_handed_to_team_takes_participants_from_the_hand_off_only() {
    let f = mesh_of(4);
    let (a, b, c, m) = (&f[0], &f[1], &f[2], &f[3]);
    let mut node = node_for(b, &f.iter().collect::<Vec<_>>());
    let recipient = |t: &Team| seal::parse_recipient(&t.keys_copy().recipient()).unwrap();
    // A's report, sealed to C only: B holds it and cannot read it.
    let root = a.amber_open(1, "report", &[c]);
    let root_id = root.envelope().id;
    // C hands it to B, sealed to B and A.
    let handoff = c.inner(
        Tlp::Amber,
        vec![b.id(), a.id()],
        IncidentPayload::Handoff {
            to: vec![b.id()],
            original: seal::open(&root, c.keys.age_identity()).unwrap().plaintext,
            note: "yours".into(),
        },
    );
    let body =
        seal::seal_to_teams(&c.keys_copy(), &handoff, &[recipient(b), recipient(a)]).unwrap();
    let handoff = c.envelope(2, Tlp::Amber, Some(root_id), body);
    // M, not in the conversation, writes to B claiming to address M too.
    let intrusion = m.inner(
        Tlp::Amber,
        vec![b.id(), m.id()],
        IncidentPayload::Comment {
            text: "include me".into(),
        },
    );
    let body = seal::seal_to_teams(&m.keys_copy(), &intrusion, &[recipient(b)]).unwrap();
    let intrusion = m.envelope(3, Tlp::Amber, Some(root_id), body);
    for e in [&root, &handoff, &intrusion] {
        assert_eq!(node.ingest(NOW, &bytes(e), Origin::Local), Verdict::Accept);
    }
    let (_, people) = node.participants(NOW, &root_id).unwrap();
    let mut want = vec![a.id(), b.id(), c.id()];
    want.sort();
    let mut got = people.clone();
    got.sort();
    assert_eq!(got, want, "M must not be among them");
}
