//! The charter: what defines a mesh.
//!
//! A regional forum writes it once: the mesh's name, its founding teams (their
//! self-signed profiles), the admission threshold `k`, an optional objection
//! window and point of contact. The [`MeshId`] is BLAKE3 of the canonical
//! encoding of [`Charter`], so every node that holds the same charter agrees
//! on the mesh, and an envelope of another mesh is refused.
//!
//! On disk the charter is a TOML file ([`CharterFile`]) that a person can read:
//! the mesh id, name and threshold in the clear, the founders' signed profiles
//! as hex (the canonical bytes are what counts; the readable fields are checked
//! against them on load).

use serde::{Deserialize, Serialize};

use crate::{Error, MeshId, SignedProfile, TeamId, codec};

/// Default admission threshold: two sponsors, as in community accreditation.
pub const DEFAULT_THRESHOLD: u8 = 2;

/// The mesh's founding document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charter {
    /// The community's name, e.g. "Example regional forum".
    pub name: String,
    /// Founding teams, members by definition.
    pub founders: Vec<SignedProfile>,
    /// Endorsements from members a candidate needs to be admitted (`k`).
    pub threshold: u8,
    /// If set, a member's objection within this many ms after the k-th
    /// endorsement blocks the admission.
    pub objection_window_ms: Option<u64>,
    /// The mesh's designated point of contact (last resort of last resorts).
    pub point_of_contact: Option<TeamId>,
    /// When the charter was written (ms since epoch); makes two meshes with
    /// the same founders distinct.
    pub created_at: u64,
}

impl Charter {
    /// The mesh id: BLAKE3 of the canonical encoding.
    pub fn mesh_id(&self) -> Result<MeshId, Error> {
        Ok(MeshId(
            *blake3::hash(&codec::encode("charter", self)?).as_bytes(),
        ))
    }

    /// Structural checks (signatures are checked by `csirtmesh-seal`).
    pub fn check(&self) -> Result<(), Error> {
        if self.name.trim().is_empty() {
            return Err(Error::Invalid {
                field: "charter name",
                reason: "a mesh needs a name".into(),
            });
        }
        crate::text::check_line("charter name", &self.name, 128)?;
        if self.founders.is_empty() {
            return Err(Error::Invalid {
                field: "founders",
                reason: "a charter needs at least one founding team".into(),
            });
        }
        if self.threshold == 0 {
            return Err(Error::Invalid {
                field: "threshold",
                reason: "the admission threshold must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// The charter as a TOML file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CharterFile {
    /// The mesh id, for people to compare (checked on load).
    pub mesh_id: String,
    /// The mesh's name (checked on load).
    pub name: String,
    /// The admission threshold (checked on load).
    pub threshold: u8,
    /// Founders by name and team id, for people to read.
    pub founders: Vec<FounderLine>,
    /// The canonical charter encoding, hex.
    pub charter: String,
}

/// A founder, as shown in the charter file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FounderLine {
    /// Its name.
    pub name: String,
    /// Its team id.
    pub team: String,
}

impl CharterFile {
    /// Largest charter encoding accepted from a file.
    const MAX_BYTES: usize = 256 * 1024;

    /// Builds the file form of a charter.
    pub fn from_charter(charter: &Charter) -> Result<Self, Error> {
        let founders = charter
            .founders
            .iter()
            .map(|sp| {
                let p = sp.profile()?;
                Ok(FounderLine {
                    name: p.name,
                    team: p.team.to_string(),
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(CharterFile {
            mesh_id: charter.mesh_id()?.to_string(),
            name: charter.name.clone(),
            threshold: charter.threshold,
            founders,
            charter: hex::encode(codec::encode("charter", charter)?),
        })
    }

    /// Decodes the canonical charter and checks the readable fields match it.
    pub fn to_charter(&self) -> Result<Charter, Error> {
        let bytes = hex::decode(self.charter.trim()).map_err(|e| Error::Parse {
            what: "charter",
            input: "<charter field>".into(),
            reason: e.to_string(),
        })?;
        let charter: Charter = codec::decode("charter", &bytes, Self::MAX_BYTES)?;
        charter.check()?;
        let mismatch = |field: &'static str| Error::Invalid {
            field,
            reason:
                "the readable field does not match the signed charter; the file was edited by hand"
                    .into(),
        };
        if charter.mesh_id()?.to_string() != self.mesh_id {
            return Err(mismatch("mesh_id"));
        }
        if charter.name != self.name {
            return Err(mismatch("name"));
        }
        if charter.threshold != self.threshold {
            return Err(mismatch("threshold"));
        }
        Ok(charter)
    }
}
