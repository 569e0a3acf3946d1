//! Authors' chains as the store holds them: an arrival's neighbours in its
//! author's chain, a whole chain, the forks found, and deleting what lies
//! beyond a chain's cut. Which links contradict is decided elsewhere
//! (`mesh_core::chain`); this only reads and writes.

use proto::{EnvelopeId, TeamId};
use rusqlite::params;

use crate::{Result, Store, int};

/// A place in an author's chain: `(seq, created_at, id, shown_by,
/// shown_at)`, from a stored envelope (`shown_by` is `id`, `shown_at` its
/// `seq`), or (with no time) from a tombstone naming its target's place
/// (`shown_by` and `shown_at` are the tombstone's).
pub type ChainLink = (u64, Option<u64>, EnvelopeId, EnvelopeId, u64);

/// A recorded fork: the key, the position, and the two envelopes that show
/// it.
pub type ForkRow = (TeamId, u64, EnvelopeId, EnvelopeId);

/// At most this many envelopes at one position are read as neighbours (two
/// show a fork; a node keeps no more than that at a fork's position).
const SAME_PLACE_LIMIT: i64 = 4;

impl Store {
    /// Each look-up names its index: an arrival in order (the usual case)
    /// finds nothing stamped later below it and nothing placed above it, and
    /// each is then an empty range of the right index; the other index
    /// would scan the author's whole chain on every arrival.
    ///
    /// What an arrival `id` at place `seq` of `author`'s chain, stamped
    /// `created_at` (none for a place a tombstone names), must be checked
    /// against (see `mesh_core::chain::check`): the stored envelopes and
    /// tombstone-named places at `seq`, the places tombstones name for `id`,
    /// the lowest-placed stored envelope below stamped later, and one above
    /// stamped earlier.
    pub fn chain_neighbours(
        &self,
        author: &TeamId,
        seq: u64,
        id: &EnvelopeId,
        created_at: Option<u64>,
    ) -> Result<Vec<ChainLink>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM (SELECT seq, created_at, id, id, seq FROM envelopes
                WHERE author = ?1 AND seq = ?2 LIMIT ?3)
             UNION ALL
             SELECT * FROM (SELECT seq, NULL, id, tombstone, tombstone_seq FROM places
                WHERE author = ?1 AND seq = ?2 ORDER BY tombstone_seq LIMIT ?3)
             UNION ALL
             SELECT * FROM (SELECT seq, NULL, id, tombstone, tombstone_seq FROM places
                WHERE author = ?1 AND id = ?4 ORDER BY tombstone_seq LIMIT ?3)
             UNION ALL
             SELECT * FROM (SELECT seq, created_at, id, id, seq FROM envelopes
                WHERE author = ?1 AND id = ?4 AND seq != ?2)
             UNION ALL
             SELECT * FROM (SELECT seq, created_at, id, id, seq FROM envelopes
                INDEXED BY envelopes_author_time
                WHERE author = ?1 AND created_at > ?5 AND seq < ?2 ORDER BY seq ASC LIMIT 1)
             UNION ALL
             SELECT * FROM (SELECT seq, created_at, id, id, seq FROM envelopes
                INDEXED BY envelopes_author_seq
                WHERE author = ?1 AND seq > ?2 AND created_at < ?5 LIMIT 1)",
        )?;
        let rows = stmt.query_map(
            params![
                author.0.as_slice(),
                int(seq),
                SAME_PLACE_LIMIT,
                id.0.as_slice(),
                created_at.map(int)
            ],
            link_row,
        )?;
        collect(rows)
    }

    /// The last place of `author`'s chain up to which every place is taken
    /// (by a stored envelope or a retracted one's named place): where a
    /// suspension cuts, so that nothing can be written into a gap below the
    /// cut afterwards (a gap is beyond it).
    pub fn unbroken_to(&self, author: &TeamId) -> Result<u64> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq FROM envelopes WHERE author = ?1
             UNION SELECT seq FROM places WHERE author = ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([author.0.as_slice()])?;
        let mut top = 0u64;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            if seq.max(0) as u64 != top + 1 {
                break;
            }
            top += 1;
        }
        Ok(top)
    }

    /// How many envelopes of `author` are stored at position `seq`.
    pub fn count_at(&self, author: &TeamId, seq: u64) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM envelopes WHERE author = ?1 AND seq = ?2",
            params![author.0.as_slice(), int(seq)],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Whether an envelope is one of a recorded fork's two (kept whatever
    /// its author retracts).
    pub fn is_fork_evidence(&self, id: &EnvelopeId) -> Result<bool> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM forks WHERE first = ?1 OR second = ?1",
            [id.0.as_slice()],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Forgets `author`'s fork (one a cut below it made moot: its evidence
    /// goes with what lies past the cut, as on nodes that never saw it).
    pub fn clear_fork(&mut self, author: &TeamId) -> Result<()> {
        self.conn
            .execute("DELETE FROM forks WHERE author = ?1", [author.0.as_slice()])?;
        Ok(())
    }

    /// The highest place of `author`'s chain this node wrote, if it
    /// recorded any (stores from before the record have none).
    pub fn written_to(&self, author: &TeamId) -> Result<Option<u64>> {
        self.written_to_in(author)
    }

    /// Records that `author`'s chain continues after `seq` on this node
    /// (never lowers what is recorded): a node restored from a backup skips
    /// the places it may have written after the backup.
    pub fn note_written(&mut self, author: &TeamId, seq: u64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO written (author, seq) VALUES (?1, ?2)
             ON CONFLICT(author) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            rusqlite::params![author.0.as_slice(), crate::int(seq)],
        )?;
        Ok(())
    }

    fn written_to_in(&self, author: &TeamId) -> Result<Option<u64>> {
        use rusqlite::OptionalExtension;
        let n: Option<i64> = self
            .conn
            .query_row(
                "SELECT seq FROM written WHERE author = ?1",
                [author.0.as_slice()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(n.map(|n| n.max(0) as u64))
    }

    /// Every recorded fork.
    pub fn forks(&self) -> Result<Vec<ForkRow>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT author, seq, first, second FROM forks ORDER BY author")?;
        let rows = stmt.query_map([], |r| {
            let id = |i: usize| -> rusqlite::Result<[u8; 32]> {
                let b: Vec<u8> = r.get(i)?;
                b.try_into().map_err(|_| {
                    rusqlite::Error::InvalidColumnType(
                        i,
                        "32 bytes".into(),
                        rusqlite::types::Type::Blob,
                    )
                })
            };
            let seq: i64 = r.get(1)?;
            Ok((
                TeamId(id(0)?),
                seq.max(0) as u64,
                EnvelopeId(id(2)?),
                EnvelopeId(id(3)?),
            ))
        })?;
        collect(rows)
    }

    /// Deletes `author`'s envelopes after position `last` of its chain, with
    /// what was derived from them, in one transaction, except a recorded
    /// fork's two (every node needs them to find the fork, wherever they
    /// lie). Returns their reconciliation keys `(created_at, id)`.
    pub fn remove_after(&mut self, author: &TeamId, last: u64) -> Result<Vec<(u64, EnvelopeId)>> {
        let tx = self.conn.transaction()?;
        let gone: Vec<(u64, EnvelopeId)> = {
            let mut stmt = tx.prepare_cached(
                "SELECT seq, created_at, id, id, seq FROM envelopes WHERE author = ?1 AND seq > ?2 AND id NOT IN (SELECT first FROM forks UNION SELECT second FROM forks)",
            )?;
            let rows = stmt.query_map(params![author.0.as_slice(), int(last)], link_row)?;
            collect(rows)?
                .into_iter()
                .map(|(_, t, id, _, _)| (t.unwrap_or(0), id))
                .collect()
        };
        tx.execute(
            "DELETE FROM retracted WHERE tombstone IN
             (SELECT id FROM envelopes WHERE author = ?1 AND seq > ?2 AND id NOT IN (SELECT first FROM forks UNION SELECT second FROM forks))",
            params![author.0.as_slice(), int(last)],
        )?;
        tx.execute(
            "DELETE FROM places WHERE author = ?1 AND tombstone_seq > ?2
             AND tombstone NOT IN (SELECT first FROM forks UNION SELECT second FROM forks)",
            params![author.0.as_slice(), int(last)],
        )?;
        for table in ["opened", "pending_key"] {
            tx.execute(
                &format!(
                    "DELETE FROM {table} WHERE id IN
                     (SELECT id FROM envelopes WHERE author = ?1 AND seq > ?2 AND id NOT IN (SELECT first FROM forks UNION SELECT second FROM forks))"
                ),
                params![author.0.as_slice(), int(last)],
            )?;
        }
        tx.execute(
            "DELETE FROM envelopes WHERE author = ?1 AND seq > ?2 AND id NOT IN (SELECT first FROM forks UNION SELECT second FROM forks)",
            params![author.0.as_slice(), int(last)],
        )?;
        tx.commit()?;
        Ok(gone)
    }
}

fn link_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChainLink> {
    let seq: i64 = r.get(0)?;
    let created_at: Option<i64> = r.get(1)?;
    let id: Vec<u8> = r.get(2)?;
    let id: [u8; 32] = id.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(2, "32 bytes".into(), rusqlite::types::Type::Blob)
    })?;
    let shown_by: Vec<u8> = r.get(3)?;
    let shown_by: [u8; 32] = shown_by.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(3, "32 bytes".into(), rusqlite::types::Type::Blob)
    })?;
    let shown_at: i64 = r.get(4)?;
    let created_at = created_at.map(|t| t.max(0) as u64);
    Ok((
        seq.max(0) as u64,
        created_at,
        EnvelopeId(id),
        EnvelopeId(shown_by),
        shown_at.max(0) as u64,
    ))
}

fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<T>>) -> Result<Vec<T>> {
    Ok(rows.collect::<rusqlite::Result<Vec<T>>>()?)
}
