//! A node restored from a backup (see [`crate::backup`]): it writes nothing
//! until it has caught up with a member's node, then continues its chain
//! [`RESTORE_GAP`] places past the highest it knows of, so that nothing it
//! writes can land on a place it wrote after the backup and lost.

use anyhow::Result;
use net::PeerId;

use super::{Node, anti_entropy::SyncAccess};
use crate::{
    api::ApiError,
    backup::{RESTORE_GAP, Restored},
    datadir::files,
};

/// What a write is refused with while the node catches up.
pub(super) const CATCHING_UP: &str = "this node was restored from a backup and writes nothing until it has caught up with a member's node (see `csirtmesh status`)";

impl Node {
    /// Starts in the restored state when the data directory holds a
    /// restore marker.
    pub fn with_restored(mut self, marker: Option<&Restored>) -> Self {
        if let Some(m) = marker {
            tracing::warn!(
                backup_taken_at_ms = m.backup_created_at,
                "restored from a backup: writing nothing until caught up with a member's node"
            );
            self.restored = true;
        }
        self
    }

    /// Whether the node is restored and not yet caught up.
    pub fn catching_up(&self) -> bool {
        self.restored
    }

    /// Refuses a write while catching up.
    pub(super) fn may_write(&self) -> Result<(), ApiError> {
        if self.restored {
            Err(ApiError::Unavailable(CATCHING_UP))
        } else {
            Ok(())
        }
    }

    /// A reconciliation with `peer` ended well. For a restored node talking
    /// to a member's node, that is catching up: the chain continues past a
    /// gap, recorded before the marker goes, so a crash in between leaves a
    /// node that catches up again and jumps again (never back).
    pub fn synced_with(&mut self, peer: &PeerId) -> Result<()> {
        if !self.restored || self.sync_access(peer) != SyncAccess::Full {
            return Ok(());
        }
        let highest = self.seq.max(self.store.max_seq(&self.me)?);
        let next = highest.saturating_add(RESTORE_GAP);
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
        self.restored = false;
        tracing::info!(%peer, continues_after = next, "caught up after the restore: writing again");
        Ok(())
    }
}
