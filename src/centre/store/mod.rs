//! Storage behind one trait: SQLite (embedded default, `sqlite://PATH`) and
//! PostgreSQL (`postgres://…`). The store only sees sealed blobs (see
//! [`crate::centre::crypto`]); every multi-row change is one transaction so a
//! key can never be handed out twice, even with several centre processes on
//! one PostgreSQL database.

use crate::centre::audit::{AuditEntry, AuditRecord};

mod postgres;
pub mod spaces;
mod sqlite;

pub use self::postgres::PostgresStore;
pub use self::spaces::{Notice, SpaceRow, SpaceStore};
pub use self::sqlite::SqliteStore;

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite://…` nor `postgres://…`/`postgresql://…`.
    #[error("unsupported database URL {0:?} (use sqlite://PATH or postgres://…)")]
    BadUrl(String),
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("postgres: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// Fewer pool units than requested: nothing was taken.
    #[error("not enough keys: {available} available, {needed} needed")]
    Insufficient {
        /// Units available.
        available: u64,
        /// Units needed.
        needed: u64,
    },
    /// A device with that serial already exists.
    #[error("device {0} already exists")]
    DeviceExists(String),
    /// No device with that serial.
    #[error("device {0} not found")]
    DeviceNotFound(String),
    /// A stored value is not what this version wrote.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Sealing or unsealing inside a transaction failed.
    #[error("{0}")]
    Crypto(#[from] crate::centre::crypto::CryptoError),
    /// An internal lock was poisoned by a panicking thread.
    #[error("store lock poisoned")]
    Poisoned,
}

/// One unit of pool key material (sealed, `aad` = `pool:` ‖ id).
#[derive(Debug, Clone)]
pub struct PoolUnit {
    /// Random unit ID (UUID text).
    pub id: String,
    /// Sealed material.
    pub sealed: Vec<u8>,
}

/// A key issued to a master and waiting for one slave (sealed, `aad` = key ID ‖ slave).
#[derive(Debug, Clone)]
pub struct PendingKey {
    /// ETSI key ID (UUID text).
    pub key_id: String,
    /// The slave SAE that may fetch it once.
    pub slave: String,
    /// The master SAE that requested it.
    pub master: String,
    /// Size in bits.
    pub size_bits: u32,
    /// Sealed material.
    pub sealed: Vec<u8>,
}

/// What [`KeyStore::redeem`] found for one requested key ID.
#[derive(Debug, Clone)]
pub enum Redeemed {
    /// Delivered (and removed).
    Key(PendingKey),
    /// The key exists for this master but another slave: the caller is not authorised.
    NotYours(String),
    /// No such key for this master and slave (never issued, already delivered to this slave, or destroyed).
    Missing(String),
}

/// Terminal lifecycle states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    /// Initialised, credential issued, not yet bound.
    Initialised,
    /// Bound to a user with a PIN, not yet activated.
    Bound,
    /// In service.
    Active,
    /// Temporarily refused.
    Frozen,
    /// Reported lost: refused for good.
    Lost,
    /// Destroyed: credential and undelivered keys gone.
    Destroyed,
}

impl DeviceState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initialised => "initialised",
            Self::Bound => "bound",
            Self::Active => "active",
            Self::Frozen => "frozen",
            Self::Lost => "lost",
            Self::Destroyed => "destroyed",
        }
    }

    /// Parses a stored name.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`].
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "initialised" => Self::Initialised,
            "bound" => Self::Bound,
            "active" => Self::Active,
            "frozen" => Self::Frozen,
            "lost" => Self::Lost,
            "destroyed" => Self::Destroyed,
            other => return Err(StoreError::Corrupt(format!("device state {other:?}"))),
        })
    }
}

/// A stored terminal.
#[derive(Debug, Clone)]
pub struct DeviceRecord {
    /// Serial number (also its SAE ID).
    pub serial: String,
    /// Lifecycle state.
    pub state: DeviceState,
    /// Bound user.
    pub user: Option<String>,
    /// Argon2id PHC string of the PIN.
    pub pin_hash: Option<String>,
    /// Sealed device credential (`aad` = `device:` ‖ serial); empty once destroyed.
    pub credential: Vec<u8>,
    /// Unix ms of the last change.
    pub updated_ms: i64,
}

/// The centre's storage. Implementations are synchronous and thread-safe;
/// the server calls them from blocking threads.
pub trait KeyStore: SpaceStore + Send + Sync {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    /// Units in the pool.
    fn pool_count(&self) -> Result<u64, StoreError>;
    /// Adds units to the pool.
    fn pool_add(&self, units: &[PoolUnit]) -> Result<(), StoreError>;
    /// In one transaction: takes the `units` oldest pool units (or fails with
    /// [`StoreError::Insufficient`], taking none), passes them to `make`, and
    /// stores the pending keys `make` returns.
    fn issue(
        &self,
        units: u64,
        make: &mut dyn FnMut(Vec<PoolUnit>) -> Result<Vec<PendingKey>, StoreError>,
    ) -> Result<(), StoreError>;
    /// In one transaction: for each key ID issued by `master`, delivers it to
    /// `slave` and removes it. If any is [`Redeemed::NotYours`] or
    /// [`Redeemed::Missing`], nothing is removed.
    fn redeem(
        &self,
        master: &str,
        slave: &str,
        key_ids: &[String],
    ) -> Result<Vec<Redeemed>, StoreError>;
    /// Undelivered pending keys of `slave`, ordered by key ID, without delivering them
    /// (a refill reservation read back on retry).
    fn pending_for_slave(&self, slave: &str) -> Result<Vec<PendingKey>, StoreError>;
    /// Pending keys whose master or slave is `sae`.
    fn pending_count_for(&self, sae: &str) -> Result<u64, StoreError>;
    /// Removes every pending key whose master or slave is `sae`; returns how many.
    fn purge_for(&self, sae: &str) -> Result<u64, StoreError>;
    /// Inserts a new device.
    fn device_insert(&self, d: &DeviceRecord) -> Result<(), StoreError>;
    /// Reads a device.
    fn device_get(&self, serial: &str) -> Result<Option<DeviceRecord>, StoreError>;
    /// Replaces a device's state, user, PIN hash and credential.
    fn device_update(&self, d: &DeviceRecord) -> Result<(), StoreError>;
    /// Appends an audit record chained to the last one (serialised against other appenders).
    fn audit_append(&self, e: &AuditEntry, at_ms: i64) -> Result<AuditRecord, StoreError>;
    /// Every audit record in `seq` order.
    fn audit_all(&self) -> Result<Vec<AuditRecord>, StoreError>;
}

/// Opens the store a URL names, creating its schema if needed.
///
/// # Errors
/// [`StoreError::BadUrl`] or the back end's error.
pub fn open_store(url: &str) -> Result<Box<dyn KeyStore>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Box::new(SqliteStore::open(std::path::Path::new(path))?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Box::new(PostgresStore::connect(url, 4)?))
    } else {
        Err(StoreError::BadUrl(url.to_owned()))
    }
}

pub(crate) fn hash32(v: Vec<u8>) -> Result<[u8; 32], StoreError> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt("audit hash length".into()))
}
