//! The envelope: the unit on the wire and on disk.
//!
//! Wire bytes are `version || bincode(WireEnvelope { content, signature })`,
//! where `content` is the exact encoding of [`EnvelopeContent`] and the
//! signature covers `context::ENVELOPE || 0 || content`. Keeping the signed
//! bytes as bytes means a verifier checks exactly what it received, never a
//! re-encoding. The [`EnvelopeId`] is BLAKE3 of the whole wire bytes.
//!
//! Everything in [`EnvelopeContent`] is visible to every member: who wrote it,
//! when, under which label, in which thread, how big. The content proper is in
//! [`Body::Sealed`], readable only by its recipients.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    EnvelopeId, Error, FORMAT_VERSION, KeyId, MAX_ENVELOPE_BYTES, MAX_PARENTS, MeshId, TeamId, Tlp,
    codec,
};

/// What an envelope carries, visible to every member without opening it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// A team's signed profile: a join request, or a profile update.
    Profile,
    /// A GREEN sender key shared with the current members (sealed).
    KeyShare,
    /// An incident report, comment or status change (sealed unless CLEAR).
    Incident,
    /// A membership act: endorsement, objection, revocation, suspension,
    /// key rotation (a public CLEAR record).
    Membership,
    /// A tombstone: the author retracts one of its envelopes (a public CLEAR
    /// record whose body is a [`crate::Retraction`]).
    Retraction,
}

/// How the content is carried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// Readable by anyone: CLEAR incidents and public records (profiles).
    Clear(Vec<u8>),
    /// age ciphertext of a [`crate::SignedInner`].
    Sealed {
        /// Whom it is sealed to, as far as that is public.
        to: SealedTo,
        /// The age ciphertext (binary format).
        ciphertext: Vec<u8>,
    },
}

/// Who can open a sealed body. Named recipients are not listed: age stanzas
/// do not reveal them, and neither does the envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SealedTo {
    /// One age stanza per named team (AMBER, AMBER+STRICT, RED, key shares),
    /// and one [`RecipientHint`] per named team, so that a team tries its
    /// key only on what is addressed to it.
    Teams {
        /// One hint per recipient, at most [`MAX_RECIPIENT_HINTS`].
        hints: Vec<RecipientHint>,
    },
    /// The author's GREEN sender key with this id.
    SenderKey(KeyId),
}

/// The highest sequence number: what SQLite's signed 64-bit integers hold,
/// so a stored position is the signed one.
pub const MAX_SEQ: u64 = i64::MAX as u64;

/// At most this many recipient hints (and so named recipients) per envelope.
pub const MAX_RECIPIENT_HINTS: usize = 2048;

/// Four bytes that tell a named recipient "this one is for you" without
/// telling anyone else anything: a keyed hash of the ciphertext under a key
/// only the author and that recipient can compute (their X25519 agreement;
/// see `csirtmesh-seal`). Without hints every team would have to try its age
/// key, an X25519 agreement, on every stanza of every sealed envelope it
/// receives, addressed to it or not. A false match (1 in 2^32) costs one
/// failed age trial, nothing more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecipientHint(pub [u8; 4]);

/// The signed part of an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeContent {
    /// The mesh it belongs to; envelopes of another mesh are refused.
    pub mesh: MeshId,
    /// What it carries.
    pub kind: Kind,
    /// Its author, whose key signed it.
    pub author: TeamId,
    /// The author's sequence number, starting at 1, so gaps are visible.
    pub seq: u64,
    /// Hybrid logical clock of the author, in milliseconds since the epoch.
    pub created_at: u64,
    /// The TLP label of the content (CLEAR for profiles).
    pub tlp: Tlp,
    /// The incident this belongs to (its root envelope); `None` for a root.
    pub thread: Option<EnvelopeId>,
    /// Envelopes of the thread the author had seen.
    pub parents: Vec<EnvelopeId>,
    /// The content.
    pub body: Body,
}

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}..)", hex::encode(&self.0[..4]))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes: Vec<u8> = Deserialize::deserialize(d)?;
        let arr: [u8; 64] = bytes.try_into().map_err(|b: Vec<u8>| {
            serde::de::Error::invalid_length(b.len(), &"64 signature bytes")
        })?;
        Ok(Signature(arr))
    }
}

/// What travels after the version: the signed bytes and their signature.
#[derive(Serialize, Deserialize)]
struct WireEnvelope {
    content: Vec<u8>,
    signature: Signature,
}

/// A decoded envelope, with the exact bytes it came from. Decoding checks the
/// format only; the signature is checked by `csirtmesh-seal`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// BLAKE3 of [`Envelope::bytes`].
    pub id: EnvelopeId,
    /// The decoded signed part.
    pub content: EnvelopeContent,
    /// The exact signed bytes (what the signature covers).
    pub content_bytes: Vec<u8>,
    /// The outer signature.
    pub signature: Signature,
    /// The exact wire bytes.
    pub bytes: Vec<u8>,
}

impl Envelope {
    /// Encodes the content into the bytes to be signed.
    pub fn content_bytes(content: &EnvelopeContent) -> Result<Vec<u8>, Error> {
        check_content(content)?;
        codec::encode("envelope content", content)
    }

    /// Assembles an envelope from signed content bytes and their signature.
    pub fn assemble(content_bytes: Vec<u8>, signature: Signature) -> Result<Self, Error> {
        let mut bytes = codec::encode("envelope version", &FORMAT_VERSION)?;
        let wire = WireEnvelope {
            content: content_bytes,
            signature,
        };
        bytes.extend(codec::encode("envelope", &wire)?);
        Self::decode(&bytes)
    }

    /// Decodes wire bytes: size limit first, then the version, then the rest,
    /// refusing trailing and non-canonical bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(Error::TooLarge {
                what: "envelope",
                size: bytes.len(),
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        let (version, used) =
            codec::decode_prefix::<u16>("envelope version", bytes, MAX_ENVELOPE_BYTES)?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if codec::encode("envelope version", &version)? != bytes[..used] {
            return Err(Error::NotCanonical {
                what: "envelope version",
            });
        }
        let wire: WireEnvelope = codec::decode("envelope", &bytes[used..], MAX_ENVELOPE_BYTES)?;
        let content: EnvelopeContent =
            codec::decode("envelope content", &wire.content, MAX_ENVELOPE_BYTES)?;
        check_content(&content)?;
        Ok(Envelope {
            id: EnvelopeId::of(bytes),
            content,
            content_bytes: wire.content,
            signature: wire.signature,
            bytes: bytes.to_vec(),
        })
    }

    /// Size on the wire, in bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }
}

/// Structural rules that need no keys and no state.
fn check_content(content: &EnvelopeContent) -> Result<(), Error> {
    if content.seq == 0 {
        return Err(Error::Invalid {
            field: "seq",
            reason: "sequence numbers start at 1".into(),
        });
    }
    if content.seq > MAX_SEQ {
        return Err(Error::Invalid {
            field: "seq",
            reason: format!("sequence number {} above {MAX_SEQ}", content.seq),
        });
    }
    if content.parents.len() > MAX_PARENTS {
        return Err(Error::Invalid {
            field: "parents",
            reason: format!("{} parents, at most {MAX_PARENTS}", content.parents.len()),
        });
    }
    let sealed = matches!(content.body, Body::Sealed { .. });
    if let Body::Sealed {
        to: SealedTo::Teams { hints },
        ..
    } = &content.body
    {
        if hints.is_empty() {
            return Err(Error::Invalid {
                field: "hints",
                reason:
                    "a body sealed to named teams has one recipient hint per team, and none here"
                        .into(),
            });
        }
        if hints.len() > MAX_RECIPIENT_HINTS {
            return Err(Error::Invalid {
                field: "hints",
                reason: format!(
                    "{} recipient hints, at most {MAX_RECIPIENT_HINTS}",
                    hints.len()
                ),
            });
        }
    }
    match (content.kind, content.tlp, &content.body) {
        (Kind::Profile | Kind::Membership | Kind::Retraction, Tlp::Clear, Body::Clear(_)) => {}
        (Kind::Retraction, _, _) => {
            return Err(Error::Invalid {
                field: "body",
                reason: "a retraction is a public CLEAR record".into(),
            });
        }
        (Kind::Membership, _, _) => {
            return Err(Error::Invalid {
                field: "body",
                reason: "a membership act is a public CLEAR record".into(),
            });
        }
        (Kind::Profile, _, _) => {
            return Err(Error::Invalid {
                field: "body",
                reason: "a profile is a public CLEAR record".into(),
            });
        }
        (
            Kind::KeyShare,
            _,
            Body::Sealed {
                to: SealedTo::Teams { .. },
                ..
            },
        ) => {}
        (Kind::KeyShare, _, _) => {
            return Err(Error::Invalid {
                field: "body",
                reason: "a key share must be sealed to named teams".into(),
            });
        }
        (Kind::Incident, Tlp::Clear, _) if sealed => {
            return Err(Error::Invalid {
                field: "body",
                reason: "a CLEAR incident is signed, not sealed".into(),
            });
        }
        (Kind::Incident, Tlp::Green, b)
            if !matches!(
                b,
                Body::Sealed {
                    to: SealedTo::SenderKey(_),
                    ..
                }
            ) =>
        {
            return Err(Error::Invalid {
                field: "body",
                reason: "a GREEN incident must be sealed to its author's sender key".into(),
            });
        }
        (Kind::Incident, tlp, b)
            if tlp.is_named_recipients()
                && !matches!(
                    b,
                    Body::Sealed {
                        to: SealedTo::Teams { .. },
                        ..
                    }
                ) =>
        {
            return Err(Error::Invalid {
                field: "body",
                reason: format!("a {tlp} incident must be sealed to named teams"),
            });
        }
        (Kind::Incident, _, _) => {}
    }
    Ok(())
}
