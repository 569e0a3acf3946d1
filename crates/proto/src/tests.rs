//! Wire-format properties: every type round-trips, arbitrary or mutated bytes
//! never panic the decoder, and golden vectors freeze the encoding.

use proptest::prelude::*;

use crate::{
    sync::{SyncRequest, SyncResponse},
    *,
};

fn id32() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

fn tlp() -> impl Strategy<Value = Tlp> {
    prop::sample::select(Tlp::ALL.to_vec())
}

/// Envelope contents that satisfy the structural rules (kind, label, body).
fn content() -> impl Strategy<Value = EnvelopeContent> {
    (
        id32(),
        id32(),
        1u64..=crate::envelope::MAX_SEQ,
        any::<u64>(),
        tlp(),
        prop::option::of(id32()),
        prop::collection::vec(id32(), 0..4),
        prop::collection::vec(any::<u8>(), 0..512),
        id32(),
    )
        .prop_map(
            |(mesh, author, seq, created_at, tlp, thread, parents, data, key)| {
                let body = match tlp {
                    Tlp::Clear => Body::Clear(data),
                    Tlp::Green => Body::Sealed {
                        to: SealedTo::SenderKey(KeyId(key)),
                        ciphertext: data,
                    },
                    _ => Body::Sealed {
                        to: SealedTo::Teams {
                            hints: vec![RecipientHint(key[..4].try_into().unwrap())],
                        },
                        ciphertext: data,
                    },
                };
                EnvelopeContent {
                    mesh: MeshId(mesh),
                    kind: Kind::Incident,
                    author: TeamId(author),
                    seq,
                    created_at,
                    tlp,
                    thread: thread.map(EnvelopeId),
                    parents: parents.into_iter().map(EnvelopeId).collect(),
                    body,
                }
            },
        )
}

fn envelope(content: &EnvelopeContent, sig: u8) -> Envelope {
    Envelope::assemble(
        Envelope::content_bytes(content).unwrap(),
        Signature([sig; 64]),
    )
    .unwrap()
}

proptest! {
    #[test]
    fn envelopes_round_trip(c in content(), sig in any::<u8>()) {
        let e = envelope(&c, sig);
        let d = Envelope::decode(&e.bytes).unwrap();
        prop_assert_eq!(&d.content, &c);
        prop_assert_eq!(d.id, EnvelopeId::of(&e.bytes));
        prop_assert_eq!(d, e);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Envelope::decode(&bytes);
        let _ = SyncRequest::from_bytes(&bytes);
        let _ = SyncResponse::from_bytes(&bytes);
        let _ = SignedProfile::from_bytes(&bytes);
        let _ = SignedInner::from_bytes(&bytes);
        let _ = InnerContent::from_bytes(&bytes);
    }

    #[test]
    fn mutated_envelopes_decode_canonically_or_not_at_all(
        c in content(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = envelope(&c, 3).bytes;
        for (i, x) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= x | 1;
        }
        if let Ok(d) = Envelope::decode(&bytes) {
            // Whatever decodes is exactly its own canonical encoding.
            let again = envelope(&d.content, 0);
            prop_assert_eq!(Envelope::content_bytes(&d.content).unwrap(), d.content_bytes.clone());
            prop_assert_eq!(again.content, d.content);
        }
    }

    #[test]
    fn inner_and_sync_messages_round_trip(
        author in id32(), mesh in id32(), t in tlp(), text in "[^\\p{C}\\p{Zl}\\p{Zp}]{0,64}",
        ids in prop::collection::vec(id32(), 0..20),
    ) {
        let inner = InnerContent {
            author: TeamId(author),
            mesh: MeshId(mesh),
            tlp: t,
            recipients: ids.iter().copied().map(TeamId).collect(),
            payload: Payload::Incident(IncidentPayload::Comment { text }),
        };
        prop_assert_eq!(InnerContent::from_bytes(&inner.to_bytes().unwrap()).unwrap(), inner);
        let req = SyncRequest::Get(ids.iter().copied().map(EnvelopeId).collect());
        prop_assert_eq!(SyncRequest::from_bytes(&req.to_bytes().unwrap()).unwrap(), req);
        let have = SyncRequest::Have(ids.iter().copied().map(EnvelopeId).collect());
        prop_assert_eq!(SyncRequest::from_bytes(&have.to_bytes().unwrap()).unwrap(), have);
        let resp = SyncResponse::Negentropy(ids.into_iter().flatten().collect());
        prop_assert_eq!(SyncResponse::from_bytes(&resp.to_bytes().unwrap()).unwrap(), resp);
    }
}

#[test]
fn structural_rules_refuse_mislabelled_bodies() {
    let mut c = EnvelopeContent {
        mesh: MeshId([1; 32]),
        kind: Kind::Incident,
        author: TeamId([2; 32]),
        seq: 1,
        created_at: 5,
        tlp: Tlp::Amber,
        thread: None,
        parents: vec![],
        body: Body::Clear(vec![1]),
    };
    // An AMBER incident in the clear would leak: refused.
    assert!(Envelope::content_bytes(&c).is_err());
    c.tlp = Tlp::Green;
    c.body = Body::Sealed {
        to: SealedTo::Teams {
            hints: vec![RecipientHint([1; 4])],
        },
        ciphertext: vec![],
    };
    assert!(Envelope::content_bytes(&c).is_err());
    // Sealed to named teams: one hint per team, at least one, bounded.
    c.tlp = Tlp::Amber;
    assert!(Envelope::content_bytes(&c).is_ok());
    for n in [0, MAX_RECIPIENT_HINTS + 1] {
        c.body = Body::Sealed {
            to: SealedTo::Teams {
                hints: vec![RecipientHint([1; 4]); n],
            },
            ciphertext: vec![],
        };
        let err = Envelope::content_bytes(&c).unwrap_err().to_string();
        assert!(err.contains("hints"), "{n} hints: {err}");
    }
    c.seq = 0;
    c.tlp = Tlp::Clear;
    c.body = Body::Clear(vec![]);
    assert!(Envelope::content_bytes(&c).is_err(), "seq 0");
    // Above what SQLite's signed integers hold: stored clamped, a place
    // would compare differently on different nodes.
    c.seq = crate::envelope::MAX_SEQ + 1;
    let err = Envelope::content_bytes(&c).unwrap_err().to_string();
    assert!(err.contains("sequence number"), "{err}");
    c.seq = 1;
    c.parents = vec![EnvelopeId([0; 32]); MAX_PARENTS + 1];
    assert!(Envelope::content_bytes(&c).is_err(), "too many parents");
}

/// Golden vectors: if one of these fails, the wire format changed. That is
/// a protocol break: bump FORMAT_VERSION and update the vectors on purpose.
#[test]
fn golden_vectors() {
    let c = EnvelopeContent {
        mesh: MeshId([0x11; 32]),
        kind: Kind::Incident,
        author: TeamId([0x22; 32]),
        seq: 7,
        created_at: 1_700_000_000_123,
        tlp: Tlp::Amber,
        thread: Some(EnvelopeId([0x33; 32])),
        parents: vec![EnvelopeId([0x33; 32])],
        body: Body::Sealed {
            to: SealedTo::Teams {
                hints: vec![RecipientHint([0x55; 4])],
            },
            ciphertext: b"age".to_vec(),
        },
    };
    let e = envelope(&c, 0x44);
    assert_eq!(hex::encode(&e.bytes), GOLDEN_ENVELOPE);
    assert_eq!(e.id.to_string(), GOLDEN_ID);
    let inner = InnerContent {
        author: TeamId([0x22; 32]),
        mesh: MeshId([0x11; 32]),
        tlp: Tlp::Amber,
        recipients: vec![TeamId([0x55; 32])],
        payload: Payload::Incident(IncidentPayload::Status {
            status: IncidentStatus::InProgress,
        }),
    };
    assert_eq!(hex::encode(inner.to_bytes().unwrap()), GOLDEN_INNER);
    let open = InnerContent {
        payload: Payload::Incident(IncidentPayload::Open {
            title: "t".into(),
            description: String::new(),
            indicators: vec![
                "198.51.100.7".parse().unwrap(),
                "AS64500".parse().unwrap(),
                format!("md5:{}", "ab".repeat(16)).parse().unwrap(),
            ],
            source: Some([0x66; 16]),
        }),
        ..inner
    };
    assert_eq!(hex::encode(open.to_bytes().unwrap()), GOLDEN_OPEN);
}

/// The previous release's `Open` (title, description and nothing after)
/// and its profile (no RFC 2350 details) still decode, with the new fields
/// empty: stores and signed bytes from before keep working.
#[test]
fn the_previous_releases_open_and_profile_still_decode() {
    let inner = InnerContent::from_bytes(&hex::decode(GOLDEN_OPEN_V0).unwrap()).unwrap();
    assert_eq!(
        inner.payload,
        Payload::Incident(IncidentPayload::Open {
            title: "t".into(),
            description: "d".into(),
            indicators: vec![],
            source: None
        })
    );
    let mut old_profile = crate::codec::encode("old", &(TeamId([1; 32]), "Team A")).unwrap();
    // country None, constituency [], contact None, recipient, peers [],
    // node_proofs [], roles [], updated_at 5.
    old_profile.extend(
        crate::codec::encode(
            "old",
            &(
                None::<String>,
                Vec::<u8>::new(),
                None::<String>,
                "age1x",
                Vec::<u8>::new(),
                Vec::<u8>::new(),
                Vec::<u8>::new(),
                5u64,
            ),
        )
        .unwrap(),
    );
    let signed = SignedProfile {
        content: old_profile,
        signature: Signature([0; 64]),
    };
    let p = signed.profile().unwrap();
    assert_eq!((p.name.as_str(), p.updated_at), ("Team A", 5));
    assert_eq!(p.details, Default::default());
    // And what uses none of the new fields is written in the old shape:
    // the previous release reads it.
    assert_eq!(hex::encode(inner.to_bytes().unwrap()), GOLDEN_OPEN_V0);
    let p2 = Profile {
        details: Default::default(),
        ..p.clone()
    };
    assert_eq!(p2.to_bytes().unwrap(), signed.content);
    let with_details = Profile {
        details: crate::rfc2350::TeamDetails {
            languages: vec!["pt".into()],
            ..Default::default()
        },
        ..p
    };
    assert_ne!(with_details.to_bytes().unwrap(), signed.content);
    let again = SignedProfile {
        content: with_details.to_bytes().unwrap(),
        signature: Signature([0; 64]),
    };
    assert_eq!(again.profile().unwrap().details.languages, ["pt"]);
    // The current shape of a value the old one can say is a second
    // spelling of it, refused.
    let current_shape = crate::codec::encode("x", &p2).unwrap();
    let err = SignedProfile {
        content: current_shape,
        signature: Signature([0; 64]),
    }
    .profile()
    .unwrap_err();
    assert!(matches!(err, Error::NotCanonical { .. }), "{err:?}");
    let plain_open = InnerContent::from_bytes(&hex::decode(GOLDEN_OPEN_V0).unwrap()).unwrap();
    let err =
        InnerContent::from_bytes(&crate::codec::encode("x", &plain_open).unwrap()).unwrap_err();
    assert!(matches!(err, Error::NotCanonical { .. }), "{err:?}");
    // Garbage still fails, with the current shape's error.
    assert!(InnerContent::from_bytes(&[0xff; 8]).is_err());
}

const GOLDEN_OPEN: &str = "22222222222222222222222222222222222222222222222222222222222222221111111111111111111111111111111111111111111111111111111111111111020155555555555555555555555555555555555555555555555555555555555555550000017400030000c633640702fbf4fb06abababababababababababababababab0166666666666666666666666666666666";
/// An `Open { title: "t", description: "d" }` as the previous release encoded it.
const GOLDEN_OPEN_V0: &str = "2222222222222222222222222222222222222222222222222222222222222222111111111111111111111111111111111111111111111111111111111111111102015555555555555555555555555555555555555555555555555555555555555555000001740164";

const GOLDEN_ENVELOPE: &str = "0299111111111111111111111111111111111111111111111111111111111111111102222222222222222222222222222222222222222222222222222222222222222207fd7b68e5cf8b0100000201333333333333333333333333333333333333333333333333333333333333333301333333333333333333333333333333333333333333333333333333333333333301000155555555036167654044444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444";
const GOLDEN_ID: &str = "d9af779dc16d302c844e0195167c5122a1cc98d14b0316032cffc943c4365e0b";
const GOLDEN_INNER: &str = "2222222222222222222222222222222222222222222222222222222222222222111111111111111111111111111111111111111111111111111111111111111102015555555555555555555555555555555555555555555555555555555555555555000201";

/// A value spelled with more bytes than it needs (bincode's varint 7 as
/// `251, 7, 0`, its two-byte form) decodes to the same value: only the
/// re-encoding check refuses it, in the content and in the wire envelope.
#[test]
fn a_longer_spelling_of_the_same_value_is_refused() {
    let content = EnvelopeContent {
        mesh: MeshId([1; 32]),
        kind: Kind::Incident,
        author: TeamId([2; 32]),
        seq: 7,
        created_at: 9,
        tlp: Tlp::Clear,
        thread: None,
        parents: vec![],
        body: Body::Clear(vec![3; 4]),
    };
    let canonical = Envelope::content_bytes(&content).unwrap();
    // mesh (32 bytes), kind (one byte), author (32 bytes), then seq.
    assert_eq!(canonical[65], 7, "the layout this test relies on");
    let mut longer = canonical[..65].to_vec();
    longer.extend([251, 7, 0]);
    longer.extend(&canonical[66..]);
    let err = Envelope::assemble(longer, Signature([0; 64])).unwrap_err();
    assert!(matches!(err, Error::NotCanonical { .. }), "{err:?}");
    // The same in the wire envelope's own framing: the version byte.
    let good = envelope(&content, 0).bytes;
    let mut wire = vec![251, good[0], 0];
    wire.extend(&good[1..]);
    let err = Envelope::decode(&wire).unwrap_err();
    assert!(matches!(err, Error::NotCanonical { .. }), "{err:?}");
}
