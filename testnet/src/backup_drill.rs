//! `testnet backup-drill` and `testnet bench backup`.
//!
//! The drill: three teams on real node processes. A backs up its running
//! node (`csirtmesh backup`), keeps working (publishes; B and C publish to
//! it), then its node is killed and its data directory destroyed. It is
//! restored from the backup (`csirtmesh restore`) and started again. It must
//! catch up on everything it missed (its own envelopes written after the
//! backup among them), read what was sealed to it, and write again without
//! forking its own chain (B and C see no fork and keep it a member).
//!
//! What A acknowledged after the backup survives because it reached B or C
//! before the loss (the drill waits for that): a node's own disk is the
//! only copy of what it acknowledged until gossip carries it on.
//!
//! The bench: a data directory with a store of N envelopes (a mix of sizes
//! and labels over three years), backed up and restored through the
//! command line; figures are medians of runs, against copying the database
//! file (with fsync) in the same run.

use std::{
    ffi::OsStr,
    fs,
    io::Write,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use csirtmesh::{
    api::types::{Label, NewIncident},
    datadir::{DataDir, InitOptions, files},
    now_ms,
};
use proto::Tlp;
use serde::Serialize;

use crate::{
    harness::{NodeCommand, Testnet},
    progress::Progress,
    stats::median,
};

/// A bound on each wait of the drill.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// A bound on one backup or restore command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);
/// The drill's passphrase.
const PASSPHRASE: &str = "testnet drill passphrase, not secret";

/// What the drill found.
#[derive(Debug, Default, Serialize)]
pub struct BackupDrillReport {
    /// Envelopes in A's store when it was backed up.
    pub backed_up_envelopes: u64,
    /// The backup file's size.
    pub backup_bytes: u64,
    /// `csirtmesh backup` of the running node, wall time.
    pub backup_ms: u64,
    /// `csirtmesh restore`, wall time.
    pub restore_ms: u64,
    /// Envelopes acknowledged after the backup (by A, B and C).
    pub written_after_backup: usize,
    /// Of those, how many the restored node holds at the end.
    pub recovered: usize,
    /// `written_after_backup - recovered` (must be 0).
    pub lost: usize,
    /// Of those sealed to A (AMBER from B and C), how many it reads.
    pub readable_after_restore: usize,
    /// Sealed to A after the backup.
    pub sealed_to_a_after_backup: usize,
    /// From the restored node's start until it said it had caught up.
    pub caught_up_ms: u64,
    /// Whether the restored node refused to write before it caught up, or
    /// had caught up already by the first try.
    pub wrote_only_after_catching_up: bool,
    /// The first try, at once after the start, was refused (it had not
    /// caught up yet).
    pub refused_while_catching_up: bool,
    /// A's first envelope after the restore reached B and C.
    pub write_after_restore_delivered: bool,
    /// Forks B and C record (must be 0: A did not fork its own chain).
    pub forks_seen: usize,
    /// A is still a member in B's and C's view.
    pub still_a_member: bool,
}

impl crate::Report for BackupDrillReport {
    fn held(&self) -> bool {
        self.lost == 0
            && self.written_after_backup > 0
            && self.readable_after_restore == self.sealed_to_a_after_backup
            && self.wrote_only_after_catching_up
            && self.write_after_restore_delivered
            && self.forks_seen == 0
            && self.still_a_member
    }
}

impl std::fmt::Display for BackupDrillReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Backup drill: back up a running node, keep working, destroy it, restore"
        )?;
        writeln!(
            f,
            "  backup of {} envelopes: {} bytes in {} ms; restore in {} ms",
            self.backed_up_envelopes, self.backup_bytes, self.backup_ms, self.restore_ms
        )?;
        writeln!(
            f,
            "  written after the backup: {}, recovered {}, lost {}",
            self.written_after_backup, self.recovered, self.lost
        )?;
        writeln!(
            f,
            "  sealed to the node after the backup: {}, readable after the restore {}",
            self.sealed_to_a_after_backup, self.readable_after_restore
        )?;
        writeln!(
            f,
            "  caught up {} ms after start; wrote only after: {}; its next write delivered: {}",
            self.caught_up_ms,
            self.wrote_only_after_catching_up,
            self.write_after_restore_delivered
        )?;
        writeln!(
            f,
            "  forks seen by the others: {}; still a member: {}",
            self.forks_seen, self.still_a_member
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

fn incident(title: &str, tlp: Tlp, to: &[&str]) -> NewIncident {
    NewIncident {
        title: title.into(),
        description: "backup drill".into(),
        tlp: Label(tlp),
        to: to.iter().map(|s| (*s).to_owned()).collect(),
        indicators: Vec::new(),
    }
}

/// Runs the drill (every process stopped on return).
pub async fn drill(command: NodeCommand, json: bool) -> Result<BackupDrillReport> {
    let progress = Progress::new(6, json);
    let (a, b, c) = ("A", "B", "C");
    let mut net = Testnet::create(command.clone(), &[a, b, c], 3, 1)?;
    let result = drill_in(&mut net, &command, &progress, (a, b, c)).await;
    net.stop_all().await;
    result
}

async fn drill_in(
    net: &mut Testnet,
    command: &NodeCommand,
    progress: &Progress,
    (a, b, c): (&str, &str, &str),
) -> Result<BackupDrillReport> {
    let mut report = BackupDrillReport::default();
    // A is not the bootstrap node: it comes back on another port.
    for n in [b, c, a] {
        net.start(n).await?;
    }
    net.wait_members(&[a, b, c], 3, STEP_TIMEOUT)
        .await
        .map_err(anyhow::Error::msg)?;
    progress.say("three members up");
    for i in 0..3 {
        net.api(a)?
            .open(&incident(&format!("A before {i}"), Tlp::Green, &[]))
            .await?;
        net.api(b)?
            .open(&incident(&format!("B to A before {i}"), Tlp::Amber, &[a]))
            .await?;
    }
    wait_same(net, &[a, b, c]).await?;

    let file = net.root().join("a.backup");
    let pass = net.root().join("passphrase");
    fs::write(&pass, format!("{PASSPHRASE}\n"))?;
    let dir = net.data_dir(a)?.root().to_owned();
    let started = Instant::now();
    let out = backup(command, &dir, &file, &pass).await?;
    report.backup_ms = started.elapsed().as_millis() as u64;
    report.backup_bytes = fs::metadata(&file)?.len();
    let made: serde_json::Value = serde_json::from_str(&out)?;
    report.backed_up_envelopes = made["manifest"]["envelopes"]
        .as_u64()
        .context("backup --json names its envelopes")?;
    progress.say(&format!(
        "backed up the running node: {} bytes",
        report.backup_bytes
    ));

    // Keep working: every id acknowledged from here on must survive.
    let before: std::collections::HashSet<String> = ids(net, b).await?.into_iter().collect();
    let mut sealed_to_a = Vec::new();
    for i in 0..4 {
        net.api(a)?
            .open(&incident(&format!("A after {i}"), Tlp::Green, &[]))
            .await?;
        sealed_to_a.push(
            net.api(b)?
                .open(&incident(&format!("B to A after {i}"), Tlp::Amber, &[a]))
                .await?
                .id,
        );
        sealed_to_a.push(
            net.api(c)?
                .open(&incident(&format!("C to A after {i}"), Tlp::Amber, &[a, b]))
                .await?
                .id,
        );
    }
    // What A acknowledged has reached the others before the loss.
    wait_same(net, &[a, b, c]).await?;
    let after: Vec<String> = ids(net, b)
        .await?
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    report.written_after_backup = after.len();
    report.sealed_to_a_after_backup = sealed_to_a.len();

    net.kill(a)?;
    fs::remove_dir_all(&dir).context("destroying the node's data directory")?;
    progress.say("killed the node and destroyed its data directory");
    let started = Instant::now();
    restore(command, &file, &dir, &pass).await?;
    report.restore_ms = started.elapsed().as_millis() as u64;
    progress.say("restored from the backup");

    let started = Instant::now();
    let status = net.start(a).await?;
    // Try to write at once: refused while catching up (unless it already
    // caught up in the moment since its start).
    let early = net
        .api(a)?
        .open(&incident("A too early", Tlp::Green, &[]))
        .await;
    report.refused_while_catching_up =
        matches!(&early, Err(e) if e.to_string().contains("restored from a backup"));
    report.wrote_only_after_catching_up = match &early {
        Err(_) => report.refused_while_catching_up,
        // It had caught up in the moment since its start.
        Ok(_) => status.catching_up && !net.api(a)?.status().await?.catching_up,
    };
    Testnet::wait_for(STEP_TIMEOUT, || async {
        Ok(!net.api(a)?.status().await?.catching_up)
    })
    .await
    .map_err(|e| anyhow::anyhow!("the restored node did not catch up: {e}"))?;
    report.caught_up_ms = started.elapsed().as_millis() as u64;
    // Everything written after the backup comes back, readable where it
    // was sealed to A.
    let _ = Testnet::wait_for(STEP_TIMEOUT, || async {
        let held = ids(net, a).await?;
        Ok(after.iter().all(|id| held.contains(id)))
    })
    .await;
    let held = net.api(a)?.envelopes().await?;
    report.recovered = after
        .iter()
        .filter(|id| held.iter().any(|e| &e.id == *id))
        .count();
    report.lost = report.written_after_backup - report.recovered;
    report.readable_after_restore = sealed_to_a
        .iter()
        .filter(|id| held.iter().any(|e| &e.id == *id && e.readable))
        .count();
    progress.say(&format!(
        "caught up: {} of {} recovered",
        report.recovered, report.written_after_backup
    ));

    let next = net
        .api(a)?
        .open(&incident("A after the restore", Tlp::Green, &[]))
        .await?
        .id;
    report.write_after_restore_delivered = Testnet::wait_for(STEP_TIMEOUT, || async {
        Ok(ids(net, b).await?.contains(&next) && ids(net, c).await?.contains(&next))
    })
    .await
    .is_ok();
    let a_id = net.team_id(a)?.to_string();
    report.still_a_member = true;
    for n in [b, c] {
        let s = net.api(n)?.status().await?;
        report.forks_seen += s.forks.len();
        let m = net.api(n)?.members().await?;
        report.still_a_member &= m.members.iter().any(|t| t.team.id == a_id);
    }
    Ok(report)
}

/// `csirtmesh backup --json` of `dir` into `out`, as an operator runs it;
/// returns what it printed.
async fn backup(command: &NodeCommand, dir: &Path, out: &Path, pass: &Path) -> Result<String> {
    command
        .run_cli(
            &[
                OsStr::new("backup"),
                OsStr::new("--json"),
                OsStr::new("--data-dir"),
                dir.as_os_str(),
                OsStr::new("--out"),
                out.as_os_str(),
                OsStr::new("--passphrase-file"),
                pass.as_os_str(),
            ],
            COMMAND_TIMEOUT,
        )
        .await
}

/// `csirtmesh restore` of `from` into `dir`. One machine's clock wrote
/// both the lost node's envelopes and the restored node's: no clock-skew
/// window to wait out.
async fn restore(command: &NodeCommand, from: &Path, dir: &Path, pass: &Path) -> Result<()> {
    command
        .run_cli(
            &[
                OsStr::new("restore"),
                OsStr::new("--skip-clock-wait"),
                OsStr::new("--from"),
                from.as_os_str(),
                OsStr::new("--data-dir"),
                dir.as_os_str(),
                OsStr::new("--passphrase-file"),
                pass.as_os_str(),
            ],
            COMMAND_TIMEOUT,
        )
        .await?;
    Ok(())
}

async fn ids(net: &Testnet, name: &str) -> Result<Vec<String>> {
    Ok(net
        .api(name)?
        .envelopes()
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect())
}

/// Waits until every named node holds the same envelope set.
async fn wait_same(net: &Testnet, names: &[&str]) -> Result<()> {
    Testnet::wait_for(STEP_TIMEOUT, || async {
        let mut sets = Vec::new();
        for n in names {
            let mut v = ids(net, n).await?;
            v.sort();
            sets.push(v);
        }
        Ok(sets.windows(2).all(|w| w[0] == w[1]))
    })
    .await
    .map_err(|e| anyhow::anyhow!("the nodes did not converge: {e}"))?;
    Ok(())
}

/// Backup figures for a store of `envelopes`.
#[derive(Debug, Serialize)]
pub struct BackupBenchReport {
    /// Envelopes in the store.
    pub envelopes: usize,
    /// Runs (figures are medians).
    pub runs: usize,
    /// The database file's size.
    pub database_bytes: u64,
    /// The encrypted backup's size.
    pub backup_bytes: u64,
    /// `backup_bytes / database_bytes`.
    pub backup_bytes_vs_database: f64,
    /// `csirtmesh backup`, wall time (median).
    pub backup_ms: f64,
    /// `csirtmesh restore`, wall time (median).
    pub restore_ms: f64,
    /// Copying the database file and fsyncing the copy (median): the floor.
    pub copy_ms: f64,
    /// `backup_ms / copy_ms`.
    pub backup_vs_copy: f64,
    /// `restore_ms / copy_ms`.
    pub restore_vs_copy: f64,
}

impl crate::Report for BackupBenchReport {
    fn held(&self) -> bool {
        true
    }
}

impl std::fmt::Display for BackupBenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Backup of a store of {} envelopes ({} bytes), median of {} runs",
            self.envelopes, self.database_bytes, self.runs
        )?;
        writeln!(
            f,
            "  backup:  {:>8.0} ms, {} bytes ({:.2}x the database), {:.1}x a file copy",
            self.backup_ms, self.backup_bytes, self.backup_bytes_vs_database, self.backup_vs_copy
        )?;
        writeln!(
            f,
            "  restore: {:>8.0} ms, {:.1}x a file copy",
            self.restore_ms, self.restore_vs_copy
        )?;
        writeln!(f, "  file copy + fsync: {:.0} ms", self.copy_ms)
    }
}

/// Fills a data directory's store with `n` incident envelopes from ten
/// teams over three years: three in four sealed to another team (AMBER,
/// 0.5 to 6 KiB of text), the rest GREEN (0.2 to 2 KiB).
fn fill(dir: &DataDir, n: usize) -> Result<()> {
    use crate::bench_ingest::{Sealing, incident};
    let mut store = store::Store::open(&dir.file(files::DATABASE))?;
    let teams: Vec<seal::TeamKeys> = (0..10).map(|_| seal::TeamKeys::generate()).collect();
    let green: Vec<seal::SenderKey> = (0..10).map(|_| seal::SenderKey::generate()).collect();
    let outsider = seal::TeamKeys::generate();
    let to_outsider = [&outsider];
    let mesh = proto::MeshId([7; 32]);
    let mut rng = crate::rng::Rng(42);
    let start = now_ms() - 3 * 365 * 24 * 3_600_000;
    let step = 3 * 365 * 24 * 3_600_000 / n.max(1) as u64;
    let mut seqs = [0u64; 10];
    let mut batch = Vec::with_capacity(1000);
    for i in 0..n {
        let t = rng.below(10);
        seqs[t] += 1;
        let sealed = rng.below(4) != 0;
        let size = if sealed {
            512 + rng.below(6 * 1024 - 512)
        } else {
            200 + rng.below(1800)
        };
        let sealing = if sealed {
            Sealing::Teams(&to_outsider)
        } else {
            Sealing::Green(&green[t])
        };
        batch.push(incident(
            &teams[t],
            mesh,
            seqs[t],
            start + i as u64 * step,
            size,
            sealing,
        )?);
        if batch.len() == 1000 || i + 1 == n {
            let derived = store::Derived::default();
            let items: Vec<_> = batch.iter().map(|e| (e.envelope(), &derived)).collect();
            store.insert_many(&items, now_ms())?;
            batch.clear();
        }
    }
    Ok(())
}

fn copy_ms(from: &Path, to: &Path) -> Result<f64> {
    let _ = fs::remove_file(to);
    let started = Instant::now();
    fs::copy(from, to)?;
    fs::File::open(to)?.sync_all()?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    fs::remove_file(to)?;
    Ok(ms)
}

/// Runs the backup bench.
pub async fn bench(
    command: NodeCommand,
    envelopes: usize,
    runs: usize,
) -> Result<BackupBenchReport> {
    let tmp = tempfile::Builder::new()
        .prefix("csirtmesh-bench-backup-")
        .tempdir()?;
    let dir = DataDir::new(tmp.path().join("node"));
    dir.init(
        &InitOptions {
            name: "bench".into(),
            ..Default::default()
        },
        now_ms(),
    )?;
    eprintln!("filling a store with {envelopes} envelopes...");
    fill(&dir, envelopes)?;
    // As a stopped node leaves it: the log checkpointed into the file.
    drop(store::Store::open(&dir.file(files::DATABASE))?);
    let database_bytes = fs::metadata(dir.file(files::DATABASE))?.len();
    let pass = tmp.path().join("passphrase");
    fs::File::create(&pass)?.write_all(PASSPHRASE.as_bytes())?;
    let (mut backups, mut restores, mut copies) = (Vec::new(), Vec::new(), Vec::new());
    let mut backup_bytes = 0;
    for run in 0..runs {
        let file = tmp.path().join(format!("backup-{run}"));
        let target = tmp.path().join(format!("restored-{run}"));
        copies.push(copy_ms(
            &dir.file(files::DATABASE),
            &tmp.path().join("copy"),
        )?);
        let started = Instant::now();
        backup(&command, dir.root(), &file, &pass).await?;
        backups.push(started.elapsed().as_secs_f64() * 1e3);
        backup_bytes = fs::metadata(&file)?.len();
        let started = Instant::now();
        restore(&command, &file, &target, &pass).await?;
        restores.push(started.elapsed().as_secs_f64() * 1e3);
        let restored = store::Store::open(&DataDir::new(&target).file(files::DATABASE))?;
        if restored.count()? != envelopes as u64 {
            bail!(
                "the restored store holds {} envelopes, not {envelopes}",
                restored.count()?
            );
        }
        drop(restored);
        fs::remove_file(&file)?;
        fs::remove_dir_all(&target)?;
    }
    let (backup_ms, restore_ms, copy_ms) = (median(backups), median(restores), median(copies));
    Ok(BackupBenchReport {
        envelopes,
        runs,
        database_bytes,
        backup_bytes,
        backup_bytes_vs_database: backup_bytes as f64 / database_bytes.max(1) as f64,
        backup_ms,
        restore_ms,
        copy_ms,
        backup_vs_copy: backup_ms / copy_ms.max(0.001),
        restore_vs_copy: restore_ms / copy_ms.max(0.001),
    })
}
