//! PostgreSQL tables of the per-peer spaces (see [`crate::centre::store::spaces`]). Moves lock
//! the source space's rows (`FOR UPDATE`) so two centre processes cannot move one unit twice.

use super::PostgresStore;
use crate::centre::store::spaces::{MakeNotices, Notice, SpaceRow, SpaceStore};
use crate::centre::store::{PendingKey, PoolUnit, StoreError};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS spaces (peer TEXT PRIMARY KEY, replenish_s DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS space_units (seq BIGINT PRIMARY KEY, peer TEXT NOT NULL,
  id TEXT NOT NULL UNIQUE, sealed BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS space_units_peer ON space_units(peer, seq);
CREATE TABLE IF NOT EXISTS space_demand (peer TEXT NOT NULL, second BIGINT NOT NULL,
  consumed BIGINT NOT NULL, PRIMARY KEY (peer, second));
CREATE TABLE IF NOT EXISTS migrations (migration BIGSERIAL PRIMARY KEY, from_peer TEXT NOT NULL,
  to_peer TEXT NOT NULL, amount BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (migration BIGINT NOT NULL, peer TEXT NOT NULL, kind TEXT NOT NULL,
  sealed BYTEA NOT NULL, PRIMARY KEY (migration, peer, kind));
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value DOUBLE PRECISION NOT NULL);
";

impl SpaceStore for PostgresStore {
    fn space_configure(&self, peer: &str, replenish_s: f64) -> Result<(), StoreError> {
        self.client()?.execute(
            "INSERT INTO spaces (peer, replenish_s) VALUES ($1, $2)
             ON CONFLICT (peer) DO UPDATE SET replenish_s = EXCLUDED.replenish_s",
            &[&peer, &replenish_s],
        )?;
        Ok(())
    }

    fn spaces(&self) -> Result<Vec<SpaceRow>, StoreError> {
        let rows = self.client()?.query(
            "SELECT s.peer, s.replenish_s, (SELECT COUNT(*) FROM space_units u WHERE u.peer = s.peer)
             FROM spaces s ORDER BY s.peer",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(SpaceRow {
                    peer: r.try_get(0)?,
                    replenish_s: r.try_get(1)?,
                    stored: r.try_get::<_, i64>(2)? as u64,
                })
            })
            .collect()
    }

    fn space_count(&self, peer: &str) -> Result<u64, StoreError> {
        let n: i64 = self
            .client()?
            .query_one("SELECT COUNT(*) FROM space_units WHERE peer = $1", &[&peer])?
            .try_get(0)?;
        Ok(n as u64)
    }

    fn space_ids(&self, peer: &str) -> Result<Vec<String>, StoreError> {
        let rows = self.client()?.query(
            "SELECT id FROM space_units WHERE peer = $1 ORDER BY seq",
            &[&peer],
        )?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    fn space_allocate(&self, peer: &str, units: u64) -> Result<(), StoreError> {
        let mut c = self.client()?;
        let mut tx = c.transaction()?;
        // Pool seq values are unique and only grow, so they keep the space's age order.
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
        let st =
            tx.prepare("INSERT INTO space_units (seq, peer, id, sealed) VALUES ($1, $2, $3, $4)")?;
        for r in &rows {
            let seq: i64 = r.try_get(0)?;
            let id: String = r.try_get(1)?;
            let sealed: Vec<u8> = r.try_get(2)?;
            tx.execute(&st, &[&seq, &peer, &id, &sealed])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn space_issue(
        &self,
        peer: &str,
        units: u64,
        make: &mut dyn FnMut(Vec<PoolUnit>) -> Result<Vec<PendingKey>, StoreError>,
    ) -> Result<(), StoreError> {
        let mut c = self.client()?;
        let mut tx = c.transaction()?;
        let rows = tx.query(
            "DELETE FROM space_units WHERE seq IN (SELECT seq FROM space_units WHERE peer = $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING seq, id, sealed",
            &[&peer, &(units as i64)],
        )?;
        if (rows.len() as u64) < units {
            tx.rollback()?;
            return Err(StoreError::Insufficient {
                available: rows.len() as u64,
                needed: units,
            });
        }
        super::store_pending(&mut tx, &rows, make)?;
        tx.commit()?;
        Ok(())
    }

    fn space_demand_add(&self, peer: &str, second: i64, consumed: u64) -> Result<(), StoreError> {
        self.client()?.execute(
            "INSERT INTO space_demand (peer, second, consumed) VALUES ($1, $2, $3)
             ON CONFLICT (peer, second) DO UPDATE SET consumed = space_demand.consumed + EXCLUDED.consumed",
            &[&peer, &second, &(consumed as i64)],
        )?;
        Ok(())
    }

    fn space_demand(&self, peer: &str, since: i64) -> Result<Vec<(i64, u64)>, StoreError> {
        let rows = self.client()?.query(
            "SELECT second, consumed FROM space_demand WHERE peer = $1 AND second >= $2 ORDER BY second",
            &[&peer, &since],
        )?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get::<_, i64>(1)? as u64)))
            .collect()
    }

    fn space_move(
        &self,
        from: &str,
        to: &str,
        amount: u64,
        notices: &mut MakeNotices<'_>,
    ) -> Result<(i64, Vec<String>), StoreError> {
        let mut c = self.client()?;
        let mut tx = c.transaction()?;
        let rows = tx.query(
            "SELECT seq, id FROM space_units WHERE peer = $1 ORDER BY seq LIMIT $2 FOR UPDATE",
            &[&from, &(amount as i64)],
        )?;
        if (rows.len() as u64) < amount {
            tx.rollback()?;
            return Err(StoreError::Insufficient {
                available: rows.len() as u64,
                needed: amount,
            });
        }
        let up = tx.prepare("UPDATE space_units SET peer = $1 WHERE seq = $2")?;
        let mut ids = Vec::with_capacity(rows.len());
        for r in &rows {
            let seq: i64 = r.try_get(0)?;
            tx.execute(&up, &[&to, &seq])?;
            ids.push(r.try_get::<_, String>(1)?);
        }
        let migration: i64 = tx
            .query_one(
                "INSERT INTO migrations (from_peer, to_peer, amount) VALUES ($1, $2, $3) RETURNING migration",
                &[&from, &to, &(amount as i64)],
            )?
            .try_get(0)?;
        let out = notices(migration, &ids)?;
        let ins = tx.prepare(
            "INSERT INTO outbox (migration, peer, kind, sealed) VALUES ($1, $2, $3, $4)",
        )?;
        for n in &out {
            tx.execute(&ins, &[&n.migration, &n.peer, &n.kind, &n.sealed])?;
        }
        tx.commit()?;
        Ok((migration, ids))
    }

    fn outbox(&self) -> Result<Vec<Notice>, StoreError> {
        let rows = self.client()?.query(
            "SELECT migration, peer, kind, sealed FROM outbox ORDER BY migration, kind",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Notice {
                    migration: r.try_get(0)?,
                    peer: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    sealed: r.try_get(3)?,
                })
            })
            .collect()
    }

    fn setting_get(&self, name: &str) -> Result<Option<f64>, StoreError> {
        let row = self
            .client()?
            .query_opt("SELECT value FROM settings WHERE name = $1", &[&name])?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    fn setting_set(&self, name: &str, value: f64) -> Result<(), StoreError> {
        self.client()?.execute(
            "INSERT INTO settings (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            &[&name, &value],
        )?;
        Ok(())
    }
}
