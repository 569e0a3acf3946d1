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
//! some pair contradicts. Checking each arrival against a few chosen
//! neighbours (see [`check`]) finds it in any arrival order
//! (property-tested against [`fork_of`], which looks at every pair).

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
    /// The envelope whose signature says so: `id` itself, or the tombstone
    /// that names the place. What a fork's evidence is made of.
    pub shown_by: EnvelopeId,
    /// Its place: `seq` itself, or the tombstone's.
    pub shown_at: u64,
}

/// Where two links of one key's chain contradict each other, if they do:
/// the position from which the chain is forked. Two envelopes at one place:
/// that place. A tombstone's named place taken by another envelope, or one
/// envelope named at two places: the place of the later envelope that says
/// so (the tombstone). A later place stamped earlier: the *earlier*
/// place, since either could be the lie, and cutting at the later one would
/// leave the key everything below it (a key that stamps an envelope at the
/// top of the range back in time would keep its whole range).
pub fn contradiction(a: &Link, b: &Link) -> Option<u64> {
    let (lo, hi) = if a.seq <= b.seq { (a, b) } else { (b, a) };
    if a.created_at.is_none() || b.created_at.is_none() {
        // A tombstone's named place against another link: the fork is where
        // the later of the two envelopes that say so sits, so that both
        // stay within what every node keeps of the chain.
        let clash = (a.id == b.id) != (a.seq == b.seq);
        return clash.then_some(a.shown_at.max(b.shown_at));
    }
    if a.id == b.id {
        return (lo.seq != hi.seq).then_some(lo.seq);
    }
    let backwards = matches!((lo.created_at, hi.created_at), (Some(l), Some(h)) if l > h);
    (lo.seq == hi.seq || backwards).then_some(lo.seq)
}

/// A new link checked against what a node holds of its chain. The
/// neighbours that find the lowest contradiction, whatever the arrival
/// order: the links at its place; the places tombstones name for it; the
/// lowest-placed link below it stamped later; one link above it stamped
/// earlier. Every contradicting pair is examined when the later of its two
/// links arrives, and each of those neighbours gives the lowest position
/// any pair with the new link can. Returns the lowest contradiction and the
/// envelope that shows the link it contradicts.
pub fn check<'a>(
    new: &Link,
    neighbours: impl IntoIterator<Item = &'a Link>,
) -> Option<(u64, EnvelopeId)> {
    neighbours
        .into_iter()
        .filter_map(|n| contradiction(new, n).map(|at| (at, n.shown_by)))
        .min()
}

/// The fork of a whole chain (any order), if it has one: the lowest
/// position at which two of its links contradict each other, and two links
/// that show it. What the arrival checks of [`check`] must come to (their
/// property test compares the two).
pub fn fork_of(links: &[Link]) -> Option<(u64, EnvelopeId, EnvelopeId)> {
    let mut found: Option<(u64, EnvelopeId, EnvelopeId)> = None;
    for (i, a) in links.iter().enumerate() {
        for b in &links[i + 1..] {
            if let Some(at) = contradiction(a, b) {
                let this = (at, a.id.min(b.id), a.id.max(b.id));
                found = Some(found.map_or(this, |f| f.min(this)));
            }
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
            shown_by: EnvelopeId([n; 32]),
            shown_at: seq,
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
    fn a_later_position_stamped_earlier_forks_the_chain_at_the_earlier_one() {
        // A backdated act at seq 5 against an honest seq 3 stamped later.
        let chain = [link(1, 10, 1), link(3, 500, 3), link(5, 100, 5)];
        assert_eq!(fork_of(&chain).map(|f| f.0), Some(3));
        assert_eq!(check(&chain[2], &chain[..2]), Some((3, chain[1].id)));
        // The same envelope arriving before the others is found by them.
        assert_eq!(
            check(&chain[1], &[chain[0], chain[2]]),
            Some((3, chain[2].id))
        );
        // One stamped back in time at the top of the range does not leave
        // the key everything below it.
        let top = [link(10, 100, 1), link(proto::envelope::MAX_SEQ, 0, 2)];
        assert_eq!(fork_of(&top).map(|f| f.0), Some(10));
    }

    /// Links of one key, some contradicting: seq 1..=12, times that mostly
    /// grow, a few duplicates at one position.
    fn chains() -> impl Strategy<Value = Vec<Link>> {
        prop::collection::vec((1u64..=12, 0u64..60), 1..14).prop_map(|raw| {
            raw.into_iter()
                .enumerate()
                .map(|(i, (seq, jitter))| {
                    // Now and then one stamped far back in time.
                    let at = if jitter == 59 { 0 } else { seq * 40 + jitter };
                    link(seq, at, i as u8)
                })
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
                let below = held.iter().filter(|l| l.seq < new.seq && l.created_at > new.created_at).min_by_key(|l| l.seq);
                let above = held.iter().find(|l| l.seq > new.seq && l.created_at < new.created_at);
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
