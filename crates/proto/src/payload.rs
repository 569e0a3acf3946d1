//! The inner payload: what a sealed (or CLEAR) incident envelope carries.
//!
//! Sign, encrypt, sign: the inner content names its author and is signed by
//! the author's team key (context `INNER`), then sealed with age, then the
//! outer envelope is signed again. A recipient checks that the inner author
//! equals the outer author, so nobody can re-wrap someone else's ciphertext as
//! their own; age alone authenticates no sender.

use serde::{Deserialize, Serialize};

use crate::{Error, Indicator, KeyId, MAX_ENVELOPE_BYTES, MeshId, Signature, TeamId, Tlp, codec};

/// Longest incident title, in bytes.
pub const MAX_TITLE_BYTES: usize = 512;

/// The status of an incident, as teams track it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IncidentStatus {
    /// Reported, nobody working on it yet.
    New,
    /// Someone is working on it.
    InProgress,
    /// Handled; may still be discussed.
    Resolved,
    /// Done.
    Closed,
}

impl IncidentStatus {
    /// The status as written on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::New => "new",
            IncidentStatus::InProgress => "in-progress",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Closed => "closed",
        }
    }
}

impl std::fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for IncidentStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(
            match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "new" => IncidentStatus::New,
                "in-progress" | "inprogress" => IncidentStatus::InProgress,
                "resolved" => IncidentStatus::Resolved,
                "closed" => IncidentStatus::Closed,
                _ => {
                    return Err(Error::Parse {
                        what: "incident status",
                        input: s.to_owned(),
                        reason: "expected new, in-progress, resolved or closed".into(),
                    });
                }
            },
        )
    }
}

/// One step in an incident thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IncidentPayload {
    /// Opens an incident: the root of a thread.
    Open {
        /// One line, shown in lists.
        title: String,
        /// What happened, what is asked.
        description: String,
        /// What it is about, typed (addresses, domains, hashes...).
        indicators: Vec<Indicator>,
        /// The UUID of the object it was imported from (a STIX incident, a
        /// MISP event), so a second import finds it and an export gives
        /// the source's id back.
        source: Option<[u8; 16]>,
    },
    /// A comment in the thread.
    Comment {
        /// The text.
        text: String,
    },
    /// A status change.
    Status {
        /// The new status.
        status: IncidentStatus,
    },
    /// Opens an incident as a report about something the reporter does not
    /// own, addressed to the team the directory found responsible.
    Report {
        /// One line.
        title: String,
        /// What happened, what is asked.
        description: String,
        /// The indicator (IP, prefix, ASN, domain, country).
        about: String,
        /// Why it went to its recipients (the directory's answer).
        routed: String,
        /// What it is about, typed; the directory routed it by these (and
        /// `about`).
        indicators: Vec<Indicator>,
    },
    /// A recipient acknowledges the report.
    Ack,
    /// A recipient (typically the team of last resort) hands the report to
    /// the responsible team: a copy of the report, sealed to the new team,
    /// the reporter and the handing team.
    Handoff {
        /// The teams it is handed to.
        to: Vec<TeamId>,
        /// The report as its reporter signed it: the root's plaintext (a
        /// [`crate::SignedInner`] encoding), so the new team reads the
        /// reporter's own words, checked against the reporter's key, and
        /// not the handing team's retelling.
        original: Vec<u8>,
        /// A note from the handing team.
        note: String,
    },
    /// For AMBER+STRICT and RED, which may not be forwarded: tells the
    /// reporter which team is responsible, so it can report there itself.
    Referral {
        /// The responsible teams.
        responsible: Vec<TeamId>,
        /// A note.
        note: String,
    },
    /// The team a report was handed to takes it.
    Accept,
    /// The team a report was handed to declines it; it returns to the team
    /// that handed it.
    Decline {
        /// Why.
        reason: String,
    },
}

impl IncidentPayload {
    /// Checks its text: one-line fields (notes, reasons, the indicator) hold
    /// plain text; descriptions and comments may hold line breaks and tabs
    /// but no other control character. (Titles are checked with their
    /// length in [`InnerContent::to_bytes`].)
    pub fn check_text(&self) -> Result<(), Error> {
        use crate::text::{check_line, check_text};
        let max = MAX_ENVELOPE_BYTES;
        match self {
            IncidentPayload::Open {
                description,
                indicators,
                ..
            } => {
                crate::indicator::check_all(indicators)?;
                check_text("description", description, max)
            }
            IncidentPayload::Comment { text } => check_text("comment", text, max),
            IncidentPayload::Report {
                description,
                about,
                routed,
                indicators,
                ..
            } => {
                crate::indicator::check_all(indicators)?;
                check_text("description", description, max)?;
                check_line("about", about, MAX_TITLE_BYTES)?;
                check_line("routed", routed, max)
            }
            IncidentPayload::Handoff { original, note, .. } => {
                if original.is_empty() {
                    return Err(Error::Invalid {
                        field: "original",
                        reason: "a hand-off carries the report as its reporter signed it".into(),
                    });
                }
                check_text("note", note, max)
            }
            IncidentPayload::Referral { note, .. } => check_text("note", note, max),
            IncidentPayload::Decline { reason } => check_text("reason", reason, max),
            IncidentPayload::Status { .. } | IncidentPayload::Ack | IncidentPayload::Accept => {
                Ok(())
            }
        }
    }
}

/// A GREEN sender key shared with the members (the Megolm idea, built on age).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderKeyShare {
    /// The key's id (BLAKE3 of its public recipient).
    pub key_id: KeyId,
    /// The age X25519 identity, as its secret string.
    pub secret: String,
}

impl std::fmt::Debug for SenderKeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SenderKeyShare({:?}, <secret>)", self.key_id)
    }
}

/// What the inner content carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// An incident step (outer kind `Incident`).
    Incident(IncidentPayload),
    /// A sender key (outer kind `KeyShare`).
    SenderKey(SenderKeyShare),
}

/// The signed inner content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InnerContent {
    /// Must equal the outer author.
    pub author: TeamId,
    /// Must equal the outer mesh.
    pub mesh: MeshId,
    /// Must equal the outer label.
    pub tlp: Tlp,
    /// The teams the author addressed (empty for CLEAR and GREEN, which go
    /// to everyone and every member). Only recipients see this list.
    pub recipients: Vec<TeamId>,
    /// The content.
    pub payload: Payload,
}

/// The inner content's bytes and the author's signature over them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInner {
    /// The exact encoding of an [`InnerContent`].
    pub content: Vec<u8>,
    /// Signature over `context::INNER || 0 || content`.
    pub signature: Signature,
}

impl InnerContent {
    /// Encodes the content into the bytes to be signed, checking its limits.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        if let Payload::Incident(
            IncidentPayload::Open { title, .. } | IncidentPayload::Report { title, .. },
        ) = &self.payload
        {
            if title.trim().is_empty() {
                return Err(Error::Invalid {
                    field: "title",
                    reason: "an incident needs a title".into(),
                });
            }
            crate::text::check_line("title", title, MAX_TITLE_BYTES)?;
        }
        if let Payload::Incident(p) = &self.payload {
            p.check_text()?;
        }
        match crate::legacy::InnerContentV0::from_current(self) {
            Some(v0) => codec::encode("inner content", &v0),
            None => codec::encode("inner content", self),
        }
    }

    /// Decodes inner content bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        match codec::decode::<Self>("inner content", bytes, MAX_ENVELOPE_BYTES) {
            // One value, one spelling: what the previous shape can say is
            // written in it (see `legacy`); the current shape of such a
            // value (an `Open` with empty new fields) is a second spelling.
            Ok(c)
                if crate::legacy::InnerContentV0::from_current(&c)
                    .and_then(|v0| codec::encode("inner content", &v0).ok())
                    .is_some_and(|canonical| canonical != bytes) =>
            {
                Err(Error::NotCanonical {
                    what: "inner content",
                })
            }
            Ok(c) => Ok(c),
            Err(current) => codec::decode::<crate::legacy::InnerContentV0>(
                "inner content",
                bytes,
                MAX_ENVELOPE_BYTES,
            )
            .map(Into::into)
            .map_err(|_| current),
        }
    }
}

impl SignedInner {
    /// Encodes for sealing.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        codec::encode("signed inner", self)
    }

    /// Decodes opened plaintext.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        codec::decode("signed inner", bytes, MAX_ENVELOPE_BYTES)
    }
}
