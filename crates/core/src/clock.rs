//! A hybrid logical clock in milliseconds.
//!
//! An author's envelopes must carry strictly increasing `created_at` values,
//! even if the wall clock steps back or two envelopes are made within one
//! millisecond, and a reply must sort after what it answers even if the
//! replier's clock is behind. So the next stamp is the largest of the wall
//! clock, one past the author's previous stamp, and one past anything seen.

/// The clock's state: the largest stamp issued or observed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hlc {
    last: u64,
}

impl Hlc {
    /// A clock that has issued or observed nothing later than `last`.
    pub fn new(last: u64) -> Self {
        Hlc { last }
    }

    /// The stamp for a new envelope at wall-clock time `now_ms`.
    pub fn tick(&mut self, now_ms: u64) -> u64 {
        self.last = now_ms.max(self.last.saturating_add(1));
        self.last
    }

    /// Takes note of a stamp seen on an accepted envelope, so replies sort
    /// after it. Stamps from the future were already refused by validation.
    pub fn observe(&mut self, stamp: u64) {
        self.last = self.last.max(stamp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_even_when_the_wall_clock_steps_back() {
        let mut c = Hlc::default();
        assert_eq!(c.tick(1000), 1000);
        assert_eq!(c.tick(1000), 1001);
        assert_eq!(c.tick(500), 1002);
        c.observe(5000);
        assert_eq!(c.tick(1003), 5001);
    }
}
