//! Anti-entropy messages between two nodes.
//!
//! Reconciliation is the negentropy protocol (version 1): its messages
//! travel as they are ([`SyncRequest::Negentropy`]), produced and checked by
//! `csirtmesh-sync`. The initiator learns both directions; it then fetches
//! what it lacks with [`SyncRequest::Get`] and tells the responder what the
//! responder lacks with [`SyncRequest::Have`], which the responder fetches.

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
    /// A negentropy message from the initiator; answered with the next one.
    Negentropy(Vec<u8>),
    /// Send me these envelopes.
    Get(Vec<EnvelopeId>),
    /// Ids the asker holds that it found you lack (at most [`MAX_GET`]):
    /// fetch them. Answered with [`SyncResponse::Noted`].
    Have(Vec<EnvelopeId>),
}

/// An answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncResponse {
    /// The responder's negentropy message.
    Negentropy(Vec<u8>),
    /// A [`SyncRequest::Have`] was taken note of.
    Noted,
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
