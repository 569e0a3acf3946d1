//! Membership from this node's side: the member view recomputed from the
//! records it holds, this team's join request, its acts (vouch, object,
//! suspend, revoke).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use mesh_core::{Membership, membership::Record};
use proto::{Body, Envelope, Kind, MembershipAct, TeamId, Tlp};

use super::{Effect, Node, publish::published};
use crate::api::{ApiError, types::*, views};

/// How long an endorsement counts toward an admission unless told otherwise.
const DEFAULT_ENDORSEMENT_DAYS: u64 = 30;

/// The longest an endorsement may count: a year and a day.
const MAX_ENDORSEMENT_DAYS: u64 = 366;

/// How long an invitation stays open unless told otherwise.
const DEFAULT_INVITATION_DAYS: u64 = 14;

const DAY_MS: u64 = 24 * 3600 * 1000;

impl Node {
    /// Loads the verified profiles and membership acts from the log (the
    /// source of truth), once at start; later ones are added as accepted.
    pub(super) fn load_membership_records(&mut self, now: u64) -> Result<()> {
        let profiles = self.store.by_kind(Kind::Profile)?;
        for s in self.keep_intact(now, profiles) {
            self.joining_set.insert((s.created_at, s.id));
            let env = Envelope::decode(&s.bytes).context("stored profile envelope")?;
            if let Body::Clear(b) = &env.content.body
                && let Ok(sp) = proto::SignedProfile::from_bytes(b)
                && let Ok(p) = seal::verify_profile(&sp)
            {
                self.note_recipient(&p);
                self.profiles.push(p);
            }
        }
        let acts = self.store.by_kind(Kind::Membership)?;
        for s in self.keep_intact(now, acts) {
            self.joining_set.insert((s.created_at, s.id));
            let env = Envelope::decode(&s.bytes).context("stored membership envelope")?;
            if let Some(r) = record_of(&env) {
                self.records.push(r);
            }
        }
        Ok(())
    }

    /// Recomputes the member view from the rules, profiles and acts held,
    /// logs who was admitted or removed since the last computation, and
    /// tells the loop which nodes are admitted (members' may use our relay;
    /// applicants' may stay connected; others are strangers).
    pub fn rebuild_membership(&mut self, now: u64) -> Result<()> {
        let next = Membership::compute_with_forks(
            &self.rules,
            self.profiles.iter().cloned(),
            &self.records,
            &self.forks,
            now,
        );
        self.enforce_cuts(&self.members.cuts(), &next)?;
        let name = |t: &TeamId| {
            next.profile(t)
                .map_or_else(|| t.short(), |p| p.name.clone())
        };
        if !self.members.is_empty() {
            for t in next.member_ids().filter(|t| !self.members.is_member(t)) {
                tracing::info!(team = %name(t), "admitted to the mesh");
            }
        }
        for (t, r) in next
            .removed()
            .iter()
            .filter(|(t, _)| !self.members.removed().contains_key(t))
        {
            tracing::warn!(team = %name(t), removal = ?r.removal, "removed from the mesh");
        }
        // Claims on our networks, however they came (a new profile, or an
        // applicant admitted with one): told once per new overlap.
        let overlaps = |m: &Membership| mesh_core::directory::overlaps(m.members(), &self.me);
        let before = overlaps(&self.members);
        let mut new: BTreeMap<TeamId, Vec<String>> = BTreeMap::new();
        if !self.members.is_empty() {
            for o in overlaps(&next).into_iter().filter(|o| !before.contains(o)) {
                new.entry(o.theirs.team)
                    .or_default()
                    .push(format!("{} (ours: {})", o.theirs.entry, o.ours));
            }
        }
        for (t, claims) in new {
            tracing::warn!(team = %name(&t), claims = %claims.join(", "), "a member claims networks overlapping this team's constituency: reports about the more specific part go to the more specific claim (`csirtmesh status` lists every overlap)");
        }
        self.members = next;
        self.membership_at = now;
        let nodes = |ids: &[Vec<u8>]| {
            ids.iter()
                .filter_map(|b| net::peer_id_from_bytes(b))
                .collect::<Vec<_>>()
        };
        let members = self
            .members
            .members()
            .flat_map(|p| nodes(&p.peers))
            .collect();
        // Applicants' nodes: from their profiles, and those their
        // invitations name (welcome before the join request arrives).
        let applicants = self
            .members
            .applicants()
            .iter()
            .flat_map(|(t, a)| {
                let listed = self.members.profile(t).map(|p| nodes(&p.peers));
                nodes(&a.nodes)
                    .into_iter()
                    .chain(listed.into_iter().flatten())
            })
            .collect();
        self.effects.push(Effect::Admitted {
            members,
            applicants,
        });
        Ok(())
    }

    /// Members, applicants and removed teams.
    pub fn members_view(&self) -> MembersView {
        views::members(&self.members, self.rules.objection_window_ms)
    }

    /// Publishes this team's profile as a join request.
    pub fn join(&mut self, now: u64) -> Result<Published, ApiError> {
        let body = Body::Clear(self.own_profile.to_bytes()?);
        let id = self.publish(now, Kind::Profile, Tlp::Clear, None, body)?;
        Ok(published(id, None))
    }

    /// At start: publishes a join request if this team has not asked yet,
    /// and its profile file if it is newer than the profile the mesh holds
    /// for it (a key replacement cut short before its profile went out).
    pub fn join_if_needed(&mut self, now: u64) -> Result<(), ApiError> {
        let mine = self.own_profile.profile()?;
        match self.members.profile(&self.me).filter(|p| p.team == self.me) {
            Some(held) if held.updated_at < mine.updated_at => {
                let p = self.join(now)?;
                tracing::info!(envelope = %p.id, "published this team's newer profile");
                return Ok(());
            }
            Some(held) => {
                if held.recipient != mine.recipient {
                    tracing::error!(held = %held.recipient, ours = %mine.recipient, "the mesh holds a newer profile of this team naming an age key this node does not use: if this node did not publish it, someone holds the team's signing key (run `csirtmesh rotate-key`)");
                }
                return Ok(());
            }
            None => {}
        }
        if self.members.is_member(&self.me) || self.store.max_seq(&self.me)? > 0 {
            return Ok(());
        }
        let p = self.join(now)?;
        tracing::info!(envelope = %p.id, "not a member yet: published a join request; it enters the mesh once a member runs `csirtmesh invite {}` (or vouches by that id)", self.me);
        Ok(())
    }

    /// A team named in a membership request: a full team id, else a name or
    /// id prefix of a known team (member or applicant).
    fn named_team(&self, req: &MembershipRequest) -> Result<TeamId, ApiError> {
        let q = req
            .team
            .as_deref()
            .ok_or_else(|| ApiError::BadRequest("name the team".into()))?;
        if let Ok(id) = q.parse::<TeamId>() {
            return Ok(id);
        }
        self.members
            .find_known(q)
            .map(|p| p.team)
            .map_err(|e| match e {
                mesh_core::membership::FindError::Ambiguous(_) => {
                    ApiError::BadRequest(e.to_string())
                }
                _ => ApiError::NotFound(e.to_string()),
            })
    }

    /// Vouch, object, suspend or revoke.
    pub fn act(&mut self, now: u64, req: MembershipRequest) -> Result<Published, ApiError> {
        if req.action == MembershipAction::Revoke
            && let Some(stolen) = self.members.rotated().get(&self.me).copied()
        {
            return self.revoke_stolen(now, stolen, req.reason);
        }
        if !self.members.is_member(&self.me) {
            return Err(ApiError::Forbidden(
                "this team is not a member of the mesh (yet): only members vouch, object, suspend or revoke".into(),
            ));
        }
        let team_ref = |t: &TeamId| views::team(&self.members, t);
        let act = match req.action {
            MembershipAction::Vouch => {
                let candidate = self.named_team(&req)?;
                if candidate == self.me {
                    return Err(ApiError::BadRequest(
                        "a team cannot vouch for itself".into(),
                    ));
                }
                if self.members.is_member(&candidate) {
                    return Err(ApiError::Conflict(format!(
                        "{} is already a member",
                        team_ref(&candidate)
                    )));
                }
                let days = req
                    .days
                    .unwrap_or(DEFAULT_ENDORSEMENT_DAYS)
                    .clamp(1, MAX_ENDORSEMENT_DAYS);
                MembershipAct::Endorse {
                    candidate,
                    expires_at: now + days * DAY_MS,
                }
            }
            MembershipAction::Invite => {
                // By full id only: an invited team is not known by name yet.
                let candidate = req
                    .team
                    .as_deref()
                    .map(str::trim)
                    .and_then(|t| t.parse::<TeamId>().ok())
                    .ok_or_else(|| {
                        ApiError::BadRequest(
                            "name the team to invite by its full team id (64 hex digits, from its `csirtmesh status`)".into(),
                        )
                    })?;
                if candidate == self.me {
                    return Err(ApiError::BadRequest("a team cannot invite itself".into()));
                }
                if self.members.is_member(&candidate) {
                    return Err(ApiError::Conflict(format!(
                        "{} is already a member",
                        team_ref(&candidate)
                    )));
                }
                let open = self.members.open_invitations(&self.me, now);
                if open >= mesh_core::membership::MAX_OPEN_INVITATIONS {
                    return Err(ApiError::Conflict(format!(
                        "this team already has {open} invitations open, the most a member may: wait for one to expire"
                    )));
                }
                let days = req
                    .days
                    .unwrap_or(DEFAULT_INVITATION_DAYS)
                    .clamp(1, mesh_core::membership::MAX_INVITATION_DAYS);
                let nodes = req
                    .nodes
                    .iter()
                    .map(|n| {
                        n.trim()
                            .parse::<net::PeerId>()
                            .map(|p| p.to_bytes())
                            .map_err(|_| {
                                ApiError::BadRequest(format!(
                                    "{:?} is not a node id (a PeerId like 12D3KooW...)",
                                    proto::text::printable(n, false)
                                ))
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                proto::profile::check_nodes("nodes", &nodes)
                    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
                MembershipAct::Invite {
                    candidate,
                    expires_at: now + days * DAY_MS,
                    nodes,
                }
            }
            MembershipAction::Object => {
                let candidate = self.named_team(&req)?;
                if self.members.is_member(&candidate) {
                    return Err(ApiError::Conflict(format!(
                        "{} is already a member: to remove a member, suspend it",
                        team_ref(&candidate)
                    )));
                }
                MembershipAct::Object {
                    candidate,
                    reason: req.reason,
                }
            }
            MembershipAction::Suspend => {
                let target = self.named_team(&req)?;
                if !self.members.is_member(&target) {
                    return Err(ApiError::Conflict(format!(
                        "{} is not a member",
                        team_ref(&target)
                    )));
                }
                if target == self.me {
                    return Err(ApiError::BadRequest(
                        "to leave, revoke your own key (`csirtmesh revoke`)".into(),
                    ));
                }
                // The target's chain is cut where what this node holds of it
                // is first broken: a gap below the cut could be filled
                // afterwards, a gap beyond it cannot.
                MembershipAct::Suspend {
                    target,
                    reason: req.reason,
                    after_seq: self.store.unbroken_to(&target)?,
                }
            }
            MembershipAction::Revoke => MembershipAct::Revoke { reason: req.reason },
        };
        let body = Body::Clear(act.to_bytes()?);
        let id = self.publish(now, Kind::Membership, Tlp::Clear, None, body)?;
        Ok(published(id, None))
    }
}

/// The membership act an accepted envelope carries, if it is one.
pub(super) fn record_of(env: &Envelope) -> Option<Record> {
    match (&env.content.kind, &env.content.body) {
        (Kind::Membership, Body::Clear(b)) => MembershipAct::from_bytes(b).ok().map(|act| Record {
            id: env.id,
            author: env.content.author,
            seq: env.content.seq,
            created_at: env.content.created_at,
            act,
        }),
        _ => None,
    }
}
