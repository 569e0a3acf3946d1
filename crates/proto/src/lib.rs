//! # csirtmesh-proto: the vocabulary and the wire format of CSIRT Mesh
//!
//! Everything that is ever serialized lives here, and only here: identifiers
//! ([`TeamId`], [`EnvelopeId`], [`MeshId`], [`KeyId`]), the [`Tlp`] label, the
//! [`Envelope`] that travels on the wire and sits on disk, the inner
//! [`InnerContent`] that is sealed inside it, team [`Profile`]s and the mesh
//! [`Charter`].
//!
//! There is one codec ([`codec`]): bincode 2 with one fixed configuration,
//! a size limit enforced before anything is allocated, trailing bytes refused,
//! and a canonical-encoding check so that one logical value has exactly one
//! byte string (and so one content-addressed id). Every envelope starts with
//! [`FORMAT_VERSION`]; unknown versions are refused, never guessed.
//!
//! This crate does no I/O and no cryptography: signing and sealing live in
//! `csirtmesh-seal`, which signs the exact bytes this crate produces, using
//! the domain-separation contexts in [`context`].
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod charter;
pub mod codec;
pub mod envelope;
mod error;
pub mod ids;
pub mod indicator;
mod legacy;
pub mod membership;
pub mod payload;
pub mod profile;
pub mod rfc2350;
pub mod sync;
pub mod text;
pub mod tlp;

pub use charter::{Charter, CharterFile};
pub use envelope::{
    Body, Envelope, EnvelopeContent, Kind, MAX_RECIPIENT_HINTS, RecipientHint, SealedTo, Signature,
};
pub use error::Error;
pub use ids::{EnvelopeId, KeyId, MeshId, TeamId};
pub use indicator::{Indicator, IndicatorText};
pub use membership::{MembershipAct, Retraction};
pub use payload::{IncidentPayload, IncidentStatus, InnerContent, Payload, SignedInner};
pub use profile::{Constituency, Profile, Role, SignedProfile};
pub use tlp::Tlp;

/// The wire format version every envelope starts with. Bump it on any change
/// to the encoding of [`EnvelopeContent`] or [`InnerContent`]; the golden
/// vectors in `tests/golden.rs` fail when the encoding changes by accident.
pub const FORMAT_VERSION: u16 = 2;

/// Largest envelope accepted from anyone, in bytes. 256 KiB fits an incident
/// with a long description and attachments-by-reference many times over, and
/// keeps one envelope far below gossipsub's transmit limit and SQLite's blob
/// comfort zone. Decoding refuses larger input before allocating.
pub const MAX_ENVELOPE_BYTES: usize = 256 * 1024;

/// Most parents an envelope may name. An incident reply names the heads it
/// saw; more than 32 means something is wrong, and the bound keeps decoding
/// cheap.
pub const MAX_PARENTS: usize = 32;

/// Domain-separation contexts: every signature covers `context || 0x00 ||
/// bytes`, so a signature made for one purpose can never be replayed as
/// another.
pub mod context {
    /// The outer envelope signature.
    pub const ENVELOPE: &[u8] = b"csirtmesh/v1/envelope";
    /// The inner, sealed payload signature.
    pub const INNER: &[u8] = b"csirtmesh/v1/inner";
    /// A team's self-signed profile.
    pub const PROFILE: &[u8] = b"csirtmesh/v1/profile";
    /// A new key's consent to replace an old one.
    pub const KEY_ROTATION: &[u8] = b"csirtmesh/v1/key-rotation";
    /// A node's consent to be listed in a team's profile (signed with the
    /// node's libp2p key).
    pub const NODE_PROOF: &[u8] = b"csirtmesh/v1/node-proof";
}

#[cfg(test)]
mod tests;
