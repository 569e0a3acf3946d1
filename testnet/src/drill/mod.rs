//! `testnet drill`: publish from many teams while nodes are killed and
//! restarted and the mesh is split in two; then heal and check that nothing
//! acknowledged was lost and every node holds the same set.
//!
//! Timeline, over a burst of `incidents` publications from random teams
//! (half GREEN advisories, half AMBER to one to three named teams):
//! - from a third of the burst to its end, with `--partition`, the mesh is
//!   split in two halves: every node blocks the other half's peers through
//!   its admin API (and a restarted node gets its blocks again);
//! - `churn x teams` nodes (never the bootstrap node) are each killed with
//!   SIGKILL while a background task is publishing through them, and
//!   restarted a few publications later;
//! - `[[fault]]` tables kill, restart, pause, resume, partition and heal at
//!   chosen times;
//! - after the burst the partition heals and the drill waits (bounded) until
//!   every node holds the same envelope set.
//!
//! An envelope counts as published only when its node acknowledged it (the
//! API call returned: it was durable). It is lost if any intended recipient
//! (GREEN: every team; AMBER: the named teams and the author) does not hold
//! it readable at the end.
//!
//! One job per file: [`params`] (the scenario, from a file and flags,
//! validated once), `chaos` (the faults and putting them back), `run` (the
//! phases: set up, burst, wind down, converge, measure), [`report`] (the
//! figures, which print themselves).

mod capture;
mod chaos;
pub mod hostile;
pub mod insider;
pub mod params;
pub mod report;
mod run;
mod stolen_age;

pub use params::{DrillConfig, Fault, FaultAction, Params};
pub use report::{DrillReport, HostileReport, Latency};
pub use run::run;
