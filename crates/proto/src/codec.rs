//! The one codec: bincode 2 in one fixed configuration, bounded and canonical.
//!
//! bincode allocates from length prefixes and has no limit by default, so every
//! decode here checks the input length first and runs with a byte limit; it
//! refuses trailing bytes; and it re-encodes the decoded value to check that the
//! input was the canonical encoding (varints have more than one spelling), so
//! that a content-addressed id names exactly one byte string.
//!
//! bincode is unmaintained upstream (RUSTSEC-2025-0141): keep every use of it
//! behind this pair of functions so it can be swapped.

use serde::{Serialize, de::DeserializeOwned};

use crate::Error;

/// The decoder's byte limit: the allocation ceiling inside bincode, which
/// checks every length prefix against it before allocating. Inputs are also
/// checked against their own, smaller limit before decoding starts.
const LIMIT: usize = crate::sync::MAX_SYNC_BYTES;

fn config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<LIMIT>,
> {
    bincode::config::standard().with_limit::<LIMIT>()
}

/// Encodes a protocol value.
pub fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, Error> {
    bincode::serde::encode_to_vec(value, config()).map_err(|source| Error::Encode { what, source })
}

/// Decodes a protocol value from exactly `bytes`: at most `limit` bytes, no
/// trailing bytes, canonical encoding only.
pub fn decode<T: Serialize + DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
    limit: usize,
) -> Result<T, Error> {
    let (value, used) = decode_prefix::<T>(what, bytes, limit)?;
    if used != bytes.len() {
        return Err(Error::TrailingBytes {
            what,
            extra: bytes.len() - used,
        });
    }
    let again = encode(what, &value)?;
    if again != bytes {
        return Err(Error::NotCanonical { what });
    }
    Ok(value)
}

/// Decodes one value from the start of `bytes` and says how many bytes it used.
pub(crate) fn decode_prefix<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
    limit: usize,
) -> Result<(T, usize), Error> {
    let limit = limit.min(LIMIT);
    if bytes.len() > limit {
        return Err(Error::TooLarge {
            what,
            size: bytes.len(),
            limit,
        });
    }
    bincode::serde::decode_from_slice(bytes, config())
        .map_err(|source| Error::Decode { what, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_trailing_bytes() {
        let mut bytes = encode("n", &7u32).unwrap();
        bytes.push(0);
        assert!(matches!(
            decode::<u32>("n", &bytes, 16),
            Err(Error::TrailingBytes { extra: 1, .. })
        ));
    }

    #[test]
    fn refuses_non_canonical_varint() {
        // 7 spelled as a 3-byte varint (marker 251 then u16) instead of one byte.
        let bytes = [251u8, 7, 0];
        assert!(matches!(
            decode::<u32>("n", &bytes, 16),
            Err(Error::NotCanonical { .. })
        ));
    }

    #[test]
    fn refuses_oversized_input_before_decoding() {
        let bytes = vec![0u8; 100];
        assert!(matches!(
            decode::<Vec<u8>>("blob", &bytes, 50),
            Err(Error::TooLarge {
                size: 100,
                limit: 50,
                ..
            })
        ));
    }

    #[test]
    fn huge_length_prefix_does_not_allocate() {
        // A Vec<u8> claiming u64::MAX elements in a 9-byte input.
        let mut bytes = vec![253u8];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            decode::<Vec<u8>>("blob", &bytes, 1024),
            Err(Error::Decode { .. })
        ));
    }
}
