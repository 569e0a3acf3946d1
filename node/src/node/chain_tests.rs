//! Issue 11, items 3 and 4, through ingest with a manual clock: history
//! cannot be rewritten (a key's chain is cut by place, not by claimed time;
//! a fork is found and removes the team), and nodes holding the same
//! envelopes hold the same members and the same log, whatever order the
//! envelopes came in.

use std::collections::BTreeSet;

use mesh_core::{
    Verdict,
    membership::{Refusal, Removal},
};
use proptest::prelude::*;
use proto::{EnvelopeId, MembershipAct, TeamId};
use seal::{TeamKeys, VerifiedEnvelope};

use testkit::Team;

use super::tests::{NOW, bytes, copy_all, incident, mesh, mesh_of, node_for};
use super::{Node, Origin};
use crate::api::types::{MembershipAction, MembershipRequest};

fn from_peer() -> Origin {
    Origin::Sync(net::PeerId::random())
}

/// A rotation of `team`'s key to `to`, at place `seq`, claiming `at`.
fn rotation(team: &Team, to: &TeamKeys, seq: u64, at: u64) -> VerifiedEnvelope {
    let msg = proto::membership::rotation_message(&team.mesh, &team.id());
    let act = MembershipAct::RotateKey {
        new: to.team_id(),
        proof: to.sign(proto::context::KEY_ROTATION, &msg),
    };
    team.act(seq, at, &act)
}

fn suspension(by: &Team, seq: u64, target: &Team, after_seq: u64) -> VerifiedEnvelope {
    let act = MembershipAct::Suspend {
        target: target.id(),
        reason: "abuse".into(),
        after_seq,
    };
    by.act(seq, testkit::NOW + 1_000 + seq, &act)
}

/// What a node holds: its members, removed teams, and stored ids.
fn state(node: &Node) -> (Vec<TeamId>, Vec<TeamId>, BTreeSet<EnvelopeId>) {
    let m = node.members();
    (
        m.member_ids().copied().collect(),
        m.removed().keys().copied().collect(),
        node.store.ids().unwrap().into_iter().collect(),
    )
}

/// A thief of A's signing key backdates a rotation to its own key, stamped
/// before A's latest envelope. However the two arrive, the chain shows two
/// writers (a later place stamped earlier): a fork, at the earlier of the
/// two places. The rotation is void, the thief's key is nobody, A is
/// removed; both nodes agree.
#[test]
fn a_backdated_rotation_by_a_thief_is_a_fork_whatever_the_order() {
    let (a, b, c) = mesh();
    let thief = TeamKeys::generate();
    let honest = a.clear_comment(2, "A's own, stamped NOW+2");
    let stolen = rotation(&a, &thief, 3, testkit::NOW);
    let mut first = node_for(&b, &[&a, &b, &c]);
    let mut second = node_for(&c, &[&a, &b, &c]);
    for env in [&honest, &stolen] {
        assert_eq!(first.ingest(NOW, &bytes(env), from_peer()), Verdict::Accept);
    }
    assert_eq!(
        second.ingest(NOW, &bytes(&stolen), from_peer()),
        Verdict::Accept
    );
    assert_eq!(
        second.members().canon(&a.id()),
        thief.team_id(),
        "alone, the rotation counts (nothing shows it is stolen yet)"
    );
    assert_eq!(
        second.ingest(NOW, &bytes(&honest), from_peer()),
        Verdict::Accept
    );
    for node in [&first, &second] {
        let m = node.members();
        assert_eq!(m.forks().get(&a.id()), Some(&2));
        assert_eq!(m.removed()[&a.id()].removal, Removal::Forked);
        assert!(!m.is_member(&thief.team_id()));
        assert_eq!(m.canon(&a.id()), a.id(), "the rotation is void");
        assert_eq!(m.may_author(&a.id(), 3), Err(Refusal::Forked(2)));
    }
    assert_eq!(state(&first), state(&second));
    // The fork is stored with the envelope that showed it: a restarted
    // node knows it without seeing the pair again.
    assert_eq!(first.store.forks().unwrap()[0].1, 2);
}

/// The thief is quicker and does not backdate: its rotation takes the next
/// place in A's chain. A's own node sees its key rotated to a key it does not
/// hold; `revoke` then goes at the rotation's place, which forks the chain:
/// the thief's rotation is void and the team is removed, on every node.
#[test]
fn the_owner_answers_a_stolen_rotation_with_a_revocation_at_its_place() {
    let (a, b, c) = mesh();
    let thief = TeamKeys::generate();
    let mut owner = node_for(&a, &[&a, &b, &c]);
    let stolen = rotation(&a, &thief, 1, NOW);
    assert_eq!(
        owner.ingest(NOW, &bytes(&stolen), from_peer()),
        Verdict::Accept
    );
    assert!(owner.members().is_member(&thief.team_id()));
    let req = MembershipRequest {
        action: MembershipAction::Revoke,
        team: None,
        reason: "key stolen".into(),
        days: None,
        nodes: vec![],
    };
    owner.act(NOW + 10, req).unwrap();
    let revocation = owner.store.by_kind(proto::Kind::Membership).unwrap();
    assert_eq!(revocation.len(), 2, "the rotation and the revocation");
    assert!(!owner.members().is_member(&thief.team_id()));
    assert_eq!(owner.members().removed()[&a.id()].removal, Removal::Forked);
    // Another node, given both in the other order, agrees.
    let mut other = node_for(&b, &[&a, &b, &c]);
    let thief_id = thief.team_id();
    let mut held: Vec<Vec<u8>> = revocation.into_iter().map(|s| s.bytes).collect();
    held.reverse();
    for bytes in &held {
        assert_eq!(other.ingest(NOW + 20, bytes, from_peer()), Verdict::Accept);
    }
    assert_eq!(state(&other).0, state(&owner).0);
    assert_eq!(state(&other).1, vec![a.id()]);
    // The thief's key can publish nothing, whatever time it claims.
    let mut as_thief = Team::new("T");
    as_thief.keys = thief;
    as_thief.mesh = a.mesh;
    assert_eq!(as_thief.id(), thief_id);
    let late = as_thief.clear_comment(1, "mine now");
    assert!(matches!(
        other.ingest(NOW + 30, &bytes(&late), from_peer()),
        Verdict::Reject(_)
    ));
}

/// Two members suspend C, each naming the last of C's envelopes it saw.
/// A node that already holds more of C deletes what lies past the cut; a
/// node that learns of the suspension first refuses it: both end up holding
/// the same log. C's suspension of A, signed after its cut, counts for
/// nothing (D's alone does not make two).
#[test]
fn a_suspension_cuts_the_chain_and_every_node_ends_up_holding_the_same() {
    let teams = mesh_of(4);
    let (a, b, c, d) = (&teams[0], &teams[1], &teams[2], &teams[3]);
    let all: Vec<&Team> = teams.iter().collect();
    let comments: Vec<VerifiedEnvelope> = (1..=5)
        .map(|seq| c.clear_comment(seq, &format!("C {seq}")))
        .collect();
    let revenge = suspension(c, 6, a, 0);
    let cut = [
        suspension(a, 1, c, 3),
        suspension(b, 1, c, 2),
        suspension(d, 1, a, 0),
    ];
    let mut early = node_for(a, &all);
    let mut late = node_for(b, &all);
    for env in comments.iter().chain([&revenge]) {
        assert_eq!(early.ingest(NOW, &bytes(env), from_peer()), Verdict::Accept);
    }
    for env in &cut {
        assert_eq!(early.ingest(NOW, &bytes(env), from_peer()), Verdict::Accept);
        assert_eq!(late.ingest(NOW, &bytes(env), from_peer()), Verdict::Accept);
    }
    for env in comments.iter().chain([&revenge]) {
        let v = late.ingest(NOW, &bytes(env), from_peer());
        if env.content().seq <= 2 {
            assert_eq!(v, Verdict::Accept);
        } else {
            assert!(
                matches!(v, Verdict::Reject(_)),
                "seq {}: {v:?}",
                env.content().seq
            );
        }
    }
    assert_eq!(state(&early), state(&late));
    let held = state(&early).2;
    for env in &comments[2..] {
        assert!(!held.contains(&env.envelope().id), "past the cut: deleted");
    }
    assert!(
        !early
            .sync_set
            .contains(&(comments[4].content().created_at, comments[4].envelope().id))
    );
    assert_eq!(early.members().removed()[&c.id()].last_seq, 2);
    assert!(
        early.members().is_member(&a.id()),
        "C's late suspension of A counts for nothing"
    );
}

/// Two envelopes at one place are kept as evidence (every node needs them
/// to find the fork); a third is not stored, and nothing after the fork is.
#[test]
fn a_forks_evidence_is_kept_and_nothing_more() {
    let (a, b, c) = mesh();
    let mut node = node_for(&a, &[&a, &b, &c]);
    let one = c.clear_comment(2, "one");
    let two = c.clear_comment(2, "two");
    let three = c.clear_comment(2, "three");
    for env in [&c.clear_comment(1, "first"), &one, &two] {
        assert_eq!(node.ingest(NOW, &bytes(env), from_peer()), Verdict::Accept);
    }
    assert_eq!(node.members().forks().get(&c.id()), Some(&2));
    assert!(matches!(
        node.ingest(NOW, &bytes(&three), from_peer()),
        Verdict::Ignore(_)
    ));
    assert!(matches!(
        node.ingest(NOW, &bytes(&c.clear_comment(3, "after")), from_peer()),
        Verdict::Reject(_)
    ));
    assert_eq!(node.store.count_at(&c.id(), 2).unwrap(), 2);
}

/// E's chain: 1..4, then two envelopes at 5 (a fork), and at 6 a tombstone
/// retracting the first of them, naming its place.
fn hidden_fork(e: &Team) -> Vec<VerifiedEnvelope> {
    let mut chain: Vec<VerifiedEnvelope> = (1..=4).map(|seq| e.clear_comment(seq, "E")).collect();
    let first = e.clear_comment(5, "E 5");
    let tomb = proto::Retraction {
        target: first.envelope().id,
        reason: "hide the fork".into(),
        target_seq: 5,
    };
    let tomb = e.clear_record(
        proto::Kind::Retraction,
        6,
        testkit::NOW + 6,
        tomb.to_bytes().unwrap(),
    );
    chain.extend([first, e.clear_comment(5, "E 5, the other history"), tomb]);
    chain
}

/// A member that jumps ahead in its chain (1, then 1,000) leaves a gap a
/// suspension's cut must not leave open: a suspending node names where
/// what it holds is first broken (1), so the jump is past the cut, deleted,
/// and nothing can be written into the gap afterwards.
#[test]
fn a_gap_in_a_chain_cannot_be_filled_after_a_suspension() {
    let (a, b, c) = mesh();
    let mut node = node_for(&a, &[&a, &b, &c]);
    for seq in [1, 1_000] {
        let env = c.clear_comment(seq, "C");
        assert_eq!(node.ingest(NOW, &bytes(&env), from_peer()), Verdict::Accept);
    }
    let req = MembershipRequest {
        action: MembershipAction::Suspend,
        team: Some(c.id().to_string()),
        reason: "abuse".into(),
        days: None,
        nodes: vec![],
    };
    node.act(NOW, req).unwrap();
    let theirs = suspension(&b, 1, &c, 1_000);
    assert_eq!(
        node.ingest(NOW, &bytes(&theirs), from_peer()),
        Verdict::Accept
    );
    assert_eq!(node.members().removed()[&c.id()].last_seq, 1);
    assert_eq!(
        node.store.count_at(&c.id(), 1_000).unwrap(),
        0,
        "past the cut"
    );
    let filled = c.clear_comment(2, "written into the gap after the suspension");
    assert!(matches!(
        node.ingest(NOW, &bytes(&filled), from_peer()),
        Verdict::Reject(_)
    ));
}

/// E forks its chain at 5 and retracts one branch. A node that gets the
/// tombstone first still finds the fork (the tombstone names the place its
/// target held); a node that found the fork first keeps both envelopes
/// (evidence is not retracted) and refuses what E wrote after. Fed each
/// other's envelopes, they end up holding the same.
#[test]
fn a_fork_hidden_behind_a_retraction_is_found_by_every_node() {
    let (a, b, c) = mesh();
    let chain = hidden_fork(&c);
    let mut tomb_first = node_for(&a, &[&a, &b, &c]);
    let mut fork_first = node_for(&b, &[&a, &b, &c]);
    let mut reordered: Vec<&VerifiedEnvelope> = chain.iter().collect();
    reordered.swap(4, 6);
    for _ in 0..2 {
        for env in &reordered {
            tomb_first.ingest(NOW, &bytes(env), from_peer());
        }
        for env in &chain {
            fork_first.ingest(NOW, &bytes(env), from_peer());
        }
    }
    // And a node that never gets the retracted branch at all (every node
    // that held it got the tombstone first and deleted it) finds the fork
    // from the place the tombstone names.
    let mut never_saw_it = node_for(&c, &[&a, &b, &c]);
    for env in reordered
        .iter()
        .filter(|e| e.envelope().id != chain[4].envelope().id)
    {
        never_saw_it.ingest(NOW, &bytes(env), from_peer());
    }
    // There, the fork is where the tombstone sits (6), so that the tombstone
    // stays within what is kept.
    assert_eq!(never_saw_it.members().forks().get(&c.id()), Some(&6));
    // Sync from a node that kept the retracted branch as evidence brings
    // it, and with it the fork at 5.
    copy_all(&fork_first, &mut never_saw_it);
    for node in [&tomb_first, &fork_first, &never_saw_it] {
        assert_eq!(node.members().forks().get(&c.id()), Some(&5));
        assert_eq!(node.members().removed()[&c.id()].removal, Removal::Forked);
    }
    assert_eq!(state(&tomb_first), state(&fork_first));
    assert_eq!(state(&never_saw_it), state(&fork_first));
}

/// A thief with A's retired key writes past the rotation, stamped back
/// between two of A's earlier envelopes. A node that knew of the rotation
/// refuses it as past the cut, but still sees the fork it shows (lower than
/// any known) and keeps it as evidence, so it ends where a node that got it
/// before the rotation ends.
#[test]
fn an_envelope_past_a_cut_that_shows_a_lower_fork_counts_on_every_node() {
    let (a, b, c) = mesh();
    let thief = TeamKeys::generate();
    let honest = [a.clear_comment(1, "A 1"), a.clear_comment(2, "A 2")];
    let rotated = rotation(&a, &thief, 3, testkit::NOW + 30);
    let inner = a.inner(
        proto::Tlp::Clear,
        vec![],
        proto::IncidentPayload::Comment {
            text: "with the retired key".into(),
        },
    );
    let content = proto::EnvelopeContent {
        mesh: a.mesh,
        kind: proto::Kind::Incident,
        author: a.id(),
        seq: 4,
        created_at: testkit::NOW + 1,
        tlp: proto::Tlp::Clear,
        thread: None,
        parents: vec![],
        body: proto::Body::Clear(seal::sign_inner(&a.keys, &inner).unwrap()),
    };
    let late = seal::sign_envelope(&a.keys, &content).unwrap();
    let mut knew = node_for(&b, &[&a, &b, &c]);
    let mut did_not = node_for(&c, &[&a, &b, &c]);
    for env in honest.iter().chain([&rotated]) {
        knew.ingest(NOW, &bytes(env), from_peer());
    }
    knew.ingest(NOW, &bytes(&late), from_peer());
    for env in honest.iter().chain([&late, &rotated]) {
        did_not.ingest(NOW, &bytes(env), from_peer());
    }
    for node in [&knew, &did_not] {
        assert_eq!(node.members().forks().get(&a.id()), Some(&2));
        assert_eq!(
            node.members().canon(&a.id()),
            a.id(),
            "the rotation is void"
        );
    }
    assert_eq!(state(&knew), state(&did_not));
}

/// A thief writes at the next place of A's chain. A's node does not adopt
/// it (it would then write after it, and the theft would never show): its
/// next envelope takes the same place, and the fork removes the team, so
/// the thief's envelope counts for nothing.
#[test]
fn a_thiefs_envelope_does_not_move_the_owners_node_and_its_next_write_shows_it() {
    let (a, b, c) = mesh();
    let mut owner = node_for(&a, &[&a, &b, &c]);
    let stolen = a.clear_comment(1, "written with the stolen key");
    assert_eq!(
        owner.ingest(NOW, &bytes(&stolen), from_peer()),
        Verdict::Accept
    );
    assert!(owner.members().forks().is_empty());
    let p = owner
        .open_incident(NOW + 10, incident("mine", "clear", vec![]))
        .unwrap();
    let id: EnvelopeId = p.id.parse().unwrap();
    let stored = owner.store.get(&id).unwrap().unwrap();
    assert_eq!(
        proto::Envelope::decode(&stored.bytes).unwrap().content.seq,
        1
    );
    assert_eq!(owner.members().forks().get(&a.id()), Some(&1));
    assert_eq!(owner.members().removed()[&a.id()].removal, Removal::Forked);
}

/// A fork that only a tombstone's named place shows: the fork is put where
/// the tombstone sits, so the tombstone, its evidence, is within what every
/// node keeps, and a node that syncs later finds the fork too.
#[test]
fn a_fork_a_tombstone_shows_keeps_its_evidence_for_later_nodes() {
    let (a, b, c) = mesh();
    let chain = hidden_fork(&c); // 1..4, X1 at 5, X2 at 5, T at 6 retracting X1
    let (x1, x2, tomb) = (&chain[4], &chain[5], &chain[6]);
    let mut held_x1 = node_for(&a, &[&a, &b, &c]);
    let mut held_x2 = node_for(&b, &[&a, &b, &c]);
    for env in &chain[..4] {
        held_x1.ingest(NOW, &bytes(env), from_peer());
        held_x2.ingest(NOW, &bytes(env), from_peer());
    }
    held_x1.ingest(NOW, &bytes(x1), from_peer());
    held_x2.ingest(NOW, &bytes(x2), from_peer());
    for node in [&mut held_x1, &mut held_x2] {
        node.ingest(NOW, &bytes(tomb), from_peer());
    }
    held_x1.ingest(NOW, &bytes(x2), from_peer());
    for node in [&held_x1, &held_x2] {
        assert_eq!(node.members().forks().get(&c.id()), Some(&6));
        assert!(
            node.store.contains(&tomb.envelope().id).unwrap(),
            "the tombstone shows the fork: kept"
        );
    }
    assert_eq!(state(&held_x1), state(&held_x2));
    let mut later = node_for(&c, &[&a, &b, &c]);
    copy_all(&held_x1, &mut later);
    copy_all(&held_x1, &mut later);
    assert_eq!(later.members().forks().get(&c.id()), Some(&6));
    assert_eq!(later.members().removed()[&c.id()].removal, Removal::Forked);
}

/// The envelopes of a mesh of five founders under attack: A's stolen key
/// rotated away by a backdated act; C suspended by B and D, with envelopes
/// past the cut, a revenge suspension of B signed after it (D's alone does
/// not make two), and a fork of its own; E's fork hidden behind a
/// retraction; ordinary traffic.
fn attacked_mesh() -> (Vec<Team>, Vec<Vec<u8>>) {
    let teams = mesh_of(5);
    let (a, b, c, d) = (&teams[0], &teams[1], &teams[2], &teams[3]);
    let thief = TeamKeys::generate();
    let mut all: Vec<VerifiedEnvelope> = vec![
        a.clear_comment(1, "A 1"),
        a.clear_comment(2, "A 2"),
        rotation(a, &thief, 3, testkit::NOW),
        b.clear_comment(1, "B 1"),
        d.clear_comment(1, "D 1"),
    ];
    all.extend((1..=4).map(|seq| c.clear_comment(seq, "C")));
    all.push(c.clear_comment(3, "C 3, the other history"));
    all.push(suspension(c, 5, b, 0));
    all.push(suspension(d, 3, b, 0));
    all.push(suspension(b, 2, c, 2));
    all.push(suspension(d, 2, c, 3));
    all.extend(hidden_fork(&teams[4]));
    let all = all.iter().map(bytes).collect();
    (teams, all)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 16, ..ProptestConfig::default() })]

    /// Three nodes get the same envelopes, attacks included, each in its own
    /// order, first in batches as sync brings them, then one by one again
    /// (as sync would offer what was refused early): they end with the same
    /// members, the same removed teams and the same log.
    #[test]
    fn nodes_given_the_same_envelopes_in_any_order_agree(
        orders in prop::collection::vec(any::<u64>(), 3),
    ) {
        let (teams, all) = attacked_mesh();
        let founders: Vec<&Team> = teams.iter().collect();
        let mut states = vec![];
        for (i, seed) in orders.into_iter().enumerate() {
            let mut node = node_for(founders[i], &founders);
            let mut order: Vec<&Vec<u8>> = all.iter().collect();
            shuffle(&mut order, seed);
            for chunk in order.chunks(1 + (seed % 7) as usize) {
                let batch: Vec<Vec<u8>> = chunk.iter().map(|e| (*e).clone()).collect();
                node.ingest_batch(NOW, &batch, from_peer());
            }
            for _ in 0..2 {
                for env in &order {
                    node.ingest(NOW, env, from_peer());
                }
            }
            states.push(state(&node));
        }
        prop_assert_eq!(&states[0], &states[1]);
        prop_assert_eq!(&states[0], &states[2]);
        // And what they agree on is the attack undone: A (forked by its
        // thief), C (suspended, and forked) and E (forked) are out; B and D
        // stay.
        let (members, removed, _) = &states[0];
        let out: BTreeSet<TeamId> = [0, 2, 4].iter().map(|i| teams[*i].id()).collect();
        prop_assert_eq!(removed, &out.into_iter().collect::<Vec<_>>());
        let mut stay = vec![teams[1].id(), teams[3].id()];
        stay.sort();
        prop_assert_eq!(members, &stay);
    }
}

fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut s = seed | 1;
    for i in (1..items.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        items.swap(i, (s % (i as u64 + 1)) as usize);
    }
}
