//! A consistent copy of a store that another process has open: SQLite's
//! online backup API, from a second connection, into memory. The copy is
//! taken in one step under one read transaction, so it is the store as it
//! was at one instant, whatever the running node writes meanwhile (WAL mode
//! lets it go on writing).

use std::{path::Path, thread, time::Duration};

use rusqlite::{
    Connection, MAIN_DB, OpenFlags,
    backup::{Backup, StepResult},
};

use crate::{Error, Result};

/// How long a copy waits for a writer's lock before it gives up.
const BUSY_LIMIT: Duration = Duration::from_secs(30);

/// A copy of a store, as the bytes of a database file.
pub struct Snapshot {
    /// The database file's bytes.
    pub bytes: Vec<u8>,
    /// Envelopes in it.
    pub envelopes: u64,
    /// Its schema version (SQLite's `user_version`).
    pub schema: i64,
}

/// Copies the store at `path` (which must exist; it is neither created nor
/// migrated), checks the copy's integrity, and returns it.
pub fn snapshot(path: &Path) -> Result<Snapshot> {
    let src = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(Duration::from_secs(5))?;
    let mut dst = Connection::open_in_memory()?;
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
    check_integrity(&dst)?;
    let envelopes: i64 = dst.query_row("SELECT COUNT(*) FROM envelopes", [], |r| r.get(0))?;
    let schema: i64 = dst.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let bytes = dst.serialize(MAIN_DB)?.to_vec();
    Ok(Snapshot {
        bytes,
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
