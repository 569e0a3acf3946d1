//! The validation verdict: the one function every arriving envelope goes
//! through, whether it came by gossip, sync, relay, import or the local API.
//! A second, laxer path is how federated systems have been broken before.
//!
//! Decoding (`proto`) and the outer signature (`seal`) come first and are
//! proven by the [`VerifiedEnvelope`] type; this decides what the mesh's rules
//! say about a well-formed, authentic envelope.

use proto::{Kind, MembershipAct, MeshId, TeamId, Tlp};
use seal::VerifiedEnvelope;

use crate::{Membership, membership::Refusal};

/// How far in the future an envelope's clock may be, in ms. Teams' clocks
/// drift; ten minutes tolerates a badly set clock without letting an author
/// pin its envelopes to the end of the thread for days.
pub const MAX_CLOCK_SKEW_MS: u64 = 10 * 60 * 1000;

/// What to do with an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Store it, relay it, show it.
    Accept,
    /// Invalid: drop it and penalise the peer that sent it.
    Reject(Reason),
    /// Not wrong, not wanted now (a duplicate, a clock too far ahead): drop it
    /// without penalty.
    Ignore(Reason),
}

/// Why an envelope was not accepted, in words an operator can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// Bytes that do not decode.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// The outer or inner signature is wrong.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// It belongs to another mesh.
    #[error("envelope of another mesh ({0})")]
    WrongMesh(String),
    /// Its author is not a member.
    #[error("author {0} is not a member of this mesh")]
    NotAMember(String),
    /// A join request from a team no member invites or vouches for (in this
    /// node's view: the invitation may not have reached it yet).
    #[error("join request of {0}, whom no member invited")]
    NotInvited(String),
    /// Its author applied but is not admitted (in this node's view: another
    /// node may already have seen the endorsements).
    #[error("author {0} is an applicant, not yet admitted")]
    NotYetAdmitted(String),
    /// Its author was removed, or its key rotated, before it was created.
    #[error("author {author} may not publish at this time: {why}")]
    Revoked {
        /// The author.
        author: String,
        /// Removal or rotation, in words.
        why: String,
    },
    /// An invalid membership act (undecodable, or a key rotation without a
    /// valid proof from the new key).
    #[error("invalid membership act: {0}")]
    BadMembershipAct(String),
    /// A profile signed by someone else than the team it describes, or one
    /// whose signed profile does not match the envelope author.
    #[error("invalid profile record: {0}")]
    BadProfile(String),
    /// Its clock is too far ahead of ours.
    #[error("created {0} ms in the future (more than the allowed clock skew)")]
    FromTheFuture(u64),
    /// We have it already.
    #[error("duplicate")]
    Duplicate,
    /// Its author retracted it: the tombstone is served instead.
    #[error("retracted by its author")]
    Retracted,
    /// A tombstone for another team's envelope.
    #[error("invalid retraction: {0}")]
    BadRetraction(String),
    /// Over a rate or size limit; may be accepted later.
    #[error("rate limited: {0}")]
    RateLimited(String),
    /// Valid, but this node could not store it (disk full, I/O error): not
    /// the sender's fault, nothing acknowledged; sync brings it again.
    #[error("not stored: {0}")]
    Unstored(String),
}

impl Reason {
    /// Whether every node, whatever it holds, would refuse the envelope for
    /// this reason, so the peer that sent it is to blame (and is penalised
    /// and, on repeat, banned): bytes that do not decode, a bad outer
    /// signature, another mesh, an invalid profile or membership act.
    /// Refusals that depend on what this node holds (its view of the
    /// members, a stored retraction target) blame nobody: an honest relay
    /// with another view forwarded it in good faith.
    pub fn blames_sender(&self) -> bool {
        matches!(
            self,
            Reason::Malformed(_)
                | Reason::BadSignature(_)
                | Reason::WrongMesh(_)
                | Reason::BadProfile(_)
                | Reason::BadMembershipAct(_)
        )
    }

    /// The reason's name without its details, for counting and for logging
    /// one line per peer and kind of refusal.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::Malformed(_) => "malformed",
            Reason::BadSignature(_) => "bad-signature",
            Reason::WrongMesh(_) => "wrong-mesh",
            Reason::NotAMember(_) => "not-a-member",
            Reason::NotInvited(_) => "not-invited",
            Reason::NotYetAdmitted(_) => "not-yet-admitted",
            Reason::Revoked { .. } => "revoked",
            Reason::BadMembershipAct(_) => "bad-membership-act",
            Reason::BadProfile(_) => "bad-profile",
            Reason::FromTheFuture(_) => "from-the-future",
            Reason::Duplicate => "duplicate",
            Reason::Retracted => "retracted",
            Reason::BadRetraction(_) => "bad-retraction",
            Reason::RateLimited(_) => "rate-limited",
            Reason::Unstored(_) => "unstored",
        }
    }
}

/// The rule for tombstones: a team retracts only its own incident
/// envelopes. `target` is the retracted envelope's author and kind when this
/// node holds it; a tombstone for an envelope not held yet is kept, and the
/// rule applies when (if) the target arrives.
pub fn check_retraction(author: &TeamId, target: Option<(TeamId, Kind)>) -> Result<(), Reason> {
    match target {
        Some((target_author, _)) if &target_author != author => Err(Reason::BadRetraction(
            "a team retracts only its own envelopes".into(),
        )),
        Some((_, kind)) if kind != Kind::Incident => Err(Reason::BadRetraction(
            "only incident envelopes can be retracted".into(),
        )),
        _ => Ok(()),
    }
}

/// The rule for a key rotation: the new key signs its consent (the mesh and
/// the old key), so nobody can rotate a team onto a key it does not hold.
/// Other acts pass.
pub fn check_rotation(mesh: &MeshId, author: &TeamId, act: &MembershipAct) -> Result<(), Reason> {
    if let MembershipAct::RotateKey { new, proof } = act {
        let msg = proto::membership::rotation_message(mesh, author);
        seal::verify(
            new,
            "key rotation",
            proto::context::KEY_ROTATION,
            &msg,
            proof,
        )
        .map_err(|e| Reason::BadMembershipAct(e.to_string()))?;
    }
    Ok(())
}

/// Decides on an authentic envelope.
pub fn check(
    envelope: &VerifiedEnvelope,
    mesh: &MeshId,
    members: &Membership,
    now_ms: u64,
) -> Verdict {
    let c = envelope.content();
    if &c.mesh != mesh {
        return Verdict::Reject(Reason::WrongMesh(c.mesh.short()));
    }
    if c.created_at > now_ms.saturating_add(MAX_CLOCK_SKEW_MS) {
        return Verdict::Ignore(Reason::FromTheFuture(c.created_at - now_ms));
    }
    if c.kind == Kind::Profile && c.tlp != Tlp::Clear {
        return Verdict::Reject(Reason::BadProfile("a profile must be CLEAR".into()));
    }
    let author = c.author.to_string();
    match members.may_author(&c.author, c.seq) {
        Ok(()) => Verdict::Accept,
        // An invited applicant's profile is its join request. Rate limits on
        // join requests are the node's (they depend on who forwarded it).
        Err(Refusal::Applicant) if c.kind == Kind::Profile => Verdict::Accept,
        // Nobody invited it (in our view; a relay's view may differ, so this
        // blames only a peer that is not a member's node).
        Err(Refusal::NotAMember) if c.kind == Kind::Profile => {
            Verdict::Reject(Reason::NotInvited(author))
        }
        // An applicant may already be a member in the sender's view; no penalty.
        Err(Refusal::Applicant) => Verdict::Ignore(Reason::NotYetAdmitted(author)),
        Err(Refusal::NotAMember) => Verdict::Reject(Reason::NotAMember(author)),
        // The envelopes at a fork's position are its evidence: every node
        // keeps them, so every node finds the fork.
        Err(Refusal::Forked(at)) if c.seq == at => Verdict::Accept,
        Err(why @ (Refusal::Removed(_) | Refusal::Rotated { .. } | Refusal::Forked(_))) => {
            Verdict::Reject(Reason::Revoked {
                author,
                why: why.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use proto::{Body, EnvelopeContent, IncidentPayload, InnerContent, Payload};
    use seal::TeamKeys;

    use super::*;
    use crate::membership::tests::profile;

    const MESH: MeshId = MeshId([1; 32]);
    const NOW: u64 = 1_700_000_000_000;

    fn clear_incident(keys: &TeamKeys, mesh: MeshId, created_at: u64) -> VerifiedEnvelope {
        let inner = InnerContent {
            author: keys.team_id(),
            mesh,
            tlp: Tlp::Clear,
            recipients: vec![],
            payload: Payload::Incident(IncidentPayload::Comment { text: "hi".into() }),
        };
        let body = Body::Clear(seal::sign_inner(keys, &inner).unwrap());
        let content = EnvelopeContent {
            mesh,
            kind: Kind::Incident,
            author: keys.team_id(),
            seq: 1,
            created_at,
            tlp: Tlp::Clear,
            thread: None,
            parents: vec![],
            body,
        };
        seal::sign_envelope(keys, &content).unwrap()
    }

    fn members_with(keys: &TeamKeys) -> Membership {
        let mut p = profile(0, "A", 1);
        p.team = keys.team_id();
        let rules = crate::membership::Rules {
            founders: vec![p],
            threshold: 2,
            objection_window_ms: None,
        };
        Membership::compute(&rules, [], &[], NOW)
    }

    /// Only faults every node sees blame the peer that sent the envelope;
    /// those that depend on what a node holds blame nobody.
    #[test]
    fn only_faults_every_node_sees_blame_the_sender() {
        for r in [
            Reason::Malformed("x".into()),
            Reason::BadSignature("x".into()),
            Reason::WrongMesh("x".into()),
            Reason::BadProfile("x".into()),
            Reason::BadMembershipAct("x".into()),
        ] {
            assert!(r.blames_sender(), "{r}");
        }
        for r in [
            Reason::NotAMember("x".into()),
            Reason::NotInvited("x".into()),
            Reason::NotYetAdmitted("x".into()),
            Reason::Revoked {
                author: "x".into(),
                why: "y".into(),
            },
            Reason::BadRetraction("x".into()),
            Reason::Duplicate,
            Reason::Unstored("x".into()),
            Reason::FromTheFuture(1),
            Reason::RateLimited("x".into()),
            Reason::Retracted,
        ] {
            assert!(!r.blames_sender(), "{r}");
        }
    }

    #[test]
    fn accepts_a_member_in_this_mesh() {
        let a = TeamKeys::generate();
        assert_eq!(
            check(
                &clear_incident(&a, MESH, NOW),
                &MESH,
                &members_with(&a),
                NOW
            ),
            Verdict::Accept
        );
    }

    #[test]
    fn rejects_wrong_mesh_and_non_members() {
        let (a, stranger) = (TeamKeys::generate(), TeamKeys::generate());
        let m = members_with(&a);
        assert!(matches!(
            check(&clear_incident(&a, MeshId([2; 32]), NOW), &MESH, &m, NOW),
            Verdict::Reject(Reason::WrongMesh(_))
        ));
        assert!(matches!(
            check(&clear_incident(&stranger, MESH, NOW), &MESH, &m, NOW),
            Verdict::Reject(Reason::NotAMember(_))
        ));
        let _ = TeamId([0; 32]);
    }

    #[test]
    fn ignores_envelopes_from_the_far_future() {
        let a = TeamKeys::generate();
        let env = clear_incident(&a, MESH, NOW + MAX_CLOCK_SKEW_MS + 1);
        assert!(matches!(
            check(&env, &MESH, &members_with(&a), NOW),
            Verdict::Ignore(Reason::FromTheFuture(_))
        ));
        let ok = clear_incident(&a, MESH, NOW + MAX_CLOCK_SKEW_MS);
        assert_eq!(check(&ok, &MESH, &members_with(&a), NOW), Verdict::Accept);
    }
}
