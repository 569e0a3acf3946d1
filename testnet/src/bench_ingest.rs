//! `testnet bench ingest` and `testnet bench seal`: what one node's ingest
//! path costs, against floors measured in the same run.
//!
//! Ingest: envelopes from three member teams, one in ten addressed to the
//! node (AMBER, so it opens them), go through `Node::ingest`, the one path
//! every envelope takes (decode, outer signature, mesh rules, open if
//! addressed, durable store). Floors, on the same envelopes and the same
//! machine: raw SQLite inserts of the same bytes, one commit per row (what
//! durable acknowledgement of each envelope costs) and batched (1,000 rows a
//! commit); ed25519 verification alone; age opening alone.
//!
//! Seal: sealing (sign + encrypt) and opening a 1 KiB incident for 1, 10 and
//! 500 named recipients, opening as the last recipient (the worst case: age
//! tries stanzas in order). GREEN uses one sender key whatever the mesh size.

use std::time::Instant;

use anyhow::Result;
use csirtmesh::node::{Node, Origin};
use proto::{
    Body, Charter, EnvelopeContent, IncidentPayload, InnerContent, Kind, Payload, Profile,
    SealedTo, Tlp,
};
use seal::TeamKeys;
use serde::Serialize;

/// Ingest figures.
#[derive(Debug, Serialize)]
pub struct IngestReport {
    /// Envelopes ingested.
    pub envelopes: usize,
    /// Runs (the figures are medians over them).
    pub runs: usize,
    /// Share addressed to the node (opened).
    pub addressed_share: f64,
    /// Through `Node::ingest`, durable one by one, envelopes/s (median of runs).
    pub ingest_per_s: f64,
    /// Through `Node::ingest_batch` in batches of 256 (a sync fetch), one
    /// commit per batch, envelopes/s (median of runs).
    pub ingest_batched_per_s: f64,
    /// `ingest_batched_per_s / floor_verify_batched_open_per_s`.
    pub ingest_batched_vs_floor: f64,
    /// Raw SQLite, one commit per row, rows/s.
    pub sqlite_commit_per_row_per_s: f64,
    /// Raw SQLite, 1,000 rows per commit, rows/s.
    pub sqlite_batched_per_s: f64,
    /// ed25519 verifications/s.
    pub verify_per_s: f64,
    /// age opens/s (one recipient).
    pub open_per_s: f64,
    /// `ingest_per_s / sqlite_commit_per_row_per_s`: against durable one-by-one storage.
    pub ingest_vs_commit_per_row: f64,
    /// The floor: verify + batched insert (+ open for the addressed
    /// share), as envelopes/s, and ingest against it.
    pub floor_verify_batched_open_per_s: f64,
    /// `ingest_per_s / floor_verify_batched_open_per_s`.
    pub ingest_vs_floor: f64,
}

impl std::fmt::Display for IngestReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Ingest of {} envelopes (1 in 10 addressed to the node), median of {} runs",
            self.envelopes, self.runs
        )?;
        writeln!(
            f,
            "  Node::ingest, durable one by one: {:>9.0} envelopes/s",
            self.ingest_per_s
        )?;
        writeln!(
            f,
            "  Node::ingest_batch, 256 a commit: {:>9.0} envelopes/s (floor x{:.2})",
            self.ingest_batched_per_s, self.ingest_batched_vs_floor
        )?;
        writeln!(
            f,
            "  raw SQLite, commit per row:       {:>9.0} rows/s   (ingest x{:.2})",
            self.sqlite_commit_per_row_per_s, self.ingest_vs_commit_per_row
        )?;
        writeln!(
            f,
            "  raw SQLite, 1000 rows per commit: {:>9.0} rows/s",
            self.sqlite_batched_per_s
        )?;
        writeln!(
            f,
            "  ed25519 verify:                   {:>9.0} /s",
            self.verify_per_s
        )?;
        writeln!(
            f,
            "  age open (1 recipient):           {:>9.0} /s",
            self.open_per_s
        )?;
        writeln!(
            f,
            "  floor verify + batched insert + open/10: {:.0} /s (ingest x{:.2})",
            self.floor_verify_batched_open_per_s, self.ingest_vs_floor
        )
    }
}

impl crate::Report for IngestReport {
    fn held(&self) -> bool {
        true
    }
}

/// Seal and open figures for each recipient count (a JSON list).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct SealReport(pub Vec<SealCase>);

impl std::fmt::Display for SealReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Seal (sign + encrypt) and open (as the last recipient) of a 1 KiB incident"
        )?;
        writeln!(
            f,
            "{:>11} {:>10} {:>10} {:>10} {:>14}",
            "recipients", "seal/s", "open/s", "bytes", "of seal: hints"
        )?;
        for c in &self.0 {
            writeln!(
                f,
                "{:>11} {:>10.0} {:>10.0} {:>10} {:>11.1} µs",
                c.recipients, c.seal_per_s, c.open_per_s, c.bytes, c.hints_us
            )?;
        }
        Ok(())
    }
}

impl crate::Report for SealReport {
    fn held(&self) -> bool {
        true
    }
}

/// Seal/open figures for one recipient count.
#[derive(Debug, Serialize)]
pub struct SealCase {
    /// Named recipients.
    pub recipients: usize,
    /// Seals (sign + encrypt) per second.
    pub seal_per_s: f64,
    /// Opens (decrypt + verify) per second, as the last recipient.
    pub open_per_s: f64,
    /// Of a seal, the recipient hints (hint keys remembered), µs.
    pub hints_us: f64,
    /// Ciphertext size, bytes.
    pub bytes: usize,
}

use crate::stats::median;

fn profile(k: &TeamKeys, name: &str) -> Profile {
    Profile {
        team: k.team_id(),
        name: name.into(),
        country: None,
        constituency: vec![],
        contact: None,
        recipient: k.recipient(),
        peers: vec![],
        node_proofs: vec![],
        roles: vec![],
        updated_at: 1,
        details: Default::default(),
    }
}

fn amber(
    author: &TeamKeys,
    mesh: proto::MeshId,
    seq: u64,
    to: &[&TeamKeys],
) -> Result<seal::VerifiedEnvelope> {
    incident(
        author,
        mesh,
        seq,
        1_700_000_000_000 + seq,
        1024,
        Sealing::Teams(to),
    )
}

/// Who can open an incident built by [`incident`].
pub(crate) enum Sealing<'a> {
    /// AMBER, one stanza per team.
    Teams(&'a [&'a TeamKeys]),
    /// GREEN, sealed to the author's sender key.
    Green(&'a seal::SenderKey),
}

/// A signed incident opening (title and a description of `description_len`
/// bytes), sealed as `sealing` says.
pub(crate) fn incident(
    author: &TeamKeys,
    mesh: proto::MeshId,
    seq: u64,
    created_at: u64,
    description_len: usize,
    sealing: Sealing<'_>,
) -> Result<seal::VerifiedEnvelope> {
    let (tlp, recipients) = match &sealing {
        Sealing::Teams(to) => (Tlp::Amber, to.iter().map(|k| k.team_id()).collect()),
        Sealing::Green(_) => (Tlp::Green, vec![]),
    };
    let inner = InnerContent {
        author: author.team_id(),
        mesh,
        tlp,
        recipients,
        payload: Payload::Incident(IncidentPayload::Open {
            title: format!("bench {seq}"),
            description: "x".repeat(description_len),
            indicators: Vec::new(),
            source: None,
        }),
    };
    let body = match sealing {
        Sealing::Teams(to) => {
            let recipients: Vec<_> = to
                .iter()
                .map(|k| seal::parse_recipient(&k.recipient()))
                .collect::<Result<_, _>>()?;
            seal::seal_to_teams(author, &inner, &recipients)?
        }
        Sealing::Green(key) => Body::Sealed {
            to: SealedTo::SenderKey(key.id()),
            ciphertext: key.seal(author, &inner)?,
        },
    };
    let content = EnvelopeContent {
        mesh,
        kind: Kind::Incident,
        author: author.team_id(),
        seq,
        created_at,
        tlp,
        thread: None,
        parents: vec![],
        body,
    };
    Ok(seal::sign_envelope(author, &content)?)
}

/// Runs the ingest benchmark over `n` envelopes, `runs` times.
pub fn ingest(n: usize, runs: usize) -> Result<IngestReport> {
    let me = TeamKeys::generate();
    let others: Vec<TeamKeys> = (0..3).map(|_| TeamKeys::generate()).collect();
    let founders_keys: Vec<&TeamKeys> = std::iter::once(&me).chain(others.iter()).collect();
    let founders: Vec<proto::SignedProfile> = founders_keys
        .iter()
        .enumerate()
        .map(|(i, k)| seal::sign_profile(k, &profile(k, &format!("T{i}"))))
        .collect::<Result<_, _>>()?;
    let charter = Charter {
        name: "bench".into(),
        founders: founders.clone(),
        threshold: 2,
        objection_window_ms: None,
        point_of_contact: None,
        created_at: 1,
    };
    let mesh = charter.mesh_id()?;
    // One in ten addressed to the node; the rest to another team.
    let mut envelopes = Vec::with_capacity(n);
    for i in 0..n {
        let author = &others[i % 3];
        let to: Vec<&TeamKeys> = if i % 10 == 0 {
            vec![&me]
        } else {
            vec![&others[(i + 1) % 3]]
        };
        envelopes.push(amber(author, mesh, (i / 3 + 1) as u64, &to)?);
    }
    let profiles: Vec<Profile> = founders_keys
        .iter()
        .enumerate()
        .map(|(i, k)| profile(k, &format!("T{i}")))
        .collect();

    let mut ingest_rates = Vec::new();
    let mut batched_ingest_rates = Vec::new();
    for batched in [false, true] {
        for _ in 0..runs {
            let dir = tempfile::tempdir()?;
            let store = store::Store::open(&dir.path().join("bench.sqlite"))?;
            let (s, a) = me.secrets();
            let keys = TeamKeys::from_secrets(&s, &a)?;
            let mut node = Node::new(
                store,
                keys,
                founders[0].clone(),
                charter.clone(),
                profiles.clone(),
                csirtmesh::now_ms(),
            )?;
            let start = Instant::now();
            if batched {
                let bytes: Vec<Vec<u8>> = envelopes
                    .iter()
                    .map(|e| e.envelope().bytes.clone())
                    .collect();
                for chunk in bytes.chunks(256) {
                    node.ingest_batch(
                        csirtmesh::now_ms(),
                        chunk,
                        Origin::Sync(net::PeerId::random()),
                    );
                }
                batched_ingest_rates.push(n as f64 / start.elapsed().as_secs_f64());
            } else {
                for e in &envelopes {
                    node.ingest(csirtmesh::now_ms(), &e.envelope().bytes, Origin::Local);
                }
                ingest_rates.push(n as f64 / start.elapsed().as_secs_f64());
            }
        }
    }

    // Floors on the same bytes.
    let mut commit_rates = Vec::new();
    let mut batched_rates = Vec::new();
    for _ in 0..runs {
        let dir = tempfile::tempdir()?;
        let conn = rusqlite_free_floor::open(&dir.path().join("raw.sqlite"))?;
        commit_rates.push(rusqlite_free_floor::insert(&conn, &envelopes, 1)?);
        let dir = tempfile::tempdir()?;
        let conn = rusqlite_free_floor::open(&dir.path().join("raw.sqlite"))?;
        batched_rates.push(rusqlite_free_floor::insert(&conn, &envelopes, 1000)?);
    }
    let start = Instant::now();
    for e in &envelopes {
        let _ = seal::verify_envelope(e.envelope().clone());
    }
    let verify_per_s = n as f64 / start.elapsed().as_secs_f64();
    let addressed: Vec<&seal::VerifiedEnvelope> = envelopes.iter().step_by(10).collect();
    let start = Instant::now();
    for e in &addressed {
        let _ = seal::open(e, me.age_identity());
    }
    let open_per_s = addressed.len() as f64 / start.elapsed().as_secs_f64();

    let ingest_per_s = median(ingest_rates);
    let ingest_batched_per_s = median(batched_ingest_rates);
    let commit = median(commit_rates);
    let batched = median(batched_rates);
    // Seconds per envelope at the floor: verify + batched insert + 1/10 open.
    let floor = 1.0 / (1.0 / verify_per_s + 1.0 / batched + 0.1 / open_per_s);
    Ok(IngestReport {
        envelopes: n,
        runs,
        addressed_share: 0.1,
        ingest_per_s,
        ingest_batched_per_s,
        ingest_batched_vs_floor: ingest_batched_per_s / floor,
        sqlite_commit_per_row_per_s: commit,
        sqlite_batched_per_s: batched,
        verify_per_s,
        open_per_s,
        ingest_vs_commit_per_row: ingest_per_s / commit,
        floor_verify_batched_open_per_s: floor,
        ingest_vs_floor: ingest_per_s / floor,
    })
}

/// Raw SQLite inserts of the same bytes, through the store crate's own
/// connection settings (WAL, synchronous=FULL) but none of its logic.
mod rusqlite_free_floor {
    use std::{path::Path, time::Instant};

    use anyhow::Result;

    pub fn open(path: &Path) -> Result<store::RawTable> {
        Ok(store::RawTable::open(path)?)
    }

    /// Inserts every envelope's bytes, `per_commit` rows a transaction;
    /// returns rows/s.
    pub fn insert(
        t: &store::RawTable,
        envelopes: &[seal::VerifiedEnvelope],
        per_commit: usize,
    ) -> Result<f64> {
        let start = Instant::now();
        for chunk in envelopes.chunks(per_commit) {
            let rows: Vec<(&[u8], &[u8])> = chunk
                .iter()
                .map(|e| (e.envelope().id.0.as_slice(), e.envelope().bytes.as_slice()))
                .collect();
            t.insert_batch(&rows)?;
        }
        Ok(envelopes.len() as f64 / start.elapsed().as_secs_f64())
    }
}

/// Seal and open a 1 KiB incident for `counts` recipients, `iters` times each.
pub fn seal(counts: &[usize], iters: usize) -> Result<SealReport> {
    let author = TeamKeys::generate();
    let mut out = Vec::new();
    for &n in counts {
        let teams: Vec<TeamKeys> = (0..n).map(|_| TeamKeys::generate()).collect();
        let refs: Vec<&TeamKeys> = teams.iter().collect();
        let mesh = proto::MeshId([1; 32]);
        let iters = if n >= 100 { iters.min(20) } else { iters };
        let start = Instant::now();
        let mut env = None;
        for i in 0..iters {
            env = Some(amber(&author, mesh, i as u64 + 1, &refs)?);
        }
        let seal_per_s = iters as f64 / start.elapsed().as_secs_f64();
        let env = env.ok_or_else(|| anyhow::anyhow!("no envelope sealed"))?;
        let last = teams
            .last()
            .ok_or_else(|| anyhow::anyhow!("no recipient"))?;
        let start = Instant::now();
        for _ in 0..iters {
            seal::open(&env, last.age_identity())?;
        }
        let open_per_s = iters as f64 / start.elapsed().as_secs_f64();
        let Body::Sealed { ciphertext, .. } = &env.content().body else {
            anyhow::bail!("an AMBER envelope in the clear");
        };
        let recipients: Vec<_> = teams
            .iter()
            .map(|k| seal::parse_recipient(&k.recipient()))
            .collect::<Result<_, _>>()?;
        let start = Instant::now();
        for _ in 0..iters {
            seal::recipient_hints(&author, &recipients, ciphertext)?;
        }
        let hints_us = start.elapsed().as_secs_f64() * 1e6 / iters as f64;
        out.push(SealCase {
            recipients: n,
            seal_per_s,
            open_per_s,
            hints_us,
            bytes: env.envelope().bytes.len(),
        });
    }
    Ok(SealReport(out))
}
