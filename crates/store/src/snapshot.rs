//! A consistent copy of a store that another process has open: SQLite's
//! online backup API, from a second connection, into a new file. The copy
//! is taken in one step under one read transaction, so it is the store as
//! it was at one instant, whatever the running node writes meanwhile (WAL
//! mode lets it go on writing). Pages go straight to the file: memory
//! stays small whatever the store's size.

use std::{path::Path, thread, time::Duration};

use rusqlite::{
    Connection, OpenFlags,
    backup::{Backup, StepResult},
};

use crate::{Error, Result};

/// How long a copy waits for a writer's lock before it gives up.
const BUSY_LIMIT: Duration = Duration::from_secs(30);

/// What a copy holds.
pub struct Snapshot {
    /// The copy's size, bytes.
    pub bytes: u64,
    /// Envelopes in it.
    pub envelopes: u64,
    /// Its schema version (SQLite's `user_version`).
    pub schema: i64,
}

/// Copies the store at `path` (which must exist; it is neither created nor
/// migrated) into a new file `to` (which must not exist), and checks the
/// copy's integrity.
pub fn snapshot(path: &Path, to: &Path) -> Result<Snapshot> {
    if to.exists() {
        return Err(Error::Invalid(format!("{} exists", to.display())));
    }
    let src = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(Duration::from_secs(5))?;
    let mut dst = Connection::open(to)?;
    {
        let backup = Backup::new(&src, &mut dst)?;
        let mut waited = Duration::ZERO;
        loop {
            // -1: every page in one step, under one read lock.
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::Busy | StepResult::Locked => {
                    if waited >= BUSY_LIMIT {
                        return Err(Error::Invalid(format!(
                            "the database stayed locked for {} s; try again",
                            BUSY_LIMIT.as_secs()
                        )));
                    }
                    thread::sleep(Duration::from_millis(50));
                    waited += Duration::from_millis(50);
                }
                _ => {}
            }
        }
    }
    drop(dst);
    drop(src);
    // Read back through a new connection, which leaves the file whole
    // (nothing in a write-ahead log) when it closes.
    let copy = Connection::open(to)?;
    check_integrity(&copy)?;
    let envelopes: i64 = copy.query_row("SELECT COUNT(*) FROM envelopes", [], |r| r.get(0))?;
    let schema: i64 = copy.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    copy.close().map_err(|(_, e)| e)?;
    Ok(Snapshot {
        bytes: std::fs::metadata(to)
            .map_err(|e| Error::Invalid(format!("cannot read {}: {e}", to.display())))?
            .len(),
        envelopes: envelopes.max(0) as u64,
        schema,
    })
}

/// SQLite's own integrity check: `Ok` when it finds nothing.
pub(crate) fn check_integrity(conn: &Connection) -> Result<()> {
    let found: Vec<String> = conn
        .prepare("PRAGMA integrity_check(10)")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if found == ["ok"] {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "the database is damaged: {}",
            found.join("; ")
        )))
    }
}
