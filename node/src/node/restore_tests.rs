//! A node restored from a backup writes nothing until it has caught up with
//! enough members' nodes and the clock-skew window has passed, then
//! continues its chain past a gap, so what it wrote after the backup and
//! lost never meets a second envelope at its place (a fork every node
//! would take for a stolen key), even when that envelope surfaces later,
//! and even after a second restore of the same backup.

use mesh_core::{Verdict, validate::MAX_CLOCK_SKEW_MS};
use proto::{Charter, Envelope};

use super::key_tests::{dir_node, found, team_in_dir};
use super::tests::{NOW, add_node, incident};
use super::{Node, Origin, restore::CATCHING_UP};
use crate::{
    api::{ApiError, types::RotateKeyRequest},
    backup,
    datadir::DataDir,
};
use testkit::Team;

const PASS: &str = "a long enough passphrase";

/// X backed up with one incident; then X writes one more (returned: "lost"
/// with the node) and is dropped.
struct Lost {
    tmp: tempfile::TempDir,
    charter: Charter,
    file: std::path::PathBuf,
    lost: Vec<u8>,
    lost_seq: u64,
    a_node: net::PeerId,
    b_node: net::PeerId,
}

fn backed_up_then_lost() -> Lost {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, mut x) = team_in_dir(tmp.path(), "CSIRT-X");
    let (mut a, mut b) = (Team::new("A"), Team::new("B"));
    let a_node = add_node(&mut a);
    let b_node = add_node(&mut b);
    let charter = found(&mut [&mut a, &mut b, &mut x]);
    let mut node = dir_node(&dir, &charter);
    node.open_incident(NOW, incident("before the backup", "clear", vec![]))
        .unwrap();
    let file = tmp.path().join("x.backup");
    backup::backup(&dir, &file, PASS, NOW).unwrap();
    let lost = node
        .open_incident(NOW + 1, incident("after the backup", "clear", vec![]))
        .unwrap();
    let lost = node.store.get(&lost.id.parse().unwrap()).unwrap().unwrap();
    let lost_seq = Envelope::decode(&lost.bytes).unwrap().content.seq;
    Lost {
        tmp,
        charter,
        file,
        lost: lost.bytes,
        lost_seq,
        a_node,
        b_node,
    }
}

/// Restores into `name` at `now`, and starts the node.
fn restored(l: &Lost, name: &str, now: u64) -> (DataDir, Node) {
    let dir = DataDir::new(l.tmp.path().join(name));
    backup::restore(&l.file, &dir, PASS, now, false).unwrap();
    let marker = backup::restored(&dir, now).unwrap();
    assert!(marker.is_some());
    let node = dir_node(&dir, &l.charter).with_restored(marker.as_ref());
    (dir, node)
}

fn refused<T: std::fmt::Debug>(r: Result<T, ApiError>) -> bool {
    matches!(r, Err(ApiError::Unavailable(m)) if m == CATCHING_UP)
}

fn seq_of(node: &Node, id: &str) -> u64 {
    let stored = node.store.get(&id.parse().unwrap()).unwrap().unwrap();
    Envelope::decode(&stored.bytes).unwrap().content.seq
}

#[tokio::test]
async fn a_restored_node_waits_for_members_and_the_clock_then_jumps_past_what_it_lost() {
    let l = backed_up_then_lost();
    let t0 = NOW + 2;
    let (dir, mut node) = restored(&l, "restored", t0);
    assert!(node.catching_up());
    // Every kind of write is refused while catching up.
    assert!(refused(
        node.open_incident(t0, incident("too early", "clear", vec![]))
    ));
    assert!(refused(node.rotate_keys(t0, RotateKeyRequest::default())));
    // A stranger's node does not count; one member's is not enough (the
    // charter's threshold is 2); both members, but inside the clock-skew
    // window, is not enough either.
    assert!(!node.synced_with(t0, &net::PeerId::random()).unwrap());
    assert!(!node.synced_with(t0, &l.a_node).unwrap());
    assert!(
        !node.synced_with(t0, &l.a_node).unwrap(),
        "the same member twice"
    );
    assert!(!node.synced_with(t0, &l.b_node).unwrap());
    assert!(node.catching_up());
    let later = t0 + MAX_CLOCK_SKEW_MS;
    assert!(node.synced_with(later, &l.b_node).unwrap());
    assert!(!node.catching_up());
    assert!(
        backup::restored(&dir, later).unwrap().is_none(),
        "the marker is gone"
    );

    // Restarted before writing anything: the jump is on disk.
    let jumped = node.seq;
    assert!(jumped > l.lost_seq);
    drop(node);
    let mut node = dir_node(&dir, &l.charter);
    assert_eq!(node.seq, jumped);
    assert!(!node.catching_up());

    // It writes; then the envelope it lost surfaces (a member that was
    // offline hands it over): it takes its own place, no fork.
    let next = node
        .open_incident(later + 1, incident("after the restore", "clear", vec![]))
        .unwrap();
    assert_eq!(seq_of(&node, &next.id), jumped + 1);
    assert_eq!(
        node.ingest(later + 2, &l.lost, Origin::Sync(l.a_node)),
        Verdict::Accept
    );
    assert!(node.forks.is_empty(), "no fork of its own chain");
}

/// Two restores of one backup, the second later and never told of what
/// the first wrote: the second jumps past the first's writes.
#[tokio::test]
async fn a_second_restore_of_one_backup_jumps_past_the_first() {
    let l = backed_up_then_lost();
    let catch_up = |node: &mut Node, now: u64| {
        node.synced_with(now, &l.a_node).unwrap();
        assert!(node.synced_with(now, &l.b_node).unwrap());
    };
    let t1 = NOW + 2 + MAX_CLOCK_SKEW_MS;
    let (_, mut first) = restored(&l, "first", NOW + 2);
    catch_up(&mut first, t1);
    let w1 = first
        .open_incident(t1, incident("from the first restore", "clear", vec![]))
        .unwrap();
    let w1 = first.store.get(&w1.id.parse().unwrap()).unwrap().unwrap();
    drop(first);

    let t2 = t1 + 1;
    let (_, mut second) = restored(&l, "second", t2 - MAX_CLOCK_SKEW_MS);
    catch_up(&mut second, t2);
    let w2 = second
        .open_incident(t2, incident("from the second restore", "clear", vec![]))
        .unwrap();
    assert!(seq_of(&second, &w2.id) > Envelope::decode(&w1.bytes).unwrap().content.seq);
    for bytes in [&w1.bytes, &l.lost] {
        assert_eq!(
            second.ingest(t2 + 1, bytes, Origin::Sync(l.a_node)),
            Verdict::Accept
        );
    }
    assert!(
        second.forks.is_empty(),
        "the two restores did not fork the chain"
    );
}
