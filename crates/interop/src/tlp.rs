//! TLP markings as STIX and MISP spell them.

use proto::Tlp;

/// The TLP 2.0 marking definitions' official STIX ids.
pub fn stix_marking(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// The label a STIX marking id stands for: the TLP 2.0 ids, and the TLP
/// 1.0 ids STIX 2.1 itself defines (WHITE reads as CLEAR).
pub fn from_stix_marking(id: &str) -> Option<Tlp> {
    Some(match id {
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
        | "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9" => Tlp::Clear,
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
        | "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da" => Tlp::Green,
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
        | "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82" => Tlp::Amber,
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003" => Tlp::AmberStrict,
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
        | "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed" => Tlp::Red,
        _ => return None,
    })
}

/// The label's name in the TLP 2.0 taxonomy (`tlp:amber+strict`).
pub fn tag(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "tlp:clear",
        Tlp::Green => "tlp:green",
        Tlp::Amber => "tlp:amber",
        Tlp::AmberStrict => "tlp:amber+strict",
        Tlp::Red => "tlp:red",
    }
}

/// The label a `tlp:*` tag (or a `TLP:AMBER` marking name) stands for;
/// `tlp:white` reads as CLEAR.
pub fn from_tag(tag: &str) -> Option<Tlp> {
    Some(match tag.trim().to_ascii_lowercase().as_str() {
        "tlp:clear" | "tlp:white" => Tlp::Clear,
        "tlp:green" => Tlp::Green,
        "tlp:amber" => Tlp::Amber,
        "tlp:amber+strict" => Tlp::AmberStrict,
        "tlp:red" => Tlp::Red,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_reads_back_from_its_marking_and_its_tag() {
        for t in [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ] {
            assert_eq!(from_stix_marking(stix_marking(t)), Some(t));
            assert_eq!(from_tag(tag(t)), Some(t));
        }
        assert_eq!(from_tag("TLP:WHITE"), Some(Tlp::Clear));
        assert_eq!(from_tag("tlp:ex:chr"), None);
        assert_eq!(
            from_stix_marking("marking-definition--00000000-0000-4000-8000-000000000000"),
            None
        );
    }
}
