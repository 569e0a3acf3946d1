//! Stored bytes are checked before they are used: an envelope's id is the
//! BLAKE3 of its bytes, so a row whose bytes no longer hash to the id it is
//! stored under (a flipped bit on disk, a hand edit) is found wherever it is
//! read (served to a peer, opened, listed). Such a row is logged, counted,
//! moved to quarantine (kept for the operator, out of the log), and its key
//! leaves the reconciliation set, so the next anti-entropy round fetches
//! the envelope again from a peer that holds it intact. Nothing else is
//! affected: every other incident stays listed. [`Node::check`] scans a
//! whole store on demand (`csirtmesh check`).

use store::Stored;

use super::Node;
use crate::api::{ApiError, types::CheckView};

impl Node {
    /// `s` if its bytes still hash to its id; otherwise it is quarantined
    /// and `None`.
    pub(super) fn intact(&mut self, now: u64, s: Stored) -> Option<Stored> {
        if s.intact() {
            return Some(s);
        }
        tracing::error!(id = %s.id, "stored envelope is damaged (its bytes no longer hash to its id): quarantined; anti-entropy fetches it again");
        self.sync_set.remove(&(s.created_at, s.id));
        self.joining_set.remove(&(s.created_at, s.id));
        if let Err(e) = self
            .store
            .quarantine(&s.id, "bytes do not hash to the id", now)
        {
            tracing::error!(id = %s.id, error = %e, "cannot quarantine a damaged envelope");
        }
        None
    }

    /// The intact rows among `rows` (the others quarantined).
    pub(super) fn keep_intact(&mut self, now: u64, rows: Vec<Stored>) -> Vec<Stored> {
        rows.into_iter()
            .filter_map(|s| self.intact(now, s))
            .collect()
    }

    /// One stored envelope by id, if stored and intact.
    pub(super) fn get_intact(
        &mut self,
        now: u64,
        id: &proto::EnvelopeId,
    ) -> Result<Option<Stored>, store::Error> {
        Ok(self.store.get(id)?.and_then(|s| self.intact(now, s)))
    }

    /// Scans every stored envelope; quarantines the damaged ones.
    pub fn check(&mut self, now: u64) -> Result<CheckView, ApiError> {
        let ids = self.store.ids()?;
        let mut damaged = Vec::new();
        for id in &ids {
            if let Some(s) = self.store.get(id)?
                && self.intact(now, s).is_none()
            {
                damaged.push(id.to_string());
            }
        }
        Ok(CheckView {
            scanned: ids.len() as u64,
            damaged,
            quarantined: self.store.quarantine_count()?,
        })
    }
}
