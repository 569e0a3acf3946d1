//! The command line's arguments: every subcommand and flag, with its help.
//! Nothing here runs anything ([`super::dispatch`] does).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::api::types::{Label, Status};

/// CSIRT Mesh: a federated, peer-to-peer network of incident response teams.
#[derive(Debug, Parser)]
#[command(name = "csirtmesh", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Create a team identity (keys, node key, signed profile) in a data directory.
    Init(InitArgs),
    /// Write a mesh charter from the founding teams' profiles.
    Charter(CharterArgs),
    /// Run the node.
    Run(RunArgs),
    /// Show the running node's status: peers, members, envelopes.
    Status(ClientArgs),
    /// Peers kept out (banned for misbehaving, or blocked): list, block, lift.
    Peers {
        #[command(flatten)]
        client: ClientArgs,
        /// Block these peers (PeerIds) until lifted.
        #[arg(long, value_delimiter = ',')]
        block: Vec<String>,
        /// Lift the ban or block of these peers.
        #[arg(long, value_delimiter = ',')]
        unblock: Vec<String>,
        /// Lift every ban and block.
        #[arg(long)]
        unblock_all: bool,
        /// Dial these addresses now (with /p2p/<peer id>; a relayed one
        /// ends /p2p-circuit/p2p/<peer id>).
        #[arg(long)]
        dial: Vec<String>,
    },
    /// List members (with who vouched for whom), applicants and removed teams.
    Members {
        #[command(flatten)]
        client: ClientArgs,
        /// Only pending applicants, with their profiles.
        #[arg(long)]
        pending: bool,
    },
    /// Ask to join the mesh (again): publish this team's signed profile.
    Join(ClientArgs),
    /// Invite a team to apply: only invited (or vouched-for) teams' join
    /// requests enter the mesh. The team sends you its id out of band (its
    /// `csirtmesh init` or `status` prints it).
    Invite {
        #[command(flatten)]
        client: ClientArgs,
        /// The team's full id (64 hex digits).
        team: String,
        /// Days the invitation stays open (at most 30).
        #[arg(long, default_value_t = 14)]
        days: u64,
        /// The team's node id (PeerId), if it sent it (repeat for more):
        /// members then keep its node connected before its join request
        /// arrives, whatever strangers are knocking.
        #[arg(long = "node")]
        nodes: Vec<String>,
    },
    /// Vouch for an applicant (sign an endorsement).
    Vouch {
        #[command(flatten)]
        client: ClientArgs,
        /// The applicant: its team id, or its name.
        team: String,
        /// Days the endorsement stays valid.
        #[arg(long, default_value_t = 30)]
        days: u64,
    },
    /// Object to an applicant's admission (within the charter's objection window).
    Object {
        #[command(flatten)]
        client: ClientArgs,
        /// The applicant.
        team: String,
        /// Why (the applicant and its sponsors see it).
        #[arg(long)]
        reason: String,
    },
    /// Ask to suspend a member; k members' suspensions remove it.
    Suspend {
        #[command(flatten)]
        client: ClientArgs,
        /// The member.
        team: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Report something about a network this team does not own: the report
    /// goes to the responsible team, or to the team of last resort.
    Report {
        #[command(flatten)]
        client: ClientArgs,
        /// What it is routed by: an IP, prefix, ASN (AS64500), domain or
        /// country code. Without it, the first --indicator with a network
        /// part (a URL's host, an e-mail address's domain).
        #[arg(long, required_unless_present = "indicators")]
        about: Option<String>,
        /// A typed indicator (repeat): an IP or prefix, AS64500, a domain,
        /// a URL, an e-mail address, md5:/sha1:/sha256: hashes.
        #[arg(long = "indicator")]
        indicators: Vec<proto::IndicatorText>,
        /// The economy to fall back on when no team covers it (e.g. BR).
        #[arg(long)]
        country: Option<String>,
        /// One line.
        #[arg(long)]
        title: String,
        /// What happened, what is asked.
        #[arg(long, default_value = "")]
        description: String,
        /// TLP label (amber by default).
        #[arg(long, default_value = "amber")]
        tlp: Label,
    },
    /// Export what this team reads as STIX 2.1, MISP events or X-ARF reports.
    Export(ExportArgs),
    /// Import a STIX 2.1 bundle or MISP event(s) as incidents.
    Import(ImportArgs),
    /// Change this team's RFC 2350 details: publishes a new signed profile.
    Profile {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        details: DetailsArgs,
    },
    /// The directory: who is responsible for a network.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Hand a report on to the responsible team (AMBER+STRICT and RED: a
    /// referral to the reporter instead; never a forward).
    Handoff {
        #[command(flatten)]
        client: ClientArgs,
        /// Incident id.
        id: String,
        /// The team(s) to hand it to.
        #[arg(long, value_delimiter = ',', required = true)]
        to: Vec<String>,
        /// A note for them.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Acknowledge a report addressed or handed to this team.
    Ack {
        #[command(flatten)]
        client: ClientArgs,
        /// Incident id.
        id: String,
    },
    /// Accept a report handed to this team.
    Accept {
        #[command(flatten)]
        client: ClientArgs,
        /// Incident id.
        id: String,
    },
    /// Decline a report handed to this team; it returns to the team that handed it.
    Decline {
        #[command(flatten)]
        client: ClientArgs,
        /// Incident id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Retract one of this team's incident envelopes: every node deletes its
    /// content and keeps a signed tombstone instead.
    Retract {
        #[command(flatten)]
        client: ClientArgs,
        /// The envelope (its id or first 8+ hex digits; see `incident show`).
        envelope: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Replace this team's keys (both unless told otherwise); the team, its
    /// membership and its history stay. For the signing key the old key
    /// signs the change and the new key consents; for the age key a new
    /// profile names the new recipient, and every member's GREEN key is
    /// replaced before its next use. Do both after a data directory leaked.
    RotateKey {
        #[command(flatten)]
        client: ClientArgs,
        /// Replace only the signing key.
        #[arg(long, conflicts_with = "age_only")]
        signing_only: bool,
        /// Replace only the age key.
        #[arg(long)]
        age_only: bool,
    },
    /// Revoke this team's own key (e.g. it was compromised). Cannot be undone.
    Revoke {
        #[command(flatten)]
        client: ClientArgs,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Confirm: from now on every node refuses this team's envelopes.
        #[arg(long)]
        yes: bool,
    },
    /// Work incidents: open, list, show, comment, status.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// List every stored envelope's public header (what every member sees).
    Envelopes(ClientArgs),
    /// Check every stored envelope against its id (a damaged one is
    /// quarantined and fetched again from peers).
    Check(ClientArgs),
    /// Check the node: file modes, charter, free disk, membership, peers,
    /// sync, reachability, clock; with what to do about each problem.
    /// Exits 1 when something is broken.
    Doctor(ClientArgs),
    /// Write an encrypted backup of a data directory: its keys and a
    /// consistent copy of its store, taken while the node runs.
    Backup(BackupArgs),
    /// Restore a backup into a new data directory. The restored node
    /// writes nothing until it has caught up with a member's node.
    Restore(RestoreArgs),
    /// Print shell completions (install them where your shell looks, e.g.
    /// `csirtmesh completions bash > /etc/bash_completion.d/csirtmesh`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from this command line's own
    /// help: `csirtmesh man > csirtmesh.1; man ./csirtmesh.1`.
    Man,
}

#[derive(Debug, Args)]
pub(super) struct InitArgs {
    /// Data directory to create.
    #[arg(long, env = "CSIRTMESH_DATA_DIR")]
    pub(super) data_dir: PathBuf,
    /// Team name, as the community knows it.
    #[arg(long)]
    pub(super) name: String,
    /// ISO 3166 country code (e.g. BR).
    #[arg(long)]
    pub(super) country: Option<String>,
    /// Constituency: IP prefixes, ASNs, domains, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(super) constituency: Vec<String>,
    /// How to reach the team's people.
    #[arg(long)]
    pub(super) contact: Option<String>,
    /// Economies (country codes) this team is the CSIRT of last resort for.
    #[arg(long, value_delimiter = ',')]
    pub(super) last_resort_for: Vec<String>,
    /// This node runs a circuit relay for teams that cannot be reached directly.
    #[arg(long)]
    pub(super) relay: bool,
    #[command(flatten)]
    pub(super) details: DetailsArgs,
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
}

/// A team's RFC 2350 details (at `init`, or changed with `profile`).
#[derive(Debug, Clone, Args)]
pub(super) struct DetailsArgs {
    /// Time zone: an IANA name (Europe/Lisbon) or an offset (UTC+01:00).
    #[arg(long)]
    pub(super) time_zone: Option<String>,
    /// Business hours, in words ("Mon-Fri 08:00-18:00").
    #[arg(long)]
    pub(super) business_hours: Option<String>,
    /// Emergency phone, international form (+351 210 000 000).
    #[arg(long)]
    pub(super) emergency_phone: Option<String>,
    /// OpenPGP key fingerprint (spaces allowed).
    #[arg(long)]
    pub(super) pgp_fingerprint: Option<String>,
    /// Constituency type: national, government, academic, financial, isp,
    /// enterprise, vendor, regional, other.
    #[arg(long)]
    pub(super) constituency_type: Option<String>,
    /// Languages the team works in, ISO 639-1 codes (en,pt).
    #[arg(long, value_delimiter = ',')]
    pub(super) languages: Vec<String>,
    /// Where the team's RFC 2350 document is (https).
    #[arg(long)]
    pub(super) rfc2350_url: Option<String>,
}

#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    #[command(flatten)]
    pub(super) client: ClientArgs,
    /// stix (a STIX 2.1 bundle), misp (MISP events), xarf (X-ARF v4
    /// reports, one per line; reports only).
    #[arg(long)]
    pub(super) format: crate::api::types::ExportFormat,
    /// Only this incident (id or 8+ hex digits).
    #[arg(long)]
    pub(super) incident: Option<String>,
    /// Only incidents changed since: a time (2026-11-01T00:00:00Z) or a
    /// span back from now (7d, 12h).
    #[arg(long)]
    pub(super) since: Option<String>,
    /// Write here (must not exist) instead of standard output.
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct ImportArgs {
    #[command(flatten)]
    pub(super) client: ClientArgs,
    /// The file: a STIX 2.1 bundle, a MISP event or MISP's search answer.
    pub(super) file: PathBuf,
    /// The label for objects the source left unmarked (never assumed;
    /// without it an unmarked object is refused). A marked object keeps
    /// its source's label.
    #[arg(long)]
    pub(super) tlp: Option<Label>,
    /// Recipients (names or team ids) of incidents labelled amber or
    /// narrower, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(super) to: Vec<String>,
    /// This team is the source of the file's AMBER+STRICT and RED content
    /// (or has its consent): pass it to --to. Without it such content is
    /// refused (those labels allow no disclosure beyond their recipients).
    #[arg(long)]
    pub(super) reshare_restricted: bool,
}

#[derive(Debug, Args)]
pub(super) struct CharterArgs {
    /// The mesh's name.
    #[arg(long)]
    pub(super) name: String,
    /// A founding team: its data directory or its profile.bin (repeat).
    #[arg(long = "founder", required = true)]
    pub(super) founders: Vec<PathBuf>,
    /// Endorsements a new team needs to be admitted.
    #[arg(long, default_value_t = proto::charter::DEFAULT_THRESHOLD)]
    pub(super) threshold: u8,
    /// Objection window: an admission takes effect this many hours after the
    /// k-th endorsement, and a member's objection within it blocks it.
    #[arg(long)]
    pub(super) objection_window_hours: Option<u64>,
    /// The mesh's point of contact (a founder's name or team id).
    #[arg(long)]
    pub(super) point_of_contact: Option<String>,
    /// Where to write the charter (must not exist).
    #[arg(long)]
    pub(super) out: PathBuf,
}

#[derive(Debug, Args)]
pub(super) struct RunArgs {
    /// Data directory (made by `init`).
    #[arg(long, env = "CSIRTMESH_DATA_DIR")]
    pub(super) data_dir: Option<PathBuf>,
    /// TOML config file; flags override it.
    #[arg(long)]
    pub(super) config: Option<PathBuf>,
    /// The mesh charter (needed on the first run; kept in the data directory).
    #[arg(long)]
    pub(super) charter: Option<PathBuf>,
    /// libp2p listen address (repeat). Default: loopback TCP and QUIC, any port.
    #[arg(long)]
    pub(super) listen: Vec<String>,
    /// A peer to start from, with /p2p/<peer id> (repeat).
    #[arg(long)]
    pub(super) bootstrap: Vec<String>,
    /// Admin API address (loopback only). Default: 127.0.0.1, any port.
    #[arg(long)]
    pub(super) api_listen: Option<String>,
    /// Serve `GET /metrics` alone, without a token, on this address (e.g.
    /// 0.0.0.0:9464 for a Prometheus in another container).
    #[arg(long)]
    pub(super) metrics_listen: Option<String>,
    /// This node's public address, when a NAT or port forward is in front
    /// of it (repeat): announced to peers.
    #[arg(long = "external-address")]
    pub(super) external_addresses: Vec<String>,
    /// The mesh runs on a private network (or loopback): AutoNAT dials
    /// back private addresses too.
    #[arg(long)]
    pub(super) private_network: bool,
    /// Seconds between anti-entropy rounds.
    #[arg(long)]
    pub(super) sync_interval_secs: Option<u64>,
    /// Emulated delay on incoming messages, ms (test builds only).
    #[arg(long, hide = true)]
    pub(super) emulate_delay_ms: Option<u64>,
    /// Emulated loss of incoming gossip, 0..1 (test builds only).
    #[arg(long, hide = true)]
    pub(super) emulate_loss: Option<f64>,
    /// Play a censoring member: relay nothing, answer no sync (test builds only).
    #[arg(long, hide = true)]
    pub(super) emulate_censor: bool,
    /// Emulated bandwidth of every incoming link, kbit/s (test builds only).
    #[arg(long, hide = true)]
    pub(super) emulate_bandwidth_kbps: Option<u64>,
}

#[derive(Debug, Args)]
pub(super) struct BackupArgs {
    /// Data directory to back up (the node may be running).
    #[arg(long, env = "CSIRTMESH_DATA_DIR")]
    pub(super) data_dir: PathBuf,
    /// The backup file to write (must not exist).
    #[arg(long)]
    pub(super) out: PathBuf,
    /// A file whose first line is the passphrase (12 characters or more).
    #[arg(long, env = "CSIRTMESH_BACKUP_PASSPHRASE_FILE")]
    pub(super) passphrase_file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Debug, Args)]
pub(super) struct RestoreArgs {
    /// The backup file.
    #[arg(long)]
    pub(super) from: PathBuf,
    /// The data directory to create (must not exist, or be empty).
    #[arg(long, env = "CSIRTMESH_DATA_DIR")]
    pub(super) data_dir: PathBuf,
    /// A file whose first line is the passphrase.
    #[arg(long, env = "CSIRTMESH_BACKUP_PASSPHRASE_FILE")]
    pub(super) passphrase_file: PathBuf,
    /// The lost node stopped more than 10 minutes ago (or its clock was
    /// right): write as soon as caught up, without waiting out the
    /// clock-skew window.
    #[arg(long)]
    pub(super) skip_clock_wait: bool,
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Debug, Clone, Args)]
pub(super) struct ClientArgs {
    /// Data directory of the running node.
    #[arg(long, env = "CSIRTMESH_DATA_DIR")]
    pub(super) data_dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Debug, Subcommand)]
pub(super) enum DirectoryCommand {
    /// Who is responsible for an IP, prefix, ASN, domain or country, and why.
    Lookup {
        #[command(flatten)]
        client: ClientArgs,
        /// The indicator.
        about: String,
        /// The economy to fall back on when no team covers it.
        #[arg(long)]
        country: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum IncidentCommand {
    /// Open an incident.
    Open {
        #[command(flatten)]
        client: ClientArgs,
        /// One line.
        #[arg(long)]
        title: String,
        /// What happened, what is asked.
        #[arg(long, default_value = "")]
        description: String,
        /// TLP label: clear, green, amber, amber+strict, red.
        #[arg(long)]
        tlp: Label,
        /// Recipients (names or team ids), comma-separated; for amber and narrower.
        #[arg(long, value_delimiter = ',')]
        to: Vec<String>,
        /// A typed indicator (repeat): an IP or prefix, AS64500, a domain,
        /// a URL, an e-mail address, md5:/sha1:/sha256: hashes.
        #[arg(long = "indicator")]
        indicators: Vec<proto::IndicatorText>,
    },
    /// List incidents.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show one incident with its whole thread.
    Show {
        #[command(flatten)]
        client: ClientArgs,
        /// Incident id (or its first 8+ hex digits).
        id: String,
    },
    /// Comment on an incident.
    Comment {
        #[command(flatten)]
        client: ClientArgs,
        /// Incident id.
        id: String,
        /// The comment.
        #[arg(long)]
        text: String,
    },
    /// Change an incident's status: new, in-progress, resolved, closed.
    Status {
        #[command(flatten)]
        client: ClientArgs,
        /// Incident id.
        id: String,
        /// The new status.
        status: Status,
    },
}
