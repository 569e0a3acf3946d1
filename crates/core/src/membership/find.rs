//! Finding a team by what an operator types: a name or a team id prefix.

use proto::Profile;

use super::Membership;

impl Membership {
    /// Finds a member by its name (case-insensitive) or its team id (full
    /// hex or a unique prefix of at least 8 digits).
    pub fn find(&self, name_or_id: &str) -> Result<&Profile, FindError> {
        self.find_in(name_or_id, self.members().collect())
    }

    /// Finds any known team (member or applicant) by name or id.
    pub fn find_known(&self, name_or_id: &str) -> Result<&Profile, FindError> {
        self.find_in(name_or_id, self.profiles.values().collect())
    }

    fn find_in<'a>(&'a self, q: &str, pool: Vec<&'a Profile>) -> Result<&'a Profile, FindError> {
        let q = q.trim();
        let by_name: Vec<_> = pool
            .iter()
            .copied()
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
            let by_id: Vec<_> = pool
                .iter()
                .copied()
                .filter(|p| p.team.to_string().starts_with(&q_lower))
                .collect();
            if let [one] = by_id.as_slice() {
                return Ok(one);
            }
            if by_id.len() > 1 {
                return Err(FindError::Ambiguous(q.to_owned()));
            }
        }
        if self
            .profiles
            .values()
            .any(|p| p.name.eq_ignore_ascii_case(q))
        {
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
