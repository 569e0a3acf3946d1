//! The one validation path. Every envelope, whatever way it came (gossip,
//! sync, the local API), goes through [`Node::ingest`] or its batch form:
//!
//! decode (bounded) -> duplicate? (from memory, before any signature) ->
//! outer signature -> the mesh's rules (`mesh_core::validate`) -> join
//! limits -> what this node learns ([`Node::derive`]: opened content when
//! addressed to us, or the GREEN key it waits for) -> durable write ->
//! what follows ([`Node::after_accept`]: membership, sender keys).
//!
//! A GREEN envelope that arrives before its sender key is stored as
//! "waiting for key" (`Derived::waiting_for`); when the key share arrives,
//! [`Node::adopt_sender_key`] opens everything that waited for it.
//!
//! The step reads no clock (`now` is given) and touches no network: the
//! caller turns the verdict into a gossip validation and a penalty.

use anyhow::{Context, Result, bail};
use mesh_core::{Reason, Verdict};
use net::PeerId;
use proto::{
    Body, Envelope, EnvelopeId, InnerContent, KeyId, Kind, MembershipAct, Payload, SealedTo,
    SignedInner, TeamId, payload::SenderKeyShare,
};
use seal::{SenderKey, VerifiedEnvelope};
use store::{Derived, SenderKeyRow};

use super::{MAX_CACHED_SENDER_KEYS, MAX_LOGGED, Node, chains::Batch};

/// Where an envelope came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Gossip, forwarded by this peer.
    Gossip(PeerId),
    /// Anti-entropy, from this peer.
    Sync(PeerId),
    /// This node's own admin API.
    Local,
}

impl Origin {
    /// The peer it came from, if any.
    pub fn peer(&self) -> Option<PeerId> {
        match self {
            Origin::Gossip(p) | Origin::Sync(p) => Some(*p),
            Origin::Local => None,
        }
    }
}

/// An envelope that passed every check, waiting for its durable write.
struct Prepared {
    verified: VerifiedEnvelope,
    derived: Derived,
    /// The key of the envelope it retracts, if stored (leaves the sync set).
    retracted_key: Option<(u64, EnvelopeId)>,
}

impl Node {
    /// The one validation path. Returns the verdict; on `Accept` the
    /// envelope is durably stored when this returns.
    pub fn ingest(&mut self, now: u64, bytes: &[u8], origin: Origin) -> Verdict {
        let verdict = self.ingest_one(now, bytes, origin);
        self.count(verdict, origin)
    }

    fn ingest_one(&mut self, now: u64, bytes: &[u8], origin: Origin) -> Verdict {
        let prepared =
            match decode(bytes).and_then(|e| self.prepare(now, e, origin, &Batch::default())) {
                Ok(p) => p,
                Err(v) => return v,
            };
        match self
            .store
            .insert(prepared.verified.envelope(), &prepared.derived, now)
        {
            Ok(true) => self.finish(now, prepared, origin),
            Ok(false) => Verdict::Ignore(Reason::Duplicate),
            Err(e) => store_failed(&e, prepared.verified.envelope().id),
        }
    }

    /// The batch form of [`Node::ingest`], for envelopes that arrive
    /// together (a sync fetch): every envelope is validated exactly as one by
    /// one, and the accepted ones are stored in one transaction (one fsync:
    /// group commit). Profiles, membership acts, key shares and retractions
    /// change what the next envelopes are checked against, so each of those
    /// is stored on its own, in order, after what came before it.
    pub fn ingest_batch(&mut self, now: u64, batch: &[Vec<u8>], origin: Origin) -> Vec<Verdict> {
        let mut verdicts: Vec<Option<Verdict>> = vec![None; batch.len()];
        let mut pending: Vec<(usize, Prepared)> = Vec::new();
        let mut prepared = Batch::default();
        for (i, bytes) in batch.iter().enumerate() {
            let envelope = match decode(bytes) {
                Ok(e) => e,
                Err(v) => {
                    verdicts[i] = Some(self.count(v, origin));
                    continue;
                }
            };
            if matches!(
                envelope.content.kind,
                Kind::Profile | Kind::Membership | Kind::KeyShare | Kind::Retraction
            ) {
                self.flush(now, &mut pending, &mut verdicts, origin);
                prepared = Batch::default();
                verdicts[i] = Some(self.ingest(now, bytes, origin));
                continue;
            }
            match self.prepare(now, envelope, origin, &prepared) {
                Ok(p) => {
                    prepared.add(&p.verified);
                    pending.push((i, p));
                }
                Err(v) => verdicts[i] = Some(self.count(v, origin)),
            }
        }
        self.flush(now, &mut pending, &mut verdicts, origin);
        verdicts
            .into_iter()
            .map(|v| v.unwrap_or(Verdict::Ignore(Reason::Duplicate)))
            .collect()
    }

    /// Counts a verdict, and logs a rejection once per peer and reason.
    fn count(&mut self, verdict: Verdict, origin: Origin) -> Verdict {
        match &verdict {
            Verdict::Accept => {
                self.counters.accepted += 1;
                self.pending_handoffs = None;
            }
            Verdict::Ignore(_) => self.counters.ignored += 1,
            Verdict::Reject(reason) => {
                self.counters.rejected += 1;
                if self.logged.len() < MAX_LOGGED
                    && self.logged.insert((origin.peer(), reason.kind()))
                {
                    tracing::warn!(?origin, %reason, "rejected envelope");
                }
            }
        }
        verdict
    }

    /// Stores the prepared envelopes in one transaction, then applies them.
    fn flush(
        &mut self,
        now: u64,
        pending: &mut Vec<(usize, Prepared)>,
        verdicts: &mut [Option<Verdict>],
        origin: Origin,
    ) {
        if pending.is_empty() {
            return;
        }
        let items: Vec<(&Envelope, &Derived)> = pending
            .iter()
            .map(|(_, p)| (p.verified.envelope(), &p.derived))
            .collect();
        match self.store.insert_many(&items, now) {
            Ok(inserted) => {
                for ((i, p), new) in pending.drain(..).zip(inserted) {
                    let v = if new {
                        self.finish(now, p, origin)
                    } else {
                        Verdict::Ignore(Reason::Duplicate)
                    };
                    verdicts[i] = Some(self.count(v, origin));
                }
            }
            Err(e) => {
                for (i, p) in pending.drain(..) {
                    let v = store_failed(&e, p.verified.envelope().id);
                    verdicts[i] = Some(self.count(v, origin));
                }
            }
        }
    }

    /// Everything before the durable write on a decoded envelope: duplicate
    /// and tombstone checks, outer signature, the mesh's rules, join-request
    /// limits, and what the node learns (opened content, awaited key,
    /// retraction), and the fork it reveals in its author's chain. `batch`
    /// is what was prepared earlier in the same batch.
    fn prepare(
        &mut self,
        now: u64,
        envelope: Envelope,
        origin: Origin,
        batch: &Batch,
    ) -> Result<Prepared, Verdict> {
        // Duplicates go first, before any signature check, and from memory:
        // the reconciliation set mirrors the store. The store stays the
        // authority: a duplicate that got past this is refused by the insert.
        if batch.ids.contains(&envelope.id)
            || self
                .sync_set
                .contains(&(envelope.content.created_at, envelope.id))
        {
            return Err(Verdict::Ignore(Reason::Duplicate));
        }
        // A retracted envelope is refused, unless it shows a fork (below):
        // evidence is kept whatever its author retracts.
        let retracted = envelope.content.kind == Kind::Incident
            && self
                .store
                .retracted_by(&envelope.id, &envelope.content.author)
                .unwrap_or(false);
        let verified = seal::verify_envelope(envelope)
            .map_err(|e| Verdict::Reject(Reason::BadSignature(e.to_string())))?;
        match mesh_core::validate::check(&verified, &self.mesh, &self.members, now) {
            Verdict::Accept => {}
            // Our own join request is kept even before we learn of the
            // invitation (we may not know the inviter yet): members take it
            // by sync once they hold the invitation.
            Verdict::Reject(Reason::NotInvited(_))
                if origin == Origin::Local && verified.content().author == self.me => {}
            // A team's node handing in its own join request before its
            // invitation reached us is not to blame (it is refused all the
            // same), within the per-peer join budget; past it, it is blamed
            // like any stranger's refused envelope (a stranger could
            // otherwise mint identities that list its node, for free).
            Verdict::Reject(reason @ Reason::NotInvited(_))
                if origin
                    .peer()
                    .is_some_and(|p| own_join_request(&verified, &p)) =>
            {
                let pending = self.members.applicants().len();
                return Err(match self.join_limiter.admit(now, origin.peer(), pending) {
                    Ok(()) => Verdict::Ignore(reason),
                    Err(_) => Verdict::Reject(reason),
                });
            }
            // Past its key's cut, refused, unless it shows a fork lower than
            // any known: then it is evidence, kept (every node that gets it
            // finds the same fork, whatever cut it knew of first).
            Verdict::Reject(reason @ Reason::Revoked { .. }) => {
                let c = verified.content();
                let known = self.forks.get(&c.author).copied();
                match self.chain_check(&verified, batch)? {
                    Some((at, _)) if known.is_none_or(|k| at < k) => {}
                    _ => return Err(Verdict::Reject(reason)),
                }
            }
            other => return Err(other),
        }
        let author = verified.content().author;
        if verified.content().kind == Kind::Profile && !self.members.is_member(&author) {
            let pending = self.members.applicants().len();
            if let Err(reason) = self.join_limiter.admit(now, origin.peer(), pending) {
                // Said once a minute at most: a flood must not flood the log,
                // and an operator must learn that join requests are dropped.
                let minute = now / 60_000;
                if self.join_refusal_logged != Some(minute) {
                    self.join_refusal_logged = Some(minute);
                    tracing::warn!(%reason, team = %author, "join request dropped (vouching by team id still works: `csirtmesh vouch <team id>`)");
                }
                return Err(Verdict::Ignore(reason));
            }
        }
        let fork = self.chain_check(&verified, batch)?;
        if retracted && fork.is_none() {
            return Err(Verdict::Ignore(Reason::Retracted));
        }
        let mut derived = self.derive(now, &verified).map_err(Verdict::Reject)?;
        derived.fork = fork;
        derived.written_here = origin == Origin::Local && author == self.me;
        let retracted_key = derived
            .retracts
            .filter(|t| !self.store.is_fork_evidence(t).unwrap_or(true))
            .filter(|t| fork.is_none_or(|(_, other)| other != *t))
            .and_then(|t| self.stored_envelope(now, &t))
            .filter(|t| t.content.author == author)
            .map(|t| (t.content.created_at, t.id));
        Ok(Prepared {
            verified,
            derived,
            retracted_key,
        })
    }

    /// A stored envelope, decoded; `None` when absent or unreadable.
    fn stored_envelope(&mut self, now: u64, id: &EnvelopeId) -> Option<Envelope> {
        let stored = self.get_intact(now, id).ok()??;
        Envelope::decode(&stored.bytes).ok()
    }

    /// Everything after the durable write.
    fn finish(&mut self, now: u64, p: Prepared, origin: Origin) -> Verdict {
        let env = p.verified.envelope();
        // Stored in a batch with an envelope that cut its author's chain
        // before it, and deleted then: not held.
        let c = &env.content;
        if !self.store.is_fork_evidence(&env.id).unwrap_or(false)
            && self
                .members
                .cut_of(&c.author)
                .is_some_and(|last| c.seq > last)
        {
            return Verdict::Ignore(Reason::Revoked {
                author: c.author.to_string(),
                why: "its chain was cut before this envelope".into(),
            });
        }
        self.hlc.observe(env.content.created_at);
        if matches!(origin, Origin::Gossip(_)) && c.author != self.me {
            self.clock.note(c.author, c.created_at, now);
        }
        self.sync_set.insert((env.content.created_at, env.id));
        if matches!(env.content.kind, Kind::Profile | Kind::Membership) {
            self.joining_set.insert((env.content.created_at, env.id));
        }
        if let Some(key) = p.retracted_key {
            // The retracted envelope left the store; its key leaves the set.
            self.sync_set.remove(&key);
        }
        if env.content.author == self.me {
            if origin == Origin::Local {
                self.seq = self.seq.max(env.content.seq);
            } else if env.content.seq > self.seq {
                // Not adopted: if a thief wrote it, this node's next
                // envelope takes the same place and the fork shows the
                // theft. (After a restart the node continues after the
                // highest place of its key it holds.)
                tracing::warn!(
                    seq = env.content.seq,
                    "an envelope signed with this team's key, past the last one this node wrote, came from the network: if this node was not restored from a backup, the key is stolen (`csirtmesh revoke`); this node's next envelope forks the chain either way"
                );
            }
        }
        if let Err(e) = self.after_accept(now, &p.verified, &p.derived) {
            tracing::error!(error = %format!("{e:#}"), id = %env.id, "post-accept processing failed");
        }
        let author = env.content.author;
        let chain = match p.derived.fork {
            Some((at, _)) => self.fork_found(now, author, at),
            None => Ok(()),
        };
        if let Err(e) = chain {
            tracing::error!(error = %format!("{e:#}"), id = %env.id, "checking the author's chain failed");
        }
        Verdict::Accept
    }

    /// What this node can learn from an authentic envelope of a member:
    /// opened content when addressed to us, or the key it waits for.
    fn derive(&mut self, now: u64, env: &VerifiedEnvelope) -> Result<Derived, Reason> {
        let c = env.content();
        let opened = |plaintext| Derived {
            opened: Some(plaintext),
            ..Derived::default()
        };
        match (&c.kind, &c.body) {
            (Kind::Profile, Body::Clear(b)) => {
                let sp = proto::SignedProfile::from_bytes(b)
                    .map_err(|e| Reason::BadProfile(e.to_string()))?;
                let p = seal::verify_profile(&sp).map_err(|e| Reason::BadProfile(e.to_string()))?;
                if p.team != c.author {
                    return Err(Reason::BadProfile("profile of another team".into()));
                }
                crate::verify_profile_nodes(&p)
                    .map_err(|e| Reason::BadProfile(format!("{e:#}")))?;
                // A profile dated past its envelope would win over every
                // later one of its team (the newest counts).
                if p.updated_at
                    > c.created_at
                        .saturating_add(mesh_core::validate::MAX_CLOCK_SKEW_MS)
                {
                    return Err(Reason::BadProfile(format!(
                        "dated {} ms after the envelope that carries it",
                        p.updated_at - c.created_at
                    )));
                }
                Ok(Derived::default())
            }
            (Kind::Retraction, Body::Clear(b)) => {
                let r = proto::Retraction::from_bytes(b)
                    .and_then(|r| r.check().map(|()| r))
                    .map_err(|e| Reason::BadRetraction(e.to_string()))?;
                let target = self
                    .stored_envelope(now, &r.target)
                    .map(|t| (t.content.author, t.content.kind));
                mesh_core::validate::check_retraction(&c.author, target)?;
                Ok(Derived {
                    retracts: Some(r.target),
                    retracts_seq: Some(r.target_seq),
                    ..Derived::default()
                })
            }
            (Kind::Membership, Body::Clear(b)) => {
                let act = MembershipAct::from_bytes(b)
                    .and_then(|a| a.check().map(|()| a))
                    .map_err(|e| Reason::BadMembershipAct(e.to_string()))?;
                mesh_core::validate::check_rotation(&self.mesh, &c.author, &act)?;
                Ok(Derived::default())
            }
            (_, Body::Clear(_)) => {
                let read =
                    seal::read_clear(env).map_err(|e| Reason::BadSignature(e.to_string()))?;
                Ok(opened(read.plaintext))
            }
            (
                _,
                Body::Sealed {
                    to: SealedTo::Teams { hints },
                    ..
                },
            ) => {
                if !self.addressed_to_us(env) {
                    return Ok(Derived::default());
                }
                match seal::open_as_team(env, &self.keys) {
                    Ok(o) => match sealed_as_named(self.me, &o.inner, hints.len()) {
                        Ok(()) => Ok(opened(o.plaintext)),
                        Err(why) => Ok(unreadable(env, &why)),
                    },
                    Err(seal::Error::NotForUs) => Ok(Derived::default()),
                    Err(e) => Ok(unreadable(env, &e)),
                }
            }
            (
                _,
                Body::Sealed {
                    to: SealedTo::SenderKey(k),
                    ..
                },
            ) => match self.sender_key(k) {
                Some(key) => match seal::open(env, key.identity()) {
                    Ok(o) => Ok(opened(o.plaintext)),
                    Err(e) => Ok(unreadable(env, &e)),
                },
                None => Ok(Derived {
                    waiting_for: Some(*k),
                    ..Derived::default()
                }),
            },
        }
    }

    /// Whether an envelope sealed to named teams carries our recipient hint
    /// (the hint key with its author is computed once and kept by
    /// [`seal::TeamKeys`]). Without the author's profile, or a usable key in
    /// it, there is no hint to check, and age decides.
    fn addressed_to_us(&self, env: &VerifiedEnvelope) -> bool {
        let keys = self.hint_keys_with(&env.content().author);
        keys.is_empty() || seal::addressed_to_any(env, &keys)
    }

    /// A GREEN sender key by id: from the cache, else from the store.
    pub(super) fn sender_key(&mut self, id: &KeyId) -> Option<SenderKey> {
        if let Some(key) = self.sender_keys.get(id) {
            return Some(key.clone());
        }
        let row = self.store.sender_key(id).ok()??;
        let key = SenderKey::from_secret(&row.secret).ok()?;
        if self.sender_keys.len() >= MAX_CACHED_SENDER_KEYS {
            self.sender_keys.clear();
        }
        self.sender_keys.insert(*id, key.clone());
        Some(key)
    }

    fn after_accept(&mut self, now: u64, env: &VerifiedEnvelope, derived: &Derived) -> Result<()> {
        let c = env.content();
        match c.kind {
            Kind::Retraction | Kind::Incident => {}
            Kind::Profile => {
                if let Body::Clear(b) = &c.body
                    && let Ok(sp) = proto::SignedProfile::from_bytes(b)
                    && let Ok(p) = sp.profile()
                {
                    // Verified in `derive` before it was stored.
                    let replaced = self.note_recipient(&p).then(|| p.recipient.clone());
                    let place = c.seq;
                    self.profiles.push(p);
                    self.rebuild_membership(now)?;
                    if let Some(recipient) = replaced.filter(|_| c.author != self.me)
                        && let Err(e) = self.reopen_sealed_by(now, c.author, place, &recipient)
                    {
                        tracing::error!(error = %format!("{e:#}"), team = %c.author.short(), "cannot look again at this team's unread envelopes");
                    }
                    return Ok(());
                }
                self.rebuild_membership(now)?
            }
            Kind::Membership => {
                if let Some(r) = super::membership::record_of(env.envelope()) {
                    self.records.push(r);
                }
                self.rebuild_membership(now)?
            }
            Kind::KeyShare => {
                let Some(plaintext) = &derived.opened else {
                    return Ok(());
                };
                if let Payload::SenderKey(share) = inner_of(plaintext)?.payload {
                    self.adopt_sender_key(now, c.author, c.created_at, share)?;
                }
            }
        }
        Ok(())
    }

    /// Looks again at what `author` sealed to named teams that this node
    /// could not open, now that its profile names a new age recipient: an
    /// envelope can arrive before the profile that announced the key it was
    /// sealed with. Its author seals with a new key only after the profile
    /// announcing it, so only places above the profile's (`after`) are
    /// looked at: the first [`REOPEN_LIMIT`] of them, and only those whose
    /// hint the new recipient explains are opened. A member publishing
    /// profile after profile makes each node read its own envelopes again,
    /// at most that many per new recipient.
    fn reopen_sealed_by(
        &mut self,
        now: u64,
        author: TeamId,
        after: u64,
        recipient: &str,
    ) -> Result<()> {
        let Ok(keys) = seal::parse_recipient(recipient).and_then(|r| self.keys.hint_keys(&r))
        else {
            return Ok(());
        };
        let unopened = self
            .store
            .unopened_sealed_by(&author, after, REOPEN_LIMIT)?;
        for stored in self.keep_intact(now, unopened) {
            let env =
                seal::verify_envelope(Envelope::decode(&stored.bytes).context("stored envelope")?)?;
            if !seal::addressed_to_any(&env, &keys) {
                continue;
            }
            let Ok(derived) = self.derive(now, &env) else {
                continue;
            };
            let Some(plaintext) = &derived.opened else {
                continue;
            };
            self.store.set_opened(&env.envelope().id, plaintext)?;
            tracing::info!(id = %env.envelope().id, author = %author.short(), "opened an envelope sealed with a recipient this node learned later");
            if env.content().kind == Kind::KeyShare
                && let Payload::SenderKey(share) = inner_of(plaintext)?.payload
            {
                self.adopt_sender_key(now, author, env.content().created_at, share)?;
            }
        }
        Ok(())
    }

    /// Stores a teammate's sender key and opens what waited for it.
    fn adopt_sender_key(
        &mut self,
        now: u64,
        team: TeamId,
        at: u64,
        share: SenderKeyShare,
    ) -> Result<()> {
        let key = SenderKey::from_secret(&share.secret)?;
        if key.id() != share.key_id {
            bail!(
                "key share names key {} but carries {}",
                share.key_id.short(),
                key.id().short()
            );
        }
        self.store.put_sender_key(
            &SenderKeyRow {
                key_id: key.id(),
                team,
                secret: share.secret,
                created_at: at,
                members: None,
            },
            false,
        )?;
        let waiting = self.store.waiting_for(&key.id())?;
        for waiting in self.keep_intact(now, waiting) {
            let decoded = Envelope::decode(&waiting.bytes).context("stored envelope")?;
            let env = seal::verify_envelope(decoded)?;
            match seal::open(&env, key.identity()) {
                Ok(o) => self.store.set_opened(&env.envelope().id, &o.plaintext)?,
                Err(e) => {
                    tracing::warn!(id = %env.envelope().id, error = %e, "envelope does not open with its announced sender key");
                    self.store.clear_pending(&env.envelope().id)?;
                }
            }
        }
        Ok(())
    }
}

/// The most unread envelopes of one team looked at again when its profile
/// names a new age recipient.
const REOPEN_LIMIT: usize = 1_000;

/// An opener's check that a body sealed to named teams was sealed to the
/// teams its inner content names, and to no other: one recipient hint per
/// named team, plus one for its author (who may keep a copy), and the
/// opener among them. Otherwise the author hid a recipient (sealed to a
/// team it does not name, which the others are not told of) or named one
/// it did not seal to (the others believe it was told).
fn sealed_as_named(me: TeamId, inner: &InnerContent, hints: usize) -> Result<(), String> {
    let named: std::collections::BTreeSet<TeamId> = inner
        .recipients
        .iter()
        .copied()
        .filter(|t| *t != inner.author)
        .collect();
    if me != inner.author && !named.contains(&me) {
        return Err("sealed to this team, which it does not name".into());
    }
    if hints != named.len() && hints != named.len() + 1 {
        return Err(format!(
            "sealed to {hints} teams, but names {} (and its author)",
            named.len()
        ));
    }
    Ok(())
}

/// What a recipient keeps of an envelope addressed to it that is wrong
/// inside (re-wrapped under another author, mislabelled, not opening with
/// its announced key): the envelope, as every non-recipient does, and none
/// of its content. Only a recipient can see the fault, so it blames nobody:
/// the peer that relayed it checked all it could, and a member could aim
/// such envelopes at a victim to cut it off from honest relays. Kept, it is
/// not fetched again by every sync round.
fn unreadable(env: &VerifiedEnvelope, e: &dyn std::fmt::Display) -> Derived {
    tracing::warn!(id = %env.envelope().id, author = %env.content().author.short(), error = %e, "an envelope addressed to this team is wrong inside: kept unread");
    Derived::default()
}

/// The verdict when the durable write failed: not the sender's fault (disk
/// full, I/O error), so no penalty, and nothing is acknowledged; sync brings
/// the envelope again later.
fn store_failed(e: &store::Error, id: EnvelopeId) -> Verdict {
    tracing::error!(error = %e, %id, "cannot store envelope");
    Verdict::Ignore(Reason::Unstored(e.to_string()))
}

/// Decodes wire bytes; what does not decode is refused as malformed.
fn decode(bytes: &[u8]) -> Result<Envelope, Verdict> {
    Envelope::decode(bytes).map_err(|e| Verdict::Reject(Reason::Malformed(e.to_string())))
}

/// The inner content of a plaintext this node stored after checking it.
pub(super) fn inner_of(plaintext: &[u8]) -> Result<InnerContent, proto::Error> {
    let signed = SignedInner::from_bytes(plaintext)?;
    InnerContent::from_bytes(&signed.content)
}

/// Whether a profile envelope lists `peer` among its team's nodes: the team
/// handing in its own join request.
fn own_join_request(env: &VerifiedEnvelope, peer: &PeerId) -> bool {
    let Body::Clear(b) = &env.content().body else {
        return false;
    };
    let node = peer.to_bytes();
    proto::SignedProfile::from_bytes(b)
        .and_then(|sp| sp.profile())
        .is_ok_and(|p| p.team == env.content().author && p.peers.contains(&node))
}
