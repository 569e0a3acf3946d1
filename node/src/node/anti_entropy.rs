//! Anti-entropy: reconciling with a peer and fetching what is missing.
//!
//! A conversation with a peer runs as a chain of short tasks that only talk
//! to the network; each result comes back to the node's loop as a
//! [`SyncResult`], where the next reconciliation step is computed against the
//! node's own key set (`csirtmesh-sync`, pure). When the conversation ends,
//! the ids the node lacks are fetched in batches and go through
//! [`Node::ingest`] like any gossiped envelope. The responding side learns
//! what it lacks from the same exchange and fetches it too.

use proto::sync::{Bound, Mode, Range, Reconcile};

use super::*;

/// Most round trips in one conversation. Each splits a mismatched range 16
/// ways, so 12 cover 16^12 keys; a peer that never settles is cut off.
const MAX_ROUNDS: u64 = 12;

/// A finished network part of a sync exchange.
pub enum SyncResult {
    /// The peer answered a reconciliation step.
    Reconcile {
        /// The peer.
        peer: PeerId,
        /// Its answer and the answer's size, or the failure in words.
        result: Result<(Reconcile, usize), String>,
        /// Bytes we sent.
        bytes_out: usize,
    },
    /// A batch of fetched envelopes.
    Fetched {
        /// The peer.
        peer: PeerId,
        /// The envelopes' bytes, or the failure in words.
        result: Result<Vec<Vec<u8>>, String>,
        /// Whether this is the last batch of the fetch.
        last: bool,
        /// Whether the fetch ends a conversation we started.
        initiated: bool,
    },
}

/// What one conversation exchanged.
#[derive(Clone, Debug, Default)]
pub struct Conversation {
    /// Reconciliation round trips.
    pub rounds: u64,
    /// Reconciliation bytes, both ways.
    pub bytes: u64,
    /// Envelopes fetched and accepted.
    pub fetched: u64,
    /// Ids learned missing, not fetched yet.
    need: Vec<EnvelopeId>,
    /// Invalid envelopes the peer served, first reason.
    invalid: Option<String>,
}

impl Node {
    fn sync_config() -> sync::Config {
        sync::Config::default()
    }

    /// Answers a peer's sync request (and, as a responder, starts fetching
    /// what the exchange shows we lack).
    pub(super) fn answer_sync(&mut self, peer: PeerId, data: &[u8]) -> SyncResponse {
        // The log shows who wrote what, when, under which label: serve it
        // only to nodes of teams this node knows (members, and applicants,
        // which need the membership records to see their own admission).
        let Some(team) = self.members.team_of_node(&peer.to_bytes()) else {
            return SyncResponse::Refused(
                "this node serves the nodes of known teams only (send your join request first)"
                    .into(),
            );
        };
        if self
            .members
            .removed()
            .contains_key(&self.members.canon(&team))
        {
            return SyncResponse::Refused("this team was removed from the mesh".into());
        }
        let request = match SyncRequest::from_bytes(data) {
            Ok(r) => r,
            Err(e) => return SyncResponse::Refused(format!("malformed request: {e}")),
        };
        match request {
            SyncRequest::Reconcile(msg) => {
                match sync::reconcile(&self.sync_set, &msg, &Self::sync_config()) {
                    Err(e) => SyncResponse::Refused(e.to_string()),
                    Ok(step) => {
                        if !step.need.is_empty() {
                            self.fetch(peer, step.need, false);
                        }
                        SyncResponse::Reconcile(step.reply.unwrap_or_else(|| Reconcile {
                            ranges: vec![Range {
                                upper: Bound::End,
                                mode: Mode::Skip,
                            }],
                        }))
                    }
                }
            }
            SyncRequest::Get(ids) => {
                if ids.len() > MAX_GET {
                    return SyncResponse::Refused(format!(
                        "asked for {} envelopes, at most {MAX_GET}",
                        ids.len()
                    ));
                }
                let mut out = Vec::with_capacity(ids.len());
                let mut total = 0usize;
                for id in ids {
                    if let Ok(Some(s)) = self.store.get(&id) {
                        // Keep the answer under the frame limit; the asker comes back.
                        if total + s.bytes.len() + 16 > MAX_SYNC_BYTES - 1024 {
                            break;
                        }
                        total += s.bytes.len() + 16;
                        out.push(s.bytes);
                    }
                }
                SyncResponse::Envelopes(out)
            }
        }
    }

    /// Starts a conversation with a random connected peer that has none.
    pub(super) fn sync_with_random_peer(&mut self) {
        let idle: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, s)| !s.sync_in_flight)
            .map(|(p, _)| *p)
            .collect();
        if !idle.is_empty() {
            let peer = idle[rand::Rng::gen_range(&mut rand::thread_rng(), 0..idle.len())];
            self.start_sync(peer);
        }
    }

    /// Starts a conversation with `peer`, unless one is under way.
    pub(super) fn start_sync(&mut self, peer: PeerId) {
        let state = self.peers.entry(peer).or_default();
        if state.sync_in_flight {
            return;
        }
        state.sync_in_flight = true;
        state.conversation = Conversation::default();
        let msg = sync::initiate(&self.sync_set);
        self.send_reconcile(peer, msg);
    }

    fn send_reconcile(&mut self, peer: PeerId, msg: Reconcile) {
        let net = self.net.clone();
        let results = self.sync_results.clone();
        tokio::spawn(async move {
            let (result, bytes_out) = match SyncRequest::Reconcile(msg).to_bytes() {
                Err(e) => (Err(e.to_string()), 0),
                Ok(bytes) => {
                    let len = bytes.len();
                    let r = match net.request(peer, bytes).await {
                        Err(e) => Err(e.to_string()),
                        Ok(answer) => match SyncResponse::from_bytes(&answer) {
                            Ok(SyncResponse::Reconcile(m)) => Ok((m, answer.len())),
                            Ok(SyncResponse::Refused(why)) => Err(format!("refused: {why}")),
                            Ok(SyncResponse::Envelopes(_)) => {
                                Err("answered a reconciliation step with envelopes".into())
                            }
                            Err(e) => Err(format!("malformed answer: {e}")),
                        },
                    };
                    (r, len)
                }
            };
            let _ = results
                .send(SyncResult::Reconcile {
                    peer,
                    result,
                    bytes_out,
                })
                .await;
        });
    }

    /// Fetches `ids` from `peer` in batches; results come back as
    /// [`SyncResult::Fetched`].
    fn fetch(&mut self, peer: PeerId, mut ids: Vec<EnvelopeId>, initiated: bool) {
        ids.retain(|id| !self.store.contains(id).unwrap_or(false));
        let net = self.net.clone();
        let results = self.sync_results.clone();
        tokio::spawn(async move {
            let batches: Vec<Vec<EnvelopeId>> =
                ids.chunks(MAX_GET).map(<[EnvelopeId]>::to_vec).collect();
            if batches.is_empty() {
                let _ = results
                    .send(SyncResult::Fetched {
                        peer,
                        result: Ok(vec![]),
                        last: true,
                        initiated,
                    })
                    .await;
                return;
            }
            let n = batches.len();
            for (i, batch) in batches.into_iter().enumerate() {
                let r = request(&net, peer, &SyncRequest::Get(batch))
                    .await
                    .and_then(|resp| match resp {
                        SyncResponse::Envelopes(e) => Ok(e),
                        SyncResponse::Refused(why) => Err(format!("refused: {why}")),
                        SyncResponse::Reconcile(_) => {
                            Err("answered a get request with a reconciliation step".into())
                        }
                    });
                let failed = r.is_err();
                let last = failed || i + 1 == n;
                let _ = results
                    .send(SyncResult::Fetched {
                        peer,
                        result: r,
                        last,
                        initiated,
                    })
                    .await;
                if failed {
                    break;
                }
            }
        });
    }

    pub(super) fn on_sync_result(&mut self, result: SyncResult) {
        match result {
            SyncResult::Reconcile {
                peer,
                result: Ok((msg, bytes_in)),
                bytes_out,
            } => {
                let step = sync::reconcile(&self.sync_set, &msg, &Self::sync_config());
                let Some(state) = self.peers.get_mut(&peer) else {
                    return;
                };
                let conv = &mut state.conversation;
                conv.rounds += 1;
                conv.bytes += (bytes_in + bytes_out) as u64;
                match step {
                    Err(e) => self.sync_done(peer, Err(e.to_string())),
                    Ok(step) => {
                        conv.need.extend(step.need);
                        match step.reply {
                            Some(next) if conv.rounds < MAX_ROUNDS => {
                                self.send_reconcile(peer, next)
                            }
                            Some(_) => self.sync_done(
                                peer,
                                Err(format!("did not settle within {MAX_ROUNDS} round trips")),
                            ),
                            None => {
                                let need = std::mem::take(&mut conv.need);
                                self.fetch(peer, need, true);
                            }
                        }
                    }
                }
            }
            SyncResult::Reconcile {
                peer,
                result: Err(e),
                ..
            } => self.sync_done(peer, Err(e)),
            SyncResult::Fetched {
                peer,
                result,
                last,
                initiated,
            } => {
                let (fetched, invalid) = match result {
                    Ok(envelopes) => self.ingest_fetched(peer, envelopes),
                    Err(e) => {
                        if initiated {
                            self.sync_done(peer, Err(e));
                        } else {
                            tracing::debug!(%peer, error = %e, "fetch after answering a sync failed");
                        }
                        return;
                    }
                };
                if let Some(state) = self.peers.get_mut(&peer) {
                    let conv = &mut state.conversation;
                    if initiated {
                        conv.fetched += fetched;
                        if conv.invalid.is_none() {
                            conv.invalid = invalid;
                        }
                    }
                }
                if initiated && last {
                    let conv = self
                        .peers
                        .get(&peer)
                        .map(|s| s.conversation.clone())
                        .unwrap_or_default();
                    match conv.invalid {
                        Some(why) => self.sync_done(peer, Err(why)),
                        None => self.sync_done(peer, Ok(())),
                    }
                }
            }
        }
    }

    /// Ingests fetched envelopes in clock order (key shares tend to come
    /// before what they open, roots before replies). Returns how many were
    /// accepted and the first invalid one's reason.
    fn ingest_fetched(&mut self, peer: PeerId, envelopes: Vec<Vec<u8>>) -> (u64, Option<String>) {
        let mut decoded: Vec<(u64, Vec<u8>)> = envelopes
            .into_iter()
            .map(|b| {
                (
                    Envelope::decode(&b)
                        .map(|e| e.content.created_at)
                        .unwrap_or(0),
                    b,
                )
            })
            .collect();
        decoded.sort_by_key(|(t, _)| *t);
        let (mut fetched, mut invalid) = (0, Vec::new());
        let bytes: Vec<Vec<u8>> = decoded.into_iter().map(|(_, b)| b).collect();
        // One transaction for the batch (group commit); each envelope is
        // still validated on its own.
        for verdict in self.ingest_batch(&bytes, Origin::Sync(peer)) {
            match verdict {
                Verdict::Accept => fetched += 1,
                Verdict::Reject(r) => invalid.push(r.to_string()),
                Verdict::Ignore(_) => {}
            }
        }
        self.counters.synced_in += fetched;
        let first = invalid
            .first()
            .map(|r| format!("{} invalid envelopes, first: {r}", invalid.len()));
        (fetched, first)
    }

    fn sync_done(&mut self, peer: PeerId, result: Result<(), String>) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        state.sync_in_flight = false;
        let conv = std::mem::take(&mut state.conversation);
        match result {
            Ok(()) => {
                state.last_sync_ok = Some(now_ms());
                if conv.fetched > 0 {
                    tracing::info!(%peer, fetched = conv.fetched, rounds = conv.rounds, bytes = conv.bytes, "caught up by anti-entropy");
                }
                state.last_sync = conv;
            }
            Err(e) => {
                tracing::warn!(%peer, error = %e, "sync failed");
                state.last_sync_error = Some(e);
                state.last_sync = conv;
            }
        }
    }
}

async fn request(
    net: &net::Client,
    peer: PeerId,
    req: &SyncRequest,
) -> Result<SyncResponse, String> {
    let bytes = req.to_bytes().map_err(|e| e.to_string())?;
    let answer = net.request(peer, bytes).await.map_err(|e| e.to_string())?;
    SyncResponse::from_bytes(&answer).map_err(|e| format!("malformed answer: {e}"))
}
