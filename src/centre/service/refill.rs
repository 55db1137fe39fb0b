//! Terminal refills relayed by a base station, exactly once: the two-phase commit's centre side.
//!
//! [`Centre::refill_reserve`] issues keys (terminal as master, peer as slave) and, in the same
//! store transaction, keeps the terminal's copies as pending keys of the pseudo-slave
//! `refill:<refill ID>`: the reservation. A repeated reserve of the same refill ID (a retry after
//! a lost chunk, a crashed base station or a restarted centre) returns the reserved keys again
//! instead of issuing new ones. [`Centre::refill_confirm`], sent after the terminal acknowledged,
//! drops the reservation; the peer's copies stay until it fetches them with `dec_keys`.

use std::sync::Mutex;

use base64::Engine as _;
use zeroize::Zeroizing;

use super::{b64, new_uuid, pending_aad, Centre, CentreError};
use crate::centre::audit::{AuditEntry, AuditEvent};
use crate::centre::etsi::{BadRequest, KeyContainer, KeyItem};
use crate::centre::store::{PendingKey, StoreError};

/// Prefix of the pseudo-slave that holds a refill's reservation.
pub const RESERVATION_PREFIX: &str = "refill:";

/// Serialises reservations in this process, so two reserves of one refill ID cannot both issue.
static RESERVE_LOCK: Mutex<()> = Mutex::new(());

fn reservation(refill_id: &str) -> Result<String, CentreError> {
    if refill_id.len() != 32 || !refill_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BadRequest::new("refill_ID shall be 32 hexadecimal digits").into());
    }
    Ok(format!(
        "{RESERVATION_PREFIX}{}",
        refill_id.to_ascii_lowercase()
    ))
}

impl Centre {
    /// A base station must be a registered SAE that is not a terminal.
    fn authorise_station(&self, station: &str) -> Result<(), CentreError> {
        self.authorise_sae(station)?;
        if self.device_state(station)?.is_some() {
            self.auth_failed(station, "refill", "a terminal cannot relay refills");
            return Err(CentreError::Unauthorized(format!(
                "SAE {station} is a terminal, not a base station"
            )));
        }
        Ok(())
    }

    /// Phase 1: `station` reserves `number` keys of the default size for refill `refill_id`
    /// (32 hex digits) of `terminal` (master) shared with `peer` (slave). Idempotent per
    /// refill ID: while the reservation stands, the same keys come back.
    ///
    /// # Errors
    /// 401 for a refused station; 400 for bad IDs, a count of 0 or a retry that names another
    /// terminal, peer or count; 503 when the pool is short.
    pub fn refill_reserve(
        &self,
        station: &str,
        terminal: &str,
        peer: &str,
        refill_id: &str,
        number: u32,
    ) -> Result<KeyContainer, CentreError> {
        self.authorise_station(station)?;
        self.check_peer("master_SAE_ID", terminal)?;
        self.check_peer("slave_SAE_ID", peer)?;
        if terminal == peer {
            return Err(BadRequest::new("the peer shall differ from the terminal").into());
        }
        if number == 0 {
            return Err(BadRequest::new("number shall be at least 1").into());
        }
        let res = reservation(refill_id)?;
        let _guard = RESERVE_LOCK.lock().map_err(|_| StoreError::Poisoned)?;
        let held = self.store.pending_for_slave(&res)?;
        if !held.is_empty() {
            if held.len() != number as usize || held.iter().any(|p| p.master != terminal) {
                return Err(
                    BadRequest::new("refill_ID is reserved for another terminal or count").into(),
                );
            }
            let mut keys = Vec::with_capacity(held.len());
            for p in held {
                let k = self
                    .master
                    .open(&pending_aad(&p.key_id, &p.slave), &p.sealed)?;
                keys.push(KeyItem {
                    key_id: p.key_id,
                    key: b64(&k),
                });
            }
            return Ok(KeyContainer { keys });
        }
        let size = self.cfg.limits.key_size;
        let master = &self.master;
        let mut out = Vec::with_capacity(number as usize);
        let r = self.store.issue(u64::from(number), &mut |taken| {
            let mut pending = Vec::with_capacity(2 * taken.len());
            for u in &taken {
                let key = master.open(format!("pool:{}", u.id).as_bytes(), &u.sealed)?;
                let key_id = new_uuid()?;
                for slave in [peer, res.as_str()] {
                    pending.push(PendingKey {
                        key_id: key_id.clone(),
                        slave: slave.to_owned(),
                        master: terminal.to_owned(),
                        size_bits: size,
                        sealed: master.seal(&pending_aad(&key_id, slave), &key)?,
                    });
                }
                out.push((key_id, key));
            }
            Ok(pending)
        });
        match r {
            Ok(()) => {}
            Err(StoreError::Insufficient { available, needed }) => {
                return Err(CentreError::Unavailable(format!(
                    "not enough keys: {available} of {needed} key units available"
                )))
            }
            Err(e) => return Err(e.into()),
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        let ids: Vec<&str> = out.iter().map(|(id, _)| id.as_str()).collect();
        self.audit(AuditEntry::new(
            AuditEvent::Refill,
            station,
            &format!("{terminal},{peer}"),
            format!(
                "reserve refill_ID={refill_id} size={size} key_IDs={}",
                ids.join(",")
            ),
        ))?;
        Ok(KeyContainer {
            keys: out
                .into_iter()
                .map(|(key_id, key)| KeyItem {
                    key_id,
                    key: b64(&key),
                })
                .collect(),
        })
    }

    /// Phase 2: the terminal acknowledged refill `refill_id`; drops the reservation (the
    /// terminal's copies). Idempotent: returns the number of keys released, 0 on a repeat.
    ///
    /// # Errors
    /// 401 for a refused station; 400 for a bad ID.
    pub fn refill_confirm(&self, station: &str, refill_id: &str) -> Result<u64, CentreError> {
        self.authorise_station(station)?;
        let res = reservation(refill_id)?;
        let _guard = RESERVE_LOCK.lock().map_err(|_| StoreError::Poisoned)?;
        let n = self.store.purge_for(&res)?;
        if n > 0 {
            self.audit(AuditEntry::new(
                AuditEvent::Refill,
                station,
                "refill",
                format!("confirm refill_ID={refill_id} keys={n}"),
            ))?;
        }
        Ok(n)
    }
}

/// Decodes a container's base64 keys (the base station's side of a reservation).
///
/// # Errors
/// 400-style [`BadRequest`] if a key is not base64.
pub fn decode_keys(c: KeyContainer) -> Result<Vec<crate::refill::RefillKey>, BadRequest> {
    let b = base64::engine::general_purpose::STANDARD;
    c.keys
        .into_iter()
        .map(|k| {
            Ok(crate::refill::RefillKey {
                key: Zeroizing::new(
                    b.decode(k.key.as_bytes())
                        .map_err(|_| BadRequest::new("key is not base64"))?,
                ),
                key_id: k.key_id,
            })
        })
        .collect()
}
