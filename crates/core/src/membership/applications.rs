//! Applications: who is an applicant, from the invitations and
//! endorsements that open one within their author's budget (see the rules
//! in the parent module), and the queries on it.

use std::collections::BTreeMap;

use proto::TeamId;

use super::{
    Acts, Applicant, DAY_MS, MAX_INVITATION_DAYS, MAX_OPEN_INVITATIONS, Membership, Record,
    admission_time,
};

/// An open application: an invitation or an endorsement within its
/// author's budget.
pub(super) struct Sponsorship {
    pub(super) sponsor: TeamId,
    pub(super) created_at: u64,
    pub(super) expires_at: u64,
    /// By `Invite` (else by `Endorse`).
    invited: bool,
    /// Node ids the invitation names.
    nodes: Vec<Vec<u8>>,
}

impl Acts {
    /// Opens an application for `candidate` if `author`'s budget allows
    /// (`open`: per author, the expiry of each application it opened).
    pub(super) fn sponsor(
        &mut self,
        open: &mut BTreeMap<TeamId, Vec<u64>>,
        r: &Record,
        author: TeamId,
        candidate: TeamId,
        (expires_at, invited, nodes): (u64, bool, &[Vec<u8>]),
    ) {
        let expires_at = expires_at.min(r.created_at.saturating_add(MAX_INVITATION_DAYS * DAY_MS));
        let mine = open.entry(author).or_default();
        let still_open = mine.iter().filter(|e| **e >= r.created_at).count();
        if candidate == author || expires_at < r.created_at || still_open >= MAX_OPEN_INVITATIONS {
            return;
        }
        mine.push(expires_at);
        self.sponsorships
            .entry(candidate)
            .or_default()
            .push(Sponsorship {
                sponsor: author,
                created_at: r.created_at,
                expires_at,
                invited,
                nodes: nodes.to_vec(),
            });
    }
}

impl Membership {
    /// Applicants: teams that are not members, removed or rotated away, and
    /// that a current member invites or endorses now (open invitation or
    /// endorsement), with their valid sponsors and the objections of teams
    /// that were members. Without either, a team is nobody's applicant.
    pub(super) fn applicants_of(&self, acts: &Acts, now: u64) -> BTreeMap<TeamId, Applicant> {
        let mut out = BTreeMap::new();
        for (team, sponsorships) in &acts.sponsorships {
            let team = *team;
            if self.members.contains(&team)
                || self.removed.contains_key(&team)
                || self.rotated.contains_key(&team)
            {
                continue;
            }
            // Open now: made (a future-dated act opens nothing yet), not
            // expired, by a current member.
            let open: Vec<&Sponsorship> = sponsorships
                .iter()
                .filter(|s| {
                    s.created_at <= now && now <= s.expires_at && self.members.contains(&s.sponsor)
                })
                .collect();
            let Some(expires_at) = open.iter().map(|s| s.expires_at).max() else {
                continue;
            };
            let mut invited_by = Vec::new();
            let mut nodes = Vec::new();
            for s in open.iter().filter(|s| s.invited) {
                if !invited_by.contains(&s.sponsor) {
                    invited_by.push(s.sponsor);
                }
                for n in &s.nodes {
                    if !nodes.contains(n) {
                        nodes.push(n.clone());
                    }
                }
            }
            let mut sponsors = Vec::new();
            for e in acts.endorsements.get(&team).into_iter().flatten() {
                if self.members.contains(&e.sponsor)
                    && e.expires_at >= now
                    && !sponsors.contains(&e.sponsor)
                {
                    sponsors.push(e.sponsor);
                }
            }
            let objections = acts
                .objections
                .get(&team)
                .into_iter()
                .flatten()
                .filter(|(by, _, _)| self.ever.contains(by))
                .cloned()
                .collect();
            let threshold_reached_at = acts
                .endorsements
                .get(&team)
                .and_then(|e| admission_time(e, &self.members, self.threshold));
            out.insert(
                team,
                Applicant {
                    sponsors,
                    objections,
                    threshold_reached_at,
                    invited_by,
                    expires_at,
                    nodes,
                },
            );
        }
        out
    }

    /// How many applications (invitations, endorsements) `team` has open at
    /// `now`, or made for later: they count toward its budget,
    /// [`MAX_OPEN_INVITATIONS`], until they expire.
    pub fn open_invitations(&self, team: &TeamId, now: u64) -> usize {
        self.sponsorships.get(&self.canon(team)).map_or(0, |e| {
            e.iter().filter(|(_, expires)| *expires >= now).count()
        })
    }

    /// The earliest time after `now` at which an application opens or
    /// closes: membership must be computed again then, even if nothing
    /// arrives.
    pub fn next_change(&self, now: u64) -> Option<u64> {
        self.sponsorships
            .values()
            .flatten()
            .flat_map(|(made, expires)| [*made, expires.saturating_add(1)])
            .filter(|t| *t > now)
            .min()
    }
}
