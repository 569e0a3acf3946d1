//! Membership: who may publish in the mesh, and who GREEN goes to.
//!
//! The rule (DESIGN.md): a team is a member when it is a founder named in
//! the charter, or holds at least `k` valid endorsements from members; minus
//! revoked teams. Membership is the least fixpoint of that rule over the
//! signed records a node holds, so every node holding the same records
//! computes the same members whatever the order they arrived in.
//!
//! This version knows founders and profile updates; endorsements, objections
//! and revocations are records of the same kind and join the fixpoint in
//! [`Membership::compute`].

use std::collections::BTreeMap;

use proto::{Profile, TeamId};

/// The member set and the latest profile of each known team.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    /// Members, each with its current profile. A BTreeMap so iteration order
    /// (and so recipient lists and outputs) is the same on every node.
    members: BTreeMap<TeamId, Profile>,
    /// Profiles of teams that are not members (applicants), by team.
    others: BTreeMap<TeamId, Profile>,
}

impl Membership {
    /// Computes membership from the charter's founders (already verified) and
    /// the profiles published since (already verified and accepted). A newer
    /// profile (by `updated_at`) replaces an older one of the same team; a
    /// profile never makes a team a member by itself.
    pub fn compute(founders: &[Profile], profiles: impl IntoIterator<Item = Profile>) -> Self {
        let mut m = Membership::default();
        for f in founders {
            m.members.insert(f.team, f.clone());
        }
        for p in profiles {
            m.observe_profile(p);
        }
        m
    }

    /// Takes a newer profile into account (an update or a join request).
    pub fn observe_profile(&mut self, p: Profile) {
        let slot = if self.members.contains_key(&p.team) {
            &mut self.members
        } else {
            &mut self.others
        };
        match slot.get(&p.team) {
            Some(old) if old.updated_at >= p.updated_at => {}
            _ => {
                slot.insert(p.team, p);
            }
        }
    }

    /// Whether `team` is a member.
    pub fn is_member(&self, team: &TeamId) -> bool {
        self.members.contains_key(team)
    }

    /// Members and their profiles, in team-id order.
    pub fn members(&self) -> impl Iterator<Item = &Profile> {
        self.members.values()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members (never true for a valid charter).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The profile of a known team, member or not.
    pub fn profile(&self, team: &TeamId) -> Option<&Profile> {
        self.members.get(team).or_else(|| self.others.get(team))
    }

    /// Finds a member by its name (case-insensitive) or its team id (full
    /// hex or a unique prefix of at least 8 digits).
    pub fn find(&self, name_or_id: &str) -> Result<&Profile, FindError> {
        let q = name_or_id.trim();
        let by_name: Vec<_> = self
            .members
            .values()
            .filter(|p| p.name.eq_ignore_ascii_case(q))
            .collect();
        if let [one] = by_name.as_slice() {
            return Ok(one);
        }
        if by_name.len() > 1 {
            return Err(FindError::Ambiguous(q.to_owned()));
        }
        let q_lower = q.to_ascii_lowercase();
        if q_lower.len() >= 8 && q_lower.chars().all(|c| c.is_ascii_hexdigit()) {
            let by_id: Vec<_> = self
                .members
                .values()
                .filter(|p| p.team.to_string().starts_with(&q_lower))
                .collect();
            if let [one] = by_id.as_slice() {
                return Ok(one);
            }
            if by_id.len() > 1 {
                return Err(FindError::Ambiguous(q.to_owned()));
            }
        }
        if self.others.values().any(|p| p.name.eq_ignore_ascii_case(q)) {
            return Err(FindError::NotAMember(q.to_owned()));
        }
        Err(FindError::Unknown(q.to_owned()))
    }
}

/// Why a team name did not resolve to one member.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FindError {
    /// Nobody by that name or id.
    #[error("no member team named {0:?} (use `csirtmesh members` to list them)")]
    Unknown(String),
    /// Known, but not a member: cannot be addressed.
    #[error("team {0:?} is known but not a member of this mesh")]
    NotAMember(String),
    /// More than one member matches.
    #[error("{0:?} matches more than one member; use the full team id")]
    Ambiguous(String),
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn profile(n: u8, name: &str, updated_at: u64) -> Profile {
        Profile {
            team: TeamId([n; 32]),
            name: name.into(),
            country: None,
            constituency: vec![],
            contact: None,
            recipient: format!("age1{n}"),
            peers: vec![],
            roles: vec![],
            updated_at,
        }
    }

    #[test]
    fn founders_are_members_and_profiles_alone_admit_nobody() {
        let m = Membership::compute(
            &[profile(1, "A", 1), profile(2, "B", 1)],
            [profile(3, "Stranger", 5)],
        );
        assert!(m.is_member(&TeamId([1; 32])));
        assert!(!m.is_member(&TeamId([3; 32])));
        assert_eq!(m.len(), 2);
        assert_eq!(
            m.find("stranger"),
            Err(FindError::NotAMember("stranger".into()))
        );
    }

    #[test]
    fn newest_profile_wins_in_any_order() {
        let founders = [profile(1, "A", 1)];
        let updates = [profile(1, "A-renamed", 3), profile(1, "A-old", 2)];
        let m1 = Membership::compute(&founders, updates.clone());
        let m2 = Membership::compute(&founders, updates.into_iter().rev());
        assert_eq!(m1, m2);
        assert_eq!(m1.find("a-renamed").unwrap().updated_at, 3);
    }

    #[test]
    fn find_by_name_or_id_prefix() {
        let m = Membership::compute(
            &[profile(0xab, "CSIRT-A", 1), profile(0xcd, "CSIRT-B", 1)],
            [],
        );
        assert_eq!(m.find("csirt-b").unwrap().team, TeamId([0xcd; 32]));
        assert_eq!(m.find("abababab").unwrap().team, TeamId([0xab; 32]));
        assert!(matches!(m.find("nobody"), Err(FindError::Unknown(_))));
    }
}
