//! SQLite back end (one connection behind a mutex, WAL, `synchronous=FULL`
//! so a delivered key never comes back after a crash).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{
    hash32, DeviceRecord, DeviceState, KeyStore, PendingKey, PoolUnit, Redeemed, StoreError,
};
use crate::centre::audit::{AuditEntry, AuditRecord};

mod spaces;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pool (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pending (key_id TEXT NOT NULL, slave TEXT NOT NULL, master TEXT NOT NULL,
  size_bits INTEGER NOT NULL, sealed BLOB NOT NULL, delivered INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (key_id, slave));
CREATE INDEX IF NOT EXISTS pending_master ON pending(master);
CREATE INDEX IF NOT EXISTS pending_slave ON pending(slave);
CREATE TABLE IF NOT EXISTS devices (serial TEXT PRIMARY KEY, state TEXT NOT NULL, user_name TEXT,
  pin_hash TEXT, credential BLOB NOT NULL, updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, event TEXT NOT NULL,
  actor TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL);
";

/// The embedded SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(spaces::SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }
}

type DeviceRow = (String, String, Option<String>, Option<String>, Vec<u8>, i64);

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

impl KeyStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn pool_count(&self) -> Result<u64, StoreError> {
        let c = self.lock()?;
        let n: i64 = c.query_row("SELECT COUNT(*) FROM pool", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn pool_add(&self, units: &[PoolUnit]) -> Result<(), StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction()?;
        {
            let mut st = tx.prepare_cached("INSERT INTO pool (id, sealed) VALUES (?1, ?2)")?;
            for u in units {
                st.execute(params![u.id, u.sealed])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn issue(
        &self,
        units: u64,
        make: &mut dyn FnMut(Vec<PoolUnit>) -> Result<Vec<PendingKey>, StoreError>,
    ) -> Result<(), StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken: Vec<(i64, PoolUnit)> = {
            let mut st =
                tx.prepare_cached("SELECT seq, id, sealed FROM pool ORDER BY seq LIMIT ?1")?;
            let rows = st.query_map(params![units as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    PoolUnit {
                        id: r.get(1)?,
                        sealed: r.get(2)?,
                    },
                ))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        if (taken.len() as u64) < units {
            let available: i64 = tx.query_row("SELECT COUNT(*) FROM pool", [], |r| r.get(0))?;
            return Err(StoreError::Insufficient {
                available: available as u64,
                needed: units,
            });
        }
        move_to_pending(&tx, "pool", taken, make)?;
        tx.commit()?;
        Ok(())
    }

    fn redeem(
        &self,
        master: &str,
        slave: &str,
        key_ids: &[String],
    ) -> Result<Vec<Redeemed>, StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(key_ids.len());
        let mut complete = true;
        {
            let mut mine = tx.prepare_cached(
                "SELECT size_bits, sealed, delivered FROM pending WHERE key_id = ?1 AND master = ?2 AND slave = ?3",
            )?;
            let mut other = tx
                .prepare_cached("SELECT COUNT(*) FROM pending WHERE key_id = ?1 AND master = ?2")?;
            for id in key_ids {
                let row: Option<(u32, Vec<u8>, bool)> = mine
                    .query_row(params![id, master, slave], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()?;
                match row {
                    Some((size_bits, sealed, false)) => out.push(Redeemed::Key(PendingKey {
                        key_id: id.clone(),
                        slave: slave.to_owned(),
                        master: master.to_owned(),
                        size_bits,
                        sealed,
                    })),
                    Some((_, _, true)) => {
                        complete = false;
                        out.push(Redeemed::Missing(id.clone()));
                    }
                    None => {
                        complete = false;
                        let n: i64 = other.query_row(params![id, master], |r| r.get(0))?;
                        out.push(if n > 0 {
                            Redeemed::NotYours(id.clone())
                        } else {
                            Redeemed::Missing(id.clone())
                        });
                    }
                }
            }
        }
        if complete {
            {
                // Mark delivered (material wiped) while other slaves still wait, then
                // drop keys every slave has fetched.
                let mut mark = tx.prepare_cached(
                    "UPDATE pending SET delivered = 1, sealed = X'' WHERE key_id = ?1 AND slave = ?2",
                )?;
                let mut done = tx.prepare_cached(
                    "DELETE FROM pending WHERE key_id = ?1 AND NOT EXISTS (SELECT 1 FROM pending WHERE key_id = ?1 AND delivered = 0)",
                )?;
                for id in key_ids {
                    mark.execute(params![id, slave])?;
                    done.execute(params![id])?;
                }
            }
            tx.commit()?;
        }
        Ok(out)
    }

    fn pending_for_slave(&self, slave: &str) -> Result<Vec<PendingKey>, StoreError> {
        let c = self.lock()?;
        let mut st = c.prepare_cached(
            "SELECT key_id, master, size_bits, sealed FROM pending WHERE slave = ?1 AND delivered = 0 ORDER BY key_id",
        )?;
        let rows = st.query_map(params![slave], |r| {
            Ok(PendingKey {
                key_id: r.get(0)?,
                slave: slave.to_owned(),
                master: r.get(1)?,
                size_bits: r.get(2)?,
                sealed: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn pending_count_for(&self, sae: &str) -> Result<u64, StoreError> {
        let c = self.lock()?;
        let n: i64 = c.query_row(
            "SELECT COUNT(*) FROM pending WHERE (master = ?1 OR slave = ?1) AND delivered = 0",
            params![sae],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    fn purge_for(&self, sae: &str) -> Result<u64, StoreError> {
        let c = self.lock()?;
        Ok(c.execute(
            "DELETE FROM pending WHERE master = ?1 OR slave = ?1",
            params![sae],
        )? as u64)
    }

    fn device_insert(&self, d: &DeviceRecord) -> Result<(), StoreError> {
        let c = self.lock()?;
        let r = c.execute(
            "INSERT INTO devices (serial, state, user_name, pin_hash, credential, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![d.serial, d.state.as_str(), d.user, d.pin_hash, d.credential, d.updated_ms],
        );
        match r {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::DeviceExists(d.serial.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn device_get(&self, serial: &str) -> Result<Option<DeviceRecord>, StoreError> {
        let c = self.lock()?;
        let row = c
            .query_row(
                "SELECT serial, state, user_name, pin_hash, credential, updated_ms FROM devices WHERE serial = ?1",
                params![serial],
                device_from_row,
            )
            .optional()?;
        row.map(|(serial, state, user, pin_hash, credential, updated_ms)| {
            Ok(DeviceRecord {
                serial,
                state: DeviceState::parse(&state)?,
                user,
                pin_hash,
                credential,
                updated_ms,
            })
        })
        .transpose()
    }

    fn device_update(&self, d: &DeviceRecord) -> Result<(), StoreError> {
        let c = self.lock()?;
        let n = c.execute(
            "UPDATE devices SET state = ?2, user_name = ?3, pin_hash = ?4, credential = ?5, updated_ms = ?6 WHERE serial = ?1",
            params![d.serial, d.state.as_str(), d.user, d.pin_hash, d.credential, d.updated_ms],
        )?;
        if n == 0 {
            return Err(StoreError::DeviceNotFound(d.serial.clone()));
        }
        Ok(())
    }

    fn audit_append(&self, e: &AuditEntry, at_ms: i64) -> Result<AuditRecord, StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rec = audit_in(&tx, e, at_ms)?;
        tx.commit()?;
        Ok(rec)
    }

    fn audit_all(&self) -> Result<Vec<AuditRecord>, StoreError> {
        let c = self.lock()?;
        let mut st = c.prepare(
            "SELECT seq, at_ms, event, actor, subject, detail, prev, hash FROM audit ORDER BY seq",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Vec<u8>>(6)?,
                r.get::<_, Vec<u8>>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at_ms, event, actor, subject, detail, prev, hash) = row?;
            out.push(AuditRecord {
                seq: seq as u64,
                at_ms,
                event,
                actor,
                subject,
                detail,
                prev: hash32(prev)?,
                hash: hash32(hash)?,
            });
        }
        Ok(out)
    }
}

/// Deletes the `taken` units (`seq`, unit) from `table` (the pool or
/// `space_units`), turns them into pending keys with `make` and stores them,
/// all in `tx` (the caller commits).
fn move_to_pending(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
    taken: Vec<(i64, PoolUnit)>,
    make: &mut dyn FnMut(Vec<PoolUnit>) -> Result<Vec<PendingKey>, StoreError>,
) -> Result<(), StoreError> {
    {
        let mut del = tx.prepare_cached(&format!("DELETE FROM {table} WHERE seq = ?1"))?;
        for (seq, _) in &taken {
            del.execute(params![seq])?;
        }
    }
    let pending = make(taken.into_iter().map(|(_, u)| u).collect())?;
    let mut ins = tx.prepare_cached(
        "INSERT INTO pending (key_id, slave, master, size_bits, sealed) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for p in &pending {
        ins.execute(params![p.key_id, p.slave, p.master, p.size_bits, p.sealed])?;
    }
    Ok(())
}

/// Appends an audit record inside `tx` (same chaining as `KeyStore::audit_append`).
pub(super) fn audit_in(
    tx: &rusqlite::Transaction<'_>,
    e: &AuditEntry,
    at_ms: i64,
) -> Result<AuditRecord, StoreError> {
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (s as u64, hash32(h)?),
        None => (0, [0u8; 32]),
    };
    let rec = e.chain(seq, prev, at_ms);
    tx.execute(
        "INSERT INTO audit (seq, at_ms, event, actor, subject, detail, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![rec.seq as i64, rec.at_ms, rec.event, rec.actor, rec.subject, rec.detail, &rec.prev[..], &rec.hash[..]],
    )?;
    Ok(rec)
}
