//! Anti-entropy conversations: reconciling with a peer and fetching what is
//! missing.
//!
//! A conversation is a chain of network exchanges, each run as a task in a
//! bounded [`Tasks`] set that only talks to the network and returns one
//! [`SyncResult`]; the loop computes the next step against the node's own
//! set (`csirtmesh-sync`, pure: negentropy). When the reconciliation ends,
//! the ids the node lacks are fetched one batch per task and go through the
//! node's ingest like any gossiped envelope, and the responder is told what
//! it lacks (`SyncRequest::Have`, in batches) and fetches it in turn: only
//! negentropy's initiator learns the differences. At most
//! [`MAX_SYNC_TASKS`] exchanges run at once, and fetches for conversations
//! peers started take at most half of them, so peers cannot crowd out our
//! own; past it a new conversation or a responder's fetch waits for the next
//! round, which brings the same differences again. A task that panics ends
//! its conversation (the peer is synced again later). At shutdown every task is aborted and awaited.

use std::collections::HashMap;

use net::PeerId;
use proto::{
    EnvelopeId,
    sync::{MAX_GET, SyncRequest, SyncResponse},
};
use tokio::task::JoinSet;

use super::{EventLoop, PeerState};
use crate::node::SyncAccess;
use crate::now_ms;

/// Most round trips in one conversation: each splits a mismatched range 16
/// ways, and a difference too large for one frame (`sync::FRAME_LIMIT`,
/// about 16,000 ids) takes one more per frame. Past it, or past
/// [`MAX_LEARNED`] ids, the conversation fetches and tells what it learned
/// so far, and the next one continues from there.
const MAX_ROUNDS: u64 = 64;

/// Network exchanges in flight at once: a conversation has one at a time,
/// so this bounds the peers caught up with concurrently, and the memory
/// their answers (up to 8 MiB each) may take.
pub const MAX_SYNC_TASKS: usize = 32;

/// Fetches one peer's conversations may have in flight at once.
const MAX_FETCHES_PER_PEER: usize = 2;

/// The most ids one conversation learns before it stops to fetch and tell
/// them (a peer cannot fill our memory with ids; a longer difference is
/// taken up by the next conversation).
const MAX_LEARNED: usize = 100_000;

/// The network part of one exchange, done.
pub enum SyncResult {
    /// The peer answered a reconciliation step.
    Reconcile {
        /// The peer.
        peer: PeerId,
        /// Its answer and the answer's size, or the failure in words.
        result: Result<(Vec<u8>, usize), String>,
        /// Bytes we sent.
        bytes_out: usize,
    },
    /// A batch of fetched envelopes.
    Fetched {
        /// The peer.
        peer: PeerId,
        /// The envelopes' bytes, or the failure in words.
        result: Result<Vec<Vec<u8>>, String>,
        /// Ids still to fetch after this batch.
        rest: Vec<EnvelopeId>,
        /// Whether the fetch ends a conversation we started.
        initiated: bool,
    },
    /// The peer was told what it lacks.
    Told {
        /// The peer.
        peer: PeerId,
        /// The failure in words, if any.
        result: Result<(), String>,
    },
}

/// The bounded set of exchanges in flight, each with the peer it is with
/// and whether it belongs to a conversation we started.
#[derive(Default)]
pub struct Tasks {
    set: JoinSet<SyncResult>,
    owners: HashMap<tokio::task::Id, (PeerId, bool)>,
}

impl Tasks {
    /// Whether no exchange is in flight.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    fn is_full(&self) -> bool {
        self.set.len() >= MAX_SYNC_TASKS
    }

    /// Whether a fetch for `peer`'s conversation (not ours) may start: such
    /// fetches get half the slots, and one peer at most
    /// [`MAX_FETCHES_PER_PEER`] of them, so peers that start conversations
    /// (or tell us what we lack and then never answer) cannot crowd out our
    /// own or each other's.
    fn responders_may_start(&self, peer: PeerId) -> bool {
        let theirs = self.owners.values().filter(|(_, ours)| !ours);
        theirs.clone().count() < MAX_SYNC_TASKS / 2
            && theirs.filter(|(p, _)| *p == peer).count() < MAX_FETCHES_PER_PEER
    }

    fn spawn(
        &mut self,
        peer: PeerId,
        ours: bool,
        task: impl std::future::Future<Output = SyncResult> + Send + 'static,
    ) {
        let handle = self.set.spawn(task);
        self.owners.insert(handle.id(), (peer, ours));
    }

    /// The next finished exchange; `None` when none is in flight. A task
    /// that panicked is reported with its peer, so its conversation ends.
    pub async fn next(&mut self) -> Option<SyncResult> {
        match self.set.join_next_with_id().await? {
            Ok((id, r)) => {
                self.owners.remove(&id);
                Some(r)
            }
            Err(e) => {
                tracing::error!(error = %e, "an anti-entropy task failed");
                let (peer, ours) = self.owners.remove(&e.id())?;
                Some(SyncResult::Fetched {
                    peer,
                    result: Err(format!("the exchange failed: {e}")),
                    rest: Vec::new(),
                    initiated: ours,
                })
            }
        }
    }

    /// Aborts every exchange and waits for them to end.
    pub async fn shutdown(&mut self) {
        self.set.shutdown().await;
        self.owners.clear();
    }
}

/// A conversation we started, under way.
#[derive(Clone, Debug, Default)]
pub struct Conversation {
    /// Reconciliation round trips.
    rounds: u64,
    /// Reconciliation bytes, both ways.
    bytes: u64,
    /// Envelopes fetched and accepted.
    fetched: u64,
    /// Ids learned missing, not fetched yet.
    need: Vec<EnvelopeId>,
    /// Ids learned the peer lacks, not told yet.
    have: Vec<EnvelopeId>,
    /// Invalid envelopes the peer served, first reason.
    invalid: Option<String>,
}

impl EventLoop {
    /// Starts a conversation with a random connected member's node that has
    /// none.
    pub(super) fn sync_with_random_peer(&mut self) {
        let idle: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(p, s)| {
                s.conversation.is_none() && self.node.sync_access(p) == SyncAccess::Full
            })
            .map(|(p, _)| *p)
            .collect();
        if !idle.is_empty() {
            let peer = idle[rand::Rng::gen_range(&mut rand::thread_rng(), 0..idle.len())];
            self.start_sync(peer);
        }
    }

    /// Starts a conversation with `peer`, unless one is under way, the task
    /// set is full, or `peer` is not a member's node: the node reconciles
    /// with members only, so a stranger or an applicant that connects learns
    /// nothing of the log by answering (applicants start their own, and are
    /// answered with what joining needs).
    pub(super) fn start_sync(&mut self, peer: PeerId) {
        if self.sync.is_full() || self.node.sync_access(&peer) != SyncAccess::Full {
            return;
        }
        let state = self.peers.entry(peer).or_default();
        if state.conversation.is_some() {
            return;
        }
        state.conversation = Some(Conversation::default());
        match self.node.initiate_sync() {
            Ok(msg) => self.send_reconcile(peer, msg),
            Err(e) => self.sync_done(peer, Err(e.to_string())),
        }
    }

    fn send_reconcile(&mut self, peer: PeerId, msg: Vec<u8>) {
        let net = self.net.clone();
        self.sync.spawn(peer, true, async move {
            let (result, bytes_out) = match SyncRequest::Negentropy(msg).to_bytes() {
                Err(e) => (Err(e.to_string()), 0),
                Ok(bytes) => {
                    let len = bytes.len();
                    let answer = request(&net, peer, bytes)
                        .await
                        .and_then(|(r, size)| match r {
                            SyncResponse::Negentropy(m) => Ok((m, size)),
                            SyncResponse::Refused(why) => Err(format!("refused: {why}")),
                            other => Err(format!(
                                "answered a reconciliation step with {}",
                                kind_of(&other)
                            )),
                        });
                    (answer, len)
                }
            };
            SyncResult::Reconcile {
                peer,
                result,
                bytes_out,
            }
        });
    }

    /// Fetches `ids` from `peer`, one batch per exchange. A responder's
    /// fetch that finds the task set full is dropped: the next round brings
    /// the same differences again.
    pub(super) fn fetch(&mut self, peer: PeerId, mut ids: Vec<EnvelopeId>, initiated: bool) {
        if !initiated
            && !ids.is_empty()
            && (self.sync.is_full() || !self.sync.responders_may_start(peer))
        {
            tracing::debug!(%peer, missing = ids.len(), "anti-entropy busy; fetching next round");
            return;
        }
        // The next batch of ids we still lack, looked up batch by batch (not
        // the whole list again after each batch).
        let (ids, rest) = loop {
            let rest = ids.split_off(ids.len().min(MAX_GET));
            let batch = self.node.missing(ids);
            if !batch.is_empty() || rest.is_empty() {
                break (batch, rest);
            }
            ids = rest;
        };
        if ids.is_empty() {
            if initiated {
                self.conversation_done(peer);
            }
            return;
        }
        let net = self.net.clone();
        self.sync.spawn(peer, initiated, async move {
            let result = match SyncRequest::Get(ids).to_bytes() {
                Err(e) => Err(e.to_string()),
                Ok(bytes) => request(&net, peer, bytes).await.and_then(|(r, _)| match r {
                    SyncResponse::Envelopes(e) => Ok(e),
                    SyncResponse::Refused(why) => Err(format!("refused: {why}")),
                    other => Err(format!("answered a get request with {}", kind_of(&other))),
                }),
            };
            SyncResult::Fetched {
                peer,
                result,
                rest,
                initiated,
            }
        });
    }

    /// The next step after an exchange finished.
    pub(super) fn on_sync_result(&mut self, result: SyncResult) {
        match result {
            SyncResult::Reconcile {
                peer,
                result: Ok((msg, bytes_in)),
                bytes_out,
            } => {
                // An honest peer's answer fits in one frame.
                let step = if bytes_in as u64 > sync::FRAME_LIMIT + 1024 {
                    Err(format!(
                        "answered with {bytes_in} bytes, over the {} frame",
                        sync::FRAME_LIMIT
                    ))
                } else {
                    self.node.reconcile(&msg).map_err(|e| e.to_string())
                };
                let Some(conv) = self.conversation(peer) else {
                    return;
                };
                conv.rounds += 1;
                conv.bytes += (bytes_in + bytes_out) as u64;
                let next = match step {
                    Err(e) => Err(e),
                    Ok(step) => {
                        conv.need.extend(step.need);
                        conv.have.extend(step.have);
                        let learned = conv.need.len() + conv.have.len();
                        match step.reply {
                            Some(next) if conv.rounds < MAX_ROUNDS && learned < MAX_LEARNED => {
                                Ok(Some(next))
                            }
                            // Take up what was learned; the next
                            // conversation goes on from there.
                            Some(_) => {
                                tracing::debug!(%peer, rounds = conv.rounds, learned, "a long difference: fetching what is known so far");
                                Ok(None)
                            }
                            None => Ok(None),
                        }
                    }
                };
                let (need, have) = match next {
                    Ok(None) => (
                        std::mem::take(&mut conv.need),
                        std::mem::take(&mut conv.have),
                    ),
                    _ => (Vec::new(), Vec::new()),
                };
                match next {
                    Err(e) => self.sync_done(peer, Err(e)),
                    Ok(Some(msg)) => self.send_reconcile(peer, msg),
                    Ok(None) => {
                        self.tell(peer, have);
                        self.fetch(peer, need, true);
                    }
                }
            }
            SyncResult::Reconcile {
                peer,
                result: Err(e),
                ..
            } => self.sync_done(peer, Err(e)),
            SyncResult::Told { result: Ok(()), .. } => {}
            SyncResult::Told {
                peer,
                result: Err(e),
            } => tracing::debug!(%peer, error = %e, "could not tell a peer what it lacks"),
            SyncResult::Fetched {
                peer,
                result: Err(e),
                initiated,
                ..
            } => {
                if initiated {
                    self.sync_done(peer, Err(e));
                } else {
                    tracing::debug!(%peer, error = %e, "fetch after answering a sync failed");
                }
            }
            SyncResult::Fetched {
                peer,
                result: Ok(envelopes),
                rest,
                initiated,
            } => {
                let fetched = self.node.ingest_fetched(now_ms(), peer, envelopes);
                // Junk served by sync counts against the peer, by the same
                // rule as by gossip: any refusal blames a non-member's node.
                let blamed = if self.node.sync_access(&peer) == SyncAccess::Full {
                    fetched.rejected
                } else {
                    fetched.refused
                };
                for _ in 0..blamed {
                    self.penalise(peer);
                }
                if initiated && let Some(conv) = self.conversation(peer) {
                    conv.fetched += fetched.accepted;
                    if conv.invalid.is_none() {
                        conv.invalid = fetched.invalid;
                    }
                }
                self.fetch(peer, rest, initiated);
            }
        }
    }

    /// Tells `peer` which of our envelopes it lacks (learned reconciling),
    /// in batches of [`MAX_GET`] in one task; it fetches them. Dropped when
    /// the task set is full: the next round finds the same differences.
    fn tell(&mut self, peer: PeerId, have: Vec<EnvelopeId>) {
        if have.is_empty() || self.sync.is_full() {
            return;
        }
        let net = self.net.clone();
        self.sync.spawn(peer, true, async move {
            for batch in have.chunks(MAX_GET) {
                let bytes = match SyncRequest::Have(batch.to_vec()).to_bytes() {
                    Ok(b) => b,
                    Err(e) => {
                        return SyncResult::Told {
                            peer,
                            result: Err(e.to_string()),
                        };
                    }
                };
                let answer = request(&net, peer, bytes).await.and_then(|(r, _)| match r {
                    SyncResponse::Noted => Ok(()),
                    SyncResponse::Refused(why) => Err(format!("refused: {why}")),
                    other => Err(format!("answered what it lacks with {}", kind_of(&other))),
                });
                if let Err(e) = answer {
                    return SyncResult::Told {
                        peer,
                        result: Err(e),
                    };
                }
            }
            SyncResult::Told {
                peer,
                result: Ok(()),
            }
        });
    }

    fn conversation(&mut self, peer: PeerId) -> Option<&mut Conversation> {
        self.peers.get_mut(&peer)?.conversation.as_mut()
    }

    /// A conversation fetched everything: it ends well unless the peer
    /// served invalid envelopes.
    fn conversation_done(&mut self, peer: PeerId) {
        let invalid = self.conversation(peer).and_then(|c| c.invalid.clone());
        match invalid {
            Some(why) => self.sync_done(peer, Err(why)),
            None => self.sync_done(peer, Ok(())),
        }
    }

    fn sync_done(&mut self, peer: PeerId, result: Result<(), String>) {
        let Some(state): Option<&mut PeerState> = self.peers.get_mut(&peer) else {
            return;
        };
        let Some(conv) = state.conversation.take() else {
            return;
        };
        let last = &mut state.last_sync;
        last.fetched = conv.fetched;
        last.rounds = conv.rounds;
        last.bytes = conv.bytes;
        match result {
            Ok(()) => {
                last.last_ok = Some(now_ms());
                if conv.fetched > 0 {
                    tracing::info!(%peer, fetched = conv.fetched, rounds = conv.rounds, bytes = conv.bytes, "caught up by anti-entropy");
                }
                match self.node.synced_with(now_ms(), &peer) {
                    // Caught up after a restore: a newer profile the backup
                    // held (an interrupted age key change) goes out now.
                    Ok(true) => {
                        if let Err(e) = self.node.join_if_needed(now_ms()) {
                            tracing::warn!(error = %e, "cannot publish this team's profile");
                        }
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(%peer, error = %e, "cannot record catching up after the restore");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(%peer, error = %e, "sync failed");
                last.last_error = Some(e);
            }
        }
    }
}

/// What kind of answer came, for a message about an unexpected one.
fn kind_of(r: &SyncResponse) -> &'static str {
    match r {
        SyncResponse::Negentropy(_) => "a reconciliation step",
        SyncResponse::Noted => "a note",
        SyncResponse::Envelopes(_) => "envelopes",
        SyncResponse::Refused(_) => "a refusal",
    }
}

/// One request over the sync protocol; the decoded answer and its size.
async fn request(
    net: &net::Client,
    peer: PeerId,
    bytes: Vec<u8>,
) -> Result<(SyncResponse, usize), String> {
    let answer = net.request(peer, bytes).await.map_err(|e| e.to_string())?;
    let size = answer.len();
    SyncResponse::from_bytes(&answer)
        .map(|r| (r, size))
        .map_err(|e| format!("malformed answer: {e}"))
}
