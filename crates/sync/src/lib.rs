//! # csirtmesh-sync: set reconciliation on the negentropy protocol
//!
//! Two nodes find out which envelopes each lacks, at a cost that grows with
//! the difference between their sets, not with their size. Pure and
//! transport-agnostic: it takes a [`Set`] and a message and returns the next
//! message and what was learned; the node carries the messages (over libp2p
//! request-response) and fetches what is missing.
//!
//! The protocol is negentropy (version 1, as Nostr relays and Waku store
//! sync speak it), through the maintained `negentropy` crate: range-based
//! reconciliation over `(timestamp, id)` keys with fingerprints of 16
//! buckets and id lists for small ranges. Our keys are `(created_at, id)`,
//! so ranges follow time and a node that was away for a day differs from
//! the others only in the recent ranges. Every message is bounded by
//! [`FRAME_LIMIT`]: a long difference takes more round trips, never a
//! larger message.
//!
//! The initiator learns both directions ([`Step::have`]: ids it holds that
//! the other side lacks; [`Step::need`]: ids it lacks); the responder learns
//! nothing from the protocol itself, so the node tells it afterwards what it
//! has that the responder lacks (`SyncRequest::Have`), and the responder
//! fetches those.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::{collections::BTreeSet, sync::OnceLock};

use negentropy::{Id, Negentropy, NegentropyStorageVector};
use proto::EnvelopeId;

/// A key: when an envelope was created, then its id.
pub type Key = (u64, EnvelopeId);

/// The largest message either side sends (bytes): well under the sync
/// frame limit, so memory per exchange stays bounded; a bigger difference
/// takes more round trips.
pub const FRAME_LIMIT: u64 = 512 * 1024;

/// A node's set of keys, sorted, with negentropy's sealed storage of them
/// built on first use after a change.
#[derive(Default)]
pub struct Set {
    keys: BTreeSet<Key>,
    storage: OnceLock<NegentropyStorageVector>,
}

impl Clone for Set {
    fn clone(&self) -> Self {
        self.keys.iter().copied().collect()
    }
}

impl PartialEq for Set {
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys
    }
}

impl Eq for Set {}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Set({} keys)", self.keys.len())
    }
}

impl Set {
    /// An empty set.
    pub fn new() -> Self {
        Set::default()
    }

    /// Adds a key; returns whether it was new.
    pub fn insert(&mut self, key: Key) -> bool {
        let new = self.keys.insert(key);
        if new {
            self.storage = OnceLock::new();
        }
        new
    }

    /// Removes a key; returns whether it was there.
    pub fn remove(&mut self, key: &Key) -> bool {
        let was = self.keys.remove(key);
        if was {
            self.storage = OnceLock::new();
        }
        was
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether the set holds `key`.
    pub fn contains(&self, key: &Key) -> bool {
        self.keys.contains(key)
    }

    /// Negentropy's sealed storage of the keys (inserted in order, so
    /// sealing sorts nothing).
    fn storage(&self) -> Result<&NegentropyStorageVector, Error> {
        if let Some(s) = self.storage.get() {
            return Ok(s);
        }
        let mut s = NegentropyStorageVector::with_capacity(self.keys.len());
        for (t, id) in &self.keys {
            s.insert(*t, Id::from_byte_array(id.0))
                .map_err(Error::from)?;
        }
        s.seal().map_err(Error::from)?;
        Ok(self.storage.get_or_init(|| s))
    }
}

impl FromIterator<Key> for Set {
    fn from_iter<I: IntoIterator<Item = Key>>(iter: I) -> Self {
        Set {
            keys: iter.into_iter().collect(),
            storage: OnceLock::new(),
        }
    }
}

/// What the initiator learned from one answer, and what to send next.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// The next message, or `None` when the sets are reconciled.
    pub reply: Option<Vec<u8>>,
    /// Ids we hold that the other side lacks.
    pub have: Vec<EnvelopeId>,
    /// Ids we lack.
    pub need: Vec<EnvelopeId>,
}

/// A message that cannot be processed.
#[derive(Debug, thiserror::Error)]
#[error("cannot reconcile: {0}")]
pub struct Error(String);

impl From<negentropy::Error> for Error {
    fn from(e: negentropy::Error) -> Self {
        Error(e.to_string())
    }
}

/// The initiator's first message.
pub fn initiate(set: &Set) -> Result<Vec<u8>, Error> {
    let mut n = Negentropy::borrowed(set.storage()?, FRAME_LIMIT)?;
    Ok(n.initiate()?)
}

/// The responder's answer to a message (it keeps no state between them).
pub fn respond(set: &Set, msg: &[u8]) -> Result<Vec<u8>, Error> {
    let mut n = Negentropy::borrowed(set.storage()?, FRAME_LIMIT)?;
    Ok(n.reconcile(msg)?)
}

/// The initiator's step on an answer: what it learned, and its next
/// message unless the sets are reconciled.
pub fn reconcile(set: &Set, answer: &[u8]) -> Result<Step, Error> {
    let mut n = Negentropy::borrowed(set.storage()?, FRAME_LIMIT)?;
    n.set_initiator();
    let (mut have, mut need) = (Vec::new(), Vec::new());
    let reply = n.reconcile_with_ids(answer, &mut have, &mut need)?;
    let ids = |v: Vec<Id>| v.into_iter().map(|i| EnvelopeId(i.to_bytes())).collect();
    Ok(Step {
        reply,
        have: ids(have),
        need: ids(need),
    })
}

#[cfg(test)]
mod tests;
