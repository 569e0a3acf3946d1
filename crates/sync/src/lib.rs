//! # csirtmesh-sync: range-based set reconciliation
//!
//! Two nodes find out which envelopes each lacks, at a cost that grows with
//! the difference between their sets, not with their size. Pure and
//! transport-agnostic: it takes a [`Set`] and a message and returns the next
//! message and what was learned; the node carries the messages (over libp2p
//! request-response) and fetches what is missing.
//!
//! The key space is `(created_at, id)`, so ranges follow time and a node that
//! was away for a day differs from the others only in the recent ranges.
//!
//! One step ([`reconcile`]), the same for both sides, for each incoming range:
//! - `Fingerprint(f)`: if our fingerprint of the range equals `f`, the range
//!   is settled (`Skip`). Otherwise, if we hold at most
//!   [`Config::id_list_threshold`] items there, we send their ids
//!   (`IdList`); else we split our items into [`Config::branching`] buckets
//!   and send a fingerprint of each.
//! - `IdList(theirs)`: we now know both sides of the range: we note what we
//!   lack and answer with our ids (`IdListResponse`), so they learn it too.
//! - `IdListResponse(theirs)`: we note what we lack; settled.
//! - `Skip`: settled.
//!
//! Every split makes a range strictly smaller, so a conversation ends; when a
//! message carries nothing but `Skip`, it is over. With `b` buckets and
//! threshold `t`, finding `d` differences among `n` items takes about
//! `log_b(n / t)` round trips and bytes in the order of `d * b * log_b(n/t)`
//! fingerprints plus `d * t` ids.
//!
//! A fingerprint is 16 bytes of BLAKE3 over the item count and the sum, modulo
//! 2^256, of the ids in the range (ids are BLAKE3 hashes already, so their sum
//! does not collide by accident; a member who crafts colliding ids can only
//! hide its own envelopes from sync, which gossip still carries).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::collections::BTreeSet;

use proto::{
    EnvelopeId,
    sync::{Bound, Mode, Range, Reconcile},
};

/// A key: when an envelope was created, then its id.
pub type Key = (u64, EnvelopeId);

/// Tuning.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Buckets a mismatched range is split into.
    pub branching: usize,
    /// At most this many items in a mismatched range: send the ids instead.
    pub id_list_threshold: usize,
}

impl Default for Config {
    fn default() -> Self {
        // 16 buckets of fingerprints (16 bytes + a 40-byte bound each) cost
        // about as much as 32 ids; at that size, listing ids is cheaper than
        // splitting again.
        Config {
            branching: 16,
            id_list_threshold: 32,
        }
    }
}

/// A node's set of keys, sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Set {
    keys: BTreeSet<Key>,
}

impl Set {
    /// An empty set.
    pub fn new() -> Self {
        Set::default()
    }

    /// Adds a key; returns whether it was new.
    pub fn insert(&mut self, key: Key) -> bool {
        self.keys.insert(key)
    }

    /// Removes a key (a retracted envelope leaves the set).
    pub fn remove(&mut self, key: &Key) -> bool {
        self.keys.remove(key)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether the set holds an id (any time).
    pub fn contains(&self, key: &Key) -> bool {
        self.keys.contains(key)
    }

    fn range(&self, lower: &Bound, upper: &Bound) -> impl Iterator<Item = &Key> {
        let start = match lower {
            Bound::Key(t, id) => std::ops::Bound::Included((*t, *id)),
            Bound::End => std::ops::Bound::Excluded((u64::MAX, EnvelopeId([0xff; 32]))),
        };
        let end = match upper {
            Bound::Key(t, id) => std::ops::Bound::Excluded((*t, *id)),
            Bound::End => std::ops::Bound::Unbounded,
        };
        let empty = matches!((lower, upper), (Bound::End, _))
            || matches!((lower, upper), (Bound::Key(..), Bound::Key(..)) if lower >= upper);
        let range = if empty {
            None
        } else {
            Some(self.keys.range((start, end)))
        };
        range.into_iter().flatten()
    }
}

impl FromIterator<Key> for Set {
    fn from_iter<I: IntoIterator<Item = Key>>(iter: I) -> Self {
        Set {
            keys: iter.into_iter().collect(),
        }
    }
}

/// The fingerprint of some keys.
fn fingerprint<'a>(keys: impl Iterator<Item = &'a Key>) -> [u8; 16] {
    let mut sum = [0u64; 4];
    let mut count: u64 = 0;
    for (_, id) in keys {
        count += 1;
        let mut carry = 0u128;
        for (i, limb) in sum.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&id.0[i * 8..i * 8 + 8]);
            let s = u128::from(*limb) + u128::from(u64::from_le_bytes(b)) + carry;
            *limb = s as u64;
            carry = s >> 64;
        }
    }
    let mut h = blake3::Hasher::new();
    h.update(&count.to_le_bytes());
    for limb in sum {
        h.update(&limb.to_le_bytes());
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    out
}

/// The first message of a conversation: one fingerprint over everything.
pub fn initiate(set: &Set) -> Reconcile {
    Reconcile {
        ranges: vec![Range {
            upper: Bound::End,
            mode: Mode::Fingerprint(fingerprint(
                set.range(&Bound::Key(0, EnvelopeId([0; 32])), &Bound::End),
            )),
        }],
    }
}

/// What one step produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// The message to send back; `None` when the conversation is over.
    pub reply: Option<Reconcile>,
    /// Ids the peer holds and we lack (to fetch).
    pub need: Vec<EnvelopeId>,
    /// Ids we hold and the peer lacks.
    pub have: Vec<EnvelopeId>,
}

/// Why a message cannot be processed.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// Ranges out of order, or not ending at [`Bound::End`].
    Malformed(&'static str),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Malformed(m) => write!(f, "malformed reconciliation message: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Processes one incoming message against our set.
pub fn reconcile(set: &Set, msg: &Reconcile, config: &Config) -> Result<Step, Error> {
    let mut out: Vec<Range> = Vec::new();
    let mut step = Step::default();
    let mut lower = Bound::Key(0, EnvelopeId([0; 32]));
    if msg.ranges.last().map(|r| r.upper) != Some(Bound::End) {
        return Err(Error::Malformed("the last range must end at End"));
    }
    for range in &msg.ranges {
        if range.upper <= lower && range.upper != Bound::End {
            return Err(Error::Malformed("ranges out of order"));
        }
        let mine: Vec<&Key> = set.range(&lower, &range.upper).collect();
        match &range.mode {
            Mode::Skip => push(&mut out, range.upper, Mode::Skip),
            Mode::Fingerprint(theirs) => {
                if fingerprint(mine.iter().copied()) == *theirs {
                    push(&mut out, range.upper, Mode::Skip);
                } else if mine.len() <= config.id_list_threshold {
                    push(
                        &mut out,
                        range.upper,
                        Mode::IdList(mine.iter().map(|k| k.1).collect()),
                    );
                } else {
                    let b = config.branching.max(2);
                    let per = mine.len().div_ceil(b);
                    let chunks: Vec<&[&Key]> = mine.chunks(per).collect();
                    for (i, chunk) in chunks.iter().enumerate() {
                        let upper = match chunks.get(i + 1) {
                            Some(next) => Bound::Key(next[0].0, next[0].1),
                            None => range.upper,
                        };
                        push(
                            &mut out,
                            upper,
                            Mode::Fingerprint(fingerprint(chunk.iter().copied())),
                        );
                    }
                }
            }
            Mode::IdList(theirs) | Mode::IdListResponse(theirs) => {
                let their_set: BTreeSet<&EnvelopeId> = theirs.iter().collect();
                let my_set: BTreeSet<&EnvelopeId> = mine.iter().map(|k| &k.1).collect();
                step.need
                    .extend(theirs.iter().filter(|id| !my_set.contains(id)));
                step.have.extend(
                    mine.iter()
                        .map(|k| k.1)
                        .filter(|id| !their_set.contains(id)),
                );
                if matches!(range.mode, Mode::IdList(_)) {
                    push(
                        &mut out,
                        range.upper,
                        Mode::IdListResponse(mine.iter().map(|k| k.1).collect()),
                    );
                } else {
                    push(&mut out, range.upper, Mode::Skip);
                }
            }
        }
        lower = range.upper;
    }
    if out.iter().any(|r| r.mode != Mode::Skip) {
        step.reply = Some(Reconcile { ranges: out });
    }
    step.need.sort();
    step.need.dedup();
    step.have.sort();
    step.have.dedup();
    Ok(step)
}

/// Appends a range, merging consecutive `Skip`s.
fn push(out: &mut Vec<Range>, upper: Bound, mode: Mode) {
    if mode == Mode::Skip
        && let Some(last) = out.last_mut()
        && last.mode == Mode::Skip
    {
        last.upper = upper;
        return;
    }
    out.push(Range { upper, mode });
}

#[cfg(test)]
mod tests;
