//! This team's keys from the node's side: replacing the signing key (a
//! rotation act), replacing the age key (a new profile naming the new
//! recipient), and revoking a key a thief rotated away.
//!
//! Each replacement is crash-safe in the same order: the new key is durable
//! in a `.next` file before anything names it, what names it is durable
//! before the key file is replaced, and a restart finishes or discards an
//! interrupted one (`crate::recover_key_rotation`,
//! `crate::recover_age_rotation`).

use proto::{Body, Kind, MembershipAct, Tlp};

use super::{Node, publish::published};
use crate::api::{
    ApiError,
    types::{Published, RotateKeyRequest},
};

/// The most age recipients remembered per team (its current one and the
/// ones before): enough for envelopes sealed around a few replacements,
/// bounded against a member publishing profile after profile.
pub(super) const MAX_KNOWN_RECIPIENTS: usize = 4;

impl Node {
    /// Remembers the age recipient `p` names for its team among the
    /// [`MAX_KNOWN_RECIPIENTS`] of its newest profiles (by their date,
    /// whatever order they arrive in: a stale profile, or a flood of them,
    /// adds nothing past those). True when the recipient is new to that set.
    pub(super) fn note_recipient(&mut self, p: &proto::Profile) -> bool {
        let known = self.recipients.entry(p.team).or_default();
        if known.iter().any(|(_, r)| *r == p.recipient) {
            return false;
        }
        known.push((p.updated_at, p.recipient.clone()));
        known.sort_by(|a, b| b.cmp(a));
        known.truncate(MAX_KNOWN_RECIPIENTS);
        known.iter().any(|(_, r)| *r == p.recipient)
    }

    /// Deletes retired age identities past their keeping time (never one
    /// the mesh still names as this team's), on disk and in memory. Cheap
    /// until the earliest is due.
    pub fn forget_retired_age_keys(&mut self, now: u64) -> anyhow::Result<()> {
        let Some(dir) = self.dir.clone() else {
            return Ok(());
        };
        if self.retired_due.is_some_and(|t| now < t) {
            return Ok(());
        }
        let named = self.members.profile(&self.me).map(|p| p.recipient.clone());
        let dropped = dir.retire_age_keys(None, now, named.as_deref())?;
        let kept = dir.retired_age_keys()?;
        self.retired_due = kept
            .iter()
            .map(|(at, _)| at.saturating_add(crate::datadir::RETIRED_AGE_KEY_KEEP_MS))
            .filter(|t| *t > now)
            .min()
            .or(Some(
                now.saturating_add(crate::datadir::RETIRED_AGE_KEY_KEEP_MS),
            ));
        if dropped > 0 {
            self.keys = self
                .keys
                .with_retired(kept.into_iter().map(|(_, k)| k).collect());
            tracing::info!(
                dropped,
                "deleted retired age keys past their keeping time; what was sealed to them and never opened stays unread"
            );
        }
        Ok(())
    }

    /// The hint keys between us and `team`: each of our age identities with
    /// each recipient its profiles named (the current pair first).
    pub(super) fn hint_keys_with(&self, team: &proto::TeamId) -> Vec<seal::HintKey> {
        let current = self.members.profile(team).map(|p| p.recipient.as_str());
        let known = self.recipients.get(team).into_iter().flatten();
        let mut keys = Vec::new();
        for r in current.into_iter().chain(
            known
                .map(|(_, r)| r.as_str())
                .filter(|r| Some(*r) != current),
        ) {
            match seal::parse_recipient(r).and_then(|r| self.keys.hint_keys(&r)) {
                Ok(k) => keys.extend(k),
                Err(e) => {
                    tracing::debug!(team = %team.short(), error = %e, "no recipient-hint key with this recipient")
                }
            }
        }
        keys
    }

    /// The data directory a new key is written to.
    pub(super) fn key_dir(&self) -> Result<crate::datadir::DataDir, ApiError> {
        self.dir.clone().ok_or_else(|| {
            ApiError::Other(anyhow::anyhow!(
                "this node has no data directory to keep a new key in"
            ))
        })
    }

    /// Replaces the keys `req` names: the signing key, then the age key.
    pub fn rotate_keys(&mut self, now: u64, req: RotateKeyRequest) -> Result<Published, ApiError> {
        if !req.signing && !req.age {
            return Err(ApiError::BadRequest(
                "name a key to replace: signing, age or both".into(),
            ));
        }
        self.may_write()?;
        let mut last = None;
        if req.signing {
            last = Some(self.rotate_key(now)?);
        }
        if req.age {
            last = Some(self.rotate_age_key(now).map_err(|e| match (e, &last) {
                (ApiError::Other(e), Some(p)) => ApiError::Other(e.context(format!(
                    "the signing key was replaced (envelope {}), but not the age key: run `csirtmesh rotate-key --age-only`",
                    p.id
                ))),
                (e, _) => e,
            })?);
        }
        last.ok_or_else(|| ApiError::BadRequest("nothing to replace".into()))
    }

    /// Replaces the team's age key: a new identity, a profile naming its
    /// recipient, published. From then on members seal to the new recipient;
    /// the old identity is kept for [`crate::datadir::RETIRED_AGE_KEY_KEEP_MS`]
    /// to open what was sealed to it before they learned of the change. Every
    /// member's GREEN sender key is replaced before its next GREEN envelope
    /// (the member set's digest covers recipients), so a thief holding the
    /// old age key opens neither new key shares nor what they protect.
    pub fn rotate_age_key(&mut self, now: u64) -> Result<Published, ApiError> {
        let dir = self.key_dir()?;
        let new = self.keys.with_new_age_key();
        let next = dir.file(crate::datadir::files::AGE_KEY_NEXT);
        let _ = std::fs::remove_file(&next);
        crate::datadir::write_new(
            &next,
            seal::identity_secret(new.age_identity()).as_bytes(),
            0o600,
        )?;
        let named = self.members.profile(&self.me).map(|p| p.recipient.clone());
        dir.retire_age_keys(Some(self.keys.age_identity()), now, named.as_deref())?;
        // Newer than the profile the mesh holds, whatever the file says.
        let at = self
            .members
            .profile(&self.me)
            .map_or(now, |p| now.max(p.updated_at.saturating_add(1)));
        let signed = crate::resign_profile(&dir, &new, at)?;
        let key_file = dir.file(crate::datadir::files::AGE_KEY);
        std::fs::rename(&next, &key_file)
            .map_err(anyhow::Error::from)
            .and_then(|()| crate::datadir::sync_parent(&key_file))
            .map_err(|e| {
                ApiError::Other(e.context(
                    "the new profile is written but age.key was not replaced; restart the node to finish",
                ))
            })?;
        let old = self.keys.recipient();
        self.keys = new;
        self.own_profile = signed;
        self.retired_due = None;
        let p = self.join(now)?;
        if self.members.profile(&self.me).map(|p| p.recipient.as_str())
            != Some(self.keys.recipient().as_str())
        {
            return Err(ApiError::Other(anyhow::anyhow!(
                "the new profile was published, but the mesh still holds another as this team's: members keep sealing to the old key (kept until they do)"
            )));
        }
        tracing::info!(old = %old, new = %self.keys.recipient(), "replaced the team's age key; members seal to the new recipient from now on");
        Ok(p)
    }

    /// Our key was rotated away by an act this node did not write (our own
    /// rotation switches `me` to the new key): someone holds our signing
    /// key. A revocation after the rotation would be refused, so it goes at
    /// the rotation's own place in our chain: two envelopes at one place are
    /// a fork, and a fork voids the thief's rotation and removes the team
    /// (it rejoins under a new key).
    pub(super) fn revoke_stolen(
        &mut self,
        now: u64,
        stolen: mesh_core::membership::Rotation,
        reason: String,
    ) -> Result<Published, ApiError> {
        tracing::error!(to = %stolen.to.short(), seq = stolen.seq, "this team's key was rotated to a key this node does not hold: revoking at the rotation's place in the chain");
        let body = Body::Clear(MembershipAct::Revoke { reason }.to_bytes()?);
        let id = self.sign_and_store(now, stolen.seq, Kind::Membership, Tlp::Clear, None, body)?;
        Ok(published(id, None))
    }

    /// Replaces the team's signing key. Crash-safe order: the new key is
    /// durable in `team.key.next` before the rotation act names it; the act
    /// is durable before `team.key` is replaced; a restart finishes or
    /// discards an interrupted rotation (`crate::recover_key_rotation`).
    pub fn rotate_key(&mut self, now: u64) -> Result<Published, ApiError> {
        if !self.members.is_member(&self.me) {
            return Err(ApiError::Forbidden("only a member rotates its key".into()));
        }
        let dir = self.key_dir()?;
        let new = self.keys.with_new_signing_key();
        let next = dir.file(crate::datadir::files::TEAM_KEY_NEXT);
        let _ = std::fs::remove_file(&next);
        crate::datadir::write_new(&next, new.secrets().0.as_bytes(), 0o600)?;
        let msg = proto::membership::rotation_message(&self.mesh, &self.me);
        let act = MembershipAct::RotateKey {
            new: new.team_id(),
            proof: new.sign(proto::context::KEY_ROTATION, &msg),
        };
        let id = self.publish(
            now,
            Kind::Membership,
            Tlp::Clear,
            None,
            Body::Clear(act.to_bytes()?),
        )?;
        std::fs::rename(&next, dir.file(crate::datadir::files::TEAM_KEY)).map_err(|source| {
            ApiError::Io {
                what: "the rotation is published but team.key was not replaced; restart the node to finish it".into(),
                source,
            }
        })?;
        let old = self.me;
        self.keys = new;
        self.me = self.keys.team_id();
        self.seq = self.store.max_seq(&self.me)?;
        self.own_profile = crate::resign_profile(&dir, &self.keys, now)?;
        // Publish the profile under the new key, so others can address it.
        self.join(now)?;
        tracing::info!(old = %old.short(), new = %self.me.short(), "rotated the team's signing key");
        Ok(published(id, None))
    }
}
