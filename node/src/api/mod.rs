//! The local admin API: HTTP/JSON on loopback, bearer token from the data
//! directory. Handlers do no work of their own: each sends an [`ApiRequest`]
//! to the node's loop and waits (bounded) for its reply.

pub mod client;
mod error;
pub mod metrics;
pub mod request;
pub mod types;
pub mod views;

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, Result};
use axum::{
    Router,
    extract::{FromRequest, FromRequestParts, Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
pub use error::{ApiError, error_response};
pub use request::ApiRequest;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use types::*;

/// How long a handler waits for the node's loop. A publish waits for an
/// fsync and, for GREEN, perhaps a key share: seconds at worst.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a request body may take to arrive; past it the request is cut
/// off with 408, so a client that never finishes holds nothing for long.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request body: requests are small JSON.
const MAX_BODY_BYTES: usize = 512 * 1024;

#[derive(Clone)]
struct AppState {
    node: mpsc::Sender<ApiRequest>,
    token: String,
    /// On the metrics-only listener (no token): the last status and when
    /// it was asked, so that however many scrapes arrive, the node's loop
    /// is asked at most once per [`METRICS_MAX_AGE`].
    metrics_cache: Option<MetricsCache>,
}

/// The metrics-only listener's last status and when it was asked.
type MetricsCache = std::sync::Arc<tokio::sync::Mutex<Option<(std::time::Instant, StatusView)>>>;

/// How old the metrics-only listener's status may be.
const METRICS_MAX_AGE: Duration = Duration::from_secs(5);

/// JSON in a request body; a body that is not the route's JSON fails with
/// the README's error body and the extractor's status (400, 413, 415, 422).
struct Body<T>(T);

impl<T, S> FromRequest<S> for Body<T>
where
    axum::Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Body(v))
    }
}

/// An axum extractor of request parts whose rejection becomes the README's
/// error body (with the extractor's status).
macro_rules! json_rejection {
    ($(#[$doc:meta])* $name:ident, $inner:path, $rejection:path) => {
        $(#[$doc])*
        struct $name<T>(T);

        impl<T, S> FromRequestParts<S> for $name<T>
        where
            $inner: FromRequestParts<S, Rejection = $rejection>,
            S: Send + Sync,
        {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &S,
            ) -> Result<Self, ApiError> {
                let v = <$inner>::from_request_parts(parts, state).await?;
                Ok($name(v.0))
            }
        }
    };
}

json_rejection!(
    /// A path parameter.
    Path,
    axum::extract::Path<T>,
    axum::extract::rejection::PathRejection
);
json_rejection!(
    /// A query string.
    Query,
    axum::extract::Query<T>,
    axum::extract::rejection::QueryRejection
);

/// Sends a request to the node's loop and waits (bounded) for its answer.
async fn ask<T: Serialize>(
    state: &AppState,
    make: impl FnOnce(oneshot::Sender<Result<T, ApiError>>) -> ApiRequest,
) -> Result<axum::Json<T>, ApiError> {
    let (tx, rx) = oneshot::channel();
    state
        .node
        .send(make(tx))
        .await
        .map_err(|_| ApiError::Unavailable("the node is shutting down"))?;
    match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
        Ok(Ok(r)) => r.map(axum::Json),
        Ok(Err(_)) => Err(ApiError::Unavailable("the node is shutting down")),
        Err(_) => Err(ApiError::Unavailable("the node did not answer in time")),
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
            axum::Json(ErrorView {
                error: "missing or wrong bearer token (it is in the data directory's api.token)"
                    .into(),
            }),
        )
            .into_response()
    }
}

/// Rewrites error answers that did not come from our handlers (a body cut
/// off by its timeout, a body over the size limit read by axum, a URI too
/// long) into the README's JSON error body.
async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let status = resp.status();
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let text = match axum::body::to_bytes(resp.into_body(), 4096).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned(),
    };
    error_response(status, text)
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
        .route("/metrics", get(|State(s): State<AppState>, h: axum::http::HeaderMap| metrics(s, h)))
        .route(
            "/v1/incidents",
            get(|State(s): State<AppState>| async move { ask(&s, ApiRequest::Incidents).await }).post(
                |State(s): State<AppState>, Body(b): Body<NewIncident>| async move {
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
                |State(s): State<AppState>, Path(id): Path<String>, Body(b): Body<NewComment>| async move {
                    ask(&s, |r| ApiRequest::Comment(id, b, r)).await
                },
            ),
        )
        .route(
            "/v1/incidents/{id}/status",
            post(
                |State(s): State<AppState>, Path(id): Path<String>, Body(b): Body<NewStatus>| async move {
                    ask(&s, |r| ApiRequest::SetStatus(id, b, r)).await
                },
            ),
        )
        .route("/v1/members", get(|State(s): State<AppState>| async move { ask(&s, ApiRequest::Members).await }))
        .route("/v1/join", post(|State(s): State<AppState>| async move { ask(&s, ApiRequest::Join).await }))
        .route(
            "/v1/reports",
            post(|State(s): State<AppState>, Body(b): Body<NewReport>| async move {
                ask(&s, |r| ApiRequest::Report(b, r)).await
            }),
        )
        .route(
            "/v1/directory",
            get(
                |State(s): State<AppState>, Query(q): Query<LookupQuery>| async move {
                    ask(&s, |r| ApiRequest::Lookup(q.q, q.country, r)).await
                },
            ),
        )
        .route(
            "/v1/incidents/{id}/steps",
            post(
                |State(s): State<AppState>, Path(id): Path<String>, Body(b): Body<IncidentStep>| async move {
                    ask(&s, |r| ApiRequest::Step(id, b, r)).await
                },
            ),
        )
        .route(
            "/v1/envelopes/{id}/retract",
            post(
                |State(s): State<AppState>, Path(id): Path<String>, Body(b): Body<NewRetraction>| async move {
                    ask(&s, |r| ApiRequest::Retract(id, b, r)).await
                },
            ),
        )
        .route(
            "/v1/peers",
            post(|State(s): State<AppState>, Body(b): Body<PeerBlock>| async move {
                ask(&s, |r| ApiRequest::Peers(b, r)).await
            }),
        )
        .route(
            "/v1/rotate-key",
            post(|State(s): State<AppState>, Body(b): Body<RotateKeyRequest>| async move {
                ask(&s, |r| ApiRequest::RotateKey(b, r)).await
            }),
        )
        .route(
            "/v1/check",
            post(|State(s): State<AppState>| async move { ask(&s, ApiRequest::Check).await }),
        )
        .route(
            "/v1/membership",
            post(|State(s): State<AppState>, Body(b): Body<MembershipRequest>| async move {
                ask(&s, |r| ApiRequest::Act(b, r)).await
            }),
        )
        .route(
            "/v1/envelopes",
            get(|State(s): State<AppState>| async move { ask(&s, ApiRequest::Envelopes).await }),
        )
        .route(
            "/v1/export",
            get(|State(s): State<AppState>, Query(q): Query<ExportQuery>| async move {
                ask(&s, |r| ApiRequest::Export(q, r)).await
            }),
        )
        .route(
            "/v1/import",
            post(import)
                // A MISP dump or a STIX bundle is larger than any command.
                .layer(axum::extract::DefaultBodyLimit::max(interop::import::MAX_IMPORT_BYTES)),
        )
        .route(
            "/v1/profile",
            axum::routing::put(
                |State(s): State<AppState>, Body(b): Body<proto::rfc2350::TeamDetails>| async move {
                    ask(&s, |r| ApiRequest::Profile(b, r)).await
                },
            ),
        )
        .fallback(|| async {
            error_response(StatusCode::NOT_FOUND, "no such API route (see the README's API section)".into())
        })
        .method_not_allowed_fallback(|| async {
            error_response(StatusCode::METHOD_NOT_ALLOWED, "this route does not take that method".into())
        })
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        // Refuse large bodies before parsing, and bodies that do not arrive.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(BODY_TIMEOUT))
        .layer(middleware::from_fn(json_errors))
        .with_state(state)
}

/// `POST /v1/import`: the file is parsed and checked whole here, off the
/// node's loop (a hostile file costs this request, not the node), and only
/// a file with nothing wrong in it reaches the loop.
async fn import(
    State(s): State<AppState>,
    Query(q): Query<ImportQuery>,
    body: axum::body::Bytes,
) -> Result<axum::Json<ImportView>, ApiError> {
    let unmarked = q.tlp.map(|l| l.0);
    let parsed = tokio::task::spawn_blocking(move || interop::import::parse(&body, unmarked))
        .await
        .map_err(|e| ApiError::Other(e.into()))?
        .map_err(|e| ApiError::BadRequest(format!("nothing imported: {e}")))?;
    ask(&s, |r| ApiRequest::Import(parsed, q, r)).await
}

/// The metrics-only listener: `GET /metrics` without a token, nothing else
/// (it may listen beyond loopback, for a Prometheus elsewhere; it can read
/// what the metrics say and change nothing).
fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(s): State<AppState>, h: axum::http::HeaderMap| metrics(s, h)),
        )
        .layer(middleware::from_fn(json_errors))
        .with_state(state)
}

/// OpenMetrics for a scraper that asks for it (Prometheus does), the
/// classic text format otherwise.
async fn metrics(
    s: AppState,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let status = match &s.metrics_cache {
        None => ask(&s, ApiRequest::Status).await?.0,
        Some(cache) => {
            // One scrape at a time asks the loop; the others wait and take
            // its answer.
            let mut cached = cache.lock().await;
            match cached.as_ref() {
                Some((at, status)) if at.elapsed() < METRICS_MAX_AGE => status.clone(),
                _ => {
                    let status = ask(&s, ApiRequest::Status).await?.0;
                    *cached = Some((std::time::Instant::now(), status.clone()));
                    status
                }
            }
        }
    };
    let text = metrics::render(&status).map_err(|e| ApiError::Other(e.into()))?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    Ok(if metrics::wants_openmetrics(accept) {
        ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text)
    } else {
        (
            [(header::CONTENT_TYPE, metrics::TEXT_CONTENT_TYPE)],
            metrics::to_prometheus_text(&text),
        )
    })
}

/// Binds the metrics-only listener, returning its real address and the
/// server future.
pub async fn bind_metrics(
    addr: SocketAddr,
    node: mpsc::Sender<ApiRequest>,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, impl std::future::Future<Output = Result<()>>)> {
    let app = metrics_router(AppState {
        node,
        token: String::new(),
        metrics_cache: Some(Default::default()),
    });
    serve_on(addr, app, "the metrics listener", shutdown).await
}

/// Binds the API, returning its real address and the server future.
pub async fn bind(
    addr: SocketAddr,
    token: String,
    node: mpsc::Sender<ApiRequest>,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, impl std::future::Future<Output = Result<()>>)> {
    let app = router(AppState {
        node,
        token,
        metrics_cache: None,
    });
    serve_on(addr, app, "the admin API", shutdown).await
}

/// Binds `app` (named `what` in errors) on `addr`: its real address, and
/// the server future, which ends at `shutdown`.
async fn serve_on(
    addr: SocketAddr,
    app: Router,
    what: &'static str,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, impl std::future::Future<Output = Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot bind {what} on {addr}"))?;
    let local = listener.local_addr()?;
    let serve = async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .with_context(|| format!("{what} failed"))
    };
    Ok((local, serve))
}

#[cfg(test)]
mod tests;
