//! A node restored from a backup writes nothing until it has caught up
//! with a member's node, then continues its chain past a gap, so what it
//! wrote after the backup and lost never meets a second envelope at its
//! place (a fork every node would take for a stolen key).

use proto::Envelope;

use super::key_tests::{dir_node, found, team_in_dir};
use super::tests::{NOW, add_node, incident};
use super::{Origin, restore::CATCHING_UP};
use crate::{
    api::ApiError,
    backup::{self, RESTORE_GAP},
};
use mesh_core::Verdict;
use testkit::Team;

const PASS: &str = "a long enough passphrase";

#[tokio::test]
async fn a_restored_node_waits_for_a_member_then_jumps_past_what_it_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, mut x) = team_in_dir(tmp.path(), "CSIRT-X");
    let (mut a, mut b) = (Team::new("A"), Team::new("B"));
    let a_node = add_node(&mut a);
    let charter = found(&mut [&mut a, &mut b, &mut x]);
    let mut node = dir_node(&dir, &charter);
    node.open_incident(NOW, incident("before the backup", "clear", vec![]))
        .unwrap();
    let file = tmp.path().join("x.backup");
    backup::backup(&dir, &file, PASS, NOW).unwrap();
    // Written after the backup: A received it, then the node was lost.
    let lost = node
        .open_incident(NOW + 1, incident("after the backup", "clear", vec![]))
        .unwrap();
    let lost = node.store.get(&lost.id.parse().unwrap()).unwrap().unwrap();
    let lost_seq = Envelope::decode(&lost.bytes).unwrap().content.seq;
    drop(node);

    let new = crate::datadir::DataDir::new(tmp.path().join("restored"));
    backup::restore(&file, &new, PASS, NOW + 2).unwrap();
    let marker = backup::restored(&new).unwrap();
    assert!(marker.is_some());
    let mut node = dir_node(&new, &charter).with_restored(marker.as_ref());
    assert!(node.catching_up());
    let refused = node.open_incident(NOW + 3, incident("too early", "clear", vec![]));
    assert!(
        matches!(refused, Err(ApiError::Unavailable(m)) if m == CATCHING_UP),
        "a restored node writes nothing before it caught up"
    );
    // A stranger's node does not count as catching up.
    node.synced_with(&net::PeerId::random()).unwrap();
    assert!(node.catching_up());
    // A's node hands back what the node wrote after the backup.
    assert_eq!(
        node.ingest(NOW + 4, &lost.bytes, Origin::Sync(a_node)),
        Verdict::Accept
    );
    node.synced_with(&a_node).unwrap();
    assert!(!node.catching_up());
    assert!(
        backup::restored(&new).unwrap().is_none(),
        "the marker is gone"
    );
    let next = node
        .open_incident(NOW + 5, incident("after the restore", "clear", vec![]))
        .unwrap();
    let next = node.store.get(&next.id.parse().unwrap()).unwrap().unwrap();
    let next_seq = Envelope::decode(&next.bytes).unwrap().content.seq;
    assert_eq!(next_seq, lost_seq + RESTORE_GAP + 1);
    assert!(node.forks.is_empty(), "no fork of its own chain");

    // Restarted before writing again: the jump is recorded, never undone.
    drop(node);
    let node = dir_node(&new, &charter);
    assert_eq!(node.seq, next_seq);
}
