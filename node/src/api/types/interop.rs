//! The admin API's shapes for export, import and the team's RFC 2350
//! details (`/v1/export`, `/v1/import`, `/v1/profile` takes
//! `proto::rfc2350::TeamDetails` itself).

use serde::{Deserialize, Serialize};

use super::Label;

/// `GET /v1/export`: what to export.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportQuery {
    /// stix, misp or xarf.
    pub format: ExportFormat,
    /// Only this incident (id or unique prefix).
    #[serde(default)]
    pub incident: Option<String>,
    /// Only incidents changed at or after this time (ms since the epoch).
    #[serde(default)]
    pub since: Option<u64>,
}

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// A STIX 2.1 bundle.
    Stix,
    /// MISP events (MISP core format, as MISP's REST search answers).
    Misp,
    /// X-ARF v4 abuse reports, one per line (reports only).
    Xarf,
}

/// `POST /v1/import?tlp=..&to=..`: the label for unmarked objects and the
/// recipients of AMBER and narrower incidents.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ImportQuery {
    /// The label for objects the source left unmarked (never assumed).
    #[serde(default)]
    pub tlp: Option<Label>,
    /// Recipients (names or team ids, comma-separated) for incidents
    /// labelled AMBER, AMBER+STRICT or RED.
    #[serde(default)]
    pub to: Option<String>,
    /// This team is the source of AMBER+STRICT and RED content in the file
    /// (or has its consent), so it may pass it to `to`.
    #[serde(default)]
    pub reshare_restricted: bool,
}

/// What an import did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportView {
    /// stix or misp.
    pub format: String,
    /// Each incident of the file.
    pub incidents: Vec<ImportedView>,
    /// What the file held that has no place in an incident.
    pub skipped: Vec<String>,
}

/// One incident of an imported file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportedView {
    /// The incident's id in the mesh.
    pub id: String,
    /// The source object's UUID.
    pub source: String,
    /// Its title.
    pub title: String,
    /// Its label.
    pub tlp: Label,
    /// Whether it was opened now (false: an earlier import had opened it).
    pub created: bool,
    /// Comments added now (those already in the thread are not repeated).
    pub comments_added: usize,
    /// Indicators it carries.
    pub indicators: usize,
}
