//! The insider drill's prefix capture: the insider publishes a profile
//! claiming a prefix inside the victim's constituency, so the directory
//! routes reports about that part to it. The claim wins the route (claims
//! are self-declared), but it must not win silently: the victim's status
//! lists the overlap, and a reporter's lookup lists the victim beside the
//! insider.

use anyhow::Result;

use super::insider::STEP_TIMEOUT;
use crate::harness::Testnet;

/// The victim's constituency in an insider drill.
pub const VICTIM_PREFIX: &str = "203.0.113.0/24";

/// What the insider claims: the upper half of it.
pub const CLAIMED_PREFIX: &str = "203.0.113.128/25";

/// An address in the claimed half.
const ABOUT: &str = "203.0.113.200";

/// What the victim and a reporter see once the claim has reached them.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// The lookup routes the address to the insider (the claim arrived).
    pub captured: bool,
    /// The reporter's lookup names the victim as also claiming it.
    pub shown_to_reporter: bool,
    /// The victim's status lists the insider's overlapping claim.
    pub shown_to_victim: bool,
}

/// Waits (bounded) until `reporter`'s lookup routes the claimed address to
/// the insider, then reads what each side is shown.
pub(super) async fn seen(
    net: &Testnet,
    reporter: &str,
    victim: &str,
    insider_id: &str,
    victim_id: &str,
) -> Result<Seen> {
    let routed = || async {
        let r = net.api(reporter)?.lookup(ABOUT, None).await?;
        Ok(r.teams.iter().any(|t| t.id == insider_id))
    };
    let _ = Testnet::wait_for(STEP_TIMEOUT, routed).await;
    let _ = Testnet::wait_for(STEP_TIMEOUT, || async {
        let s = net.api(victim)?.status().await?;
        Ok(s.overlaps.iter().any(|o| o.theirs.team.id == insider_id))
    })
    .await;
    let route = net.api(reporter)?.lookup(ABOUT, None).await?;
    let status = net.api(victim)?.status().await?;
    Ok(Seen {
        captured: route.teams.iter().any(|t| t.id == insider_id),
        shown_to_reporter: route
            .contested
            .iter()
            .any(|c| c.team.id == victim_id && c.entry == VICTIM_PREFIX),
        shown_to_victim: status
            .overlaps
            .iter()
            .any(|o| o.theirs.team.id == insider_id && o.theirs.entry == CLAIMED_PREFIX),
    })
}
