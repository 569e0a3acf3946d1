//! Bounds on join requests, the one thing a non-member may publish.
//!
//! Anyone can make a valid, self-signed join request, so they are bounded
//! twice: per forwarding peer and minute (a flood of fresh identities costs
//! the flooder its peer's budget, not our disk), and in total pending. The
//! limiter is generic over the peer's id so that this crate knows nothing
//! of libp2p, and takes `now` so that tests set the clock.

use std::{collections::HashMap, hash::Hash};

use crate::Reason;

/// Join requests accepted per forwarding peer and minute. A relay forwards
/// others' join requests too, so this is generous; it bounds floods.
pub const MAX_JOIN_REQUESTS_PER_PEER_MINUTE: u32 = 30;

/// Applicants pending at once; past it, new join requests wait (sync brings
/// them again) until members admit or applications expire from view.
pub const MAX_PENDING_APPLICANTS: usize = 1000;

/// Peers remembered at once; past it the table starts over (a flood of peer
/// ids must not grow it without bound).
const MAX_TRACKED_PEERS: usize = 10_000;

/// Counts join requests per forwarding peer in the current minute.
#[derive(Debug)]
pub struct JoinLimiter<P> {
    /// Per peer: (minute, requests accepted in it).
    per_peer: HashMap<P, (u64, u32)>,
    per_minute: u32,
}

impl<P> Default for JoinLimiter<P> {
    fn default() -> Self {
        JoinLimiter {
            per_peer: HashMap::new(),
            per_minute: MAX_JOIN_REQUESTS_PER_PEER_MINUTE,
        }
    }
}

impl<P: Hash + Eq + std::fmt::Display> JoinLimiter<P> {
    /// Decides on one join request forwarded by `peer` (none: our own) while
    /// `pending` applicants wait. Counts it when it is let through.
    pub fn admit(&mut self, now_ms: u64, peer: Option<P>, pending: usize) -> Result<(), Reason> {
        if pending >= MAX_PENDING_APPLICANTS {
            return Err(Reason::RateLimited(format!(
                "{MAX_PENDING_APPLICANTS} applicants already pending"
            )));
        }
        let Some(peer) = peer else {
            return Ok(());
        };
        let minute = now_ms / 60_000;
        if self.per_peer.len() >= MAX_TRACKED_PEERS && !self.per_peer.contains_key(&peer) {
            self.per_peer.retain(|_, (m, _)| *m == minute);
        }
        let slot = self.per_peer.entry(peer).or_insert((minute, 0));
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        if slot.1 >= self.per_minute {
            return Err(Reason::RateLimited(format!(
                "more than {} join requests a minute from one peer",
                self.per_minute
            )));
        }
        slot.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    #[test]
    fn a_peer_gets_its_budget_per_minute_and_no_more() {
        let mut l = JoinLimiter::default();
        let t0 = 100 * MINUTE;
        for i in 0..MAX_JOIN_REQUESTS_PER_PEER_MINUTE {
            assert!(
                l.admit(t0 + u64::from(i), Some(1u8), 0).is_ok(),
                "request {i}"
            );
        }
        // The next one in the same minute is refused, another peer's is not.
        assert!(matches!(
            l.admit(t0 + MINUTE - 1, Some(1u8), 0),
            Err(Reason::RateLimited(_))
        ));
        assert!(l.admit(t0 + MINUTE - 1, Some(2u8), 0).is_ok());
        // A new minute gives a new budget.
        assert!(l.admit(t0 + MINUTE, Some(1u8), 0).is_ok());
    }

    #[test]
    fn pending_applicants_are_bounded_and_our_own_request_is_not_counted() {
        let mut l = JoinLimiter::<u8>::default();
        assert!(l.admit(0, None, MAX_PENDING_APPLICANTS - 1).is_ok());
        assert!(matches!(
            l.admit(0, None, MAX_PENDING_APPLICANTS),
            Err(Reason::RateLimited(_))
        ));
        for _ in 0..100 {
            assert!(l.admit(0, None, 0).is_ok());
        }
    }
}
