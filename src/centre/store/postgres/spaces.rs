//! PostgreSQL tables of the per-peer spaces (see [`crate::centre::store::spaces`]). Moves lock
//! the source space's rows (`FOR UPDATE`) so two centre processes cannot move one unit twice.

use super::{audit_in, PostgresStore};
use crate::centre::store::spaces::{
    MakeNotices, Moved, Notice, Outgoing, SealNotice, SpaceRow, SpaceStore, SpaceSync,
};
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
CREATE TABLE IF NOT EXISTS space_shared (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS space_inflight (id TEXT PRIMARY KEY, migration BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS space_consumed (peer TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (peer, id));
CREATE TABLE IF NOT EXISTS outbox_wire (migration BIGINT NOT NULL, peer TEXT NOT NULL, kind TEXT NOT NULL,
  key_id TEXT NOT NULL, wire BYTEA NOT NULL, PRIMARY KEY (migration, peer, kind));
";

/// Units of a space that may be consumed or moved: not in flight to their peer.
const MOVABLE: &str = "peer = $1 AND id NOT IN (SELECT id FROM space_inflight)";

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
            &format!("DELETE FROM space_units WHERE seq IN (SELECT seq FROM space_units WHERE {MOVABLE} ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING seq, id, sealed"),
            &[&peer, &(units as i64)],
        )?;
        if (rows.len() as u64) < units {
            tx.rollback()?;
            return Err(StoreError::Insufficient {
                available: rows.len() as u64,
                needed: units,
            });
        }
        // The peer may hold copies: it drops them at its next sync.
        let unshare = tx.prepare("DELETE FROM space_shared WHERE id = $1")?;
        let consumed = tx.prepare(
            "INSERT INTO space_consumed (peer, id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )?;
        for r in &rows {
            let id: String = r.try_get(1)?;
            tx.execute(&unshare, &[&id])?;
            tx.execute(&consumed, &[&peer, &id])?;
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
        at_ms: i64,
        notices: &mut MakeNotices<'_>,
    ) -> Result<Moved, StoreError> {
        let mut c = self.client()?;
        let mut tx = c.transaction()?;
        let rows = tx.query(
            &format!("SELECT seq, id, sealed FROM space_units WHERE {MOVABLE} ORDER BY seq LIMIT $2 FOR UPDATE"),
            &[&from, &(amount as i64)],
        )?;
        if (rows.len() as u64) < amount {
            tx.rollback()?;
            return Err(StoreError::Insufficient {
                available: rows.len() as u64,
                needed: amount,
            });
        }
        let migration: i64 = tx
            .query_one(
                "INSERT INTO migrations (from_peer, to_peer, amount) VALUES ($1, $2, $3) RETURNING migration",
                &[&from, &to, &(amount as i64)],
            )?
            .try_get(0)?;
        let up = tx.prepare("UPDATE space_units SET peer = $1 WHERE seq = $2")?;
        let unshare = tx.prepare("DELETE FROM space_shared WHERE id = $1")?;
        let fly = tx.prepare("INSERT INTO space_inflight (id, migration) VALUES ($1, $2)")?;
        let mut units = Vec::with_capacity(rows.len());
        for r in &rows {
            let seq: i64 = r.try_get(0)?;
            let u = PoolUnit {
                id: r.try_get(1)?,
                sealed: r.try_get(2)?,
            };
            tx.execute(&up, &[&to, &seq])?;
            tx.execute(&unshare, &[&u.id])?;
            tx.execute(&fly, &[&u.id, &migration])?;
            units.push(u);
        }
        let (out, entry) = notices(migration, &units)?;
        let ins = tx.prepare(
            "INSERT INTO outbox (migration, peer, kind, sealed) VALUES ($1, $2, $3, $4)",
        )?;
        for n in &out {
            tx.execute(&ins, &[&n.migration, &n.peer, &n.kind, &n.sealed])?;
        }
        let audit = audit_in(&mut tx, &entry, at_ms)?;
        tx.commit()?;
        Ok(Moved {
            migration,
            ids: units.into_iter().map(|u| u.id).collect(),
            audit,
        })
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

    fn space_sync(&self, peer: &str) -> Result<SpaceSync, StoreError> {
        let mut c = self.client()?;
        let rows = c.query(
            &format!(
                "SELECT id, sealed FROM space_units WHERE {MOVABLE}
                 AND id NOT IN (SELECT id FROM space_shared) ORDER BY seq"
            ),
            &[&peer],
        )?;
        let units = rows
            .iter()
            .map(|r| {
                Ok(PoolUnit {
                    id: r.try_get(0)?,
                    sealed: r.try_get(1)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let consumed = c
            .query(
                "SELECT id FROM space_consumed WHERE peer = $1 ORDER BY id",
                &[&peer],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect::<Result<_, StoreError>>()?;
        Ok(SpaceSync { units, consumed })
    }

    fn space_sync_ack(
        &self,
        peer: &str,
        shared: &[String],
        consumed: &[String],
    ) -> Result<(u64, u64), StoreError> {
        let mut c = self.client()?;
        let mut tx = c.transaction()?;
        let share = tx.prepare(&format!(
            "INSERT INTO space_shared (id) SELECT id FROM space_units WHERE {MOVABLE} AND id = $2
             ON CONFLICT DO NOTHING"
        ))?;
        let forget = tx.prepare("DELETE FROM space_consumed WHERE peer = $1 AND id = $2")?;
        let (mut s, mut k) = (0u64, 0u64);
        for id in shared {
            s += tx.execute(&share, &[&peer, id])?;
        }
        for id in consumed {
            k += tx.execute(&forget, &[&peer, id])?;
        }
        tx.commit()?;
        Ok((s, k))
    }

    fn space_units(&self, peer: &str) -> Result<Vec<PoolUnit>, StoreError> {
        let rows = self.client()?.query(
            "SELECT id, sealed FROM space_units WHERE peer = $1 ORDER BY seq",
            &[&peer],
        )?;
        rows.iter()
            .map(|r| {
                Ok(PoolUnit {
                    id: r.try_get(0)?,
                    sealed: r.try_get(1)?,
                })
            })
            .collect()
    }

    fn space_shared_ids(&self, peer: &str) -> Result<Vec<String>, StoreError> {
        let rows = self.client()?.query(
            "SELECT u.id FROM space_units u JOIN space_shared s ON s.id = u.id
             WHERE u.peer = $1 ORDER BY u.seq",
            &[&peer],
        )?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    fn notices_deliver(
        &self,
        peer: &str,
        seal: &mut SealNotice<'_>,
    ) -> Result<(Vec<Outgoing>, u64), StoreError> {
        let mut c = self.client()?;
        let mut tx = c.transaction()?;
        // Lock the peer's outbox so two centre processes cannot encrypt one notice twice.
        tx.query(
            "SELECT migration FROM outbox WHERE peer = $1 FOR UPDATE",
            &[&peer],
        )?;
        let rows = tx.query(
            "SELECT o.migration, o.peer, o.kind, o.sealed, w.key_id, w.wire FROM outbox o
             LEFT JOIN outbox_wire w ON w.migration = o.migration AND w.peer = o.peer AND w.kind = o.kind
             WHERE o.peer = $1 ORDER BY o.migration, o.kind",
            &[&peer],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        let mut waiting = 0u64;
        for r in &rows {
            if waiting > 0 {
                waiting += 1;
                continue;
            }
            let notice = Notice {
                migration: r.try_get(0)?,
                peer: r.try_get(1)?,
                kind: r.try_get(2)?,
                sealed: r.try_get(3)?,
            };
            let key_id: Option<String> = r.try_get(4)?;
            let wire: Option<Vec<u8>> = r.try_get(5)?;
            if let Some((key_id, wire)) = key_id.zip(wire) {
                out.push(Outgoing {
                    notice,
                    key_id,
                    wire,
                });
                continue;
            }
            let key = tx.query_opt(
                "SELECT u.seq, u.id, u.sealed FROM space_units u JOIN space_shared s ON s.id = u.id
                 WHERE u.peer = $1 ORDER BY u.seq DESC LIMIT 1 FOR UPDATE OF u",
                &[&peer],
            )?;
            let Some(key) = key else {
                waiting = 1;
                continue;
            };
            let seq: i64 = key.try_get(0)?;
            let key = PoolUnit {
                id: key.try_get(1)?,
                sealed: key.try_get(2)?,
            };
            tx.execute("DELETE FROM space_units WHERE seq = $1", &[&seq])?;
            tx.execute("DELETE FROM space_shared WHERE id = $1", &[&key.id])?;
            let wire = seal(&notice, &key)?;
            tx.execute(
                "INSERT INTO outbox_wire (migration, peer, kind, key_id, wire) VALUES ($1, $2, $3, $4, $5)",
                &[&notice.migration, &notice.peer, &notice.kind, &key.id, &wire],
            )?;
            out.push(Outgoing {
                notice,
                key_id: key.id,
                wire,
            });
        }
        tx.commit()?;
        Ok((out, waiting))
    }

    fn notice_ack(&self, peer: &str, migration: i64, kind: &str) -> Result<bool, StoreError> {
        let mut c = self.client()?;
        let mut tx = c.transaction()?;
        let n = tx.execute(
            "DELETE FROM outbox_wire WHERE migration = $1 AND peer = $2 AND kind = $3",
            &[&migration, &peer, &kind],
        )?;
        if n == 0 {
            tx.rollback()?;
            return Ok(false);
        }
        tx.execute(
            "DELETE FROM outbox WHERE migration = $1 AND peer = $2 AND kind = $3",
            &[&migration, &peer, &kind],
        )?;
        if kind == "keys" {
            tx.execute(
                "INSERT INTO space_shared (id) SELECT i.id FROM space_inflight i
                 JOIN space_units u ON u.id = i.id WHERE i.migration = $1 AND u.peer = $2
                 ON CONFLICT DO NOTHING",
                &[&migration, &peer],
            )?;
            tx.execute(
                "DELETE FROM space_inflight WHERE migration = $1",
                &[&migration],
            )?;
        }
        tx.commit()?;
        Ok(true)
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
