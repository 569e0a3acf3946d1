//! What the admin API asks of the node's loop: one variant per call, each
//! with its typed arguments and a `oneshot` for its typed answer.

use tokio::sync::oneshot;

use super::{ApiError, types::*};

/// Where the answer to a request goes.
pub type Reply<T> = oneshot::Sender<Result<T, ApiError>>;

/// A request from the admin API.
pub enum ApiRequest {
    /// Node status.
    Status(Reply<StatusView>),
    /// All incidents.
    Incidents(Reply<Vec<IncidentSummary>>),
    /// One incident, by id or unique prefix.
    Incident(String, Reply<IncidentView>),
    /// Open an incident.
    Open(NewIncident, Reply<Published>),
    /// Comment on an incident.
    Comment(String, NewComment, Reply<Published>),
    /// Change an incident's status.
    SetStatus(String, NewStatus, Reply<Published>),
    /// Members, applicants, removed teams.
    Members(Reply<MembersView>),
    /// Publish (again) this team's join request.
    Join(Reply<Published>),
    /// A membership act: vouch, object, suspend, revoke.
    Act(MembershipRequest, Reply<Published>),
    /// Stored envelopes' public headers.
    Envelopes(Reply<Vec<EnvelopeView>>),
    /// Check every stored envelope against its id; quarantine the damaged.
    Check(Reply<CheckView>),
    /// Replace this team's signing key, age key or both.
    RotateKey(RotateKeyRequest, Reply<Published>),
    /// Open a routed report.
    Report(NewReport, Reply<ReportPublished>),
    /// Look up who is responsible for an indicator (and country).
    Lookup(String, Option<String>, Reply<RouteView>),
    /// Ack, accept, decline or hand off an incident.
    Step(String, IncidentStep, Reply<Published>),
    /// Retract one of this team's envelopes.
    Retract(String, NewRetraction, Reply<Published>),
    /// Block or unblock peers, dial addresses.
    Peers(PeerBlock, Reply<StatusView>),
    /// Export what this team reads as STIX, MISP or X-ARF.
    Export(ExportQuery, Reply<serde_json::Value>),
    /// Open the incidents of a parsed file (checked whole before).
    Import(interop::import::Parsed, ImportQuery, Reply<ImportView>),
    /// Publish a new version of this team's profile with these RFC 2350
    /// details.
    Profile(proto::rfc2350::TeamDetails, Reply<Published>),
}
