//! Who may not connect, why, and until when.
//!
//! A peer the node finds misbehaving is banned for [`crate::Config::ban_time`],
//! doubling with each repeat (a peer that comes back and misbehaves again
//! stays out longer), up to [`MAX_BAN`]; the operator's blocks last until
//! lifted. While banned, a peer's connections are refused both ways and it
//! is not dialled. The table takes `now` from its caller, so its rules are
//! tested without a clock.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use libp2p::PeerId;

/// The longest ban, however often a peer misbehaved.
pub const MAX_BAN: Duration = Duration::from_secs(24 * 3600);

/// Peers remembered (banned, blocked, or once banned, for the doubling).
/// Past it, records of lifted bans are forgotten first.
const MAX_RECORDS: usize = 10_000;

/// A peer kept out, as the node's status shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    /// The peer.
    pub peer: PeerId,
    /// Why, in words.
    pub reason: String,
    /// Seconds until the ban lifts; `None` for an operator's block.
    pub remaining_secs: Option<u64>,
}

#[derive(Clone, Debug)]
struct Record {
    reason: String,
    /// `None`: blocked by the operator until lifted.
    until: Option<Instant>,
    /// Bans so far (the next one lasts `base * 2^strikes`).
    strikes: u32,
    /// Whether the peer is kept out now.
    active: bool,
}

/// The ban table.
#[derive(Debug)]
pub struct Bans {
    base: Duration,
    records: HashMap<PeerId, Record>,
    /// Peers whose active ban was forgotten to keep the table bounded: the
    /// caller must let them in again ([`Bans::take_evicted`]).
    evicted: Vec<PeerId>,
}

impl Bans {
    /// A table whose first ban lasts `base`.
    pub fn new(base: Duration) -> Self {
        Bans {
            base,
            records: HashMap::new(),
            evicted: Vec::new(),
        }
    }

    /// Bans `peer` for misbehaving; returns for how long. An operator's
    /// block stays as it is.
    pub fn ban(&mut self, peer: PeerId, reason: String, now: Instant) -> Duration {
        self.make_room(&peer);
        let record = self.records.entry(peer).or_insert(Record {
            reason: String::new(),
            until: Some(now),
            strikes: 0,
            active: false,
        });
        if record.active && record.until.is_none() {
            return MAX_BAN;
        }
        if record.active && record.until.is_some_and(|u| u > now) {
            // Misbehaving again while banned (a batch of junk arriving
            // together) is the same offence: no new strike.
            return record.until.map_or(MAX_BAN, |u| u - now);
        }
        let factor = 2u32.saturating_pow(record.strikes.min(16));
        let length = self.base.saturating_mul(factor).min(MAX_BAN);
        record.strikes = record.strikes.saturating_add(1);
        record.reason = reason;
        record.until = Some(now + length);
        record.active = true;
        length
    }

    /// Blocks `peer` until the operator lifts it.
    pub fn block(&mut self, peer: PeerId, reason: String) {
        self.make_room(&peer);
        let record = self.records.entry(peer).or_insert(Record {
            reason: String::new(),
            until: None,
            strikes: 0,
            active: false,
        });
        record.reason = reason;
        record.until = None;
        record.active = true;
    }

    /// Lifts `peer`'s ban or block (its strikes are remembered). Returns
    /// whether it was kept out.
    pub fn lift(&mut self, peer: &PeerId) -> bool {
        self.records
            .get_mut(peer)
            .is_some_and(|r| std::mem::replace(&mut r.active, false))
    }

    /// Lifts every ban and block; returns the peers let in again.
    pub fn lift_all(&mut self) -> Vec<PeerId> {
        self.records
            .iter_mut()
            .filter_map(|(p, r)| std::mem::replace(&mut r.active, false).then_some(*p))
            .collect()
    }

    /// Lifts the bans whose time is up; returns those peers.
    pub fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        self.records
            .iter_mut()
            .filter(|(_, r)| r.active && r.until.is_some_and(|u| u <= now))
            .map(|(p, r)| {
                r.active = false;
                *p
            })
            .collect()
    }

    /// Whether `peer` is kept out now.
    pub fn is_out(&self, peer: &PeerId) -> bool {
        self.records.get(peer).is_some_and(|r| r.active)
    }

    /// Peers whose ban the table forgot (it is full): no longer kept out,
    /// so the caller lifts their block.
    pub fn take_evicted(&mut self) -> Vec<PeerId> {
        std::mem::take(&mut self.evicted)
    }

    /// Every peer kept out now, soonest lifted first.
    pub fn list(&self, now: Instant) -> Vec<Blocked> {
        let mut out: Vec<Blocked> = self
            .records
            .iter()
            .filter(|(_, r)| r.active)
            .map(|(p, r)| Blocked {
                peer: *p,
                reason: r.reason.clone(),
                remaining_secs: r.until.map(|u| u.saturating_duration_since(now).as_secs()),
            })
            .collect();
        out.sort_by_key(|b| (b.remaining_secs.unwrap_or(u64::MAX), b.peer));
        out
    }

    /// Keeps the table bounded: forgets lifted records first, then (a flood
    /// of fresh peer ids) the oldest bans' records, never an operator's.
    fn make_room(&mut self, incoming: &PeerId) {
        if self.records.len() < MAX_RECORDS || self.records.contains_key(incoming) {
            return;
        }
        self.records.retain(|_, r| r.active);
        if self.records.len() >= MAX_RECORDS {
            let oldest = self
                .records
                .iter()
                .filter_map(|(p, r)| r.until.map(|u| (u, *p)))
                .min();
            if let Some((_, p)) = oldest {
                self.records.remove(&p);
                self.evicted.push(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(600);

    #[test]
    fn a_ban_lasts_and_doubles_on_repeat_up_to_a_day() {
        let mut bans = Bans::new(BASE);
        let peer = PeerId::random();
        let t0 = Instant::now();
        assert_eq!(bans.ban(peer, "3 invalid envelopes".into(), t0), BASE);
        assert!(bans.is_out(&peer));
        assert!(bans.expire(t0 + BASE - Duration::from_secs(1)).is_empty());
        assert_eq!(bans.expire(t0 + BASE), vec![peer]);
        assert!(!bans.is_out(&peer));
        // It comes back and misbehaves again: twice as long, then four times.
        let t1 = t0 + BASE;
        assert_eq!(bans.ban(peer, "again".into(), t1), 2 * BASE);
        assert_eq!(bans.list(t1)[0].remaining_secs, Some(1200));
        assert_eq!(bans.list(t1)[0].reason, "again");
        // More junk while banned (one batch) is the same offence.
        assert_eq!(bans.ban(peer, "same batch".into(), t1), 2 * BASE);
        let t2 = t1 + 2 * BASE;
        assert_eq!(bans.expire(t2), vec![peer]);
        assert_eq!(bans.ban(peer, "and again".into(), t2), 4 * BASE);
        let mut t = t2;
        for _ in 0..40 {
            t += MAX_BAN;
            bans.expire(t);
            bans.ban(peer, "for ever".into(), t);
        }
        t += MAX_BAN;
        bans.expire(t);
        assert_eq!(bans.ban(peer, "capped".into(), t), MAX_BAN);
    }

    #[test]
    fn the_operator_blocks_until_lifted_and_lifts_bans() {
        let mut bans = Bans::new(BASE);
        let (blocked, banned) = (PeerId::random(), PeerId::random());
        let t0 = Instant::now();
        bans.block(blocked, "blocked by the operator".into());
        bans.ban(banned, "junk".into(), t0);
        // A ban on a blocked peer does not shorten the block.
        bans.ban(blocked, "junk".into(), t0);
        assert!(bans.expire(t0 + MAX_BAN * 2).contains(&banned));
        assert!(bans.is_out(&blocked));
        assert_eq!(bans.list(t0)[0].remaining_secs, None);
        assert!(bans.lift(&blocked));
        assert!(!bans.lift(&blocked));
        assert!(bans.list(t0).is_empty());
    }

    #[test]
    fn a_flood_of_peer_ids_does_not_grow_the_table_or_forget_the_operator() {
        let mut bans = Bans::new(BASE);
        let t0 = Instant::now();
        let kept = PeerId::random();
        bans.block(kept, "operator".into());
        let first = PeerId::random();
        bans.ban(first, "flood".into(), t0);
        for i in 0..MAX_RECORDS + 50 {
            let t = t0 + Duration::from_millis(i as u64 + 1);
            bans.ban(PeerId::random(), "flood".into(), t);
        }
        assert!(bans.records.len() <= MAX_RECORDS);
        assert!(bans.is_out(&kept));
        // What was forgotten is handed back to be let in again, oldest first.
        let evicted = bans.take_evicted();
        // The operator's block, the first ban and the flood, in a table of MAX_RECORDS.
        assert_eq!(evicted.len(), 2 + MAX_RECORDS + 50 - MAX_RECORDS);
        assert_eq!(evicted[0], first);
        assert!(!bans.is_out(&first));
    }
}
