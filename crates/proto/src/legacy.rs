//! The encodings of the previous release that this one still reads.
//!
//! Release 0.1 added fields at the end of two incident steps (`Open` and
//! `Report` gained typed indicators, `Open` its import source) and of the
//! profile (its RFC 2350 details). Envelopes already in stores and in
//! flight keep their exact signed bytes: a signature is checked over those
//! bytes, and only then are they decoded, here into the current shape with
//! the new fields empty. Nothing is ever re-encoded from this shape.
//!
//! The decoder tries the current shape first. Old bytes cannot decode as
//! it: the new fields come last, so old bytes end where the current shape
//! expects more (an error, never a wrong reading).
//!
//! And the encoder writes the previous shape whenever the new fields are
//! empty: an incident without indicators or source, a profile without
//! details, is the same bytes the previous release wrote, so nodes of that
//! release keep reading everything that does not use the new fields (and
//! a mesh can upgrade one node at a time).

use serde::{Deserialize, Serialize};

use crate::{
    Constituency, IncidentPayload, IncidentStatus, InnerContent, MeshId, Payload, Profile, Role,
    Signature, TeamId, Tlp, payload::SenderKeyShare,
};

/// An incident step as release 0.0 encoded it (variant order kept).
#[derive(Serialize, Deserialize)]
enum IncidentPayloadV0 {
    Open {
        title: String,
        description: String,
    },
    Comment {
        text: String,
    },
    Status {
        status: IncidentStatus,
    },
    Report {
        title: String,
        description: String,
        about: String,
        routed: String,
    },
    Ack,
    Handoff {
        to: Vec<TeamId>,
        original: Vec<u8>,
        note: String,
    },
    Referral {
        responsible: Vec<TeamId>,
        note: String,
    },
    Accept,
    Decline {
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
enum PayloadV0 {
    Incident(IncidentPayloadV0),
    SenderKey(SenderKeyShare),
}

/// Inner content as release 0.0 encoded it.
#[derive(Serialize, Deserialize)]
pub(crate) struct InnerContentV0 {
    author: TeamId,
    mesh: MeshId,
    tlp: Tlp,
    recipients: Vec<TeamId>,
    payload: PayloadV0,
}

impl InnerContentV0 {
    /// The previous shape of `c`, when it uses none of the new fields.
    pub(crate) fn from_current(c: &InnerContent) -> Option<Self> {
        use IncidentPayloadV0 as V;
        let payload = match &c.payload {
            Payload::SenderKey(k) => PayloadV0::SenderKey(k.clone()),
            Payload::Incident(p) => PayloadV0::Incident(match p.clone() {
                IncidentPayload::Open {
                    title,
                    description,
                    indicators,
                    source: None,
                } if indicators.is_empty() => V::Open { title, description },
                IncidentPayload::Open { .. } => return None,
                IncidentPayload::Report {
                    title,
                    description,
                    about,
                    routed,
                    indicators,
                } if indicators.is_empty() => V::Report {
                    title,
                    description,
                    about,
                    routed,
                },
                IncidentPayload::Report { .. } => return None,
                IncidentPayload::Comment { text } => V::Comment { text },
                IncidentPayload::Status { status } => V::Status { status },
                IncidentPayload::Ack => V::Ack,
                IncidentPayload::Handoff { to, original, note } => {
                    V::Handoff { to, original, note }
                }
                IncidentPayload::Referral { responsible, note } => {
                    V::Referral { responsible, note }
                }
                IncidentPayload::Accept => V::Accept,
                IncidentPayload::Decline { reason } => V::Decline { reason },
            }),
        };
        Some(InnerContentV0 {
            author: c.author,
            mesh: c.mesh,
            tlp: c.tlp,
            recipients: c.recipients.clone(),
            payload,
        })
    }
}

impl From<InnerContentV0> for InnerContent {
    fn from(v: InnerContentV0) -> Self {
        use IncidentPayloadV0 as V;
        let payload = match v.payload {
            PayloadV0::SenderKey(k) => Payload::SenderKey(k),
            PayloadV0::Incident(p) => Payload::Incident(match p {
                V::Open { title, description } => IncidentPayload::Open {
                    title,
                    description,
                    indicators: Vec::new(),
                    source: None,
                },
                V::Comment { text } => IncidentPayload::Comment { text },
                V::Status { status } => IncidentPayload::Status { status },
                V::Report {
                    title,
                    description,
                    about,
                    routed,
                } => IncidentPayload::Report {
                    title,
                    description,
                    about,
                    routed,
                    indicators: Vec::new(),
                },
                V::Ack => IncidentPayload::Ack,
                V::Handoff { to, original, note } => {
                    IncidentPayload::Handoff { to, original, note }
                }
                V::Referral { responsible, note } => {
                    IncidentPayload::Referral { responsible, note }
                }
                V::Accept => IncidentPayload::Accept,
                V::Decline { reason } => IncidentPayload::Decline { reason },
            }),
        };
        InnerContent {
            author: v.author,
            mesh: v.mesh,
            tlp: v.tlp,
            recipients: v.recipients,
            payload,
        }
    }
}

/// A profile as release 0.0 encoded it (no RFC 2350 details).
#[derive(Serialize, Deserialize)]
pub(crate) struct ProfileV0 {
    team: TeamId,
    name: String,
    country: Option<String>,
    constituency: Vec<Constituency>,
    contact: Option<String>,
    recipient: String,
    peers: Vec<Vec<u8>>,
    node_proofs: Vec<Signature>,
    roles: Vec<Role>,
    updated_at: u64,
}

impl ProfileV0 {
    /// The previous shape of `p`, when it has no RFC 2350 details.
    pub(crate) fn from_current(p: &Profile) -> Option<Self> {
        (p.details == Default::default()).then(|| ProfileV0 {
            team: p.team,
            name: p.name.clone(),
            country: p.country.clone(),
            constituency: p.constituency.clone(),
            contact: p.contact.clone(),
            recipient: p.recipient.clone(),
            peers: p.peers.clone(),
            node_proofs: p.node_proofs.clone(),
            roles: p.roles.clone(),
            updated_at: p.updated_at,
        })
    }
}

impl From<ProfileV0> for Profile {
    fn from(v: ProfileV0) -> Self {
        Profile {
            team: v.team,
            name: v.name,
            country: v.country,
            constituency: v.constituency,
            contact: v.contact,
            recipient: v.recipient,
            peers: v.peers,
            node_proofs: v.node_proofs,
            roles: v.roles,
            details: Default::default(),
            updated_at: v.updated_at,
        }
    }
}
