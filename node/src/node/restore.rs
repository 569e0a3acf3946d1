//! A node restored from a backup (see [`crate::backup`]): it writes nothing
//! until it has caught up, then continues its chain far past anything it
//! may have written after the backup and lost.
//!
//! Caught up means: reconciled with the nodes of enough distinct members
//! (the charter's threshold, or every other member when there are fewer),
//! so that one hostile or removed member answering "nothing new" does not
//! end it; and past the marker's `write_after`, by default the clock-skew
//! window after the restore, so that nothing the lost node stamped (its
//! clock may have been up to that much ahead) is stamped later than what
//! the restored node writes at a higher place.
//!
//! The new place is the larger of the highest place known plus
//! [`RESTORE_GAP`] and the time in milliseconds times 2^20: a second
//! restore of the same backup, later, jumps past what the first one wrote
//! (even if the second never heard of it).

use std::collections::BTreeSet;

use anyhow::Result;
use net::PeerId;
use proto::TeamId;

use super::{Node, anti_entropy::SyncAccess};
use crate::{
    api::ApiError,
    backup::{RESTORE_GAP, Restored},
    datadir::files,
};

/// What a write is refused with while the node catches up.
pub(super) const CATCHING_UP: &str = "this node was restored from a backup and writes nothing until it has caught up with members' nodes and the clock-skew window has passed (see `csirtmesh status`)";

/// A restored node's progress.
#[derive(Debug, Default)]
pub(super) struct Restoring {
    /// Not before this time (ms).
    write_after: u64,
    /// Members whose nodes it has reconciled with.
    synced: BTreeSet<TeamId>,
}

/// The place a restored node continues after.
pub(super) fn restart_place(highest: u64, now: u64) -> u64 {
    highest
        .saturating_add(RESTORE_GAP)
        .max(now.saturating_mul(1 << 20))
        .min(proto::envelope::MAX_SEQ / 2)
}

impl Node {
    /// Starts in the restored state when the data directory holds a
    /// restore marker.
    pub fn with_restored(mut self, marker: Option<&Restored>) -> Self {
        if let Some(m) = marker {
            tracing::warn!(
                backup_taken_at_ms = m.backup_created_at,
                write_after_ms = m.write_after,
                "restored from a backup: writing nothing until caught up with members' nodes"
            );
            self.restoring = Some(Restoring {
                write_after: m.write_after,
                synced: BTreeSet::new(),
            });
        }
        self
    }

    /// Whether the node is restored and not yet caught up.
    pub fn catching_up(&self) -> bool {
        self.restoring.is_some()
    }

    /// Refuses a write while catching up.
    pub(super) fn may_write(&self) -> Result<(), ApiError> {
        if self.restoring.is_some() {
            Err(ApiError::Unavailable(CATCHING_UP))
        } else {
            Ok(())
        }
    }

    /// Distinct members' nodes a restored node must reconcile with.
    fn members_needed(&self) -> usize {
        let others = self.members.len().saturating_sub(1);
        self.rules.threshold.min(others).max(1)
    }

    /// A reconciliation with `peer` ended well. For a restored node talking
    /// to a member's node, that counts towards catching up; once caught up,
    /// the chain continues past a gap, recorded before the marker goes, so
    /// a crash in between leaves a node that catches up again and jumps
    /// again (never back). Returns whether the node caught up now.
    pub fn synced_with(&mut self, now: u64, peer: &PeerId) -> Result<bool> {
        let Some(restoring) = &self.restoring else {
            return Ok(false);
        };
        if self.sync_access(peer) != SyncAccess::Full {
            return Ok(false);
        }
        let Some(team) = self.members.team_of_node(&peer.to_bytes()) else {
            return Ok(false);
        };
        let team = self.members.canon(&team);
        let needed = self.members_needed();
        let write_after = restoring.write_after;
        let Some(restoring) = self.restoring.as_mut() else {
            return Ok(false);
        };
        if team != self.me {
            restoring.synced.insert(team);
        }
        if restoring.synced.len() < needed || now < write_after {
            return Ok(false);
        }
        let highest = self.seq.max(self.store.max_seq(&self.me)?);
        let next = restart_place(highest, now);
        self.store.note_written(&self.me, next)?;
        self.seq = next;
        if let Some(dir) = &self.dir {
            let marker = dir.file(files::RESTORED);
            match std::fs::remove_file(&marker) {
                Ok(()) => crate::datadir::sync_parent(&marker)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.restoring = None;
        tracing::info!(%peer, continues_after = next, "caught up after the restore: writing again");
        Ok(true)
    }
}
