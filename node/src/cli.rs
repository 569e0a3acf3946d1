//! The `csirtmesh` command line: `init`, `charter`, `run`, and client
//! subcommands that talk to the running node through its admin API.
//! Output is for people by default and JSON with `--json`.

use std::{
    path::PathBuf,
    time::{Duration, UNIX_EPOCH},
};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::{
    api::{client::ApiClient, types::*},
    config::{Config, FileConfig},
    datadir::{DataDir, InitOptions},
    node::now_ms,
};

/// CSIRT Mesh: a federated, peer-to-peer network of incident response teams.
#[derive(Debug, Parser)]
#[command(name = "csirtmesh", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a team identity (keys, node key, signed profile) in a data directory.
    Init(InitArgs),
    /// Write a mesh charter from the founding teams' profiles.
    Charter(CharterArgs),
    /// Run the node.
    Run(RunArgs),
    /// Show the running node's status: peers, members, envelopes.
    Status(ClientArgs),
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
        /// What it is about: an IP, prefix, ASN (AS64500), domain or country code.
        #[arg(long)]
        about: String,
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
        tlp: String,
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
    /// Replace this team's signing key; the team, its membership and its
    /// history stay. The old key signs the change, the new key consents.
    RotateKey(ClientArgs),
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
}

#[derive(Debug, Args)]
struct InitArgs {
    /// Data directory to create.
    #[arg(long, env = "CSIRTMESH_DATA_DIR")]
    data_dir: PathBuf,
    /// Team name, as the community knows it.
    #[arg(long)]
    name: String,
    /// ISO 3166 country code (e.g. BR).
    #[arg(long)]
    country: Option<String>,
    /// Constituency: IP prefixes, ASNs, domains, comma-separated.
    #[arg(long, value_delimiter = ',')]
    constituency: Vec<String>,
    /// How to reach the team's people.
    #[arg(long)]
    contact: Option<String>,
    /// Economies (country codes) this team is the CSIRT of last resort for.
    #[arg(long, value_delimiter = ',')]
    last_resort_for: Vec<String>,
    /// This node runs a circuit relay for teams that cannot be reached directly.
    #[arg(long)]
    relay: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct CharterArgs {
    /// The mesh's name.
    #[arg(long)]
    name: String,
    /// A founding team: its data directory or its profile.bin (repeat).
    #[arg(long = "founder", required = true)]
    founders: Vec<PathBuf>,
    /// Endorsements a new team needs to be admitted.
    #[arg(long, default_value_t = proto::charter::DEFAULT_THRESHOLD)]
    threshold: u8,
    /// Objection window: an admission takes effect this many hours after the
    /// k-th endorsement, and a member's objection within it blocks it.
    #[arg(long)]
    objection_window_hours: Option<u64>,
    /// The mesh's point of contact (a founder's name or team id).
    #[arg(long)]
    point_of_contact: Option<String>,
    /// Where to write the charter (must not exist).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Data directory (made by `init`).
    #[arg(long, env = "CSIRTMESH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// TOML config file; flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The mesh charter (needed on the first run; kept in the data directory).
    #[arg(long)]
    charter: Option<PathBuf>,
    /// libp2p listen address (repeat). Default: loopback TCP and QUIC, any port.
    #[arg(long)]
    listen: Vec<String>,
    /// A peer to start from, with /p2p/<peer id> (repeat).
    #[arg(long)]
    bootstrap: Vec<String>,
    /// Admin API address (loopback only). Default: 127.0.0.1, any port.
    #[arg(long)]
    api_listen: Option<String>,
    /// Seconds between anti-entropy rounds.
    #[arg(long)]
    sync_interval_secs: Option<u64>,
    /// Emulated delay on incoming messages, ms (test builds only).
    #[arg(long, hide = true)]
    emulate_delay_ms: Option<u64>,
    /// Emulated loss of incoming gossip, 0..1 (test builds only).
    #[arg(long, hide = true)]
    emulate_loss: Option<f64>,
}

#[derive(Debug, Clone, Args)]
struct ClientArgs {
    /// Data directory of the running node.
    #[arg(long, env = "CSIRTMESH_DATA_DIR")]
    data_dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum DirectoryCommand {
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
enum IncidentCommand {
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
        tlp: String,
        /// Recipients (names or team ids), comma-separated; for amber and narrower.
        #[arg(long, value_delimiter = ',')]
        to: Vec<String>,
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
        status: String,
    },
}

/// Parses the command line and runs it.
pub fn main() -> Result<()> {
    main_from(std::env::args_os())
}

/// Runs the command line given as `args` (the first is the program name).
/// The testnet uses this to run real nodes from its own binary.
pub fn main_from<I, T>(args: I) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).unwrap_or_else(|e| e.exit());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(dispatch(cli.command))
}

fn init_tracing() {
    // Logs go to stderr: stdout is for data (`--json`).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libp2p=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Init(a) => init(a),
        Command::Charter(a) => charter(a),
        Command::Run(a) => run(a).await,
        Command::Status(c) => {
            let s = client(&c)?.status().await?;
            print(&c, &s, render_status)
        }
        Command::Members { client: c, pending } => {
            let m = client(&c)?.members().await?;
            if pending {
                print(&c, &m.applicants, render_applicants)
            } else {
                print(&c, &m, render_members)
            }
        }
        Command::Join(c) => {
            let p = client(&c)?.join().await?;
            print(&c, &p, |p| {
                format!("Published join request {}\n", short(&p.id))
            })
        }
        Command::Vouch {
            client: c,
            team,
            days,
        } => {
            let p = membership(&c, "vouch", Some(team), String::new(), Some(days)).await?;
            print(&c, &p, |p| format!("Vouched ({})\n", short(&p.id)))
        }
        Command::Object {
            client: c,
            team,
            reason,
        } => {
            let p = membership(&c, "object", Some(team), reason, None).await?;
            print(&c, &p, |p| format!("Objected ({})\n", short(&p.id)))
        }
        Command::Suspend {
            client: c,
            team,
            reason,
        } => {
            let p = membership(&c, "suspend", Some(team), reason, None).await?;
            print(&c, &p, |p| format!("Asked to suspend ({})\n", short(&p.id)))
        }
        Command::Report {
            client: c,
            about,
            country,
            title,
            description,
            tlp,
        } => {
            let r = client(&c)?
                .report(&NewReport {
                    about,
                    country,
                    title,
                    description,
                    tlp: Some(tlp),
                })
                .await?;
            print(&c, &r, |r| {
                format!(
                    "Reported {} about {} to {}\n  because {}\n",
                    short(&r.published.id),
                    r.route.about,
                    r.route
                        .teams
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    r.route.why
                )
            })
        }
        Command::Directory(DirectoryCommand::Lookup {
            client: c,
            about,
            country,
        }) => {
            let r = client(&c)?.lookup(&about, country.as_deref()).await?;
            print(&c, &r, |r| {
                format!(
                    "{}: {}\n  because {}\n",
                    r.about,
                    r.teams
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    r.why
                )
            })
        }
        Command::Handoff {
            client: c,
            id,
            to,
            note,
        } => step(&c, &id, "handoff", to, note).await,
        Command::Ack { client: c, id } => step(&c, &id, "ack", vec![], String::new()).await,
        Command::Accept { client: c, id } => step(&c, &id, "accept", vec![], String::new()).await,
        Command::Decline {
            client: c,
            id,
            reason,
        } => step(&c, &id, "decline", vec![], reason).await,
        Command::Retract {
            client: c,
            envelope,
            reason,
        } => {
            let p = client(&c)?.retract(&envelope, &reason).await?;
            print(&c, &p, |p| {
                format!("Retracted; tombstone {}\n", short(&p.id))
            })
        }
        Command::RotateKey(c) => {
            let p = client(&c)?.rotate_key().await?;
            print(&c, &p, |p| {
                format!(
                    "Rotated this team's signing key ({}); `csirtmesh status` shows the new TeamId\n",
                    short(&p.id)
                )
            })
        }
        Command::Revoke {
            client: c,
            reason,
            yes,
        } => {
            if !yes {
                anyhow::bail!(
                    "revoking is final: every node will refuse this team's envelopes from now on; add --yes to confirm"
                );
            }
            let p = membership(&c, "revoke", None, reason, None).await?;
            print(&c, &p, |p| {
                format!("Revoked this team's key ({})\n", short(&p.id))
            })
        }
        Command::Envelopes(c) => {
            let e = client(&c)?.envelopes().await?;
            print(&c, &e, render_envelopes)
        }
        Command::Incident(cmd) => incident(cmd).await,
    }
}

fn init(a: InitArgs) -> Result<()> {
    let constituency = a
        .constituency
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse())
        .collect::<Result<Vec<proto::Constituency>, _>>()?;
    let opts = InitOptions {
        name: a.name,
        country: a.country,
        constituency,
        contact: a.contact,
        roles: roles(&a.last_resort_for, a.relay)?,
    };
    let dir = DataDir::new(&a.data_dir);
    let profile = dir.init(&opts, now_ms())?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "team_id": profile.team.to_string(),
                "name": profile.name,
                "data_dir": a.data_dir,
                "profile": dir.file(crate::datadir::files::PROFILE),
            })
        );
    } else {
        println!(
            "Created team {:?} in {}",
            profile.name,
            a.data_dir.display()
        );
        println!("TeamId: {}", profile.team);
        println!(
            "Share {} with your forum to be named in the charter or to ask to join.",
            dir.file(crate::datadir::files::PROFILE).display()
        );
    }
    Ok(())
}

fn roles(last_resort_for: &[String], relay: bool) -> Result<Vec<proto::Role>> {
    let mut roles = Vec::new();
    let economies: Vec<String> = last_resort_for
        .iter()
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .collect();
    if let Some(bad) = economies
        .iter()
        .find(|c| c.len() != 2 || !c.chars().all(|x| x.is_ascii_alphabetic()))
    {
        anyhow::bail!(
            "--last-resort-for takes ISO 3166 alpha-2 country codes like BR; {bad:?} is not one"
        );
    }
    if !economies.is_empty() {
        roles.push(proto::Role::LastResortFor(economies));
    }
    if relay {
        roles.push(proto::Role::Relay);
    }
    Ok(roles)
}

fn charter(a: CharterArgs) -> Result<()> {
    let (charter, text) = crate::make_charter(
        &a.name,
        &a.founders,
        a.threshold,
        a.objection_window_hours.map(|h| h * 3600 * 1000),
        a.point_of_contact.as_deref(),
        now_ms(),
    )?;
    crate::datadir::write_new(&a.out, text.as_bytes(), 0o644)
        .with_context(|| format!("cannot write {} (it must not exist yet)", a.out.display()))?;
    println!(
        "Wrote charter {:?} ({} founders, threshold {}) to {}",
        charter.name,
        charter.founders.len(),
        charter.threshold,
        a.out.display()
    );
    println!("MeshId: {}", charter.mesh_id()?);
    Ok(())
}

async fn run(a: RunArgs) -> Result<()> {
    init_tracing();
    let file = match &a.config {
        Some(p) => FileConfig::load(p)?,
        None => FileConfig::default(),
    };
    let flags = FileConfig {
        data_dir: a.data_dir,
        charter: a.charter,
        listen: a.listen,
        bootstrap: a.bootstrap,
        api_listen: a.api_listen,
        sync_interval_secs: a.sync_interval_secs,
        emulate_delay_ms: a.emulate_delay_ms,
        emulate_loss: a.emulate_loss,
    };
    let config = Config::build(file, flags)?;
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        signal.cancel();
    });
    crate::run(config, shutdown).await
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn step(c: &ClientArgs, id: &str, action: &str, to: Vec<String>, note: String) -> Result<()> {
    let p = client(c)?
        .step(
            id,
            &IncidentStep {
                action: action.into(),
                to,
                note,
            },
        )
        .await?;
    print(c, &p, |p| format!("{action}: done ({})\n", short(&p.id)))
}

async fn membership(
    c: &ClientArgs,
    action: &str,
    team: Option<String>,
    reason: String,
    days: Option<u64>,
) -> Result<Published> {
    client(c)?
        .membership(&MembershipRequest {
            action: action.into(),
            team,
            reason,
            days,
        })
        .await
}

fn client(c: &ClientArgs) -> Result<ApiClient> {
    ApiClient::for_data_dir(&DataDir::new(&c.data_dir))
}

async fn incident(cmd: IncidentCommand) -> Result<()> {
    match cmd {
        IncidentCommand::Open {
            client: c,
            title,
            description,
            tlp,
            to,
        } => {
            let p = client(&c)?
                .open(&NewIncident {
                    title,
                    description,
                    tlp,
                    to,
                })
                .await?;
            print(&c, &p, |p| {
                format!(
                    "Opened incident {}\n",
                    p.incident.as_deref().unwrap_or(&p.id)
                )
            })
        }
        IncidentCommand::List { client: c } => {
            let l = client(&c)?.incidents().await?;
            print(&c, &l, render_incidents)
        }
        IncidentCommand::Show { client: c, id } => {
            let i = client(&c)?.incident(&id).await?;
            print(&c, &i, render_incident)
        }
        IncidentCommand::Comment {
            client: c,
            id,
            text,
        } => {
            let p = client(&c)?.comment(&id, &text).await?;
            print(&c, &p, |p| {
                format!(
                    "Commented on incident {} ({})\n",
                    short(p.incident.as_deref().unwrap_or(&p.id)),
                    short(&p.id)
                )
            })
        }
        IncidentCommand::Status {
            client: c,
            id,
            status,
        } => {
            let p = client(&c)?.set_status(&id, &status).await?;
            print(&c, &p, |p| {
                format!(
                    "Set status of incident {} ({})\n",
                    short(p.incident.as_deref().unwrap_or(&p.id)),
                    short(&p.id)
                )
            })
        }
    }
}

fn print<T: Serialize>(c: &ClientArgs, value: &T, human: impl Fn(&T) -> String) -> Result<()> {
    if c.json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        print!("{}", human(value));
    }
    Ok(())
}

fn short(id: &str) -> &str {
    &id[..8.min(id.len())]
}

/// A timestamp for people: UTC, to the second.
pub fn when(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

fn render_status(s: &StatusView) -> String {
    let mut out = format!(
        "Team:      {} ({})\nMesh:      {} ({})\nPeer id:   {}\n",
        s.team,
        short(&s.team.id),
        s.mesh_name,
        short(&s.mesh_id),
        s.peer_id
    );
    for a in &s.listen_addrs {
        out += &format!("Listening: {a}\n");
    }
    out += &format!(
        "Members:   {}\nEnvelopes: {} stored, {} waiting for a GREEN key\nSince start: {} accepted, {} rejected, {} ignored, {} published, {} fetched by sync\nPeers:     {}\n",
        s.members,
        s.envelopes,
        s.waiting_for_key,
        s.accepted,
        s.rejected,
        s.ignored,
        s.published,
        s.synced_in,
        s.peers.len()
    );
    for p in &s.peers {
        let team = p
            .team
            .as_ref()
            .map(|t| t.to_string())
            .unwrap_or_else(|| "unknown team".into());
        let sync = match (&p.last_sync_ok, &p.last_sync_error) {
            (Some(t), _) => format!(
                "last sync {} ({} fetched, {} round trips, {} bytes)",
                when(*t),
                p.last_sync_fetched,
                p.last_sync_rounds,
                p.last_sync_bytes
            ),
            (None, Some(e)) => format!("sync failing: {e}"),
            (None, None) => "not synced yet".into(),
        };
        out += &format!("  {}  {:<16} {}\n", p.peer_id, team, sync);
        if let (Some(_), Some(e)) = (&p.last_sync_ok, &p.last_sync_error) {
            out += &format!("      last sync error: {e}\n");
        }
    }
    out
}

fn render_members(m: &MembersView) -> String {
    let mut out = format!(
        "{} members (admission needs {} endorsements",
        m.members.len(),
        m.threshold
    );
    if let Some(w) = m.objection_window_ms {
        out += &format!(
            " and no objection within {}",
            humantime::format_duration(Duration::from_millis(w))
        );
    }
    out += ")\n";
    for v in &m.members {
        let how = if v.founder {
            "founder".to_string()
        } else if !v.sponsors.is_empty() {
            let names: Vec<String> = v.sponsors.iter().map(|s| s.to_string()).collect();
            format!(
                "vouched for by {}{}",
                names.join(", "),
                v.admitted_at
                    .map(|t| format!(", admitted {}", when(t)))
                    .unwrap_or_default()
            )
        } else {
            "member".to_string()
        };
        out += &format!(
            "  {:<20} {}  {}  {}{}\n",
            v.team.to_string(),
            short(&v.team.id),
            v.country.as_deref().unwrap_or("--"),
            how,
            if v.constituency.is_empty() {
                String::new()
            } else {
                format!("; covers {}", v.constituency.join(", "))
            }
        );
    }
    if !m.applicants.is_empty() {
        out += &format!("{} pending\n", m.applicants.len());
        out += &render_applicants(&m.applicants);
    }
    if !m.removed.is_empty() {
        out += &format!("{} removed\n", m.removed.len());
        for r in &m.removed {
            out += &format!(
                "  {:<20} {}  {} (from {})\n",
                r.team.to_string(),
                short(&r.team.id),
                r.how,
                when(r.at)
            );
        }
    }
    out
}

fn render_applicants(a: &Vec<ApplicantView>) -> String {
    if a.is_empty() {
        return "  no pending applicants\n".into();
    }
    let mut out = String::new();
    for v in a {
        let sponsors: Vec<String> = v.sponsors.iter().map(|s| s.to_string()).collect();
        out += &format!(
            "  {:<20} {}  {}  {} endorsement(s){}, {} more needed\n",
            v.team.to_string(),
            v.team.id,
            v.country.as_deref().unwrap_or("--"),
            v.sponsors.len(),
            if sponsors.is_empty() {
                String::new()
            } else {
                format!(" by {}", sponsors.join(", "))
            },
            v.needed
        );
        if !v.constituency.is_empty() {
            out += &format!("      covers {}\n", v.constituency.join(", "));
        }
        if let Some(c) = &v.contact {
            out += &format!("      contact {c}\n");
        }
        for o in &v.objections {
            out += &format!(
                "      OBJECTION by {} at {}: {}\n",
                o.by,
                when(o.at),
                o.reason
            );
        }
        if let Some(t) = v.threshold_reached_at {
            out += &format!(
                "      reached the threshold at {}; waiting for the objection window\n",
                when(t)
            );
        }
    }
    out
}

fn render_envelopes(e: &Vec<EnvelopeView>) -> String {
    let mut out = format!("{} envelopes\n", e.len());
    for v in e {
        out += &format!(
            "  {}  {:<10} {:<13} {:<16} {:>6} B  {}\n",
            short(&v.id),
            v.kind,
            v.tlp,
            v.author.to_string(),
            v.size,
            if v.readable {
                "readable"
            } else if v.waiting_for_key {
                "waiting for key"
            } else {
                "sealed"
            }
        );
    }
    out
}

fn render_incidents(l: &Vec<IncidentSummary>) -> String {
    if l.is_empty() {
        return "No incidents.\n".into();
    }
    let mut out = String::new();
    for i in l {
        let title = match (&i.title, i.waiting_for_key) {
            (Some(t), _) => t.clone(),
            (None, true) => "(waiting for the author's GREEN key)".into(),
            (None, false) => "(sealed: not addressed to this team)".into(),
        };
        out += &format!(
            "{}  {:<13} {:<12} {:<16} {}  {}\n",
            short(&i.id),
            i.tlp,
            i.status,
            i.author.to_string(),
            when(i.opened_at),
            title
        );
    }
    out
}

fn render_incident(i: &IncidentView) -> String {
    let s = &i.summary;
    let mut out = format!(
        "Incident {}\nTitle:   {}\nTLP:     {}\nStatus:  {}\nOpened:  {} by {}\n",
        s.id,
        s.title
            .as_deref()
            .unwrap_or("(sealed: not addressed to this team)"),
        s.tlp,
        s.status,
        when(s.opened_at),
        s.author
    );
    if !i.recipients.is_empty() {
        let names: Vec<String> = i.recipients.iter().map(|r| r.to_string()).collect();
        out += &format!("To:      {}\n", names.join(", "));
    }
    if let Some(about) = &s.about {
        out += &format!("About:   {about}\n");
    }
    if let Some(r) = &i.routed {
        out += &format!("Routed:  {r}\n");
    }
    if !s.handled_by.is_empty() {
        let names: Vec<String> = s.handled_by.iter().map(|r| r.to_string()).collect();
        out += &format!("Handled by: {}\n", names.join(", "));
    }
    if !s.pending_handoff.is_empty() {
        let names: Vec<String> = s.pending_handoff.iter().map(|r| r.to_string()).collect();
        out += &format!("Handed to (awaiting an answer): {}\n", names.join(", "));
    }
    if let Some(d) = &i.description
        && !d.is_empty()
    {
        out += &format!("\n{d}\n");
    }
    if !i.events.is_empty() {
        out += "\nThread:\n";
    }
    for e in &i.events {
        let at = e.at.map(when).unwrap_or_default();
        let what = match e.kind.as_str() {
            "comment" => format!("commented: {}", e.text.as_deref().unwrap_or("")),
            "status" => format!("set status to {}", e.text.as_deref().unwrap_or("")),
            "sealed" if e.waiting_for_key => "wrote something (waiting for the key)".into(),
            "sealed" => "wrote something this team cannot read".into(),
            "retracted" => format!("retracted {}", short(e.text.as_deref().unwrap_or(""))),
            "ack" => "acknowledged".into(),
            "accept" => "accepted the hand-off".into(),
            "decline" => format!("declined the hand-off: {}", e.text.as_deref().unwrap_or("")),
            "handoff" => format!("handed it to {}", e.text.as_deref().unwrap_or("")),
            "referral" => format!(
                "referred the reporter to {} (not forwarded)",
                e.text.as_deref().unwrap_or("")
            ),
            _ => format!("(refused: {})", e.text.as_deref().unwrap_or("")),
        };
        out += &format!("  {at}  {}  {what}\n", e.author);
    }
    out
}
