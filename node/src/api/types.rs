//! The admin API's JSON shapes, shared by the server and the CLI client.
//!
//! These are the node's local interface, not the mesh's wire format (that is
//! `proto`): they can change with the CLI, and carry names and hex ids.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod interop;
pub use interop::*;

/// A value written in JSON as its text form (`Display`/`FromStr`), so that
/// `"amber+strict"`, `"AMBER+STRICT"` and `"TLP:AMBER+STRICT"` all parse and
/// an unknown value is refused with the list of valid ones.
macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $inner);

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map($name).map_err(serde::de::Error::custom)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // `pad`, so that table columns keep their width.
                f.pad(&self.0.to_string())
            }
        }

        impl std::str::FromStr for $name {
            type Err = proto::Error;
            fn from_str(s: &str) -> Result<Self, proto::Error> {
                s.parse().map($name)
            }
        }

        impl From<$inner> for $name {
            fn from(v: $inner) -> Self {
                $name(v)
            }
        }
    };
}

text_value!(
    /// A TLP 2.0 label: clear, green, amber, amber+strict, red.
    Label(proto::Tlp)
);
text_value!(
    /// An incident status: new, in-progress, resolved, closed.
    Status(proto::IncidentStatus)
);

/// A step in an incident addressed or handed to this team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepAction {
    /// Acknowledge a report addressed to us.
    Ack,
    /// Accept a hand-off.
    Accept,
    /// Decline a hand-off (it returns to the team that handed it).
    Decline,
    /// Hand a report to the responsible team (a referral back to the
    /// reporter for AMBER+STRICT and RED).
    Handoff,
}

impl StepAction {
    /// The action as written in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            StepAction::Ack => "ack",
            StepAction::Accept => "accept",
            StepAction::Decline => "decline",
            StepAction::Handoff => "handoff",
        }
    }
}

/// A membership act.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MembershipAction {
    /// Endorse an applicant.
    Vouch,
    /// Invite a team (by its full team id) to apply: its join request then
    /// enters the mesh.
    Invite,
    /// Object to an applicant (within the charter's objection window).
    Object,
    /// Suspend a member (counts with others' suspensions).
    Suspend,
    /// Revoke this team's own key: leave the mesh.
    Revoke,
}

/// What an entry in an incident's thread is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A comment (text).
    Comment,
    /// A status change (text: the status).
    Status,
    /// Sealed: not readable by this team, or waiting for its key.
    Sealed,
    /// A retraction (text: the retracted envelope's id).
    Retracted,
    /// An acknowledgement.
    Ack,
    /// A hand-off accepted.
    Accept,
    /// A hand-off declined (text: the reason).
    Decline,
    /// A hand-off (text: to whom, and the note).
    Handoff,
    /// A referral back to the reporter (text: whom to contact, the note).
    Referral,
    /// An entry the thread's rules refuse (text: why).
    Refused,
}

impl EventKind {
    /// The kind as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Comment => "comment",
            EventKind::Status => "status",
            EventKind::Sealed => "sealed",
            EventKind::Retracted => "retracted",
            EventKind::Ack => "ack",
            EventKind::Accept => "accept",
            EventKind::Decline => "decline",
            EventKind::Handoff => "handoff",
            EventKind::Referral => "referral",
            EventKind::Refused => "refused",
        }
    }
}

/// What kind of envelope a stored one is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvelopeKind {
    /// A team profile (a join request or an update).
    Profile,
    /// A GREEN sender key shared with members.
    KeyShare,
    /// An incident, report or reply.
    Incident,
    /// A membership act.
    Membership,
    /// A tombstone.
    Retraction,
}

impl std::fmt::Display for EnvelopeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            EnvelopeKind::Profile => "profile",
            EnvelopeKind::KeyShare => "key-share",
            EnvelopeKind::Incident => "incident",
            EnvelopeKind::Membership => "membership",
            EnvelopeKind::Retraction => "retraction",
        })
    }
}

impl From<proto::Kind> for EnvelopeKind {
    fn from(k: proto::Kind) -> Self {
        match k {
            proto::Kind::Profile => EnvelopeKind::Profile,
            proto::Kind::KeyShare => EnvelopeKind::KeyShare,
            proto::Kind::Incident => EnvelopeKind::Incident,
            proto::Kind::Membership => EnvelopeKind::Membership,
            proto::Kind::Retraction => EnvelopeKind::Retraction,
        }
    }
}

/// A team as shown to people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRef {
    /// Team id, hex.
    pub id: String,
    /// Name, if the team's profile is known.
    pub name: Option<String>,
}

/// For people: the name (any control character in it escaped, so a peer's
/// name cannot move a terminal's cursor or forge a line), else the id's
/// first digits.
impl std::fmt::Display for TeamRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(n) => f.pad(&proto::text::printable(n, false)),
            None => write!(f, "{}", &self.id[..8.min(self.id.len())]),
        }
    }
}

/// `GET /v1/status`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatusView {
    /// This team.
    pub team: TeamRef,
    /// The mesh's name.
    pub mesh_name: String,
    /// The mesh id, hex.
    pub mesh_id: String,
    /// This node's PeerId.
    pub peer_id: String,
    /// Where the node listens (full addresses to give others as bootstrap).
    pub listen_addrs: Vec<String>,
    /// Connected peers.
    pub peers: Vec<PeerView>,
    /// Number of members.
    pub members: usize,
    /// Envelopes stored.
    pub envelopes: u64,
    /// Envelopes waiting for a GREEN sender key.
    pub waiting_for_key: u64,
    /// Stored envelopes found damaged and moved to quarantine (refetched
    /// from peers by anti-entropy).
    #[serde(default)]
    pub quarantined: u64,
    /// Envelopes accepted since start (all origins).
    pub accepted: u64,
    /// Envelopes rejected since start.
    pub rejected: u64,
    /// Envelopes ignored since start (duplicates mostly).
    pub ignored: u64,
    /// Envelopes this node published since start.
    pub published: u64,
    /// Envelopes fetched by anti-entropy since start.
    pub synced_in: u64,
    /// Bytes read from all connections since start.
    #[serde(default)]
    pub bytes_in: u64,
    /// Bytes written to all connections since start.
    #[serde(default)]
    pub bytes_out: u64,
    /// Gossip messages received since start, duplicates included.
    #[serde(default)]
    pub gossip_received: u64,
    /// Of those, copies of messages already seen (dropped by id before any
    /// decoding or signature check).
    #[serde(default)]
    pub gossip_duplicates: u64,
    /// Peers kept out now: banned for misbehaving (for a while, longer on
    /// each repeat) or blocked by the operator (until lifted).
    #[serde(default)]
    pub blocked: Vec<BlockedView>,
    /// Connections from strangers (neither members' nor applicants' nodes)
    /// closed since start, their short window over.
    #[serde(default)]
    pub strangers_closed: u64,
    /// Keys whose chain forked (evidence of a stolen key); their teams are
    /// removed.
    #[serde(default)]
    pub forks: Vec<ForkView>,
    /// Other members' constituency entries that overlap ours (a member
    /// claiming part of our networks receives reports about that part).
    #[serde(default)]
    pub overlaps: Vec<OverlapView>,
    /// Applicants waiting for members' endorsements.
    #[serde(default)]
    pub applicants: usize,
    /// The store's size on disk (database and its write-ahead log), bytes.
    #[serde(default)]
    pub store_bytes: u64,
    /// Restored from a backup and not yet caught up with a member's node:
    /// the node writes nothing until it has.
    #[serde(default)]
    pub catching_up: bool,
    /// Incidents handed to this team that wait for its accept or decline.
    #[serde(default)]
    pub pending_handoffs: usize,
    /// Whether other nodes can dial this one (AutoNAT): `public`,
    /// `private` or `unknown`.
    #[serde(default = "unknown")]
    pub reachability: String,
    /// This clock minus the mesh's, ms (median over teams of gossip
    /// arrivals against their stamps, last day); `None` without any.
    #[serde(default)]
    pub clock_offset_ms: Option<i64>,
    /// How many teams that estimate rests on.
    #[serde(default)]
    pub clock_offset_teams: usize,
    /// Relayed connections upgraded to direct ones by hole punching since
    /// start.
    #[serde(default)]
    pub hole_punches: u64,
}

fn unknown() -> String {
    "unknown".into()
}

/// `POST /v1/check`: a scan of every stored envelope.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckView {
    /// Envelopes scanned.
    pub scanned: u64,
    /// Ids of those found damaged by this scan (now quarantined; anti-entropy
    /// fetches them again from peers).
    pub damaged: Vec<String>,
    /// Rows in quarantine in all.
    pub quarantined: u64,
}

/// A peer kept out.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockedView {
    /// Its PeerId.
    pub peer_id: String,
    /// Why.
    pub reason: String,
    /// Seconds until the ban lifts; none for an operator's block.
    pub remaining_secs: Option<u64>,
}

/// A connected peer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PeerView {
    /// Its PeerId.
    pub peer_id: String,
    /// The team whose profile lists it, if any.
    pub team: Option<TeamRef>,
    /// Last successful sync, ms since epoch.
    pub last_sync_ok: Option<u64>,
    /// Envelopes fetched from it by the last sync.
    pub last_sync_fetched: u64,
    /// Reconciliation round trips of the last sync.
    pub last_sync_rounds: u64,
    /// Reconciliation bytes (both ways) of the last sync.
    pub last_sync_bytes: u64,
    /// The last sync error, in words.
    pub last_sync_error: Option<String>,
    /// Whether a connection to it runs through a relay.
    pub via_relay: bool,
}

/// `POST /v1/incidents`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewIncident {
    /// One line.
    pub title: String,
    /// What happened, what is asked.
    #[serde(default)]
    pub description: String,
    /// TLP label (clear, green, amber, amber+strict, red).
    pub tlp: Label,
    /// Recipients by name or team id (AMBER and narrower).
    #[serde(default)]
    pub to: Vec<String>,
    /// Typed indicators (`198.51.100.7`, `AS64500`, `evil.example`, a URL,
    /// an e-mail address, `sha256:...`).
    #[serde(default)]
    pub indicators: Vec<proto::IndicatorText>,
}

/// `POST /v1/reports`: a report about a network this team does not own.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewReport {
    /// What it is routed by: IP, prefix, ASN, domain or country code; when
    /// empty, the first of `indicators` with a network part (a URL's host,
    /// an e-mail address's domain).
    #[serde(default)]
    pub about: String,
    /// Typed indicators; `about`, when it is one, is added to them.
    #[serde(default)]
    pub indicators: Vec<proto::IndicatorText>,
    /// The economy to fall back on when no constituency matches.
    pub country: Option<String>,
    /// One line.
    pub title: String,
    /// What happened, what is asked.
    #[serde(default)]
    pub description: String,
    /// TLP label (amber by default).
    pub tlp: Option<Label>,
}

/// Where a report goes, and why.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RouteView {
    /// The indicator, normalised.
    pub about: String,
    /// The responsible teams.
    pub teams: Vec<TeamRef>,
    /// Why, in words.
    pub why: String,
    /// Other teams whose constituency also covers it, less specifically:
    /// not sent to, but shown, since claims are self-declared.
    #[serde(default)]
    pub contested: Vec<ClaimView>,
    /// How to reach the responsible teams.
    #[serde(default)]
    pub contacts: Vec<ContactCard>,
}

/// A team's constituency entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClaimView {
    /// The team.
    pub team: TeamRef,
    /// Its entry (a prefix, an ASN, a domain).
    pub entry: String,
}

/// Another member's constituency entry overlapping one of ours.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OverlapView {
    /// Our entry.
    pub ours: String,
    /// Theirs.
    pub theirs: ClaimView,
}

/// What `POST /v1/reports` returns.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportPublished {
    /// The report's envelope.
    pub published: Published,
    /// Where it went and why.
    pub route: RouteView,
}

/// `POST /v1/incidents/{id}/steps`: ack, accept, decline, handoff.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IncidentStep {
    /// ack, accept, decline, handoff.
    pub action: StepAction,
    /// For handoff: the teams to hand it to.
    #[serde(default)]
    pub to: Vec<String>,
    /// A note (handoff) or a reason (decline).
    #[serde(default)]
    pub note: String,
}

/// `POST /v1/incidents/{id}/comments`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewComment {
    /// The text.
    pub text: String,
}

/// `POST /v1/incidents/{id}/status`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewStatus {
    /// new, in-progress, resolved, closed.
    pub status: Status,
}

/// What a publish returns: only after the envelope is durable.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Published {
    /// The new envelope's id.
    pub id: String,
    /// The incident (thread root) it belongs to, for incident envelopes.
    pub incident: Option<String>,
    /// Whether it went out on gossip now (else anti-entropy delivers it).
    pub gossiped: bool,
}

/// One incident in a list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IncidentSummary {
    /// Root envelope id.
    pub id: String,
    /// Title, if this team can read it.
    pub title: Option<String>,
    /// TLP label.
    pub tlp: Label,
    /// Status.
    pub status: Status,
    /// Who opened it.
    pub author: TeamRef,
    /// When (ms).
    pub opened_at: u64,
    /// Last change (ms).
    pub updated_at: u64,
    /// Whether this team can read it.
    pub readable: bool,
    /// Whether it waits for a GREEN key.
    pub waiting_for_key: bool,
    /// Number of replies.
    pub replies: usize,
    /// For a report: the indicator it is about.
    pub about: Option<String>,
    /// Who handles it now.
    pub handled_by: Vec<TeamRef>,
    /// Teams a hand-off awaits an answer from.
    pub pending_handoff: Vec<TeamRef>,
}

/// One incident with its thread.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IncidentView {
    /// The summary.
    #[serde(flatten)]
    pub summary: IncidentSummary,
    /// Description, if readable.
    pub description: Option<String>,
    /// The teams the reporter addressed, if readable.
    pub recipients: Vec<TeamRef>,
    /// For a report: why it went to its recipients.
    pub routed: Option<String>,
    /// Its indicators, if readable.
    #[serde(default)]
    pub indicators: Vec<proto::IndicatorText>,
    /// The UUID of the STIX object or MISP event it was imported from.
    #[serde(default)]
    pub source: Option<String>,
    /// The thread, in order.
    pub events: Vec<EventView>,
}

/// One step of a thread.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventView {
    /// Envelope id.
    pub id: String,
    /// comment, status, ack, handoff, referral, accept, decline, retracted, sealed, refused.
    pub kind: EventKind,
    /// Who.
    pub author: TeamRef,
    /// When (ms), if known.
    pub at: Option<u64>,
    /// Comment text, new status, or refusal reason.
    pub text: Option<String>,
    /// For sealed entries: waiting for a GREEN key.
    pub waiting_for_key: bool,
}

/// `GET /v1/members`: members, applicants and removed teams.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MembersView {
    /// Endorsements an applicant needs (`k`).
    pub threshold: usize,
    /// The charter's objection window, if any (ms).
    pub objection_window_ms: Option<u64>,
    /// Members.
    pub members: Vec<MemberView>,
    /// Pending applicants.
    pub applicants: Vec<ApplicantView>,
    /// Revoked or suspended teams.
    pub removed: Vec<RemovedView>,
}

/// A pending applicant.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApplicantView {
    /// The team.
    pub team: TeamRef,
    /// Country code.
    pub country: Option<String>,
    /// Constituency entries.
    pub constituency: Vec<String>,
    /// Contact line.
    pub contact: Option<String>,
    /// Members whose unexpired endorsement it holds.
    pub sponsors: Vec<TeamRef>,
    /// Endorsements still needed.
    pub needed: usize,
    /// Objections by members.
    pub objections: Vec<ObjectionView>,
    /// When `k` endorsements were reached (admission waits for the window).
    pub threshold_reached_at: Option<u64>,
    /// Members whose invitation is open.
    pub invited_by: Vec<TeamRef>,
    /// When its last open invitation or endorsement expires (ms): it stops
    /// being an applicant then, unless a member invites or vouches again.
    pub expires_at: u64,
    /// Whether its join request (profile) arrived: without it, members can
    /// vouch but cannot write to it.
    pub join_request: bool,
}

/// A member's objection to an applicant.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ObjectionView {
    /// Who objected.
    pub by: TeamRef,
    /// Why.
    pub reason: String,
    /// When (ms).
    pub at: u64,
}

/// A removed team.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RemovedView {
    /// The team.
    pub team: TeamRef,
    /// How, in words.
    pub how: String,
    /// When the act that removed it says it was made (ms; 0 for a fork).
    pub at: u64,
    /// The last envelope of its chain that stays valid: whatever it signed
    /// after is refused, whatever time it claims.
    #[serde(default)]
    pub last_seq: u64,
}

/// A key whose chain forked: two envelopes at one place, or a later place
/// stamped earlier. Evidence of a stolen key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ForkView {
    /// The key (team id) that signed both.
    pub key: String,
    /// The team it belongs to.
    pub team: TeamRef,
    /// Where its chain forked.
    pub seq: u64,
}

/// `POST /v1/vouch`, `/v1/object`, `/v1/suspend`, `/v1/revoke`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MembershipRequest {
    /// vouch, invite, object, suspend, revoke.
    pub action: MembershipAction,
    /// The team acted on (name or id); none for revoke.
    pub team: Option<String>,
    /// Why (object, suspend, revoke).
    #[serde(default)]
    pub reason: String,
    /// For vouch and invite: days the endorsement or invitation stays valid.
    pub days: Option<u64>,
    /// For invite: the team's node ids (PeerIds), if it sent them; its nodes
    /// are then kept connected before its join request arrives.
    #[serde(default)]
    pub nodes: Vec<String>,
}

/// A member.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemberView {
    /// The team.
    pub team: TeamRef,
    /// Country code.
    pub country: Option<String>,
    /// Constituency entries.
    pub constituency: Vec<String>,
    /// Contact line.
    pub contact: Option<String>,
    /// Whether the charter names it a founder.
    pub founder: bool,
    /// Its nodes' PeerIds.
    pub peers: Vec<String>,
    /// Who vouched for it (members admitted by endorsement).
    pub sponsors: Vec<TeamRef>,
    /// When it was admitted (ms), for members admitted by endorsement.
    pub admitted_at: Option<u64>,
    /// Its RFC 2350 details.
    #[serde(default)]
    pub details: proto::rfc2350::TeamDetails,
}

/// How to reach a team: its contact line and RFC 2350 details.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContactCard {
    /// The team.
    pub team: TeamRef,
    /// Its contact line.
    pub contact: Option<String>,
    /// Its RFC 2350 details.
    #[serde(default)]
    pub details: proto::rfc2350::TeamDetails,
}

/// One stored envelope's public header (what every member can see).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnvelopeView {
    /// Its place in its author's chain.
    #[serde(default)]
    pub seq: u64,
    /// Id.
    pub id: String,
    /// Author.
    pub author: TeamRef,
    /// profile, key-share, incident, membership, retraction.
    pub kind: EnvelopeKind,
    /// TLP label.
    pub tlp: Label,
    /// HLC stamp (ms).
    pub created_at: u64,
    /// Size on the wire.
    pub size: usize,
    /// Thread root, if a reply.
    pub thread: Option<String>,
    /// Whether this team opened it.
    pub readable: bool,
    /// Whether it waits for a GREEN key.
    pub waiting_for_key: bool,
    /// When this node stored it (ms).
    pub received_at: u64,
}

/// `POST /v1/envelopes/{id}/retract`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewRetraction {
    /// Why, for those who saw it.
    #[serde(default)]
    pub reason: String,
}

/// `POST /v1/rotate-key`: which of the team's keys to replace (both unless
/// told otherwise).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct RotateKeyRequest {
    /// The signing key (the team's id): a rotation act.
    #[serde(default = "yes")]
    pub signing: bool,
    /// The age key members seal to: a new profile.
    #[serde(default = "yes")]
    pub age: bool,
}

impl Default for RotateKeyRequest {
    fn default() -> Self {
        RotateKeyRequest {
            signing: true,
            age: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// `POST /v1/peers`: block peers (by PeerId), or lift every block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PeerBlock {
    /// Peers to block.
    #[serde(default)]
    pub block: Vec<String>,
    /// Lift every ban and block first.
    #[serde(default)]
    pub unblock_all: bool,
    /// Peers whose ban or block to lift.
    #[serde(default)]
    pub unblock: Vec<String>,
    /// Addresses to dial (e.g. a relayed team's circuit address).
    #[serde(default)]
    pub dial: Vec<String>,
}

/// An error answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorView {
    /// What went wrong, in words.
    pub error: String,
}
