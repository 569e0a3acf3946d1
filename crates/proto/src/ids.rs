//! Identifiers: 32-byte values shown as lowercase hex.
//!
//! A [`TeamId`] is the team's ed25519 public signing key; an [`EnvelopeId`] is
//! the BLAKE3 hash of an envelope's wire bytes; a [`MeshId`] is the BLAKE3
//! hash of the canonical encoding of the charter; a [`KeyId`] names a GREEN
//! sender key (BLAKE3 of its public age recipient).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::Error;

macro_rules! id32 {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// The first 8 hex digits, for logs and tables.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }

            /// Builds the id from a byte slice of exactly 32 bytes.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
                let arr: [u8; 32] = bytes.try_into().map_err(|_| Error::Invalid {
                    field: $what,
                    reason: format!("expected 32 bytes, got {}", bytes.len()),
                })?;
                Ok(Self(arr))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                let bytes = hex::decode(s.trim()).map_err(|e| Error::Parse {
                    what: $what,
                    input: s.to_owned(),
                    reason: format!("{e} (expected 64 hex digits)"),
                })?;
                Self::from_slice(&bytes).map_err(|_| Error::Parse {
                    what: $what,
                    input: s.to_owned(),
                    reason: "expected 64 hex digits".into(),
                })
            }
        }
    };
}

id32!(
    /// A team: its ed25519 public signing key.
    TeamId,
    "team id"
);
id32!(
    /// An envelope: BLAKE3 of its wire bytes.
    EnvelopeId,
    "envelope id"
);
id32!(
    /// A mesh: BLAKE3 of its charter's canonical encoding.
    MeshId,
    "mesh id"
);
id32!(
    /// A GREEN sender key: BLAKE3 of its public age recipient string.
    KeyId,
    "key id"
);

impl EnvelopeId {
    /// The id of some wire bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }
}

impl KeyId {
    /// The id of a sender key, from its public age recipient string.
    pub fn of_recipient(recipient: &str) -> Self {
        Self(*blake3::hash(recipient.as_bytes()).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_clear_errors() {
        let id = TeamId([7; 32]);
        assert_eq!(id.to_string().parse::<TeamId>().unwrap(), id);
        let err = "xyz".parse::<TeamId>().unwrap_err().to_string();
        assert!(err.contains("team id"), "{err}");
        assert!("abcd".parse::<EnvelopeId>().is_err());
    }
}
