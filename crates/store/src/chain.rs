//! Authors' chains as the store holds them: an arrival's neighbours in its
//! author's chain, a whole chain, the forks found, and deleting what lies
//! beyond a chain's cut. Which links contradict is decided elsewhere
//! (`mesh_core::chain`); this only reads and writes.

use proto::{EnvelopeId, TeamId};
use rusqlite::params;

use crate::{Result, Store, int};

/// One stored envelope's place in its author's chain: `(seq, created_at,
/// id)`.
pub type ChainLink = (u64, u64, EnvelopeId);

/// A recorded fork: the key, the position, and the two envelopes that show
/// it.
pub type ForkRow = (TeamId, u64, EnvelopeId, EnvelopeId);

/// At most this many envelopes at one position are read as neighbours (two
/// show a fork; a node keeps no more than that at a fork's position).
const SAME_PLACE_LIMIT: i64 = 4;

impl Store {
    /// The stored envelopes of `author`'s chain that an arrival at `seq`
    /// must be checked against: those at `seq`, the nearest below (the
    /// latest stamped at that position) and the nearest above (the earliest
    /// stamped).
    pub fn chain_neighbours(&self, author: &TeamId, seq: u64) -> Result<Vec<ChainLink>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM (SELECT seq, created_at, id FROM envelopes
                WHERE author = ?1 AND seq = ?2 LIMIT ?3)
             UNION ALL
             SELECT * FROM (SELECT seq, created_at, id FROM envelopes
                WHERE author = ?1 AND seq < ?2 ORDER BY seq DESC, created_at DESC LIMIT 1)
             UNION ALL
             SELECT * FROM (SELECT seq, created_at, id FROM envelopes
                WHERE author = ?1 AND seq > ?2 ORDER BY seq ASC, created_at ASC LIMIT 1)",
        )?;
        let rows = stmt.query_map(
            params![author.0.as_slice(), int(seq), SAME_PLACE_LIMIT],
            link_row,
        )?;
        collect(rows)
    }

    /// Every stored envelope of `author`'s chain, by position.
    pub fn chain(&self, author: &TeamId) -> Result<Vec<ChainLink>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, created_at, id FROM envelopes WHERE author = ?1 ORDER BY seq, created_at",
        )?;
        let rows = stmt.query_map([author.0.as_slice()], link_row)?;
        collect(rows)
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

    /// Replaces what is recorded of `author`'s fork (after one of its
    /// envelopes left the store, its fork is found again from what is left).
    pub fn set_fork(
        &mut self,
        author: &TeamId,
        fork: Option<(u64, EnvelopeId, EnvelopeId)>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM forks WHERE author = ?1", [author.0.as_slice()])?;
        if let Some((seq, first, second)) = fork {
            tx.execute(
                "INSERT INTO forks (author, seq, first, second) VALUES (?1, ?2, ?3, ?4)",
                params![
                    author.0.as_slice(),
                    int(seq),
                    first.0.as_slice(),
                    second.0.as_slice()
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes `author`'s envelopes after position `last` of its chain, with
    /// what was derived from them, in one transaction. Returns their
    /// reconciliation keys `(created_at, id)`.
    pub fn remove_after(&mut self, author: &TeamId, last: u64) -> Result<Vec<(u64, EnvelopeId)>> {
        let tx = self.conn.transaction()?;
        let gone: Vec<(u64, EnvelopeId)> = {
            let mut stmt = tx.prepare_cached(
                "SELECT seq, created_at, id FROM envelopes WHERE author = ?1 AND seq > ?2",
            )?;
            let rows = stmt.query_map(params![author.0.as_slice(), int(last)], link_row)?;
            collect(rows)?
                .into_iter()
                .map(|(_, t, id)| (t, id))
                .collect()
        };
        for table in ["opened", "pending_key"] {
            tx.execute(
                &format!(
                    "DELETE FROM {table} WHERE id IN
                     (SELECT id FROM envelopes WHERE author = ?1 AND seq > ?2)"
                ),
                params![author.0.as_slice(), int(last)],
            )?;
        }
        tx.execute(
            "DELETE FROM envelopes WHERE author = ?1 AND seq > ?2",
            params![author.0.as_slice(), int(last)],
        )?;
        tx.commit()?;
        Ok(gone)
    }
}

fn link_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChainLink> {
    let seq: i64 = r.get(0)?;
    let created_at: i64 = r.get(1)?;
    let id: Vec<u8> = r.get(2)?;
    let id: [u8; 32] = id.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(2, "32 bytes".into(), rusqlite::types::Type::Blob)
    })?;
    Ok((seq.max(0) as u64, created_at.max(0) as u64, EnvelopeId(id)))
}

fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<T>>) -> Result<Vec<T>> {
    Ok(rows.collect::<rusqlite::Result<Vec<T>>>()?)
}
