//! Object ids. Observables get the deterministic ids the STIX 2.1
//! specification gives cyber-observable objects (UUIDv5 in the STIX
//! namespace over the canonical JSON of their id-contributing properties),
//! so they equal what any other STIX producer computes for the same value.
//! Everything else gets a UUID derived from the envelope (or team) it
//! stands for, shaped as version 4: the same export gives the same ids.

use uuid::Uuid;

/// The namespace STIX 2.1 (section 2.9) gives cyber-observable ids.
pub const STIX_SCO_NAMESPACE: Uuid = uuid::uuid!("00abedb4-aa42-466c-9c01-fed23315a9b7");

/// A version-4-shaped UUID derived from `what` and `bytes` (an envelope or
/// team id): stable across exports, distinct per kind of object.
pub fn derived(what: &str, bytes: &[u8]) -> Uuid {
    let mut h = blake3::Hasher::new_derive_key("csirtmesh/v1/interop-id");
    h.update(what.as_bytes());
    h.update(&[0]);
    h.update(bytes);
    let mut b = [0u8; 16];
    b.copy_from_slice(&h.finalize().as_bytes()[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid()
}

/// A UUID's usual text form (`6a1b2c3d-4e5f-...`).
pub fn uuid_text(b: &[u8; 16]) -> String {
    Uuid::from_bytes(*b).to_string()
}

/// `<type>--<uuid>`.
pub fn stix_id(kind: &str, uuid: Uuid) -> String {
    format!("{kind}--{uuid}")
}

/// A cyber-observable's id from its id-contributing properties (a JSON
/// object; serde_json writes it with sorted keys and no spaces, which is
/// its RFC 8785 canonical form for these values).
pub fn sco_id(kind: &str, contributing: &serde_json::Value) -> String {
    let canonical = contributing.to_string();
    stix_id(
        kind,
        Uuid::new_v5(&STIX_SCO_NAMESPACE, canonical.as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Test vectors computed by the `stix2` library (3.0.2), the OASIS
    /// reference implementation; `tests/tools.rs` checks more against it.
    #[test]
    fn observable_ids_equal_the_stix2_librarys() {
        for (kind, props, id) in [
            (
                "ipv4-addr",
                json!({"value": "198.51.100.7"}),
                "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db",
            ),
            (
                "ipv6-addr",
                json!({"value": "2001:db8::/32"}),
                "ipv6-addr--8da31feb-e0f9-54c3-ab30-bd8ccea361dd",
            ),
            (
                "domain-name",
                json!({"value": "evil.example"}),
                "domain-name--69228563-c8d2-54ae-aeca-5f4134cb59aa",
            ),
            (
                "url",
                json!({"value": "http://evil.example/x"}),
                "url--ed0e5172-090c-522b-81f3-305844d81e08",
            ),
            (
                "email-addr",
                json!({"value": "a@evil.example"}),
                "email-addr--a445a72b-98c7-54c6-bd01-0971c2333fd7",
            ),
            (
                "autonomous-system",
                json!({"number": 64500}),
                "autonomous-system--0a5f7072-df00-5729-9f0a-4eb18631a446",
            ),
            (
                "file",
                json!({"hashes": {"SHA-256": "a".repeat(64)}}),
                "file--75cb38d5-2055-5354-b75a-8299a2d670b5",
            ),
            (
                "file",
                json!({"hashes": {"MD5": "d41d8cd98f00b204e9800998ecf8427e"}}),
                "file--02fff920-f614-527c-81d1-6353633a6d21",
            ),
        ] {
            assert_eq!(sco_id(kind, &props), id, "{props}");
        }
    }

    #[test]
    fn derived_ids_are_stable_version_4_and_distinct_per_kind() {
        let a = derived("incident", &[1; 32]);
        assert_eq!(a, derived("incident", &[1; 32]));
        assert_ne!(a, derived("note", &[1; 32]));
        assert_eq!(a.get_version_num(), 4);
    }
}
