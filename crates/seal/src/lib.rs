//! # csirtmesh-seal: team keys, signatures, and sign-encrypt-sign
//!
//! The only crate that touches cryptography. It hands out *verified values*:
//! a [`VerifiedEnvelope`] can only be made by checking the outer signature, an
//! [`Opened`] only by decrypting with age and checking the inner signature and
//! that the inner author, mesh and label equal the outer ones. Code further
//! up (`core`, `node`) takes these types, so it cannot forget a check.
//!
//! Every signature covers `context || 0x00 || bytes` with a context from
//! [`proto::context`], so a signature made for one purpose cannot be replayed
//! as another, and always the exact bytes that travel, never a re-encoding.
//!
//! age authenticates no sender: authorship comes from the signatures alone.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::{io::Read, str::FromStr};

use age::secrecy::ExposeSecret;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use proto::{
    Body, Envelope, EnvelopeContent, InnerContent, KeyId, MAX_ENVELOPE_BYTES, Profile,
    RecipientHint, SealedTo, Signature, SignedInner, SignedProfile, TeamId, context,
};
use zeroize::Zeroizing;

pub use age::x25519::{Identity as AgeIdentity, Recipient as AgeRecipient};

pub mod passphrase;

/// What went wrong with keys, signatures or sealing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A signature does not verify against the claimed key.
    #[error("bad signature on {what} claimed by team {team}")]
    BadSignature {
        /// What was signed.
        what: &'static str,
        /// Who claimed to sign it.
        team: TeamId,
    },
    /// The claimed team id is not a valid ed25519 public key.
    #[error("team id {0} is not a valid ed25519 public key")]
    BadTeamKey(TeamId),
    /// The inner author differs from the outer one: someone re-wrapped
    /// another team's ciphertext as their own.
    #[error(
        "inner author {inner} differs from envelope author {outer}: re-wrapped content, refused"
    )]
    AuthorMismatch {
        /// The author named inside.
        inner: TeamId,
        /// The author who signed the envelope.
        outer: TeamId,
    },
    /// The inner mesh or label differs from the outer one.
    #[error("inner {field} differs from the envelope's: refused")]
    InnerMismatch {
        /// Which field.
        field: &'static str,
    },
    /// The body is not sealed to any key we hold.
    #[error("not addressed to this team")]
    NotForUs,
    /// age could not decrypt or the ciphertext is malformed.
    #[error("cannot open sealed body: {0}")]
    Decrypt(String),
    /// age could not encrypt.
    #[error("cannot seal: {0}")]
    Encrypt(String),
    /// A key string is malformed.
    #[error("invalid {what}: {reason}")]
    BadKey {
        /// Which key.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The bytes are not a valid protocol value.
    #[error(transparent)]
    Proto(#[from] proto::Error),
}

/// A team's secret keys: the ed25519 signing key (its identity) and the age
/// X25519 identity others encrypt to.
pub struct TeamKeys {
    signing: SigningKey,
    age: AgeIdentity,
    /// Age identities this team replaced, newest first: kept a while to open
    /// what senders sealed to its old recipient before they learned the new
    /// one. Never sealed to, never given out.
    retired: Vec<AgeIdentity>,
    /// Hint keys already agreed, by (the place of our identity in
    /// [`TeamKeys::age_identities`], their X25519 public key). Keys with
    /// another current identity start with an empty cache.
    hint_keys: std::sync::Mutex<std::collections::HashMap<(usize, [u8; 32]), HintKey>>,
}

/// At most this many hint keys are kept; past it the cache starts over.
const MAX_CACHED_HINT_KEYS: usize = 16_384;

impl std::fmt::Debug for TeamKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TeamKeys({})", self.team_id().short())
    }
}

impl TeamKeys {
    /// Fresh keys from the operating system's random source.
    pub fn generate() -> Self {
        TeamKeys {
            signing: SigningKey::generate(&mut rand::rngs::OsRng),
            age: AgeIdentity::generate(),
            retired: Vec::new(),
            hint_keys: Default::default(),
        }
    }

    /// A new signing key for the same team (key rotation); the age
    /// identities stay.
    pub fn with_new_signing_key(&self) -> Self {
        TeamKeys {
            signing: SigningKey::generate(&mut rand::rngs::OsRng),
            age: self.age.clone(),
            retired: self.retired.clone(),
            hint_keys: Default::default(),
        }
    }

    /// A new age identity (others seal to its recipient once the team's
    /// profile names it); the current one joins the retired ones.
    pub fn with_new_age_key(&self) -> Self {
        self.with_age(AgeIdentity::generate())
    }

    /// These keys with `age` as the current age identity; the current one
    /// joins the retired ones (an identity already among them is not added
    /// twice).
    pub fn with_age(&self, age: AgeIdentity) -> Self {
        let mut retired = vec![self.age.clone()];
        retired.extend(self.retired.iter().cloned());
        let current = age.to_public().to_string();
        let mut seen = std::collections::HashSet::new();
        retired.retain(|r| {
            let public = r.to_public().to_string();
            public != current && seen.insert(public)
        });
        TeamKeys {
            signing: self.signing.clone(),
            age,
            retired,
            hint_keys: Default::default(),
        }
    }

    /// These keys with `retired` as the retired age identities (newest
    /// first), as the data directory keeps them.
    pub fn with_retired(&self, retired: Vec<AgeIdentity>) -> Self {
        let mut seen = std::collections::HashSet::from([self.recipient()]);
        TeamKeys {
            signing: self.signing.clone(),
            age: self.age.clone(),
            retired: retired
                .into_iter()
                .filter(|r| seen.insert(r.to_public().to_string()))
                .collect(),
            hint_keys: Default::default(),
        }
    }

    /// The retired age identities, newest first.
    pub fn retired(&self) -> &[AgeIdentity] {
        &self.retired
    }

    /// Rebuilds keys from their secret strings (as [`TeamKeys::secrets`] gives).
    pub fn from_secrets(signing_hex: &str, age_secret: &str) -> Result<Self, Error> {
        let bytes = hex::decode(signing_hex.trim()).map_err(|e| Error::BadKey {
            what: "team signing key",
            reason: e.to_string(),
        })?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| Error::BadKey {
            what: "team signing key",
            reason: "expected 32 bytes".into(),
        })?;
        let age = AgeIdentity::from_str(age_secret.trim()).map_err(|e| Error::BadKey {
            what: "age identity",
            reason: e.to_string(),
        })?;
        Ok(TeamKeys {
            signing: SigningKey::from_bytes(&arr),
            age,
            retired: Vec::new(),
            hint_keys: Default::default(),
        })
    }

    /// The secret strings: (signing key hex, age identity). Handle with care.
    pub fn secrets(&self) -> (String, String) {
        (
            hex::encode(self.signing.to_bytes()),
            self.age.to_string().expose_secret().to_owned(),
        )
    }

    /// The team's id: its public signing key.
    pub fn team_id(&self) -> TeamId {
        TeamId(self.signing.verifying_key().to_bytes())
    }

    /// The public age recipient (`age1...`).
    pub fn recipient(&self) -> String {
        self.age.to_public().to_string()
    }

    /// The current age identity, to open what was sealed to this team.
    pub fn age_identity(&self) -> &AgeIdentity {
        &self.age
    }

    /// Every age identity this team holds, the current one first.
    pub fn age_identities(&self) -> impl Iterator<Item = &AgeIdentity> {
        std::iter::once(&self.age).chain(&self.retired)
    }

    /// Signs `context || 0 || bytes`.
    pub fn sign(&self, context: &[u8], bytes: &[u8]) -> Signature {
        Signature(self.signing.sign(&framed(context, bytes)).to_bytes())
    }

    /// The hint key this team shares with the team whose age recipient is
    /// `their`: the X25519 agreement of the two age keys, so both ends (and
    /// nobody else) compute the same key. One agreement per pair of teams:
    /// the keys remember the result.
    pub fn hint_key(&self, their: &AgeRecipient) -> Result<HintKey, Error> {
        self.hint_key_as(0, &self.age, their)
    }

    /// The hint keys of every age identity this team holds (the current one
    /// first) with `their`: what senders that had not yet learned of a new
    /// recipient marked their envelopes with.
    pub fn hint_keys(&self, their: &AgeRecipient) -> Result<Vec<HintKey>, Error> {
        self.age_identities()
            .enumerate()
            .map(|(place, ours)| self.hint_key_as(place, ours, their))
            .collect()
    }

    fn hint_key_as(
        &self,
        place: usize,
        ours_id: &AgeIdentity,
        their: &AgeRecipient,
    ) -> Result<HintKey, Error> {
        let theirs = x25519_key(&their.to_string(), "age recipient")?;
        let pair = (place, *theirs);
        let cached =
            |keys: &std::collections::HashMap<(usize, [u8; 32]), HintKey>| keys.get(&pair).cloned();
        if let Some(key) = self.hint_keys.lock().ok().as_deref().and_then(cached) {
            return Ok(key);
        }
        let secret = ours_id.to_string();
        let ours = x25519_key(secret.expose_secret(), "age identity")?;
        let shared = x25519_dalek::StaticSecret::from(*ours)
            .diffie_hellman(&x25519_dalek::PublicKey::from(*theirs));
        if !shared.was_contributory() {
            return Err(Error::BadKey {
                what: "age recipient",
                reason: "a low-order point, not a team's key".into(),
            });
        }
        let key = HintKey(Zeroizing::new(blake3::derive_key(
            HINT_KEY_CONTEXT,
            shared.as_bytes(),
        )));
        if let Ok(mut keys) = self.hint_keys.lock() {
            if keys.len() >= MAX_CACHED_HINT_KEYS {
                keys.clear();
            }
            keys.insert(pair, key.clone());
        }
        Ok(key)
    }
}

/// The BLAKE3 key-derivation context of hint keys.
const HINT_KEY_CONTEXT: &str = "csirtmesh 2026-11 recipient hint key v1";

/// The 32 key bytes of an age key string (`age1...` or `AGE-SECRET-KEY-1...`),
/// which are the X25519 public key or secret scalar age itself uses.
fn x25519_key(bech: &str, what: &'static str) -> Result<Zeroizing<[u8; 32]>, Error> {
    let (_, data) = bech32::decode(bech).map_err(|e| Error::BadKey {
        what,
        reason: e.to_string(),
    })?;
    let data = Zeroizing::new(data);
    let key: [u8; 32] = data.as_slice().try_into().map_err(|_| Error::BadKey {
        what,
        reason: format!("{} key bytes, expected 32", data.len()),
    })?;
    Ok(Zeroizing::new(key))
}

/// The key two teams share to mark envelopes sealed between them (see
/// [`RecipientHint`]).
#[derive(Clone)]
pub struct HintKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for HintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HintKey(..)")
    }
}

impl HintKey {
    /// The hint for a ciphertext with this BLAKE3 digest.
    fn hint(&self, digest: &blake3::Hash) -> RecipientHint {
        let h = blake3::keyed_hash(&self.0, digest.as_bytes());
        let mut hint = [0u8; 4];
        hint.copy_from_slice(&h.as_bytes()[..4]);
        RecipientHint(hint)
    }
}

/// The hints `keys`' team gives `recipients` for `ciphertext`, in their order.
pub fn recipient_hints(
    keys: &TeamKeys,
    recipients: &[AgeRecipient],
    ciphertext: &[u8],
) -> Result<Vec<RecipientHint>, Error> {
    let digest = blake3::hash(ciphertext);
    recipients
        .iter()
        .map(|r| Ok(keys.hint_key(r)?.hint(&digest)))
        .collect()
}

/// Whether a body sealed to named teams carries the hint that `key` (the
/// hint key between its author and us) gives: "addressed to us". Any other
/// body: false. Checking costs a hash, where trying the age key on every
/// stanza costs an X25519 agreement each.
pub fn addressed_to(envelope: &VerifiedEnvelope, key: &HintKey) -> bool {
    match &envelope.content().body {
        Body::Sealed {
            to: SealedTo::Teams { hints },
            ciphertext,
        } => hints.contains(&key.hint(&blake3::hash(ciphertext))),
        _ => false,
    }
}

/// Whether a body sealed to named teams carries the hint any of `keys`
/// gives (the ciphertext is hashed once).
pub fn addressed_to_any(envelope: &VerifiedEnvelope, keys: &[HintKey]) -> bool {
    match &envelope.content().body {
        Body::Sealed {
            to: SealedTo::Teams { hints },
            ciphertext,
        } => {
            let digest = blake3::hash(ciphertext);
            keys.iter().any(|k| hints.contains(&k.hint(&digest)))
        }
        _ => false,
    }
}

fn framed(context: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(context.len() + 1 + bytes.len());
    m.extend_from_slice(context);
    m.push(0);
    m.extend_from_slice(bytes);
    m
}

/// Checks `signature` over `context || 0 || bytes` by `team`.
pub fn verify(
    team: &TeamId,
    what: &'static str,
    context: &[u8],
    bytes: &[u8],
    signature: &Signature,
) -> Result<(), Error> {
    let key = VerifyingKey::from_bytes(team.as_bytes()).map_err(|_| Error::BadTeamKey(*team))?;
    let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
    key.verify_strict(&framed(context, bytes), &sig)
        .map_err(|_| Error::BadSignature { what, team: *team })
}

/// The secret string of an age identity (`AGE-SECRET-KEY-1...`), to keep
/// in a file only its owner reads.
pub fn identity_secret(identity: &AgeIdentity) -> String {
    identity.to_string().expose_secret().to_owned()
}

/// Parses an age identity's secret string.
pub fn parse_identity(s: &str) -> Result<AgeIdentity, Error> {
    AgeIdentity::from_str(s.trim()).map_err(|e| Error::BadKey {
        what: "age identity",
        reason: e.to_string(),
    })
}

/// Parses a public age recipient.
pub fn parse_recipient(s: &str) -> Result<AgeRecipient, Error> {
    AgeRecipient::from_str(s.trim()).map_err(|e| Error::BadKey {
        what: "age recipient",
        reason: e.to_string(),
    })
}

/// An envelope whose outer signature has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEnvelope(Envelope);

impl VerifiedEnvelope {
    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.0
    }

    /// The signed content.
    pub fn content(&self) -> &EnvelopeContent {
        &self.0.content
    }

    /// Gives the envelope back.
    pub fn into_inner(self) -> Envelope {
        self.0
    }
}

/// Checks the outer signature of an envelope against its claimed author.
pub fn verify_envelope(envelope: Envelope) -> Result<VerifiedEnvelope, Error> {
    verify(
        &envelope.content.author,
        "envelope",
        context::ENVELOPE,
        &envelope.content_bytes,
        &envelope.signature,
    )?;
    Ok(VerifiedEnvelope(envelope))
}

/// Signs envelope content into a wire envelope.
pub fn sign_envelope(
    keys: &TeamKeys,
    content: &EnvelopeContent,
) -> Result<VerifiedEnvelope, Error> {
    if content.author != keys.team_id() {
        return Err(Error::AuthorMismatch {
            inner: content.author,
            outer: keys.team_id(),
        });
    }
    let bytes = Envelope::content_bytes(content)?;
    let signature = keys.sign(context::ENVELOPE, &bytes);
    Ok(VerifiedEnvelope(Envelope::assemble(bytes, signature)?))
}

/// Signs inner content (the first "sign" of sign-encrypt-sign) and encodes it.
pub fn sign_inner(keys: &TeamKeys, inner: &InnerContent) -> Result<Vec<u8>, Error> {
    if inner.author != keys.team_id() {
        return Err(Error::AuthorMismatch {
            inner: inner.author,
            outer: keys.team_id(),
        });
    }
    let content = inner.to_bytes()?;
    let signature = keys.sign(context::INNER, &content);
    Ok(SignedInner { content, signature }.to_bytes()?)
}

/// Signs inner content and seals it with age to `recipients`: one stanza and
/// one [`RecipientHint`] each (hints in a random order, so their order says
/// nothing about the stanzas').
pub fn seal_to_teams(
    keys: &TeamKeys,
    inner: &InnerContent,
    recipients: &[AgeRecipient],
) -> Result<Body, Error> {
    use rand::seq::SliceRandom;
    let plaintext = sign_inner(keys, inner)?;
    let ciphertext = encrypt(&plaintext, recipients)?;
    let mut hints = recipient_hints(keys, recipients, &ciphertext)?;
    hints.shuffle(&mut rand::thread_rng());
    Ok(Body::Sealed {
        to: SealedTo::Teams { hints },
        ciphertext,
    })
}

fn encrypt(plaintext: &[u8], recipients: &[AgeRecipient]) -> Result<Vec<u8>, Error> {
    use std::io::Write;
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| Error::Encrypt(e.to_string()))?;
    let mut out = Vec::with_capacity(plaintext.len() + 200 * recipients.len());
    let mut w = encryptor
        .wrap_output(&mut out)
        .map_err(|e| Error::Encrypt(e.to_string()))?;
    w.write_all(plaintext)
        .map_err(|e| Error::Encrypt(e.to_string()))?;
    w.finish().map_err(|e| Error::Encrypt(e.to_string()))?;
    Ok(out)
}

/// A GREEN sender key: an age identity shared with every current member.
#[derive(Clone)]
pub struct SenderKey {
    identity: AgeIdentity,
    id: KeyId,
}

impl std::fmt::Debug for SenderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SenderKey({:?})", self.id)
    }
}

impl SenderKey {
    /// A fresh sender key.
    pub fn generate() -> Self {
        Self::from_identity(AgeIdentity::generate())
    }

    /// Rebuilds a sender key from its secret string.
    pub fn from_secret(secret: &str) -> Result<Self, Error> {
        let identity = AgeIdentity::from_str(secret.trim()).map_err(|e| Error::BadKey {
            what: "sender key",
            reason: e.to_string(),
        })?;
        Ok(Self::from_identity(identity))
    }

    fn from_identity(identity: AgeIdentity) -> Self {
        let id = KeyId::of_recipient(&identity.to_public().to_string());
        SenderKey { identity, id }
    }

    /// The key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The secret string, to share in a key-share envelope or store locally.
    pub fn secret(&self) -> String {
        self.identity.to_string().expose_secret().to_owned()
    }

    /// Signs inner content and seals it to this key (one stanza).
    pub fn seal(&self, keys: &TeamKeys, inner: &InnerContent) -> Result<Vec<u8>, Error> {
        let plaintext = sign_inner(keys, inner)?;
        encrypt(&plaintext, &[self.identity.to_public()])
    }

    /// The age identity, to open GREEN envelopes sealed to this key.
    pub fn identity(&self) -> &AgeIdentity {
        &self.identity
    }
}

/// Inner content that was opened and checked: decrypted (or read in the
/// clear), its signature verified, and its author, mesh and label equal to the
/// envelope's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The checked inner content.
    pub inner: InnerContent,
    /// The exact plaintext (a `SignedInner` encoding), to store and re-check.
    pub plaintext: Vec<u8>,
}

/// Opens a sealed body with `identity`, or reads a clear one, and checks it.
/// Returns [`Error::NotForUs`] when the body is sealed to other keys.
pub fn open(envelope: &VerifiedEnvelope, identity: &AgeIdentity) -> Result<Opened, Error> {
    let plaintext = match &envelope.content().body {
        Body::Clear(bytes) => bytes.clone(),
        Body::Sealed { ciphertext, .. } => decrypt(ciphertext, identity)?,
    };
    check_plaintext(envelope, plaintext)
}

/// Opens a body sealed to named teams with any of `keys`' age identities
/// (the current one, then the retired ones), and checks it.
pub fn open_as_team(envelope: &VerifiedEnvelope, keys: &TeamKeys) -> Result<Opened, Error> {
    let plaintext = match &envelope.content().body {
        Body::Clear(bytes) => bytes.clone(),
        Body::Sealed { ciphertext, .. } => decrypt_any(
            ciphertext,
            keys.age_identities().map(|i| i as &dyn age::Identity),
        )?,
    };
    check_plaintext(envelope, plaintext)
}

/// Reads the inner content of a CLEAR envelope, checked.
pub fn read_clear(envelope: &VerifiedEnvelope) -> Result<Opened, Error> {
    match &envelope.content().body {
        Body::Clear(bytes) => check_plaintext(envelope, bytes.clone()),
        Body::Sealed { .. } => Err(Error::NotForUs),
    }
}

/// Checks a signed inner content that travels inside another (a report
/// copied into a hand-off): signed by `author` under the inner context, and
/// naming `author` inside.
pub fn verify_signed_inner(bytes: &[u8], author: &TeamId) -> Result<InnerContent, Error> {
    let signed = SignedInner::from_bytes(bytes)?;
    let inner = InnerContent::from_bytes(&signed.content)?;
    if inner.author != *author {
        return Err(Error::AuthorMismatch {
            inner: inner.author,
            outer: *author,
        });
    }
    verify(
        author,
        "inner content",
        context::INNER,
        &signed.content,
        &signed.signature,
    )?;
    Ok(inner)
}

/// Re-checks a plaintext kept from an earlier [`open`] (e.g. from the store).
pub fn check_plaintext(envelope: &VerifiedEnvelope, plaintext: Vec<u8>) -> Result<Opened, Error> {
    let signed = SignedInner::from_bytes(&plaintext)?;
    let inner = InnerContent::from_bytes(&signed.content)?;
    let outer = envelope.content();
    if inner.author != outer.author {
        return Err(Error::AuthorMismatch {
            inner: inner.author,
            outer: outer.author,
        });
    }
    verify(
        &inner.author,
        "inner content",
        context::INNER,
        &signed.content,
        &signed.signature,
    )?;
    if inner.mesh != outer.mesh {
        return Err(Error::InnerMismatch { field: "mesh" });
    }
    if inner.tlp != outer.tlp {
        return Err(Error::InnerMismatch { field: "TLP label" });
    }
    let kind_ok = matches!(
        (outer.kind, &inner.payload),
        (proto::Kind::Incident, proto::Payload::Incident(_))
            | (proto::Kind::KeyShare, proto::Payload::SenderKey(_))
    );
    if !kind_ok {
        return Err(Error::InnerMismatch {
            field: "payload kind",
        });
    }
    Ok(Opened { inner, plaintext })
}

fn decrypt(ciphertext: &[u8], identity: &AgeIdentity) -> Result<Vec<u8>, Error> {
    decrypt_any(ciphertext, std::iter::once(identity as &dyn age::Identity))
}

fn decrypt_any<'a>(
    ciphertext: &[u8],
    identities: impl Iterator<Item = &'a dyn age::Identity>,
) -> Result<Vec<u8>, Error> {
    let decryptor =
        age::Decryptor::new_buffered(ciphertext).map_err(|e| Error::Decrypt(e.to_string()))?;
    let reader = decryptor.decrypt(identities).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys => Error::NotForUs,
        other => Error::Decrypt(other.to_string()),
    })?;
    let mut out = Vec::with_capacity(ciphertext.len());
    // age plaintext is never longer than its ciphertext; the bound is belt and braces.
    reader
        .take(MAX_ENVELOPE_BYTES as u64)
        .read_to_end(&mut out)
        .map_err(|e| Error::Decrypt(e.to_string()))?;
    Ok(out)
}

/// Whether the body is sealed to a sender key, and which.
pub fn sender_key_of(envelope: &VerifiedEnvelope) -> Option<KeyId> {
    match &envelope.content().body {
        Body::Sealed {
            to: SealedTo::SenderKey(k),
            ..
        } => Some(*k),
        _ => None,
    }
}

/// Signs a team's profile with its own key.
pub fn sign_profile(keys: &TeamKeys, profile: &Profile) -> Result<SignedProfile, Error> {
    if profile.team != keys.team_id() {
        return Err(Error::AuthorMismatch {
            inner: profile.team,
            outer: keys.team_id(),
        });
    }
    profile.check()?;
    let content = profile.to_bytes()?;
    let signature = keys.sign(context::PROFILE, &content);
    Ok(SignedProfile { content, signature })
}

/// Checks a signed profile was signed by the team it describes.
pub fn verify_profile(signed: &SignedProfile) -> Result<Profile, Error> {
    let profile = signed.profile()?;
    verify(
        &profile.team,
        "profile",
        context::PROFILE,
        &signed.content,
        &signed.signature,
    )?;
    Ok(profile)
}

#[cfg(test)]
mod tests;
