//! Who may stay connected, and who gets gossip. The node says which peers
//! are its members' and applicants' nodes (from their signed profiles and
//! invitations); anyone else, a stranger, gets a short window after
//! connecting (time to hand in a join request, which makes an invited
//! team's node an applicant's), and is then closed, also when it was
//! welcome before and no longer is (an application closed, a team was
//! removed). Peers this node chose itself (bootstrap, relays, explicit
//! dials) stay: an applicant does not know its bootstrap's team yet.
//!
//! Only members' nodes and chosen peers are gossip peers ([`Standing`]):
//! applicants' and strangers' nodes are sent nothing by gossip (they catch
//! up on what joining needs by sync), though what they publish still
//! arrives.
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

/// A peer's standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Standing {
    /// A member's node, or a peer this node chose: a gossip peer.
    Member,
    /// An applicant's node: stays connected, is sent no gossip.
    Applicant,
    /// Anyone else: is sent no gossip, closed after its window.
    Stranger,
}

/// The welcome list and the strangers on probation.
#[derive(Debug)]
pub(crate) struct Welcome {
    window: Duration,
    /// Members' and applicants' nodes; `None` until the node says.
    welcome: Option<HashSet<PeerId>>,
    /// Members' nodes (a subset of `welcome`).
    members: HashSet<PeerId>,
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
            members: HashSet::new(),
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

    /// The node's current members' and applicants' nodes. A `connected`
    /// peer that is welcome no more goes on probation from `now`.
    pub(crate) fn set(
        &mut self,
        members: HashSet<PeerId>,
        applicants: HashSet<PeerId>,
        connected: &HashSet<PeerId>,
        now: Instant,
    ) {
        let welcome: HashSet<PeerId> = members.union(&applicants).copied().collect();
        self.strangers.retain(|p, _| !welcome.contains(p));
        self.welcome = Some(welcome);
        self.members = members;
        for p in connected {
            if !self.is_welcome(p) {
                self.strangers.entry(*p).or_insert(now);
            }
        }
    }

    /// A peer's standing in gossip.
    pub(crate) fn standing(&self, peer: &PeerId) -> Standing {
        if self.welcome.is_none() || self.chosen.contains(peer) || self.members.contains(peer) {
            Standing::Member
        } else if self.is_welcome(peer) {
            Standing::Applicant
        } else {
            Standing::Stranger
        }
    }

    fn is_welcome(&self, peer: &PeerId) -> bool {
        self.chosen.contains(peer) || self.welcome.as_ref().is_none_or(|w| w.contains(peer))
    }

    /// A connection of `peer` opened at `now` (any: a stranger may open a
    /// second while its first is being closed). Returns whether to close
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

    fn set(peers: &[PeerId]) -> HashSet<PeerId> {
        peers.iter().copied().collect()
    }

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
        w.set(
            set(&[member]),
            HashSet::new(),
            &HashSet::new(),
            Instant::now(),
        );
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
        w.set(
            HashSet::new(),
            HashSet::new(),
            &HashSet::new(),
            Instant::now(),
        );
        let t0 = Instant::now();
        w.connected(stranger, t0);
        // Its join request was accepted within the window.
        w.set(HashSet::new(), set(&[stranger]), &set(&[stranger]), t0);
        assert_eq!(w.standing(&stranger), Standing::Applicant);
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
        w.set(
            HashSet::new(),
            HashSet::new(),
            &HashSet::new(),
            Instant::now(),
        );
        let t0 = Instant::now();
        for _ in 0..MAX_STRANGERS {
            assert!(!w.connected(PeerId::random(), t0));
        }
        assert!(w.connected(PeerId::random(), t0));
        assert_eq!((w.strangers(), w.closed()), (MAX_STRANGERS, 1));
        // Members still get in.
        let member = PeerId::random();
        w.set(
            set(&[member]),
            HashSet::new(),
            &HashSet::new(),
            Instant::now(),
        );
        assert!(!w.connected(member, t0));
    }

    #[test]
    fn a_peer_welcome_no_more_goes_on_probation_and_only_members_get_gossip() {
        let (member, applicant, bootstrap) = (PeerId::random(), PeerId::random(), PeerId::random());
        let mut w = Welcome::new(WINDOW, [bootstrap]);
        // Before the node says: everyone is a gossip peer, nobody is closed.
        assert_eq!(w.standing(&applicant), Standing::Member);
        let t0 = Instant::now();
        let connected = set(&[member, applicant, bootstrap]);
        w.set(set(&[member]), set(&[applicant]), &connected, t0);
        assert_eq!(w.standing(&member), Standing::Member);
        assert_eq!(w.standing(&bootstrap), Standing::Member);
        assert_eq!(w.standing(&applicant), Standing::Applicant);
        assert_eq!(w.strangers(), 0);
        // The application closed: the applicant's node is a stranger now,
        // and closed a window later.
        let t1 = t0 + WINDOW;
        w.set(set(&[member]), HashSet::new(), &connected, t1);
        assert_eq!(w.standing(&applicant), Standing::Stranger);
        assert!(w.due(t1 + WINDOW - Duration::from_millis(1)).is_empty());
        assert_eq!(w.due(t1 + WINDOW), vec![applicant]);
    }
}
