//! The drill's parameters: one set, read from a scenario file (TOML) and
//! from flags (clap) alike, flags over the file, then validated once into a
//! [`DrillConfig`] that cannot be invalid.

use std::path::Path;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

/// A drill scenario, as a file or as flags. Every key is optional; flags
/// override the file; what neither sets takes its default.
///
/// ```toml
/// name = "a region behind a relay"
/// latency_ms = 40
/// loss = 0.05
/// teams = 8
/// incidents = 120
/// churn = 0.25
/// partition = false
/// green_share = 0.3
/// relayed = 3
/// seed = 4
///
/// [[fault]]
/// at_ms = 2000
/// action = "pause"          # kill, restart, pause, resume, partition, heal
/// teams = ["CSIRT-03"]      # partition: the teams on one side
/// ```
#[derive(Clone, Debug, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// A name for the report (file only).
    #[arg(skip)]
    pub name: Option<String>,
    /// Teams, all founders (default: 12).
    #[arg(long)]
    pub teams: Option<usize>,
    /// Incidents to publish (default: 300).
    #[arg(long)]
    pub incidents: Option<usize>,
    /// Share of teams killed (SIGKILL) and restarted during the burst (default: 0.3).
    #[arg(long)]
    pub churn: Option<f64>,
    /// Split the mesh in two during the burst (default: false).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub partition: Option<bool>,
    /// Seed for authors, labels and recipients (default: 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Share of incidents published GREEN; the rest go AMBER to 1 to 3 teams (default: 0.5).
    #[arg(long)]
    pub green_share: Option<f64>,
    /// Teams (after the first) that are the last resort for BR (default: 0).
    #[arg(long)]
    pub last_resort: Option<usize>,
    /// Share of publications that are reports about a BR address no team
    /// covers, routed to the last-resort teams (default: 0).
    #[arg(long)]
    pub report_share: Option<f64>,
    /// Teams that listen only through the first team's relay (default: 0).
    #[arg(long)]
    pub relayed: Option<usize>,
    /// Emulated delay on every incoming link, ms (default: 0).
    #[arg(long)]
    pub latency_ms: Option<u64>,
    /// Emulated loss of incoming gossip on every link, 0..1 (default: 0).
    #[arg(long)]
    pub loss: Option<f64>,
    /// Publications per second (default: as fast as the nodes acknowledge).
    #[arg(long = "rate")]
    pub rate_per_sec: Option<f64>,
    /// Stranger peers (no member invited them) that dial every member and
    /// flood it with join requests, forgeries and junk (default: 0).
    #[arg(long)]
    pub strangers: Option<usize>,
    /// Strangers that only connect and subscribe (they send nothing, so
    /// only the stranger window closes them; more than 16 fill the places
    /// strangers may wait in) (default: 0).
    #[arg(long)]
    pub lurkers: Option<usize>,
    /// Members that censor: they relay no gossip and answer no sync
    /// (default: 0). They neither author nor count as recipients.
    #[arg(long)]
    pub censors: Option<usize>,
    /// Members on a slow link (`slow_delay_ms` on each incoming link instead
    /// of `latency_ms`) (default: 0).
    #[arg(long)]
    pub slow: Option<usize>,
    /// The slow members' delay on each incoming link, ms (default: 400).
    #[arg(long)]
    pub slow_delay_ms: Option<u64>,
    /// The slow members' bandwidth on each incoming link, kbit/s (default: 256).
    #[arg(long)]
    pub slow_kbps: Option<u64>,
    /// Abuse gossipsub's control messages with py-libp2p, a client nobody
    /// here wrote (needs `scripts/hostile-venv`) (default: false).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub gossip_abuse: Option<bool>,
    /// After the burst, the last team turns hostile and tries what a member
    /// (or a thief of a member's key) could do to the label, history and
    /// membership (needs at least 6 teams) (default: false).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub insider: Option<bool>,
    /// Faults on a timeline (`[[fault]]` tables; file only).
    #[arg(skip)]
    #[serde(default)]
    pub fault: Vec<Fault>,
}

/// A fault on the drill's timeline.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// When, ms after the first publication.
    pub at_ms: u64,
    /// What.
    pub action: FaultAction,
    /// Which teams (by name, `CSIRT-01`...); for `partition`, one side.
    #[serde(default)]
    pub teams: Vec<String>,
}

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultAction {
    /// SIGKILL the teams' nodes (they stay down until `restart` or the end).
    Kill,
    /// Start the teams' nodes again.
    Restart,
    /// SIGSTOP the teams' nodes: alive but silent, as a hung machine.
    Pause,
    /// SIGCONT them.
    Resume,
    /// Cut the named teams off from all others (both ways).
    Partition,
    /// Lift every partition.
    Heal,
}

/// A drill that can run: every parameter set and checked. Made only by
/// [`Params::validate`].
#[derive(Clone, Debug)]
pub struct DrillConfig {
    pub(super) teams: usize,
    pub(super) incidents: usize,
    pub(super) churn: f64,
    pub(super) partition: bool,
    pub(super) seed: u64,
    pub(super) green_share: f64,
    pub(super) last_resort: usize,
    pub(super) report_share: f64,
    pub(super) relayed: usize,
    pub(super) latency_ms: u64,
    pub(super) loss: f64,
    pub(super) rate_per_sec: Option<f64>,
    pub(super) faults: Vec<Fault>,
    pub(super) strangers: usize,
    pub(super) lurkers: usize,
    pub(super) censors: usize,
    pub(super) slow: usize,
    pub(super) slow_delay_ms: u64,
    pub(super) slow_kbps: u64,
    pub(super) gossip_abuse: bool,
    pub(super) insider: bool,
}

impl DrillConfig {
    /// Teams (all founders).
    pub fn teams(&self) -> usize {
        self.teams
    }

    /// The teams' names, `CSIRT-01` and on.
    pub fn names(&self) -> Vec<String> {
        (1..=self.teams).map(|i| format!("CSIRT-{i:02}")).collect()
    }

    /// Whether the drill has hostile parts (strangers, censors, a slow
    /// member, gossip abuse).
    pub fn hostile(&self) -> bool {
        self.strangers > 0
            || self.lurkers > 0
            || self.censors > 0
            || self.slow > 0
            || self.gossip_abuse
    }

    /// The censoring members: the teams just before the relayed ones (never
    /// the first, the bootstrap).
    pub(super) fn censor_names(&self) -> Vec<String> {
        let names = self.names();
        let end = self.teams - self.relayed;
        names[end - self.censors..end].to_vec()
    }

    /// The members on a slow link: the teams just before the censors.
    pub(super) fn slow_names(&self) -> Vec<String> {
        let names = self.names();
        let end = self.teams - self.relayed - self.censors;
        names[end - self.slow..end].to_vec()
    }
}

impl Params {
    /// Reads a scenario file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read scenario {}: {e}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("invalid scenario {}: {e}", path.display()))
    }

    /// These parameters, with `file`'s where these set none.
    pub fn over(self, file: Params) -> Params {
        Params {
            name: self.name.or(file.name),
            teams: self.teams.or(file.teams),
            incidents: self.incidents.or(file.incidents),
            churn: self.churn.or(file.churn),
            partition: self.partition.or(file.partition),
            seed: self.seed.or(file.seed),
            green_share: self.green_share.or(file.green_share),
            last_resort: self.last_resort.or(file.last_resort),
            report_share: self.report_share.or(file.report_share),
            relayed: self.relayed.or(file.relayed),
            latency_ms: self.latency_ms.or(file.latency_ms),
            loss: self.loss.or(file.loss),
            rate_per_sec: self.rate_per_sec.or(file.rate_per_sec),
            strangers: self.strangers.or(file.strangers),
            lurkers: self.lurkers.or(file.lurkers),
            censors: self.censors.or(file.censors),
            slow: self.slow.or(file.slow),
            slow_delay_ms: self.slow_delay_ms.or(file.slow_delay_ms),
            slow_kbps: self.slow_kbps.or(file.slow_kbps),
            gossip_abuse: self.gossip_abuse.or(file.gossip_abuse),
            insider: self.insider.or(file.insider),
            fault: if self.fault.is_empty() {
                file.fault
            } else {
                self.fault
            },
        }
    }

    /// The drill these parameters describe, with the defaults for what they
    /// leave out; refused, by name, when it cannot run.
    pub fn validate(self) -> Result<DrillConfig> {
        let cfg = DrillConfig {
            teams: self.teams.unwrap_or(12),
            incidents: self.incidents.unwrap_or(300),
            churn: self.churn.unwrap_or(0.3),
            partition: self.partition.unwrap_or(false),
            seed: self.seed.unwrap_or(1),
            green_share: self.green_share.unwrap_or(0.5),
            last_resort: self.last_resort.unwrap_or(0),
            report_share: self.report_share.unwrap_or(0.0),
            relayed: self.relayed.unwrap_or(0),
            latency_ms: self.latency_ms.unwrap_or(0),
            loss: self.loss.unwrap_or(0.0),
            rate_per_sec: self.rate_per_sec,
            faults: self.fault,
            strangers: self.strangers.unwrap_or(0),
            lurkers: self.lurkers.unwrap_or(0),
            censors: self.censors.unwrap_or(0),
            slow: self.slow.unwrap_or(0),
            slow_delay_ms: self.slow_delay_ms.unwrap_or(400),
            slow_kbps: self.slow_kbps.unwrap_or(256),
            gossip_abuse: self.gossip_abuse.unwrap_or(false),
            insider: self.insider.unwrap_or(false),
        };
        if cfg.insider && cfg.teams < 6 {
            bail!(
                "an insider drill needs at least 6 teams (a conversation, a victim, a stolen key, the insider, judges)"
            );
        }
        if cfg.insider && cfg.hostile() {
            bail!(
                "an insider drill runs without strangers, censors or slow members, so that what it measures is the insider's doing"
            );
        }
        if cfg.relayed + cfg.censors + cfg.slow + cfg.last_resort >= cfg.teams {
            bail!(
                "relayed, censoring, slow and last-resort teams must leave at least the first team (the bootstrap) honest and direct"
            );
        }
        if cfg.slow_kbps == 0 {
            bail!("slow_kbps must be at least 1");
        }
        if cfg.censors > 0 && cfg.teams - cfg.censors < 3 {
            bail!("a drill with censors needs at least 3 honest teams");
        }
        if cfg.teams < 2 || cfg.relayed >= cfg.teams {
            bail!(
                "a drill needs at least 2 teams, and fewer relayed teams than teams (the first team is the relay)"
            );
        }
        if cfg.rate_per_sec.is_some_and(|r| r.is_nan() || r <= 0.0) {
            bail!("rate_per_sec must be above 0");
        }
        for (what, v) in [
            ("churn", cfg.churn),
            ("green_share", cfg.green_share),
            ("loss", cfg.loss),
            ("report_share", cfg.report_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                bail!("{what} is a share, from 0 to 1 (got {v})");
            }
        }
        if cfg.report_share > 0.0 && cfg.last_resort == 0 {
            bail!("report_share needs last_resort teams to route the reports to");
        }
        if cfg.last_resort >= cfg.teams {
            bail!("last_resort must leave the first team out (it is the bootstrap and relay)");
        }
        let names = cfg.names();
        for f in &cfg.faults {
            if let Some(bad) = f.teams.iter().find(|t| !names.contains(t)) {
                bail!(
                    "fault at {} ms names {bad}, which is not a team of this drill (CSIRT-01 to CSIRT-{:02})",
                    f.at_ms,
                    cfg.teams
                );
            }
            if f.action != FaultAction::Heal && f.teams.is_empty() {
                bail!("fault at {} ms ({:?}) names no team", f.at_ms, f.action);
            }
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped scenario parses and validates.
    #[test]
    fn shipped_scenarios_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let cfg = Params::load(&path)
                .and_then(Params::validate)
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            assert!(cfg.teams >= 2);
            n += 1;
        }
        assert!(n >= 5, "only {n} scenarios");
    }

    /// A timeline naming a team the drill does not have is refused, by name.
    #[test]
    fn a_fault_on_an_unknown_team_is_refused() {
        let s: Params = toml::from_str(
            "teams = 4\n[[fault]]\nat_ms = 10\naction = \"pause\"\nteams = [\"CSIRT-07\"]\n",
        )
        .unwrap();
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("CSIRT-07"), "{e}");
        let bad: Result<Params, _> =
            toml::from_str("[[fault]]\nat_ms = 10\naction = \"explode\"\n");
        assert!(bad.is_err());
    }

    /// Flags win over the file, the file over the defaults; a share out of
    /// range is refused by its name.
    #[test]
    fn flags_override_the_file_and_bad_shares_are_named() {
        let file: Params = toml::from_str("teams = 4\nchurn = 0.1\nseed = 9\n").unwrap();
        let flags = Params {
            teams: Some(6),
            ..Params::default()
        };
        let cfg = flags.over(file).validate().unwrap();
        assert_eq!(
            (cfg.teams, cfg.churn, cfg.seed, cfg.incidents),
            (6, 0.1, 9, 300)
        );
        let e = Params {
            loss: Some(1.5),
            ..Params::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("loss"), "{e}");
    }
}
