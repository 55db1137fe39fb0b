//! The peer side of a centre's per-peer space (issue 7): the peer's "space for this node" in a
//! local SQLite store, filled by syncs and changed by migration notices.
//!
//! Key material is sealed at rest with XChaCha20-Poly1305 under a store key kept in its own file
//! (mode 0600, [`crate::centre::crypto::MasterKey`], as the terminal store does), bound to the
//! unit ID. Every change is one SQLite transaction; a notice is applied at most once (its ID is
//! remembered in the same transaction that applies it and consumes its notice key), so a re-sent
//! notice after a lost acknowledgement changes nothing and is acknowledged again.
//!
//! The protocol with the centre ([`sync`], [`fetch_notices`]) is described in `docs/pools.md`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::notice::{open_notice, NoticeBody, NoticeError, UnitKey, WireNotice};
use crate::centre::client::{CentreClient, ClientError};
use crate::centre::crypto::{CryptoError, MasterKey};

/// Errors of the peer-side store and protocol.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// SQLite failed.
    #[error("peer store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Sealing, unsealing or the store key file failed.
    #[error("peer store: {0}")]
    Crypto(#[from] CryptoError),
    /// The store directory could not be created.
    #[error("peer store {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store belongs to another peer SAE.
    #[error("peer store belongs to {stored}, not {given}")]
    WrongPeer {
        /// SAE recorded in the store.
        stored: String,
        /// SAE asked for now.
        given: String,
    },
    /// A unit arrived again with different material (the two sides disagree: nothing stored).
    #[error("unit {0} already stored with different material")]
    Conflict(String),
    /// A notice is addressed to another peer.
    #[error("notice {notice} is addressed to {peer}, not this peer")]
    Misaddressed {
        /// Notice ID.
        notice: String,
        /// Its addressee.
        peer: String,
    },
    /// The notice names a key unit this peer does not hold (mis-addressed, or a sync is missing).
    #[error("notice {notice} is encrypted under unit {key_id}, which this peer does not hold")]
    UnknownKey {
        /// Notice ID.
        notice: String,
        /// The named key unit.
        key_id: String,
    },
    /// The notice failed authentication or decoding.
    #[error(transparent)]
    Notice(#[from] NoticeError),
    /// Talking to the centre failed.
    #[error("centre: {0}")]
    Client(#[from] ClientError),
    /// The centre answered with an error status.
    #[error("centre answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Reply body (the centre's error message).
        body: String,
    },
    /// A reply or stored value is malformed.
    #[error("malformed: {0}")]
    Malformed(String),
}

/// What [`PeerStore::apply_notice`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeApplied {
    /// Applied now: units dropped (`discard`) or stored (`keys`).
    Applied(usize),
    /// Applied before (its ID is remembered): nothing changed; acknowledge again.
    Already,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS units (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
  sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS applied (notice_id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The peer's store of its space at one centre.
pub struct PeerStore {
    conn: Connection,
    master: MasterKey,
    me: String,
}

impl PeerStore {
    /// Opens (creating if needed) the store of peer SAE `me` in `dir` (`peer.db`, store key
    /// `peer.key` created with mode 0600 when absent).
    ///
    /// # Errors
    /// I/O, SQLite or key-file errors; [`PeerError::WrongPeer`] for another peer's store.
    pub fn open(dir: &Path, me: &str) -> Result<Self, PeerError> {
        std::fs::create_dir_all(dir).map_err(|source| PeerError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let key = dir.join("peer.key");
        let master = if key.exists() {
            MasterKey::load(&key)?
        } else {
            MasterKey::create(&key)?
        };
        let conn = Connection::open(dir.join("peer.db"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        let stored: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE name = 'peer'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match stored {
            Some(s) if s != me => {
                return Err(PeerError::WrongPeer {
                    stored: s,
                    given: me.to_owned(),
                })
            }
            Some(_) => {}
            None => {
                conn.execute(
                    "INSERT INTO meta (name, value) VALUES ('peer', ?1)",
                    params![me],
                )?;
            }
        }
        Ok(Self {
            conn,
            master,
            me: me.to_owned(),
        })
    }

    /// This peer's SAE ID.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// In one transaction: stores the synced `units` (idempotent: a unit held with the same
    /// material is skipped) and drops the `consumed` IDs. Returns `(stored, dropped)`.
    ///
    /// # Errors
    /// [`PeerError::Conflict`] (nothing changed), SQLite or sealing errors.
    pub fn apply_sync(
        &mut self,
        units: &[UnitKey],
        consumed: &[String],
    ) -> Result<(usize, usize), PeerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut stored = 0;
        for u in units {
            stored += usize::from(put_in(&self.master, &self.me, &tx, u)?);
        }
        let mut dropped = 0;
        for id in consumed {
            dropped += tx.execute("DELETE FROM units WHERE id = ?1", params![id])?;
        }
        tx.commit()?;
        Ok((stored, dropped))
    }

    /// Applies a notice at most once, in one transaction: checks the addressee, opens it with
    /// the named unit ([`open_notice`]), drops (`discard`) or stores (`keys`) its units,
    /// deletes the notice key and remembers the notice ID.
    ///
    /// # Errors
    /// [`PeerError::Misaddressed`], [`PeerError::UnknownKey`], [`PeerError::Notice`] (tampered,
    /// wrong key), [`PeerError::Conflict`]; nothing changes on error.
    pub fn apply_notice(&mut self, w: &WireNotice) -> Result<NoticeApplied, PeerError> {
        if w.peer != self.me {
            return Err(PeerError::Misaddressed {
                notice: w.id.clone(),
                peer: w.peer.clone(),
            });
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seen: Option<i64> = tx
            .query_row(
                "SELECT at_ms FROM applied WHERE notice_id = ?1",
                params![w.id],
                |r| r.get(0),
            )
            .optional()?;
        if seen.is_some() {
            return Ok(NoticeApplied::Already);
        }
        let sealed: Option<Vec<u8>> = tx
            .query_row(
                "SELECT sealed FROM units WHERE id = ?1",
                params![w.key_id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(sealed) = sealed else {
            return Err(PeerError::UnknownKey {
                notice: w.id.clone(),
                key_id: w.key_id.clone(),
            });
        };
        let key = self.master.open(&unit_aad(&self.me, &w.key_id), &sealed)?;
        let body = open_notice(w, &self.me, &key)?;
        let n = match &body {
            NoticeBody::Discard(ids) => {
                let mut n = 0;
                for id in ids {
                    n += tx.execute("DELETE FROM units WHERE id = ?1", params![id])?;
                }
                n
            }
            NoticeBody::Keys(units) => {
                let mut n = 0;
                for u in units {
                    n += usize::from(put_in(&self.master, &self.me, &tx, u)?);
                }
                n
            }
        };
        tx.execute("DELETE FROM units WHERE id = ?1", params![w.key_id])?;
        tx.execute(
            "INSERT INTO applied (notice_id, at_ms) VALUES (?1, ?2)",
            params![w.id, now_ms()],
        )?;
        tx.commit()?;
        Ok(NoticeApplied::Applied(n))
    }

    /// Every stored unit ID, in arrival order.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn ids(&self) -> Result<Vec<String>, PeerError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM units ORDER BY seq")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every stored unit with its material (unsealed), in arrival order.
    ///
    /// # Errors
    /// SQLite or unsealing errors.
    pub fn units(&self) -> Result<Vec<UnitKey>, PeerError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, sealed FROM units ORDER BY seq")?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, sealed) = row?;
            let key = self.master.open(&unit_aad(&self.me, &id), &sealed)?;
            out.push(UnitKey { id, key });
        }
        Ok(out)
    }

    /// IDs of the notices applied, in ID order.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn applied(&self) -> Result<Vec<String>, PeerError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT notice_id FROM applied ORDER BY notice_id")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn unit_aad(me: &str, id: &str) -> Vec<u8> {
    format!("peer-unit:{me}:{id}").into_bytes()
}

/// Stores `u` unless held already with the same material (inside `tx`); `true` when new.
fn put_in(
    master: &MasterKey,
    me: &str,
    tx: &rusqlite::Transaction<'_>,
    u: &UnitKey,
) -> Result<bool, PeerError> {
    let aad = unit_aad(me, &u.id);
    let old: Option<Vec<u8>> = tx
        .query_row(
            "SELECT sealed FROM units WHERE id = ?1",
            params![u.id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(old) = old {
        let old = master.open(&aad, &old)?;
        return if bool::from(old.as_slice().ct_eq(&u.key)) {
            Ok(false)
        } else {
            Err(PeerError::Conflict(u.id.clone()))
        };
    }
    let sealed = master.seal(&aad, &u.key)?;
    tx.execute(
        "INSERT INTO units (id, sealed) VALUES (?1, ?2)",
        params![u.id, sealed],
    )?;
    Ok(true)
}

/// What one [`sync`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Units received.
    pub received: usize,
    /// Of those, units newly stored (the rest were held already).
    pub stored: usize,
    /// Consumed units dropped.
    pub dropped: usize,
}

/// What one [`fetch_notices`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct NoticesReport {
    /// Notices applied now.
    pub applied: usize,
    /// Notices applied before (re-sent after a lost acknowledgement), acknowledged again.
    pub already: usize,
    /// Notices the centre holds back until a unit is shared (sync first).
    pub waiting: u64,
}

#[derive(Deserialize)]
struct SyncUnitMsg {
    id: String,
    key: String,
}

#[derive(Deserialize)]
struct SyncMsg {
    peer: String,
    units: Vec<SyncUnitMsg>,
    consumed: Vec<String>,
}

#[derive(Deserialize)]
struct NoticesMsg {
    notices: Vec<WireNotice>,
    waiting: u64,
}

async fn call(
    client: &CentreClient,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Result<Vec<u8>, PeerError> {
    let r = client.request(method, path, body).await?;
    if r.status != 200 {
        return Err(PeerError::Status {
            status: r.status,
            body: String::from_utf8_lossy(&r.body).into_owned(),
        });
    }
    Ok(r.body)
}

/// Syncs `store` with its space at the centre: fetches the units not yet shared and the consumed
/// IDs (`POST /api/qwave/v1/pools/space/sync`), applies them in one local transaction, then
/// acknowledges (`POST …/space/ack`). Interrupted anywhere, the next sync repeats it harmlessly.
///
/// # Errors
/// Connection, status, reply or store errors.
pub async fn sync(client: &CentreClient, store: &mut PeerStore) -> Result<SyncReport, PeerError> {
    let body = call(client, "POST", "/api/qwave/v1/pools/space/sync", None).await?;
    let msg: SyncMsg =
        serde_json::from_slice(&body).map_err(|e| PeerError::Malformed(e.to_string()))?;
    if msg.peer != store.me() {
        return Err(PeerError::WrongPeer {
            stored: store.me().to_owned(),
            given: msg.peer,
        });
    }
    let mut units = Vec::with_capacity(msg.units.len());
    for u in msg.units {
        let key = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(Zeroizing::new(u.key).as_bytes())
                .map_err(|e| PeerError::Malformed(format!("unit {}: {e}", u.id)))?,
        );
        units.push(UnitKey { id: u.id, key });
    }
    let (stored, dropped) = store.apply_sync(&units, &msg.consumed)?;
    let ids: Vec<&str> = units.iter().map(|u| u.id.as_str()).collect();
    let ack = json!({ "units": ids, "consumed": msg.consumed }).to_string();
    call(
        client,
        "POST",
        "/api/qwave/v1/pools/space/ack",
        Some(ack.as_bytes()),
    )
    .await?;
    Ok(SyncReport {
        received: units.len(),
        stored,
        dropped,
    })
}

/// The notices the centre holds for this peer (`GET /api/qwave/v1/pools/notices`), in order,
/// and how many wait for a shared unit.
///
/// # Errors
/// Connection, status or reply errors.
pub async fn get_notices(client: &CentreClient) -> Result<(Vec<WireNotice>, u64), PeerError> {
    let body = call(client, "GET", "/api/qwave/v1/pools/notices", None).await?;
    let msg: NoticesMsg =
        serde_json::from_slice(&body).map_err(|e| PeerError::Malformed(e.to_string()))?;
    Ok((msg.notices, msg.waiting))
}

/// Acknowledges an applied notice (`POST /api/qwave/v1/pools/notices/{id}/ack`); `false` when
/// the centre had it acknowledged already.
///
/// # Errors
/// Connection, status or reply errors.
pub async fn ack_notice(client: &CentreClient, id: &str) -> Result<bool, PeerError> {
    let body = call(
        client,
        "POST",
        &format!("/api/qwave/v1/pools/notices/{id}/ack"),
        None,
    )
    .await?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| PeerError::Malformed(e.to_string()))?;
    v.get("acked")
        .and_then(serde_json::Value::as_bool)
        .ok_or_else(|| PeerError::Malformed("ack reply without acked".into()))
}

/// Fetches, applies (in order, each at most once) and acknowledges this peer's notices. Stops at
/// the first notice that fails (it is not acknowledged and stays at the centre).
///
/// # Errors
/// As [`get_notices`], [`PeerStore::apply_notice`] and [`ack_notice`].
pub async fn fetch_notices(
    client: &CentreClient,
    store: &mut PeerStore,
) -> Result<NoticesReport, PeerError> {
    let (notices, waiting) = get_notices(client).await?;
    let mut rep = NoticesReport {
        applied: 0,
        already: 0,
        waiting,
    };
    for w in &notices {
        match store.apply_notice(w)? {
            NoticeApplied::Applied(_) => rep.applied += 1,
            NoticeApplied::Already => rep.already += 1,
        }
        ack_notice(client, &w.id).await?;
    }
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, b: u8) -> UnitKey {
        UnitKey {
            id: id.into(),
            key: Zeroizing::new(vec![b; 32]),
        }
    }

    #[test]
    fn sync_is_idempotent_and_conflicts_change_nothing() {
        let dir = std::env::temp_dir().join(format!("qwave-peer-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = PeerStore::open(&dir, "hot").unwrap();
        assert_eq!(
            s.apply_sync(&[unit("a", 1), unit("b", 2)], &[]).unwrap(),
            (2, 0)
        );
        assert_eq!(s.apply_sync(&[unit("a", 1)], &[]).unwrap(), (0, 0));
        // "c" would be new, but "b" arrives with other material: nothing of the batch is kept.
        assert!(matches!(
            s.apply_sync(&[unit("c", 3), unit("b", 9)], &["a".into()]),
            Err(PeerError::Conflict(id)) if id == "b"
        ));
        assert_eq!(s.ids().unwrap(), ["a", "b"]);
        assert_eq!(
            s.apply_sync(&[], &["a".into(), "zz".into()]).unwrap(),
            (0, 1)
        );
        assert_eq!(s.units().unwrap(), vec![unit("b", 2)]);
        drop(s);
        // Material is sealed at rest: the database file does not contain it.
        let db = std::fs::read(dir.join("peer.db")).unwrap();
        assert!(!db.windows(32).any(|w| w == [2u8; 32]));
        assert!(matches!(
            PeerStore::open(&dir, "cold"),
            Err(PeerError::WrongPeer { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
