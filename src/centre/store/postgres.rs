//! PostgreSQL back end for deployments that outgrow one machine: several
//! centre processes may share one database. Pool units are taken with
//! `FOR UPDATE SKIP LOCKED` and audit appends are serialised by a
//! transaction-scoped advisory lock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ::postgres::error::SqlState;
use ::postgres::{Client, NoTls};

use super::{
    hash32, DeviceRecord, DeviceState, KeyStore, PendingKey, PoolUnit, Redeemed, StoreError,
};
use crate::centre::audit::{AuditEntry, AuditRecord};

mod spaces;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pool (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, sealed BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS pending (key_id TEXT NOT NULL, slave TEXT NOT NULL, master TEXT NOT NULL,
  size_bits BIGINT NOT NULL, sealed BYTEA NOT NULL, delivered BOOLEAN NOT NULL DEFAULT FALSE, PRIMARY KEY (key_id, slave));
CREATE INDEX IF NOT EXISTS pending_master ON pending(master);
CREATE INDEX IF NOT EXISTS pending_slave ON pending(slave);
CREATE TABLE IF NOT EXISTS devices (serial TEXT PRIMARY KEY, state TEXT NOT NULL, user_name TEXT,
  pin_hash TEXT, credential BYTEA NOT NULL, updated_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (seq BIGINT PRIMARY KEY, at_ms BIGINT NOT NULL, event TEXT NOT NULL,
  actor TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL, prev BYTEA NOT NULL, hash BYTEA NOT NULL);
";

/// Advisory lock key that serialises audit appends across processes.
const AUDIT_LOCK: i64 = 0x7177_6176_6561_7564;

/// The PostgreSQL store: a few connections used round robin.
pub struct PostgresStore {
    conns: Vec<Mutex<Client>>,
    next: AtomicUsize,
}

impl PostgresStore {
    /// Connects `connections` clients to `url` and creates the schema.
    ///
    /// # Errors
    /// [`StoreError::Postgres`].
    pub fn connect(url: &str, connections: usize) -> Result<Self, StoreError> {
        let mut conns = Vec::with_capacity(connections.max(1));
        for i in 0..connections.max(1) {
            let mut c = Client::connect(url, NoTls)?;
            if i == 0 {
                // Serialise concurrent schema creation by several processes.
                let mut tx = c.transaction()?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&(AUDIT_LOCK + 1)])?;
                tx.batch_execute(SCHEMA)?;
                tx.batch_execute(spaces::SCHEMA)?;
                tx.commit()?;
            }
            conns.push(Mutex::new(c));
        }
        Ok(Self {
            conns,
            next: AtomicUsize::new(0),
        })
    }

    fn client(&self) -> Result<std::sync::MutexGuard<'_, Client>, StoreError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len();
        self.conns[i].lock().map_err(|_| StoreError::Poisoned)
    }
}

fn device_from_row(r: &::postgres::Row) -> Result<DeviceRecord, StoreError> {
    Ok(DeviceRecord {
        serial: r.try_get(0)?,
        state: DeviceState::parse(r.try_get::<_, &str>(1)?)?,
        user: r.try_get(2)?,
        pin_hash: r.try_get(3)?,
        credential: r.try_get(4)?,
        updated_ms: r.try_get(5)?,
    })
}

impl KeyStore for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn pool_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .client()?
            .query_one("SELECT COUNT(*) FROM pool", &[])?
            .try_get(0)?;
        Ok(n as u64)
    }

    fn pool_add(&self, units: &[PoolUnit]) -> Result<(), StoreError> {
        let mut c = self.client()?;
        let mut tx = c.transaction()?;
        let st = tx.prepare("INSERT INTO pool (id, sealed) VALUES ($1, $2)")?;
        for u in units {
            tx.execute(&st, &[&u.id, &u.sealed])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn issue(
        &self,
        units: u64,
        make: &mut dyn FnMut(Vec<PoolUnit>) -> Result<Vec<PendingKey>, StoreError>,
    ) -> Result<(), StoreError> {
        let mut c = self.client()?;
        let mut tx = c.transaction()?;
        let rows = tx.query(
            "DELETE FROM pool WHERE seq IN (SELECT seq FROM pool ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING seq, id, sealed",
            &[&(units as i64)],
        )?;
        if (rows.len() as u64) < units {
            tx.rollback()?;
            let available: i64 = c.query_one("SELECT COUNT(*) FROM pool", &[])?.try_get(0)?;
            return Err(StoreError::Insufficient {
                available: available as u64,
                needed: units,
            });
        }
        store_pending(&mut tx, &rows, make)?;
        tx.commit()?;
        Ok(())
    }

    fn redeem(
        &self,
        master: &str,
        slave: &str,
        key_ids: &[String],
    ) -> Result<Vec<Redeemed>, StoreError> {
        let mut c = self.client()?;
        let mut tx = c.transaction()?;
        let mine = tx.prepare(
            "SELECT size_bits, sealed, delivered FROM pending WHERE key_id = $1 AND master = $2 AND slave = $3 FOR UPDATE",
        )?;
        let other = tx.prepare("SELECT COUNT(*) FROM pending WHERE key_id = $1 AND master = $2")?;
        let mut out = Vec::with_capacity(key_ids.len());
        let mut complete = true;
        for id in key_ids {
            match tx.query_opt(&mine, &[id, &master, &slave])? {
                Some(r) if !r.try_get::<_, bool>(2)? => {
                    let bits: i64 = r.try_get(0)?;
                    out.push(Redeemed::Key(PendingKey {
                        key_id: id.clone(),
                        slave: slave.to_owned(),
                        master: master.to_owned(),
                        size_bits: u32::try_from(bits)
                            .map_err(|_| StoreError::Corrupt("size_bits".into()))?,
                        sealed: r.try_get(1)?,
                    }))
                }
                Some(_) => {
                    complete = false;
                    out.push(Redeemed::Missing(id.clone()));
                }
                None => {
                    complete = false;
                    let n: i64 = tx.query_one(&other, &[id, &master])?.try_get(0)?;
                    out.push(if n > 0 {
                        Redeemed::NotYours(id.clone())
                    } else {
                        Redeemed::Missing(id.clone())
                    });
                }
            }
        }
        if complete {
            // Mark delivered (material wiped) while other slaves still wait, then
            // drop keys every slave has fetched.
            let mark = tx.prepare("UPDATE pending SET delivered = TRUE, sealed = ''::bytea WHERE key_id = $1 AND slave = $2")?;
            let done = tx.prepare(
                "DELETE FROM pending WHERE key_id = $1 AND NOT EXISTS (SELECT 1 FROM pending q WHERE q.key_id = $1 AND NOT q.delivered)",
            )?;
            for id in key_ids {
                tx.execute(&mark, &[id, &slave])?;
                tx.execute(&done, &[id])?;
            }
            tx.commit()?;
        } else {
            tx.rollback()?;
        }
        Ok(out)
    }

    fn pending_for_slave(&self, slave: &str) -> Result<Vec<PendingKey>, StoreError> {
        let rows = self.client()?.query(
            "SELECT key_id, master, size_bits, sealed FROM pending WHERE slave = $1 AND NOT delivered ORDER BY key_id",
            &[&slave],
        )?;
        rows.iter()
            .map(|r| {
                let bits: i64 = r.try_get(2)?;
                Ok(PendingKey {
                    key_id: r.try_get(0)?,
                    slave: slave.to_owned(),
                    master: r.try_get(1)?,
                    size_bits: u32::try_from(bits)
                        .map_err(|_| StoreError::Corrupt("size_bits".into()))?,
                    sealed: r.try_get(3)?,
                })
            })
            .collect()
    }

    fn pending_count_for(&self, sae: &str) -> Result<u64, StoreError> {
        let n: i64 = self
            .client()?
            .query_one(
                "SELECT COUNT(*) FROM pending WHERE (master = $1 OR slave = $1) AND NOT delivered",
                &[&sae],
            )?
            .try_get(0)?;
        Ok(n as u64)
    }

    fn purge_for(&self, sae: &str) -> Result<u64, StoreError> {
        Ok(self.client()?.execute(
            "DELETE FROM pending WHERE master = $1 OR slave = $1",
            &[&sae],
        )?)
    }

    fn device_insert(&self, d: &DeviceRecord) -> Result<(), StoreError> {
        let r = self.client()?.execute(
            "INSERT INTO devices (serial, state, user_name, pin_hash, credential, updated_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&d.serial, &d.state.as_str(), &d.user, &d.pin_hash, &d.credential, &d.updated_ms],
        );
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                Err(StoreError::DeviceExists(d.serial.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn device_get(&self, serial: &str) -> Result<Option<DeviceRecord>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT serial, state, user_name, pin_hash, credential, updated_ms FROM devices WHERE serial = $1",
            &[&serial],
        )?;
        row.as_ref().map(device_from_row).transpose()
    }

    fn device_update(&self, d: &DeviceRecord) -> Result<(), StoreError> {
        let n = self.client()?.execute(
            "UPDATE devices SET state = $2, user_name = $3, pin_hash = $4, credential = $5, updated_ms = $6 WHERE serial = $1",
            &[&d.serial, &d.state.as_str(), &d.user, &d.pin_hash, &d.credential, &d.updated_ms],
        )?;
        if n == 0 {
            return Err(StoreError::DeviceNotFound(d.serial.clone()));
        }
        Ok(())
    }

    fn audit_append(&self, e: &AuditEntry, at_ms: i64) -> Result<AuditRecord, StoreError> {
        let mut c = self.client()?;
        let mut tx = c.transaction()?;
        let rec = audit_in(&mut tx, e, at_ms)?;
        tx.commit()?;
        Ok(rec)
    }

    fn audit_all(&self) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = self.client()?.query(
            "SELECT seq, at_ms, event, actor, subject, detail, prev, hash FROM audit ORDER BY seq",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(AuditRecord {
                    seq: r.try_get::<_, i64>(0)? as u64,
                    at_ms: r.try_get(1)?,
                    event: r.try_get(2)?,
                    actor: r.try_get(3)?,
                    subject: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    prev: hash32(r.try_get(6)?)?,
                    hash: hash32(r.try_get(7)?)?,
                })
            })
            .collect()
    }
}

/// Turns units removed from the pool or a space (`rows` of `seq, id, sealed`)
/// into pending keys with `make`, oldest first, and stores them in `tx` (the
/// caller commits).
fn store_pending(
    tx: &mut postgres::Transaction<'_>,
    rows: &[postgres::Row],
    make: &mut dyn FnMut(Vec<PoolUnit>) -> Result<Vec<PendingKey>, StoreError>,
) -> Result<(), StoreError> {
    let mut taken: Vec<(i64, PoolUnit)> = rows
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                PoolUnit {
                    id: r.try_get(1)?,
                    sealed: r.try_get(2)?,
                },
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    taken.sort_by_key(|(s, _)| *s);
    let pending = make(taken.into_iter().map(|(_, u)| u).collect())?;
    let st = tx.prepare(
        "INSERT INTO pending (key_id, slave, master, size_bits, sealed) VALUES ($1, $2, $3, $4, $5)",
    )?;
    for p in &pending {
        tx.execute(
            &st,
            &[
                &p.key_id,
                &p.slave,
                &p.master,
                &i64::from(p.size_bits),
                &p.sealed,
            ],
        )?;
    }
    Ok(())
}

/// Appends an audit record inside `tx` (same chaining and advisory lock as
/// `KeyStore::audit_append`).
pub(super) fn audit_in(
    tx: &mut postgres::Transaction<'_>,
    e: &AuditEntry,
    at_ms: i64,
) -> Result<AuditRecord, StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])?;
    let last = tx.query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])?;
    let (seq, prev) = match last {
        Some(r) => (r.try_get::<_, i64>(0)? as u64, hash32(r.try_get(1)?)?),
        None => (0, [0u8; 32]),
    };
    let rec = e.chain(seq, prev, at_ms);
    tx.execute(
        "INSERT INTO audit (seq, at_ms, event, actor, subject, detail, prev, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&(rec.seq as i64), &rec.at_ms, &rec.event, &rec.actor, &rec.subject, &rec.detail, &&rec.prev[..], &&rec.hash[..]],
    )?;
    Ok(rec)
}
