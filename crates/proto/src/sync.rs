//! Anti-entropy messages between two nodes.
//!
//! Reconciliation is range-based: the key space `(created_at, id)` is cut
//! into consecutive ranges, each carried with a fingerprint of the sender's
//! items in it, or the list of those items' ids. Equal fingerprints end a
//! range; different ones are split further, so bytes and round trips grow with
//! the difference between the two sets, not with their size. The algorithm is
//! in `csirtmesh-sync`; this module is only its wire vocabulary. Envelopes
//! found missing are then fetched with [`SyncRequest::Get`].

use serde::{Deserialize, Serialize};

use crate::{EnvelopeId, Error, codec};

/// Largest sync message, in bytes (also the network frame limit).
pub const MAX_SYNC_BYTES: usize = 8 * 1024 * 1024;

/// Most envelopes asked for in one `Get`; the answer stays under the limit
/// for envelopes of ordinary size, and the asker comes back for the rest.
pub const MAX_GET: usize = 256;

/// The upper end (exclusive) of a range of `(created_at, id)` keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Bound {
    /// Everything below this key.
    Key(u64, EnvelopeId),
    /// Everything (the last range).
    End,
}

/// What a range carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Nothing to do here (the range matches, or is settled).
    Skip,
    /// A fingerprint of the sender's items in the range.
    Fingerprint([u8; 16]),
    /// The sender's ids in the range; answer with yours.
    IdList(Vec<EnvelopeId>),
    /// The sender's ids in the range, answering an `IdList`; settles it.
    IdListResponse(Vec<EnvelopeId>),
}

/// One range: from the previous range's bound (or the start) to `upper`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// Exclusive upper bound.
    pub upper: Bound,
    /// What the sender says about it.
    pub mode: Mode,
}

/// One reconciliation message: consecutive ranges covering the key space.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconcile {
    /// The ranges, in order; the last ends at [`Bound::End`].
    pub ranges: Vec<Range>,
}

/// A request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncRequest {
    /// A reconciliation step; answered with the next one.
    Reconcile(Reconcile),
    /// Send me these envelopes.
    Get(Vec<EnvelopeId>),
}

/// An answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncResponse {
    /// The next reconciliation step (all `Skip`: done).
    Reconcile(Reconcile),
    /// Envelope wire bytes (each validated on arrival like a gossiped one).
    Envelopes(Vec<Vec<u8>>),
    /// The request was refused, with the reason.
    Refused(String),
}

macro_rules! codec_impl {
    ($t:ty, $what:literal) => {
        impl $t {
            /// Encodes for the wire.
            pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
                codec::encode($what, self)
            }

            /// Decodes from the wire, bounded.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
                codec::decode($what, bytes, MAX_SYNC_BYTES)
            }
        }
    };
}

codec_impl!(SyncRequest, "sync request");
codec_impl!(SyncResponse, "sync response");
