//! Backups of a data directory, taken while the node runs, and restoring one
//! into a new directory.
//!
//! A backup is a tar archive encrypted to a passphrase (age's scrypt
//! recipient, so `age --decrypt FILE | tar t` lists it):
//!
//! ```text
//! backup.toml    what it is: format, team, time, envelopes, schema
//! node.sqlite    the store, copied consistently by SQLite's online backup API
//! team.key, age.key, node.key, api.token, profile.bin, charter.toml,
//! age.key.retired, and a rotation's *.next keys when present
//! ```
//!
//! A restored node must not fork its own chain: after the backup it may have
//! written envelopes that reached some members and not others, and writing
//! again at those places would show two envelopes at one place of its key
//! (which every node takes for a stolen key). So a restore leaves a marker
//! (`restored.toml`); while it is there the node writes nothing, and once it
//! has caught up with a member it continues its chain [`RESTORE_GAP`] places
//! past the highest place it knows, which no node writes in between.

use std::{
    collections::BTreeMap,
    fs,
    io::{BufReader, BufWriter, Read, Write},
    path::{Component, Path},
};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::datadir::{self, DataDir, files};

/// The archive format this build writes and reads.
pub const FORMAT: u32 = 1;

/// The manifest's name in the archive.
const MANIFEST: &str = "backup.toml";

/// How far a restored node's chain jumps: more places than a node writes
/// between two backups (2^32: a thousand envelopes a second for 49 days),
/// and few enough that a chain can jump a billion times.
pub const RESTORE_GAP: u64 = 1 << 32;

/// The largest file other than the database an archive may hold.
const MAX_SMALL_FILE: u64 = 1 << 20;

/// What goes into a backup besides the database, and its mode on restore.
/// Required files first.
const FILES: &[(&str, u32, bool)] = &[
    (files::TEAM_KEY, 0o600, true),
    (files::AGE_KEY, 0o600, true),
    (files::NODE_KEY, 0o600, true),
    (files::API_TOKEN, 0o600, true),
    (files::PROFILE, 0o644, true),
    (files::CHARTER, 0o644, false),
    (files::AGE_KEY_RETIRED, 0o600, false),
];

/// Files present only while a key is being replaced: a backup is refused
/// then (the keys and the store would not agree).
const ROTATING: &[&str] = &[files::TEAM_KEY_NEXT, files::AGE_KEY_NEXT];

/// What a backup says about itself.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The team's id (hex).
    pub team: String,
    /// When the copy was taken (ms since the epoch).
    pub created_at: u64,
    /// Envelopes in the copied store.
    pub envelopes: u64,
    /// The store's schema version.
    pub schema: i64,
    /// The csirtmesh version that wrote it.
    pub version: String,
}

/// What `backup` did.
#[derive(Clone, Debug, Serialize)]
pub struct BackupSummary {
    /// The manifest written.
    pub manifest: Manifest,
    /// The database copy's size.
    pub database_bytes: u64,
    /// The encrypted file's size.
    pub file_bytes: u64,
}

/// The marker a restore leaves in the data directory.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Restored {
    /// When the backup was taken (ms).
    pub backup_created_at: u64,
    /// When it was restored (ms).
    pub restored_at: u64,
    /// The node writes nothing before this time (ms): by default the
    /// clock-skew window after the restore, since the lost node may have
    /// stamped envelopes up to that far ahead.
    pub write_after: u64,
}

/// Writes an encrypted backup of `dir` to `out` (which must not exist).
/// The node may be running: the store is copied under one read transaction.
pub fn backup(dir: &DataDir, out: &Path, passphrase: &str, now: u64) -> Result<BackupSummary> {
    if out.exists() {
        bail!("{} exists: refusing to overwrite it", out.display());
    }
    if out.parent().is_some_and(|p| p == dir.root()) {
        bail!(
            "{}: write the backup outside the data directory",
            out.display()
        );
    }
    let keys = dir
        .team_keys()
        .with_context(|| format!("{} is not a team's data directory", dir.root().display()))?;
    let small = key_files(dir)?;
    // The copy goes beside the store (the directory is the owner's alone)
    // and is deleted once in the archive; one a crash left is replaced.
    let copy = dir.file(files::BACKUP_COPY);
    let _ = fs::remove_file(&copy);
    let result = archive_with_copy(dir, &keys, out, passphrase, now, &small, &copy);
    let _ = fs::remove_file(&copy);
    result
}

/// The key files as they are now; refused while a key is being replaced.
fn key_files(dir: &DataDir) -> Result<Vec<(&'static str, Vec<u8>)>> {
    for name in ROTATING {
        if dir.file(name).exists() {
            bail!(
                "a key is being replaced ({name} exists): back up once `rotate-key` has finished"
            );
        }
    }
    let mut small = Vec::new();
    for (name, _, required) in FILES {
        match fs::read(dir.file(name)) {
            Ok(bytes) => small.push((*name, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", dir.file(name).display()));
            }
        }
    }
    Ok(small)
}

fn archive_with_copy(
    dir: &DataDir,
    keys: &seal::TeamKeys,
    out: &Path,
    passphrase: &str,
    now: u64,
    small: &[(&str, Vec<u8>)],
    copy: &Path,
) -> Result<BackupSummary> {
    let snapshot = store::snapshot(&dir.file(files::DATABASE), copy).with_context(|| {
        format!(
            "cannot copy the store {}",
            dir.file(files::DATABASE).display()
        )
    })?;
    // A key replaced while the store was copied: the copy and the keys
    // read before it might not agree.
    if key_files(dir)? != small {
        bail!(
            "the team's keys changed while the store was copied (a key rotation?): run the backup again"
        );
    }
    let manifest = Manifest {
        format: FORMAT,
        team: keys.team_id().to_string(),
        created_at: now,
        envelopes: snapshot.envelopes,
        schema: snapshot.schema,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let partial = sibling(out, "partial");
    let _ = fs::remove_file(&partial);
    let written = write_archive(&partial, passphrase, now, &manifest, small, copy);
    if let Err(e) = written {
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    fs::rename(&partial, out).with_context(|| format!("cannot write {}", out.display()))?;
    datadir::sync_parent(out)?;
    Ok(BackupSummary {
        manifest,
        database_bytes: snapshot.bytes,
        file_bytes: fs::metadata(out)?.len(),
    })
}

fn write_archive(
    path: &Path,
    passphrase: &str,
    now: u64,
    manifest: &Manifest,
    small: &[(&str, Vec<u8>)],
    database: &Path,
) -> Result<()> {
    let file = datadir::create_new(path, 0o600)?;
    let sealed = seal::passphrase::PassphraseWriter::new(BufWriter::new(file), passphrase)?;
    let mut tar = tar::Builder::new(sealed);
    let mut add = |name: &str, size: u64, data: &mut dyn Read| -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o600);
        header.set_mtime(now / 1000);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, data)
            .with_context(|| format!("cannot write {name} into the backup"))
    };
    let text = toml::to_string(manifest)?;
    add(MANIFEST, text.len() as u64, &mut text.as_bytes())?;
    for (name, bytes) in small {
        add(name, bytes.len() as u64, &mut &bytes[..])?;
    }
    let mut db =
        fs::File::open(database).with_context(|| format!("cannot read {}", database.display()))?;
    let size = db.metadata()?.len();
    add(files::DATABASE, size, &mut db)?;
    let sealed = tar.into_inner()?;
    let buffered = sealed.finish()?;
    let file = buffered
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error()))?;
    file.sync_all()
        .with_context(|| format!("cannot sync {}", path.display()))
}

/// What `restore` did.
#[derive(Clone, Debug, Serialize)]
pub struct RestoreSummary {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// Envelopes in the restored store (after migrating its schema forward).
    pub envelopes: u64,
    /// The node writes nothing before this time (ms).
    pub write_after: u64,
}

/// Restores the backup `from` into `dir`, which must not exist or be
/// empty. Nothing is left in `dir` unless the whole backup checked out:
/// every file is written to a staging directory beside it first.
///
/// `skip_clock_wait`: the lost node stopped more than the clock-skew window
/// ago (or its clock was right), so the restored node may write as soon as
/// it has caught up.
pub fn restore(
    from: &Path,
    dir: &DataDir,
    passphrase: &str,
    now: u64,
    skip_clock_wait: bool,
) -> Result<RestoreSummary> {
    let target = dir.root();
    if target.exists()
        && fs::read_dir(target)
            .with_context(|| format!("cannot read {}", target.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: restore into a new directory",
            target.display()
        );
    }
    let staging = sibling(target, "restoring");
    if staging.exists() {
        fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot clear {}", staging.display()))?;
    }
    create_private_dir(&staging)?;
    let staged = DataDir::new(&staging);
    let write_after = if skip_clock_wait {
        now
    } else {
        now + mesh_core::validate::MAX_CLOCK_SKEW_MS
    };
    let result = unpack(from, &staged, passphrase, now, write_after);
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    if target.exists() {
        fs::remove_dir(target).with_context(|| format!("cannot replace {}", target.display()))?;
    }
    fs::rename(&staging, target).with_context(|| format!("cannot create {}", target.display()))?;
    datadir::sync_parent(target)?;
    Ok(summary)
}

/// `.NAME.suffix` beside `path`: a temporary name of its own (two restores
/// into `node.a` and `node.b` do not share one).
fn sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{suffix}"))
}

fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

fn unpack(
    from: &Path,
    dir: &DataDir,
    passphrase: &str,
    now: u64,
    write_after: u64,
) -> Result<RestoreSummary> {
    let file = fs::File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
    let plain = seal::passphrase::passphrase_reader(BufReader::new(file), passphrase)
        .with_context(|| format!("cannot decrypt {}", from.display()))?;
    let mut archive = tar::Archive::new(plain);
    // Raw: long-name and extended-header entries come as themselves (and
    // are refused as not regular files) instead of being read into memory.
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut manifest: Option<Manifest> = None;
    let entries = archive
        .entries()
        .with_context(|| format!("{} is not a backup", from.display()))?
        .raw(true);
    for entry in entries {
        let mut entry = entry.with_context(|| format!("{} is damaged or cut", from.display()))?;
        let name = entry_name(&entry)?;
        if seen.contains_key(&name) {
            bail!("the backup holds {name} twice");
        }
        if entry.header().entry_type() != tar::EntryType::Regular {
            bail!("the backup's {name} is not a regular file");
        }
        let size = entry.header().size()?;
        seen.insert(name.clone(), size);
        if name == MANIFEST {
            let mut text = String::new();
            entry
                .by_ref()
                .take(MAX_SMALL_FILE)
                .read_to_string(&mut text)
                .context("the backup's manifest is not text")?;
            let m: Manifest = toml::from_str(&text).context("the backup's manifest")?;
            if m.format != FORMAT {
                bail!(
                    "backup format {} (this csirtmesh reads format {FORMAT})",
                    m.format
                );
            }
            manifest = Some(m);
            continue;
        }
        if manifest.is_none() {
            bail!("the backup does not start with its manifest ({MANIFEST})");
        }
        if name == files::DATABASE {
            copy_entry(&mut entry, &dir.file(files::DATABASE), 0o600, u64::MAX)?;
            continue;
        }
        let Some((_, mode, _)) = FILES.iter().find(|(n, _, _)| *n == name) else {
            bail!("the backup holds an unexpected file {name}");
        };
        if size > MAX_SMALL_FILE {
            bail!("the backup's {name} is {size} bytes, more than a key file can be");
        }
        copy_entry(&mut entry, &dir.file(&name), *mode, MAX_SMALL_FILE)?;
    }
    let Some(manifest) = manifest else {
        bail!(
            "{} holds no manifest: not a csirtmesh backup",
            from.display()
        );
    };
    for (name, _, required) in FILES.iter().chain(&[(files::DATABASE, 0, true)]) {
        if *required && !seen.contains_key(*name) {
            bail!("the backup lacks {name}");
        }
    }
    let keys = dir.team_keys()?;
    if keys.team_id().to_string() != manifest.team {
        bail!("the backup's team.key is not the team its manifest names");
    }
    let (_, profile) = dir.profile()?;
    if profile.team != keys.team_id() {
        bail!("the backup's profile.bin belongs to another team than its team.key");
    }
    if profile.recipient != keys.recipient() {
        bail!("the backup's profile.bin names another age recipient than its age.key");
    }
    let store = store::Store::open(&dir.file(files::DATABASE))
        .context("the backup's store does not open")?;
    store
        .check_integrity()
        .context("the backup's store is damaged")?;
    store
        .check_no_code()
        .context("the backup's store is not one a node wrote")?;
    let envelopes = store.count()?;
    drop(store);
    let marker = Restored {
        backup_created_at: manifest.created_at,
        restored_at: now,
        write_after,
    };
    datadir::write_new(
        &dir.file(files::RESTORED),
        toml::to_string(&marker)?.as_bytes(),
        0o600,
    )?;
    Ok(RestoreSummary {
        manifest,
        envelopes,
        write_after,
    })
}

/// An entry's name: one plain file name, nothing that leaves the directory.
fn entry_name<R: Read>(entry: &tar::Entry<'_, R>) -> Result<String> {
    let path = entry.path().context("a backup entry's name is not valid")?;
    let mut parts = path.components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(name)), None) => name
            .to_str()
            .map(str::to_owned)
            .context("a backup entry's name is not UTF-8"),
        _ => bail!(
            "the backup holds {}, which is not a plain file name",
            path.display()
        ),
    }
}

fn copy_entry(from: &mut impl Read, to: &Path, mode: u32, limit: u64) -> Result<()> {
    let mut file = datadir::create_new(to, mode)?;
    std::io::copy(&mut from.take(limit), &mut file)
        .with_context(|| format!("cannot restore {} (is the backup cut short?)", to.display()))?;
    file.flush()?;
    file.sync_all()?;
    Ok(())
}

/// Reads the restore marker of `dir`, if there is one. A marker that does
/// not read still marks the node restored (deleting it would be worse),
/// with the clock-skew window counted from `now`.
pub fn restored(dir: &DataDir, now: u64) -> Result<Option<Restored>> {
    let path = dir.file(files::RESTORED);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(toml::from_str(&text).unwrap_or_else(|e| {
            tracing::warn!(path = %path.display(), error = %e, "the restore marker is damaged; treating the node as restored now");
            Restored {
                backup_created_at: 0,
                restored_at: now,
                write_after: now + mesh_core::validate::MAX_CLOCK_SKEW_MS,
            }
        }))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

#[cfg(test)]
mod tests;
