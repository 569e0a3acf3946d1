//! This team's keys (issue 11, item 5): replacing the signing key, replacing
//! the age key (what a thief holding the old one can no longer open), GREEN
//! sender keys that follow every member's recipient and a schedule, and
//! each replacement cut short by a crash.

use mesh_core::Verdict;
use proto::{Body, Envelope, EnvelopeId, Kind, MembershipAct, Profile, Tlp};
use store::Store;
use testkit::Team;

use super::tests::{NOW, copy_all, incident, mesh};
use super::{Node, Origin};
use proto::Charter;

const DAY: u64 = 24 * 3_600_000;

#[tokio::test]
async fn key_rotation_keeps_the_team_and_its_history() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, mut x) = team_in_dir(tmp.path(), "CSIRT-X");
    let old = x.id();
    let (mut a, mut b) = (Team::new("A"), Team::new("B"));
    let charter = found(&mut [&mut a, &mut b, &mut x]);
    let mut node = dir_node(&dir, &charter);
    let before = node
        .open_incident(NOW, incident("before the rotation", "clear", vec![]))
        .unwrap();
    node.rotate_key(NOW).unwrap();
    let new = dir.team_keys().unwrap().team_id();
    assert_ne!(new, old);
    assert!(dir.next_signing_key().unwrap().is_none());
    assert_eq!(dir.profile().unwrap().1.team, new);
    assert!(node.members.is_member(&new) && !node.members.is_member(&old));
    // The history stays: the old key's incident is still there and readable.
    let id: EnvelopeId = before.id.parse().unwrap();
    assert!(
        node.load_entry(NOW, &id)
            .unwrap()
            .unwrap()
            .payload
            .is_some()
    );
    // The node publishes under the new key from now on.
    let after = node
        .open_incident(NOW, incident("after", "clear", vec![]))
        .unwrap();
    let env = Envelope::decode(
        &node
            .store
            .get(&after.id.parse().unwrap())
            .unwrap()
            .unwrap()
            .bytes,
    )
    .unwrap();
    assert_eq!(env.content.author, new);
}

#[tokio::test]
async fn an_interrupted_rotation_is_finished_or_discarded_on_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, mut x) = team_in_dir(tmp.path(), "CSIRT-X");
    let old = x.id();
    let (mut a, mut b) = (Team::new("A"), Team::new("B"));
    let charter = found(&mut [&mut a, &mut b, &mut x]);
    // Crash after writing team.key.next but before publishing: discarded.
    crate::datadir::write_new(
        &dir.file(crate::datadir::files::TEAM_KEY_NEXT),
        b"00",
        0o600,
    )
    .unwrap();
    let store = Store::open(&dir.file(crate::datadir::files::DATABASE)).unwrap();
    crate::recover_key_rotation(&dir, &store).unwrap();
    assert!(dir.next_signing_key().unwrap().is_none());
    assert_eq!(dir.team_keys().unwrap().team_id(), old);
    // A complete new key whose rotation was never published: discarded too.
    let unused = dir.team_keys().unwrap().with_new_signing_key();
    crate::datadir::write_new(
        &dir.file(crate::datadir::files::TEAM_KEY_NEXT),
        unused.secrets().0.as_bytes(),
        0o600,
    )
    .unwrap();
    crate::recover_key_rotation(&dir, &store).unwrap();
    assert!(dir.next_signing_key().unwrap().is_none());
    assert_eq!(dir.team_keys().unwrap().team_id(), old);
    drop(store);
    // Crash after publishing but before replacing team.key: finished.
    let mut node = dir_node(&dir, &charter);
    let new = node.keys.with_new_signing_key();
    crate::datadir::write_new(
        &dir.file(crate::datadir::files::TEAM_KEY_NEXT),
        new.secrets().0.as_bytes(),
        0o600,
    )
    .unwrap();
    let msg = proto::membership::rotation_message(&node.mesh, &old);
    let act = MembershipAct::RotateKey {
        new: new.team_id(),
        proof: new.sign(proto::context::KEY_ROTATION, &msg),
    };
    node.publish(
        NOW,
        Kind::Membership,
        Tlp::Clear,
        None,
        Body::Clear(act.to_bytes().unwrap()),
    )
    .unwrap();
    let store = Store::open(&dir.file(crate::datadir::files::DATABASE)).unwrap();
    crate::recover_key_rotation(&dir, &store).unwrap();
    assert_eq!(dir.team_keys().unwrap().team_id(), new.team_id());
    assert_eq!(dir.profile().unwrap().1.team, new.team_id());
}

/// A team made by `csirtmesh init` in a data directory under `root`, as a
/// fixture team (its keys and profile as the directory holds them).
pub(super) fn team_in_dir(root: &std::path::Path, name: &str) -> (crate::datadir::DataDir, Team) {
    let dir = crate::datadir::DataDir::new(root.join(name));
    let opts = crate::datadir::InitOptions {
        name: name.into(),
        ..Default::default()
    };
    dir.init(&opts, testkit::NOW).unwrap();
    let team = team_of(&dir);
    (dir, team)
}

/// The fixture team a data directory holds now.
fn team_of(dir: &crate::datadir::DataDir) -> Team {
    Team {
        keys: dir.team_keys().unwrap(),
        profile: dir.profile().unwrap().1,
        mesh: testkit::MESH,
    }
}

/// Sets every team's mesh to the one `founders` found, in this order.
pub(super) fn found(founders: &mut [&mut Team]) -> Charter {
    let charter = testkit::charter(&founders.iter().map(|t| &**t).collect::<Vec<_>>());
    let id = charter.mesh_id().unwrap();
    for t in founders.iter_mut() {
        t.mesh = id;
    }
    charter
}

/// The node of the team in `dir`, in the mesh `charter` founds.
pub(super) fn dir_node(dir: &crate::datadir::DataDir, charter: &Charter) -> Node {
    let founders = charter
        .founders
        .iter()
        .map(|sp| seal::verify_profile(sp).unwrap())
        .collect();
    let store = Store::open(&dir.file(crate::datadir::files::DATABASE)).unwrap();
    Node::new(
        store,
        dir.team_keys().unwrap(),
        dir.profile().unwrap().0,
        charter.clone(),
        founders,
        NOW,
    )
    .unwrap()
    .with_data_dir(dir.clone())
}

fn envelope_of(node: &Node, id: &str) -> seal::VerifiedEnvelope {
    let bytes = node.store.get(&id.parse().unwrap()).unwrap().unwrap().bytes;
    seal::verify_envelope(Envelope::decode(&bytes).unwrap()).unwrap()
}

/// The GREEN sender key an envelope the node holds was sealed to.
fn green_key(node: &Node, id: &str) -> proto::KeyId {
    seal::sender_key_of(&envelope_of(node, id)).expect("a GREEN envelope")
}

/// The node's key-share envelopes, newest place last.
fn key_shares(node: &Node) -> Vec<seal::VerifiedEnvelope> {
    let mut shares: Vec<_> = node
        .store
        .by_kind(Kind::KeyShare)
        .unwrap()
        .into_iter()
        .map(|s| seal::verify_envelope(Envelope::decode(&s.bytes).unwrap()).unwrap())
        .collect();
    shares.sort_by_key(|e| (e.content().author, e.content().seq));
    shares
}

fn reads(node: &mut Node, id: &str, at: u64) -> bool {
    node.load_entry(at, &id.parse().unwrap())
        .unwrap()
        .is_some_and(|e| e.payload.is_some())
}

#[test]
fn a_replaced_age_key_opens_nothing_new_and_every_green_key_follows() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, mut x) = team_in_dir(tmp.path(), "CSIRT-X");
    let (mut a, mut b) = (Team::new("A"), Team::new("B"));
    let charter = found(&mut [&mut a, &mut b, &mut x]);
    let mut as_x = dir_node(&dir, &charter);
    let mut as_a = super::tests::node_for(&a, &[&a, &b, &x]);
    // What a thief copied from X's data directory before the change.
    let stolen = x.keys_copy();

    let a_green = as_a
        .open_incident(NOW, incident("before", "green", vec![]))
        .unwrap();
    let x_green = as_x
        .open_incident(NOW, incident("before", "green", vec![]))
        .unwrap();
    copy_all(&as_a, &mut as_x);
    copy_all(&as_x, &mut as_a);
    assert!(reads(&mut as_x, &a_green.id, NOW));
    let a_share = key_shares(&as_a)
        .into_iter()
        .find(|e| e.content().author == a.id())
        .unwrap();
    assert!(
        seal::open_as_team(&a_share, &stolen).is_ok(),
        "the thief opens A's key share: the old age key is worth replacing"
    );

    as_x.rotate_age_key(NOW + 1).unwrap();
    let new_recipient = as_x.keys.recipient();
    assert_ne!(new_recipient, stolen.recipient());
    assert_eq!(dir.profile().unwrap().1.recipient, new_recipient);
    assert_eq!(dir.team_keys().unwrap().recipient(), new_recipient);
    assert_eq!(dir.team_keys().unwrap().retired().len(), 1);
    assert!(
        dir.file(crate::datadir::files::AGE_KEY_NEXT)
            .exists()
            .then_some(())
            .is_none()
    );
    assert_eq!(
        as_x.members.profile(&x.id()).unwrap().recipient,
        new_recipient
    );

    // A learns the new profile: its next GREEN is under a new key, shared
    // under X's new recipient, which the thief cannot open.
    copy_all(&as_x, &mut as_a);
    assert_eq!(
        as_a.members.profile(&x.id()).unwrap().recipient,
        new_recipient
    );
    let a_green2 = as_a
        .open_incident(NOW + 2, incident("after", "green", vec![]))
        .unwrap();
    assert_ne!(
        green_key(&as_a, &a_green2.id),
        green_key(&as_a, &a_green.id)
    );
    let a_share2 = key_shares(&as_a)
        .into_iter()
        .filter(|e| e.content().author == a.id())
        .last()
        .unwrap();
    assert_ne!(a_share2.envelope().id, a_share.envelope().id);
    assert!(matches!(
        seal::open_as_team(&a_share2, &stolen),
        Err(seal::Error::NotForUs)
    ));
    // AMBER to X after the change: X reads it, the thief does not.
    let amber = as_a
        .open_incident(
            NOW + 3,
            incident("amber after", "amber", vec![x.id().to_string()]),
        )
        .unwrap();
    assert!(matches!(
        seal::open_as_team(&envelope_of(&as_a, &amber.id), &stolen),
        Err(seal::Error::NotForUs)
    ));
    copy_all(&as_a, &mut as_x);
    assert!(reads(&mut as_x, &a_green2.id, NOW + 3));
    assert!(reads(&mut as_x, &amber.id, NOW + 3));
    // X's own next GREEN is under a new key too: the thief holds the old one.
    let x_green2 = as_x
        .open_incident(NOW + 4, incident("x after", "green", vec![]))
        .unwrap();
    assert_ne!(
        green_key(&as_x, &x_green2.id),
        green_key(&as_x, &x_green.id)
    );

    // B had not heard: it sealed to X's old recipient. X still opens it
    // (the retired identity), by its hint among the others.
    let late = b.amber_open(1, "sealed to the old recipient", &[&x]);
    assert_eq!(
        as_x.ingest(
            NOW + 5,
            &late.envelope().bytes,
            Origin::Sync(net::PeerId::random())
        ),
        Verdict::Accept
    );
    assert!(reads(&mut as_x, &late.envelope().id.to_string(), NOW + 5));

    // After a restart the node still holds both identities.
    drop(as_x);
    let mut again = dir_node(&dir, &charter);
    assert_eq!(again.keys.recipient(), new_recipient);
    assert_eq!(
        again
            .keys
            .retired()
            .iter()
            .map(|k| k.to_public().to_string())
            .collect::<Vec<_>>(),
        vec![stolen.recipient()]
    );
    assert!(reads(&mut again, &late.envelope().id.to_string(), NOW + 6));
}

#[test]
fn an_envelope_sealed_with_a_recipient_announced_later_is_opened_when_it_comes() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, mut x) = team_in_dir(tmp.path(), "CSIRT-X");
    let (mut a, mut b) = (Team::new("A"), Team::new("B"));
    let charter = found(&mut [&mut a, &mut b, &mut x]);
    let mut as_x = dir_node(&dir, &charter);
    // A replaces its age key: a new profile at place 1, then an AMBER
    // incident to X at place 2 whose hints A made with its new key.
    let mut a2 = Team {
        keys: a.keys.with_new_age_key(),
        profile: Profile {
            recipient: String::new(),
            updated_at: NOW + 1,
            ..a.profile.clone()
        },
        mesh: a.mesh,
    };
    a2.profile.recipient = a2.keys.recipient();
    let profile = a2.join_request(1);
    let amber = a2.amber_open(2, "sealed with A's new key", &[&x]);
    let peer = Origin::Sync(net::PeerId::random());
    // The incident arrives first: its hint is not one X can recognise yet.
    assert_eq!(
        as_x.ingest(NOW + 3, &amber.envelope().bytes, peer),
        Verdict::Accept
    );
    let id = amber.envelope().id.to_string();
    assert!(!reads(&mut as_x, &id, NOW + 3));
    // The profile follows: X looks again, and opens it.
    assert_eq!(
        as_x.ingest(NOW + 3, &profile.envelope().bytes, peer),
        Verdict::Accept
    );
    assert!(reads(&mut as_x, &id, NOW + 3));
}

#[test]
fn green_keys_rotate_on_a_schedule() {
    let (a, b, c) = mesh();
    let mut as_a = super::tests::node_for(&a, &[&a, &b, &c]);
    let green = |node: &mut Node, at: u64| {
        let p = node
            .open_incident(at, incident("green", "green", vec![]))
            .unwrap();
        green_key(node, &p.id)
    };
    let k1 = green(&mut as_a, NOW);
    assert_eq!(
        green(&mut as_a, NOW + DAY),
        k1,
        "within its time a key is reused"
    );
    let k2 = green(&mut as_a, NOW + 31 * DAY);
    assert_ne!(k2, k1, "a 30-day-old key is replaced");
    let k3 = green(&mut as_a, NOW + 62 * DAY);
    assert_ne!(k3, k2);
    // The replaced keys stay: the team's own GREEN envelopes open only with
    // them (a damaged row fetched again must still open).
    for k in [k1, k2, k3] {
        assert!(as_a.store.sender_key(&k).unwrap().is_some());
    }
    // Each new key went to the members in its own key share.
    assert_eq!(key_shares(&as_a).len(), 3);
}

#[test]
fn an_interrupted_age_key_replacement_is_finished_or_discarded_on_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, x) = team_in_dir(tmp.path(), "CSIRT-X");
    let old = x.keys.recipient();
    let next = dir.file(crate::datadir::files::AGE_KEY_NEXT);
    // Crash before the profile named the new key: discarded.
    let unused = x.keys.with_new_age_key();
    crate::datadir::write_new(
        &next,
        seal::identity_secret(unused.age_identity()).as_bytes(),
        0o600,
    )
    .unwrap();
    crate::recover_age_rotation(&dir).unwrap();
    assert!(!next.exists());
    assert_eq!(dir.team_keys().unwrap().recipient(), old);
    // Half-written: discarded.
    crate::datadir::write_new(&next, b"AGE-SECRET-KEY-1QQ", 0o600).unwrap();
    crate::recover_age_rotation(&dir).unwrap();
    assert!(!next.exists());
    // Crash after the old key was retired and the profile re-signed, before
    // age.key was replaced: finished, and both keys are kept.
    let new = x.keys.with_new_age_key();
    crate::datadir::write_new(
        &next,
        seal::identity_secret(new.age_identity()).as_bytes(),
        0o600,
    )
    .unwrap();
    dir.retire_age_keys(Some(x.keys.age_identity()), NOW, None)
        .unwrap();
    crate::resign_profile(&dir, &new, NOW).unwrap();
    crate::recover_age_rotation(&dir).unwrap();
    assert!(!next.exists());
    let keys = dir.team_keys().unwrap();
    assert_eq!(keys.recipient(), new.recipient());
    assert_eq!(keys.retired().len(), 1);
    assert_eq!(keys.retired()[0].to_public().to_string(), old);
    assert_eq!(dir.profile().unwrap().1.recipient, new.recipient());
    // The retired key is deleted once its keeping time has passed.
    assert_eq!(dir.retire_age_keys(None, NOW + 29 * DAY, None).unwrap(), 0);
    assert_eq!(dir.team_keys().unwrap().retired().len(), 1);
    assert_eq!(dir.retire_age_keys(None, NOW + 31 * DAY, None).unwrap(), 1);
    assert!(dir.team_keys().unwrap().retired().is_empty());
}

#[test]
fn a_profile_newer_than_the_meshs_is_published_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, mut x) = team_in_dir(tmp.path(), "CSIRT-X");
    let (mut a, mut b) = (Team::new("A"), Team::new("B"));
    let charter = found(&mut [&mut a, &mut b, &mut x]);
    // The profile file was re-signed with a new recipient, but the node
    // stopped before publishing it.
    let new = x.keys.with_new_age_key();
    crate::resign_profile(&dir, &new, NOW).unwrap();
    std::fs::write(
        dir.file(crate::datadir::files::AGE_KEY),
        seal::identity_secret(new.age_identity()),
    )
    .unwrap();
    let mut as_x = dir_node(&dir, &charter);
    assert_ne!(
        as_x.members.profile(&x.id()).unwrap().recipient,
        new.recipient()
    );
    as_x.join_if_needed(NOW).unwrap();
    assert_eq!(
        as_x.members.profile(&x.id()).unwrap().recipient,
        new.recipient()
    );
    // Once is enough.
    let before = as_x.store.count().unwrap();
    as_x.join_if_needed(NOW).unwrap();
    assert_eq!(as_x.store.count().unwrap(), before);
}

#[test]
fn retired_age_keys_are_forgotten_on_time_unless_the_mesh_still_names_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, mut x) = team_in_dir(tmp.path(), "CSIRT-X");
    let (mut a, mut b) = (Team::new("A"), Team::new("B"));
    let charter = found(&mut [&mut a, &mut b, &mut x]);
    let mut as_x = dir_node(&dir, &charter);
    as_x.rotate_age_key(NOW).unwrap();
    let retired = |n: &Node| n.keys.retired().len();
    assert_eq!(retired(&as_x), 1);
    as_x.forget_retired_age_keys(NOW + 29 * DAY).unwrap();
    assert_eq!(retired(&as_x), 1, "within its keeping time");
    as_x.forget_retired_age_keys(NOW + 31 * DAY).unwrap();
    assert_eq!(retired(&as_x), 0, "forgotten in memory");
    assert!(dir.team_keys().unwrap().retired().is_empty(), "and on disk");

    // A key the mesh still names as the team's (as if the profile naming
    // a new one never took) is kept, whatever its age.
    let tmp2 = tempfile::tempdir().unwrap();
    let (dir2, mut y) = team_in_dir(tmp2.path(), "CSIRT-Y");
    let charter2 = found(&mut [&mut a, &mut b, &mut y]);
    let mut as_y = dir_node(&dir2, &charter2);
    dir2.retire_age_keys(Some(as_y.keys.age_identity()), NOW, None)
        .unwrap();
    as_y.forget_retired_age_keys(NOW + 40 * DAY).unwrap();
    assert_eq!(dir2.retired_age_keys().unwrap().len(), 1);
    // Without a node to say so, the same file is pruned.
    assert_eq!(dir2.retire_age_keys(None, NOW + 40 * DAY, None).unwrap(), 1);
}

#[test]
fn profiles_dated_ahead_or_in_a_flood_cost_nothing_lasting() {
    let (a, b, mut c) = mesh();
    let mut as_a = super::tests::node_for(&a, &[&a, &b, &c]);
    let peer = Origin::Sync(net::PeerId::random());
    // A profile dated past its envelope would outrank every later one.
    c.profile.updated_at = testkit::NOW + 1 + mesh_core::validate::MAX_CLOCK_SKEW_MS + 1;
    let ahead = c.join_request(1);
    assert!(matches!(
        as_a.ingest(NOW, &ahead.envelope().bytes, peer),
        Verdict::Reject(mesh_core::Reason::BadProfile(why)) if why.contains("after the envelope")
    ));
    // Twenty profiles, each naming a new age key: each newer one is noted,
    // but a node remembers at most four of C's recipients; stale ones (an
    // older date) add nothing.
    for seq in 1..=20u64 {
        let keys = seal::TeamKeys::generate();
        c.profile.recipient = keys.recipient();
        c.profile.updated_at = NOW + seq;
        let env = c.join_request(seq);
        assert_eq!(
            as_a.ingest(NOW + seq, &env.envelope().bytes, peer),
            Verdict::Accept
        );
    }
    assert_eq!(
        as_a.recipients[&c.id()].len(),
        super::keys::MAX_KNOWN_RECIPIENTS
    );
    let current = as_a.members.profile(&c.id()).unwrap().recipient.clone();
    c.profile.recipient = seal::TeamKeys::generate().recipient();
    c.profile.updated_at = NOW;
    let stale = c.join_request(21);
    assert_eq!(
        as_a.ingest(NOW + 21, &stale.envelope().bytes, peer),
        Verdict::Accept
    );
    assert!(
        !as_a.recipients[&c.id()]
            .iter()
            .any(|(_, r)| *r == c.profile.recipient)
    );
    assert_eq!(as_a.members.profile(&c.id()).unwrap().recipient, current);
}

#[test]
fn recipients_of_profiles_arriving_out_of_order_are_all_remembered() {
    let (a, b, mut c) = mesh();
    let mut as_a = super::tests::node_for(&a, &[&a, &b, &c]);
    let peer = Origin::Sync(net::PeerId::random());
    let profile = |c: &mut Team, seq: u64| {
        c.profile.recipient = seal::TeamKeys::generate().recipient();
        c.profile.updated_at = NOW + seq;
        (c.join_request(seq), c.profile.recipient.clone())
    };
    let (second, r2) = profile(&mut c, 2);
    let (third, r3) = profile(&mut c, 3);
    // The newer first, then the one between: both are C's recipients to
    // try (envelopes C sealed while the second was current carry its hints).
    for env in [&third, &second] {
        assert_eq!(
            as_a.ingest(NOW + 3, &env.envelope().bytes, peer),
            Verdict::Accept
        );
    }
    let known: Vec<&String> = as_a.recipients[&c.id()].iter().map(|(_, r)| r).collect();
    assert!(known.contains(&&r2) && known.contains(&&r3), "{known:?}");
    assert_eq!(as_a.members.profile(&c.id()).unwrap().recipient, r3);
}
