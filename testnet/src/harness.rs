//! A local testnet of real node processes on loopback.
//!
//! Each node is its own OS process running the `csirtmesh` command line (the
//! testnet binary re-executes itself as `testnet node ...`, which is the same
//! code as the `csirtmesh` binary), with its own data directory under one
//! temporary directory. The harness talks to nodes only through their admin
//! API, as an operator would. Every process it starts is killed and reaped
//! when the [`Testnet`] is dropped, and every wait is bounded.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use csirtmesh::{
    api::{client::ApiClient, types::StatusView},
    datadir::{DataDir, InitOptions, files},
    now_ms,
};

/// How to start a node process: a program and the arguments that make it
/// act as `csirtmesh`.
#[derive(Clone, Debug)]
pub struct NodeCommand {
    /// The program.
    pub program: PathBuf,
    /// Arguments before the `csirtmesh` ones (e.g. `["node"]`).
    pub prefix: Vec<String>,
}

impl NodeCommand {
    /// This very binary, re-executed as `<exe> node ...`.
    pub fn this_binary() -> Result<Self> {
        Ok(NodeCommand {
            program: std::env::current_exe().context("cannot find the testnet binary")?,
            prefix: vec!["node".into()],
        })
    }

    /// Runs a one-shot `csirtmesh` command (not a node), bounded by
    /// `limit` (killed past it); fails unless it exits 0.
    pub async fn run_cli(&self, args: &[&std::ffi::OsStr], limit: Duration) -> Result<String> {
        let child = tokio::process::Command::new(&self.program)
            .args(&self.prefix)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(limit, child)
            .await
            .with_context(|| format!("csirtmesh {args:?} did not finish within {limit:?}"))??;
        if !out.status.success() {
            bail!(
                "csirtmesh {args:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// One team of the testnet.
pub struct TeamNode {
    /// Its name.
    pub name: String,
    /// Its data directory.
    pub dir: DataDir,
    /// Its process, while running.
    child: Option<Child>,
}

impl TeamNode {
    /// Whether its process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

/// A set of teams sharing one charter, each with a data directory.
pub struct Testnet {
    /// Keeps the temporary directory alive (removed on drop).
    /// The directory, removed on drop unless TESTNET_KEEP is set.
    _tmp: Option<tempfile::TempDir>,
    /// The root of every data directory.
    pub root: PathBuf,
    /// The charter file.
    pub charter: PathBuf,
    /// The teams, in creation order.
    pub teams: Vec<TeamNode>,
    command: NodeCommand,
    /// The first node's address, given to the others as bootstrap.
    bootstrap: Option<String>,
    sync_interval_secs: u64,
    /// Emulated delay (ms) and loss on every node's incoming links.
    pub emulation: Option<(u64, f64)>,
    /// Link emulation flags for particular teams, instead of `emulation`
    /// (a slow link, a censoring member).
    pub team_emulation: std::collections::HashMap<String, Vec<String>>,
}

/// The admin API request by which a member vouches for `team`.
pub fn vouch(team: &str) -> csirtmesh::api::types::MembershipRequest {
    csirtmesh::api::types::MembershipRequest {
        action: csirtmesh::api::types::MembershipAction::Vouch,
        team: Some(team.into()),
        reason: String::new(),
        days: None,
        nodes: vec![],
    }
}

/// The admin API request by which a member invites the team with this id,
/// naming its node (what the team sends along with its id).
pub fn invite(team_id: &str, node_id: &str) -> csirtmesh::api::types::MembershipRequest {
    csirtmesh::api::types::MembershipRequest {
        action: csirtmesh::api::types::MembershipAction::Invite,
        team: Some(team_id.into()),
        reason: String::new(),
        days: None,
        nodes: vec![node_id.into()],
    }
}

/// Per-node CPU and memory, over the running nodes.
#[derive(Debug, Default, serde::Serialize)]
pub struct ResourceSummary {
    /// Nodes measured.
    pub nodes: usize,
    /// CPU seconds (user + system) since each node started: median.
    pub cpu_s_median: f64,
    /// CPU seconds: max.
    pub cpu_s_max: f64,
    /// Peak resident memory (VmHWM), MiB: median.
    pub rss_peak_mib_median: f64,
    /// Peak resident memory, MiB: max.
    pub rss_peak_mib_max: f64,
}

/// How long a node may take to start and answer its API.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

impl Testnet {
    /// Creates teams (identities, and one charter naming the first `founders`
    /// of them; the others must join by endorsement).
    pub fn create(
        command: NodeCommand,
        names: &[&str],
        founders: usize,
        sync_interval_secs: u64,
    ) -> Result<Self> {
        let teams: Vec<(&str, InitOptions)> =
            names.iter().map(|n| (*n, InitOptions::default())).collect();
        Self::create_with(command, &teams, founders, sync_interval_secs)
    }

    /// Like [`Testnet::create`], with each team's profile options
    /// (constituency, roles); names and country come from here.
    pub fn create_with(
        command: NodeCommand,
        teams_opts: &[(&str, InitOptions)],
        founders: usize,
        sync_interval_secs: u64,
    ) -> Result<Self> {
        let tmp = tempfile::Builder::new()
            .prefix("csirtmesh-testnet-")
            .tempdir()?;
        let root = tmp.path().to_path_buf();
        let mut teams = Vec::new();
        for (name, opts) in teams_opts {
            let dir = DataDir::new(root.join(name));
            dir.init(
                &InitOptions {
                    name: (*name).to_owned(),
                    country: Some("BR".into()),
                    ..opts.clone()
                },
                now_ms(),
            )?;
            teams.push(TeamNode {
                name: (*name).to_owned(),
                dir,
                child: None,
            });
        }
        let founder_dirs: Vec<PathBuf> = teams
            .iter()
            .take(founders.max(1))
            .map(|t| t.dir.root().to_path_buf())
            .collect();
        let (_, text) =
            csirtmesh::make_charter("Testnet forum", &founder_dirs, 2, None, None, now_ms())?;
        let charter = root.join("charter.toml");
        fs::write(&charter, text)?;
        Ok(Testnet {
            _tmp: if std::env::var_os("TESTNET_KEEP").is_some() {
                eprintln!("keeping {} (TESTNET_KEEP)", tmp.path().display());
                let _ = tmp.keep();
                None
            } else {
                Some(tmp)
            },
            root,
            charter,
            teams,
            command,
            bootstrap: None,
            sync_interval_secs,
            emulation: None,
            team_emulation: Default::default(),
        })
    }

    /// A team's id, read from its data directory (what the team would send a
    /// member out of band to be invited).
    pub fn team_id(&self, name: &str) -> Result<proto::TeamId> {
        Ok(self.teams[self.index(name)?].dir.team_keys()?.team_id())
    }

    /// `sponsor` invites the team `name` by its id and node id.
    pub async fn invite(&self, sponsor: &str, name: &str) -> Result<()> {
        let id = self.team_id(name)?.to_string();
        let node = self.teams[self.index(name)?].dir.node_key()?.peer_id();
        self.api(sponsor)?
            .membership(&invite(&id, &node.to_string()))
            .await?;
        Ok(())
    }

    /// The testnet's temporary directory (data directories, logs).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A team's data directory (its keys, for drills that play a thief).
    pub fn data_dir(&self, name: &str) -> Result<&DataDir> {
        Ok(&self.teams[self.index(name)?].dir)
    }

    /// The index of a team by name.
    pub fn index(&self, name: &str) -> Result<usize> {
        self.teams
            .iter()
            .position(|t| t.name == name)
            .with_context(|| format!("no team {name} in this testnet"))
    }

    /// The bootstrap address (the first started node's TCP address).
    pub fn bootstrap(&self) -> Option<&str> {
        self.bootstrap.as_deref()
    }

    /// The API client of a running team.
    pub fn api(&self, name: &str) -> Result<ApiClient> {
        ApiClient::for_data_dir(&self.teams[self.index(name)?].dir)
    }

    /// Starts a team's node and waits until its API answers.
    pub async fn start(&mut self, name: &str) -> Result<StatusView> {
        self.start_listening(name, &["/ip4/127.0.0.1/tcp/0".to_owned()])
            .await
    }

    /// Starts a team's node listening on `listen` (e.g. only a relay circuit).
    pub async fn start_listening(&mut self, name: &str, listen: &[String]) -> Result<StatusView> {
        let i = self.index(name)?;
        if self.teams[i].child.is_some() {
            bail!("{name} is already running");
        }
        let dir = self.teams[i].dir.clone();
        // A killed node leaves its api.addr behind; the new one rewrites it.
        let _ = fs::remove_file(dir.file(files::API_ADDR));
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join(format!("{name}.log")))?;
        let mut cmd = Command::new(&self.command.program);
        cmd.args(&self.command.prefix)
            .arg("run")
            .arg("--data-dir")
            .arg(dir.root())
            .arg("--charter")
            .arg(&self.charter)
            .args(
                listen
                    .iter()
                    .flat_map(|l| ["--listen".to_owned(), l.clone()]),
            )
            .args(["--sync-interval-secs", &self.sync_interval_secs.to_string()])
            // Loopback is a private network: AutoNAT dials back there too.
            .arg("--private-network")
            .env(
                "RUST_LOG",
                std::env::var("CSIRTMESH_TESTNET_LOG")
                    .unwrap_or_else(|_| "info,libp2p=warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some(b) = &self.bootstrap {
            cmd.args(["--bootstrap", b]);
        }
        if let Some(flags) = self.team_emulation.get(name) {
            cmd.args(flags);
        } else if let Some((delay_ms, loss)) = self.emulation {
            cmd.args(["--emulate-delay-ms", &delay_ms.to_string()]);
            cmd.args(["--emulate-loss", &loss.to_string()]);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start node {name}"))?;
        self.teams[i].child = Some(child);
        let status = self.wait_ready(name).await?;
        if self.bootstrap.is_none() {
            self.bootstrap = status
                .listen_addrs
                .iter()
                .find(|a| a.contains("/tcp/"))
                .cloned();
        }
        Ok(status)
    }

    async fn wait_ready(&mut self, name: &str) -> Result<StatusView> {
        let deadline = Instant::now() + START_TIMEOUT;
        let i = self.index(name)?;
        loop {
            if let Some(child) = self.teams[i].child.as_mut()
                && let Some(exit) = child.try_wait()?
            {
                self.teams[i].child = None;
                bail!(
                    "node {name} exited during start ({exit}); see {}",
                    self.root.join(format!("{name}.log")).display()
                );
            }
            if let Ok(api) = ApiClient::for_data_dir(&self.teams[i].dir)
                && let Ok(s) = api.status().await
            {
                return Ok(s);
            }
            if Instant::now() > deadline {
                bail!("node {name} did not answer within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// CPU seconds used and peak resident memory (MiB) of a running node,
    /// from /proc (Linux); `None` elsewhere or when it is not running.
    pub fn resources(&self, name: &str) -> Option<(f64, f64)> {
        let i = self.index(name).ok()?;
        process_resources(self.teams[i].child.as_ref()?.id())
    }

    /// Median and max of CPU seconds and peak RSS over the running nodes.
    pub fn resource_summary(&self) -> ResourceSummary {
        let (mut cpu, mut rss): (Vec<f64>, Vec<f64>) = self
            .teams
            .iter()
            .filter_map(|t| self.resources(&t.name))
            .unzip();
        cpu.sort_by(|a, b| a.total_cmp(b));
        rss.sort_by(|a, b| a.total_cmp(b));
        let med = |v: &Vec<f64>| v.get(v.len() / 2).copied().unwrap_or(0.0);
        ResourceSummary {
            nodes: cpu.len(),
            cpu_s_median: med(&cpu),
            cpu_s_max: cpu.last().copied().unwrap_or(0.0),
            rss_peak_mib_median: med(&rss),
            rss_peak_mib_max: rss.last().copied().unwrap_or(0.0),
        }
    }

    /// Kills a team's node with SIGKILL (no chance to clean up) and reaps it.
    pub fn kill(&mut self, name: &str) -> Result<()> {
        let i = self.index(name)?;
        if let Some(mut child) = self.teams[i].child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Pauses (SIGSTOP) or resumes (SIGCONT) a team's node: a paused node
    /// keeps its connections open but answers nothing, like a hung machine.
    #[cfg(unix)]
    pub fn pause(&mut self, name: &str, pause: bool) -> Result<()> {
        use nix::{sys::signal, unistd::Pid};
        let i = self.index(name)?;
        let Some(child) = self.teams[i].child.as_ref() else {
            bail!("{name} is not running");
        };
        let pid = Pid::from_raw(i32::try_from(child.id())?);
        let sig = if pause {
            signal::Signal::SIGSTOP
        } else {
            signal::Signal::SIGCONT
        };
        signal::kill(pid, sig)?;
        Ok(())
    }

    /// Stops a team's node with SIGTERM and waits (bounded) for it to exit.
    pub async fn stop(&mut self, name: &str) -> Result<()> {
        let i = self.index(name)?;
        if let Some(mut child) = self.teams[i].child.take() {
            terminate(&child);
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait()?.is_none() {
                if Instant::now() > deadline {
                    child.kill()?;
                    child.wait()?;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// Stops every node (SIGTERM, then SIGKILL after a bound).
    pub async fn stop_all(&mut self) {
        let names: Vec<String> = self.teams.iter().map(|t| t.name.clone()).collect();
        for n in names {
            let _ = self.stop(&n).await;
        }
    }

    /// Waits (bounded) until each of `names` has at least `peers` connections.
    pub async fn wait_connected<S: AsRef<str>>(
        &self,
        names: &[S],
        peers: usize,
        limit: Duration,
    ) -> Result<Duration, String> {
        Self::wait_for(limit, || async {
            for n in names {
                if self.api(n.as_ref())?.status().await?.peers.len() < peers {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await
    }

    /// Waits (bounded) until each of `names` counts at least `members` members.
    pub async fn wait_members<S: AsRef<str>>(
        &self,
        names: &[S],
        members: usize,
        limit: Duration,
    ) -> Result<Duration, String> {
        self.wait_each(names, limit, |m| m.members.len() >= members)
            .await
    }

    /// Waits (bounded) until each of `names` counts `team` as a member.
    pub async fn wait_member<S: AsRef<str>>(
        &self,
        names: &[S],
        team: &str,
        limit: Duration,
    ) -> Result<Duration, String> {
        self.wait_each(names, limit, |m| {
            m.members
                .iter()
                .any(|p| p.team.name.as_deref() == Some(team))
        })
        .await
    }

    /// Waits (bounded) until each of `names` holds `team`'s join request.
    pub async fn wait_applicant<S: AsRef<str>>(
        &self,
        names: &[S],
        team: &str,
        limit: Duration,
    ) -> Result<Duration, String> {
        self.wait_each(names, limit, |m| {
            m.applicants
                .iter()
                .any(|a| a.team.name.as_deref() == Some(team))
        })
        .await
    }

    /// Waits (bounded) until `holds` is true of each of `names`' member view.
    async fn wait_each<S: AsRef<str>>(
        &self,
        names: &[S],
        limit: Duration,
        holds: impl Fn(&csirtmesh::api::types::MembersView) -> bool,
    ) -> Result<Duration, String> {
        Self::wait_for(limit, || async {
            for n in names {
                if !holds(&self.api(n.as_ref())?.members().await?) {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await
    }

    /// Waits until `check` holds, polling every 200 ms, for at most `limit`.
    /// Returns how long it took, or the last reason it did not hold.
    pub async fn wait_for<F, Fut>(limit: Duration, mut check: F) -> Result<Duration, String>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<bool>>,
    {
        let start = Instant::now();
        let mut last = String::from("condition never held");
        loop {
            match check().await {
                Ok(true) => return Ok(start.elapsed()),
                Ok(false) => {}
                Err(e) => last = format!("{e:#}"),
            }
            if start.elapsed() > limit {
                return Err(format!("not within {limit:?}: {last}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[cfg(unix)]
fn terminate(child: &Child) {
    use nix::{sys::signal, unistd::Pid};
    // SIGTERM lets the node shut down cleanly; a pid that no longer exists is fine.
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = signal::kill(Pid::from_raw(pid), signal::Signal::SIGTERM);
        // A paused node handles SIGTERM only once it runs again.
        let _ = signal::kill(Pid::from_raw(pid), signal::Signal::SIGCONT);
    }
}

#[cfg(not(unix))]
fn terminate(_child: &Child) {}

impl Drop for Testnet {
    fn drop(&mut self) {
        for t in &mut self.teams {
            if let Some(mut child) = t.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// CPU seconds used and peak resident memory (MiB) of a process, from
/// /proc (Linux); `None` elsewhere or when it is gone.
pub fn process_resources(pid: u32) -> Option<(f64, f64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let cpu = ticks / 100.0; // USER_HZ is 100 on Linux
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm_kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((cpu, hwm_kb / 1024.0))
}
