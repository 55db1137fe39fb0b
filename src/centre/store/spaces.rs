//! Per-peer key storage spaces (issue 7): the part of the centre's keys set aside for one peer
//! SAE, its consumption buckets and the migration outbox. Implemented by both back ends; every
//! move of keys between spaces is one transaction that also writes the migration's notices, so
//! the transaction is the journal: a crash leaves either the whole move or none of it.

use super::{PendingKey, PoolUnit, StoreError};

/// One configured space.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceRow {
    /// Peer SAE ID.
    pub peer: String,
    /// Configured replenishment time `F`, seconds.
    pub replenish_s: f64,
    /// Units stored in the space.
    pub stored: u64,
}

/// A notice written to the outbox by a migration (sealed at rest; see `docs/pools.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Migration number (the outbox's journal key).
    pub migration: i64,
    /// Peer the notice is for.
    pub peer: String,
    /// `"discard"` (emigration peer) or `"keys"` (immigration peer).
    pub kind: String,
    /// Sealed body.
    pub sealed: Vec<u8>,
}

/// Makes a migration's notices from its number and the moved unit IDs (inside the move's
/// transaction).
pub type MakeNotices<'a> = dyn FnMut(i64, &[String]) -> Result<Vec<Notice>, StoreError> + 'a;

/// Storage of per-peer spaces (a supertrait of [`super::KeyStore`]).
pub trait SpaceStore {
    /// Creates the space of `peer` or changes its `F`.
    fn space_configure(&self, peer: &str, replenish_s: f64) -> Result<(), StoreError>;
    /// Every configured space with its stored count, ordered by peer.
    fn spaces(&self) -> Result<Vec<SpaceRow>, StoreError>;
    /// Units in `peer`'s space (0 when none).
    fn space_count(&self, peer: &str) -> Result<u64, StoreError>;
    /// Every unit ID in `peer`'s space, oldest first.
    fn space_ids(&self, peer: &str) -> Result<Vec<String>, StoreError>;
    /// In one transaction: moves the `units` oldest common-pool units into `peer`'s space (or
    /// fails with [`StoreError::Insufficient`], moving none).
    fn space_allocate(&self, peer: &str, units: u64) -> Result<(), StoreError>;
    /// As [`super::KeyStore::issue`], but takes the units from `peer`'s space.
    fn space_issue(
        &self,
        peer: &str,
        units: u64,
        make: &mut dyn FnMut(Vec<PoolUnit>) -> Result<Vec<PendingKey>, StoreError>,
    ) -> Result<(), StoreError>;
    /// Adds `consumed` units to `peer`'s consumption bucket of Unix second `second`.
    fn space_demand_add(&self, peer: &str, second: i64, consumed: u64) -> Result<(), StoreError>;
    /// `peer`'s consumption buckets `(second, units)` from `since` on, in time order.
    fn space_demand(&self, peer: &str, since: i64) -> Result<Vec<(i64, u64)>, StoreError>;
    /// In one transaction: moves the `amount` oldest units of space `from` into space `to`
    /// (or fails with [`StoreError::Insufficient`], moving none), allocates a migration number,
    /// and stores the notices `notices` returns for it and the moved unit IDs. Returns the
    /// migration number and the moved IDs.
    fn space_move(
        &self,
        from: &str,
        to: &str,
        amount: u64,
        notices: &mut MakeNotices<'_>,
    ) -> Result<(i64, Vec<String>), StoreError>;
    /// Every outbox notice, in migration order.
    fn outbox(&self) -> Result<Vec<Notice>, StoreError>;
    /// A numeric node setting (e.g. `a_percent`).
    fn setting_get(&self, name: &str) -> Result<Option<f64>, StoreError>;
    /// Sets a numeric node setting.
    fn setting_set(&self, name: &str, value: f64) -> Result<(), StoreError>;
}
