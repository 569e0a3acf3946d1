//! Issue 11, item 1: an opener checks that a body sealed to named teams was
//! sealed to exactly the teams its inner content names (one hint each, plus
//! one for the author's own copy). What fails the check is kept unread,
//! blaming nobody, as every fault only a recipient can see.

use mesh_core::Verdict;
use proto::{IncidentPayload, Tlp};
use testkit::Team;

use super::tests::{NOW, bytes, mesh, node_for};
use super::{Node, Origin};

fn recipient(t: &Team) -> seal::AgeRecipient {
    seal::parse_recipient(&t.keys.recipient()).unwrap()
}

/// C's AMBER incident naming `named`, sealed to `sealed`, as `reader`'s
/// node sees it: whether it reads the content.
fn reads(reader: &mut Node, c: &Team, named: &[&Team], sealed: &[&Team]) -> bool {
    let inner = c.inner(
        Tlp::Amber,
        named.iter().map(|t| t.id()).collect(),
        IncidentPayload::Open {
            title: "who is told".into(),
            description: "and who is not".into(),
            indicators: Vec::new(),
            source: None,
        },
    );
    let to: Vec<_> = sealed.iter().map(|t| recipient(t)).collect();
    let body = seal::seal_to_teams(&c.keys_copy(), &inner, &to).unwrap();
    let env = c.envelope(1, Tlp::Amber, None, body);
    let v = reader.ingest(NOW, &bytes(&env), Origin::Sync(net::PeerId::random()));
    assert_eq!(v, Verdict::Accept, "kept either way, blaming nobody");
    let entry = reader.load_entry(NOW, &env.envelope().id).unwrap().unwrap();
    entry.payload.is_some()
}

#[test]
fn a_recipient_reads_only_what_was_sealed_to_the_teams_it_names() {
    let (a, b, c) = mesh();
    // Named and sealed alike (with or without the author's own copy): read.
    assert!(reads(
        &mut node_for(&a, &[&a, &b, &c]),
        &c,
        &[&a, &b],
        &[&a, &b]
    ));
    assert!(reads(
        &mut node_for(&a, &[&a, &b, &c]),
        &c,
        &[&a, &b],
        &[&a, &b, &c]
    ));
    // Sealed to A without naming it (a hidden recipient the others are not
    // told of): A keeps it unread.
    assert!(!reads(
        &mut node_for(&a, &[&a, &b, &c]),
        &c,
        &[&b],
        &[&a, &b]
    ));
    // Naming B without sealing to it (the others believe B was told).
    assert!(!reads(
        &mut node_for(&a, &[&a, &b, &c]),
        &c,
        &[&a, &b],
        &[&a]
    ));
}
