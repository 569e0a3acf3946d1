//! `testnet bench sync`: what reconciliation costs against sending the full
//! id list and against the negentropy protocol (the `negentropy` crate, the
//! one Nostr relays and Waku store sync speak), on the same two sets: 100,000
//! envelope ids (10 or 1,000 differences) and 1,000,000 (1 or 100), the
//! differences recent (a node that was away) or spread over the history.
//!
//! In-process and deterministic (seeded), so the bytes and round trips are
//! exact; time is reported as the median of several runs. Bytes are the
//! encoded `SyncRequest::Reconcile` / `SyncResponse::Reconcile` messages as
//! they travel (without the 4-byte frame). The baseline sends one side's full
//! id list (32 bytes an id) in one message, and the other side answers with
//! the ids it has that are not on the list: one round trip. Negentropy runs
//! with no frame-size limit, 32-byte ids and the same `created_at`
//! timestamps; its bytes are its own messages, counted the same way.

use std::time::Instant;

use proto::{
    EnvelopeId,
    sync::{SyncRequest, SyncResponse},
};
use serde::Serialize;
use sync::{Key, Set};

use crate::rng::Rng;

/// One scenario's figures.
#[derive(Debug, Serialize)]
pub struct Case {
    /// Items in each set.
    pub items: usize,
    /// Items one side lacks.
    pub differences: usize,
    /// Where the differences are: "recent" (a node that was away) or "spread".
    pub placement: String,
    /// Round trips until both sides know what they lack.
    pub round_trips: usize,
    /// Reconciliation bytes, both ways.
    pub bytes: usize,
    /// Bytes of the full-id-list baseline.
    pub baseline_bytes: usize,
    /// `bytes / baseline_bytes`.
    pub bytes_vs_full_list: f64,
    /// Negentropy's round trips on the same sets.
    pub negentropy_round_trips: usize,
    /// Negentropy's bytes, both ways.
    pub negentropy_bytes: usize,
    /// `bytes / negentropy_bytes` (issue 18's target: at most 1.2).
    pub bytes_vs_negentropy: f64,
    /// Whether negentropy found exactly the differences too.
    pub negentropy_exact: bool,
    /// Whether both sides found exactly their differences.
    pub exact: bool,
    /// Median wall time of one full reconciliation (both sides' CPU), ms.
    pub median_ms: f64,
}

fn key(rng: &mut Rng, t: u64) -> Key {
    let mut id = [0u8; 32];
    for chunk in id.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    (t, EnvelopeId(id))
}

/// Runs one conversation of ours, `a` initiating, as the node runs it:
/// negentropy messages in our sync frames, then, if the initiator found the
/// responder lacking anything, the `Have` messages that tell it. Returns
/// (round trips, bytes, what `a` has that `b` lacks, what `a` lacks).
fn converse(a: &Set, b: &Set) -> (usize, usize, usize, usize) {
    let frame = |r: Result<Vec<u8>, proto::Error>| r.map(|b| b.len()).unwrap_or(0);
    let Ok(mut msg) = sync::initiate(a) else {
        return (0, 0, usize::MAX, usize::MAX);
    };
    let (mut rounds, mut bytes, mut have, mut need) = (0, 0, Vec::new(), 0);
    loop {
        rounds += 1;
        bytes += frame(SyncRequest::Negentropy(msg.clone()).to_bytes());
        let Ok(answer) = sync::respond(b, &msg) else {
            break;
        };
        bytes += frame(SyncResponse::Negentropy(answer.clone()).to_bytes());
        let Ok(step) = sync::reconcile(a, &answer) else {
            break;
        };
        have.extend(step.have);
        need += step.need.len();
        match step.reply {
            Some(m) => msg = m,
            None => break,
        }
        if rounds > 64 {
            break;
        }
    }
    for batch in have.chunks(proto::sync::MAX_GET) {
        bytes += frame(SyncRequest::Have(batch.to_vec()).to_bytes());
        bytes += frame(SyncResponse::Noted.to_bytes());
    }
    (rounds, bytes, have.len(), need)
}

/// Runs negentropy between the same sets: the side that lacks envelopes
/// initiates, as a node catching up pulls (only the initiator learns the
/// differences; ours tells both sides). Returns (round trips, bytes, ids
/// the initiator has that the other lacks, ids it lacks).
fn negentropy_converse(a: &[Key], b: &[Key]) -> Result<(usize, usize, usize, usize), String> {
    use negentropy::{Id, Negentropy, NegentropyStorageVector};
    let storage = |keys: &[Key]| -> Result<NegentropyStorageVector, String> {
        let mut s = NegentropyStorageVector::with_capacity(keys.len());
        for (t, id) in keys {
            let id = Id::from_slice(&id.0).map_err(|e| e.to_string())?;
            s.insert(*t, id).map_err(|e| e.to_string())?;
        }
        s.seal().map_err(|e| e.to_string())?;
        Ok(s)
    };
    let (sa, sb) = (storage(a)?, storage(b)?);
    let mut client = Negentropy::borrowed(&sa, 0).map_err(|e| e.to_string())?;
    let mut server = Negentropy::borrowed(&sb, 0).map_err(|e| e.to_string())?;
    let mut msg = client.initiate().map_err(|e| e.to_string())?;
    let (mut rounds, mut bytes) = (0usize, 0usize);
    let (mut have, mut need): (Vec<Id>, Vec<Id>) = (Vec::new(), Vec::new());
    loop {
        rounds += 1;
        bytes += msg.len();
        let reply = server.reconcile(&msg).map_err(|e| e.to_string())?;
        bytes += reply.len();
        match client
            .reconcile_with_ids(&reply, &mut have, &mut need)
            .map_err(|e| e.to_string())?
        {
            Some(next) => msg = next,
            None => break,
        }
        if rounds > 64 {
            return Err("negentropy did not settle in 64 round trips".into());
        }
    }
    Ok((rounds, bytes, have.len(), need.len()))
}

fn case(items: usize, differences: usize, recent: bool, runs: usize) -> Case {
    let mut rng = Rng(42 + differences as u64 + u64::from(recent));
    // One envelope every ~3 s over about three days, as a busy forum might.
    let all: Vec<Key> = (0..items as u64)
        .map(|i| key(&mut rng, 1_700_000_000_000 + i * 3_000))
        .collect();
    let missing: std::collections::BTreeSet<usize> = if recent {
        (items - differences..items).collect()
    } else {
        let mut m = std::collections::BTreeSet::new();
        while m.len() < differences {
            m.insert((rng.next_u64() % items as u64) as usize);
        }
        m
    };
    let a: Set = all.iter().copied().collect();
    let b: Set = all
        .iter()
        .enumerate()
        .filter(|(i, _)| !missing.contains(i))
        .map(|(_, k)| *k)
        .collect();
    let mut times = Vec::new();
    let mut result = (0, 0, 0, 0);
    for _ in 0..runs {
        let start = Instant::now();
        // The side that lacks envelopes starts, as a node catching up does.
        result = converse(&b, &a);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|x, y| x.total_cmp(y));
    let (round_trips, bytes, b_has, b_needs) = result;
    // Baseline: B sends all its ids; A answers with the ids B lacks.
    let b_ids: Vec<EnvelopeId> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| !missing.contains(i))
        .map(|(_, k)| k.1)
        .collect();
    let lacking: Vec<EnvelopeId> = missing.iter().map(|i| all[*i].1).collect();
    let b_keys: Vec<Key> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| !missing.contains(i))
        .map(|(_, k)| *k)
        .collect();
    let (negentropy_round_trips, negentropy_bytes, has, lacks) = negentropy_converse(&b_keys, &all)
        .unwrap_or_else(|e| {
            eprintln!("negentropy failed: {e}");
            (0, 0, usize::MAX, usize::MAX)
        });
    let baseline_bytes = proto::codec::encode("ids", &b_ids)
        .map(|b| b.len())
        .unwrap_or(0)
        + proto::codec::encode("ids", &lacking)
            .map(|b| b.len())
            .unwrap_or(0);
    Case {
        items,
        differences,
        placement: if recent { "recent" } else { "spread" }.into(),
        round_trips,
        bytes,
        baseline_bytes,
        bytes_vs_full_list: bytes as f64 / baseline_bytes as f64,
        negentropy_round_trips,
        negentropy_bytes,
        bytes_vs_negentropy: bytes as f64 / negentropy_bytes.max(1) as f64,
        negentropy_exact: has == 0 && lacks == differences,
        exact: b_has == 0 && b_needs == differences,
        median_ms: times[times.len() / 2],
    }
}

/// Every case of a run (a JSON list).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct SyncReport {
    /// The cases.
    pub cases: Vec<Case>,
    /// Timed runs per case.
    #[serde(skip)]
    pub runs: usize,
}

/// Runs the benchmark: 100,000 ids with 10 and 1,000 differences and
/// 1,000,000 with 1 and 100, recent and spread.
pub fn run(runs: usize) -> SyncReport {
    let mut cases = Vec::new();
    for (items, differences) in [
        (100_000, 10),
        (100_000, 1_000),
        (1_000_000, 1),
        (1_000_000, 100),
    ] {
        for recent in [true, false] {
            cases.push(case(items, differences, recent, runs.max(1)));
        }
    }
    SyncReport { cases, runs }
}

impl std::fmt::Display for SyncReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Set reconciliation vs sending the full id list and vs negentropy ({} runs per case, median time)",
            self.runs
        )?;
        writeln!(
            f,
            "{:>8} {:>6} {:>7} {:>6} {:>11} {:>11} {:>9} {:>6} {:>9} {:>7} {:>11} {:>8}",
            "items",
            "diff",
            "where",
            "trips",
            "bytes",
            "full list",
            "ratio",
            "exact",
            "ms",
            "n.trips",
            "n.bytes",
            "vs n."
        )?;
        for c in &self.cases {
            writeln!(
                f,
                "{:>8} {:>6} {:>7} {:>6} {:>11} {:>11} {:>9.4} {:>6} {:>9.1} {:>7} {:>11} {:>7.2}x",
                c.items,
                c.differences,
                c.placement,
                c.round_trips,
                c.bytes,
                c.baseline_bytes,
                c.bytes_vs_full_list,
                c.exact && c.negentropy_exact,
                c.median_ms,
                c.negentropy_round_trips,
                c.negentropy_bytes,
                c.bytes_vs_negentropy
            )?;
        }
        Ok(())
    }
}

impl crate::Report for SyncReport {
    fn held(&self) -> bool {
        self.cases.iter().all(|c| c.exact && c.negentropy_exact)
    }
}
