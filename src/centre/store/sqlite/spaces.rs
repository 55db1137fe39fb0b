//! SQLite tables of the per-peer spaces (see [`crate::centre::store::spaces`]).

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{audit_in, SqliteStore};
use crate::centre::store::spaces::{
    MakeNotices, Moved, Notice, Outgoing, SealNotice, SpaceRow, SpaceStore, SpaceSync,
};
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
CREATE TABLE IF NOT EXISTS space_shared (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS space_inflight (id TEXT PRIMARY KEY, migration INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS space_consumed (peer TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (peer, id));
CREATE TABLE IF NOT EXISTS outbox_wire (migration INTEGER NOT NULL, peer TEXT NOT NULL, kind TEXT NOT NULL,
  key_id TEXT NOT NULL, wire BLOB NOT NULL, PRIMARY KEY (migration, peer, kind));
";

/// Units of a space that may be consumed or moved: not in flight to their peer.
const MOVABLE: &str = "peer = ?1 AND id NOT IN (SELECT id FROM space_inflight)";

fn ids_of(tx: &rusqlite::Connection, sql: &str, peer: &str) -> Result<Vec<String>, StoreError> {
    let mut st = tx.prepare_cached(sql)?;
    let rows = st.query_map(params![peer], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

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
            let mut st = tx.prepare_cached(&format!(
                "SELECT seq, id, sealed FROM space_units WHERE {MOVABLE} ORDER BY seq LIMIT ?2"
            ))?;
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
        {
            // The peer may hold copies: it drops them at its next sync.
            let mut unshare = tx.prepare_cached("DELETE FROM space_shared WHERE id = ?1")?;
            let mut consumed = tx.prepare_cached(
                "INSERT OR IGNORE INTO space_consumed (peer, id) VALUES (?1, ?2)",
            )?;
            for (_, u) in &taken {
                unshare.execute(params![u.id])?;
                consumed.execute(params![peer, u.id])?;
            }
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
        at_ms: i64,
        notices: &mut MakeNotices<'_>,
    ) -> Result<Moved, StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let moved: Vec<(i64, PoolUnit)> = {
            let mut st = tx.prepare_cached(&format!(
                "SELECT seq, id, sealed FROM space_units WHERE {MOVABLE} ORDER BY seq LIMIT ?2"
            ))?;
            let rows = st.query_map(params![from, amount as i64], |r| {
                Ok((
                    r.get(0)?,
                    PoolUnit {
                        id: r.get(1)?,
                        sealed: r.get(2)?,
                    },
                ))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        if (moved.len() as u64) < amount {
            return Err(StoreError::Insufficient {
                available: moved.len() as u64,
                needed: amount,
            });
        }
        tx.execute(
            "INSERT INTO migrations (from_peer, to_peer, amount) VALUES (?1, ?2, ?3)",
            params![from, to, amount as i64],
        )?;
        let migration = tx.last_insert_rowid();
        {
            let mut up = tx.prepare_cached("UPDATE space_units SET peer = ?1 WHERE seq = ?2")?;
            let mut unshare = tx.prepare_cached("DELETE FROM space_shared WHERE id = ?1")?;
            let mut fly =
                tx.prepare_cached("INSERT INTO space_inflight (id, migration) VALUES (?1, ?2)")?;
            for (seq, u) in &moved {
                up.execute(params![to, seq])?;
                unshare.execute(params![u.id])?;
                fly.execute(params![u.id, migration])?;
            }
        }
        let units: Vec<PoolUnit> = moved.into_iter().map(|(_, u)| u).collect();
        let (out, entry) = notices(migration, &units)?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO outbox (migration, peer, kind, sealed) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for n in &out {
                ins.execute(params![n.migration, n.peer, n.kind, n.sealed])?;
            }
        }
        let audit = audit_in(&tx, &entry, at_ms)?;
        tx.commit()?;
        Ok(Moved {
            migration,
            ids: units.into_iter().map(|u| u.id).collect(),
            audit,
        })
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

    fn space_sync(&self, peer: &str) -> Result<SpaceSync, StoreError> {
        let c = self.lock()?;
        let units = {
            let mut st = c.prepare_cached(&format!(
                "SELECT id, sealed FROM space_units WHERE {MOVABLE}
                 AND id NOT IN (SELECT id FROM space_shared) ORDER BY seq"
            ))?;
            let rows = st.query_map(params![peer], |r| {
                Ok(PoolUnit {
                    id: r.get(0)?,
                    sealed: r.get(1)?,
                })
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let consumed = ids_of(
            &c,
            "SELECT id FROM space_consumed WHERE peer = ?1 ORDER BY id",
            peer,
        )?;
        Ok(SpaceSync { units, consumed })
    }

    fn space_sync_ack(
        &self,
        peer: &str,
        shared: &[String],
        consumed: &[String],
    ) -> Result<(u64, u64), StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (mut s, mut k) = (0u64, 0u64);
        {
            let mut share = tx.prepare_cached(&format!(
                "INSERT OR IGNORE INTO space_shared (id) SELECT id FROM space_units
                 WHERE {MOVABLE} AND id = ?2"
            ))?;
            for id in shared {
                s += share.execute(params![peer, id])? as u64;
            }
            let mut forget =
                tx.prepare_cached("DELETE FROM space_consumed WHERE peer = ?1 AND id = ?2")?;
            for id in consumed {
                k += forget.execute(params![peer, id])? as u64;
            }
        }
        tx.commit()?;
        Ok((s, k))
    }

    fn space_units(&self, peer: &str) -> Result<Vec<PoolUnit>, StoreError> {
        let c = self.lock()?;
        let mut st =
            c.prepare_cached("SELECT id, sealed FROM space_units WHERE peer = ?1 ORDER BY seq")?;
        let rows = st.query_map(params![peer], |r| {
            Ok(PoolUnit {
                id: r.get(0)?,
                sealed: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn space_shared_ids(&self, peer: &str) -> Result<Vec<String>, StoreError> {
        let c = self.lock()?;
        ids_of(
            &c,
            "SELECT u.id FROM space_units u JOIN space_shared s ON s.id = u.id
             WHERE u.peer = ?1 ORDER BY u.seq",
            peer,
        )
    }

    fn notices_deliver(
        &self,
        peer: &str,
        seal: &mut SealNotice<'_>,
    ) -> Result<(Vec<Outgoing>, u64), StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        type Row = (Notice, Option<(String, Vec<u8>)>);
        let rows: Vec<Row> = {
            let mut st = tx.prepare_cached(
                "SELECT o.migration, o.peer, o.kind, o.sealed, w.key_id, w.wire FROM outbox o
                 LEFT JOIN outbox_wire w ON w.migration = o.migration AND w.peer = o.peer AND w.kind = o.kind
                 WHERE o.peer = ?1 ORDER BY o.migration, o.kind",
            )?;
            let rows = st.query_map(params![peer], |r| {
                let key_id: Option<String> = r.get(4)?;
                let wire: Option<Vec<u8>> = r.get(5)?;
                Ok((
                    Notice {
                        migration: r.get(0)?,
                        peer: r.get(1)?,
                        kind: r.get(2)?,
                        sealed: r.get(3)?,
                    },
                    key_id.zip(wire),
                ))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(rows.len());
        let mut waiting = 0u64;
        for (notice, ready) in rows {
            if waiting > 0 {
                waiting += 1;
                continue;
            }
            if let Some((key_id, wire)) = ready {
                out.push(Outgoing {
                    notice,
                    key_id,
                    wire,
                });
                continue;
            }
            let key: Option<(i64, PoolUnit)> = tx
                .query_row(
                    "SELECT u.seq, u.id, u.sealed FROM space_units u JOIN space_shared s ON s.id = u.id
                     WHERE u.peer = ?1 ORDER BY u.seq DESC LIMIT 1",
                    params![peer],
                    |r| {
                        Ok((
                            r.get(0)?,
                            PoolUnit {
                                id: r.get(1)?,
                                sealed: r.get(2)?,
                            },
                        ))
                    },
                )
                .optional()?;
            let Some((seq, key)) = key else {
                waiting = 1;
                continue;
            };
            tx.execute("DELETE FROM space_units WHERE seq = ?1", params![seq])?;
            tx.execute("DELETE FROM space_shared WHERE id = ?1", params![key.id])?;
            let wire = seal(&notice, &key)?;
            tx.execute(
                "INSERT INTO outbox_wire (migration, peer, kind, key_id, wire) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![notice.migration, notice.peer, notice.kind, key.id, wire],
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
        let mut c = self.lock()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "DELETE FROM outbox_wire WHERE migration = ?1 AND peer = ?2 AND kind = ?3",
            params![migration, peer, kind],
        )?;
        if n == 0 {
            return Ok(false);
        }
        tx.execute(
            "DELETE FROM outbox WHERE migration = ?1 AND peer = ?2 AND kind = ?3",
            params![migration, peer, kind],
        )?;
        if kind == "keys" {
            tx.execute(
                "INSERT OR IGNORE INTO space_shared (id) SELECT i.id FROM space_inflight i
                 JOIN space_units u ON u.id = i.id WHERE i.migration = ?1 AND u.peer = ?2",
                params![migration, peer],
            )?;
            tx.execute(
                "DELETE FROM space_inflight WHERE migration = ?1",
                params![migration],
            )?;
        }
        tx.commit()?;
        Ok(true)
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
