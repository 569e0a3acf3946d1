//! Export and import, checked in Rust. The checks by tools others wrote
//! (the OASIS validator, stix2, misp-stix, pymisp, xarf) are in
//! `tests/tools.rs`.

use std::collections::BTreeMap;

use mesh_core::{Incident, IncidentEvent};
use proto::{EnvelopeId, IncidentStatus, Indicator, MeshId, Profile, TeamId, Tlp};
use serde_json::{Value, json};

use crate::{Export, import, misp, stix, tlp, xarf};

const A: TeamId = TeamId([0xa1; 32]);
const B: TeamId = TeamId([0xb2; 32]);

pub(crate) fn profile(team: TeamId, name: &str) -> Profile {
    Profile {
        team,
        name: name.into(),
        country: Some("PT".into()),
        constituency: vec!["198.51.100.0/24".parse().unwrap()],
        contact: Some("Call +351 1 or mail cert@a.example".into()),
        recipient: "age1x".into(),
        peers: vec![],
        node_proofs: vec![],
        roles: vec![],
        details: proto::rfc2350::TeamDetails {
            time_zone: Some("Europe/Lisbon".into()),
            pgp_fingerprint: Some("AB".repeat(20)),
            constituency_type: Some("national".into()),
            languages: vec!["pt".into(), "en".into()],
            ..Default::default()
        },
        updated_at: 1_700_000_000_000,
    }
}

pub(crate) fn incident(n: u8, tlp: Tlp) -> Incident {
    let at = 1_700_000_000_000 + u64::from(n) * 1000;
    Incident {
        id: EnvelopeId([n; 32]),
        author: A,
        mesh: MeshId([9; 32]),
        opened_at: at,
        tlp,
        title: Some(format!("Phishing wave {n}")),
        description: Some("Kits on 198.51.100.7.\nSee logs.".into()),
        recipients: if tlp.is_named_recipients() {
            vec![B]
        } else {
            vec![]
        },
        status: IncidentStatus::InProgress,
        updated_at: at + 500,
        waiting_for_key: false,
        report: None,
        indicators: [
            "198.51.100.7",
            "2001:db8::/32",
            "AS64500",
            "evil.example",
            "https://evil.example/login",
            "phish@evil.example",
            "sha256:0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect(),
        source: None,
        handled_by: vec![],
        pending_handoff: vec![],
        original: None,
        participants: None,
        events: vec![
            IncidentEvent::Comment {
                id: EnvelopeId([n ^ 0x40; 32]),
                author: B,
                at: at + 100,
                text: "Seen here too.".into(),
            },
            IncidentEvent::Status {
                id: EnvelopeId([n ^ 0x80; 32]),
                author: A,
                at: at + 200,
                status: IncidentStatus::InProgress,
            },
        ],
    }
}

pub(crate) fn teams() -> BTreeMap<TeamId, Profile> {
    [(A, profile(A, "CERT A")), (B, profile(B, "CSIRT B"))].into()
}

fn objects_of<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == kind)
        .collect()
}

#[test]
fn stix_export_is_stable_labelled_and_leaves_out_what_the_team_cannot_read() {
    let mut unreadable = incident(3, Tlp::Red);
    unreadable.title = None;
    unreadable.description = None;
    let incidents = vec![incident(1, Tlp::Amber), incident(2, Tlp::Green), unreadable];
    let t = teams();
    let x = Export {
        exporter: B,
        incidents: &incidents,
        teams: &t,
    };
    let bundle = stix::export(&x);
    assert_eq!(
        bundle,
        stix::export(&x),
        "the same export twice is the same document"
    );
    let incs = objects_of(&bundle, "incident");
    assert_eq!(incs.len(), 2, "the unreadable incident is left out");
    assert!(
        !bundle
            .to_string()
            .contains(&EnvelopeId([3; 32]).to_string())
    );
    assert_eq!(incs[0]["name"], "Phishing wave 1");
    let ext = &incs[0]["extensions"][stix::INCIDENT_CORE];
    assert_eq!(ext["extension_type"], "property-extension");
    assert_eq!(ext["investigation_status"], "open");
    assert_eq!(ext["determination"], "suspected");
    // Every object but identities carries its incident's label.
    for o in bundle["objects"].as_array().unwrap() {
        let refs = o["object_marking_refs"].as_array().unwrap();
        assert_eq!(refs.len(), 1, "{o}");
        if o["type"] == "identity" {
            assert_eq!(refs[0], tlp::stix_marking(Tlp::Clear));
        }
    }
    let amber = tlp::stix_marking(Tlp::Amber);
    let group = objects_of(&bundle, "grouping")
        .into_iter()
        .find(|g| g["name"] == "Phishing wave 1")
        .unwrap();
    assert_eq!(group["context"], "suspicious-activity");
    assert_eq!(group["object_marking_refs"][0], amber);
    // 1 incident + 8 observables + 8 relationships + 2 notes.
    assert_eq!(group["object_refs"].as_array().unwrap().len(), 19);
    let ip = objects_of(&bundle, "ipv4-addr");
    assert!(
        ip.iter()
            .any(|o| o["id"] == "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db")
    );
    let asn = &objects_of(&bundle, "autonomous-system")[0];
    assert_eq!(asn["number"], 64500);
    let identity = objects_of(&bundle, "identity")
        .into_iter()
        .find(|o| o["name"] == "CERT A")
        .unwrap();
    assert!(
        identity["contact_information"]
            .as_str()
            .unwrap()
            .contains(&"AB".repeat(20))
    );
    assert!(
        identity["description"]
            .as_str()
            .unwrap()
            .contains("Europe/Lisbon")
    );
    assert_eq!(identity["sectors"], json!(["government-national"]));
}

#[test]
fn an_imported_incident_exports_with_its_source_id() {
    let mut inc = incident(1, Tlp::Amber);
    inc.source = Some(
        *uuid::Uuid::parse_str("6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d")
            .unwrap()
            .as_bytes(),
    );
    let t = teams();
    let incidents = [inc];
    let x = Export {
        exporter: A,
        incidents: &incidents,
        teams: &t,
    };
    let bundle = stix::export(&x);
    assert_eq!(
        objects_of(&bundle, "incident")[0]["id"],
        "incident--6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d"
    );
    let m = misp::export(&x);
    assert_eq!(
        m["response"][0]["Event"]["uuid"],
        "6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d"
    );
    // Another team exporting A's imported incident does not take A's
    // source id (two teams importing one file would collide).
    let from_b = stix::export(&Export {
        exporter: B,
        incidents: &incidents,
        teams: &t,
    });
    assert_ne!(
        objects_of(&from_b, "incident")[0]["id"],
        "incident--6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d"
    );
}

#[test]
fn stix_round_trip_keeps_title_label_indicators_comments_and_status() {
    let incidents = vec![incident(1, Tlp::Amber), incident(2, Tlp::Clear)];
    let t = teams();
    let x = Export {
        exporter: A,
        incidents: &incidents,
        teams: &t,
    };
    let bytes = serde_json::to_vec(&stix::export(&x)).unwrap();
    let parsed = import::parse(&bytes, None).unwrap();
    assert_eq!(parsed.format, "stix");
    assert_eq!(parsed.skipped, Vec::<String>::new());
    assert_eq!(parsed.incidents.len(), 2);
    for (got, want) in parsed.incidents.iter().zip(&incidents) {
        assert_eq!(Some(&got.title), want.title.as_ref());
        assert_eq!(Some(&got.description), want.description.as_ref());
        assert_eq!(got.tlp, want.tlp);
        assert_eq!(got.status, IncidentStatus::InProgress);
        let mut a = got.indicators.clone();
        let mut b = want.indicators.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert_eq!(
            got.comments,
            ["Seen here too."],
            "comments, not the status step"
        );
        assert_eq!(
            uuid::Uuid::from_bytes(got.source),
            stix::incident_uuid(want, &A)
        );
    }
}

#[test]
fn misp_export_maps_labels_to_distribution_and_round_trips() {
    let t = teams();
    for (label, distribution) in [
        (Tlp::Clear, "3"),
        (Tlp::Green, "1"),
        (Tlp::Amber, "4"),
        (Tlp::AmberStrict, "0"),
        (Tlp::Red, "0"),
    ] {
        let incidents = [incident(1, label)];
        let x = Export {
            exporter: A,
            incidents: &incidents,
            teams: &t,
        };
        let doc = misp::export(&x);
        let ev = &doc["response"][0]["Event"];
        assert_eq!(ev["distribution"], distribution, "{label}");
        assert_eq!(ev["Tag"], json!([{"name": tlp::tag(label)}]));
        assert_eq!(ev["SharingGroup"].is_object(), label == Tlp::Amber);
        let back = import::parse(&serde_json::to_vec(&doc).unwrap(), None).unwrap();
        let got = &back.incidents[0];
        assert_eq!((got.title.as_str(), got.tlp), ("Phishing wave 1", label));
        assert_eq!(got.indicators.len(), 8);
        assert_eq!(got.description, "Kits on 198.51.100.7.\nSee logs.");
        assert_eq!(got.status, IncidentStatus::InProgress);
    }
}

#[test]
fn xarf_exports_reports_only() {
    let mut report = incident(1, Tlp::Amber);
    report.report = Some((
        "198.51.100.7".into(),
        "its constituency includes 198.51.100.0/24".into(),
    ));
    let incidents = [report, incident(2, Tlp::Green)];
    let t = teams();
    let x = Export {
        exporter: B,
        incidents: &incidents,
        teams: &t,
    };
    let docs = xarf::export(&x);
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d["source_identifier"], "198.51.100.7");
    assert_eq!(d["reporter"]["contact"], "cert@a.example");
    assert_eq!(d["reporter"]["domain"], "a.example");
    assert_eq!(d["tags"], json!(["tlp:amber"]));
    assert_eq!(xarf::to_lines(&docs).lines().count(), 1);
}

fn bundle(objects: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"type": "bundle", "id": "bundle--6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d", "objects": objects})).unwrap()
}

const INC: &str = "incident--6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d";

fn stix_incident(extra: Value) -> Value {
    let mut o = json!({"type": "incident", "spec_version": "2.1", "id": INC, "name": "Scan",
        "created": "2025-01-15T14:30:25.000Z", "modified": "2025-01-15T14:30:25.000Z"});
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

#[test]
fn an_unmarked_object_is_refused_unless_the_operator_names_a_label() {
    let file = bundle(json!([stix_incident(json!({}))]));
    let e = import::parse(&file, None).unwrap_err();
    assert_eq!(
        (e.object.as_str(), e.field.as_str()),
        (INC, "object_marking_refs")
    );
    assert!(e.reason.contains("never assumed"), "{e}");
    let p = import::parse(&file, Some(Tlp::Amber)).unwrap();
    assert_eq!(p.incidents[0].tlp, Tlp::Amber);
    // A marked object keeps its own label, whatever the operator names.
    let red = bundle(json!([stix_incident(
        json!({"object_marking_refs": [tlp::stix_marking(Tlp::Red)]})
    )]));
    assert_eq!(
        import::parse(&red, Some(Tlp::Clear)).unwrap().incidents[0].tlp,
        Tlp::Red
    );
}

#[test]
fn the_label_is_the_narrowest_of_everything_imported_into_the_incident() {
    let note = json!({"type": "note", "spec_version": "2.1", "id": "note--7b2c3d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e",
        "created": "2025-01-15T14:30:25.000Z", "modified": "2025-01-15T14:30:25.000Z",
        "content": "only for named recipients", "object_refs": [INC],
        "object_marking_refs": [tlp::stix_marking(Tlp::Red)]});
    let file = bundle(json!([
        stix_incident(json!({"object_marking_refs": [tlp::stix_marking(Tlp::Green)]})),
        note
    ]));
    let p = import::parse(&file, None).unwrap();
    assert_eq!(p.incidents[0].tlp, Tlp::Red);
    assert_eq!(p.incidents[0].comments, ["only for named recipients"]);
    // TLP 1.0 WHITE reads as CLEAR; MISP's tlp:white too.
    let white = bundle(json!([stix_incident(
        json!({"object_marking_refs": ["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"]})
    )]));
    assert_eq!(
        import::parse(&white, None).unwrap().incidents[0].tlp,
        Tlp::Clear
    );
}

#[test]
fn hostile_files_are_refused_naming_the_object_and_field() {
    let green = json!([tlp::stix_marking(Tlp::Green)]);
    let mut deep = json!("x");
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (b"{not json".to_vec(), "file", "(json)"),
        (serde_json::to_vec(&json!({"type": "bundle", "objects": [deep]})).unwrap(), "file", "(nesting)"),
        (serde_json::to_vec(&json!({"x": 1})).unwrap(), "file", "type"),
        (serde_json::to_vec(&json!({"type": "bundle", "objects": 7})).unwrap(), "bundle", "objects"),
        (bundle(json!([stix_incident(json!({"object_marking_refs": ["marking-definition--00000000-0000-4000-8000-000000000000"]}))])), INC, "object_marking_refs"),
        (bundle(json!([stix_incident(json!({"object_marking_refs": green, "name": 5}))])), INC, "name"),
        (bundle(json!([stix_incident(json!({"object_marking_refs": green, "name": "a\u{1b}[2Jb"}))])), INC, "name"),
        (bundle(json!([stix_incident(json!({"object_marking_refs": green, "name": "x".repeat(600)}))])), INC, "name"),
        (bundle(json!([stix_incident(json!({"object_marking_refs": green, "id": "incident--nope"}))])), "incident--nope", "id"),
        (
            bundle(json!([
                stix_incident(json!({"object_marking_refs": green})),
                {"type": "ipv4-addr", "id": "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db", "value": "999.1.2.3"},
                {"type": "relationship", "id": "relationship--8c3d4e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f", "relationship_type": "related-to",
                 "source_ref": INC, "target_ref": "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db"},
            ])),
            "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db",
            "value",
        ),
        (
            serde_json::to_vec(&json!({"Event": {"uuid": "6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d", "info": "x",
                "Tag": [{"name": "tlp:ultraviolet"}]}})).unwrap(),
            "MISP event 6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d",
            "Tag[0]",
        ),
        (
            serde_json::to_vec(&json!({"Event": {"uuid": "6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d", "info": "x",
                "Tag": [{"name": "tlp:green"}], "Attribute": [{"type": "ip-dst", "value": "not an ip"}]}})).unwrap(),
            "MISP event 6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d Attribute[0]",
            "value",
        ),
        (
            serde_json::to_vec(&json!({"Event": {"uuid": "6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d", "info": "x",
                "Tag": [{"name": "tlp:green"}], "Attribute": {"type": "ip-dst"}}})).unwrap(),
            "MISP event 6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d",
            "Attribute",
        ),
    ];
    for (file, object, field) in cases {
        let e = import::parse(&file, Some(Tlp::Amber)).unwrap_err();
        assert_eq!(
            (e.object.as_str(), e.field.as_str()),
            (object, field),
            "{e}"
        );
    }
    let many: Vec<Value> = (0..=import::MAX_OBJECTS).map(|_| json!({})).collect();
    let e = import::parse(&serde_json::to_vec(&many).unwrap(), None).unwrap_err();
    assert_eq!(e.field, "(objects)");
}

#[test]
fn misp_import_reads_attributes_objects_and_skips_what_has_no_indicator_kind() {
    let file = serde_json::to_vec(&json!({"Event": {
        "uuid": "6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d", "info": "Botnet C2", "analysis": "2",
        "Tag": [{"name": "TLP:AMBER"}, {"name": "type:OSINT"}],
        "Attribute": [
            {"type": "ip-src", "value": "203.0.113.9"},
            {"type": "AS", "value": "64500"},
            {"type": "yara", "value": "rule x {}"},
            {"type": "ip-dst", "value": "203.0.113.9", "Tag": [{"name": "tlp:red"}]},
        ],
        "Object": [{"name": "file", "Attribute": [{"type": "sha1", "value": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}]}],
        "EventReport": [{"name": "Notes", "content": "first look"}],
    }})).unwrap();
    let p = import::parse(&file, None).unwrap();
    let inc = &p.incidents[0];
    assert_eq!(
        inc.tlp,
        Tlp::Red,
        "an attribute's narrower tag narrows the incident"
    );
    assert_eq!(inc.status, IncidentStatus::Resolved);
    let shown: Vec<String> = inc.indicators.iter().map(Indicator::to_string).collect();
    assert_eq!(
        shown,
        [
            "203.0.113.9",
            "AS64500",
            "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"
        ]
    );
    assert_eq!(inc.comments, ["first look"]);
    assert_eq!(p.skipped.len(), 1);
    assert!(p.skipped[0].contains("yara"), "{:?}", p.skipped);
}

#[test]
fn times_format_as_stix_wants_them_even_at_the_edges() {
    assert_eq!(crate::rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(
        crate::rfc3339_ms(1_700_000_000_123),
        "2023-11-14T22:13:20.123Z"
    );
    assert_eq!(crate::rfc3339_ms(u64::MAX), "9999-12-31T23:59:59.999Z");
    assert_eq!(crate::date(u64::MAX), "9999-12-31");
}

#[test]
fn every_marking_that_touches_the_incident_narrows_it() {
    let green = json!([tlp::stix_marking(Tlp::Green)]);
    let red = json!([tlp::stix_marking(Tlp::Red)]);
    let ip = "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db";
    let observable = json!({"type": "ipv4-addr", "id": ip, "value": "198.51.100.7", "object_marking_refs": green});
    let relationship = |marking: &Value| {
        json!({"type": "relationship", "id": "relationship--8c3d4e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f",
            "relationship_type": "related-to", "source_ref": INC, "target_ref": ip, "object_marking_refs": marking})
    };
    // A RED link between a GREEN incident and a GREEN observable.
    let file = bundle(json!([
        stix_incident(json!({"object_marking_refs": green})),
        observable,
        relationship(&red)
    ]));
    assert_eq!(
        import::parse(&file, None).unwrap().incidents[0].tlp,
        Tlp::Red
    );
    // A RED granular marking on the incident's description.
    let granular = bundle(json!([stix_incident(json!({"object_marking_refs": green,
        "granular_markings": [{"marking_ref": tlp::stix_marking(Tlp::Red), "selectors": ["description"]}]}))]));
    assert_eq!(
        import::parse(&granular, None).unwrap().incidents[0].tlp,
        Tlp::Red
    );
    // An unmarked note: refused without a label for unmarked objects, and
    // that label narrows the incident when it is named.
    let note = json!({"type": "note", "id": "note--7b2c3d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e", "content": "x", "object_refs": [INC]});
    let file = bundle(json!([
        stix_incident(json!({"object_marking_refs": green})),
        note
    ]));
    let e = import::parse(&file, None).unwrap_err();
    assert_eq!(e.object, "note--7b2c3d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e");
    assert_eq!(
        import::parse(&file, Some(Tlp::Amber)).unwrap().incidents[0].tlp,
        Tlp::Amber
    );
    // A revoked incident is left out, and said so.
    let revoked = bundle(json!([stix_incident(
        json!({"object_marking_refs": green, "revoked": true})
    )]));
    let p = import::parse(&revoked, None).unwrap();
    assert!(
        p.incidents.is_empty() && p.skipped[0].contains("revoked"),
        "{p:?}"
    );
}

#[test]
fn a_misp_distribution_narrows_the_label_it_tags() {
    let event = |distribution: &str| {
        serde_json::to_vec(
            &json!({"Event": {"uuid": "6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d", "info": "x",
            "distribution": distribution, "Tag": [{"name": " tlp:green"}]}}),
        )
        .unwrap()
    };
    for (d, want) in [
        ("0", Tlp::AmberStrict),
        ("1", Tlp::Green),
        ("3", Tlp::Green),
        ("4", Tlp::Amber),
    ] {
        assert_eq!(
            import::parse(&event(d), None).unwrap().incidents[0].tlp,
            want,
            "distribution {d}"
        );
    }
    let e = import::parse(&event("9"), None).unwrap_err();
    assert_eq!(e.field, "distribution");
    // A MISP object's own distribution, and numbers as well as strings.
    let with_object = serde_json::to_vec(
        &json!({"Event": {"uuid": "6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d", "info": "x",
        "distribution": 3, "Tag": [{"name": "tlp:clear"}],
        "Object": [{"name": "file", "distribution": 0, "Attribute": [
            {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e", "distribution": "5"}]}]}}),
    )
    .unwrap();
    assert_eq!(
        import::parse(&with_object, None).unwrap().incidents[0].tlp,
        Tlp::AmberStrict
    );
    // A grouping's marking counts: a RED grouping holding a GREEN incident.
    let green = json!([tlp::stix_marking(Tlp::Green)]);
    let g = json!({"type": "grouping", "id": "grouping--1e5f6a7b-8c9d-4e1f-8a3b-4c5d6e7f8091", "context": "suspicious-activity",
        "name": "g", "object_refs": [INC], "object_marking_refs": [tlp::stix_marking(Tlp::Red)]});
    let file = bundle(json!([
        stix_incident(json!({"object_marking_refs": green})),
        g
    ]));
    assert_eq!(
        import::parse(&file, None).unwrap().incidents[0].tlp,
        Tlp::Red
    );
}

#[test]
fn ids_patterns_and_sizes_are_held_to_one_form() {
    let green = json!([tlp::stix_marking(Tlp::Green)]);
    // The same UUID in another spelling is not the same source.
    let upper = bundle(json!([stix_incident(json!({"object_marking_refs": green,
        "id": "incident--6A1B2C3D-4E5F-4A7B-8C9D-0E1F2A3B4C5D"}))]));
    assert_eq!(import::parse(&upper, None).unwrap_err().field, "id");
    // A pattern's value must be of its path's type.
    let ind = json!({"type": "indicator", "id": "indicator--7b2c3d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e",
        "pattern": "[ipv4-addr:value = 'evil.example']", "pattern_type": "stix", "object_marking_refs": green});
    let rel = json!({"type": "relationship", "id": "relationship--8c3d4e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f",
        "relationship_type": "indicates", "source_ref": "indicator--7b2c3d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e",
        "target_ref": INC, "object_marking_refs": green});
    let file = bundle(json!([
        stix_incident(json!({"object_marking_refs": green})),
        ind,
        rel
    ]));
    let e = import::parse(&file, None).unwrap_err();
    assert_eq!(
        (e.object.as_str(), e.field.as_str()),
        ("indicator--7b2c3d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e", "pattern")
    );
    // A million tiny values are refused on the bytes, before a tree.
    let many = format!("[{}0]", "0,".repeat(import::MAX_VALUES + 1));
    assert_eq!(
        import::parse(many.as_bytes(), None).unwrap_err().field,
        "(values)"
    );
    // Nor nested arrays, whose first elements cost no comma.
    let nested = format!(
        "[{}]",
        vec!["[[[[0]]]]"; import::MAX_VALUES / 5 + 1].join(",")
    );
    assert_eq!(
        import::parse(nested.as_bytes(), None).unwrap_err().field,
        "(values)"
    );
    // A grouping listing one reference many times.
    let g = json!({"type": "grouping", "id": "grouping--1e5f6a7b-8c9d-4e1f-8a3b-4c5d6e7f8091", "context": "suspicious-activity",
        "name": "g", "object_refs": [INC, INC], "object_marking_refs": green});
    let file = bundle(json!([
        stix_incident(json!({"object_marking_refs": green})),
        g
    ]));
    let e = import::parse(&file, None).unwrap_err();
    assert_eq!(
        (e.object.as_str(), e.field.as_str()),
        (
            "grouping--1e5f6a7b-8c9d-4e1f-8a3b-4c5d6e7f8091",
            "object_refs"
        )
    );
    // Two MISP events with one uuid.
    let twice = serde_json::to_vec(&json!([
        {"Event": {"uuid": "6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d", "info": "x", "Tag": [{"name": "tlp:green"}]}},
        {"Event": {"uuid": "6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d", "info": "y", "Tag": [{"name": "tlp:green"}]}},
    ])).unwrap();
    assert_eq!(import::parse(&twice, None).unwrap_err().field, "uuid");
}
