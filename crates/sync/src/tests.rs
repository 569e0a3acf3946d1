//! Reconciliation without a network: any two sets reconcile to their
//! differences, every message stays within the frame limit, and what is
//! not a negentropy message is refused, never a panic.

use proptest::prelude::*;

use super::*;

fn key(n: u64) -> Key {
    let h = blake3::hash(&n.to_le_bytes());
    (n / 3, EnvelopeId(*h.as_bytes()))
}

/// Runs a whole conversation, A initiating; returns (what A has that B
/// lacks, what A lacks, rounds, largest message).
fn run(a: &Set, b: &Set) -> (Vec<EnvelopeId>, Vec<EnvelopeId>, usize, usize) {
    let mut msg = initiate(a).unwrap();
    let (mut have, mut need) = (Vec::new(), Vec::new());
    let (mut rounds, mut largest) = (0, msg.len());
    loop {
        rounds += 1;
        assert!(rounds < 100, "conversation does not end");
        let answer = respond(b, &msg).unwrap();
        largest = largest.max(answer.len());
        let step = reconcile(a, &answer).unwrap();
        have.extend(step.have);
        need.extend(step.need);
        match step.reply {
            Some(m) => {
                largest = largest.max(m.len());
                msg = m;
            }
            None => break,
        }
    }
    have.sort();
    need.sort();
    (have, need, rounds, largest)
}

fn diff(x: &Set, y: &Set) -> Vec<EnvelopeId> {
    let mut d: Vec<EnvelopeId> = x.keys.difference(&y.keys).map(|k| k.1).collect();
    d.sort();
    d
}

proptest! {
    /// One universe, each key in A, in B or in both at random: differences
    /// interleave with shared keys anywhere in time.
    #[test]
    fn any_two_sets_reconcile_to_their_differences(
        places in prop::collection::vec(0u8..3, 0..3_000),
    ) {
        let side = |want: u8| -> Set {
            places
                .iter()
                .enumerate()
                .filter(|(_, p)| **p == want || **p == 2)
                .map(|(i, _)| key(i as u64))
                .collect()
        };
        let (a, b) = (side(0), side(1));
        let (have, need, _, _) = run(&a, &b);
        prop_assert_eq!(have, diff(&a, &b));
        prop_assert_eq!(need, diff(&b, &a));
    }

    /// After the version byte, anything: an error or an answer, never a
    /// panic (the node answers on its event loop).
    #[test]
    fn garbage_is_refused_not_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let a: Set = (0..50).map(key).collect();
        let mut msg = vec![0x61];
        msg.extend(&bytes);
        let _ = respond(&a, &msg);
        let _ = reconcile(&a, &msg);
    }
}

/// More than a frame of differences on both sides at once.
#[test]
fn large_differences_both_ways_reconcile_in_frames() {
    let a: Set = (0..60_000).filter(|n| n % 3 != 1).map(key).collect();
    let b: Set = (0..60_000).filter(|n| n % 3 != 2).map(key).collect();
    let (have, need, rounds, largest) = run(&a, &b);
    assert_eq!(have, diff(&a, &b));
    assert_eq!(need, diff(&b, &a));
    assert_eq!((have.len(), need.len()), (20_000, 20_000));
    assert!(
        largest as u64 <= FRAME_LIMIT && rounds > 2,
        "{rounds} rounds, {largest} bytes"
    );
}

#[test]
fn equal_sets_settle_in_one_round_trip() {
    let a: Set = (0..10_000).map(key).collect();
    let (have, need, rounds, _) = run(&a, &a.clone());
    assert_eq!((have.len(), need.len(), rounds), (0, 0, 1));
}

#[test]
fn a_large_difference_takes_more_round_trips_not_larger_messages() {
    let a = Set::new();
    let b: Set = (0..60_000).map(key).collect();
    let (have, need, rounds, largest) = run(&a, &b);
    assert!(have.is_empty());
    assert_eq!(need.len(), 60_000);
    // 60,000 ids are about 1.9 MB: several frames.
    assert!(largest as u64 <= FRAME_LIMIT, "{largest} bytes");
    assert!(rounds >= 3, "{rounds} round trips");
}

#[test]
fn a_changed_set_is_reconciled_as_it_is_now() {
    let mut a: Set = (0..100).map(key).collect();
    let b = a.clone();
    // Build the cached storage, then change the set: the cache must follow.
    initiate(&a).unwrap();
    assert!(a.insert(key(500)));
    assert!(a.remove(&key(3)));
    let (have, need, _, _) = run(&a, &b);
    assert_eq!(have, vec![key(500).1]);
    assert_eq!(need, vec![key(3).1]);
}

#[test]
fn malformed_messages_are_refused() {
    let a: Set = (0..10).map(key).collect();
    // Not negentropy version 1.
    assert!(respond(&a, &[0x00]).is_err());
    assert!(respond(&a, &[]).is_err());
    // A version byte and then a range of an unknown mode, or cut short.
    for msg in [
        &[0x61u8, 0x00, 0x00, 0x07][..],
        &[0x61, 0x00, 0x00, 0x02, 0x05],
    ] {
        assert!(respond(&a, msg).is_err(), "{msg:?}: {:?}", respond(&a, msg));
    }
}
