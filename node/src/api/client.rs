//! A client of a running node's admin API, as the CLI and the testnet use it.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use serde::{Serialize, de::DeserializeOwned};

use super::types::*;
use crate::datadir::{DataDir, files};

/// Talks to one node's admin API.
#[derive(Clone)]
pub struct ApiClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl ApiClient {
    /// A client for the node running on `dir` (reads `api.addr` and `api.token`).
    pub fn for_data_dir(dir: &DataDir) -> Result<Self> {
        let addr = std::fs::read_to_string(dir.file(files::API_ADDR)).with_context(|| {
            format!(
                "no running node found for {} (no {}): start it with `csirtmesh run --data-dir {}`",
                dir.root().display(),
                files::API_ADDR,
                dir.root().display()
            )
        })?;
        Self::new(addr.trim(), &dir.api_token()?)
    }

    /// A client for the API at `addr` (host:port) with `token`.
    pub fn new(addr: &str, token: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()?;
        Ok(ApiClient {
            base: format!("http://{addr}"),
            token: token.to_owned(),
            http,
        })
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T> {
        let resp = req.bearer_auth(&self.token).send().await.map_err(|e| {
            if e.is_connect() {
                anyhow!(
                    "cannot reach the node's admin API at {}: is the node running?",
                    self.base
                )
            } else {
                anyhow!("admin API request failed: {e}")
            }
        })?;
        let status = resp.status();
        let body = resp.bytes().await?;
        if !status.is_success() {
            let msg = serde_json::from_slice::<ErrorView>(&body)
                .map(|e| e.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            return Err(anyhow!("{msg}"));
        }
        serde_json::from_slice(&body).context("unexpected answer from the admin API")
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// `GET /v1/status`.
    pub async fn status(&self) -> Result<StatusView> {
        self.get("/v1/status").await
    }

    /// `GET /v1/incidents`.
    pub async fn incidents(&self) -> Result<Vec<IncidentSummary>> {
        self.get("/v1/incidents").await
    }

    /// `GET /v1/incidents/{id}`.
    pub async fn incident(&self, id: &str) -> Result<IncidentView> {
        self.get(&format!("/v1/incidents/{id}")).await
    }

    /// `POST /v1/incidents`.
    pub async fn open(&self, req: &NewIncident) -> Result<Published> {
        self.post("/v1/incidents", req).await
    }

    /// `POST /v1/incidents/{id}/comments`.
    pub async fn comment(&self, id: &str, text: &str) -> Result<Published> {
        self.post(
            &format!("/v1/incidents/{id}/comments"),
            &NewComment { text: text.into() },
        )
        .await
    }

    /// `POST /v1/incidents/{id}/status`.
    pub async fn set_status(&self, id: &str, status: Status) -> Result<Published> {
        self.post(&format!("/v1/incidents/{id}/status"), &NewStatus { status })
            .await
    }

    /// `GET /v1/members`.
    pub async fn members(&self) -> Result<MembersView> {
        self.get("/v1/members").await
    }

    /// `POST /v1/join`.
    pub async fn join(&self) -> Result<Published> {
        self.post("/v1/join", &serde_json::json!({})).await
    }

    /// `POST /v1/reports`.
    pub async fn report(&self, req: &NewReport) -> Result<ReportPublished> {
        self.post("/v1/reports", req).await
    }

    /// `GET /v1/directory`.
    pub async fn lookup(&self, q: &str, country: Option<&str>) -> Result<RouteView> {
        let mut url = reqwest::Url::parse(&format!("{}/v1/directory", self.base))?;
        url.query_pairs_mut().append_pair("q", q);
        if let Some(c) = country {
            url.query_pairs_mut().append_pair("country", c);
        }
        self.send(self.http.get(url)).await
    }

    /// `POST /v1/incidents/{id}/steps`.
    pub async fn step(&self, id: &str, step: &IncidentStep) -> Result<Published> {
        self.post(&format!("/v1/incidents/{id}/steps"), step).await
    }

    /// `POST /v1/envelopes/{id}/retract`.
    pub async fn retract(&self, id: &str, reason: &str) -> Result<Published> {
        self.post(
            &format!("/v1/envelopes/{id}/retract"),
            &NewRetraction {
                reason: reason.into(),
            },
        )
        .await
    }

    /// `POST /v1/peers`: block peers, or lift every block.
    pub async fn peers(&self, req: &PeerBlock) -> Result<StatusView> {
        self.post("/v1/peers", req).await
    }

    /// `POST /v1/check`.
    pub async fn check(&self) -> Result<CheckView> {
        self.post("/v1/check", &serde_json::json!({})).await
    }

    /// `POST /v1/rotate-key`.
    pub async fn rotate_key(&self, req: RotateKeyRequest) -> Result<Published> {
        self.post("/v1/rotate-key", &req).await
    }

    /// `POST /v1/membership`: vouch, object, suspend, revoke.
    pub async fn membership(&self, req: &MembershipRequest) -> Result<Published> {
        self.post("/v1/membership", req).await
    }

    /// `GET /v1/export`.
    pub async fn export(&self, q: &ExportQuery) -> Result<serde_json::Value> {
        let mut url = reqwest::Url::parse(&format!("{}/v1/export", self.base))?;
        let format = match q.format {
            ExportFormat::Stix => "stix",
            ExportFormat::Misp => "misp",
            ExportFormat::Xarf => "xarf",
        };
        url.query_pairs_mut().append_pair("format", format);
        if let Some(i) = &q.incident {
            url.query_pairs_mut().append_pair("incident", i);
        }
        if let Some(t) = q.since {
            url.query_pairs_mut().append_pair("since", &t.to_string());
        }
        self.send(self.http.get(url)).await
    }

    /// `POST /v1/import`: the file as it is.
    pub async fn import(&self, file: Vec<u8>, q: &ImportQuery) -> Result<ImportView> {
        let mut url = reqwest::Url::parse(&format!("{}/v1/import", self.base))?;
        if let Some(t) = q.tlp {
            url.query_pairs_mut().append_pair("tlp", &t.to_string());
        }
        if let Some(to) = &q.to {
            url.query_pairs_mut().append_pair("to", to);
        }
        if q.reshare_restricted {
            url.query_pairs_mut()
                .append_pair("reshare_restricted", "true");
        }
        self.send(
            self.http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(file),
        )
        .await
    }

    /// `PUT /v1/profile`: publish these RFC 2350 details.
    pub async fn set_profile(&self, details: &proto::rfc2350::TeamDetails) -> Result<Published> {
        self.send(
            self.http
                .put(format!("{}/v1/profile", self.base))
                .json(details),
        )
        .await
    }

    /// `GET /v1/envelopes`.
    pub async fn envelopes(&self) -> Result<Vec<EnvelopeView>> {
        self.get("/v1/envelopes").await
    }
}
