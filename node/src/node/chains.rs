//! Authors' chains from this node's side. Each arrival is checked against
//! its neighbours in its author's chain (what is stored, and what came
//! earlier in the same batch); a fork it reveals is stored with it, in its
//! transaction, and membership is computed again. When membership cuts a
//! chain (a rotation, revocation, suspension or fork), what this node holds
//! beyond the cut is deleted, so a node that learned of the cut late ends
//! up holding what the others hold.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Result;
use mesh_core::{Membership, Reason, Verdict, chain::Link};
use proto::{EnvelopeId, TeamId};
use seal::VerifiedEnvelope;

use super::Node;

/// What was prepared earlier in the same batch, not stored yet.
#[derive(Default)]
pub(super) struct Batch {
    /// Their ids.
    pub ids: HashSet<EnvelopeId>,
    /// Their places in their authors' chains.
    pub links: HashMap<TeamId, Vec<Link>>,
}

impl Batch {
    /// Notes an envelope prepared in this batch.
    pub fn add(&mut self, env: &VerifiedEnvelope) {
        let c = env.content();
        self.ids.insert(env.envelope().id);
        self.links.entry(c.author).or_default().push(link_of(env));
    }
}

fn link_of(env: &VerifiedEnvelope) -> Link {
    let c = env.content();
    Link {
        seq: c.seq,
        created_at: Some(c.created_at),
        id: env.envelope().id,
        shown_by: env.envelope().id,
        shown_at: c.seq,
    }
}

/// The place a tombstone says its target held, if it is one.
fn claim_of(env: &VerifiedEnvelope) -> Option<Link> {
    match (&env.content().kind, &env.content().body) {
        (proto::Kind::Retraction, proto::Body::Clear(b)) => {
            proto::Retraction::from_bytes(b).ok().map(|r| Link {
                seq: r.target_seq,
                created_at: None,
                id: r.target,
                shown_by: env.envelope().id,
                shown_at: env.content().seq,
            })
        }
        _ => None,
    }
}

pub(super) fn link(row: store::ChainLink) -> Link {
    Link {
        seq: row.0,
        created_at: row.1,
        id: row.2,
        shown_by: row.3,
        shown_at: row.4,
    }
}

impl Node {
    /// Loads the forks recorded in the store (at start).
    pub(super) fn load_forks(&mut self) -> Result<()> {
        for (key, at, _, _) in self.store.forks()? {
            self.forks.insert(key, at);
        }
        Ok(())
    }

    /// Checks an arrival against its author's chain, and a tombstone's
    /// named place too. Returns the fork it reveals (the position, and the
    /// envelope it contradicts), if any. At a known fork's position two
    /// envelopes are evidence enough: a third is not stored (its author
    /// could otherwise fill disks through it).
    pub(super) fn chain_check(
        &self,
        env: &VerifiedEnvelope,
        batch: &Batch,
    ) -> Result<Option<(u64, EnvelopeId)>, Verdict> {
        let c = env.content();
        let pending: Vec<Link> = batch.links.get(&c.author).cloned().unwrap_or_default();
        let mut found: Option<(u64, EnvelopeId)> = None;
        for own in [Some(link_of(env)), claim_of(env)].into_iter().flatten() {
            let stored = self
                .store
                .chain_neighbours(&c.author, own.seq, &own.id, own.created_at)
                .map_err(|e| Verdict::Ignore(Reason::Unstored(e.to_string())))?;
            let neighbours: Vec<Link> = stored
                .into_iter()
                .map(link)
                .chain(pending.iter().copied())
                .collect();
            if own.created_at.is_some()
                && self.members.forks().get(&c.author) == Some(&c.seq)
                && neighbours
                    .iter()
                    .filter(|l| l.seq == c.seq && l.created_at.is_some() && l.id != own.id)
                    .count()
                    >= 2
            {
                return Err(Verdict::Ignore(Reason::Revoked {
                    author: c.author.to_string(),
                    why: "its chain forked here and the evidence is already held".into(),
                }));
            }
            let this = mesh_core::chain::check(&own, &neighbours);
            found = match (found, this) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(found)
    }

    /// A stored envelope revealed a fork in `author`'s chain at `at`: note
    /// it, say it, and compute membership again.
    pub(super) fn fork_found(&mut self, now: u64, author: TeamId, at: u64) -> Result<()> {
        if self.forks.get(&author).is_some_and(|known| *known <= at) {
            return Ok(());
        }
        self.forks.insert(author, at);
        if author == self.me {
            tracing::error!(
                seq = at,
                "this team's signing key signed an envelope this node did not write (its chain forked): the key may be stolen. The team is out of the mesh until members admit a new key: `csirtmesh revoke` if not done, then rejoin with a new identity"
            );
        } else {
            let name = self
                .members
                .profile(&author)
                .map_or_else(|| author.short(), |p| p.name.clone());
            tracing::warn!(team = %name, seq = at, "a team's key signed two different histories (its chain forked): evidence of a stolen key; the team is removed from the mesh");
        }
        self.rebuild_membership(now)
    }

    /// Deletes what this node holds beyond each chain cut that `next` has
    /// and the cuts `before` did not (or had further on). Returns how many
    /// envelopes were deleted.
    pub(super) fn enforce_cuts(
        &mut self,
        before: &BTreeMap<TeamId, u64>,
        next: &Membership,
    ) -> Result<usize> {
        let mut deleted = 0;
        for (key, last) in next.cuts() {
            if before.get(&key).is_some_and(|b| *b <= last) {
                continue;
            }
            if !next.forks().contains_key(&key) && self.forks.remove(&key).is_some() {
                self.store.clear_fork(&key)?;
            }
            let gone = self.store.remove_after(&key, last)?;
            for k in &gone {
                self.sync_set.remove(k);
                self.joining_set.remove(k);
            }
            self.records.retain(|r| r.author != key || r.seq <= last);
            deleted += gone.len();
            if !gone.is_empty() {
                tracing::info!(key = %key.short(), after = last, deleted = gone.len(), "deleted what a team signed after its chain was cut");
            }
        }
        Ok(deleted)
    }
}
