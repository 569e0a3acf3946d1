//! Membership: who may publish in the mesh, and who GREEN goes to.
//!
//! Membership is a pure function of the charter's rules, the profiles and the
//! membership acts a node holds, and `now` (for objection windows and for
//! which applications are open). Every
//! node that holds the same records computes the same members, whatever the
//! order they arrived in (property-tested).
//!
//! # The rules
//!
//! - A **team** is a chain of keys: its founding or first key, then each key
//!   it rotated to (`RotateKey`, signed by the old key, with the new key's
//!   proof of consent). It is named by its current (last) key. A rotated-away
//!   key may author nothing created at or after the rotation; what it wrote
//!   before stays attributed to the team.
//! - **Founders** named by the charter are members.
//! - A team is **admitted** when at least `k` distinct members have endorsed
//!   it with endorsements valid at one common moment: the admission time
//!   `t_k` is the earliest `created_at` of an endorsement at which `k`
//!   distinct member sponsors have an endorsement with `created_at <= t_k <=
//!   expires_at`. A team cannot endorse itself; a sponsor counts once however
//!   often it endorses. Membership is the *least* fixpoint of this rule, so a
//!   ring of identities vouching only for each other admits nobody.
//! - With an **objection window** `W` in the charter, an admission takes
//!   effect only once `now >= t_k + W`, and a member's objection created at or
//!   before `t_k + W` blocks it. To keep the result independent of evaluation
//!   order, objectors are judged against the member set computed without
//!   objections.
//! - **Revocation**: a team revokes its own key (`Revoke`), or `k` distinct
//!   members suspend it (`Suspend`; the suspension takes effect at the `k`-th
//!   earliest suspension). A removed team may author nothing created at or
//!   after its removal; its earlier envelopes stay valid and readable.
//! - **Applicants are sponsored.** A team is an applicant only while a
//!   current member sponsors its application: an invitation (`Invite`) or an
//!   endorsement (`Endorse`), open from its `created_at` for at most
//!   [`MAX_INVITATION_DAYS`] days (an endorsement may count toward admission
//!   for longer; its application does not stay open longer). Each member has
//!   at most [`MAX_OPEN_INVITATIONS`] applications open at any moment: a
//!   sponsorship opens one only if fewer of the same author's earlier ones
//!   (by `created_at`, then id) are still open at its `created_at`; one made
//!   past the budget still counts toward admission but opens nothing. Only a
//!   sponsored team's join request (its profile) enters the mesh, and when
//!   every sponsorship has closed the team is nobody's applicant. So nobody
//!   outside the mesh can take a pending slot, and a member can hold at most
//!   its own few at a time.
//! - **When an endorser is removed**, its endorsements stop counting: a team
//!   admitted through it stays a member only while it still has `k` valid
//!   endorsements from remaining members. This is what lets a compromised
//!   key's Sybil admissions collapse when the key is revoked; an honest team
//!   that loses a sponsor this way is re-admitted by one more endorsement.

use std::collections::{BTreeMap, BTreeSet};

use proto::{EnvelopeId, MembershipAct, Profile, TeamId};

use applications::Sponsorship;

/// Invitations one member may have open (not expired) at once.
pub const MAX_OPEN_INVITATIONS: usize = 10;

/// The longest an invitation stays open, in days; a longer one is cut to it.
pub const MAX_INVITATION_DAYS: u64 = 30;

const DAY_MS: u64 = 24 * 3600 * 1000;

/// The charter's membership rules.
#[derive(Clone, Debug)]
pub struct Rules {
    /// Founding teams' profiles (verified).
    pub founders: Vec<Profile>,
    /// Endorsements needed (`k`, at least 1).
    pub threshold: usize,
    /// Objection window in ms, if any.
    pub objection_window_ms: Option<u64>,
}

/// A membership act as a node holds it: from an accepted envelope of this
/// mesh, signature (and rotation proof) already verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The envelope carrying it (ties are broken by id).
    pub id: EnvelopeId,
    /// Who signed it.
    pub author: TeamId,
    /// Its place in the author's chain.
    pub seq: u64,
    /// When (author's HLC, ms).
    pub created_at: u64,
    /// What it says.
    pub act: MembershipAct,
}

/// An applicant's state: who vouched, who objected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applicant {
    /// Distinct member sponsors whose endorsement has not expired by `now`.
    pub sponsors: Vec<TeamId>,
    /// Objections by members: (objector, reason, when).
    pub objections: Vec<(TeamId, String, u64)>,
    /// When `k` endorsements were reached, if they were (admission waits for
    /// the objection window to pass).
    pub threshold_reached_at: Option<u64>,
    /// Members whose invitation is open.
    pub invited_by: Vec<TeamId>,
    /// When the last open invitation or endorsement expires: the team stops
    /// being an applicant then unless a member invites or vouches again.
    pub expires_at: u64,
    /// Node ids its open invitations name (kept connected before its join
    /// request arrives).
    pub nodes: Vec<Vec<u8>>,
}

/// Why a team is no longer a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    /// It revoked its own key.
    Revoked {
        /// Its reason.
        reason: String,
    },
    /// `k` members suspended it.
    Suspended {
        /// Who suspended it.
        by: Vec<TeamId>,
    },
    /// Its key's chain forked: two envelopes at one position, or a later
    /// position stamped earlier. Evidence of a stolen key (or a copied data
    /// directory); the team rejoins under a new key.
    Forked,
}

/// A removed team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed {
    /// Why.
    pub removal: Removal,
    /// When the act that removed it says it was made (ms; 0 for a fork):
    /// for display. What counts is `last_seq`.
    pub at: u64,
    /// The last position of its current key's chain that stays valid:
    /// everything it wrote after is refused, whatever time it claims.
    pub last_seq: u64,
}

/// Where each key's chain forked (key -> lowest contradicting position), as
/// the node found it in the envelopes it holds ([`crate::chain`]).
pub type Forks = BTreeMap<TeamId, u64>;

/// A key rotation as it counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// The new key.
    pub to: TeamId,
    /// When the act says it was made (ms), for display.
    pub at: u64,
    /// Its position in the old key's chain: the old key's last valid one.
    pub seq: u64,
}

/// Why a key may not author an envelope.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Neither member nor formerly member.
    #[error("not a member of this mesh")]
    NotAMember,
    /// An applicant, not yet admitted.
    #[error("an applicant, not yet admitted")]
    Applicant,
    /// The team was removed before this envelope's place in its chain.
    #[error("removed from the mesh after its envelope {0}")]
    Removed(u64),
    /// The key was rotated away before this envelope's place in its chain.
    #[error("key replaced by {to} after its envelope {seq}")]
    Rotated {
        /// The new key.
        to: TeamId,
        /// The rotation's place in the old key's chain.
        seq: u64,
    },
    /// The key's chain forked at or before this envelope's place.
    #[error("its key's chain forked at envelope {0} (evidence of a stolen key)")]
    Forked(u64),
}

/// The member set and what led to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    members: BTreeSet<TeamId>,
    founders: BTreeSet<TeamId>,
    /// Members admitted by endorsement: who sponsored them, and when.
    admitted: BTreeMap<TeamId, (Vec<TeamId>, u64)>,
    /// Members at some point (ignoring removals): their old envelopes stay valid.
    ever: BTreeSet<TeamId>,
    applicants: BTreeMap<TeamId, Applicant>,
    removed: BTreeMap<TeamId, Removed>,
    /// Key rotations: old key -> the rotation.
    rotated: BTreeMap<TeamId, Rotation>,
    /// Forks that count (at or before their key's other cuts).
    forks: Forks,
    /// Latest known profile of every team (by key).
    profiles: BTreeMap<TeamId, Profile>,
    /// Per sponsor: (made, expires) of each application it opened.
    sponsorships: BTreeMap<TeamId, Vec<(u64, u64)>>,
    threshold: usize,
}

struct Endorsement {
    sponsor: TeamId,
    created_at: u64,
    expires_at: u64,
}

/// The acts that count, sorted out by kind, every team by its current key.
#[derive(Default)]
struct Acts {
    endorsements: BTreeMap<TeamId, Vec<Endorsement>>,
    /// Per candidate: (objector, reason, when).
    objections: BTreeMap<TeamId, Vec<(TeamId, String, u64)>>,
    /// A team's first self-revocation (in its chain): (reason, when, seq).
    self_revoked: BTreeMap<TeamId, (String, u64, u64)>,
    /// Per target: (suspending member, when, the target's last valid seq).
    suspensions: BTreeMap<TeamId, Vec<(TeamId, u64, u64)>>,
    /// Per candidate: the sponsorships within their author's budget.
    sponsorships: BTreeMap<TeamId, Vec<Sponsorship>>,
}

impl Membership {
    /// Computes membership. `records` may come in any order and may contain
    /// duplicates; the result depends only on their set. A record's id is the
    /// hash of its envelope, so one id stands for one record.
    ///
    /// In order: key chains (rotations), the acts that count, everyone ever
    /// admitted (objections within the window block), removals (revocations,
    /// then suspensions by k current members, to a fixpoint), applicants.
    pub fn compute(
        rules: &Rules,
        profiles: impl IntoIterator<Item = Profile>,
        records: &[Record],
        now: u64,
    ) -> Self {
        Self::compute_with_forks(rules, profiles, records, &Forks::new(), now)
    }

    /// [`Membership::compute`] knowing where keys' chains forked.
    ///
    /// Chains first: nothing a key signed at or after its fork counts; a
    /// key's chain ends at its first (lowest `seq`) revocation or valid
    /// rotation, and nothing after counts, whatever time it claims.
    ///
    /// Validity is decided here, not on arrival: an act counts only if its
    /// author's chain was not cut before it. A suspension cuts a chain, and
    /// what the suspended team signed after the cut (its own suspensions
    /// included) and a removed team's objections are taken out and
    /// everything recomputed, until nothing more is taken out (the set only
    /// shrinks, so this ends).
    pub fn compute_with_forks(
        rules: &Rules,
        profiles: impl IntoIterator<Item = Profile>,
        records: &[Record],
        forks: &Forks,
        now: u64,
    ) -> Self {
        let profiles: Vec<Profile> = profiles.into_iter().collect();
        let mut kept: Vec<&Record> = records.iter().collect();
        loop {
            let m = Self::compute_once(rules, &profiles, &kept, forks, now);
            let cuts = m.cuts();
            let before = kept.len();
            // Past a cut nothing counts; and a removed team's objections
            // stop blocking, as its endorsements stop admitting (so one
            // written into its own past, below the cut, blocks nothing).
            kept.retain(|r| {
                cuts.get(&r.author).is_none_or(|last| r.seq <= *last)
                    && !(matches!(r.act, MembershipAct::Object { .. })
                        && m.removed.contains_key(&m.canon(&r.author)))
            });
            if kept.len() == before {
                return m;
            }
        }
    }

    fn compute_once(
        rules: &Rules,
        profiles: &[Profile],
        records: &[&Record],
        forks: &Forks,
        now: u64,
    ) -> Self {
        let mut m = Membership {
            threshold: rules.threshold.max(1),
            ..Membership::default()
        };
        for p in rules.founders.iter().chain(profiles).cloned() {
            m.observe_profile(p);
        }
        let mut sorted: Vec<&Record> = records.to_vec();
        sorted.sort_by_key(|r| (r.created_at, r.id));
        sorted.dedup_by_key(|r| r.id);
        let founder_keys: BTreeSet<TeamId> = rules.founders.iter().map(|p| p.team).collect();
        sorted.retain(|r| forks.get(&r.author).is_none_or(|at| r.seq < *at));
        m.rotated = rotations(&sorted, &founder_keys);
        let revoked = first_revocations(&sorted);
        // A revocation before the rotation in the chain voids the rotation.
        m.rotated
            .retain(|key, rot| revoked.get(key).is_none_or(|s| rot.seq < *s));
        let end = |key: &TeamId| {
            let rotation = m.rotated.get(key).map(|r| r.seq);
            match (rotation, revoked.get(key)) {
                (Some(a), Some(b)) => Some(a.min(*b)),
                (a, b) => a.or(b.copied()),
            }
        };
        sorted.retain(|r| end(&r.author).is_none_or(|last| r.seq <= last));
        // A fork after a key's chain already ended changes nothing.
        m.forks = forks
            .iter()
            .filter(|(key, _)| end(key).is_none())
            .map(|(k, at)| (*k, *at))
            .collect();
        let acts = m.acts(&sorted);
        let founders: BTreeSet<TeamId> = founder_keys.iter().map(|f| m.canon(f)).collect();
        let window = rules.objection_window_ms;
        let blocked = m.blocked(&founders, &acts, window, now);
        let ever = fixpoint(
            &founders,
            &acts.endorsements,
            &blocked,
            &BTreeSet::new(),
            m.threshold,
            window,
            now,
        );
        m.ever = ever.0;
        let (current, removed) = m.removals(&founders, &acts, &blocked, window, now);
        m.members = current.0;
        m.admitted = current
            .1
            .into_iter()
            .filter(|(t, _)| m.members.contains(t))
            .collect();
        m.founders = founders;
        // Forks that a suspension made moot (see `removals`) no longer count.
        let moot: Vec<TeamId> = m
            .forks
            .keys()
            .filter(|key| {
                removed
                    .get(*key)
                    .is_some_and(|r| r.removal != Removal::Forked && **key == m.canon(key))
            })
            .copied()
            .collect();
        for key in moot {
            m.forks.remove(&key);
        }
        m.removed = removed;
        m.applicants = m.applicants_of(&acts, now);
        for s in acts.sponsorships.values().flatten() {
            m.sponsorships
                .entry(s.sponsor)
                .or_default()
                .push((s.created_at, s.expires_at));
        }
        m
    }

    /// Sorts the (valid, sorted) records out by kind, every team named by
    /// its current key.
    fn acts(&self, sorted: &[&Record]) -> Acts {
        let mut acts = Acts::default();
        // Per sponsor: the expiry of each application it opened.
        let mut open: BTreeMap<TeamId, Vec<u64>> = BTreeMap::new();
        for r in sorted {
            let author = self.canon(&r.author);
            match &r.act {
                MembershipAct::Endorse {
                    candidate,
                    expires_at,
                } => {
                    let candidate = self.canon(candidate);
                    if candidate != author && *expires_at >= r.created_at {
                        acts.endorsements
                            .entry(candidate)
                            .or_default()
                            .push(Endorsement {
                                sponsor: author,
                                created_at: r.created_at,
                                expires_at: *expires_at,
                            });
                    }
                    acts.sponsor(&mut open, r, author, candidate, (*expires_at, false, &[]));
                }
                MembershipAct::Object { candidate, reason } => {
                    acts.objections
                        .entry(self.canon(candidate))
                        .or_default()
                        .push((author, reason.clone(), r.created_at));
                }
                MembershipAct::Revoke { reason } => {
                    acts.self_revoked.entry(author).or_insert((
                        reason.clone(),
                        r.created_at,
                        r.seq,
                    ));
                }
                MembershipAct::Suspend {
                    target, after_seq, ..
                } => {
                    let target = self.canon(target);
                    if target != author {
                        acts.suspensions.entry(target).or_default().push((
                            author,
                            r.created_at,
                            *after_seq,
                        ));
                    }
                }
                MembershipAct::Invite {
                    candidate,
                    expires_at,
                    nodes,
                } => {
                    let candidate = self.canon(candidate);
                    acts.sponsor(&mut open, r, author, candidate, (*expires_at, true, nodes));
                }
                MembershipAct::RotateKey { .. } => {}
            }
        }
        acts
    }

    /// Candidates whose admission an objection blocks: an objection by a
    /// team that would be a member (ignoring removals and objections),
    /// within the charter's window after the candidate reached the
    /// threshold. Without a window nothing is blocked.
    fn blocked(
        &self,
        founders: &BTreeSet<TeamId>,
        acts: &Acts,
        window: Option<u64>,
        now: u64,
    ) -> BTreeSet<TeamId> {
        let unblocked = fixpoint(
            founders,
            &acts.endorsements,
            &BTreeSet::new(),
            &BTreeSet::new(),
            self.threshold,
            None,
            now,
        );
        acts.objections
            .iter()
            .filter(|(cand, objs)| {
                let reached = unblocked.1.get(*cand).map(|(_, t)| *t);
                objs.iter().any(|(by, _, at)| {
                    unblocked.0.contains(by)
                        && window.is_some()
                        && reached.is_none_or(|t| *at <= t + window.unwrap_or(0))
                })
            })
            .map(|(c, _)| *c)
            .collect()
    }

    /// Removals: self-revocations of teams that were ever members, then
    /// suspensions by `threshold` current members, until nothing changes.
    /// Returns the current members (with admissions) and the removed.
    fn removals(
        &self,
        founders: &BTreeSet<TeamId>,
        acts: &Acts,
        blocked: &BTreeSet<TeamId>,
        window: Option<u64>,
        now: u64,
    ) -> ((BTreeSet<TeamId>, Admitted), BTreeMap<TeamId, Removed>) {
        let mut removed: BTreeMap<TeamId, Removed> = acts
            .self_revoked
            .iter()
            .filter(|(team, _)| self.ever.contains(team))
            .map(|(team, (reason, at, seq))| {
                let removal = Removal::Revoked {
                    reason: reason.clone(),
                };
                let gone = Removed {
                    removal,
                    at: *at,
                    last_seq: *seq,
                };
                (*team, gone)
            })
            .collect();
        // A fork on a team's current key removes the team (forks on a key
        // whose chain ended before them were left out).
        for (key, at) in &self.forks {
            let team = self.canon(key);
            if team == *key && self.ever.contains(&team) && !removed.contains_key(&team) {
                let gone = Removed {
                    removal: Removal::Forked,
                    at: 0,
                    last_seq: at.saturating_sub(1),
                };
                removed.insert(team, gone);
            }
        }
        loop {
            let out: BTreeSet<TeamId> = removed.keys().copied().collect();
            let current = fixpoint(
                founders,
                &acts.endorsements,
                blocked,
                &out,
                self.threshold,
                window,
                now,
            );
            let mut changed = false;
            for (target, by) in &acts.suspensions {
                if removed.contains_key(target) || !current.0.contains(target) {
                    continue;
                }
                if let Some(gone) = self.suspension(by, &current.0) {
                    removed.insert(*target, gone);
                    changed = true;
                }
            }
            if !changed {
                // A fork past where a suspension cuts the chain is beyond
                // what a node that knows the suspension stores, so it must
                // not count where it happened to be seen first: such a team
                // is suspended, not forked.
                for (team, gone) in removed.iter_mut() {
                    if gone.removal == Removal::Forked
                        && let Some(by) = acts.suspensions.get(team)
                        && let Some(s) = self.suspension(by, &current.0)
                        && s.last_seq < gone.last_seq + 1
                    {
                        *gone = s;
                    }
                }
                return (current, removed);
            }
        }
    }

    /// The suspension `by` (a target's suspensions, in order) comes to, if
    /// `threshold` of its authors are in `current`: the k-th suspension
    /// makes it; the lowest point any of the k named cuts the chain (a
    /// target cannot outrun it by writing faster than the last suspender
    /// saw).
    fn suspension(&self, by: &[(TeamId, u64, u64)], current: &BTreeSet<TeamId>) -> Option<Removed> {
        let mut seen = BTreeSet::new();
        let sponsors: Vec<(TeamId, u64, u64)> = by
            .iter()
            .filter(|(who, _, _)| current.contains(who) && seen.insert(*who))
            .take(self.threshold)
            .copied()
            .collect();
        if sponsors.len() < self.threshold {
            return None;
        }
        Some(Removed {
            removal: Removal::Suspended {
                by: sponsors.iter().map(|s| s.0).collect(),
            },
            at: sponsors[self.threshold - 1].1,
            last_seq: sponsors.iter().map(|s| s.2).min().unwrap_or(0),
        })
    }

    /// A team's current key: follows rotations (bounded, cycle-safe).
    pub fn canon(&self, key: &TeamId) -> TeamId {
        let mut k = *key;
        let mut steps = 0;
        while let Some(Rotation { to: next, .. }) = self.rotated.get(&k) {
            k = *next;
            steps += 1;
            if steps > self.rotated.len() {
                break;
            }
        }
        k
    }

    /// Takes a newer profile into account (an update or a join request).
    /// Keeps the newest profile of each team; two with the same time are
    /// ordered by their encoding, so every node keeps the same one whatever
    /// order they came in.
    fn observe_profile(&mut self, p: Profile) {
        let encoded = |p: &Profile| p.to_bytes().ok();
        match self.profiles.get(&p.team) {
            Some(old) if old.updated_at > p.updated_at => {}
            Some(old) if old.updated_at == p.updated_at && encoded(old) >= encoded(&p) => {}
            _ => {
                self.profiles.insert(p.team, p);
            }
        }
    }

    /// Whether `key` may author the envelope at position `seq` of its
    /// chain. Time plays no part: what a key signed after its chain was cut
    /// (rotation, revocation, suspension, fork) is refused whatever time it
    /// claims, and what it signed before stays valid.
    pub fn may_author(&self, key: &TeamId, seq: u64) -> Result<(), Refusal> {
        if let Some(at) = self.forks.get(key)
            && seq >= *at
        {
            return Err(Refusal::Forked(*at));
        }
        if let Some(r) = self.rotated.get(key)
            && seq > r.seq
        {
            return Err(Refusal::Rotated {
                to: r.to,
                seq: r.seq,
            });
        }
        let team = self.canon(key);
        if let Some(r) = self.removed.get(&team) {
            let within = team != *key || seq <= r.last_seq;
            return if within && self.ever.contains(&team) {
                Ok(())
            } else {
                Err(Refusal::Removed(r.last_seq))
            };
        }
        if self.members.contains(&team) {
            return Ok(());
        }
        if self.applicants.contains_key(&team) {
            return Err(Refusal::Applicant);
        }
        Err(Refusal::NotAMember)
    }

    /// The team (member, applicant or removed) whose profile lists this node
    /// (a libp2p PeerId, as bytes).
    pub fn team_of_node(&self, peer: &[u8]) -> Option<TeamId> {
        self.profiles
            .values()
            .find(|p| p.peers.iter().any(|b| b.as_slice() == peer))
            .map(|p| p.team)
    }

    /// Whether `team` (a current key) is a member now.
    pub fn is_member(&self, team: &TeamId) -> bool {
        self.members.contains(team)
    }

    /// Whether `team` is a founder.
    pub fn is_founder(&self, team: &TeamId) -> bool {
        self.founders.contains(team)
    }

    /// Members' current keys, in order.
    pub fn member_ids(&self) -> impl Iterator<Item = &TeamId> {
        self.members.iter()
    }

    /// Members whose profile is known, in team-id order. A member whose
    /// profile has not arrived yet cannot be addressed and is left out.
    pub fn members(&self) -> impl Iterator<Item = &Profile> {
        self.members.iter().filter_map(|t| self.profiles.get(t))
    }

    /// Who sponsored a member admitted by endorsement, and when.
    pub fn admission(&self, team: &TeamId) -> Option<&(Vec<TeamId>, u64)> {
        self.admitted.get(team)
    }

    /// Pending applicants.
    pub fn applicants(&self) -> &BTreeMap<TeamId, Applicant> {
        &self.applicants
    }

    /// Removed teams.
    pub fn removed(&self) -> &BTreeMap<TeamId, Removed> {
        &self.removed
    }

    /// Rotated-away keys.
    pub fn rotated(&self) -> &BTreeMap<TeamId, Rotation> {
        &self.rotated
    }

    /// Forks that count, by key.
    pub fn forks(&self) -> &Forks {
        &self.forks
    }

    /// The last position of `key`'s chain a node keeps, if its chain is
    /// cut (see [`Membership::cuts`]).
    pub fn cut_of(&self, key: &TeamId) -> Option<u64> {
        if let Some(at) = self.forks.get(key) {
            return Some(*at);
        }
        if let Some(r) = self.rotated.get(key) {
            return Some(r.seq);
        }
        self.removed.get(key).map(|r| r.last_seq)
    }

    /// Per key, the last position of its chain a node keeps: after a
    /// rotation, revocation or suspension its last valid one; after a fork
    /// the fork's position (the two envelopes there are the evidence every
    /// node needs to find it). A node deletes what it holds beyond, so
    /// nodes that learned of a cut late hold what the others hold.
    pub fn cuts(&self) -> BTreeMap<TeamId, u64> {
        let mut cuts: BTreeMap<TeamId, u64> =
            self.rotated.iter().map(|(k, r)| (*k, r.seq)).collect();
        for (team, r) in &self.removed {
            if r.removal != Removal::Forked {
                cuts.insert(*team, r.last_seq);
            }
        }
        cuts.extend(self.forks.iter().map(|(k, at)| (*k, *at)));
        cuts
    }

    /// The endorsement threshold `k`.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members (never true for a valid charter).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The profile of a known team (member, applicant or removed).
    pub fn profile(&self, team: &TeamId) -> Option<&Profile> {
        self.profiles.get(team).or_else(|| {
            // A rotated key: show the team under its current key's profile.
            self.profiles.get(&self.canon(team))
        })
    }
}

mod applications;
mod find;
mod fixpoint;

pub use find::FindError;
use fixpoint::{Admitted, admission_time, first_revocations, fixpoint, rotations};

#[cfg(test)]
pub(crate) mod tests;
