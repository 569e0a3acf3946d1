//! `csirtmesh backup` and `csirtmesh restore`: local work on data
//! directories (the running node is not asked; SQLite lets a second
//! connection copy its store consistently).

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{
    args::{BackupArgs, ClientArgs, RestoreArgs},
    render::print,
};
use crate::{backup, datadir::DataDir, now_ms};

/// The passphrase: the file's first line, without its line ending.
fn passphrase(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the passphrase file {}", path.display()))?;
    let line = text.lines().next().unwrap_or("").to_owned();
    if line.is_empty() {
        bail!(
            "the passphrase file {} is empty: its first line is the passphrase",
            path.display()
        );
    }
    Ok(line)
}

fn output(json: bool, data_dir: &Path) -> ClientArgs {
    ClientArgs {
        data_dir: data_dir.to_owned(),
        json,
    }
}

pub(super) fn backup(a: BackupArgs) -> Result<()> {
    let pass = passphrase(&a.passphrase_file)?;
    let summary = backup::backup(&DataDir::new(&a.data_dir), &a.out, &pass, now_ms())?;
    let out = a.out.display().to_string();
    print(&output(a.json, &a.data_dir), &summary, |s| {
        format!(
            "Backed up team {} ({} envelopes, store {} bytes) to {} ({} bytes, encrypted to the passphrase)\n",
            s.manifest.team.get(..16).unwrap_or(&s.manifest.team),
            s.manifest.envelopes,
            s.database_bytes,
            out,
            s.file_bytes
        )
    })
}

pub(super) fn restore(a: RestoreArgs) -> Result<()> {
    let pass = passphrase(&a.passphrase_file)?;
    let summary = backup::restore(
        &a.from,
        &DataDir::new(&a.data_dir),
        &pass,
        now_ms(),
        a.skip_clock_wait,
    )?;
    let dir = a.data_dir.display().to_string();
    print(&output(a.json, &a.data_dir), &summary, |s| {
        format!(
            "Restored team {} into {} ({} envelopes, backed up {}).\nStart it with `csirtmesh run --data-dir {}`: it writes nothing until it has caught up with members' nodes, and not before {}.\n",
            s.manifest.team.get(..16).unwrap_or(&s.manifest.team),
            dir,
            s.envelopes,
            super::when(s.manifest.created_at),
            dir,
            super::when(s.write_after)
        )
    })
}
