//! The centre's logic over a [`KeyStore`]: ETSI GS QKD 014 operations for
//! SAEs, the terminal lifecycle for operators, pool fills and the audit
//! chain. Synchronous: the server runs these on blocking threads.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use serde::Serialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::audit::{self, AuditEntry, AuditEvent, AuditFinding};
use super::crypto::{random_bytes, CryptoError, MasterKey};
use super::etsi::{BadRequest, KeyContainer, KeyItem, KeyRequest, Limits, Status};
pub mod pools;
pub mod refill;

use super::store::{
    DeviceRecord, DeviceState, KeyStore, PendingKey, PoolUnit, Redeemed, StoreError,
};

/// Centre configuration.
#[derive(Debug, Clone)]
pub struct CentreConfig {
    /// This KME's ID (reported as source and target KME ID: one centre serves both SAEs).
    pub kme_id: String,
    /// ETSI limits: default key size, per-request and size bounds, multicast.
    pub limits: Limits,
    /// Pool target in units of `key_size` bits (`max_key_count`).
    pub max_key_count: u64,
    /// SAE IDs with certificates from this centre's CA (terminals are known through the device table).
    pub known_saes: BTreeSet<String>,
    /// Client-certificate CNs allowed to use the operator API.
    pub operators: BTreeSet<String>,
    /// Audit head anchor file (`None`: no anchor).
    pub audit_head: Option<PathBuf>,
}

impl Default for CentreConfig {
    fn default() -> Self {
        Self {
            kme_id: "qwave-centre".into(),
            limits: Limits {
                key_size: 256,
                max_key_per_request: 128,
                max_key_size: 8192,
                min_key_size: 64,
                max_sae_id_count: 4,
            },
            max_key_count: 10_000,
            known_saes: BTreeSet::new(),
            operators: BTreeSet::from(["operator".to_owned()]),
            audit_head: None,
        }
    }
}

/// Errors of centre operations, each mapping to one HTTP status (see `server`).
#[derive(Debug, thiserror::Error)]
pub enum CentreError {
    /// 400: the standard's "Bad request format".
    #[error(transparent)]
    BadRequest(#[from] BadRequest),
    /// 401: the caller may not do this.
    #[error("{0}")]
    Unauthorized(String),
    /// 503: no keys available now.
    #[error("{0}")]
    Unavailable(String),
    /// 404 (operator API): no such device.
    #[error("device {0} not found")]
    NoDevice(String),
    /// 409 (operator API): not allowed in the device's current state.
    #[error("{0}")]
    Conflict(String),
    /// 503: storage failed (details logged, not sent).
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// 503: sealing failed (details logged, not sent).
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// 503: the audit log could not be written.
    #[error("audit: {0}")]
    Audit(String),
}

/// What an operator sees of a device (no secrets).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Serial number.
    pub serial: String,
    /// Lifecycle state.
    pub state: String,
    /// Bound user.
    pub user: Option<String>,
    /// Keys waiting for or issued by this terminal.
    pub pending_keys: u64,
}

/// The key centre.
pub struct Centre {
    cfg: CentreConfig,
    store: Box<dyn KeyStore>,
    master: MasterKey,
    audit_lock: Mutex<()>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn new_uuid() -> Result<String, CryptoError> {
    let mut b = [0u8; 16];
    random_bytes(&mut b)?;
    Ok(uuid::Builder::from_random_bytes(b).into_uuid().to_string())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn pending_aad(key_id: &str, slave: &str) -> Vec<u8> {
    format!("pending:{key_id}:{slave}").into_bytes()
}

impl Centre {
    /// A centre over `store`, sealing with `master`.
    pub fn new(cfg: CentreConfig, store: Box<dyn KeyStore>, master: MasterKey) -> Self {
        Self {
            cfg,
            store,
            master,
            audit_lock: Mutex::new(()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CentreConfig {
        &self.cfg
    }

    /// The store (back end name, counts).
    pub fn store(&self) -> &dyn KeyStore {
        self.store.as_ref()
    }

    /// Appends a security event to the audit chain (and moves the head anchor).
    ///
    /// # Errors
    /// [`CentreError::Store`] or [`CentreError::Audit`].
    pub fn audit(&self, e: AuditEntry) -> Result<(), CentreError> {
        let _g = self
            .audit_lock
            .lock()
            .map_err(|_| CentreError::Audit("lock poisoned".into()))?;
        let rec = self.store.audit_append(&e, now_ms())?;
        if let Some(p) = &self.cfg.audit_head {
            audit::write_head(p, rec.seq, &rec.hash)
                .map_err(|e| CentreError::Audit(e.to_string()))?;
        }
        Ok(())
    }

    /// Verifies the audit chain and the head anchor; empty: intact.
    ///
    /// # Errors
    /// Storage or head-file errors.
    pub fn audit_verify(&self) -> Result<(usize, Vec<AuditFinding>), CentreError> {
        let recs = self.store.audit_all()?;
        let head = match &self.cfg.audit_head {
            Some(p) => audit::read_head(p).map_err(|e| CentreError::Audit(e.to_string()))?,
            None => None,
        };
        Ok((recs.len(), audit::verify_chain(&recs, head)))
    }

    /// Records a failed authentication (best effort: the refusal stands even if logging fails).
    pub fn auth_failed(&self, actor: &str, subject: &str, why: &str) {
        if let Err(e) = self.audit(AuditEntry::new(AuditEvent::AuthFailed, actor, subject, why)) {
            eprintln!("centre: audit append failed: {e}");
        }
    }

    fn device_state(&self, id: &str) -> Result<Option<DeviceState>, CentreError> {
        Ok(self.store.device_get(id)?.map(|d| d.state))
    }

    /// Checks that `caller` (from its certificate) may use the ETSI API.
    fn authorise_sae(&self, caller: &str) -> Result<(), CentreError> {
        match self.device_state(caller)? {
            Some(DeviceState::Active) => Ok(()),
            Some(s) => {
                self.auth_failed(caller, caller, &format!("terminal is {}", s.as_str()));
                Err(CentreError::Unauthorized(format!(
                    "SAE {caller} is {}",
                    s.as_str()
                )))
            }
            None if self.cfg.known_saes.contains(caller) => Ok(()),
            None => {
                self.auth_failed(caller, caller, "SAE not registered");
                Err(CentreError::Unauthorized(format!(
                    "SAE {caller} is not registered with this KME"
                )))
            }
        }
    }

    /// Checks that a peer SAE named in a request exists and is in service.
    fn check_peer(&self, role: &str, id: &str) -> Result<(), CentreError> {
        match self.device_state(id)? {
            Some(DeviceState::Active) => Ok(()),
            Some(s) => Err(BadRequest::new(format!("{role} {id} is {}", s.as_str())).into()),
            None if self.cfg.known_saes.contains(id) => Ok(()),
            None => Err(BadRequest {
                message: format!("{role} is unknown"),
                details: vec![json!({ role: id })],
            }
            .into()),
        }
    }

    /// ETSI 014 "Get status" (§5.1) for `caller` as master and `slave`.
    ///
    /// # Errors
    /// 401 for an unregistered or refused caller, 400 for an unknown or refused slave.
    pub fn status(&self, caller: &str, slave: &str) -> Result<Status, CentreError> {
        self.authorise_sae(caller)?;
        self.check_peer("slave_SAE_ID", slave)?;
        let l = &self.cfg.limits;
        Ok(Status {
            source_kme_id: self.cfg.kme_id.clone(),
            target_kme_id: self.cfg.kme_id.clone(),
            master_sae_id: caller.to_owned(),
            slave_sae_id: slave.to_owned(),
            key_size: l.key_size,
            stored_key_count: self.store.pool_count()?,
            max_key_count: self.cfg.max_key_count,
            max_key_per_request: l.max_key_per_request,
            max_key_size: l.max_key_size,
            min_key_size: l.min_key_size,
            max_sae_id_count: l.max_sae_id_count,
        })
    }

    /// ETSI 014 "Get key" (§5.2): `caller` (master) takes `req.number` keys
    /// shared with `slave` (and any additional slaves). The master gets them
    /// now, once; each slave may fetch them once with [`Centre::dec_keys`].
    ///
    /// # Errors
    /// 401/400 as for status; 400 when a slave repeats or is the caller; 503 when the pool is short.
    pub fn enc_keys(
        &self,
        caller: &str,
        slave: &str,
        req: &KeyRequest,
    ) -> Result<KeyContainer, CentreError> {
        self.authorise_sae(caller)?;
        let mut slaves = Vec::with_capacity(1 + req.additional_slaves.len());
        slaves.push(slave.to_owned());
        slaves.extend(req.additional_slaves.iter().cloned());
        for (i, s) in slaves.iter().enumerate() {
            self.check_peer(
                if i == 0 {
                    "slave_SAE_ID"
                } else {
                    "additional_slave_SAE_IDs"
                },
                s,
            )?;
            if s == caller {
                return Err(BadRequest::new("slave SAE shall differ from the master SAE").into());
            }
            if slaves[..i].contains(s) {
                return Err(BadRequest::new(
                    "additional_slave_SAE_IDs shall not repeat the slave SAE",
                )
                .into());
            }
        }
        let unit_bytes = (self.cfg.limits.key_size / 8) as usize;
        let key_bytes = (req.size / 8) as usize;
        let per_key = key_bytes.div_ceil(unit_bytes);
        let units = (per_key * req.number as usize) as u64;
        let mut out = Vec::with_capacity(req.number as usize);
        let master = &self.master;
        let has_space = self.store.spaces()?.iter().any(|s| s.peer == caller);
        let mut make = |taken: Vec<PoolUnit>| -> Result<Vec<PendingKey>, StoreError> {
            let mut pending = Vec::with_capacity(taken.len() * slaves.len());
            for chunk in taken.chunks(per_key) {
                let mut key = Zeroizing::new(Vec::with_capacity(per_key * unit_bytes));
                for u in chunk {
                    key.extend_from_slice(
                        &master.open(format!("pool:{}", u.id).as_bytes(), &u.sealed)?,
                    );
                }
                key.truncate(key_bytes);
                let key_id = new_uuid()?;
                for s in &slaves {
                    pending.push(PendingKey {
                        key_id: key_id.clone(),
                        slave: s.clone(),
                        master: caller.to_owned(),
                        size_bits: req.size,
                        sealed: master.seal(&pending_aad(&key_id, s), &key)?,
                    });
                }
                out.push(KeyItem {
                    key_id,
                    key: b64(&key),
                });
            }
            Ok(pending)
        };
        // A master with a space draws from it (and its consumption is counted); others from
        // the common pool.
        let r = if has_space {
            self.store.space_issue(caller, units, &mut make)
        } else {
            self.store.issue(units, &mut make)
        };
        match r {
            Ok(()) => {}
            Err(StoreError::Insufficient { available, needed }) => {
                return Err(CentreError::Unavailable(format!(
                    "not enough keys: {available} of {needed} key units available"
                )))
            }
            Err(e) => return Err(e.into()),
        }
        if has_space {
            self.record_consumption(caller, units)?;
        }
        let ids: Vec<&str> = out.iter().map(|k| k.key_id.as_str()).collect();
        self.audit(AuditEntry::new(
            AuditEvent::EncKeys,
            caller,
            &slaves.join(","),
            format!("size={} key_IDs={}", req.size, ids.join(",")),
        ))?;
        Ok(KeyContainer { keys: out })
    }

    /// ETSI 014 "Get key with key IDs" (§5.3): `caller` (a slave) fetches keys
    /// that `master` requested for it. All or nothing; each key once.
    ///
    /// # Errors
    /// 401 when a key belongs to another slave (or the caller is refused),
    /// 400 for an unknown master or unknown key IDs.
    pub fn dec_keys(
        &self,
        caller: &str,
        master_id: &str,
        ids: &[String],
    ) -> Result<KeyContainer, CentreError> {
        self.authorise_sae(caller)?;
        self.check_peer("master_SAE_ID", master_id)?;
        let got = self.store.redeem(master_id, caller, ids)?;
        let not_yours: Vec<&str> = got
            .iter()
            .filter_map(|r| match r {
                Redeemed::NotYours(id) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        if !not_yours.is_empty() {
            self.auth_failed(
                caller,
                master_id,
                &format!("not the slave of key_IDs={}", not_yours.join(",")),
            );
            return Err(CentreError::Unauthorized(format!(
                "SAE {caller} is not a slave SAE of the requested keys"
            )));
        }
        let missing: Vec<serde_json::Value> = got
            .iter()
            .filter_map(|r| match r {
                Redeemed::Missing(id) => Some(json!({ "key_ID": id, "error": "not found" })),
                _ => None,
            })
            .collect();
        if !missing.is_empty() {
            return Err(BadRequest {
                message: "key not found".into(),
                details: missing,
            }
            .into());
        }
        let mut keys = Vec::with_capacity(got.len());
        for r in got {
            if let Redeemed::Key(p) = r {
                let k = self
                    .master
                    .open(&pending_aad(&p.key_id, &p.slave), &p.sealed)?;
                keys.push(KeyItem {
                    key_id: p.key_id,
                    key: b64(&k),
                });
            }
        }
        self.audit(AuditEntry::new(
            AuditEvent::DecKeys,
            caller,
            master_id,
            format!("key_IDs={}", ids.join(",")),
        ))?;
        Ok(KeyContainer { keys })
    }

    /// Adds whole units of `bytes` (from a key source) to the pool; returns units added.
    ///
    /// # Errors
    /// Storage, sealing or audit errors.
    pub fn fill_pool(&self, bytes: &[u8], source: &str) -> Result<u64, CentreError> {
        let unit_bytes = (self.cfg.limits.key_size / 8) as usize;
        let mut units = Vec::with_capacity(bytes.len() / unit_bytes);
        for chunk in bytes.chunks_exact(unit_bytes) {
            let id = new_uuid()?;
            let sealed = self.master.seal(format!("pool:{id}").as_bytes(), chunk)?;
            units.push(PoolUnit { id, sealed });
        }
        if units.is_empty() {
            return Ok(0);
        }
        self.store.pool_add(&units)?;
        self.audit(AuditEntry::new(
            AuditEvent::Refill,
            "centre",
            "pool",
            format!("source={source} units={}", units.len()),
        ))?;
        Ok(units.len() as u64)
    }

    fn device(&self, serial: &str) -> Result<DeviceRecord, CentreError> {
        self.store
            .device_get(serial)?
            .ok_or_else(|| CentreError::NoDevice(serial.to_owned()))
    }

    fn is_operator(&self, who: &str) -> Result<(), CentreError> {
        if self.cfg.operators.contains(who) {
            Ok(())
        } else {
            self.auth_failed(who, "operator-api", "not an operator");
            Err(CentreError::Unauthorized(format!(
                "{who} is not an operator"
            )))
        }
    }

    fn save(
        &self,
        mut d: DeviceRecord,
        to: DeviceState,
        ev: AuditEvent,
        op: &str,
        detail: &str,
    ) -> Result<DeviceInfo, CentreError> {
        d.state = to;
        d.updated_ms = now_ms();
        self.store.device_update(&d)?;
        self.audit(AuditEntry::new(ev, op, &d.serial, detail))?;
        self.device_info(op, &d.serial)
    }

    /// Initialises a terminal by serial number and issues its device
    /// credential (the 256-bit pre-shared authentication key of its
    /// key-generation sessions). The credential is returned once.
    ///
    /// # Errors
    /// 401 for a non-operator, 400 for a bad serial, 409 when it exists.
    pub fn device_init(&self, op: &str, serial: &str) -> Result<Zeroizing<[u8; 32]>, CentreError> {
        self.is_operator(op)?;
        if serial.is_empty()
            || serial.len() > 64
            || !serial
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(
                BadRequest::new("serial shall be 1–64 characters of [A-Za-z0-9._-]").into(),
            );
        }
        if self.cfg.known_saes.contains(serial) || self.cfg.operators.contains(serial) {
            return Err(CentreError::Conflict(format!(
                "{serial} is already an SAE or operator name"
            )));
        }
        let mut cred = Zeroizing::new([0u8; 32]);
        random_bytes(cred.as_mut())?;
        let d = DeviceRecord {
            serial: serial.to_owned(),
            state: DeviceState::Initialised,
            user: None,
            pin_hash: None,
            credential: self
                .master
                .seal(format!("device:{serial}").as_bytes(), cred.as_ref())?,
            updated_ms: now_ms(),
        };
        match self.store.device_insert(&d) {
            Ok(()) => {}
            Err(StoreError::DeviceExists(s)) => {
                return Err(CentreError::Conflict(format!("device {s} already exists")))
            }
            Err(e) => return Err(e.into()),
        }
        self.audit(AuditEntry::new(
            AuditEvent::Initialise,
            op,
            serial,
            "credential issued",
        ))?;
        Ok(cred)
    }

    /// The device credential of an active terminal (for its sessions and refills).
    ///
    /// # Errors
    /// 404 unknown, 401 when the terminal is not active.
    pub fn device_credential(&self, serial: &str) -> Result<Zeroizing<[u8; 32]>, CentreError> {
        let d = self.device(serial)?;
        if d.state != DeviceState::Active {
            self.auth_failed(
                "centre",
                serial,
                &format!("credential use while {}", d.state.as_str()),
            );
            return Err(CentreError::Unauthorized(format!(
                "terminal {serial} is {}",
                d.state.as_str()
            )));
        }
        let plain = self
            .master
            .open(format!("device:{serial}").as_bytes(), &d.credential)?;
        let arr: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("credential length".into()))?;
        Ok(Zeroizing::new(arr))
    }

    /// Binds an initialised terminal to `user` with a PIN (stored as an Argon2id hash, RFC 9106).
    ///
    /// # Errors
    /// 401, 404, 400 for a bad PIN, 409 in the wrong state.
    pub fn device_bind(
        &self,
        op: &str,
        serial: &str,
        user: &str,
        pin: &str,
    ) -> Result<DeviceInfo, CentreError> {
        self.is_operator(op)?;
        let mut d = self.device(serial)?;
        if !matches!(d.state, DeviceState::Initialised | DeviceState::Bound) {
            return Err(CentreError::Conflict(format!(
                "device {serial} is {}: cannot bind",
                d.state.as_str()
            )));
        }
        if user.is_empty() || user.len() > 128 {
            return Err(BadRequest::new("user shall be 1–128 characters").into());
        }
        if !(4..=64).contains(&pin.len()) {
            return Err(BadRequest::new("PIN shall be 4–64 characters").into());
        }
        let mut salt = [0u8; 16];
        random_bytes(&mut salt)?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| CentreError::Audit(e.to_string()))?;
        let hash = Argon2::default()
            .hash_password(pin.as_bytes(), &salt)
            .map_err(|e| CentreError::Audit(format!("argon2: {e}")))?
            .to_string();
        d.user = Some(user.to_owned());
        d.pin_hash = Some(hash);
        self.save(
            d,
            DeviceState::Bound,
            AuditEvent::Bind,
            op,
            &format!("user={user}"),
        )
    }

    fn check_pin(&self, op: &str, d: &DeviceRecord, pin: &str) -> Result<(), CentreError> {
        let ok = d
            .pin_hash
            .as_deref()
            .and_then(|h| PasswordHash::new(h).ok())
            .is_some_and(|h| {
                Argon2::default()
                    .verify_password(pin.as_bytes(), &h)
                    .is_ok()
            });
        if ok {
            Ok(())
        } else {
            self.auth_failed(op, &d.serial, "wrong PIN");
            Err(CentreError::Unauthorized("wrong PIN".into()))
        }
    }

    /// The operator check, the device record, and a 409 unless it is in `state`.
    fn device_in(
        &self,
        op: &str,
        serial: &str,
        state: DeviceState,
        action: &str,
    ) -> Result<DeviceRecord, CentreError> {
        self.is_operator(op)?;
        let d = self.device(serial)?;
        if d.state != state {
            return Err(CentreError::Conflict(format!(
                "device {serial} is {}: cannot {action}",
                d.state.as_str()
            )));
        }
        Ok(d)
    }

    /// Activates a bound terminal with its PIN.
    ///
    /// # Errors
    /// 401 (wrong PIN), 404, 409.
    pub fn device_activate(
        &self,
        op: &str,
        serial: &str,
        pin: &str,
    ) -> Result<DeviceInfo, CentreError> {
        let d = self.device_in(op, serial, DeviceState::Bound, "activate")?;
        self.check_pin(op, &d, pin)?;
        self.save(d, DeviceState::Active, AuditEvent::Activate, op, "")
    }

    /// Freezes an active terminal (refused everywhere until unfrozen).
    ///
    /// # Errors
    /// 401, 404, 409.
    pub fn device_freeze(&self, op: &str, serial: &str) -> Result<DeviceInfo, CentreError> {
        let d = self.device_in(op, serial, DeviceState::Active, "freeze")?;
        self.save(d, DeviceState::Frozen, AuditEvent::Freeze, op, "")
    }

    /// Unfreezes a frozen terminal; needs its PIN.
    ///
    /// # Errors
    /// 401 (wrong PIN), 404, 409.
    pub fn device_unfreeze(
        &self,
        op: &str,
        serial: &str,
        pin: &str,
    ) -> Result<DeviceInfo, CentreError> {
        let d = self.device_in(op, serial, DeviceState::Frozen, "unfreeze")?;
        self.check_pin(op, &d, pin)?;
        self.save(d, DeviceState::Active, AuditEvent::Unfreeze, op, "")
    }

    /// Reports a terminal lost: refused for good; keys waiting for it are destroyed.
    ///
    /// # Errors
    /// 401, 404, 409 (already lost or destroyed).
    pub fn device_lost(&self, op: &str, serial: &str) -> Result<DeviceInfo, CentreError> {
        self.is_operator(op)?;
        let d = self.device(serial)?;
        if matches!(d.state, DeviceState::Lost | DeviceState::Destroyed) {
            return Err(CentreError::Conflict(format!(
                "device {serial} is already {}",
                d.state.as_str()
            )));
        }
        let purged = self.store.purge_for(serial)?;
        self.save(
            d,
            DeviceState::Lost,
            AuditEvent::Lost,
            op,
            &format!("pending_keys_destroyed={purged}"),
        )
    }

    /// Destroys a terminal: credential and PIN erased, undelivered keys destroyed.
    ///
    /// # Errors
    /// 401, 404, 409 (already destroyed).
    pub fn device_destroy(&self, op: &str, serial: &str) -> Result<DeviceInfo, CentreError> {
        self.is_operator(op)?;
        let mut d = self.device(serial)?;
        if d.state == DeviceState::Destroyed {
            return Err(CentreError::Conflict(format!(
                "device {serial} is already destroyed"
            )));
        }
        let purged = self.store.purge_for(serial)?;
        d.credential.clear();
        d.pin_hash = None;
        self.save(
            d,
            DeviceState::Destroyed,
            AuditEvent::Destroy,
            op,
            &format!("pending_keys_destroyed={purged}"),
        )
    }

    /// A device's public state.
    ///
    /// # Errors
    /// 401, 404.
    pub fn device_info(&self, op: &str, serial: &str) -> Result<DeviceInfo, CentreError> {
        self.is_operator(op)?;
        let d = self.device(serial)?;
        Ok(DeviceInfo {
            pending_keys: self.store.pending_count_for(serial)?,
            serial: d.serial,
            state: d.state.as_str().to_owned(),
            user: d.user,
        })
    }
}
