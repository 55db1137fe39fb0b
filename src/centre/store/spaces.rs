//! Per-peer key storage spaces (issue 7): the part of the centre's keys set aside for one peer
//! SAE, its consumption buckets and the migration outbox. Implemented by both back ends; every
//! move of keys between spaces is one transaction that also writes the migration's notices, so
//! the transaction is the journal: a crash leaves either the whole move or none of it.

use super::{PendingKey, PoolUnit, StoreError};
use crate::centre::audit::{AuditEntry, AuditRecord};

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

/// Makes a migration's notices and its `migrate` audit entry from its number and the moved
/// units (inside the move's transaction).
pub type MakeNotices<'a> =
    dyn FnMut(i64, &[PoolUnit]) -> Result<(Vec<Notice>, AuditEntry), StoreError> + 'a;

/// Encrypts a notice for delivery under the shared unit the store reserved for it (inside the
/// delivery transaction); returns the wire bytes stored and re-sent until acknowledged.
pub type SealNotice<'a> = dyn FnMut(&Notice, &PoolUnit) -> Result<Vec<u8>, StoreError> + 'a;

/// A committed move between spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// Migration number.
    pub migration: i64,
    /// The moved unit IDs, oldest first.
    pub ids: Vec<String>,
    /// The `migrate` audit record written in the move's transaction.
    pub audit: AuditRecord,
}

/// A notice ready for delivery: its outbox row, the shared unit it is encrypted under and the
/// wire bytes (identical on every re-send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The outbox row.
    pub notice: Notice,
    /// ID of the shared unit consumed as the notice key.
    pub key_id: String,
    /// Encrypted notice as delivered.
    pub wire: Vec<u8>,
}

/// What a peer's sync returns: units of its space not yet shared, and units consumed from its
/// space (ETSI `enc_keys`) whose copies it shall drop.
#[derive(Debug, Clone)]
pub struct SpaceSync {
    /// Undelivered units (excluding those in flight in an unacknowledged `keys` notice).
    pub units: Vec<PoolUnit>,
    /// Consumed unit IDs not yet acknowledged.
    pub consumed: Vec<String>,
}

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
    /// In one transaction: moves the `amount` oldest movable units of space `from` into space
    /// `to` (or fails with [`StoreError::Insufficient`], moving none), allocates a migration
    /// number, stores the notices `notices` returns for it and the moved units, marks the moved
    /// units in flight to `to` (unshared, not consumable or movable until `to` acknowledges
    /// its `keys` notice) and appends the `migrate` audit record at `at_ms`.
    fn space_move(
        &self,
        from: &str,
        to: &str,
        amount: u64,
        at_ms: i64,
        notices: &mut MakeNotices<'_>,
    ) -> Result<Moved, StoreError>;
    /// Every outbox notice, in migration order.
    fn outbox(&self) -> Result<Vec<Notice>, StoreError>;
    /// Units of `peer`'s space not yet shared with it (oldest first) and its consumed units not
    /// yet acknowledged. Changes nothing (a lost reply is simply asked again).
    fn space_sync(&self, peer: &str) -> Result<SpaceSync, StoreError>;
    /// In one transaction: marks the listed units of `peer`'s space shared (IDs no longer in
    /// its space, or in flight, are ignored) and forgets the listed consumed IDs. Returns how
    /// many units became shared and how many consumed IDs were forgotten.
    fn space_sync_ack(
        &self,
        peer: &str,
        shared: &[String],
        consumed: &[String],
    ) -> Result<(u64, u64), StoreError>;
    /// Every unit of `peer`'s space (sealed), oldest first.
    fn space_units(&self, peer: &str) -> Result<Vec<PoolUnit>, StoreError>;
    /// IDs of the shared units of `peer`'s space, oldest first.
    fn space_shared_ids(&self, peer: &str) -> Result<Vec<String>, StoreError>;
    /// In one transaction: `peer`'s outbox notices in migration order, ready for delivery. A
    /// notice already encrypted is returned as stored; the next one is encrypted with `seal`
    /// under the newest shared unit of `peer`'s space, which leaves the space (reserved as the
    /// notice key). Stops at the first notice for which no shared unit is left (it waits for a
    /// sync); returns the ready notices and how many wait.
    fn notices_deliver(
        &self,
        peer: &str,
        seal: &mut SealNotice<'_>,
    ) -> Result<(Vec<Outgoing>, u64), StoreError>;
    /// In one transaction: removes `peer`'s delivered notice `(migration, kind)` and its notice
    /// key; for a `keys` notice also marks its units (still in `peer`'s space) shared and no
    /// longer in flight. `false` when there is no such delivered notice (already acknowledged).
    fn notice_ack(&self, peer: &str, migration: i64, kind: &str) -> Result<bool, StoreError>;
    /// A numeric node setting (e.g. `a_percent`).
    fn setting_get(&self, name: &str) -> Result<Option<f64>, StoreError>;
    /// Sets a numeric node setting.
    fn setting_set(&self, name: &str, value: f64) -> Result<(), StoreError>;
}
