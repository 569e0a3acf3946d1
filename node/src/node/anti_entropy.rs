//! What anti-entropy sees of the node: the reconciliation set, answers to
//! peers' sync requests, and ingesting what a fetch brought. The
//! conversations themselves (who to talk to, round trips, fetch tasks) are
//! the loop's (`crate::event_loop::anti_entropy`).

use mesh_core::Verdict;
use net::PeerId;
use proto::{
    Envelope, EnvelopeId,
    sync::{MAX_GET, MAX_SYNC_BYTES, SyncRequest, SyncResponse},
};

use super::{Node, Origin};

/// Room kept free in a sync answer for its framing.
const ANSWER_HEADROOM: usize = 1024;

/// Per-envelope framing in a sync answer, counted against its size.
const PER_ENVELOPE_FRAMING: usize = 16;

/// What a peer's node may see of the envelope log by sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncAccess {
    /// Nothing: its team was removed.
    Refused(&'static str),
    /// An applicant's node, or one whose team this node does not know yet
    /// (an applicant whose join request gossip lost): what joining needs
    /// (profiles and membership acts, which gossip shows any subscriber
    /// anyway), never the log of incidents or its ids. Reconciling over it
    /// is how a lost join request still reaches the members.
    Joining,
    /// A member's node: everything.
    Full,
}

/// What a batch of fetched envelopes came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Envelopes accepted.
    pub accepted: u64,
    /// Envelopes refused for a fault every node sees (they count against
    /// the peer, as junk by gossip does).
    pub rejected: u32,
    /// Envelopes refused for any reason (they count against a peer that is
    /// not a member's node, as by gossip).
    pub refused: u32,
    /// Envelopes the peer served that were invalid, with the first reason.
    pub invalid: Option<String>,
}

/// The most ids a node that is not a member's may tell us of at once.
const MAX_HAVE_JOINING: usize = 8;

impl Node {
    /// The `(created_at, id)` keys of every stored envelope.
    pub fn sync_set(&self) -> &sync::Set {
        &self.sync_set
    }

    /// Our step on the peer's answer in a reconciliation we started.
    pub fn reconcile(&self, answer: &[u8]) -> Result<sync::Step, sync::Error> {
        sync::reconcile(&self.sync_set, answer)
    }

    /// Our answer to a peer's reconciliation message, against what
    /// `access` may see.
    fn respond_for(&self, access: SyncAccess, msg: &[u8]) -> Result<Vec<u8>, sync::Error> {
        let set = match access {
            SyncAccess::Full => &self.sync_set,
            _ => &self.joining_set,
        };
        sync::respond(set, msg)
    }

    /// What `peer`'s node may see of the log: the whole log for members'
    /// nodes; what joining needs for applicants' and unknown nodes; nothing
    /// for removed teams'. The loop starts conversations only with members'
    /// nodes, so a stranger that connects is sent nothing by sync.
    pub fn sync_access(&self, peer: &PeerId) -> SyncAccess {
        let node = peer.to_bytes();
        // Members' own profiles first: an applicant or a removed team that
        // lists a member's node id in its profile cannot take it over.
        if self.members.members().any(|p| p.peers.contains(&node)) {
            return SyncAccess::Full;
        }
        let Some(team) = self.members.team_of_node(&node) else {
            return SyncAccess::Joining;
        };
        if self
            .members
            .removed()
            .contains_key(&self.members.canon(&team))
        {
            SyncAccess::Refused("this team was removed from the mesh")
        } else {
            SyncAccess::Joining
        }
    }

    /// The first message of a reconciliation we start.
    pub fn initiate_sync(&self) -> Result<Vec<u8>, sync::Error> {
        sync::initiate(&self.sync_set)
    }

    /// Ids among `ids` this node does not hold.
    pub fn missing(&self, mut ids: Vec<EnvelopeId>) -> Vec<EnvelopeId> {
        ids.retain(|id| !self.store.contains(id).unwrap_or(false));
        ids
    }

    /// Answers a peer's sync request, and returns the ids the exchange
    /// shows we lack (the loop fetches them).
    pub fn answer_sync(
        &mut self,
        now: u64,
        peer: PeerId,
        data: &[u8],
    ) -> (SyncResponse, Vec<EnvelopeId>) {
        // The log shows who wrote what, when, under which label: serve it
        // to members' nodes only; others get what joining needs.
        let access = self.sync_access(&peer);
        if let SyncAccess::Refused(why) = access {
            return (SyncResponse::Refused(why.into()), vec![]);
        }
        let request = match SyncRequest::from_bytes(data) {
            Ok(r) => r,
            Err(e) => {
                return (
                    SyncResponse::Refused(format!("malformed request: {e}")),
                    vec![],
                );
            }
        };
        match request {
            // A conforming initiator never sends more than a frame.
            SyncRequest::Negentropy(msg) if msg.len() as u64 > sync::FRAME_LIMIT + 1024 => (
                SyncResponse::Refused(format!(
                    "a reconciliation message of {} bytes, over the {} frame",
                    msg.len(),
                    sync::FRAME_LIMIT
                )),
                vec![],
            ),
            SyncRequest::Negentropy(msg) => match self.respond_for(access, &msg) {
                Err(e) => (SyncResponse::Refused(e.to_string()), vec![]),
                Ok(reply) => (SyncResponse::Negentropy(reply), vec![]),
            },
            SyncRequest::Get(ids) => (self.serve(now, access, ids), vec![]),
            // What the asker found we lack: we fetch it from the asker (and
            // ingest checks every envelope like a gossiped one).
            // A node that may see only what joining needs tells of its own
            // join request and little else: a long list from it would probe
            // which ids our store holds.
            SyncRequest::Have(ids)
                if access != SyncAccess::Full && ids.len() > MAX_HAVE_JOINING =>
            {
                (
                    SyncResponse::Refused(format!(
                        "told of {} envelopes, at most {MAX_HAVE_JOINING} from a node that is not a member's",
                        ids.len()
                    )),
                    vec![],
                )
            }
            SyncRequest::Have(ids) if ids.len() > MAX_GET => (
                SyncResponse::Refused(format!(
                    "told of {} envelopes, at most {MAX_GET}",
                    ids.len()
                )),
                vec![],
            ),
            // The loop's fetch looks up which of them we lack.
            SyncRequest::Have(ids) => (SyncResponse::Noted, ids),
        }
    }

    /// The envelopes asked for, as many as fit under the frame limit (the
    /// asker comes back for the rest); a damaged row is never served.
    fn serve(&mut self, now: u64, access: SyncAccess, ids: Vec<EnvelopeId>) -> SyncResponse {
        if ids.len() > MAX_GET {
            return SyncResponse::Refused(format!(
                "asked for {} envelopes, at most {MAX_GET}",
                ids.len()
            ));
        }
        let mut out = Vec::with_capacity(ids.len());
        let mut total = 0usize;
        for id in ids {
            if let Ok(Some(s)) = self.get_intact(now, &id) {
                if access != SyncAccess::Full && !joining_record(&s.bytes) {
                    continue;
                }
                let size = s.bytes.len() + PER_ENVELOPE_FRAMING;
                if total + size > MAX_SYNC_BYTES - ANSWER_HEADROOM {
                    break;
                }
                total += size;
                out.push(s.bytes);
            }
        }
        SyncResponse::Envelopes(out)
    }

    /// Ingests fetched envelopes in clock order (key shares tend to come
    /// before what they open, roots before replies), in one transaction
    /// (group commit); each envelope is still validated on its own.
    pub fn ingest_fetched(&mut self, now: u64, peer: PeerId, envelopes: Vec<Vec<u8>>) -> Fetched {
        let mut keyed: Vec<(u64, Vec<u8>)> = envelopes
            .into_iter()
            .map(|b| {
                let at = Envelope::decode(&b).map_or(0, |e| e.content.created_at);
                (at, b)
            })
            .collect();
        keyed.sort_by_key(|(t, _)| *t);
        let bytes: Vec<Vec<u8>> = keyed.into_iter().map(|(_, b)| b).collect();
        let mut out = Fetched::default();
        let mut invalid = Vec::new();
        for verdict in self.ingest_batch(now, &bytes, Origin::Sync(peer)) {
            match verdict {
                Verdict::Accept => out.accepted += 1,
                Verdict::Reject(r) => {
                    out.refused += 1;
                    if r.blames_sender() {
                        out.rejected += 1;
                    }
                    invalid.push(r.to_string());
                }
                Verdict::Ignore(_) => {}
            }
        }
        self.counters.synced_in += out.accepted;
        out.invalid = invalid
            .first()
            .map(|r| format!("{} invalid envelopes, first: {r}", invalid.len()));
        out
    }
}

/// Whether wire bytes hold a record an applicant may see: a profile or a
/// membership act.
fn joining_record(bytes: &[u8]) -> bool {
    Envelope::decode(bytes).is_ok_and(|e| {
        matches!(
            e.content.kind,
            proto::Kind::Profile | proto::Kind::Membership
        )
    })
}
