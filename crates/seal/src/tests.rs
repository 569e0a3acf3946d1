//! Seal's guarantees, each as a test: non-recipients cannot read, tampering is
//! detected, re-wrapped content is refused, signatures do not cross purposes.

use proto::{
    Body, EnvelopeContent, IncidentPayload, InnerContent, Kind, MeshId, Payload, SealedTo, Tlp,
};

use super::*;

const MESH: MeshId = MeshId([9; 32]);

fn inner(author: &TeamKeys, tlp: Tlp) -> InnerContent {
    InnerContent {
        author: author.team_id(),
        mesh: MESH,
        tlp,
        recipients: vec![],
        payload: Payload::Incident(IncidentPayload::Open {
            title: "Phishing kit on 203.0.113.7".into(),
            description: "Credential harvesting page".into(),
            indicators: Vec::new(),
            source: None,
        }),
    }
}

fn envelope(author: &TeamKeys, tlp: Tlp, body: Body) -> VerifiedEnvelope {
    let content = EnvelopeContent {
        mesh: MESH,
        kind: Kind::Incident,
        author: author.team_id(),
        seq: 1,
        created_at: 1_700_000_000_000,
        tlp,
        thread: None,
        parents: vec![],
        body,
    };
    sign_envelope(author, &content).unwrap()
}

fn sealed_to(author: &TeamKeys, to: &[&TeamKeys]) -> VerifiedEnvelope {
    let recipients: Vec<_> = to
        .iter()
        .map(|k| parse_recipient(&k.recipient()).unwrap())
        .collect();
    let body = seal_to_teams(author, &inner(author, Tlp::Amber), &recipients).unwrap();
    envelope(author, Tlp::Amber, body)
}

fn hint_key(ours: &TeamKeys, theirs: &TeamKeys) -> HintKey {
    ours.hint_key(&parse_recipient(&theirs.recipient()).unwrap())
        .unwrap()
}

#[test]
fn hints_tell_each_recipient_and_nobody_else() {
    let (a, b, c, d) = (
        TeamKeys::generate(),
        TeamKeys::generate(),
        TeamKeys::generate(),
        TeamKeys::generate(),
    );
    let env = sealed_to(&a, &[&b, &c]);
    // Each recipient computes the key from its side (its secret, A's public
    // key) and finds its hint; a member that is not addressed does not.
    assert!(addressed_to(&env, &hint_key(&b, &a)));
    assert!(addressed_to(&env, &hint_key(&c, &a)));
    assert!(!addressed_to(&env, &hint_key(&d, &a)));
    // The author can tell too (it holds the other half of each pair).
    assert!(addressed_to(&env, &hint_key(&a, &b)));
    // A hint is bound to the ciphertext: the same pair, another envelope,
    // other hints, so hints do not link envelopes between the same teams.
    let again = sealed_to(&a, &[&b, &c]);
    let hints = |e: &VerifiedEnvelope| match &e.content().body {
        Body::Sealed {
            to: SealedTo::Teams { hints },
            ..
        } => hints.clone(),
        _ => unreachable!(),
    };
    assert_eq!(hints(&env).len(), 2);
    assert!(hints(&env).iter().all(|h| !hints(&again).contains(h)));
    // A GREEN body has no hints: never "addressed" by hint.
    let sk = SenderKey::generate();
    let green = envelope(
        &a,
        Tlp::Green,
        Body::Sealed {
            to: SealedTo::SenderKey(sk.id()),
            ciphertext: sk.seal(&a, &inner(&a, Tlp::Green)).unwrap(),
        },
    );
    assert!(!addressed_to(&green, &hint_key(&b, &a)));
}

#[test]
fn a_low_order_point_is_no_hint_key() {
    let a = TeamKeys::generate();
    // The all-zero point as an age recipient string.
    let zero =
        bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("age").unwrap(), &[0; 32]).unwrap();
    let r = parse_recipient(&zero).unwrap();
    let err = a.hint_key(&r).unwrap_err().to_string();
    assert!(err.contains("low-order"), "{err}");
}

#[test]
fn recipient_opens_and_non_recipient_cannot() {
    let (a, b, c) = (
        TeamKeys::generate(),
        TeamKeys::generate(),
        TeamKeys::generate(),
    );
    let env = sealed_to(&a, &[&b]);
    let reparsed = verify_envelope(Envelope::decode(&env.envelope().bytes).unwrap()).unwrap();
    let opened = open(&reparsed, b.age_identity()).unwrap();
    assert_eq!(opened.inner, inner(&a, Tlp::Amber));
    assert!(matches!(
        open(&reparsed, c.age_identity()),
        Err(Error::NotForUs)
    ));
}

#[test]
fn tampered_envelope_fails_outer_signature() {
    let (a, b) = (TeamKeys::generate(), TeamKeys::generate());
    let env = sealed_to(&a, &[&b]);
    let mut bytes = env.envelope().bytes.clone();
    let last = bytes.len() - 70; // inside the ciphertext, before the signature
    bytes[last] ^= 1;
    let decoded = Envelope::decode(&bytes).unwrap();
    assert!(matches!(
        verify_envelope(decoded),
        Err(Error::BadSignature { .. })
    ));
}

#[test]
fn rewrapped_ciphertext_is_refused_by_recipient() {
    let (a, b, eve) = (
        TeamKeys::generate(),
        TeamKeys::generate(),
        TeamKeys::generate(),
    );
    let original = sealed_to(&a, &[&b]);
    let Body::Sealed { ciphertext, .. } = &original.content().body else {
        unreachable!()
    };
    // Eve re-signs A's ciphertext as her own envelope: the outer signature is valid...
    let rewrapped = envelope(
        &eve,
        Tlp::Amber,
        Body::Sealed {
            to: SealedTo::Teams {
                hints: recipient_hints(
                    &eve,
                    &[parse_recipient(&b.recipient()).unwrap()],
                    ciphertext,
                )
                .unwrap(),
            },
            ciphertext: ciphertext.clone(),
        },
    );
    let verified = verify_envelope(rewrapped.into_inner()).unwrap();
    // ...but the recipient sees that the inner author is A, not Eve.
    assert!(matches!(
        open(&verified, b.age_identity()),
        Err(Error::AuthorMismatch { .. })
    ));
}

#[test]
fn label_mismatch_between_inner_and_outer_is_refused() {
    let (a, b) = (TeamKeys::generate(), TeamKeys::generate());
    let r = parse_recipient(&b.recipient()).unwrap();
    // Inner says RED, outer claims AMBER (a silent widening).
    let env = envelope(
        &a,
        Tlp::Amber,
        seal_to_teams(&a, &inner(&a, Tlp::Red), &[r]).unwrap(),
    );
    assert!(matches!(
        open(&env, b.age_identity()),
        Err(Error::InnerMismatch { .. })
    ));
}

#[test]
fn signatures_do_not_cross_purposes() {
    let a = TeamKeys::generate();
    let sig = a.sign(proto::context::INNER, b"payload");
    assert!(verify(&a.team_id(), "x", proto::context::INNER, b"payload", &sig).is_ok());
    assert!(
        verify(
            &a.team_id(),
            "x",
            proto::context::ENVELOPE,
            b"payload",
            &sig
        )
        .is_err()
    );
    assert!(verify(&a.team_id(), "x", proto::context::PROFILE, b"payload", &sig).is_err());
}

#[test]
fn sender_key_opens_green_with_one_stanza() {
    let (a, b) = (TeamKeys::generate(), TeamKeys::generate());
    let sk = SenderKey::generate();
    let ciphertext = sk.seal(&a, &inner(&a, Tlp::Green)).unwrap();
    let env = envelope(
        &a,
        Tlp::Green,
        Body::Sealed {
            to: SealedTo::SenderKey(sk.id()),
            ciphertext,
        },
    );
    assert_eq!(sender_key_of(&env), Some(sk.id()));
    // B received the sender key's secret through a key share.
    let shared = SenderKey::from_secret(&sk.secret()).unwrap();
    assert_eq!(shared.id(), sk.id());
    assert!(open(&env, shared.identity()).is_ok());
    assert!(matches!(open(&env, b.age_identity()), Err(Error::NotForUs)));
}

#[test]
fn keys_round_trip_through_secrets() {
    let a = TeamKeys::generate();
    let (s, g) = a.secrets();
    let b = TeamKeys::from_secrets(&s, &g).unwrap();
    assert_eq!(a.team_id(), b.team_id());
    assert_eq!(a.recipient(), b.recipient());
    assert!(TeamKeys::from_secrets("zz", &g).is_err());
}

#[test]
fn profile_signature_binds_the_team() {
    let (a, b) = (TeamKeys::generate(), TeamKeys::generate());
    let mut p = proto::Profile {
        team: a.team_id(),
        name: "CSIRT-A".into(),
        country: Some("BR".into()),
        constituency: vec![],
        contact: None,
        recipient: a.recipient(),
        peers: vec![],
        node_proofs: vec![],
        roles: vec![],
        updated_at: 1,
        details: Default::default(),
    };
    let signed = sign_profile(&a, &p).unwrap();
    assert_eq!(verify_profile(&signed).unwrap(), p);
    // B cannot publish a profile in A's name.
    assert!(sign_profile(&b, &p).is_err());
    p.team = b.team_id();
    let forged = proto::SignedProfile {
        content: p.to_bytes().unwrap(),
        signature: signed.signature,
    };
    assert!(verify_profile(&forged).is_err());
}

#[test]
fn a_replaced_age_key_opens_what_was_sealed_to_it_and_new_seals_miss_it() {
    let (a, b) = (TeamKeys::generate(), TeamKeys::generate());
    let before = sealed_to(&a, &[&b]);
    let b2 = b.with_new_age_key();
    assert_ne!(b2.recipient(), b.recipient());
    assert_eq!(b2.team_id(), b.team_id(), "the team stays");
    assert_eq!(b2.retired().len(), 1);
    // Sealed to the old recipient: the retired identity opens it, and one
    // of the hint keys finds it.
    assert!(open_as_team(&before, &b2).is_ok());
    assert!(matches!(
        open(&before, b2.age_identity()),
        Err(Error::NotForUs)
    ));
    let theirs = parse_recipient(&a.recipient()).unwrap();
    let keys = b2.hint_keys(&theirs).unwrap();
    assert_eq!(keys.len(), 2);
    assert!(!addressed_to(&before, &keys[0]));
    assert!(addressed_to(&before, &keys[1]));
    // Sealed to the new recipient: the old identity (a thief's copy) cannot
    // open it.
    let after = sealed_to(&a, &[&b2]);
    assert!(open_as_team(&after, &b2).is_ok());
    assert!(matches!(
        open(&after, b.age_identity()),
        Err(Error::NotForUs)
    ));
    // Dropping the retired identity forgets the old traffic.
    let forgetful = b2.with_new_signing_key().with_retired(vec![]);
    assert!(matches!(
        open_as_team(&before, &forgetful),
        Err(Error::NotForUs)
    ));
    // The current identity is never listed as retired, nor one twice.
    let again = b2.with_age(b.age_identity().clone());
    assert_eq!(again.recipient(), b.recipient());
    assert_eq!(again.retired().len(), 1);
    assert_eq!(again.retired()[0].to_public().to_string(), b2.recipient());
}
