//! The one error type of `proto`: what was wrong with some bytes or some text.

/// Why bytes or text could not become a protocol value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is larger than the limit for its kind; nothing was allocated.
    #[error("{what} is {size} bytes, above the limit of {limit} bytes")]
    TooLarge {
        /// What was being decoded.
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit it exceeded.
        limit: usize,
    },
    /// The envelope declares a format version this build does not speak.
    #[error(
        "unsupported envelope format version {found} (this node speaks version {supported}); upgrade the node that has to read it"
    )]
    UnsupportedVersion {
        /// The version found in the input.
        found: u16,
        /// The version this build speaks.
        supported: u16,
    },
    /// bincode could not decode the input.
    #[error("cannot decode {what}: {source}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's complaint.
        #[source]
        source: bincode::error::DecodeError,
    },
    /// bincode could not encode a value (only happens past the size limit).
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's complaint.
        #[source]
        source: bincode::error::EncodeError,
    },
    /// Bytes were left over after a complete value.
    #[error("{what} has {extra} trailing bytes after a complete value")]
    TrailingBytes {
        /// What was being decoded.
        what: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
    /// The input decodes, but is not the one canonical encoding of its value,
    /// which would give one value two content addresses.
    #[error("{what} is not canonically encoded")]
    NotCanonical {
        /// What was being decoded.
        what: &'static str,
    },
    /// A field holds a value outside its allowed range.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field that is wrong.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Text did not parse as the expected value.
    #[error("cannot parse {what} from {input:?}: {reason}")]
    Parse {
        /// What was expected.
        what: &'static str,
        /// The input, for the operator to see.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
}
