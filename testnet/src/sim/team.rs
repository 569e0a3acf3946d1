//! One simulated team, and sampling deliveries: each team checks what gossip
//! brings as a node does before relaying it, and records what it opened and
//! when.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use net::{Event, Validation};
use proto::{Body, Envelope, EnvelopeId, KeyId, SealedTo, TeamId};
use seal::{SenderKey, TeamKeys};

use super::Delivery;
use crate::bench_gossip::LatencyMs;

/// How long one publication may take to reach everyone.
pub(super) const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// When each team opened each envelope, µs after the epoch.
type Opened = Mutex<HashMap<EnvelopeId, Vec<(usize, u64)>>>;

/// What every simulated team shares read-only (as if each had its own copy).
pub(super) struct Shared {
    /// Each member's age recipient, for recipient hints.
    pub(super) members: HashMap<TeamId, seal::AgeRecipient>,
    pub(super) sender_keys: HashMap<KeyId, SenderKey>,
    pub(super) epoch: Instant,
    pub(super) opened: Opened,
}

/// Publishes `messages` at `rate` per second, then waits (bounded) until
/// each reached every team of `to`; latency and ideal samples (ms) over all
/// of them, and how many deliveries happened.
pub(super) async fn deliver_samples(
    shared: &Shared,
    author: &net::Client,
    messages: Vec<(EnvelopeId, Vec<u8>)>,
    rate: f64,
    to: &[usize],
    hops: &[Option<usize>],
    latency_ms: u64,
) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let mut sent = Vec::with_capacity(messages.len());
    for (i, (id, bytes)) in messages.into_iter().enumerate() {
        tokio::time::sleep_until((start + interval.mul_f64(i as f64)).into()).await;
        sent.push((id, shared.epoch.elapsed().as_micros() as u64));
        author
            .publish(bytes)
            .await
            .context("publishing into the simulated mesh")?;
    }
    let wanted: HashSet<usize> = to.iter().copied().collect();
    let opened_by_wanted = |o: &HashMap<EnvelopeId, Vec<(usize, u64)>>, id: &EnvelopeId| {
        o.get(id)
            .into_iter()
            .flatten()
            .filter(|(t, _)| wanted.contains(t))
            .copied()
            .collect::<Vec<_>>()
    };
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    loop {
        let done = shared.opened.lock().is_ok_and(|o| {
            sent.iter().all(|(id, _)| {
                o.get(id)
                    .map_or(0, |v| v.iter().filter(|(t, _)| wanted.contains(t)).count())
                    >= wanted.len()
            })
        });
        if done || Instant::now() > deadline {
            break;
        }
        // Not more often: the teams record openings under the same lock, and
        // polling every 20 ms measurably raised the load's p99 at 300 teams.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut latencies, mut ideal) = (Vec::new(), Vec::new());
    if let Ok(o) = shared.opened.lock() {
        for (id, sent_us) in &sent {
            for (team, at_us) in opened_by_wanted(&o, id) {
                latencies.push(at_us.saturating_sub(*sent_us) as f64 / 1000.0);
                if let Some(Some(h)) = hops.get(team) {
                    ideal.push((*h as u64 * latency_ms) as f64);
                }
            }
        }
    }
    let got = latencies.len();
    Ok((latencies, ideal, got))
}

pub(super) fn summary(
    published: usize,
    latencies: Vec<f64>,
    ideal: Vec<f64>,
    got: usize,
    wanted: usize,
) -> Delivery {
    let latency_ms = LatencyMs::of(latencies);
    let ideal_latency_ms = LatencyMs::of(ideal);
    Delivery {
        published,
        delivery_ratio: got as f64 / wanted.max(1) as f64,
        p99_vs_ideal: if ideal_latency_ms.p99 > 0.0 {
            latency_ms.p99 / ideal_latency_ms.p99
        } else {
            0.0
        },
        latency_ms,
        ideal_latency_ms,
    }
}

/// One simulated team: checks each gossip message as a node does, answers
/// gossipsub, and records what it could open.
pub(super) async fn team_loop(
    index: usize,
    keys: TeamKeys,
    client: net::Client,
    mut events: tokio::sync::mpsc::Receiver<Event>,
    shared: Arc<Shared>,
) {
    let mut seen: HashSet<EnvelopeId> = HashSet::new();
    while let Some(event) = events.recv().await {
        let Event::Gossip {
            message_id,
            source,
            data,
        } = event
        else {
            continue;
        };
        let verdict = match check(&data, &keys, &shared) {
            Err(()) => Validation::Reject,
            Ok((id, _)) if !seen.insert(id) => Validation::Ignore,
            Ok((id, opened)) => {
                if opened {
                    let at = shared.epoch.elapsed().as_micros() as u64;
                    if let Ok(mut o) = shared.opened.lock() {
                        o.entry(id).or_default().push((index, at));
                    }
                }
                Validation::Accept
            }
        };
        if client.validate(message_id, source, verdict).is_err() {
            break;
        }
    }
}

/// Decode, membership, signature, then open if possible (with the sender
/// key, or by recipient hint and age): `(id, opened)`.
fn check(data: &[u8], keys: &TeamKeys, shared: &Shared) -> Result<(EnvelopeId, bool), ()> {
    let envelope = Envelope::decode(data).map_err(|_| ())?;
    let author = envelope.content.author;
    let Some(recipient) = shared.members.get(&author) else {
        return Err(());
    };
    let verified = seal::verify_envelope(envelope).map_err(|_| ())?;
    let id = verified.envelope().id;
    let opened = match &verified.content().body {
        Body::Sealed {
            to: SealedTo::SenderKey(kid),
            ..
        } => shared
            .sender_keys
            .get(kid)
            .is_some_and(|k| seal::open(&verified, k.identity()).is_ok()),
        Body::Sealed {
            to: SealedTo::Teams { .. },
            ..
        } => {
            keys.hint_key(recipient)
                .is_ok_and(|k| seal::addressed_to(&verified, &k))
                && seal::open(&verified, keys.age_identity()).is_ok()
        }
        _ => false,
    };
    Ok((id, opened))
}
