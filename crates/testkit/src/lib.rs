//! # csirtmesh-testkit: fixtures for tests (dev only)
//!
//! Teams with real keys, founder profiles, and envelopes signed the way a
//! node signs them, so tests in every crate build inputs in one line instead
//! of re-writing envelope builders.

use proto::{
    Body, EnvelopeContent, IncidentPayload, InnerContent, Kind, MeshId, Payload, Profile, TeamId,
    Tlp,
};
use seal::{TeamKeys, VerifiedEnvelope};

/// A fixed mesh id for tests that need no charter.
pub const MESH: MeshId = MeshId([0x5e; 32]);

/// A fixed "now" (2023-11-14), in ms.
pub const NOW: u64 = 1_700_000_000_000;

/// A team with fresh keys and a profile.
pub struct Team {
    /// Its keys.
    pub keys: TeamKeys,
    /// Its profile.
    pub profile: Profile,
    /// The mesh its envelopes are for ([`MESH`] unless set).
    pub mesh: MeshId,
}

impl Team {
    /// A new team with this name.
    pub fn new(name: &str) -> Self {
        let keys = TeamKeys::generate();
        let profile = Profile {
            team: keys.team_id(),
            name: name.into(),
            country: None,
            constituency: vec![],
            contact: None,
            recipient: keys.recipient(),
            peers: vec![],
            node_proofs: vec![],
            roles: vec![],
            updated_at: NOW,
            details: Default::default(),
        };
        Team {
            keys,
            profile,
            mesh: MESH,
        }
    }

    /// The signed profile.
    pub fn signed_profile(&self) -> proto::SignedProfile {
        seal::sign_profile(&self.keys, &self.profile).expect("fixture profile signs")
    }

    /// A copy of the keys (for a node under test that acts as this team).
    pub fn keys_copy(&self) -> TeamKeys {
        let (s, a) = self.keys.secrets();
        TeamKeys::from_secrets(&s, &a).expect("fixture keys round-trip")
    }

    /// The team id.
    pub fn id(&self) -> TeamId {
        self.keys.team_id()
    }

    /// Signs an envelope of this team with the given body.
    pub fn envelope(
        &self,
        seq: u64,
        tlp: Tlp,
        thread: Option<proto::EnvelopeId>,
        body: Body,
    ) -> VerifiedEnvelope {
        let content = EnvelopeContent {
            mesh: self.mesh,
            kind: Kind::Incident,
            author: self.id(),
            seq,
            created_at: NOW + seq,
            tlp,
            thread,
            parents: thread.into_iter().collect(),
            body,
        };
        seal::sign_envelope(&self.keys, &content).expect("fixture envelope signs")
    }

    /// The inner content of an incident step by this team.
    pub fn inner(
        &self,
        tlp: Tlp,
        recipients: Vec<TeamId>,
        payload: IncidentPayload,
    ) -> InnerContent {
        InnerContent {
            author: self.id(),
            mesh: self.mesh,
            tlp,
            recipients,
            payload: Payload::Incident(payload),
        }
    }

    /// Signs an envelope of any kind with a clear body.
    pub fn clear_record(
        &self,
        kind: Kind,
        seq: u64,
        created_at: u64,
        body: Vec<u8>,
    ) -> VerifiedEnvelope {
        let content = EnvelopeContent {
            mesh: self.mesh,
            kind,
            author: self.id(),
            seq,
            created_at,
            tlp: Tlp::Clear,
            thread: None,
            parents: vec![],
            body: Body::Clear(body),
        };
        seal::sign_envelope(&self.keys, &content).expect("fixture record signs")
    }

    /// A membership act by this team.
    pub fn act(&self, seq: u64, created_at: u64, act: &proto::MembershipAct) -> VerifiedEnvelope {
        self.clear_record(
            Kind::Membership,
            seq,
            created_at,
            act.to_bytes().expect("fixture act encodes"),
        )
    }

    /// This team's join request (its signed profile).
    pub fn join_request(&self, seq: u64) -> VerifiedEnvelope {
        let body = self
            .signed_profile()
            .to_bytes()
            .expect("fixture profile encodes");
        self.clear_record(Kind::Profile, seq, NOW + seq, body)
    }

    /// A CLEAR comment.
    pub fn clear_comment(&self, seq: u64, text: &str) -> VerifiedEnvelope {
        let inner = self.inner(
            Tlp::Clear,
            vec![],
            IncidentPayload::Comment { text: text.into() },
        );
        let body = Body::Clear(seal::sign_inner(&self.keys, &inner).expect("fixture inner signs"));
        self.envelope(seq, Tlp::Clear, None, body)
    }

    /// An AMBER incident opened to `to`.
    pub fn amber_open(&self, seq: u64, title: &str, to: &[&Team]) -> VerifiedEnvelope {
        let inner = self.inner(
            Tlp::Amber,
            to.iter().map(|t| t.id()).collect(),
            IncidentPayload::Open {
                title: title.into(),
                description: "fixture".into(),
                indicators: Vec::new(),
                source: None,
            },
        );
        let recipients: Vec<_> = to
            .iter()
            .map(|t| seal::parse_recipient(&t.keys.recipient()).expect("fixture recipient"))
            .collect();
        let body = seal::seal_to_teams(&self.keys, &inner, &recipients).expect("fixture seals");
        self.envelope(seq, Tlp::Amber, None, body)
    }
}

/// A charter naming these teams as founders.
pub fn charter(founders: &[&Team]) -> proto::Charter {
    proto::Charter {
        name: "Fixture forum".into(),
        founders: founders.iter().map(|t| t.signed_profile()).collect(),
        threshold: 2,
        objection_window_ms: None,
        point_of_contact: None,
        created_at: NOW,
    }
}

/// The interop checks by tools others wrote (`crates/interop/tools/check.py`
/// in the virtual environment `scripts/interop-venv` makes, or the Python
/// named by `CSIRTMESH_INTEROP_PYTHON`), run on `files`. Returns `false`
/// when the environment is missing and this is not CI (the test says it
/// skipped, and why); in CI a missing environment fails. Panics with the
/// checker's output when a check fails.
pub fn check_with_interop_tools(files: &[std::path::PathBuf]) -> bool {
    check_files(files)
}

/// As [`check_with_interop_tools`], for documents in memory: each is
/// written under its name (`x.stix.json`, `x.misp.json`, `x.xarf.json`)
/// in a temporary directory first.
pub fn check_documents_with_interop_tools(documents: &[(&str, String)]) -> bool {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut files = Vec::new();
    for (name, text) in documents {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("the document is written");
        files.push(path);
    }
    check_files(&files)
}

fn check_files(files: &[std::path::PathBuf]) -> bool {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var_os("CSIRTMESH_INTEROP_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join(".venv-interop/bin/python"));
    if !python.exists() {
        let why = format!(
            "the interop tools are missing ({} does not exist): run scripts/interop-venv",
            python.display()
        );
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("SKIPPED: {why}");
        return false;
    }
    let out = std::process::Command::new(&python)
        .arg(root.join("crates/interop/tools/check.py"))
        .args(files)
        .output()
        .expect("the interop checker runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "the interop tools refused an export:\n{text}"
    );
    true
}
