//! The pure steps the member computation is made of: key chains (first
//! rotation and revocation in each chain), the admission time of a set of
//! endorsements, and the least fixpoint of admissions.

use std::collections::{BTreeMap, BTreeSet};

use proto::{MembershipAct, TeamId};

use super::{Endorsement, Record, Rotation};

/// Key chains: a key's first valid rotation in its chain (lowest `seq`)
/// wins, whatever time it claims; a key can be rotated to only once and
/// never to a key already in a chain (a founder's included).
pub(super) fn rotations(
    sorted: &[&Record],
    founder_keys: &BTreeSet<TeamId>,
) -> BTreeMap<TeamId, Rotation> {
    let mut by_place: Vec<&Record> = sorted
        .iter()
        .copied()
        .filter(|r| matches!(r.act, MembershipAct::RotateKey { .. }))
        .collect();
    by_place.sort_by_key(|r| (r.seq, r.created_at, r.id));
    let mut rotated = BTreeMap::new();
    let mut used: BTreeSet<TeamId> = founder_keys.clone();
    for r in by_place {
        if let MembershipAct::RotateKey { new, .. } = &r.act
            && !rotated.contains_key(&r.author)
            && !used.contains(new)
            && *new != r.author
        {
            used.insert(r.author);
            used.insert(*new);
            let rotation = Rotation {
                to: *new,
                at: r.created_at,
                seq: r.seq,
            };
            rotated.insert(r.author, rotation);
        }
    }
    rotated
}

/// Each key's first revocation in its chain (lowest `seq`).
pub(super) fn first_revocations(sorted: &[&Record]) -> BTreeMap<TeamId, u64> {
    let mut first: BTreeMap<TeamId, u64> = BTreeMap::new();
    for r in sorted {
        if let MembershipAct::Revoke { .. } = r.act {
            let e = first.entry(r.author).or_insert(r.seq);
            *e = (*e).min(r.seq);
        }
    }
    first
}

/// The earliest moment at which `k` distinct sponsors in `members` have
/// endorsements valid at once.
pub(super) fn admission_time(
    ends: &[Endorsement],
    members: &BTreeSet<TeamId>,
    k: usize,
) -> Option<u64> {
    let mut times: Vec<u64> = ends.iter().map(|e| e.created_at).collect();
    times.sort_unstable();
    times.dedup();
    times.into_iter().find(|t| {
        let sponsors: BTreeSet<TeamId> = ends
            .iter()
            .filter(|e| members.contains(&e.sponsor) && e.created_at <= *t && *t <= e.expires_at)
            .map(|e| e.sponsor)
            .collect();
        sponsors.len() >= k
    })
}

pub(super) type Admitted = BTreeMap<TeamId, (Vec<TeamId>, u64)>;

/// The least fixpoint: founders, then whoever reaches `k` endorsements from
/// the set so far, excluding `blocked` and `out`. With a window, an admission
/// counts only once `now >= t_k + window`.
pub(super) fn fixpoint(
    founders: &BTreeSet<TeamId>,
    endorsements: &BTreeMap<TeamId, Vec<Endorsement>>,
    blocked: &BTreeSet<TeamId>,
    out: &BTreeSet<TeamId>,
    k: usize,
    window: Option<u64>,
    now: u64,
) -> (BTreeSet<TeamId>, Admitted) {
    let mut members: BTreeSet<TeamId> = founders.difference(out).copied().collect();
    let mut admitted = Admitted::new();
    loop {
        let mut grew = false;
        for (cand, ends) in endorsements {
            if members.contains(cand) || blocked.contains(cand) || out.contains(cand) {
                continue;
            }
            if let Some(t) = admission_time(ends, &members, k)
                && window.is_none_or(|w| now >= t.saturating_add(w))
            {
                let sponsors: Vec<TeamId> = ends
                    .iter()
                    .filter(|e| {
                        members.contains(&e.sponsor) && e.created_at <= t && t <= e.expires_at
                    })
                    .map(|e| e.sponsor)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                members.insert(*cand);
                admitted.insert(*cand, (sponsors, t));
                grew = true;
            }
        }
        if !grew {
            return (members, admitted);
        }
    }
}
