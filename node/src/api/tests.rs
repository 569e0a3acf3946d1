//! The admin API's edge: every failure is the README's JSON error body with
//! the right status, whether the node or axum's extractors refused it.

use std::net::SocketAddr;

use reqwest::StatusCode;
use serde_json::Value;

use super::*;

const TOKEN: &str = "test-token";

/// An API bound on loopback whose "node" answers every request with
/// `answer`, and the address.
async fn api(answer: fn() -> ApiError) -> (SocketAddr, CancellationToken) {
    let (tx, mut rx) = mpsc::channel::<ApiRequest>(4);
    let shutdown = CancellationToken::new();
    let (addr, serve) = bind(
        "127.0.0.1:0".parse().unwrap(),
        TOKEN.into(),
        tx,
        shutdown.clone(),
    )
    .await
    .unwrap();
    tokio::spawn(serve);
    tokio::spawn(async move {
        while let Some(r) = rx.recv().await {
            if let ApiRequest::Open(_, reply) = r {
                let _ = reply.send(Err(answer()));
            }
        }
    });
    (addr, shutdown)
}

async fn post(addr: SocketAddr, path: &str, content_type: &str, body: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .bearer_auth(TOKEN)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.expect("a JSON error body");
    (status, body)
}

fn error_text(v: &Value) -> &str {
    v["error"].as_str().expect("{\"error\": ...}")
}

#[tokio::test]
async fn every_refusal_is_json_with_its_status() {
    let (addr, shutdown) = api(|| ApiError::Forbidden("not a member".into())).await;
    let json = "application/json";

    // Malformed JSON: 400.
    let (s, v) = post(addr, "/v1/incidents", json, "{not json").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(!error_text(&v).is_empty());

    // Wrong content type: 415.
    let (s, v) = post(addr, "/v1/incidents", "text/plain", "{}").await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    assert!(error_text(&v).contains("Content-Type"), "{v}");

    // An unknown label: 422, naming the valid ones.
    let body = r#"{"title":"t","tlp":"purple","to":[]}"#;
    let (s, v) = post(addr, "/v1/incidents", json, body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_text(&v).contains("amber+strict"), "{v}");

    // An unknown step action: 422, naming the valid ones.
    let body = r#"{"action":"forward"}"#;
    let (s, v) = post(addr, "/v1/incidents/abcdef12/steps", json, body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_text(&v).contains("handoff"), "{v}");

    // A refusal by the node keeps its own status.
    let body = r#"{"title":"t","tlp":"TLP:CLEAR","to":[]}"#;
    let (s, v) = post(addr, "/v1/incidents", json, body).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(error_text(&v), "not a member");

    // An unknown route and a wrong method.
    let (s, v) = post(addr, "/v1/nothing-here", json, "{}").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(error_text(&v).contains("no such API route"));
    let (s, _) = post(addr, "/v1/status", json, "{}").await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);

    // A body over the limit: 413.
    let big = format!(
        r#"{{"title":"{}","tlp":"clear"}}"#,
        "x".repeat(MAX_BODY_BYTES)
    );
    let (s, _) = post(addr, "/v1/incidents", json, &big).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    shutdown.cancel();
}

#[tokio::test]
async fn the_nodes_own_faults_are_500_and_a_stopping_network_503() {
    let (addr, shutdown) = api(|| {
        ApiError::Store(store::Error::Corrupt {
            id: "00".into(),
            reason: "flipped byte".into(),
        })
    })
    .await;
    let body = r#"{"title":"t","tlp":"clear","to":[]}"#;
    let (s, v) = post(addr, "/v1/incidents", "application/json", body).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(error_text(&v).contains("flipped byte"));
    shutdown.cancel();
    assert_eq!(
        ApiError::Network(net::Error::Stopped).status(),
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    );
}

/// A client with a valid token whose body never finishes is cut off with
/// 408 (as JSON) once the body timeout passes, not held open.
#[tokio::test]
async fn a_body_that_never_arrives_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (addr, shutdown) = api(|| ApiError::BadRequest("unused".into())).await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/incidents HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(BODY_TIMEOUT * 3, stream.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the connection was held past three body timeouts"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\""), "{answer}");
    shutdown.cancel();
}

/// The metrics-only listener: `GET /metrics` without a token and nothing
/// else; however many scrapes arrive at once, the node's loop is asked once
/// per few seconds; Prometheus gets OpenMetrics, others the classic text.
#[tokio::test]
async fn the_metrics_listener_serves_metrics_alone_and_spares_the_loop() {
    let (tx, mut rx) = mpsc::channel::<ApiRequest>(4);
    let shutdown = CancellationToken::new();
    let (addr, serve) = bind_metrics("127.0.0.1:0".parse().unwrap(), tx, shutdown.clone())
        .await
        .unwrap();
    tokio::spawn(serve);
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    tokio::spawn(async move {
        while let Some(r) = rx.recv().await {
            if let ApiRequest::Status(reply) = r {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // A slow loop: every scrape arriving meanwhile waits.
                tokio::time::sleep(Duration::from_millis(200)).await;
                let _ = reply.send(Ok(metrics::tests::status()));
            }
        }
    });
    let client = reqwest::Client::new();
    let scrapes = (0..20).map(|_| client.get(format!("http://{addr}/metrics")).send());
    for r in futures::future::join_all(scrapes).await {
        let r = r.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        assert!(r.text().await.unwrap().contains("csirtmesh_members 4"));
    }
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
    let om = client
        .get(format!("http://{addr}/metrics"))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .unwrap();
    assert!(
        om.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert!(om.text().await.unwrap().ends_with("# EOF\n"));
    for path in ["/v1/status", "/v1/incidents", "/metrics/../v1/status"] {
        let r = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    shutdown.cancel();
}
