//! What a drill found: its figures (`--json`), and the same for people.

use std::fmt;

use serde::Serialize;

use super::{Fault, FaultAction};

/// Latency percentiles, ms.
#[derive(Debug, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Maximum.
    pub max: u64,
    /// Deliveries measured.
    pub samples: usize,
}

/// The drill's figures.
#[derive(Debug, Default, Serialize)]
pub struct DrillReport {
    /// Teams.
    pub teams: usize,
    /// Envelopes acknowledged by their node (durable).
    pub envelopes_published: usize,
    /// Publications refused or cut off by a kill (never acknowledged).
    pub not_acknowledged: usize,
    /// Acknowledged envelopes some intended recipient lacks at the end. Must be 0.
    pub lost: usize,
    /// The first few losses, in words.
    pub lost_examples: Vec<String>,
    /// Whether every node holds the same set at the end.
    pub converged: bool,
    /// From healing the partition (after the burst) to every node holding the same set.
    pub converge_after_heal_ms: u64,
    /// From publish (author's clock) to stored at each intended recipient.
    pub latency_ms: Latency,
    /// Nodes killed with SIGKILL during the burst (each restarted).
    pub kills: usize,
    /// Envelopes a killed node had acknowledged just before it was killed,
    /// all found again after its restart.
    pub acknowledged_before_kill: usize,
    /// How long the mesh was split, ms (0 without `--partition`).
    pub partition_ms: u64,
    /// Why publications were not acknowledged (the first ten).
    pub not_acknowledged_examples: Vec<String>,
    /// Faults applied from the timeline, in order.
    pub faults: Vec<String>,
    /// Reports published (about addresses no team covers).
    pub reports: usize,
    /// Of those, routed by the directory to last-resort teams only.
    pub reports_to_last_resort: usize,
    /// Intended deliveries (publication x recipient other than its author).
    pub deliveries_intended: usize,
    /// Of those, held readable at the end.
    pub delivery_ratio: f64,
    /// Gossip copies dropped as duplicates, per delivery (all nodes; a
    /// restarted node counts from its restart).
    pub duplicates_per_delivery: f64,
    /// Bytes sent by all nodes, per delivery (same caveat).
    pub bytes_sent_per_delivery: f64,
    /// Time for a new team to be admitted by two endorsements, from the
    /// first vouch to every node counting it a member, ms.
    pub admit_ms: u64,
    /// Wall time of the whole drill, ms.
    pub wall_ms: u64,
    /// CPU seconds and peak RSS per node at the end (restarted nodes count
    /// from their restart).
    pub resources: crate::harness::ResourceSummary,
    /// What the hostile parts got (hostile drills only; its figures sit at
    /// the top level of the JSON).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub hostile: Option<HostileReport>,
    /// What a member turned hostile got (insider drills only; its figures
    /// sit at the top level of the JSON).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub insider: Option<super::insider::InsiderReport>,
}

/// A hostile drill's figures.
#[derive(Debug, Default, Serialize)]
pub struct HostileReport {
    /// Connections from strangers still open past the members' window, at
    /// the end of the burst. Must be 0.
    pub stranger_connections_held: usize,
    /// Envelopes the strangers sent found in an honest member's store. Must be 0.
    pub stranger_envelopes_stored: usize,
    /// Whether a real team, invited, was admitted during the flood.
    pub legit_applicant_admitted: bool,
    /// The largest rise in an honest node's peak RSS from the hostiles'
    /// start to the end of the burst, MiB.
    pub rss_growth_mb: f64,
    /// Panics in any node's log (read at the end) or in the strangers'
    /// tasks. Must be 0.
    pub panics: usize,
    /// Peers banned or blocked on honest nodes at the end.
    pub bans: usize,
    /// Strangers' connections honest nodes closed when their window passed.
    pub strangers_closed: u64,
    /// What the strangers did.
    pub strangers: Option<super::hostile::StrangerFigures>,
    /// The py-libp2p client's summary (JSON), or why there is none.
    pub gossip_abuse: Option<String>,
}

/// The most an honest node's peak RSS may rise during a hostile drill, MiB.
pub const MAX_RSS_GROWTH_MB: f64 = 50.0;

impl HostileReport {
    /// Whether the mesh held against the hostiles. Lurkers, which send
    /// nothing to be banned for, must have been closed by the window (or
    /// the window was not tested).
    pub fn held(&self) -> bool {
        self.stranger_connections_held == 0
            && self.stranger_envelopes_stored == 0
            && self.legit_applicant_admitted
            && self.panics == 0
            && self.rss_growth_mb < MAX_RSS_GROWTH_MB
            && self
                .strangers
                .as_ref()
                .is_none_or(|s| s.lurkers == 0 || s.lurker_closes > 0)
    }
}

impl DrillReport {
    /// Records a timeline fault as applied (`line` says what it did).
    pub(super) fn record_fault(&mut self, f: &Fault, line: &str) {
        if f.action == FaultAction::Kill {
            self.kills += f.teams.len();
        }
        self.faults.push(line.to_string());
    }
}

impl fmt::Display for DrillReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "published {} (acknowledged), lost {}, converged {} ({} ms after heal), latency p50 {} ms p95 {} ms p99 {} ms max {} ms, {} kills ({} envelopes acknowledged just before a kill), partition {} ms",
            self.envelopes_published,
            self.lost,
            self.converged,
            self.converge_after_heal_ms,
            self.latency_ms.p50,
            self.latency_ms.p95,
            self.latency_ms.p99,
            self.latency_ms.max,
            self.kills,
            self.acknowledged_before_kill,
            self.partition_ms
        )?;
        writeln!(
            f,
            "delivery ratio {:.4} over {} intended deliveries; {:.2} duplicates and {:.0} bytes sent per delivery; {} reports ({} routed to last-resort teams); a newcomer admitted in {} ms; per node {:.2} CPU s and {:.1} MiB peak RSS (median)",
            self.delivery_ratio,
            self.deliveries_intended,
            self.duplicates_per_delivery,
            self.bytes_sent_per_delivery,
            self.reports,
            self.reports_to_last_resort,
            self.admit_ms,
            self.resources.cpu_s_median,
            self.resources.rss_peak_mib_median
        )?;
        if let Some(h) = &self.hostile {
            writeln!(
                f,
                "hostiles: {} stranger connections held, {} stranger envelopes stored, legit applicant admitted {}, RSS growth {:.1} MiB, {} panics, {} bans, {} strangers closed",
                h.stranger_connections_held,
                h.stranger_envelopes_stored,
                h.legit_applicant_admitted,
                h.rss_growth_mb,
                h.panics,
                h.bans,
                h.strangers_closed
            )?;
            if let Some(s) = &h.strangers {
                writeln!(
                    f,
                    "  {} strangers ({} lurkers) got {} join requests, {} forgeries and {} junk messages to members; opened {} connections; members closed {} lurker connections",
                    s.peers,
                    s.lurkers,
                    s.join_requests,
                    s.forged,
                    s.junk,
                    s.connections,
                    s.lurker_closes
                )?;
            }
            if let Some(a) = &h.gossip_abuse {
                writeln!(f, "  gossip abuse: {a}")?;
            }
        }
        if let Some(i) = &self.insider {
            writeln!(
                f,
                "insider: {} label breaches ({} replies heard, attack delivered {}), {} of 3 aimed envelopes reached the victim, fake tombstone refused by {} judges, {} backdated accepted, {} divergent member sets, {} honest relays penalised, {} retractions shadowed, {} of {} forks detected by all {} judges; a stolen age key opens {} of 2 before its replacement and {} of 2 after, the victim reads {} of 2; a claim on the victim's prefix captured {} and went unseen by {} of 2",
                i.label_breaches,
                i.conversation_replies_seen,
                i.attack_delivered,
                i.victim_received,
                i.fake_tombstone_refused,
                i.backdated_accepted,
                i.divergent_member_sets,
                i.honest_relays_penalised,
                i.retractions_shadowed,
                i.forks_detected,
                i.forks_made,
                i.judges,
                i.stolen_age_key_reads_before,
                i.stolen_age_key_reads_after,
                i.victim_reads_after_replacement,
                i.prefix_captured,
                i.captures_unseen
            )?;
        }
        for fault in &self.faults {
            writeln!(f, "  fault: {fault}")?;
        }
        for l in &self.lost_examples {
            writeln!(f, "  lost: {l}")?;
        }
        Ok(())
    }
}

impl crate::Report for DrillReport {
    fn held(&self) -> bool {
        self.lost == 0
            && self.converged
            && self.hostile.as_ref().is_none_or(|h| {
                h.held() && self.delivery_ratio >= 1.0 && self.not_acknowledged == 0
            })
            && self.insider.as_ref().is_none_or(|i| i.held())
    }
}
