//! The `csirtmesh` command line: `init`, `charter`, `run`, and client
//! subcommands that talk to the running node through its admin API.
//!
//! Three parts, apart: `args` (what can be typed), this file (what each
//! command does: local work or one API call), `render` (how a typed answer
//! is shown: for people by default, JSON with `--json`; a closed pipe ends
//! the command quietly).

mod args;
mod backup;
mod doctor;
mod interop;
mod render;

use anyhow::{Context, Result};
use clap::Parser;
use tokio_util::sync::CancellationToken;

use args::*;
pub use render::when;
use render::*;

use crate::{
    api::{client::ApiClient, types::*},
    config::{Config, FileConfig},
    datadir::{DataDir, InitOptions},
    now_ms,
};

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

/// Shell completions for `shell`, from the command line's own definitions.
fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "csirtmesh", out);
}

/// The man page (roff): the command, its options and every subcommand.
fn man_page(out: &mut dyn std::io::Write) -> Result<()> {
    let cmd = <Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(cmd).render(out)?;
    Ok(())
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

/// What each command does: local work (`init`, `charter`, `run`) or one call
/// to the running node, whose typed answer [`render`] shows.
async fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Init(a) => init(a),
        Command::Completions { shell } => {
            completions(shell, &mut std::io::stdout());
            Ok(())
        }
        Command::Man => man_page(&mut std::io::stdout()),
        Command::Doctor(c) => doctor::doctor(c).await,
        Command::Backup(a) => backup::backup(a),
        Command::Restore(a) => backup::restore(a),
        Command::Charter(a) => charter(a),
        Command::Run(a) => run(a).await,
        Command::Status(c) => {
            let s = client(&c)?.status().await?;
            print(&c, &s, render_status)
        }
        Command::Peers {
            client: c,
            block,
            unblock,
            unblock_all,
            dial,
        } => {
            let req = PeerBlock {
                block,
                unblock,
                unblock_all,
                dial,
            };
            let s = client(&c)?.peers(&req).await?;
            print(&c, &s.blocked, render_blocked)
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
            print(&c, &p, published("Published a join request"))
        }
        Command::Vouch {
            client: c,
            team,
            days,
        } => {
            let req = act(
                MembershipAction::Vouch,
                Some(team),
                String::new(),
                Some(days),
            );
            let p = client(&c)?.membership(&req).await?;
            print(&c, &p, published("Vouched"))
        }
        Command::Invite {
            client: c,
            team,
            days,
            nodes,
        } => {
            let req = MembershipRequest {
                nodes,
                ..act(
                    MembershipAction::Invite,
                    Some(team),
                    String::new(),
                    Some(days),
                )
            };
            let p = client(&c)?.membership(&req).await?;
            print(&c, &p, published("Invited"))
        }
        Command::Object {
            client: c,
            team,
            reason,
        } => {
            let req = act(MembershipAction::Object, Some(team), reason, None);
            let p = client(&c)?.membership(&req).await?;
            print(&c, &p, published("Objected"))
        }
        Command::Suspend {
            client: c,
            team,
            reason,
        } => {
            let req = act(MembershipAction::Suspend, Some(team), reason, None);
            let p = client(&c)?.membership(&req).await?;
            print(&c, &p, published("Asked to suspend"))
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
            let req = act(MembershipAction::Revoke, None, reason, None);
            let p = client(&c)?.membership(&req).await?;
            print(&c, &p, published("Revoked this team's key"))
        }
        Command::Export(a) => interop::export(a).await,
        Command::Import(a) => interop::import(a).await,
        Command::Profile { client: c, details } => interop::profile(&c, details).await,
        Command::Report {
            client: c,
            about,
            indicators,
            country,
            title,
            description,
            tlp,
        } => {
            let req = NewReport {
                about: about.unwrap_or_default(),
                indicators,
                country,
                title,
                description,
                tlp: Some(tlp),
            };
            let r = client(&c)?.report(&req).await?;
            print(&c, &r, render_report)
        }
        Command::Directory(DirectoryCommand::Lookup {
            client: c,
            about,
            country,
        }) => {
            let r = client(&c)?.lookup(&about, country.as_deref()).await?;
            print(&c, &r, render_route)
        }
        Command::Handoff {
            client: c,
            id,
            to,
            note,
        } => step(&c, &id, StepAction::Handoff, to, note).await,
        Command::Ack { client: c, id } => {
            step(&c, &id, StepAction::Ack, vec![], String::new()).await
        }
        Command::Accept { client: c, id } => {
            step(&c, &id, StepAction::Accept, vec![], String::new()).await
        }
        Command::Decline {
            client: c,
            id,
            reason,
        } => step(&c, &id, StepAction::Decline, vec![], reason).await,
        Command::Retract {
            client: c,
            envelope,
            reason,
        } => {
            let p = client(&c)?.retract(&envelope, &reason).await?;
            print(&c, &p, published("Retracted; the tombstone is"))
        }
        Command::RotateKey {
            client: c,
            signing_only,
            age_only,
        } => {
            let req = crate::api::types::RotateKeyRequest {
                signing: !age_only,
                age: !signing_only,
            };
            let p = client(&c)?.rotate_key(req).await?;
            let what = match (req.signing, req.age) {
                (true, true) => {
                    "Replaced this team's signing and age keys (`csirtmesh status` shows the new TeamId); the new profile is"
                }
                (true, false) => {
                    "Rotated this team's signing key (`csirtmesh status` shows the new TeamId)"
                }
                _ => "Replaced this team's age key; the new profile is",
            };
            print(&c, &p, published(what))
        }
        Command::Envelopes(c) => {
            let e = client(&c)?.envelopes().await?;
            print(&c, &e, render_envelopes)
        }
        Command::Check(c) => {
            let r = client(&c)?.check().await?;
            print(&c, &r, render_check)
        }
        Command::Incident(cmd) => incident(cmd).await,
    }
}

/// A membership request.
fn act(
    action: MembershipAction,
    team: Option<String>,
    reason: String,
    days: Option<u64>,
) -> MembershipRequest {
    MembershipRequest {
        action,
        team,
        reason,
        days,
        nodes: vec![],
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
        details: interop::details(a.details)?,
    };
    let dir = DataDir::new(&a.data_dir);
    let profile = dir.init(&opts, now_ms())?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "team_id": profile.team.to_string(),
                "node_id": profile.peers.first().and_then(|b| net::peer_id_from_bytes(b)).map(|p| p.to_string()),
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
            "To found a mesh, share {} with your forum to be named in the charter.",
            dir.file(crate::datadir::files::PROFILE).display()
        );
        let node = profile
            .peers
            .first()
            .and_then(|b| net::peer_id_from_bytes(b))
            .map(|p| format!(" --node {p}"))
            .unwrap_or_default();
        println!(
            "To join one, send this to a member: it runs `csirtmesh invite {}{node}`, and your join request then enters the mesh.",
            profile.team
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
        metrics_listen: a.metrics_listen,
        external_addresses: a.external_addresses,
        private_network: a.private_network,
        sync_interval_secs: a.sync_interval_secs,
        emulate_delay_ms: a.emulate_delay_ms,
        emulate_loss: a.emulate_loss,
        emulate_censor: a.emulate_censor,
        emulate_bandwidth_kbps: a.emulate_bandwidth_kbps,
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

async fn step(
    c: &ClientArgs,
    id: &str,
    action: StepAction,
    to: Vec<String>,
    note: String,
) -> Result<()> {
    let p = client(c)?
        .step(id, &IncidentStep { action, to, note })
        .await?;
    print(c, &p, |p| {
        format!("{}: done ({})\n", action.as_str(), short(&p.id))
    })
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
            indicators,
        } => {
            let p = client(&c)?
                .open(&NewIncident {
                    title,
                    description,
                    tlp,
                    to,
                    indicators,
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
            let p = client(&c)?.set_status(&id, status).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Completions and the man page come from the same definitions as the
    /// parser: every subcommand and flag is in them (a new flag appears
    /// without anyone remembering to add it).
    #[test]
    fn completions_and_the_man_page_cover_every_command() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut out = Vec::new();
            completions(shell, &mut out);
            let text = String::from_utf8(out).unwrap();
            for word in ["rotate-key", "age-only", "directory", "completions"] {
                assert!(text.contains(word), "{shell:?} completions lack {word}");
            }
        }
        let mut out = Vec::new();
        man_page(&mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.starts_with(".ie") && page.contains(".TH csirtmesh 1"));
        let cmd = <Cli as clap::CommandFactory>::command();
        for sub in cmd.get_subcommands() {
            // roff spells a hyphen `\-`.
            assert!(
                page.contains(&sub.get_name().replace('-', "\\-")),
                "the man page lacks {}",
                sub.get_name()
            );
        }
    }

    /// The Debian package ships the man page and completions from
    /// `node/packaging/` (`cargo deb` packages files, it runs nothing):
    /// they must be what this command line generates. Regenerate with
    /// `CSIRTMESH_UPDATE_PACKAGING=1 cargo test -p csirtmesh packaged`.
    #[test]
    fn the_packaged_man_page_and_completions_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging");
        let mut files: Vec<(std::path::PathBuf, Vec<u8>)> = Vec::new();
        let mut page = Vec::new();
        man_page(&mut page).unwrap();
        files.push((dir.join("csirtmesh.1"), page));
        for (shell, name) in [
            (clap_complete::Shell::Bash, "csirtmesh.bash"),
            (clap_complete::Shell::Zsh, "_csirtmesh"),
            (clap_complete::Shell::Fish, "csirtmesh.fish"),
        ] {
            let mut out = Vec::new();
            completions(shell, &mut out);
            files.push((dir.join("completions").join(name), out));
        }
        let update = std::env::var_os("CSIRTMESH_UPDATE_PACKAGING").is_some();
        for (path, want) in files {
            if update {
                std::fs::write(&path, &want).unwrap();
            }
            let have = std::fs::read(&path).unwrap_or_default();
            assert!(
                have == want,
                "{} is out of date: run CSIRTMESH_UPDATE_PACKAGING=1 cargo test -p csirtmesh packaged",
                path.display()
            );
        }
    }

    /// Bash itself parses the bash completions.
    #[test]
    fn bash_parses_the_bash_completions() {
        let mut out = Vec::new();
        completions(clap_complete::Shell::Bash, &mut out);
        let mut child = match std::process::Command::new("bash")
            .arg("-n")
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => panic!("bash is needed to check the completions: {e}"),
        };
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&out).unwrap();
        let done = child.wait_with_output().unwrap();
        assert!(
            done.status.success(),
            "bash -n: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
}
