//! # csirtmesh-core: the domain, with no I/O
//!
//! The `quinn-proto` of CSIRT Mesh: it takes `now` and inputs and returns
//! decisions. No async, no clock reads, no sockets, no SQLite. The node feeds
//! it what arrived and carries out what it decides.
//!
//! - [`membership`]: who is a member, as a pure function of the charter and
//!   the signed records a node holds.
//! - [`validate`]: the one validation function every arriving envelope goes
//!   through (gossip, sync, the local API alike), returning a [`Verdict`].
//! - [`incident`]: an incident's state as a deterministic fold of its thread.
//! - [`admission`]: bounds on join requests (per forwarding peer, pending).
//! - [`chain`]: authors' chains (`seq` unique, time never back) and forks.
//! - [`clock`]: the hybrid logical clock that stamps envelopes.
//!
//! The crate is named `csirtmesh-core` and imported as `mesh_core`, because
//! `core` is the name of Rust's own core library.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod admission;
pub mod chain;
pub mod clock;
pub mod directory;
pub mod incident;
pub mod membership;
pub mod validate;

pub use incident::{Incident, IncidentEvent, ThreadEntry};
pub use membership::Membership;
pub use validate::{Reason, Verdict};
