//! Per-peer key storage spaces that rebalance: demand statistics and the transfer rule
//! ([`plan`]), demand tracking ([`demand`]), and the migration protocol that moves keys between
//! spaces consistently with both peers ([`migrate`]), the notice wire format ([`notice`]) and the
//! peer side of a centre's spaces ([`peer`]).

pub mod demand;
pub mod migrate;
pub mod notice;
pub mod peer;
pub mod plan;

pub use demand::DemandTracker;
pub use migrate::{Envelope, Key, MigrateError, Node};
pub use plan::{plan_transfers, transfer_amount, PeerId, SpaceState, SpaceStats, Transfer};
