//! Every label and every indicator kind, exported and checked by tools this
//! project did not write: the OASIS STIX validator (strict), the stix2
//! library's observable ids, misp-stix, pymisp and xarf
//! (`crates/interop/tools/check.py`, in the environment `scripts/interop-venv`
//! makes).

use proto::Tlp;

use crate::{
    Export, misp, stix,
    tests::{incident, profile},
    xarf,
};

#[test]
fn every_label_and_indicator_kind_passes_the_tools_others_wrote() {
    let a = proto::TeamId([0xa1; 32]);
    let b = proto::TeamId([0xb2; 32]);
    let mut incidents = Vec::new();
    for (n, tlp) in [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ]
    .into_iter()
    .enumerate()
    {
        let mut i = incident(n as u8 + 1, tlp);
        if n % 2 == 0 {
            i.report = Some((
                [
                    "198.51.100.7",
                    "https://evil.example/login",
                    "2001:db8::/32",
                ][n / 2]
                    .into(),
                "routed".into(),
            ));
        }
        incidents.push(i);
    }
    incidents[1].source = Some(
        *uuid::Uuid::parse_str("6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d")
            .unwrap()
            .as_bytes(),
    );
    let teams = [(a, profile(a, "CERT A")), (b, profile(b, "CSIRT B"))].into();
    let x = Export {
        exporter: a,
        incidents: &incidents,
        teams: &teams,
    };
    assert_eq!(xarf::export(&x).len(), 3);
    testkit::check_documents_with_interop_tools(&[
        ("all.stix.json", stix::export(&x).to_string()),
        ("all.misp.json", misp::export(&x).to_string()),
        ("all.xarf.json", xarf::to_lines(&xarf::export(&x))),
    ]);
}
