//! # csirtmesh-store: the envelope log in SQLite
//!
//! One SQLite file per node. The envelope log (`envelopes`) is the source of
//! truth; everything else is derived from it and could be rebuilt: the
//! opened plaintext of envelopes addressed to this team (`opened`), the
//! GREEN envelopes waiting for a sender key (`pending_key`), and the sender
//! keys this node holds (`sender_keys`).
//!
//! Durability: WAL with `synchronous=FULL`, one transaction per insert, so
//! when [`Store::insert`] returns the envelope survives a killed process or a
//! power cut. The node acknowledges an envelope to its user only after that.
//! Schema versions are migrated forward on open (`rusqlite_migration`).
//!
//! Only this crate knows SQLite. It stores wire bytes as they arrived and a
//! few indexed columns copied from the decoded envelope; it never re-encodes.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::path::Path;

use proto::{Envelope, EnvelopeId, KeyId, Kind, TeamId, Tlp};
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite failed (disk full, permissions, corruption).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be migrated.
    #[error("cannot migrate the database schema: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// A stored row does not decode: the database was changed outside the node.
    #[error("stored envelope {id} is corrupt: {reason}")]
    Corrupt {
        /// The envelope id, hex.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// A copy of the database could not be taken or used: the message says
    /// why (damaged, locked too long).
    #[error("{0}")]
    Invalid(String),
}

/// Result alias for the store.
pub type Result<T> = std::result::Result<T, Error>;

/// How many schema versions there are (the current `user_version`). A new
/// migration changes it, and the fixture test then asks for a fixture of
/// the schema it replaces.
#[cfg(test)]
pub(crate) fn migrations_len() -> usize {
    5
}

/// Schema migrations, applied in order. Never edit a released one: add a new
/// one after it.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(
            "CREATE TABLE envelopes (
            id          BLOB PRIMARY KEY,
            author      BLOB NOT NULL,
            seq         INTEGER NOT NULL,
            created_at  INTEGER NOT NULL,
            kind        INTEGER NOT NULL,
            tlp         INTEGER NOT NULL,
            thread      BLOB,
            sender_key  BLOB,
            bytes       BLOB NOT NULL,
            received_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX envelopes_thread ON envelopes(thread);
        CREATE INDEX envelopes_author_seq ON envelopes(author, seq);
        CREATE INDEX envelopes_order ON envelopes(created_at, id);
        CREATE TABLE opened (
            id        BLOB PRIMARY KEY REFERENCES envelopes(id),
            plaintext BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE pending_key (
            id     BLOB PRIMARY KEY REFERENCES envelopes(id),
            key_id BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX pending_key_by_key ON pending_key(key_id);
        CREATE TABLE sender_keys (
            key_id     BLOB PRIMARY KEY,
            team       BLOB NOT NULL,
            secret     TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            own        INTEGER NOT NULL,
            members    BLOB
        ) WITHOUT ROWID;",
        ),
        // Retractions: a tombstone's target, its author, and the tombstone. The
        // target's row is deleted when both are here; a tombstone that arrives
        // first keeps the target from being stored later.
        M::up(
            "CREATE TABLE retracted (
            id        BLOB PRIMARY KEY,
            author    BLOB NOT NULL,
            tombstone BLOB NOT NULL
        ) WITHOUT ROWID;",
        ),
        // Rows whose bytes no longer hash to their id (a flipped bit on disk,
        // a hand edit): kept aside for the operator, out of the log, so that
        // reconciliation sees them missing and fetches them again.
        M::up(
            "CREATE TABLE quarantine (
            id       BLOB PRIMARY KEY,
            bytes    BLOB NOT NULL,
            found_at INTEGER NOT NULL,
            reason   TEXT NOT NULL
        ) WITHOUT ROWID;",
        ),
        // A retraction counts per (target, author): another member's
        // tombstone that arrived first must not stand in the author's place
        // (it kept the author's own from being recorded, and the target
        // came back by sync).
        M::up(
            "CREATE TABLE retracted_by_author (
            id        BLOB NOT NULL,
            author    BLOB NOT NULL,
            tombstone BLOB NOT NULL,
            PRIMARY KEY (id, author)
        ) WITHOUT ROWID;
        INSERT INTO retracted_by_author (id, author, tombstone)
            SELECT id, author, tombstone FROM retracted;
        DROP TABLE retracted;
        ALTER TABLE retracted_by_author RENAME TO retracted;",
        ),
        // Where an author key's chain forked (its lowest contradiction, and
        // the two envelopes that show it), kept with the envelope that
        // revealed it, in its transaction.
        // And the places tombstones say their targets held: a place stays
        // taken after its envelope is retracted, on every node, including
        // those that never held the target.
        M::up(
            "CREATE TABLE forks (
            author BLOB PRIMARY KEY,
            seq    INTEGER NOT NULL,
            first  BLOB NOT NULL,
            second BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE places (
            author    BLOB NOT NULL,
            seq       INTEGER NOT NULL,
            id        BLOB NOT NULL,
            tombstone BLOB NOT NULL,
            tombstone_seq INTEGER NOT NULL,
            PRIMARY KEY (author, seq, id, tombstone)
        ) WITHOUT ROWID;
        CREATE INDEX places_by_id ON places(id);
        CREATE INDEX envelopes_author_time ON envelopes(author, created_at);
        CREATE TABLE written (
            author BLOB PRIMARY KEY,
            seq    INTEGER NOT NULL
        ) WITHOUT ROWID;",
        ),
    ])
}

/// What the node learned about an envelope when it accepted it, stored with
/// it in the same transaction.
#[derive(Clone, Debug, Default)]
pub struct Derived {
    /// The checked plaintext, when this team could open it.
    pub opened: Option<Vec<u8>>,
    /// The GREEN sender key it waits for, when this node lacks it.
    pub waiting_for: Option<KeyId>,
    /// For a tombstone: the envelope it retracts (deleted in the same
    /// transaction if stored and by the same author, unless it is a fork's
    /// evidence), and the place it says the target held (kept).
    pub retracts: Option<EnvelopeId>,
    /// The place in its author's chain the retracted envelope held.
    pub retracts_seq: Option<u64>,
    /// The author's chain forks at this position, shown by this envelope
    /// and the stored one named: recorded unless a lower fork is known.
    pub fork: Option<(u64, EnvelopeId)>,
    /// This node wrote it: the highest such place of its key is kept, so a
    /// restarted node continues after what it wrote, not after what a
    /// thief wrote with its key.
    pub written_here: bool,
}

/// A stored envelope with what this node derived from it.
#[derive(Clone, Debug)]
pub struct Stored {
    /// The id the row is stored under (what the bytes must hash to).
    pub id: EnvelopeId,
    /// Its `created_at`, as indexed (the reconciliation key with the id).
    pub created_at: u64,
    /// The envelope's wire bytes.
    pub bytes: Vec<u8>,
    /// The checked plaintext, when opened.
    pub opened: Option<Vec<u8>>,
    /// Whether it waits for a sender key.
    pub waiting_for_key: bool,
    /// When this node stored it (ms).
    pub received_at: u64,
}

impl Stored {
    /// Whether the bytes still hash to the id they are stored under: the id
    /// is the BLAKE3 of the bytes, so a changed byte shows, whatever
    /// SQLite's own integrity check says.
    pub fn intact(&self) -> bool {
        EnvelopeId::of(&self.bytes) == self.id
    }
}

/// A sender key this node holds.
#[derive(Clone, Debug)]
pub struct SenderKeyRow {
    /// Its id.
    pub key_id: KeyId,
    /// The team that sends with it.
    pub team: TeamId,
    /// Its secret string.
    pub secret: String,
    /// When it was stored.
    pub created_at: u64,
    /// For our own keys: a digest of the member set it was shared with.
    pub members: Option<[u8; 32]>,
}

/// The node's database.
pub struct Store {
    conn: Connection,
}

fn kind_code(k: Kind) -> i64 {
    match k {
        Kind::Profile => 0,
        Kind::KeyShare => 1,
        Kind::Incident => 2,
        Kind::Membership => 3,
        Kind::Retraction => 4,
    }
}

fn tlp_code(t: Tlp) -> i64 {
    t as i64
}

/// SQLite stores signed 64-bit integers; our stamps are u64 but stay far
/// below i64::MAX (ms since 1970 until the year 292 million).
pub(crate) fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// Opens (or creates) the database at `path`, sets WAL and
    /// `synchronous=FULL`, and migrates the schema forward.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        Self::setup(conn)
    }

    /// An in-memory database, for tests.
    pub fn open_in_memory() -> Result<Self> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Self> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Functions in a schema (views, triggers) run with no side effects
        // beyond the database; the node's schema has none.
        conn.pragma_update(None, "trusted_schema", "OFF")?;
        // A second process (an operator's sqlite3 shell) may hold a lock briefly.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations().to_latest(&mut conn)?;
        Ok(Store { conn })
    }

    /// SQLite's integrity check over the whole file (a restored copy is
    /// checked before a node runs on it).
    pub fn check_integrity(&self) -> Result<()> {
        snapshot::check_integrity(&self.conn)
    }

    /// Refuses a database that holds triggers or views: the node's schema
    /// has none, and a file from elsewhere (a restored backup) must not run
    /// code inside the node.
    pub fn check_no_code(&self) -> Result<()> {
        let found: Vec<String> = self
            .conn
            .prepare(
                "SELECT type || ' ' || name FROM sqlite_schema WHERE type IN ('trigger', 'view')",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if found.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "it holds {} (the node's schema has none)",
                found.join(", ")
            )))
        }
    }

    /// Stores an accepted envelope and what was derived from it, durably, in
    /// one transaction. Returns `false` (and changes nothing) if it was
    /// already stored.
    pub fn insert(&mut self, env: &Envelope, derived: &Derived, received_at: u64) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let inserted = insert_in(&tx, env, derived, received_at)?;
        tx.commit()?;
        Ok(inserted)
    }

    /// Stores several accepted envelopes in one transaction: one fsync for
    /// the batch (group commit). Returns, for each, whether it was new. When
    /// this returns, all of them are durable; on error, none is.
    pub fn insert_many(
        &mut self,
        items: &[(&Envelope, &Derived)],
        received_at: u64,
    ) -> Result<Vec<bool>> {
        let tx = self.conn.transaction()?;
        let mut out = Vec::with_capacity(items.len());
        for (env, derived) in items {
            out.push(insert_in(&tx, env, derived, received_at)?);
        }
        tx.commit()?;
        Ok(out)
    }

    /// Moves a damaged row out of the log into the quarantine table (its
    /// bytes kept for the operator), with what was derived from it, in one
    /// transaction. Returns whether a row was moved.
    pub fn quarantine(&mut self, id: &EnvelopeId, reason: &str, now: u64) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let moved = tx.execute(
            "INSERT OR REPLACE INTO quarantine (id, bytes, found_at, reason)
             SELECT id, bytes, ?2, ?3 FROM envelopes WHERE id = ?1",
            params![id.0.as_slice(), int(now), reason],
        )?;
        tx.execute("DELETE FROM opened WHERE id = ?1", [id.0.as_slice()])?;
        tx.execute("DELETE FROM pending_key WHERE id = ?1", [id.0.as_slice()])?;
        tx.execute("DELETE FROM envelopes WHERE id = ?1", [id.0.as_slice()])?;
        tx.commit()?;
        Ok(moved > 0)
    }

    /// Rows moved to quarantine so far.
    pub fn quarantine_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM quarantine", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Test support: changes a stored row's bytes in place, as a flipped
    /// bit on disk would (SQLite's integrity check does not see it).
    #[cfg(feature = "test-util")]
    pub fn tamper(&mut self, id: &EnvelopeId, f: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        let mut bytes: Vec<u8> = self.conn.query_row(
            "SELECT bytes FROM envelopes WHERE id = ?1",
            [id.0.as_slice()],
            |r| r.get(0),
        )?;
        f(&mut bytes);
        self.conn.execute(
            "UPDATE envelopes SET bytes = ?2 WHERE id = ?1",
            params![id.0.as_slice(), bytes],
        )?;
        Ok(())
    }

    /// Whether `author` retracted `id` (a tombstone by anyone else does not
    /// count).
    pub fn retracted_by(&self, id: &EnvelopeId, author: &TeamId) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM retracted WHERE id = ?1 AND author = ?2")?
            .query_row([id.0.as_slice(), author.0.as_slice()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Whether an envelope is stored.
    pub fn contains(&self, id: &EnvelopeId) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM envelopes WHERE id = ?1")?
            .exists([id.0.as_slice()])?)
    }

    /// One stored envelope with what was derived from it.
    pub fn get(&self, id: &EnvelopeId) -> Result<Option<Stored>> {
        self.conn
            .prepare_cached(STORED_SELECT_BY_ID)?
            .query_row([id.0.as_slice()], stored_row)
            .optional()
            .map_err(Error::from)
    }

    /// Number of stored envelopes.
    pub fn count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM envelopes", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Every stored envelope of a kind, in `(created_at, id)` order.
    pub fn by_kind(&self, kind: Kind) -> Result<Vec<Stored>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{STORED_SELECT} WHERE e.kind = ?1 ORDER BY e.created_at, e.id"
        ))?;
        let rows = stmt.query_map([kind_code(kind)], stored_row)?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(Error::from)
    }

    /// Incident roots (incident envelopes with no thread), newest first.
    pub fn incident_roots(&self) -> Result<Vec<Stored>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{STORED_SELECT} WHERE e.kind = ?1 AND e.thread IS NULL ORDER BY e.created_at DESC, e.id"
        ))?;
        let rows = stmt.query_map([kind_code(Kind::Incident)], stored_row)?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(Error::from)
    }

    /// Every envelope naming `root` as its thread.
    pub fn thread(&self, root: &EnvelopeId) -> Result<Vec<Stored>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{STORED_SELECT} WHERE e.thread = ?1 ORDER BY e.created_at, e.id"
        ))?;
        let rows = stmt.query_map([root.0.as_slice()], stored_row)?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(Error::from)
    }

    /// Every stored envelope id, in `(created_at, id)` order.
    pub fn ids(&self) -> Result<Vec<EnvelopeId>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM envelopes ORDER BY created_at, id")?;
        let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for row in rows {
            let bytes = row?;
            out.push(EnvelopeId::from_slice(&bytes).map_err(|e| Error::Corrupt {
                id: hex::encode(&bytes),
                reason: e.to_string(),
            })?);
        }
        Ok(out)
    }

    /// Every stored envelope's `(created_at, id)` key, for reconciliation.
    pub fn keys(&self) -> Result<Vec<(u64, EnvelopeId)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT created_at, id FROM envelopes")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (t, bytes) = row?;
            let id = EnvelopeId::from_slice(&bytes).map_err(|e| Error::Corrupt {
                id: hex::encode(&bytes),
                reason: e.to_string(),
            })?;
            out.push((t.max(0) as u64, id));
        }
        Ok(out)
    }

    /// The highest sequence number stored for `author` (0 if none).
    pub fn max_seq(&self, author: &TeamId) -> Result<u64> {
        let n: Option<i64> = self.conn.query_row(
            "SELECT MAX(seq) FROM envelopes WHERE author = ?1",
            [author.0.as_slice()],
            |r| r.get(0),
        )?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    /// The highest `created_at` stored (0 if none), to resume the clock.
    pub fn max_created_at(&self) -> Result<u64> {
        let n: Option<i64> =
            self.conn
                .query_row("SELECT MAX(created_at) FROM envelopes", [], |r| r.get(0))?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    /// Records that an envelope was opened later (its key arrived), and that
    /// it no longer waits.
    pub fn set_opened(&mut self, id: &EnvelopeId, plaintext: &[u8]) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO opened (id, plaintext) VALUES (?1, ?2)",
            params![id.0.as_slice(), plaintext],
        )?;
        tx.execute("DELETE FROM pending_key WHERE id = ?1", [id.0.as_slice()])?;
        tx.commit()?;
        Ok(())
    }

    /// Drops the wait of an envelope that turned out unopenable with its key.
    pub fn clear_pending(&mut self, id: &EnvelopeId) -> Result<()> {
        self.conn
            .execute("DELETE FROM pending_key WHERE id = ?1", [id.0.as_slice()])?;
        Ok(())
    }

    /// Envelopes waiting for sender key `key`.
    pub fn waiting_for(&self, key: &KeyId) -> Result<Vec<Stored>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{STORED_SELECT} JOIN pending_key w ON w.id = e.id WHERE w.key_id = ?1"
        ))?;
        let rows = stmt.query_map([key.0.as_slice()], stored_row)?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(Error::from)
    }

    /// `author`'s first `limit` envelopes above place `after` of its chain
    /// sealed to named teams (AMBER and above) that this node has not
    /// opened: those to look at again once the author's new age recipient
    /// is known.
    pub fn unopened_sealed_by(
        &self,
        author: &TeamId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Stored>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.bytes, NULL, EXISTS(SELECT 1 FROM pending_key p WHERE p.id = e.id), e.received_at, e.id, e.created_at
             FROM envelopes e INDEXED BY envelopes_author_seq
             WHERE e.author = ?1 AND e.seq > ?2 AND e.tlp >= ?3 AND e.sender_key IS NULL
               AND NOT EXISTS (SELECT 1 FROM opened o WHERE o.id = e.id)
             ORDER BY e.seq LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                author.0.as_slice(),
                int(after),
                tlp_code(Tlp::Amber),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            stored_row,
        )?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(Error::from)
    }

    /// Number of envelopes waiting for a sender key.
    pub fn waiting_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM pending_key", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Stores a sender key (ours or another team's); keeps the first copy.
    pub fn put_sender_key(&mut self, row: &SenderKeyRow, own: bool) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO sender_keys (key_id, team, secret, created_at, own, members)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                row.key_id.0.as_slice(),
                row.team.0.as_slice(),
                row.secret,
                int(row.created_at),
                own,
                row.members.map(|m| m.to_vec()),
            ],
        )?;
        Ok(())
    }

    /// A sender key by id.
    pub fn sender_key(&self, key: &KeyId) -> Result<Option<SenderKeyRow>> {
        self.conn
            .prepare_cached("SELECT key_id, team, secret, created_at, members FROM sender_keys WHERE key_id = ?1")?
            .query_row([key.0.as_slice()], key_row)
            .optional()?
            .transpose()
    }

    /// Our newest own sender key.
    pub fn own_sender_key(&self) -> Result<Option<SenderKeyRow>> {
        self.conn
            .prepare_cached(
                "SELECT key_id, team, secret, created_at, members FROM sender_keys
                 WHERE own = 1 ORDER BY created_at DESC LIMIT 1",
            )?
            .query_row([], key_row)
            .optional()?
            .transpose()
    }
}

/// Inserts one accepted envelope and what was derived from it inside `tx`.
fn insert_in(
    tx: &rusqlite::Transaction<'_>,
    env: &Envelope,
    derived: &Derived,
    received_at: u64,
) -> Result<bool> {
    let c = &env.content;
    let sender_key = match &c.body {
        proto::Body::Sealed {
            to: proto::SealedTo::SenderKey(k),
            ..
        } => Some(k.0.to_vec()),
        _ => None,
    };
    let n = tx.execute(
        "INSERT OR IGNORE INTO envelopes
               (id, author, seq, created_at, kind, tlp, thread, sender_key, bytes, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            env.id.0.as_slice(),
            c.author.0.as_slice(),
            int(c.seq),
            int(c.created_at),
            kind_code(c.kind),
            tlp_code(c.tlp),
            c.thread.map(|t| t.0.to_vec()),
            sender_key,
            env.bytes,
            int(received_at),
        ],
    )?;
    if n == 0 {
        return Ok(false);
    }
    if let Some(p) = &derived.opened {
        tx.execute(
            "INSERT INTO opened (id, plaintext) VALUES (?1, ?2)",
            params![env.id.0.as_slice(), p],
        )?;
    }
    if let Some(k) = &derived.waiting_for {
        tx.execute(
            "INSERT INTO pending_key (id, key_id) VALUES (?1, ?2)",
            params![env.id.0.as_slice(), k.0.as_slice()],
        )?;
    }
    if derived.written_here {
        tx.execute(
            "INSERT INTO written (author, seq) VALUES (?1, ?2)
             ON CONFLICT (author) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            params![c.author.0.as_slice(), int(c.seq)],
        )?;
    }
    if let Some((seq, other)) = &derived.fork {
        tx.execute(
            "INSERT INTO forks (author, seq, first, second) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (author) DO UPDATE SET
                seq = excluded.seq, first = excluded.first, second = excluded.second
             WHERE excluded.seq < forks.seq",
            params![
                c.author.0.as_slice(),
                int(*seq),
                other.0.as_slice(),
                env.id.0.as_slice()
            ],
        )?;
    }
    if let (Some(target), Some(seq)) = (&derived.retracts, derived.retracts_seq) {
        tx.execute(
            "INSERT OR IGNORE INTO places (author, seq, id, tombstone, tombstone_seq)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                c.author.0.as_slice(),
                int(seq),
                target.0.as_slice(),
                env.id.0.as_slice(),
                int(c.seq)
            ],
        )?;
    }
    if let Some(target) = &derived.retracts {
        let t = target.0.as_slice();
        tx.execute(
            "INSERT OR IGNORE INTO retracted (id, author, tombstone) VALUES (?1, ?2, ?3)",
            params![t, c.author.0.as_slice(), env.id.0.as_slice()],
        )?;
        // A fork's evidence stays whatever its author retracts: every node
        // needs both envelopes to find the fork.
        let same_author = "(SELECT author FROM envelopes WHERE id = ?1) = ?2
            AND ?1 NOT IN (SELECT first FROM forks UNION SELECT second FROM forks)";
        tx.execute(
            &format!("DELETE FROM opened WHERE id = ?1 AND {same_author}"),
            params![t, c.author.0.as_slice()],
        )?;
        tx.execute(
            &format!("DELETE FROM pending_key WHERE id = ?1 AND {same_author}"),
            params![t, c.author.0.as_slice()],
        )?;
        tx.execute(
            "DELETE FROM envelopes WHERE id = ?1 AND author = ?2
             AND ?1 NOT IN (SELECT first FROM forks UNION SELECT second FROM forks)",
            params![t, c.author.0.as_slice()],
        )?;
    }
    Ok(true)
}

/// A bare table with the store's connection settings (WAL,
/// `synchronous=FULL`) and none of its logic: the floor that benchmarks
/// measure the envelope log against.
pub struct RawTable {
    conn: Connection,
}

impl RawTable {
    /// Creates the table in a new database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE raw (id BLOB PRIMARY KEY, bytes BLOB NOT NULL) WITHOUT ROWID;",
        )?;
        Ok(RawTable { conn })
    }

    /// Inserts rows in one transaction.
    pub fn insert_batch(&self, rows: &[(&[u8], &[u8])]) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached("INSERT INTO raw (id, bytes) VALUES (?1, ?2)")?;
            for (id, bytes) in rows {
                stmt.execute(params![id, bytes])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// The columns of a [`Stored`], in the order `stored_row` reads them.
macro_rules! stored_select {
    () => {
        "SELECT e.bytes, o.plaintext, EXISTS(SELECT 1 FROM pending_key p WHERE p.id = e.id), e.received_at, e.id, e.created_at
         FROM envelopes e LEFT JOIN opened o ON o.id = e.id"
    };
}
const STORED_SELECT: &str = stored_select!();
const STORED_SELECT_BY_ID: &str = concat!(stored_select!(), " WHERE e.id = ?1");

fn stored_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    let id: Vec<u8> = r.get(4)?;
    Ok(Stored {
        // A malformed id column cannot hash-match anything: the row shows
        // as not intact.
        id: EnvelopeId::from_slice(&id).unwrap_or(EnvelopeId([0; 32])),
        created_at: r.get::<_, i64>(5)?.max(0) as u64,
        bytes: r.get(0)?,
        opened: r.get(1)?,
        waiting_for_key: r.get(2)?,
        received_at: r.get::<_, i64>(3)?.max(0) as u64,
    })
}

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<SenderKeyRow>> {
    let key: Vec<u8> = r.get(0)?;
    let team: Vec<u8> = r.get(1)?;
    let members: Option<Vec<u8>> = r.get(4)?;
    let created_at: i64 = r.get(3)?;
    let secret: String = r.get(2)?;
    Ok((|| {
        let corrupt = |reason: String| Error::Corrupt {
            id: hex::encode(&key),
            reason,
        };
        Ok(SenderKeyRow {
            key_id: KeyId::from_slice(&key).map_err(|e| corrupt(e.to_string()))?,
            team: TeamId::from_slice(&team).map_err(|e| corrupt(e.to_string()))?,
            secret,
            created_at: created_at.max(0) as u64,
            members: members
                .map(|m| {
                    <[u8; 32]>::try_from(m.as_slice()).map_err(|_| corrupt("members digest".into()))
                })
                .transpose()?,
        })
    })())
}

mod chain;
pub use chain::{ChainLink, ForkRow};
mod snapshot;
pub use snapshot::{Snapshot, snapshot};
#[cfg(test)]
mod tests;
