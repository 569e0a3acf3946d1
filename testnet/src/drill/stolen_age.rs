//! The insider drill's stolen age key: a thief copies a member's data
//! directory (its age key and the GREEN sender keys its store holds), and
//! the member replaces its age key (`csirtmesh rotate-key --age-only`
//! through the node's API). What another member sealed to it before the
//! theft opens with the copy (the theft is real); what it seals after the
//! replacement, AMBER to the member and GREEN to everyone, must not, while
//! the member itself reads both.

use anyhow::{Context, Result};
use csirtmesh::{
    api::types::{Label, NewIncident, RotateKeyRequest},
    datadir::files,
};
use proto::{Envelope, Kind, Payload, Tlp};
use seal::{SenderKey, TeamKeys};

use super::insider::{STEP_TIMEOUT, wait_all_hold};
use crate::harness::Testnet;

/// What the thief read, and what the member read.
#[derive(Debug, Default)]
pub(super) struct Figures {
    /// Of an AMBER and a GREEN incident sealed before the theft, how many
    /// the stolen copy opens (2: the theft is worth something).
    pub before: usize,
    /// Of an AMBER and a GREEN incident sealed after the replacement, how
    /// many the stolen copy opens (must be 0).
    pub after: usize,
    /// Of those two, how many the member reads (must be 2).
    pub member_reads_after: usize,
}

/// `a` seals to `victim` before and after `victim` replaces its age key;
/// `heard` gives every envelope the thief's node heard on the mesh.
pub(super) async fn run(
    net: &Testnet,
    a: &str,
    victim: &str,
    judges: &[String],
    heard: &dyn Fn() -> Vec<Envelope>,
) -> Result<Figures> {
    let mut figures = Figures::default();
    let before = publish_pair(net, a, victim, "before the theft", heard).await?;
    // The theft: the member's data directory as it is now.
    let dir = net.data_dir(victim)?;
    let stolen = dir.team_keys()?;
    let mut sender_keys = Vec::new();
    {
        let store = store::Store::open(&dir.file(files::DATABASE))?;
        for env in heard() {
            if let Some(k) = seal::verify_envelope(env)
                .ok()
                .as_ref()
                .and_then(seal::sender_key_of)
                && let Some(row) = store.sender_key(&k)?
            {
                sender_keys.push(SenderKey::from_secret(&row.secret)?);
            }
        }
    }
    figures.before = thief_reads(&heard(), &stolen, &mut sender_keys, &before);

    let profile = net
        .api(victim)?
        .rotate_key(RotateKeyRequest {
            signing: false,
            age: true,
        })
        .await?;
    wait_all_hold(net, judges, &profile.id).await?;
    let after = publish_pair(net, a, victim, "after the replacement", heard).await?;
    figures.after = thief_reads(&heard(), &stolen, &mut sender_keys, &after);
    for id in &after {
        figures.member_reads_after += usize::from(reads(net, victim, id).await?);
    }
    Ok(figures)
}

/// An AMBER incident from `a` to `victim` and a GREEN one, once `victim`
/// reads both and the thief's node heard both (bounded).
async fn publish_pair(
    net: &Testnet,
    a: &str,
    victim: &str,
    when: &str,
    heard: &dyn Fn() -> Vec<Envelope>,
) -> Result<[String; 2]> {
    let mut ids = Vec::new();
    for (tlp, to) in [(Tlp::Amber, vec![victim.to_owned()]), (Tlp::Green, vec![])] {
        let req = NewIncident {
            title: format!("insider drill: {tlp} {when}"),
            description: "what a stolen age key would open".into(),
            tlp: Label(tlp),
            to,
            indicators: Vec::new(),
        };
        ids.push(net.api(a)?.open(&req).await?.id);
    }
    // The thief must have heard them, or reading nothing proves nothing.
    Testnet::wait_for(STEP_TIMEOUT, || async {
        let heard: Vec<String> = heard().iter().map(|e| e.id.to_string()).collect();
        for id in &ids {
            if !heard.contains(id) || !reads(net, victim, id).await? {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "the incidents sealed {when} did not reach both the thief and {victim}: {e}"
        )
    })?;
    let [amber, green]: [String; 2] = ids.try_into().ok().context("two incidents")?;
    Ok([amber, green])
}

/// Whether `name`'s node reads the incident's content.
async fn reads(net: &Testnet, name: &str, id: &str) -> Result<bool> {
    Ok(net
        .api(name)?
        .incident(id)
        .await
        .is_ok_and(|v| v.description.is_some()))
}

/// How many of `ids` the thief opens: sealed to its stolen age key, or to
/// a GREEN key it holds or finds in a key share the stolen key opens.
fn thief_reads(
    heard: &[Envelope],
    stolen: &TeamKeys,
    sender_keys: &mut Vec<SenderKey>,
    ids: &[String],
) -> usize {
    let verified: Vec<_> = heard
        .iter()
        .filter_map(|e| seal::verify_envelope(e.clone()).ok())
        .collect();
    for env in verified
        .iter()
        .filter(|e| e.content().kind == Kind::KeyShare)
    {
        if let Ok(opened) = seal::open_as_team(env, stolen)
            && let Payload::SenderKey(share) = opened.inner.payload
            && let Ok(key) = SenderKey::from_secret(&share.secret)
        {
            sender_keys.push(key);
        }
    }
    ids.iter()
        .filter(|id| {
            verified
                .iter()
                .find(|e| e.envelope().id.to_string() == **id)
                .is_some_and(|env| match seal::sender_key_of(env) {
                    Some(k) => sender_keys
                        .iter()
                        .any(|s| s.id() == k && seal::open(env, s.identity()).is_ok()),
                    None => seal::open_as_team(env, stolen).is_ok(),
                })
        })
        .count()
}
