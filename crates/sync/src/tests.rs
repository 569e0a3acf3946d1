//! Reconciliation without a network: any two sets reconcile to their
//! differences, in few rounds, with bytes that follow the difference.

use proptest::prelude::*;

use super::*;

fn key(n: u64) -> Key {
    let h = blake3::hash(&n.to_le_bytes());
    (n / 3, EnvelopeId(*h.as_bytes()))
}

/// Runs a whole conversation; returns (what A lacks, what B lacks, rounds).
fn run(a: &Set, b: &Set, config: &Config) -> (Vec<EnvelopeId>, Vec<EnvelopeId>, usize) {
    let mut msg = initiate(a);
    let (mut a_need, mut b_need) = (Vec::new(), Vec::new());
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds < 100, "conversation does not end");
        let step = reconcile(b, &msg, config).unwrap();
        b_need.extend(step.need);
        let Some(reply) = step.reply else { break };
        let step = reconcile(a, &reply, config).unwrap();
        a_need.extend(step.need);
        match step.reply {
            Some(m) => msg = m,
            None => break,
        }
    }
    a_need.sort();
    b_need.sort();
    (a_need, b_need, rounds)
}

fn diff(x: &Set, y: &Set) -> Vec<EnvelopeId> {
    let mut d: Vec<EnvelopeId> = x.keys.difference(&y.keys).map(|k| k.1).collect();
    d.sort();
    d
}

proptest! {
    #[test]
    fn any_two_sets_reconcile_to_their_union(
        common in prop::collection::btree_set(0u64..5_000, 0..400),
        only_a in prop::collection::btree_set(5_000u64..10_000, 0..60),
        only_b in prop::collection::btree_set(10_000u64..15_000, 0..60),
        branching in 2usize..20,
        threshold in 1usize..40,
    ) {
        let config = Config { branching, id_list_threshold: threshold };
        let a: Set = common.iter().chain(&only_a).map(|n| key(*n)).collect();
        let b: Set = common.iter().chain(&only_b).map(|n| key(*n)).collect();
        let (a_need, b_need, _) = run(&a, &b, &config);
        prop_assert_eq!(a_need, diff(&b, &a));
        prop_assert_eq!(b_need, diff(&a, &b));
    }
}

#[test]
fn equal_sets_settle_in_one_round_trip() {
    let a: Set = (0..10_000).map(key).collect();
    let step = reconcile(&a.clone(), &initiate(&a), &Config::default()).unwrap();
    assert_eq!(step.reply, None);
    assert!(step.need.is_empty());
}

#[test]
fn empty_against_full_lists_everything() {
    let a = Set::new();
    let b: Set = (0..1_000).map(key).collect();
    let (a_need, b_need, _) = run(&a, &b, &Config::default());
    assert_eq!(a_need.len(), 1_000);
    assert!(b_need.is_empty());
}

#[test]
fn malformed_messages_are_refused() {
    let a: Set = (0..10).map(key).collect();
    let no_end = Reconcile {
        ranges: vec![Range {
            upper: Bound::Key(5, EnvelopeId([0; 32])),
            mode: Mode::Skip,
        }],
    };
    assert!(reconcile(&a, &no_end, &Config::default()).is_err());
    let backwards = Reconcile {
        ranges: vec![
            Range {
                upper: Bound::Key(5, EnvelopeId([0; 32])),
                mode: Mode::Skip,
            },
            Range {
                upper: Bound::Key(1, EnvelopeId([0; 32])),
                mode: Mode::Skip,
            },
            Range {
                upper: Bound::End,
                mode: Mode::Skip,
            },
        ],
    };
    assert!(reconcile(&a, &backwards, &Config::default()).is_err());
}
