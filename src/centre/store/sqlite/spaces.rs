//! SQLite tables of the per-peer spaces (see [`crate::centre::store::spaces`]).

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::SqliteStore;
use crate::centre::store::spaces::{MakeNotices, Notice, SpaceRow, SpaceStore};
use crate::centre::store::{PendingKey, PoolUnit, StoreError};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS spaces (peer TEXT PRIMARY KEY, replenish_s REAL NOT NULL);
CREATE TABLE IF NOT EXISTS space_units (seq INTEGER PRIMARY KEY AUTOINCREMENT, peer TEXT NOT NULL,
  id TEXT NOT NULL UNIQUE, sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS space_units_peer ON space_units(peer, seq);
CREATE TABLE IF NOT EXISTS space_demand (peer TEXT NOT NULL, second INTEGER NOT NULL,
  consumed INTEGER NOT NULL, PRIMARY KEY (peer, second));
CREATE TABLE IF NOT EXISTS migrations (migration INTEGER PRIMARY KEY AUTOINCREMENT, from_peer TEXT NOT NULL,
  to_peer TEXT NOT NULL, amount INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (migration INTEGER NOT NULL, peer TEXT NOT NULL, kind TEXT NOT NULL,
  sealed BLOB NOT NULL, PRIMARY KEY (migration, peer, kind));
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value REAL NOT NULL);
";

fn count(tx: &rusqlite::Connection, peer: &str) -> Result<u64, StoreError> {
    let n: i64 = tx.query_row(
        "SELECT COUNT(*) FROM space_units WHERE peer = ?1",
        params![peer],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

impl SpaceStore for SqliteStore {
    fn space_configure(&self, peer: &str, replenish_s: f64) -> Result<(), StoreError> {
        self.lock()?.execute(
            "INSERT INTO spaces (peer, replenish_s) VALUES (?1, ?2)
             ON CONFLICT(peer) DO UPDATE SET replenish_s = excluded.replenish_s",
            params![peer, replenish_s],
        )?;
        Ok(())
    }

    fn spaces(&self) -> Result<Vec<SpaceRow>, StoreError> {
        let c = self.lock()?;
        let mut st = c.prepare_cached(
            "SELECT s.peer, s.replenish_s, (SELECT COUNT(*) FROM space_units u WHERE u.peer = s.peer)
             FROM spaces s ORDER BY s.peer",
        )?;
        let rows = st.query_map([], |r| {
            Ok(SpaceRow {
                peer: r.get(0)?,
                replenish_s: r.get(1)?,
                stored: r.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn space_count(&self, peer: &str) -> Result<u64, StoreError> {
        let c = self.lock()?;
        count(&c, peer)
    }

    fn space_ids(&self, peer: &str) -> Result<Vec<String>, StoreError> {
        let c = self.lock()?;
        let mut st = c.prepare_cached("SELECT id FROM space_units WHERE peer = ?1 ORDER BY seq")?;
        let rows = st.query_map(params![peer], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn space_allocate(&self, peer: &str, units: u64) -> Result<(), StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let available: i64 = tx.query_row("SELECT COUNT(*) FROM pool", [], |r| r.get(0))?;
        if (available as u64) < units {
            return Err(StoreError::Insufficient {
                available: available as u64,
                needed: units,
            });
        }
        tx.execute(
            "INSERT INTO space_units (peer, id, sealed)
             SELECT ?1, id, sealed FROM pool ORDER BY seq LIMIT ?2",
            params![peer, units as i64],
        )?;
        tx.execute(
            "DELETE FROM pool WHERE seq IN (SELECT seq FROM pool ORDER BY seq LIMIT ?1)",
            params![units as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn space_issue(
        &self,
        peer: &str,
        units: u64,
        make: &mut dyn FnMut(Vec<PoolUnit>) -> Result<Vec<PendingKey>, StoreError>,
    ) -> Result<(), StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken: Vec<(i64, PoolUnit)> = {
            let mut st = tx.prepare_cached(
                "SELECT seq, id, sealed FROM space_units WHERE peer = ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = st.query_map(params![peer, units as i64], |r| {
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
            return Err(StoreError::Insufficient {
                available: taken.len() as u64,
                needed: units,
            });
        }
        super::move_to_pending(&tx, "space_units", taken, make)?;
        tx.commit()?;
        Ok(())
    }

    fn space_demand_add(&self, peer: &str, second: i64, consumed: u64) -> Result<(), StoreError> {
        self.lock()?.execute(
            "INSERT INTO space_demand (peer, second, consumed) VALUES (?1, ?2, ?3)
             ON CONFLICT(peer, second) DO UPDATE SET consumed = consumed + excluded.consumed",
            params![peer, second, consumed as i64],
        )?;
        Ok(())
    }

    fn space_demand(&self, peer: &str, since: i64) -> Result<Vec<(i64, u64)>, StoreError> {
        let c = self.lock()?;
        let mut st = c.prepare_cached(
            "SELECT second, consumed FROM space_demand WHERE peer = ?1 AND second >= ?2 ORDER BY second",
        )?;
        let rows = st.query_map(params![peer, since], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn space_move(
        &self,
        from: &str,
        to: &str,
        amount: u64,
        notices: &mut MakeNotices<'_>,
    ) -> Result<(i64, Vec<String>), StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let moved: Vec<(i64, String)> = {
            let mut st = tx.prepare_cached(
                "SELECT seq, id FROM space_units WHERE peer = ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows =
                st.query_map(params![from, amount as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        if (moved.len() as u64) < amount {
            return Err(StoreError::Insufficient {
                available: moved.len() as u64,
                needed: amount,
            });
        }
        {
            let mut up = tx.prepare_cached("UPDATE space_units SET peer = ?1 WHERE seq = ?2")?;
            for (seq, _) in &moved {
                up.execute(params![to, seq])?;
            }
        }
        tx.execute(
            "INSERT INTO migrations (from_peer, to_peer, amount) VALUES (?1, ?2, ?3)",
            params![from, to, amount as i64],
        )?;
        let migration = tx.last_insert_rowid();
        let ids: Vec<String> = moved.into_iter().map(|(_, id)| id).collect();
        let out = notices(migration, &ids)?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO outbox (migration, peer, kind, sealed) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for n in &out {
                ins.execute(params![n.migration, n.peer, n.kind, n.sealed])?;
            }
        }
        tx.commit()?;
        Ok((migration, ids))
    }

    fn outbox(&self) -> Result<Vec<Notice>, StoreError> {
        let c = self.lock()?;
        let mut st = c.prepare_cached(
            "SELECT migration, peer, kind, sealed FROM outbox ORDER BY migration, kind",
        )?;
        let rows = st.query_map([], |r| {
            Ok(Notice {
                migration: r.get(0)?,
                peer: r.get(1)?,
                kind: r.get(2)?,
                sealed: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn setting_get(&self, name: &str) -> Result<Option<f64>, StoreError> {
        Ok(self
            .lock()?
            .query_row(
                "SELECT value FROM settings WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn setting_set(&self, name: &str, value: f64) -> Result<(), StoreError> {
        self.lock()?.execute(
            "INSERT INTO settings (name, value) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
        Ok(())
    }
}
