//! # csirtmesh-interop: the CSIRT toolchain's formats in and out
//!
//! Teams keep their intelligence in MISP and OpenCTI, exchange STIX 2.1 and
//! send abuse reports as X-ARF. This crate turns the incidents a team can
//! read into those formats ([`stix::export`], [`misp::export`],
//! [`xarf::export`]) and a STIX 2.1 bundle or a MISP event into incidents to
//! open ([`import::parse`]).
//!
//! Pure conversions: no I/O and no clock. Every time written comes from the
//! incidents themselves, and every id from their envelope ids (or the id
//! of the object they were imported from), so exporting twice gives the
//! same document.
//!
//! The label is never widened: each object carries its incident's TLP, an
//! imported object takes the marking of its source, and an object without
//! one is refused unless the operator names a label.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::collections::BTreeMap;

use mesh_core::Incident;
use proto::{Profile, TeamId};

pub mod ids;
pub mod import;
pub mod misp;
pub mod stix;
pub mod tlp;
pub mod xarf;

/// What an export covers: the incidents (only those the team can read are
/// written) and the profiles of the teams they name.
pub struct Export<'a> {
    /// The team exporting (the X-ARF sender).
    pub exporter: TeamId,
    /// The incidents, in the order they are written.
    pub incidents: &'a [Incident],
    /// Profiles by team, for names, contacts and RFC 2350 details.
    pub teams: &'a BTreeMap<TeamId, Profile>,
}

impl Export<'_> {
    /// The incidents this team can read (an unreadable one has no title).
    pub fn readable(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.iter().filter(|i| i.title.is_some())
    }

    /// A team's name, or its short id when its profile is unknown.
    pub fn name(&self, team: &TeamId) -> String {
        self.teams
            .get(team)
            .map_or_else(|| format!("team {}", team.short()), |p| p.name.clone())
    }
}

/// A time in ms since the epoch as RFC 3339 with milliseconds, in UTC
/// (`2026-11-27T10:00:00.123Z`), as STIX requires.
pub fn rfc3339_ms(ms: u64) -> String {
    // A peer's clamped clock never gets here beyond now, but a stamp past
    // 9999-12-31 would not format (and would overflow a `SystemTime`).
    const LAST_MS: u64 = 253_402_300_799_999;
    humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.min(LAST_MS)),
    )
    .to_string()
}

/// The date part of [`rfc3339_ms`] (`2026-11-27`).
pub fn date(ms: u64) -> String {
    rfc3339_ms(ms)[..10].to_owned()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tools_tests;
