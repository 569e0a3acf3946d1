//! The local admin API: HTTP/JSON on loopback, bearer token from the data
//! directory. Handlers do no work of their own: each sends an [`ApiRequest`]
//! to the node's loop and waits (bounded) for its reply.

pub mod client;
pub mod metrics;
pub mod types;

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, Result};
use axum::{
    Json, Router,
    extract::{Path, Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::node::{ApiError, ApiRequest};
use types::*;

/// How long a handler waits for the node's loop. A publish waits for an
/// fsync and, for GREEN, perhaps a key share: seconds at worst.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct AppState {
    node: mpsc::Sender<ApiRequest>,
    token: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, msg) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
        };
        (code, Json(ErrorView { error: msg })).into_response()
    }
}

async fn ask<T: Serialize>(
    state: &AppState,
    make: impl FnOnce(oneshot::Sender<Result<T, ApiError>>) -> ApiRequest,
) -> Result<Json<T>, ApiError> {
    let (tx, rx) = oneshot::channel();
    state
        .node
        .send(make(tx))
        .await
        .map_err(|_| ApiError::Internal("the node is shutting down".into()))?;
    match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
        Ok(Ok(r)) => r.map(Json),
        Ok(Err(_)) => Err(ApiError::Internal("the node is shutting down".into())),
        Err(_) => Err(ApiError::Internal("the node did not answer in time".into())),
    }
}

async fn auth(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ok = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| constant_time_eq(t.as_bytes(), state.token.as_bytes()));
    if ok {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(ErrorView {
                error: "missing or wrong bearer token (it is in the data directory's api.token)"
                    .into(),
            }),
        )
            .into_response()
    }
}

/// `GET /v1/directory?q=...&country=...`.
#[derive(serde::Deserialize)]
struct LookupQuery {
    q: String,
    country: Option<String>,
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/status", get(|State(s): State<AppState>| async move { ask(&s, ApiRequest::Status).await }))
        .route(
            "/metrics",
            get(|State(s): State<AppState>| async move {
                let Json(status) = ask(&s, ApiRequest::Status).await?;
                let text = metrics::render(&status).map_err(|e| ApiError::Internal(e.to_string()))?;
                Ok::<_, ApiError>(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
            }),
        )
        .route(
            "/v1/incidents",
            get(|State(s): State<AppState>| async move { ask(&s, ApiRequest::Incidents).await }).post(
                |State(s): State<AppState>, Json(b): Json<NewIncident>| async move {
                    ask(&s, |r| ApiRequest::Open(b, r)).await
                },
            ),
        )
        .route(
            "/v1/incidents/{id}",
            get(|State(s): State<AppState>, Path(id): Path<String>| async move {
                ask(&s, |r| ApiRequest::Incident(id, r)).await
            }),
        )
        .route(
            "/v1/incidents/{id}/comments",
            post(
                |State(s): State<AppState>, Path(id): Path<String>, Json(b): Json<NewComment>| async move {
                    ask(&s, |r| ApiRequest::Comment(id, b, r)).await
                },
            ),
        )
        .route(
            "/v1/incidents/{id}/status",
            post(
                |State(s): State<AppState>, Path(id): Path<String>, Json(b): Json<NewStatus>| async move {
                    ask(&s, |r| ApiRequest::SetStatus(id, b, r)).await
                },
            ),
        )
        .route("/v1/members", get(|State(s): State<AppState>| async move { ask(&s, ApiRequest::Members).await }))
        .route("/v1/join", post(|State(s): State<AppState>| async move { ask(&s, ApiRequest::Join).await }))
        .route(
            "/v1/reports",
            post(|State(s): State<AppState>, Json(b): Json<NewReport>| async move {
                ask(&s, |r| ApiRequest::Report(b, r)).await
            }),
        )
        .route(
            "/v1/directory",
            get(
                |State(s): State<AppState>, axum::extract::Query(q): axum::extract::Query<LookupQuery>| async move {
                    ask(&s, |r| ApiRequest::Lookup(q.q, q.country, r)).await
                },
            ),
        )
        .route(
            "/v1/incidents/{id}/steps",
            post(
                |State(s): State<AppState>, Path(id): Path<String>, Json(b): Json<IncidentStep>| async move {
                    ask(&s, |r| ApiRequest::Step(id, b, r)).await
                },
            ),
        )
        .route(
            "/v1/envelopes/{id}/retract",
            post(
                |State(s): State<AppState>, Path(id): Path<String>, Json(b): Json<NewRetraction>| async move {
                    ask(&s, |r| ApiRequest::Retract(id, b, r)).await
                },
            ),
        )
        .route(
            "/v1/peers",
            post(|State(s): State<AppState>, Json(b): Json<PeerBlock>| async move {
                ask(&s, |r| ApiRequest::Peers(b, r)).await
            }),
        )
        .route(
            "/v1/rotate-key",
            post(|State(s): State<AppState>| async move { ask(&s, ApiRequest::RotateKey).await }),
        )
        .route(
            "/v1/membership",
            post(|State(s): State<AppState>, Json(b): Json<MembershipRequest>| async move {
                ask(&s, |r| ApiRequest::Act(b, r)).await
            }),
        )
        .route(
            "/v1/envelopes",
            get(|State(s): State<AppState>| async move { ask(&s, ApiRequest::Envelopes).await }),
        )
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        // Requests are small JSON; refuse large bodies before parsing.
        .layer(axum::extract::DefaultBodyLimit::max(512 * 1024))
        .with_state(state)
}

/// Binds the API, returning its real address and the server future.
pub async fn bind(
    addr: SocketAddr,
    token: String,
    node: mpsc::Sender<ApiRequest>,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, impl std::future::Future<Output = Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot bind the admin API on {addr}"))?;
    let local = listener.local_addr()?;
    let app = router(AppState { node, token });
    let serve = async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .context("admin API failed")
    };
    Ok((local, serve))
}
