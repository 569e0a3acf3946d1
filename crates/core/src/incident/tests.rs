//! The fold's rules, one test each, plus order independence.

use proptest::prelude::*;

use super::*;

/// The reporter: team 0, with a real key, since a hand-off carries its
/// signed text.
fn reporter() -> &'static seal::TeamKeys {
    static KEYS: std::sync::OnceLock<seal::TeamKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(seal::TeamKeys::generate)
}

fn team(n: u8) -> TeamId {
    if n == 0 {
        reporter().team_id()
    } else {
        TeamId([n; 32])
    }
}

/// The root's text as the reporter signed it, under `tlp`, addressed
/// to team 7 (the team of last resort in the hand-off tests).
fn signed_by(keys: &seal::TeamKeys, tlp: Tlp, title: &str) -> Vec<u8> {
    signed_to(keys, tlp, title, vec![TeamId([7; 32])])
}

fn signed_to(keys: &seal::TeamKeys, tlp: Tlp, title: &str, to: Vec<TeamId>) -> Vec<u8> {
    let inner = proto::InnerContent {
        author: keys.team_id(),
        mesh: proto::MeshId([0; 32]),
        tlp,
        recipients: to,
        payload: Payload::Incident(IncidentPayload::Open {
            title: title.into(),
            description: "d".into(),
            indicators: Vec::new(),
            source: None,
        }),
    };
    seal::sign_inner(keys, &inner).unwrap()
}

fn original(tlp: Tlp) -> Vec<u8> {
    signed_by(reporter(), tlp, "t")
}

fn entry(n: u8, at: u64, tlp: Tlp, payload: Option<IncidentPayload>) -> ThreadEntry {
    ThreadEntry {
        id: EnvelopeId([n; 32]),
        author: team(n % 3),
        mesh: MeshId([0; 32]),
        created_at: at,
        tlp,
        payload,
        recipients: vec![],
        waiting_for_key: false,
        retracts: None,
    }
}

/// An AMBER incident by team 0 to teams 1 and 2 (the authors of the
/// `entry` helper's replies).
fn root() -> ThreadEntry {
    ThreadEntry {
        recipients: vec![TeamId([1; 32]), TeamId([2; 32])],
        ..entry(
            0,
            10,
            Tlp::Amber,
            Some(IncidentPayload::Open {
                title: "t".into(),
                description: "d".into(),
                indicators: Vec::new(),
                source: None,
            }),
        )
    }
}

fn status(n: u8, at: u64, s: IncidentStatus) -> ThreadEntry {
    entry(
        n,
        at,
        Tlp::Amber,
        Some(IncidentPayload::Status { status: s }),
    )
}

#[test]
fn latest_status_wins_and_ties_break_by_id() {
    let replies = vec![
        status(1, 20, IncidentStatus::InProgress),
        status(3, 30, IncidentStatus::Closed),
        status(2, 30, IncidentStatus::Resolved),
    ];
    let inc = Incident::fold(&root(), replies);
    // (30, id 3) sorts after (30, id 2).
    assert_eq!(inc.status, IncidentStatus::Closed);
    assert_eq!(inc.updated_at, 30);
}

#[test]
fn a_reply_that_widens_the_label_is_refused() {
    let wider = entry(
        1,
        20,
        Tlp::Green,
        Some(IncidentPayload::Status {
            status: IncidentStatus::Closed,
        }),
    );
    let inc = Incident::fold(&root(), vec![wider]);
    assert_eq!(inc.status, IncidentStatus::New);
    assert!(matches!(inc.events[0], IncidentEvent::Refused { .. }));
}

fn step(n: u8, at: u64, author: u8, tlp: Tlp, p: IncidentPayload) -> ThreadEntry {
    ThreadEntry {
        author: TeamId([author; 32]),
        ..entry(n, at, tlp, Some(p))
    }
}

fn handoff(n: u8, at: u64, tlp: Tlp) -> ThreadEntry {
    step(
        n,
        at,
        7,
        tlp,
        IncidentPayload::Handoff {
            to: vec![TeamId([8; 32])],
            original: original(Tlp::Amber),
            note: "yours".into(),
        },
    )
}

#[test]
fn hand_off_accept_and_decline_move_the_report() {
    let mut report = root();
    report.recipients = vec![TeamId([7; 32])]; // the team of last resort
    let inc = Incident::fold(&report, vec![handoff(1, 20, Tlp::Amber)]);
    assert_eq!(inc.pending_handoff, vec![TeamId([8; 32])]);
    assert_eq!(inc.handled_by, vec![TeamId([7; 32])]);
    let accept = step(2, 30, 8, Tlp::Amber, IncidentPayload::Accept);
    let accepted = Incident::fold(&report, vec![handoff(1, 20, Tlp::Amber), accept]);
    assert_eq!(accepted.handled_by, vec![TeamId([8; 32])]);
    assert!(accepted.pending_handoff.is_empty());
    let decline = step(
        2,
        30,
        8,
        Tlp::Amber,
        IncidentPayload::Decline {
            reason: "not ours".into(),
        },
    );
    let declined = Incident::fold(&report, vec![handoff(1, 20, Tlp::Amber), decline]);
    assert_eq!(
        declined.handled_by,
        vec![TeamId([7; 32])],
        "a declined hand-off returns to the last-resort team"
    );
    // An outsider's accept changes nothing.
    let stray = step(2, 30, 9, Tlp::Amber, IncidentPayload::Accept);
    let stray = Incident::fold(&report, vec![handoff(1, 20, Tlp::Amber), stray]);
    assert_eq!(stray.pending_handoff, vec![TeamId([8; 32])]);
}

#[test]
fn a_hand_off_shows_the_reporters_signed_text_or_is_refused() {
    let mut report = root();
    report.recipients = vec![TeamId([7; 32])];
    let hand = |original: Vec<u8>| {
        step(
            1,
            20,
            7,
            Tlp::Amber,
            IncidentPayload::Handoff {
                to: vec![TeamId([8; 32])],
                original,
                note: "yours".into(),
            },
        )
    };
    // The team it was handed to cannot read the root: it reads the
    // reporter's own text from the hand-off, and keeps it to hand on.
    let mut unread = report.clone();
    unread.payload = None;
    let inc = Incident::fold(&unread, vec![hand(original(Tlp::Amber))]);
    assert_eq!(inc.title.as_deref(), Some("t"));
    assert_eq!(inc.pending_handoff, vec![TeamId([8; 32])]);
    assert_eq!(inc.original, Some(original(Tlp::Amber)));
    // What the handing team wrote itself, signed by another key, a
    // copy under another label, or a copy that is not this report's
    // text: refused, and nothing is handed.
    let forged = signed_by(&seal::TeamKeys::generate(), Tlp::Amber, "t");
    let mut tampered = original(Tlp::Amber);
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let mut elsewhere = proto::SignedInner::from_bytes(&original(Tlp::Amber)).unwrap();
    let mut inner = proto::InnerContent::from_bytes(&elsewhere.content).unwrap();
    inner.mesh = proto::MeshId([9; 32]);
    elsewhere.content = inner.to_bytes().unwrap();
    elsewhere.signature = reporter().sign(proto::context::INNER, &elsewhere.content);
    for (copy, reader) in [
        (forged, &unread),
        (tampered, &unread),
        (original(Tlp::Green), &unread),
        (elsewhere.to_bytes().unwrap(), &unread),
        (signed_by(reporter(), Tlp::Amber, "another report"), &report),
        (
            signed_to(reporter(), Tlp::Amber, "t", vec![TeamId([6; 32])]),
            &report,
        ),
    ] {
        let inc = Incident::fold(reader, vec![hand(copy)]);
        assert!(
            matches!(inc.events[0], IncidentEvent::Refused { .. }),
            "{:?}",
            inc.events[0]
        );
        assert!(inc.pending_handoff.is_empty());
        assert!(inc.original.is_none());
    }
    // Where the root is readable, the same text is accepted.
    let inc = Incident::fold(&report, vec![hand(original(Tlp::Amber))]);
    assert_eq!(inc.pending_handoff, vec![TeamId([8; 32])]);
}

#[test]
fn strict_and_red_reports_are_never_handed_on() {
    for tlp in [Tlp::AmberStrict, Tlp::Red] {
        let mut report = root();
        report.tlp = tlp;
        let inc = Incident::fold(&report, vec![handoff(1, 20, tlp)]);
        assert!(
            matches!(inc.events[0], IncidentEvent::Refused { .. }),
            "{tlp}"
        );
        assert!(inc.pending_handoff.is_empty());
    }
}

/// A cheap deterministic shuffle driven by the seed.
fn shuffle(entries: &[ThreadEntry], seed: u64) -> Vec<ThreadEntry> {
    let mut out = entries.to_vec();
    let len = out.len();
    for i in 0..len {
        let j = (seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(i as u64)
            % len as u64) as usize;
        out.swap(i, j);
    }
    out
}

#[test]
fn unreadable_entries_still_show() {
    let inc = Incident::fold(&root(), vec![entry(4, 20, Tlp::Red, None)]);
    assert!(matches!(inc.events[0], IncidentEvent::Sealed { .. }));
}

proptest! {
    #[test]
    fn fold_is_independent_of_arrival_order(
        steps in proptest::collection::vec((1u8..200, 11u64..100, 0usize..4), 0..30),
        seed in any::<u64>(),
    ) {
        let statuses = [IncidentStatus::New, IncidentStatus::InProgress, IncidentStatus::Resolved, IncidentStatus::Closed];
        let mut seen = std::collections::HashSet::new();
        let replies: Vec<_> = steps
            .into_iter()
            .filter(|(n, _, _)| seen.insert(*n))
            .map(|(n, at, s)| status(n, at, statuses[s]))
            .collect();
        let shuffled = shuffle(&replies, seed);
        prop_assert_eq!(Incident::fold(&root(), replies), Incident::fold(&root(), shuffled));
    }
}

/// Issue 11, finding 1: a member that learns a thread's id cannot join
/// the conversation by replying; a hand-off adds its target only once it
/// accepts, and only the handling team or the reporter hands off.
#[test]
fn only_participants_take_part_in_a_named_recipient_thread() {
    let outsider = TeamId([9; 32]);
    let intrusion = step(
        1,
        20,
        9,
        Tlp::Amber,
        IncidentPayload::Status {
            status: IncidentStatus::Closed,
        },
    );
    let inc = Incident::fold(&root(), vec![intrusion]);
    assert!(matches!(inc.events[0], IncidentEvent::Refused { .. }));
    assert_eq!(inc.status, IncidentStatus::New);
    assert!(!inc.participants.as_ref().unwrap().contains(&outsider));
    // Nor can it hand the incident to itself or anyone.
    let mut report = root();
    report.recipients = vec![TeamId([7; 32])];
    let by_outsider = step(
        1,
        20,
        9,
        Tlp::Amber,
        IncidentPayload::Handoff {
            to: vec![outsider],
            original: original(Tlp::Amber),
            note: "mine".into(),
        },
    );
    let inc = Incident::fold(&report, vec![by_outsider]);
    assert!(inc.pending_handoff.is_empty());
    // A participant that neither handles it nor was addressed cannot
    // either: 7 handed it to 8, 8 accepted and handed it to 6, 6
    // accepted; then 8 tries to hand it to the outsider. (7, addressed
    // by the reporter, still may: a report whose handler left the mesh
    // must not be stuck.)
    let mut report = root();
    report.recipients = vec![TeamId([7; 32])];
    let hand = |n: u8, at: u64, by: u8, to: TeamId| {
        step(
            n,
            at,
            by,
            Tlp::Amber,
            IncidentPayload::Handoff {
                to: vec![to],
                original: original(Tlp::Amber),
                note: "yours".into(),
            },
        )
    };
    let chain = vec![
        hand(1, 20, 7, TeamId([8; 32])),
        step(2, 30, 8, Tlp::Amber, IncidentPayload::Accept),
        hand(3, 40, 8, TeamId([6; 32])),
        step(4, 50, 6, Tlp::Amber, IncidentPayload::Accept),
        hand(5, 60, 8, outsider),
    ];
    let inc = Incident::fold(&report, chain.clone());
    assert_eq!(inc.handled_by, vec![TeamId([6; 32])]);
    assert!(matches!(inc.events[4], IncidentEvent::Refused { .. }));
    assert!(inc.pending_handoff.is_empty());
    let mut by_recipient = chain;
    by_recipient[4] = hand(5, 60, 7, outsider);
    let inc = Incident::fold(&report, by_recipient);
    assert_eq!(inc.pending_handoff, vec![outsider]);
    // The handling team hands off; the target is in once it accepts.
    let mut report = root();
    report.recipients = vec![TeamId([7; 32])];
    let target = TeamId([8; 32]);
    let inc = Incident::fold(&report, vec![handoff(1, 20, Tlp::Amber)]);
    assert!(!inc.participants.as_ref().unwrap().contains(&target));
    let accept = step(2, 30, 8, Tlp::Amber, IncidentPayload::Accept);
    let comment = step(
        3,
        40,
        8,
        Tlp::Amber,
        IncidentPayload::Comment {
            text: "on it".into(),
        },
    );
    let inc = Incident::fold(&report, vec![handoff(1, 20, Tlp::Amber), accept, comment]);
    assert!(inc.participants.as_ref().unwrap().contains(&target));
    assert!(matches!(inc.events[2], IncidentEvent::Comment { .. }));
    // GREEN and CLEAR threads are open to every member.
    let mut green = root();
    green.tlp = Tlp::Green;
    assert!(Incident::fold(&green, vec![]).participants.is_none());
}

proptest! {
    /// With outsiders, hand-offs and accepts mixed in, the fold (and its
    /// participants) is still the same in any arrival order.
    #[test]
    fn participants_are_independent_of_arrival_order(
        steps in proptest::collection::vec((1u8..200, 11u64..60, 0u8..8), 0..30),
        seed in any::<u64>(),
    ) {
        let mut seen = std::collections::HashSet::new();
        let replies: Vec<_> = steps
            .into_iter()
            .filter(|(n, _, _)| seen.insert(*n))
            .map(|(n, at, kind)| match kind {
                0 => status(n, at, IncidentStatus::InProgress),
                1 => step(n, at, 9, Tlp::Amber, IncidentPayload::Comment { text: "x".into() }),
                2 => step(n, at, 1, Tlp::Amber, IncidentPayload::Handoff {
                    to: vec![TeamId([8; 32])],
                    original: signed_to(reporter(), Tlp::Amber, "t", root().recipients),
                    note: "n".into(),
                }),
                3 => step(n, at, 8, Tlp::Amber, IncidentPayload::Accept),
                // The outsider hands the report to itself (with the
                // reporter's own copy) and accepts; a participant that
                // was handed nothing accepts.
                5 => step(n, at, 9, Tlp::Amber, IncidentPayload::Handoff {
                    to: vec![TeamId([9; 32])],
                    original: signed_to(reporter(), Tlp::Amber, "t", root().recipients),
                    note: "mine".into(),
                }),
                6 => step(n, at, 9, Tlp::Amber, IncidentPayload::Accept),
                7 => step(n, at, 2, Tlp::Amber, IncidentPayload::Accept),
                _ => step(n, at, 8, Tlp::Amber, IncidentPayload::Comment { text: "y".into() }),
            })
            .collect();
        let shuffled = shuffle(&replies, seed);
        let a = Incident::fold(&root(), replies);
        let b = Incident::fold(&root(), shuffled);
        // Whatever the order: the outsider never joins, is never handed
        // the report, and only the team it was handed to takes it over.
        let outsider = TeamId([9; 32]);
        prop_assert!(!a.participants.as_ref().unwrap().contains(&outsider));
        prop_assert!(!a.pending_handoff.contains(&outsider) && !a.handled_by.contains(&outsider));
        prop_assert!(a.handled_by == root().recipients || a.handled_by == vec![TeamId([8; 32])], "{:?}", a.handled_by);
        prop_assert_eq!(a, b);
    }
}

/// A peer's indicators went through no parser: the fold keeps only those in
/// the parser's form, each once, at most the limit.
#[test]
fn a_peers_indicators_are_kept_only_in_parsed_form() {
    let mut indicators: Vec<proto::Indicator> = vec![
        proto::Indicator::Domain("Evil.Example\u{1b}[2J".into()),
        "evil.example".parse().unwrap(),
        "evil.example".parse().unwrap(),
    ];
    indicators.extend((0..300).map(proto::Indicator::Asn));
    let root = ThreadEntry {
        id: EnvelopeId([1; 32]),
        author: TeamId([2; 32]),
        mesh: MeshId([3; 32]),
        created_at: 10,
        tlp: Tlp::Clear,
        payload: Some(IncidentPayload::Open {
            title: "t".into(),
            description: String::new(),
            indicators,
            source: None,
        }),
        recipients: vec![],
        waiting_for_key: false,
        retracts: None,
    };
    let inc = Incident::fold(&root, vec![]);
    assert_eq!(inc.indicators.len(), proto::indicator::MAX_INDICATORS);
    assert_eq!(inc.indicators[0].to_string(), "evil.example");
    assert_eq!(inc.indicators[1].to_string(), "AS0");
}
