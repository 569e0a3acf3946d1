//! Anti-entropy messages between two nodes.
//!
//! Version 1 is a plain inventory exchange: "which ids do you hold?" then
//! "send me these". Its cost grows with the total, not the difference;
//! range-based set reconciliation replaces it (issue 4) behind the same
//! request-response protocol.

use serde::{Deserialize, Serialize};

use crate::{EnvelopeId, Error, codec};

/// Largest sync message, in bytes (also the network frame limit).
pub const MAX_SYNC_BYTES: usize = 8 * 1024 * 1024;

/// Most envelopes asked for in one `Get`; the answer stays under the limit
/// for envelopes of ordinary size, and the asker comes back for the rest.
pub const MAX_GET: usize = 256;

/// A request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncRequest {
    /// Which envelope ids do you hold?
    Inventory,
    /// Send me these envelopes.
    Get(Vec<EnvelopeId>),
}

/// An answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncResponse {
    /// The ids the peer holds.
    Inventory(Vec<EnvelopeId>),
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
