//! # csirtmesh-fuzzing: every decoder a peer (or an API client) feeds
//!
//! One function per fuzz target. The cargo-fuzz targets in `fuzz/` call
//! them with libFuzzer's inputs (nightly: `cargo +nightly fuzz run
//! envelope`); the tests below call them with seeds made from real
//! envelopes and with every file in `fuzz/corpus/<target>/`, so an ordinary
//! `cargo test` keeps the targets compiling and replays what fuzzing found.
//!
//! Each function must not panic on any input, and checks what must hold of
//! what decodes (a decoded envelope is exactly its input; an id is the hash
//! of the bytes; what decodes re-encodes to the same bytes).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use proto::{
    CharterFile, Envelope, EnvelopeId, InnerContent, MembershipAct, Retraction, SignedInner,
    SignedProfile,
    sync::{SyncRequest, SyncResponse},
};

/// A fuzz target: takes any bytes, must not panic.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name (the directory names under `fuzz/corpus/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("envelope", envelope),
    ("payload", payload),
    ("sync", sync_frame),
    ("profile", profile),
    ("charter", charter),
    ("api_json", api_json),
];

/// An envelope off the wire: bounded decode, then the outer signature.
pub fn envelope(data: &[u8]) {
    if let Ok(env) = Envelope::decode(data) {
        assert_eq!(env.bytes, data, "a decoded envelope is exactly its bytes");
        assert_eq!(
            env.id,
            EnvelopeId::of(data),
            "its id is the hash of its bytes"
        );
        let _ = seal::verify_envelope(env);
    }
}

/// What an envelope's body may carry: inner content (incident payloads,
/// GREEN key shares), a signed inner wrapper, membership acts, tombstones.
pub fn payload(data: &[u8]) {
    if let Ok(inner) = InnerContent::from_bytes(data)
        && let proto::Payload::Incident(p) = &inner.payload
    {
        let _ = p.check_text();
    }
    if let Ok(signed) = SignedInner::from_bytes(data) {
        let _ = InnerContent::from_bytes(&signed.content);
    }
    // The codec is canonical: what decodes (and passes the checks)
    // re-encodes to exactly its input.
    if let Ok(act) = MembershipAct::from_bytes(data)
        && act.check().is_ok()
    {
        assert_eq!(act.to_bytes().ok().as_deref(), Some(data));
    }
    if let Ok(r) = Retraction::from_bytes(data)
        && r.check().is_ok()
    {
        assert_eq!(r.to_bytes().ok().as_deref(), Some(data));
    }
}

/// A sync frame (request or answer), and a reconciliation step against a
/// small set of our own.
pub fn sync_frame(data: &[u8]) {
    if let Ok(req) = SyncRequest::from_bytes(data) {
        if let SyncRequest::Negentropy(msg) = &req {
            let ours: sync::Set = (0..64u64)
                .map(|i| (i * 1000, EnvelopeId([i as u8; 32])))
                .collect();
            let _ = sync::respond(&ours, msg);
            let _ = sync::reconcile(&ours, msg);
        }
        assert_eq!(req.to_bytes().ok().as_deref(), Some(data));
    }
    if let Ok(resp) = SyncResponse::from_bytes(data) {
        assert_eq!(resp.to_bytes().ok().as_deref(), Some(data));
    }
}

/// A team profile, as a join request carries it.
pub fn profile(data: &[u8]) {
    if let Ok(sp) = SignedProfile::from_bytes(data) {
        let _ = seal::verify_profile(&sp);
    }
}

/// A charter file (TOML) as a forum hands it out.
pub fn charter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(file) = toml::from_str::<CharterFile>(text)
        && let Ok(charter) = file.to_charter()
    {
        for sp in &charter.founders {
            let _ = seal::verify_profile(sp);
        }
    }
}

/// The admin API's JSON bodies.
pub fn api_json(data: &[u8]) {
    use csirtmesh::api::types::*;
    let _ = serde_json::from_slice::<NewIncident>(data);
    let _ = serde_json::from_slice::<NewReport>(data);
    let _ = serde_json::from_slice::<NewComment>(data);
    let _ = serde_json::from_slice::<NewStatus>(data);
    let _ = serde_json::from_slice::<IncidentStep>(data);
    let _ = serde_json::from_slice::<MembershipRequest>(data);
    let _ = serde_json::from_slice::<NewRetraction>(data);
    let _ = serde_json::from_slice::<PeerBlock>(data);
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use testkit::Team;

    use super::*;

    /// Real inputs for each target, so the replay exercises the paths past
    /// decoding even before any corpus exists.
    fn seeds() -> Vec<(&'static str, Vec<u8>)> {
        let (a, b) = (Team::new("A"), Team::new("B"));
        let charter = testkit::charter(&[&a, &b]);
        let file = toml::to_string(&CharterFile::from_charter(&charter).unwrap()).unwrap();
        let inner = a.inner(
            proto::Tlp::Clear,
            vec![],
            proto::IncidentPayload::Comment {
                text: "seed".into(),
            },
        );
        vec![
            (
                "envelope",
                a.clear_comment(1, "seed").envelope().bytes.clone(),
            ),
            (
                "envelope",
                a.amber_open(2, "seed", &[&b]).envelope().bytes.clone(),
            ),
            ("payload", inner.to_bytes().unwrap()),
            (
                "payload",
                MembershipAct::Revoke {
                    reason: "seed".into(),
                }
                .to_bytes()
                .unwrap(),
            ),
            (
                "payload",
                MembershipAct::Invite {
                    candidate: b.id(),
                    expires_at: 1,
                    nodes: vec![vec![7; 38]],
                }
                .to_bytes()
                .unwrap(),
            ),
            (
                "sync",
                SyncRequest::Negentropy(sync::initiate(&sync::Set::new()).unwrap())
                    .to_bytes()
                    .unwrap(),
            ),
            ("profile", a.signed_profile().to_bytes().unwrap()),
            ("charter", file.into_bytes()),
            (
                "api_json",
                br#"{"title":"t","tlp":"amber","to":["B"]}"#.to_vec(),
            ),
        ]
    }

    #[test]
    fn every_target_takes_its_seeds_and_garbage() {
        for (name, input) in seeds() {
            let target = TARGETS.iter().find(|(n, _)| *n == name).unwrap().1;
            target(&input);
            // Every prefix and a flipped byte of a real input.
            for cut in 0..input.len().min(64) {
                target(&input[..cut]);
            }
            let mut flipped = input.clone();
            let i = flipped.len() / 2;
            flipped[i] ^= 0x40;
            target(&flipped);
        }
    }

    /// Replays every corpus file (what fuzzing kept, and any crash it
    /// found, once fixed) through its target.
    #[test]
    fn the_fuzz_corpus_replays() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
        for (name, target) in TARGETS {
            let dir = root.join(name);
            let entries = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("no corpus for {name} in {}: {e}", dir.display()));
            let mut replayed = 0;
            for entry in entries {
                let path = entry.unwrap().path();
                target(&std::fs::read(&path).unwrap());
                replayed += 1;
            }
            assert!(replayed > 0, "the {name} corpus is empty");
        }
    }
}
