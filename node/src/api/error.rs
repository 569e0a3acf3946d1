//! What an API call can fail with, and the HTTP status each failure maps to.
//!
//! Every failure carries its cause. Bad input is the caller's (4xx); the
//! node's own faults (disk, database, keys) are 500; a network that is
//! stopping or full is 503. Every error body is `{"error": "..."}`, also
//! for malformed JSON, wrong content types and unknown routes.

use axum::{
    Json,
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::types::ErrorView;

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong; the message says how (400).
    #[error("{0}")]
    BadRequest(String),
    /// The request is well formed but this team may not do it (403): not a
    /// member, not the author, not a participant.
    #[error("{0}")]
    Forbidden(String),
    /// The thing asked for does not exist here (404).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (409): already a
    /// member, already answered.
    #[error("{0}")]
    Conflict(String),
    /// The body could not be read as the JSON the route takes; the status
    /// is the one the extractor chose (400, 413, 415, 422).
    #[error("{message}")]
    Body {
        /// The status.
        status: StatusCode,
        /// What was wrong with the body.
        message: String,
    },
    /// The database failed (500).
    #[error("the node's database failed: {0}")]
    Store(#[from] store::Error),
    /// Signing or sealing failed (500).
    #[error("the node could not sign or seal: {0}")]
    Seal(#[from] seal::Error),
    /// A stored or own value does not encode or decode (500).
    #[error("the node's data is inconsistent: {0}")]
    Proto(#[from] proto::Error),
    /// A file in the data directory could not be written (500).
    #[error("{what}: {source}")]
    Io {
        /// What the node was doing.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Another fault of the node's own, with its chain of causes (500).
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
    /// The network refused a command (503 while stopping or busy, 400 for a
    /// dial of an address that cannot be dialled).
    #[error("network: {0}")]
    Network(#[from] net::Error),
    /// The node's loop is stopping, or did not answer in time (503).
    #[error("{0}")]
    Unavailable(&'static str),
}

impl ApiError {
    /// The HTTP status for this failure.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Body { status, .. } => *status,
            ApiError::Store(_)
            | ApiError::Seal(_)
            | ApiError::Proto(_)
            | ApiError::Io { .. }
            | ApiError::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
            // A dial fails at once only on the address given (malformed,
            // blocked, our own).
            ApiError::Network(net::Error::Dial { .. }) => StatusCode::BAD_REQUEST,
            ApiError::Network(_) | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "admin API call failed");
        }
        error_response(status, self.to_string())
    }
}

/// The README's error body with a status.
pub fn error_response(status: StatusCode, error: String) -> Response {
    (status, Json(ErrorView { error })).into_response()
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        // A body cut off by the body timeout is the client's slowness (408),
        // which axum reports as a body that failed to buffer (400).
        let status = if caused_by_body_timeout(&r) {
            StatusCode::REQUEST_TIMEOUT
        } else {
            r.status()
        };
        ApiError::Body {
            status,
            message: r.body_text(),
        }
    }
}

/// Whether the body timeout is among an error's causes.
fn caused_by_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::Body {
            status: r.status(),
            message: r.body_text(),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::Body {
            status: r.status(),
            message: r.body_text(),
        }
    }
}
