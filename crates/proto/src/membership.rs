//! Membership acts: the signed records from which every node computes, on
//! its own and identically, who is a member.
//!
//! Each act travels as the clear body of an envelope of kind
//! [`crate::Kind::Membership`], signed by its author like any envelope (the
//! signed content includes the kind, so an act cannot be replayed as anything
//! else). Key rotation carries a second signature, by the new key over
//! `context::KEY_ROTATION || mesh || old key`, proving the new key's holder
//! agreed.

use serde::{Deserialize, Serialize};

use crate::{Error, MeshId, Signature, TeamId, codec};

/// Largest encoded membership act, in bytes.
pub const MAX_ACT_BYTES: usize = 4 * 1024;

/// Longest free-text reason, in bytes.
pub const MAX_REASON_BYTES: usize = 1024;

/// One membership act, by the envelope's author.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipAct {
    /// The author vouches for `candidate` until `expires_at` (ms).
    Endorse {
        /// The team vouched for.
        candidate: TeamId,
        /// Until when the endorsement may count toward an admission.
        expires_at: u64,
    },
    /// The author objects to admitting `candidate`.
    Object {
        /// The applicant objected to.
        candidate: TeamId,
        /// Why, for the applicant and its sponsors to read.
        reason: String,
    },
    /// The author revokes its own key (e.g. it was compromised).
    Revoke {
        /// Why.
        reason: String,
    },
    /// The author, a member, asks to suspend `target`; `k` such acts from
    /// distinct members suspend it.
    Suspend {
        /// The team to suspend.
        target: TeamId,
        /// Why.
        reason: String,
        /// Where the suspension cuts the target's chain: the `seq` of the
        /// target's latest envelope the author had seen. Once `k` members
        /// suspend it, whatever the target's current key wrote after the
        /// lowest such point is refused, whatever time it claims.
        after_seq: u64,
    },
    /// The author's key is replaced by `new`; the team stays the same.
    RotateKey {
        /// The new signing key.
        new: TeamId,
        /// The new key's signature over `rotation_message(mesh, author)`.
        proof: Signature,
    },
    /// The author, a member, invites `candidate` to apply until `expires_at`
    /// (ms): only invited (or endorsed) teams' join requests enter the mesh.
    Invite {
        /// The team invited (its signing key, learned out of band).
        candidate: TeamId,
        /// Until when its join request is taken.
        expires_at: u64,
        /// Its node ids (libp2p PeerIds as bytes), if the team sent them:
        /// members keep those nodes' connections before the join request
        /// arrives, so a flood of strangers cannot crowd the applicant out.
        nodes: Vec<Vec<u8>>,
    },
}

impl MembershipAct {
    /// Checks its text: a reason is one line of plain text, within limits
    /// (it is shown to every member).
    pub fn check(&self) -> Result<(), Error> {
        match self {
            MembershipAct::Object { reason, .. }
            | MembershipAct::Revoke { reason }
            | MembershipAct::Suspend { reason, .. } => {
                crate::text::check_line("reason", reason, MAX_REASON_BYTES)
            }
            MembershipAct::Invite { nodes, .. } => crate::profile::check_nodes("nodes", nodes),
            _ => Ok(()),
        }
    }

    /// Encodes for an envelope body, checking its text.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        self.check()?;
        codec::encode("membership act", self)
    }

    /// Decodes from an envelope body, bounded.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        codec::decode("membership act", bytes, MAX_ACT_BYTES)
    }
}

/// What the new key signs when a team rotates its key.
pub fn rotation_message(mesh: &MeshId, old: &TeamId) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(mesh.as_bytes());
    m.extend_from_slice(old.as_bytes());
    m
}

/// The body of a [`crate::Kind::Retraction`] envelope: its author withdraws
/// `target`, one of its own envelopes. Every node deletes the target's content
/// and serves this tombstone instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retraction {
    /// The retracted envelope (by the same author).
    pub target: crate::EnvelopeId,
    /// Its place in the author's chain. Every node learns from it that the
    /// place is taken, including nodes that never held the target: nothing
    /// else can be written there later.
    pub target_seq: u64,
    /// Why, for those who saw it.
    pub reason: String,
}

impl Retraction {
    /// Checks its text (the reason is one line of plain text, within
    /// limits) and the place it names (a valid `seq`).
    pub fn check(&self) -> Result<(), Error> {
        if !(1..=crate::envelope::MAX_SEQ).contains(&self.target_seq) {
            return Err(Error::Invalid {
                field: "target_seq",
                reason: format!("{} is not a place in a chain", self.target_seq),
            });
        }
        crate::text::check_line("reason", &self.reason, MAX_REASON_BYTES)
    }

    /// Encodes for an envelope body, checking its text.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        self.check()?;
        codec::encode("retraction", self)
    }

    /// Decodes from an envelope body, bounded.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        codec::decode("retraction", bytes, MAX_ACT_BYTES)
    }
}
