//! How far this node's clock is from the mesh's: each envelope that arrives
//! by gossip (within a second or so of being written) says when its author
//! stamped it; against this node's clock at arrival, that is the difference
//! between the two clocks plus the delivery time. The median over teams is
//! the estimate: one member that stamps its envelopes oddly moves it little.
//! It is advisory: a member whose clock runs fast pulls the others' stamps
//! forward for a while (a hybrid logical clock never goes back), so a
//! correct clock can look behind until their clocks catch up.
//! A clock more than [`mesh_core::validate::MAX_CLOCK_SKEW_MS`] ahead gets
//! this node's envelopes refused by the others.

use std::collections::HashMap;

use proto::TeamId;

/// Samples older than this are not used.
const WINDOW_MS: u64 = 24 * 3_600_000;

/// At most this many teams are remembered; past it the oldest goes.
const MAX_TEAMS: usize = 4_096;

/// The latest gossip arrival per team: when (this node's clock) and the
/// difference `arrival - stamp` in ms.
#[derive(Debug, Default)]
pub struct ClockSamples {
    latest: HashMap<TeamId, (u64, i64)>,
}

/// The estimate: this node's clock minus the mesh's, in ms (positive: this
/// clock is ahead), and how many teams it rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockOffset {
    /// Median over teams of `arrival - stamp`.
    pub ms: i64,
    /// Teams with a sample in the last day.
    pub teams: usize,
}

impl ClockSamples {
    /// Notes an envelope of `team` stamped `stamped`, arrived by gossip at
    /// `now`.
    pub fn note(&mut self, team: TeamId, stamped: u64, now: u64) {
        if self.latest.len() >= MAX_TEAMS
            && !self.latest.contains_key(&team)
            && let Some(oldest) = self
                .latest
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(t, _)| *t)
        {
            self.latest.remove(&oldest);
        }
        let diff =
            i64::try_from(now).unwrap_or(i64::MAX) - i64::try_from(stamped).unwrap_or(i64::MAX);
        self.latest.insert(team, (now, diff));
    }

    /// The estimate at `now`, if any team's envelope arrived by gossip in
    /// the last day.
    pub fn offset(&self, now: u64) -> Option<ClockOffset> {
        let mut diffs: Vec<i64> = self
            .latest
            .values()
            .filter(|(at, _)| now.saturating_sub(*at) <= WINDOW_MS)
            .map(|(_, d)| *d)
            .collect();
        if diffs.is_empty() {
            return None;
        }
        diffs.sort_unstable();
        // The lower median: with two teams, the smaller difference (one
        // team alone does not make this clock look ahead).
        Some(ClockOffset {
            ms: diffs[(diffs.len() - 1) / 2],
            teams: diffs.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(n: u8) -> TeamId {
        TeamId([n; 32])
    }

    #[test]
    fn the_median_over_teams_resists_one_odd_stamp() {
        let mut c = ClockSamples::default();
        let now = 10_000_000;
        assert_eq!(c.offset(now), None);
        // Our clock is 2 s ahead of two teams; a third stamps 9 minutes
        // in the future.
        c.note(team(1), now - 2_050, now);
        c.note(team(2), now - 1_980, now);
        c.note(team(3), now + 540_000, now);
        assert_eq!(
            c.offset(now),
            Some(ClockOffset {
                ms: 1_980,
                teams: 3
            })
        );
        // The latest sample of a team replaces its earlier one.
        c.note(team(3), now - 2_000, now);
        assert_eq!(c.offset(now).unwrap().ms, 2_000);
        // A day later nothing counts.
        assert_eq!(c.offset(now + WINDOW_MS + 1), None);
    }
}
