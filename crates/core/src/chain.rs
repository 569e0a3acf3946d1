//! Authors' chains: each key's envelopes, ordered by `seq`.
//!
//! An honest author numbers its envelopes 1, 2, 3... and stamps them with a
//! clock that never goes back, so along one key's chain `seq` is unique and
//! `created_at` never decreases. Two envelopes of one key that break this
//! (two at one `seq`, or a later `seq` stamped earlier) were not written by
//! one honest writer: a stolen key, a copied data directory, or an author
//! rewriting its history. Either way the chain is *forked* from that
//! position on, and nothing the key signed from there counts
//! ([`crate::membership`] removes the team).
//!
//! Every node decides a fork from the envelopes it holds, pair by pair, so
//! two nodes holding the same envelopes find the same fork position,
//! whatever order they came in: the position is the lowest `seq` at which
//! some pair contradicts. Checking each arrival against its neighbours in
//! the chain (the nearest lower and higher `seq`, and any at the same `seq`)
//! finds it: along the part below the lowest contradiction the chain is in
//! order, so the nearest lower neighbour has the highest time below.

use proto::EnvelopeId;

/// One envelope's place in its author's chain: the envelope's own, or the
/// place a tombstone says the envelope it retracts held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    /// Its position.
    pub seq: u64,
    /// Its self-declared time (ms); unknown for a place a tombstone names.
    pub created_at: Option<u64>,
    /// The envelope.
    pub id: EnvelopeId,
}

/// Where two links of one key's chain contradict each other, if they do:
/// the position from which the chain is forked. Two envelopes at one place,
/// one envelope at two places (a tombstone lying about its target's), or a
/// later place stamped earlier.
pub fn contradiction(a: &Link, b: &Link) -> Option<u64> {
    let (lo, hi) = if a.seq <= b.seq { (a, b) } else { (b, a) };
    if a.id == b.id {
        return (lo.seq != hi.seq).then_some(lo.seq);
    }
    let backwards = matches!((lo.created_at, hi.created_at), (Some(l), Some(h)) if l > h);
    (lo.seq == hi.seq || backwards).then_some(hi.seq)
}

/// A new link checked against its neighbours in what a node holds of the
/// chain: those at the same position, the nearest below and the nearest
/// above. Returns the lowest contradiction and the link it contradicts.
pub fn check<'a>(
    new: &Link,
    neighbours: impl IntoIterator<Item = &'a Link>,
) -> Option<(u64, EnvelopeId)> {
    neighbours
        .into_iter()
        .filter_map(|n| contradiction(new, n).map(|at| (at, n.id)))
        .min()
}

/// The fork of a whole chain (any order), if it has one: the lowest
/// position at which two of its links contradict each other, and two links
/// that show it. What the neighbour checks of [`check`] must come to (their
/// property test compares the two).
pub fn fork_of(links: &[Link]) -> Option<(u64, EnvelopeId, EnvelopeId)> {
    let mut sorted: Vec<&Link> = links.iter().collect();
    sorted.sort_by_key(|l| (l.seq, l.created_at, l.id));
    let mut found: Option<(u64, EnvelopeId, EnvelopeId)> = None;
    let mut note = |a: &Link, b: &Link| {
        if let Some(at) = contradiction(a, b) {
            let this = (at, a.id, b.id);
            found = Some(found.map_or(this, |f| f.min(this)));
        }
    };
    // Same position: neighbours in this order. Time going back: against the
    // latest stamped so far (below the lowest contradiction the chain is in
    // order, so that is the one a later link contradicts).
    for pair in sorted.windows(2) {
        note(pair[0], pair[1]);
    }
    let mut by_id = sorted.clone();
    by_id.sort_by_key(|l| (l.id, l.seq));
    for pair in by_id.windows(2) {
        note(pair[0], pair[1]);
    }
    let mut highest: Option<&Link> = None;
    for l in sorted.iter().filter(|l| l.created_at.is_some()) {
        if let Some(h) = highest {
            note(h, l);
        }
        if highest.is_none_or(|h| l.created_at >= h.created_at) {
            highest = Some(l);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn link(seq: u64, created_at: u64, n: u8) -> Link {
        Link {
            seq,
            created_at: Some(created_at),
            id: EnvelopeId([n; 32]),
        }
    }

    #[test]
    fn an_honest_chain_has_no_fork() {
        let chain = [link(1, 10, 1), link(2, 10, 2), link(4, 30, 4)];
        assert_eq!(fork_of(&chain), None);
        assert_eq!(check(&link(3, 20, 3), &chain), None);
    }

    #[test]
    fn two_envelopes_at_one_position_fork_it_there() {
        let chain = [
            link(1, 10, 1),
            link(2, 20, 2),
            link(2, 25, 9),
            link(3, 30, 3),
        ];
        assert_eq!(fork_of(&chain).map(|f| f.0), Some(2));
        assert_eq!(check(&link(2, 25, 9), &chain[..2]), Some((2, chain[1].id)));
    }

    #[test]
    fn a_later_position_stamped_earlier_forks_the_chain_at_the_later_one() {
        // A backdated act at seq 5 against an honest seq 3 stamped later.
        let chain = [link(1, 10, 1), link(3, 500, 3), link(5, 100, 5)];
        assert_eq!(fork_of(&chain).map(|f| f.0), Some(5));
        assert_eq!(check(&chain[2], &chain[..2]), Some((5, chain[1].id)));
        // The same envelope arriving before the others is found by them.
        assert_eq!(
            check(&chain[1], &[chain[0], chain[2]]),
            Some((5, chain[2].id))
        );
    }

    /// Links of one key, some contradicting: seq 1..=12, times that mostly
    /// grow, a few duplicates at one position.
    fn chains() -> impl Strategy<Value = Vec<Link>> {
        prop::collection::vec((1u64..=12, 0u64..60), 1..14).prop_map(|raw| {
            raw.into_iter()
                .enumerate()
                .map(|(i, (seq, jitter))| link(seq, seq * 40 + jitter, i as u8))
                .collect()
        })
    }

    proptest! {
        /// Checking each arrival against its neighbours among what arrived
        /// before finds the same fork as looking at the whole chain, in
        /// whatever order the links arrive (what a node does at ingest).
        #[test]
        fn neighbour_checks_in_any_order_find_the_whole_chains_fork(
            links in chains(),
            order in prop::collection::vec(any::<prop::sample::Index>(), 14),
        ) {
            let mut pending = links.clone();
            let mut held: Vec<Link> = vec![];
            let mut found: Option<u64> = None;
            for pick in order.iter().take(links.len()) {
                let new = pending.remove(pick.index(pending.len()));
                let same: Vec<&Link> = held.iter().filter(|l| l.seq == new.seq).collect();
                let below = held.iter().filter(|l| l.seq < new.seq).max_by_key(|l| (l.seq, l.created_at, l.id));
                let above = held.iter().filter(|l| l.seq > new.seq).min_by_key(|l| (l.seq, l.created_at, l.id));
                let neighbours: Vec<&Link> = same.into_iter().chain(below).chain(above).collect();
                if let Some((at, _)) = check(&new, neighbours) {
                    found = Some(found.map_or(at, |f| f.min(at)));
                }
                held.push(new);
            }
            prop_assert_eq!(found, fork_of(&links).map(|f| f.0));
        }
    }
}
