//! `testnet holepunch`: two teams behind firewalls reach each other
//! directly after a hole punch (DCUtR) through a member's relay.
//!
//! Three network namespaces made for the run: `r` holds the relay team's
//! node and routes between the two others; `x` and `y` each hold a team's
//! node behind a stateful firewall (iptables: only replies, and the relay's
//! own traffic, come in). So X and Y cannot dial each other: Y reaches X
//! only through the relay, and a direct connection between them exists
//! only if both dial at once through their firewalls, which is what DCUtR
//! arranges over the relayed connection. The node processes run in the
//! namespaces; their admin APIs are on each namespace's loopback, so the
//! harness asks them through the command line run in the namespace.
//!
//! Needs root, `ip` (iproute2) and `iptables`; without them the report says
//! the run was skipped and why. Every namespace and process is removed on
//! return, whatever happened.

use std::{
    ffi::OsString,
    fs,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use csirtmesh::{
    api::types::StatusView,
    datadir::{DataDir, InitOptions},
    now_ms,
};
use serde::Serialize;

use crate::harness::NodeCommand;

/// A bound on each wait.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// What the run found.
#[derive(Debug, Default, Serialize)]
pub struct HolepunchReport {
    /// Why the run did not happen, if it did not.
    pub skipped: Option<String>,
    /// The firewalls work: a TCP connection from y to X's listening port,
    /// and from x to Y's, times out (dropped), while one from r to X's
    /// succeeds (X listens; the probe works).
    pub direct_dial_blocked: bool,
    /// Y connected to X through the relay.
    pub relayed: bool,
    /// Hole punches X and Y counted (DCUtR upgrades).
    pub hole_punches: u64,
    /// From Y's relayed dial until a hole punch was counted, ms.
    pub hole_punch_ms: u64,
    /// With the relay's node killed, Y is still connected to X: only a
    /// direct connection remains, and through the firewalls only a hole
    /// punch makes one.
    pub direct_after_relay_gone: bool,
    /// An AMBER incident from Y to X reached X after the relay's node was
    /// killed.
    pub delivered: bool,
}

impl crate::Report for HolepunchReport {
    fn held(&self) -> bool {
        self.skipped.is_some()
            || (self.direct_dial_blocked
                && self.relayed
                && self.hole_punches > 0
                && self.direct_after_relay_gone
                && self.delivered)
    }
}

impl std::fmt::Display for HolepunchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(why) = &self.skipped {
            return writeln!(f, "Hole punch: SKIPPED: {why}");
        }
        writeln!(
            f,
            "Hole punch (DCUtR) between two teams behind firewalls, through a member's relay"
        )?;
        writeln!(
            f,
            "  direct dial blocked by the firewalls: {}",
            self.direct_dial_blocked
        )?;
        writeln!(f, "  relayed connection: {}", self.relayed)?;
        writeln!(
            f,
            "  hole punches: {} ({} ms after the relayed dial)",
            self.hole_punches, self.hole_punch_ms
        )?;
        writeln!(
            f,
            "  relay's node killed, Y still connected to X: {}",
            self.direct_after_relay_gone
        )?;
        writeln!(
            f,
            "  AMBER incident Y -> X delivered without the relay: {}",
            self.delivered
        )?;
        writeln!(
            f,
            "{}",
            if crate::Report::held(self) {
                "HELD"
            } else {
                "FAILED"
            }
        )
    }
}

/// Why this machine cannot run it, if it cannot.
fn unavailable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (network namespaces)".into());
    }
    for tool in ["ip", "iptables"] {
        let found = Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            return Some(format!("needs {tool} (Debian packages iproute2, iptables)"));
        }
    }
    let probe = format!("cmhp-probe-{}", std::process::id());
    if sh(&["ip", "netns", "add", &probe]).is_err() {
        return Some("cannot create a network namespace here (no CAP_SYS_ADMIN?)".into());
    }
    let _ = sh(&["ip", "netns", "del", &probe]);
    None
}

/// The namespaces, deleted (with what runs in them) on drop.
struct Namespaces {
    names: Vec<String>,
    children: Vec<Child>,
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

fn sh(args: &[&str]) -> Result<()> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .with_context(|| format!("cannot run {args:?}"))?;
    if !out.status.success() {
        bail!(
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Builds r, x and y: x (10.99.1.2) and y (10.99.2.2) routed through r,
/// each behind a firewall that lets in only replies and the relay.
fn topology(tag: &str) -> Result<(Namespaces, [String; 3])> {
    let [r, x, y] = ["r", "x", "y"].map(|n| format!("cmhp-{tag}-{n}"));
    let mut ns = Namespaces {
        names: Vec::new(),
        children: Vec::new(),
    };
    for n in [&r, &x, &y] {
        sh(&["ip", "netns", "add", n])?;
        ns.names.push(n.clone());
        sh(&["ip", "-n", n, "link", "set", "lo", "up"])?;
    }
    for (side, net) in [(&x, 1), (&y, 2)] {
        let (outer, inner) = (format!("hp{tag}r{net}"), format!("hp{tag}s{net}"));
        sh(&[
            "ip", "link", "add", &outer, "netns", &r, "type", "veth", "peer", "name", &inner,
            "netns", side,
        ])?;
        sh(&[
            "ip",
            "-n",
            &r,
            "addr",
            "add",
            &format!("10.99.{net}.1/24"),
            "dev",
            &outer,
        ])?;
        sh(&["ip", "-n", &r, "link", "set", &outer, "up"])?;
        sh(&[
            "ip",
            "-n",
            side,
            "addr",
            "add",
            &format!("10.99.{net}.2/24"),
            "dev",
            &inner,
        ])?;
        sh(&["ip", "-n", side, "link", "set", &inner, "up"])?;
        sh(&[
            "ip",
            "-n",
            side,
            "route",
            "add",
            "default",
            "via",
            &format!("10.99.{net}.1"),
        ])?;
        let relay = format!("10.99.{net}.1");
        for rule in [
            vec!["-A", "INPUT", "-i", "lo", "-j", "ACCEPT"],
            vec![
                "-A",
                "INPUT",
                "-m",
                "conntrack",
                "--ctstate",
                "ESTABLISHED,RELATED",
                "-j",
                "ACCEPT",
            ],
            vec!["-A", "INPUT", "-s", &relay, "-j", "ACCEPT"],
            vec!["-A", "INPUT", "-j", "DROP"],
        ] {
            let mut args = vec!["ip", "netns", "exec", side, "iptables", "-w"];
            args.extend(rule);
            sh(&args)?;
        }
    }
    sh(&[
        "ip",
        "netns",
        "exec",
        &r,
        "sh",
        "-c",
        "echo 1 > /proc/sys/net/ipv4/ip_forward",
    ])?;
    Ok((ns, [r, x, y]))
}

/// Runs the scenario.
pub fn run(command: NodeCommand) -> Result<HolepunchReport> {
    if let Some(why) = unavailable() {
        return Ok(HolepunchReport {
            skipped: Some(why),
            ..Default::default()
        });
    }
    let tmp = tempfile::Builder::new()
        .prefix("csirtmesh-holepunch-")
        .tempdir()?;
    let _kept;
    let tmp_path = if std::env::var_os("TESTNET_KEEP").is_some() {
        eprintln!("keeping {} (TESTNET_KEEP)", tmp.path().display());
        _kept = None;
        tmp.keep()
    } else {
        let p = tmp.path().to_owned();
        _kept = Some(tmp);
        p
    };
    let dirs: Vec<DataDir> = ["CSIRT-R", "CSIRT-X", "CSIRT-Y"]
        .iter()
        .map(|n| DataDir::new(tmp_path.join(n)))
        .collect();
    for (dir, name) in dirs.iter().zip(["CSIRT-R", "CSIRT-X", "CSIRT-Y"]) {
        let mut o = InitOptions {
            name: name.into(),
            ..Default::default()
        };
        if name == "CSIRT-R" {
            o.roles = vec![proto::Role::Relay];
        }
        dir.init(&o, now_ms())?;
    }
    // After the directory: namespaces (and their processes) go first.
    let tag = format!("{}", std::process::id() % 100_000);
    let (mut ns, [r, x, y]) = topology(&tag)?;
    let roots: Vec<PathBuf> = dirs.iter().map(|d| d.root().to_owned()).collect();
    let (_, text) = csirtmesh::make_charter("Hole punch", &roots, 2, None, None, now_ms())?;
    let charter = tmp_path.join("charter.toml");
    fs::write(&charter, text)?;
    let peer = |d: &DataDir| -> Result<String> { Ok(d.node_key()?.peer_id().to_string()) };
    let (rp, xp) = (peer(&dirs[0])?, peer(&dirs[1])?);
    let start =
        |ns_name: &str, dir: &DataDir, listen: &[String], bootstrap: &[String]| -> Result<Child> {
            let log = fs::File::create(dir.root().with_extension("log"))?;
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", ns_name])
                .arg(&command.program)
                .args(&command.prefix)
                .arg("run")
                .arg("--data-dir")
                .arg(dir.root())
                .arg("--charter")
                .arg(&charter)
                .args(["--sync-interval-secs", "1", "--private-network"])
                .args(
                    listen
                        .iter()
                        .flat_map(|l| ["--listen".to_owned(), l.clone()]),
                )
                .args(
                    bootstrap
                        .iter()
                        .flat_map(|b| ["--bootstrap".to_owned(), b.clone()]),
                )
                .env("RUST_LOG", "info,libp2p=warn,csirtmesh_net=debug")
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log);
            Ok(cmd.spawn()?)
        };
    ns.children.push(start(
        &r,
        &dirs[0],
        &[
            "/ip4/0.0.0.0/tcp/4001".into(),
            "/ip4/0.0.0.0/udp/4001/quic-v1".into(),
        ],
        &[],
    )?);
    for (i, (name, net)) in [(&x, 1), (&y, 2)].into_iter().enumerate() {
        let relay = format!("/ip4/10.99.{net}.1/tcp/4001/p2p/{rp}");
        ns.children.push(start(
            name,
            &dirs[i + 1],
            &[
                format!("/ip4/10.99.{net}.2/tcp/4001"),
                format!("/ip4/10.99.{net}.2/udp/4001/quic-v1"),
                format!("{relay}/p2p-circuit"),
            ],
            std::slice::from_ref(&relay),
        )?);
    }
    let cli = Cli {
        command: command.clone(),
    };
    let mut report = HolepunchReport::default();
    // X listens through the relay once admitted there.
    let x_circuit = wait(|| {
        let s = cli.status(&x, &dirs[1])?;
        Ok(s.listen_addrs
            .iter()
            .find(|a| a.contains("/p2p-circuit"))
            .cloned())
    })
    .context("X never listened through the relay")?;
    // The firewalls: new connections between x and y are dropped both
    // ways, while r reaches X (so X listens and the probe works).
    let yp = peer(&dirs[2])?;
    wait(|| Ok(tcp_connects(&r, "10.99.1.2").then_some(())))
        .context("X's node never listened on 10.99.1.2:4001")?;
    report.direct_dial_blocked = !tcp_connects(&y, "10.99.1.2") && !tcp_connects(&x, "10.99.2.2");
    // Through the relay, then the hole punch.
    let dialled = Instant::now();
    cli.dial(&y, &dirs[2], &x_circuit)?;
    report.relayed = wait(|| {
        let s = cli.status(&y, &dirs[2])?;
        Ok(s.peers
            .iter()
            .any(|p| p.peer_id == xp && p.via_relay)
            .then_some(()))
    })
    .is_ok();
    let punched = wait(|| {
        let n = cli.status(&x, &dirs[1])?.hole_punches + cli.status(&y, &dirs[2])?.hole_punches;
        Ok((n > 0).then_some(n))
    });
    if let Ok(n) = punched {
        report.hole_punches = n;
        report.hole_punch_ms = dialled.elapsed().as_millis() as u64;
    }
    // The relay goes: what remains between X and Y is direct.
    if let Some(relay) = ns.children.first_mut() {
        let _ = relay.kill();
        let _ = relay.wait();
    }
    std::thread::sleep(Duration::from_secs(2));
    report.direct_after_relay_gone = cli
        .status(&y, &dirs[2])?
        .peers
        .iter()
        .any(|p| p.peer_id == xp)
        && cli
            .status(&x, &dirs[1])?
            .peers
            .iter()
            .any(|p| p.peer_id == yp);
    let id = cli.open_amber(&y, &dirs[2], "CSIRT-X")?;
    report.delivered = wait(|| {
        let out = cli.run(&x, &dirs[1], &["envelopes", "--json"])?;
        Ok(out.contains(&id).then_some(()))
    })
    .is_ok();
    drop(ns);
    Ok(report)
}

/// The command line, run inside a namespace (where the node's API is).
struct Cli {
    command: NodeCommand,
}

impl Cli {
    fn run(&self, ns: &str, dir: &DataDir, args: &[&str]) -> Result<String> {
        let mut all: Vec<OsString> = vec!["netns".into(), "exec".into(), ns.into()];
        all.push(self.command.program.clone().into());
        all.extend(self.command.prefix.iter().map(OsString::from));
        all.extend(args.iter().map(OsString::from));
        all.push("--data-dir".into());
        all.push(dir.root().into());
        let out = Command::new("ip").args(&all).output()?;
        if !out.status.success() {
            bail!(
                "{args:?} in {ns}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn status(&self, ns: &str, dir: &DataDir) -> Result<StatusView> {
        Ok(serde_json::from_str(&self.run(
            ns,
            dir,
            &["status", "--json"],
        )?)?)
    }

    fn dial(&self, ns: &str, dir: &DataDir, addr: &str) -> Result<()> {
        // A dial that fails (the firewall) is an answer too.
        let _ = self.run(ns, dir, &["peers", "--dial", addr, "--json"]);
        Ok(())
    }

    fn open_amber(&self, ns: &str, dir: &DataDir, to: &str) -> Result<String> {
        let out = self.run(
            ns,
            dir,
            &[
                "incident",
                "open",
                "--json",
                "--tlp",
                "amber",
                "--to",
                to,
                "--title",
                "Through the hole punch",
            ],
        )?;
        let v: serde_json::Value = serde_json::from_str(&out)?;
        v["id"]
            .as_str()
            .map(str::to_owned)
            .context("incident open --json names the envelope")
    }
}

/// Whether a TCP connection from namespace `ns` to `host`:4001 opens within
/// 3 s (a dropped SYN times out).
fn tcp_connects(ns: &str, host: &str) -> bool {
    Command::new("ip")
        .args(["netns", "exec", ns, "timeout", "3", "bash", "-c"])
        .arg(format!("exec 3<>/dev/tcp/{host}/4001"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Polls `check` until it gives a value, bounded by [`STEP_TIMEOUT`].
fn wait<T>(mut check: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        if let Ok(Some(v)) = check() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("not within {STEP_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
