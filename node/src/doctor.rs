//! `csirtmesh doctor`: what is wrong with a node and what to do about it.
//!
//! The command line gathers the facts ([`Facts`]: file modes, the charter,
//! free disk, the running node's status and members); [`diagnose`] judges
//! them with no I/O, so every rule is tested on made-up facts.

use serde::Serialize;

use crate::api::types::{MembersView, StatusView};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Fine.
    Ok,
    /// Works, but look at it.
    Warn,
    /// Broken, or about to be.
    Fail,
}

/// One check's result.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// The check.
    pub check: &'static str,
    /// How bad.
    pub level: Level,
    /// What was found.
    pub what: String,
    /// What to do, when something is to be done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// A file of the data directory as found.
#[derive(Clone, Debug)]
pub struct FileFact {
    /// Its name.
    pub name: &'static str,
    /// Its permission bits, or `None` when it is missing.
    pub mode: Option<u32>,
    /// Its owner's uid, when known.
    pub owner: Option<u32>,
    /// Whether only its owner may read it.
    pub secret: bool,
}

/// What `doctor` found out about the node.
#[derive(Clone, Debug)]
pub struct Facts {
    /// The data directory's path, for messages.
    pub dir: String,
    /// Its permission bits, or `None` when it is missing.
    pub dir_mode: Option<u32>,
    /// Its owner's uid, when known.
    pub dir_owner: Option<u32>,
    /// A path this user could not look at, and why (doctor runs as another
    /// user than the node's, or the disk fails): the file checks cannot be
    /// made.
    pub denied: Option<String>,
    /// The files in it.
    pub files: Vec<FileFact>,
    /// The adopted charter's mesh name, or why it does not load.
    pub charter: Result<String, String>,
    /// Free and total bytes on the data directory's file system.
    pub disk: Option<(u64, u64)>,
    /// The running node's status and members, or why they cannot be had.
    pub node: Result<(StatusView, MembersView), String>,
    /// Now (ms).
    pub now: u64,
}

/// Free space below which the node is about to stop storing.
const DISK_FAIL_BYTES: u64 = 256 << 20;
/// Free space below which to warn.
const DISK_WARN_BYTES: u64 = 2 << 30;
/// A member's node not synced for this long is worth a look.
const SYNC_STALE_MS: u64 = 15 * 60_000;
/// A clock this far off is worth a look.
const CLOCK_WARN_MS: i64 = 60_000;
/// Half the skew the mesh allows: past it, envelopes start to be refused.
const CLOCK_FAIL_MS: i64 = (mesh_core::validate::MAX_CLOCK_SKEW_MS / 2) as i64;

fn finding(check: &'static str, level: Level, what: String, fix: Option<String>) -> Finding {
    Finding {
        check,
        level,
        what,
        fix,
    }
}

/// Judges the facts: one finding per check, in a fixed order.
pub fn diagnose(f: &Facts) -> Vec<Finding> {
    let mut out = vec![files(f), charter(f), disk(f)];
    match &f.node {
        Err(e) => out.push(finding(
            "node",
            Level::Fail,
            format!("the node does not answer: {e}"),
            Some("start it (`systemctl start csirtmesh`, or `csirtmesh run`) and look at its log (`journalctl -u csirtmesh`)".into()),
        )),
        Ok((status, members)) => {
            out.push(membership(status, members));
            out.push(peers(status));
            out.push(sync(status, f.now));
            out.push(reachability(status));
            out.push(clock(status));
            out.push(integrity(status));
            out.push(restored(status));
        }
    }
    out
}

fn files(f: &Facts) -> Finding {
    if let Some(path) = &f.denied {
        return finding(
            "files",
            Level::Fail,
            format!("cannot look at {path}: nothing in the data directory was checked"),
            Some(format!(
                "if permission was denied, run doctor as the node's user (sudo -u csirtmesh csirtmesh doctor --data-dir {}); otherwise check the disk",
                f.dir
            )),
        );
    }
    let Some(dir_mode) = f.dir_mode else {
        return finding(
            "files",
            Level::Fail,
            format!("{} does not exist", f.dir),
            Some("create the team with `csirtmesh init`, or point --data-dir at it".into()),
        );
    };
    let mut wrong = Vec::new();
    let mut fixes = Vec::new();
    if dir_mode & 0o077 != 0 {
        wrong.push(format!("{} is {:o}", f.dir, dir_mode & 0o777));
        fixes.push(format!("chmod 700 {}", f.dir));
    }
    let mut missing = Vec::new();
    for file in &f.files {
        match file.mode {
            None => missing.push(file.name),
            Some(m) if file.secret && m & 0o077 != 0 => {
                wrong.push(format!("{} is {:o}", file.name, m & 0o777));
                fixes.push(format!("chmod 600 {}/{}", f.dir, file.name));
            }
            Some(_) => {}
        }
    }
    let strangers: Vec<&str> = f
        .files
        .iter()
        .filter(|file| file.mode.is_some() && file.owner.is_some() && file.owner != f.dir_owner)
        .map(|file| file.name)
        .collect();
    if !strangers.is_empty() {
        return finding(
            "files",
            Level::Fail,
            format!(
                "owned by another user than {} (the node cannot read them): {}",
                f.dir,
                strangers.join(", ")
            ),
            Some(format!(
                "chown -R --reference={0} {0} (a restore run as root leaves root's files)",
                f.dir
            )),
        );
    }
    if !missing.is_empty() {
        return finding(
            "files",
            Level::Fail,
            format!("missing in {}: {}", f.dir, missing.join(", ")),
            Some("restore the data directory from a backup (`csirtmesh restore`)".into()),
        );
    }
    if wrong.is_empty() {
        finding(
            "files",
            Level::Ok,
            "keys readable by their owner only".into(),
            None,
        )
    } else {
        finding(
            "files",
            Level::Fail,
            format!(
                "readable by others: {} (anyone who can read the keys can act as the team)",
                wrong.join(", ")
            ),
            Some(format!(
                "{}; if others could read them, replace the keys (`csirtmesh rotate-key`)",
                fixes.join("; ")
            )),
        )
    }
}

fn charter(f: &Facts) -> Finding {
    if f.denied.is_some() {
        return finding(
            "charter",
            Level::Warn,
            "not checked (the data directory cannot be read as this user)".into(),
            None,
        );
    }
    match &f.charter {
        Ok(name) => finding("charter", Level::Ok, format!("mesh {name:?}"), None),
        Err(e) => finding(
            "charter",
            Level::Fail,
            e.clone(),
            Some("run the node once with --charter FILE (the forum gives it to you)".into()),
        ),
    }
}

fn disk(f: &Facts) -> Finding {
    let Some((free, total)) = f.disk else {
        return finding("disk", Level::Warn, "free space unknown".into(), None);
    };
    let mib = free >> 20;
    let share = if total > 0 {
        free as f64 / total as f64 * 100.0
    } else {
        0.0
    };
    let what = format!("{mib} MiB free ({share:.0}%)");
    let fix = Some("free space on the data directory's file system, or move it to a larger one (stop, copy, start)".to_owned());
    if free < DISK_FAIL_BYTES {
        finding(
            "disk",
            Level::Fail,
            format!("{what}: the node will soon stop storing (it refuses what it cannot keep)"),
            fix,
        )
    } else if free < DISK_WARN_BYTES {
        finding("disk", Level::Warn, what, fix)
    } else {
        finding("disk", Level::Ok, what, None)
    }
}

fn membership(s: &StatusView, m: &MembersView) -> Finding {
    if m.members.iter().any(|t| t.team.id == s.team.id) {
        return finding(
            "membership",
            Level::Ok,
            format!(
                "a member, with {} others",
                m.members.len().saturating_sub(1)
            ),
            None,
        );
    }
    if m.applicants.iter().any(|a| a.team.id == s.team.id) {
        return finding(
            "membership",
            Level::Warn,
            format!("an applicant, waiting for {} endorsements", m.threshold),
            Some("ask members to vouch (`csirtmesh vouch <your team id>` on their nodes)".into()),
        );
    }
    finding(
        "membership",
        Level::Fail,
        "not a member of the mesh".into(),
        Some("ask a member to invite your team id, then `csirtmesh join`; if the team was removed, `csirtmesh members` says why".into()),
    )
}

fn peers(s: &StatusView) -> Finding {
    let members = s.peers.iter().filter(|p| p.team.is_some()).count();
    if s.peers.is_empty() {
        finding(
            "peers",
            Level::Fail,
            "no peer connected".into(),
            Some("check `bootstrap` in the config (full addresses with /p2p/...) and that the firewall lets 4001/tcp and 4001/udp through".into()),
        )
    } else if members == 0 {
        finding(
            "peers",
            Level::Warn,
            format!("{} peers, none of them a member's node", s.peers.len()),
            Some("bootstrap from a member's node".into()),
        )
    } else {
        finding(
            "peers",
            Level::Ok,
            format!("{} peers, {members} of them members' nodes", s.peers.len()),
            None,
        )
    }
}

fn sync(s: &StatusView, now: u64) -> Finding {
    let mut bad = Vec::new();
    for p in s.peers.iter().filter(|p| p.team.is_some()) {
        let who = p.team.as_ref().map(|t| t.to_string()).unwrap_or_default();
        match (&p.last_sync_ok, &p.last_sync_error) {
            (_, Some(e)) if p.last_sync_ok.is_none() => {
                // The peer wrote some of it: bounded.
                let e: String = e.chars().take(200).collect();
                bad.push(format!("{who}: {e}"))
            }
            (Some(t), _) if now.saturating_sub(*t) > SYNC_STALE_MS => bad.push(format!(
                "{who}: last synced {} min ago",
                now.saturating_sub(*t) / 60_000
            )),
            _ => {}
        }
    }
    if bad.is_empty() {
        finding(
            "sync",
            Level::Ok,
            "every member's node in sync".into(),
            None,
        )
    } else {
        finding(
            "sync",
            Level::Warn,
            bad.join("; "),
            Some("see `csirtmesh status`; a peer that keeps failing may be overloaded or misbehaving (`csirtmesh peers`)".into()),
        )
    }
}

fn reachability(s: &StatusView) -> Finding {
    match s.reachability.as_str() {
        "public" => finding(
            "reachability",
            Level::Ok,
            "other nodes can dial this one".into(),
            None,
        ),
        "private" => finding(
            "reachability",
            Level::Warn,
            "other nodes cannot dial this one (AutoNAT): it reaches them, they do not reach it".into(),
            Some("open 4001/tcp and 4001/udp, set `external_addresses` to the public address, or listen through a member's relay (`--listen <relay address>/p2p-circuit`)".into()),
        ),
        _ => finding(
            "reachability",
            Level::Ok,
            "not known yet (AutoNAT asks peers to dial back)".into(),
            None,
        ),
    }
}

fn clock(s: &StatusView) -> Finding {
    let Some(ms) = s.clock_offset_ms else {
        return finding(
            "clock",
            Level::Ok,
            "no recent gossip to compare with".into(),
            None,
        );
    };
    let what = format!(
        "this clock is {:.1} s {} the mesh's ({} teams)",
        ms.unsigned_abs() as f64 / 1000.0,
        if ms >= 0 { "ahead of" } else { "behind" },
        s.clock_offset_teams
    );
    let fix = Some("check the clock is synchronised (systemd-timesyncd or chrony); envelopes stamped more than 10 minutes ahead are refused. The estimate is advisory: a member with a fast clock pulls others' stamps forward for a while".to_owned());
    // Failing takes several teams agreeing: one or two could be the odd ones.
    if ms.unsigned_abs() >= CLOCK_FAIL_MS.unsigned_abs() && s.clock_offset_teams >= 3 {
        finding("clock", Level::Fail, what, fix)
    } else if ms.unsigned_abs() >= CLOCK_WARN_MS.unsigned_abs() {
        finding("clock", Level::Warn, what, fix)
    } else {
        finding("clock", Level::Ok, what, None)
    }
}

fn integrity(s: &StatusView) -> Finding {
    if s.quarantined > 0 || !s.forks.is_empty() {
        let mut what = Vec::new();
        if s.quarantined > 0 {
            what.push(format!("{} damaged envelopes quarantined", s.quarantined));
        }
        for f in &s.forks {
            what.push(format!(
                "the key of {} forked at place {} (a stolen key or two nodes with one key)",
                f.team, f.seq
            ));
        }
        finding(
            "integrity",
            Level::Warn,
            what.join("; "),
            Some("`csirtmesh check` scans the store; a fork of your own key means replace it (`csirtmesh rotate-key`) and find the copy".into()),
        )
    } else {
        finding("integrity", Level::Ok, "no damage, no fork".into(), None)
    }
}

fn restored(s: &StatusView) -> Finding {
    if s.catching_up {
        finding(
            "restore",
            Level::Warn,
            "restored from a backup and still catching up: it writes nothing yet".into(),
            Some("wait: it needs members' nodes to reconcile with (see peers and sync) and 10 minutes after the restore".into()),
        )
    } else {
        finding("restore", Level::Ok, "writing".into(), None)
    }
}

#[cfg(test)]
mod tests;
