//! Traffic Light Protocol 2.0 labels (FIRST).
//!
//! The label travels with an incident and every reply in its thread; a reply
//! can keep it or narrow it, never widen it ([`Tlp::may_follow`]).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::Error;

/// A TLP 2.0 label, ordered from widest to narrowest audience.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tlp {
    /// No limit on disclosure. Signed, not encrypted.
    Clear,
    /// The community: every current member, through GREEN sender keys.
    Green,
    /// Recipients' organisations and their clients, need to know.
    Amber,
    /// Recipients' organisations only.
    AmberStrict,
    /// Named recipients only.
    Red,
}

impl Tlp {
    /// All labels, widest first.
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The label as FIRST writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "CLEAR",
            Tlp::Green => "GREEN",
            Tlp::Amber => "AMBER",
            Tlp::AmberStrict => "AMBER+STRICT",
            Tlp::Red => "RED",
        }
    }

    /// Whether a reply labelled `self` may follow a message labelled `earlier`
    /// in the same thread: the label may stay or narrow, never widen.
    pub fn may_follow(self, earlier: Tlp) -> bool {
        self >= earlier
    }

    /// Whether content under this label is encrypted to named teams (as
    /// opposed to everyone, CLEAR, or every member, GREEN).
    pub fn is_named_recipients(self) -> bool {
        self >= Tlp::Amber
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tlp {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let norm = s.trim().to_ascii_uppercase().replace(['-', '_'], "+");
        let norm = norm.strip_prefix("TLP:").unwrap_or(&norm);
        Ok(match norm {
            "CLEAR" | "WHITE" => Tlp::Clear,
            "GREEN" => Tlp::Green,
            "AMBER" => Tlp::Amber,
            "AMBER+STRICT" => Tlp::AmberStrict,
            "RED" => Tlp::Red,
            _ => {
                return Err(Error::Parse {
                    what: "TLP label",
                    input: s.to_owned(),
                    reason: "expected one of clear, green, amber, amber+strict, red".into(),
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_every_label() {
        for tlp in Tlp::ALL {
            assert_eq!(tlp.as_str().parse::<Tlp>().unwrap(), tlp);
        }
        assert_eq!("amber-strict".parse::<Tlp>().unwrap(), Tlp::AmberStrict);
        assert_eq!("TLP:RED".parse::<Tlp>().unwrap(), Tlp::Red);
        assert!("purple".parse::<Tlp>().is_err());
    }

    #[test]
    fn replies_may_only_narrow() {
        assert!(Tlp::Red.may_follow(Tlp::Amber));
        assert!(Tlp::Amber.may_follow(Tlp::Amber));
        assert!(!Tlp::Green.may_follow(Tlp::Amber));
    }
}
