//! This team's own envelopes: signed, checked through the same
//! [`Node::ingest`] as any arrival, stored, then handed to the loop to
//! gossip ([`Effect::Gossip`]). Also the GREEN sender key: one per member
//! set, shared with every member in one key-share envelope.

use mesh_core::{Membership, Reason, Verdict};
use proto::{
    Body, EnvelopeContent, EnvelopeId, InnerContent, Kind, Payload, Profile, SealedTo, Tlp,
    payload::SenderKeyShare,
};
use seal::SenderKey;
use store::SenderKeyRow;

use super::{Effect, Node, Origin};
use crate::api::{ApiError, types::Published};

impl Node {
    /// Signs, validates through [`Node::ingest`] like any arrival, stores,
    /// and queues the gossip. Returns once the envelope is durable.
    pub(super) fn publish(
        &mut self,
        now: u64,
        kind: Kind,
        tlp: Tlp,
        thread: Option<EnvelopeId>,
        body: Body,
    ) -> Result<EnvelopeId, ApiError> {
        if kind != Kind::Profile && !self.members.is_member(&self.me) {
            return Err(ApiError::Forbidden(self.why_not_a_member()));
        }
        self.sign_and_store(now, self.seq + 1, kind, tlp, thread, body)
    }

    /// Signs at place `seq` of this team's chain, ingests, stores and queues
    /// the gossip (membership is [`Node::publish`]'s to check).
    pub(super) fn sign_and_store(
        &mut self,
        now: u64,
        seq: u64,
        kind: Kind,
        tlp: Tlp,
        thread: Option<EnvelopeId>,
        body: Body,
    ) -> Result<EnvelopeId, ApiError> {
        self.may_write()?;
        let content = EnvelopeContent {
            mesh: self.mesh,
            kind,
            author: self.me,
            seq,
            created_at: self.hlc.tick(now),
            tlp,
            thread,
            parents: thread.into_iter().collect(),
            body,
        };
        // Fails only on what the caller gave (an envelope over the size limit).
        let env = seal::sign_envelope(&self.keys, &content).map_err(too_large)?;
        let bytes = env.envelope().bytes.clone();
        let id = env.envelope().id;
        match self.ingest(now, &bytes, Origin::Local) {
            Verdict::Accept => {}
            // The node's own fault (its disk), not the caller's.
            Verdict::Ignore(Reason::Unstored(e)) => {
                return Err(ApiError::Other(anyhow::anyhow!(
                    "the envelope was not stored: {e}"
                )));
            }
            Verdict::Reject(r) | Verdict::Ignore(r) => {
                return Err(ApiError::BadRequest(format!(
                    "this node refuses its own envelope: {r}"
                )));
            }
        }
        self.counters.published += 1;
        self.effects.push(Effect::Gossip(bytes));
        Ok(id)
    }

    fn why_not_a_member(&self) -> String {
        match self.members.removed().get(&self.me) {
            Some(r) => format!(
                "this team was removed from the mesh ({:?}); its envelopes are refused",
                r.removal
            ),
            None => format!(
                "this team is not a member of the mesh{}: it can publish nothing but its join request until {} members vouch for it",
                if self.members.applicants().contains_key(&self.me) {
                    " yet"
                } else {
                    ""
                },
                self.members.threshold()
            ),
        }
    }

    /// Our GREEN sender key for the current member set; a new one (shared in
    /// a key-share envelope) when the members or their age recipients
    /// changed since the last one, or when it is [`SENDER_KEY_MAX_AGE_MS`]
    /// old. Keys it replaced are kept: this team's own GREEN envelopes open
    /// only with them (a damaged row fetched again must open), and the store
    /// holds their plaintext anyway.
    pub(super) fn current_sender_key(&mut self, now: u64) -> Result<SenderKey, ApiError> {
        let digest = members_digest(&self.members);
        if let Some(row) = self.store.own_sender_key()?
            && row.members == Some(digest)
            && row.created_at.saturating_add(SENDER_KEY_MAX_AGE_MS) > now
        {
            return self.sender_key(&row.key_id).ok_or_else(|| {
                ApiError::Other(anyhow::anyhow!(
                    "own sender key {} unreadable",
                    row.key_id.short()
                ))
            });
        }
        let key = SenderKey::generate();
        self.store.put_sender_key(
            &SenderKeyRow {
                key_id: key.id(),
                team: self.me,
                secret: key.secret(),
                created_at: now,
                members: Some(digest),
            },
            true,
        )?;
        let others: Vec<Profile> = self
            .members
            .members()
            .filter(|p| p.team != self.me)
            .cloned()
            .collect();
        if !others.is_empty() {
            let inner = InnerContent {
                author: self.me,
                mesh: self.mesh,
                tlp: Tlp::Red,
                recipients: others.iter().map(|p| p.team).collect(),
                payload: Payload::SenderKey(SenderKeyShare {
                    key_id: key.id(),
                    secret: key.secret(),
                }),
            };
            let body = seal::seal_to_teams(&self.keys, &inner, &recipients_of(&others)?)?;
            self.publish(now, Kind::KeyShare, Tlp::Red, None, body)?;
            tracing::info!(key = %key.id().short(), members = others.len(), "shared a new GREEN sender key");
        }
        Ok(key)
    }

    /// Seals an inner content under `tlp`: signed in the clear for CLEAR,
    /// to our sender key for GREEN, to the named teams and ourselves (so our
    /// own copy stays readable) above.
    pub(super) fn seal_body(
        &mut self,
        now: u64,
        tlp: Tlp,
        inner: &InnerContent,
    ) -> Result<Body, ApiError> {
        Ok(match tlp {
            Tlp::Clear => Body::Clear(seal::sign_inner(&self.keys, inner).map_err(too_large)?),
            Tlp::Green => {
                let key = self.current_sender_key(now)?;
                Body::Sealed {
                    to: SealedTo::SenderKey(key.id()),
                    ciphertext: key.seal(&self.keys, inner).map_err(too_large)?,
                }
            }
            _ => {
                let mut profiles = Vec::with_capacity(inner.recipients.len() + 1);
                for t in inner.recipients.iter().chain(std::iter::once(&self.me)) {
                    let p = self.members.profile(t).ok_or_else(|| {
                        ApiError::BadRequest(format!("no profile for team {}", t.short()))
                    })?;
                    profiles.push(p.clone());
                }
                seal::seal_to_teams(&self.keys, inner, &recipients_of(&profiles)?)
                    .map_err(too_large)?
            }
        })
    }
}

/// The answer to a publish. `gossiped` is the loop's to set, once it has
/// tried to gossip.
pub(super) fn published(id: EnvelopeId, incident: Option<EnvelopeId>) -> Published {
    Published {
        id: id.to_string(),
        incident: incident.map(|i| i.to_string()),
        gossiped: false,
    }
}

/// Signing or sealing what a user wrote fails on its size or shape, which
/// is the caller's to fix (the keys themselves were checked at start).
fn too_large(e: seal::Error) -> ApiError {
    ApiError::BadRequest(format!("cannot publish this: {e}"))
}

/// The longest this team seals GREEN to one sender key: past it the next
/// GREEN envelope starts a new key, so a key that leaked unnoticed stops
/// opening new traffic within this time.
pub(super) const SENDER_KEY_MAX_AGE_MS: u64 = 30 * 24 * 3_600_000;

/// A digest of the member set and each member's age recipient, to tell when
/// the GREEN key must rotate: a member that leaves must not read on, and a
/// member that replaced its age key (it may have leaked) must get the next
/// key under the new one.
fn members_digest(m: &Membership) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for p in m.members() {
        h.update(p.team.as_bytes());
        h.update(&(p.recipient.len() as u64).to_le_bytes());
        h.update(p.recipient.as_bytes());
    }
    *h.finalize().as_bytes()
}

fn recipients_of(profiles: &[Profile]) -> Result<Vec<seal::AgeRecipient>, ApiError> {
    Ok(profiles
        .iter()
        .map(|p| seal::parse_recipient(&p.recipient))
        .collect::<Result<_, _>>()?)
}
