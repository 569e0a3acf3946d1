//! Export, import and profile details on a node: an export holds what the
//! team reads and nothing else; a fresh team importing it gets the same
//! incidents back, once; a file is checked whole before anything is
//! published.

use proto::Tlp;

use super::{
    key_tests::{dir_node, found, team_in_dir},
    tests::{NOW, copy_all, incident, mesh_of, node_for},
};
use crate::api::{ApiError, types::*};

fn export(node: &mut super::Node, format: ExportFormat) -> serde_json::Value {
    node.export(
        NOW,
        &ExportQuery {
            format,
            incident: None,
            since: None,
        },
    )
    .unwrap()
}

fn of_type<'a>(bundle: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == kind)
        .collect()
}

fn import(
    node: &mut super::Node,
    file: &serde_json::Value,
    to: Option<&str>,
) -> Result<ImportView, ApiError> {
    let parsed = interop::import::parse(&serde_json::to_vec(file).unwrap(), None).unwrap();
    node.import(
        NOW + 10,
        parsed,
        &ImportQuery {
            tlp: None,
            to: to.map(str::to_owned),
            reshare_restricted: false,
        },
    )
}

#[tokio::test]
async fn an_export_holds_what_the_team_reads_and_a_fresh_team_imports_it_once() {
    let t = mesh_of(4);
    let (a, b, c, d) = (&t[0], &t[1], &t[2], &t[3]);
    let founders = [a, b, c, d];
    let mut as_a = node_for(a, &founders);
    let mut as_b = node_for(b, &founders);
    let mut as_c = node_for(c, &founders);
    let mut as_d = node_for(d, &founders);
    let mut amber = incident("Credential phishing against F1", "amber", vec!["F1".into()]);
    amber.description = "Kit hosted at the URL below.".into();
    amber.indicators = [
        "https://login.evil.example/f1",
        "198.51.100.7",
        &("sha256:".to_owned() + &"ab".repeat(32)),
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let amber = as_a.open_incident(NOW, amber).unwrap();
    let mut clear = incident("Scanning from AS64500", "clear", vec![]);
    clear.indicators = vec!["AS64500".parse().unwrap()];
    as_a.open_incident(NOW + 1, clear).unwrap();
    copy_all(&as_a, &mut as_b);
    as_b.comment(
        NOW + 2,
        &amber.id,
        NewComment {
            text: "Taken down.".into(),
        },
    )
    .unwrap();
    copy_all(&as_b, &mut as_a);
    copy_all(&as_a, &mut as_c);

    // B reads both; C, not addressed, only the CLEAR one: nothing of the
    // AMBER one reaches its export, not its title, not its indicators.
    let from_b = export(&mut as_b, ExportFormat::Stix);
    assert_eq!(of_type(&from_b, "incident").len(), 2);
    let from_c = export(&mut as_c, ExportFormat::Stix);
    let text = from_c.to_string();
    assert_eq!(of_type(&from_c, "incident").len(), 1);
    assert!(
        !text.contains("phishing")
            && !text.contains("evil.example")
            && !text.contains("198.51.100.7"),
        "{text}"
    );
    let misp_c = export(&mut as_c, ExportFormat::Misp);
    assert_eq!(misp_c["response"].as_array().unwrap().len(), 1);

    // D, which holds nothing, imports A's export: the same incidents.
    let from_a = export(&mut as_a, ExportFormat::Stix);
    let before = as_d.store.count().unwrap();
    let err = import(&mut as_d, &from_a, None).unwrap_err();
    assert!(err.to_string().contains("--to"), "{err}");
    assert_eq!(
        as_d.store.count().unwrap(),
        before,
        "a refused file publishes nothing"
    );
    let r = import(&mut as_d, &from_a, Some("F1")).unwrap();
    assert_eq!(r.incidents.iter().filter(|i| i.created).count(), 2);
    let mut list = as_d.incidents(NOW + 20).unwrap();
    list.sort_by_key(|s| s.title.clone());
    let titles: Vec<_> = list
        .iter()
        .map(|s| (s.title.clone().unwrap(), s.tlp.0))
        .collect();
    assert_eq!(
        titles,
        [
            ("Credential phishing against F1".to_owned(), Tlp::Amber),
            ("Scanning from AS64500".to_owned(), Tlp::Clear)
        ]
    );
    let view = as_d.incident_view(NOW + 20, &list[0].id).unwrap();
    let mut shown: Vec<String> = view.indicators.iter().map(|i| i.to_string()).collect();
    shown.sort();
    assert_eq!(
        shown,
        [
            "198.51.100.7",
            "https://login.evil.example/f1",
            &format!("sha256:{}", "ab".repeat(32))
        ]
    );
    assert_eq!(
        view.description.as_deref(),
        Some("Kit hosted at the URL below.")
    );
    let comments: Vec<_> = view.events.iter().filter_map(|e| e.text.clone()).collect();
    assert_eq!(comments, ["Taken down."]);
    assert_eq!(
        view.recipients
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>(),
        [b.id().to_string()]
    );

    // Again: nothing new.
    let count = as_d.store.count().unwrap();
    let again = import(&mut as_d, &from_a, Some("F1")).unwrap();
    assert!(
        again
            .incidents
            .iter()
            .all(|i| !i.created && i.comments_added == 0)
    );
    assert_eq!(as_d.store.count().unwrap(), count);

    // D's export gives back A's incident ids (the source ids).
    let ids = |b: &serde_json::Value| {
        let mut v: Vec<String> = of_type(b, "incident")
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&export(&mut as_d, ExportFormat::Stix)), ids(&from_a));
}

#[tokio::test]
async fn a_report_is_routed_by_its_indicators() {
    let mut t = mesh_of(3);
    t[1].profile.constituency = vec!["203.0.113.0/24".parse().unwrap()];
    let id = testkit::charter(&t.iter().collect::<Vec<_>>())
        .mesh_id()
        .unwrap();
    for x in &mut t {
        x.mesh = id;
    }
    let founders: Vec<&testkit::Team> = t.iter().collect();
    let mut as_a = node_for(&t[0], &founders);
    let r = as_a
        .report(
            NOW,
            NewReport {
                about: String::new(),
                indicators: vec![
                    "md5:d41d8cd98f00b204e9800998ecf8427e".parse().unwrap(),
                    "http://203.0.113.9/login".parse().unwrap(),
                ],
                country: None,
                title: "Phishing page".into(),
                description: String::new(),
                tlp: None,
            },
        )
        .unwrap();
    assert_eq!(r.route.about, "203.0.113.9");
    assert_eq!(r.route.teams[0].id, t[1].id().to_string());
    let view = as_a.incident_view(NOW, &r.published.id).unwrap();
    let shown: Vec<String> = view.indicators.iter().map(|i| i.to_string()).collect();
    assert_eq!(
        shown,
        [
            "203.0.113.9",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            "http://203.0.113.9/login"
        ]
    );
    let xarf = export(&mut as_a, ExportFormat::Xarf);
    assert_eq!(xarf[0]["source_identifier"], "203.0.113.9");
    // Nothing to route by: a clear error.
    let err = as_a
        .report(
            NOW,
            NewReport {
                about: String::new(),
                indicators: vec!["md5:d41d8cd98f00b204e9800998ecf8427e".parse().unwrap()],
                country: None,
                title: "x".into(),
                description: String::new(),
                tlp: None,
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("network part"), "{err}");
}

#[tokio::test]
async fn a_new_profile_version_carries_the_rfc2350_details_and_the_newest_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, mut x) = team_in_dir(tmp.path(), "CSIRT-X");
    let (mut a, mut b) = (testkit::Team::new("A"), testkit::Team::new("B"));
    let charter = found(&mut [&mut a, &mut b, &mut x]);
    let mut as_x = dir_node(&dir, &charter);
    let mut as_a = node_for(&a, &[&a, &b, &x]);
    let details = proto::rfc2350::TeamDetails {
        time_zone: Some("America/Sao_Paulo".into()),
        emergency_phone: Some("+55 11 5509 3548".into()),
        pgp_fingerprint: Some("3b2a 1c5e 8f90 1234 5678 9abc def0 1234 5678 9abc".into()),
        languages: vec!["PT".into()],
        ..Default::default()
    };
    as_x.update_profile(NOW + 1, details.clone()).unwrap();
    copy_all(&as_x, &mut as_a);
    let held = as_a.members.profile(&x.id()).unwrap().details.clone();
    assert_eq!(held, details.clone().normalized());
    assert_eq!(
        dir.profile().unwrap().1.details,
        held,
        "kept in the data directory"
    );
    let mut later = held.clone();
    later.business_hours = Some("Mon-Fri 09:00-18:00".into());
    as_x.update_profile(NOW + 1, later.clone()).unwrap();
    copy_all(&as_x, &mut as_a);
    assert_eq!(as_a.members.profile(&x.id()).unwrap().details, later);
    let view = as_a.members_view();
    let shown = view
        .members
        .iter()
        .find(|m| m.team.id == x.id().to_string())
        .unwrap();
    assert_eq!(shown.details, later);
    let bad = proto::rfc2350::TeamDetails {
        pgp_fingerprint: Some("not a key".into()),
        ..Default::default()
    };
    let err = as_x.update_profile(NOW + 2, bad).unwrap_err();
    assert!(err.to_string().contains("pgp_fingerprint"), "{err}");
}

fn file_with(source: &str, tlp: Tlp, note: &str) -> serde_json::Value {
    serde_json::json!({"type": "bundle", "id": "bundle--6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d", "objects": [
        {"type": "incident", "spec_version": "2.1", "id": format!("incident--{source}"), "name": "Botnet C2",
         "created": "2025-01-15T14:30:25.000Z", "modified": "2025-01-15T14:30:25.000Z",
         "object_marking_refs": [interop::tlp::stix_marking(tlp)]},
        {"type": "note", "spec_version": "2.1", "id": "note--7b2c3d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e", "content": note,
         "created": "2025-01-15T14:30:25.000Z", "modified": "2025-01-15T14:30:25.000Z",
         "object_refs": [format!("incident--{source}")], "object_marking_refs": [interop::tlp::stix_marking(tlp)]},
    ]})
}

const SOURCE: &str = "6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d";

#[tokio::test]
async fn an_import_never_comments_on_another_teams_thread_nor_widens_its_own() {
    let t = mesh_of(3);
    let (a, b, c) = (&t[0], &t[1], &t[2]);
    let founders = [a, b, c];
    let mut as_a = node_for(a, &founders);
    let mut as_b = node_for(b, &founders);
    // B, hostile, opens a CLEAR incident claiming the well-known source.
    import(&mut as_b, &file_with(SOURCE, Tlp::Clear, "bait"), None).unwrap();
    copy_all(&as_b, &mut as_a);
    // A imports the real AMBER file: its own incident, nothing on B's.
    let r = import(
        &mut as_a,
        &file_with(SOURCE, Tlp::Amber, "only for C"),
        Some("F2"),
    )
    .unwrap();
    assert!(r.incidents[0].created, "{r:?}");
    assert_eq!(r.incidents[0].tlp.0, Tlp::Amber);
    copy_all(&as_a, &mut as_b);
    let bs = as_b.incidents(NOW + 20).unwrap();
    for s in &bs {
        let v = as_b.incident_view(NOW + 20, &s.id).unwrap();
        assert!(
            !v.events
                .iter()
                .any(|e| e.text.as_deref() == Some("only for C")),
            "B reads A's AMBER note: {v:?}"
        );
    }
    // A re-imports the source marked narrower: refused, nothing published.
    let count = as_a.store.count().unwrap();
    let parsed = interop::import::parse(
        &serde_json::to_vec(&file_with(SOURCE, Tlp::Red, "narrower now")).unwrap(),
        None,
    )
    .unwrap();
    let q = ImportQuery {
        tlp: None,
        to: Some("F2".into()),
        reshare_restricted: true,
    };
    let err = as_a.import(NOW + 30, parsed.clone(), &q).unwrap_err();
    assert!(err.to_string().contains("imported before"), "{err}");
    // Or addressed to other teams than before: its comments would not go
    // where --to says.
    let err = import(
        &mut as_a,
        &file_with(SOURCE, Tlp::Amber, "another note"),
        Some("F1"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("other teams"), "{err}");
    // RED needs the operator's word that the team may pass it on.
    let err = as_a
        .import(
            NOW + 30,
            interop::import::parse(
                &serde_json::to_vec(&file_with(
                    "7b2c3d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e",
                    Tlp::Red,
                    "x",
                ))
                .unwrap(),
                None,
            )
            .unwrap(),
            &ImportQuery {
                reshare_restricted: false,
                ..q.clone()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("--reshare-restricted"), "{err}");
    assert_eq!(as_a.store.count().unwrap(), count);
}

#[tokio::test]
async fn a_reply_narrower_than_its_thread_is_left_out_of_exports() {
    let t = mesh_of(3);
    let (a, b, c) = (&t[0], &t[1], &t[2]);
    let founders = [a, b, c];
    let mut as_a = node_for(a, &founders);
    let mut as_b = node_for(b, &founders);
    let opened = as_a
        .open_incident(NOW, incident("Scanning", "clear", vec![]))
        .unwrap();
    let root: proto::EnvelopeId = opened.id.parse().unwrap();
    as_a.send_incident_step(
        NOW + 1,
        Some(root),
        Tlp::Red,
        vec![b.id()],
        proto::IncidentPayload::Comment {
            text: "the scanner is our customer's".into(),
        },
    )
    .unwrap();
    as_a.send_incident_step(
        NOW + 2,
        Some(root),
        Tlp::Red,
        vec![b.id()],
        proto::IncidentPayload::Status {
            status: proto::IncidentStatus::Resolved,
        },
    )
    .unwrap();
    copy_all(&as_a, &mut as_b);
    assert_eq!(
        as_b.incident_view(NOW + 3, &opened.id)
            .unwrap()
            .summary
            .status
            .0,
        proto::IncidentStatus::Resolved,
        "B's view applies the RED status"
    );
    let stix = export(&mut as_b, ExportFormat::Stix);
    let inc = &of_type(&stix, "incident")[0];
    assert_eq!(
        inc["extensions"][interop::stix::INCIDENT_CORE]["investigation_status"],
        "new"
    );
    assert_eq!(inc["modified"], inc["created"], "nor its time");
    let view = as_b.incident_view(NOW + 3, &opened.id).unwrap();
    assert!(
        view.events
            .iter()
            .any(|e| e.text.as_deref() == Some("the scanner is our customer's")),
        "B reads the RED reply in the thread: {view:?}"
    );
    for format in [ExportFormat::Stix, ExportFormat::Misp] {
        let text = export(&mut as_b, format).to_string();
        assert!(text.contains("Scanning"), "{text}");
        assert!(!text.contains("our customer"), "{format:?}: {text}");
    }
}

#[tokio::test]
async fn an_import_that_would_publish_too_many_envelopes_publishes_none() {
    let t = mesh_of(3);
    let founders: Vec<&testkit::Team> = t.iter().collect();
    let mut as_a = node_for(&t[0], &founders);
    let green = interop::tlp::stix_marking(Tlp::Green);
    let mut objects = Vec::new();
    for i in 0..6u32 {
        let inc = format!("incident--00000000-0000-4000-8000-{i:012}");
        objects.push(
            serde_json::json!({"type": "incident", "id": inc, "name": format!("incident {i}"),
            "object_marking_refs": [green]}),
        );
        for n in 0..1000u32 {
            objects.push(serde_json::json!({"type": "note", "id": format!("note--00000000-0000-4000-8000-{:012}", i * 1000 + n),
                "content": format!("note {i}/{n}"), "object_refs": [inc], "object_marking_refs": [green]}));
        }
    }
    let file = serde_json::json!({"type": "bundle", "id": "bundle--6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d", "objects": objects});
    let before = as_a.store.count().unwrap();
    let err = import(&mut as_a, &file, None).unwrap_err();
    assert!(err.to_string().contains("6006 envelopes"), "{err}");
    assert_eq!(as_a.store.count().unwrap(), before);
}
