//! Who may stay connected. The node says which peers are its members' and
//! applicants' nodes (from their signed profiles); anyone else, a stranger,
//! gets a short window after connecting (time to hand in a join request,
//! which an invited team's node then is), and is then closed. Peers this
//! node chose itself (bootstrap, relays, explicit dials) stay: an applicant
//! does not know its bootstrap's team yet.
//!
//! Until the node first says who is welcome, nobody is closed (a node that
//! has not computed its members yet must not cut itself off).

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use libp2p::PeerId;

/// Strangers on probation at once; past it, a new stranger is closed at
/// once, so a flood of throwaway peer ids cannot take the connection slots
/// members need.
pub(crate) const MAX_STRANGERS: usize = 16;

/// The welcome list and the strangers on probation.
#[derive(Debug)]
pub(crate) struct Welcome {
    window: Duration,
    /// Members' and applicants' nodes; `None` until the node says.
    welcome: Option<HashSet<PeerId>>,
    /// Peers this node chose to connect to.
    chosen: HashSet<PeerId>,
    /// Strangers connected now, and since when.
    strangers: HashMap<PeerId, Instant>,
    /// Strangers closed since start.
    closed: u64,
}

impl Welcome {
    pub(crate) fn new(window: Duration, chosen: impl IntoIterator<Item = PeerId>) -> Self {
        Welcome {
            window,
            welcome: None,
            chosen: chosen.into_iter().collect(),
            strangers: HashMap::new(),
            closed: 0,
        }
    }

    /// A peer this node chose to connect to.
    pub(crate) fn choose(&mut self, peer: PeerId) {
        self.chosen.insert(peer);
        self.strangers.remove(&peer);
    }

    /// The node's current members' and applicants' nodes.
    pub(crate) fn set(&mut self, peers: HashSet<PeerId>) {
        self.strangers.retain(|p, _| !peers.contains(p));
        self.welcome = Some(peers);
    }

    fn is_welcome(&self, peer: &PeerId) -> bool {
        self.chosen.contains(peer) || self.welcome.as_ref().is_none_or(|w| w.contains(peer))
    }

    /// A peer's first connection opened at `now`. Returns whether to close
    /// it at once: a stranger while [`MAX_STRANGERS`] are on probation.
    pub(crate) fn connected(&mut self, peer: PeerId, now: Instant) -> bool {
        if self.is_welcome(&peer) || self.strangers.contains_key(&peer) {
            return false;
        }
        if self.strangers.len() >= MAX_STRANGERS {
            self.closed += 1;
            return true;
        }
        self.strangers.insert(peer, now);
        false
    }

    /// A peer's last connection closed.
    pub(crate) fn disconnected(&mut self, peer: &PeerId) {
        self.strangers.remove(peer);
    }

    /// Strangers whose window has passed at `now` (and who are still not
    /// welcome): the caller closes them. Each is counted once.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<PeerId> {
        let window = self.window;
        let mut out = Vec::new();
        self.strangers.retain(|p, since| {
            let due = now.saturating_duration_since(*since) >= window;
            if due {
                out.push(*p);
            }
            !due
        });
        out.retain(|p| !self.is_welcome(p));
        self.closed += out.len() as u64;
        out
    }

    /// Strangers connected now.
    pub(crate) fn strangers(&self) -> usize {
        self.strangers.len()
    }

    /// Strangers closed since start.
    pub(crate) fn closed(&self) -> u64 {
        self.closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(10);

    #[test]
    fn nobody_is_closed_before_the_node_says_who_is_welcome() {
        let mut w = Welcome::new(WINDOW, []);
        let t0 = Instant::now();
        w.connected(PeerId::random(), t0);
        assert!(w.due(t0 + WINDOW * 10).is_empty());
    }

    #[test]
    fn a_stranger_is_closed_after_its_window_and_members_never() {
        let (member, stranger, bootstrap) = (PeerId::random(), PeerId::random(), PeerId::random());
        let mut w = Welcome::new(WINDOW, [bootstrap]);
        w.set([member].into_iter().collect());
        let t0 = Instant::now();
        for p in [member, stranger, bootstrap] {
            w.connected(p, t0);
        }
        assert_eq!(w.strangers(), 1);
        assert!(w.due(t0 + WINDOW - Duration::from_millis(1)).is_empty());
        assert_eq!(w.due(t0 + WINDOW), vec![stranger]);
        // Counted once; gone from the probation list.
        assert!(w.due(t0 + WINDOW * 2).is_empty());
        assert_eq!((w.strangers(), w.closed()), (0, 1));
    }

    #[test]
    fn a_stranger_that_becomes_an_applicant_stays() {
        let stranger = PeerId::random();
        let mut w = Welcome::new(WINDOW, []);
        w.set(HashSet::new());
        let t0 = Instant::now();
        w.connected(stranger, t0);
        // Its join request was accepted within the window.
        w.set([stranger].into_iter().collect());
        assert!(w.due(t0 + WINDOW).is_empty());
        // A stranger that left early is forgotten.
        let other = PeerId::random();
        w.connected(other, t0);
        w.disconnected(&other);
        assert!(w.due(t0 + WINDOW).is_empty());
        assert_eq!(w.closed(), 0);
    }

    #[test]
    fn past_the_probation_bound_a_stranger_is_closed_at_once() {
        let mut w = Welcome::new(WINDOW, []);
        w.set(HashSet::new());
        let t0 = Instant::now();
        for _ in 0..MAX_STRANGERS {
            assert!(!w.connected(PeerId::random(), t0));
        }
        assert!(w.connected(PeerId::random(), t0));
        assert_eq!((w.strangers(), w.closed()), (MAX_STRANGERS, 1));
        // Members still get in.
        let member = PeerId::random();
        w.set([member].into_iter().collect());
        assert!(!w.connected(member, t0));
    }
}
