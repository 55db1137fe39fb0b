//! The terminal's local key store: one SQLite file whose key material is sealed with
//! XChaCha20-Poly1305 ([`crate::centre::crypto::MasterKey`]) under a store master key kept in a
//! separate key file (mode 0600), never in the database.
//!
//! Tables: `refills (refill_id, peer, state, bytes)` and
//! `keys (key_id, peer, refill_id, sealed, consumed_ms)`. A refill is applied in one transaction
//! and at most once per refill ID: a retry of an applied refill changes nothing and is
//! acknowledged again ([`Applied::Already`]).

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use zeroize::Zeroizing;

use crate::centre::crypto::{CryptoError, MasterKey};
use crate::refill::RefillKey;

/// Errors of the terminal key store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (including a constraint violation that rolled a refill back).
    #[error("terminal store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Sealing, unsealing or the master key file failed.
    #[error("terminal store: {0}")]
    Crypto(#[from] CryptoError),
    /// A refill ID was reused for another peer or volume.
    #[error("refill {refill_id} was begun for peer {stored_peer}, not {peer}")]
    RefillMismatch {
        /// The refill ID (hex).
        refill_id: String,
        /// Peer recorded for it.
        stored_peer: String,
        /// Peer asked now.
        peer: String,
    },
    /// A stored value is not what this version wrote.
    #[error("terminal store: corrupt row: {0}")]
    Corrupt(String),
}

/// Where a refill stands in the terminal's store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefillState {
    /// Requested from the base station; no key stored yet.
    Requested,
    /// Keys stored (the terminal has acknowledged, or will on retry).
    Committed,
    /// The base station reported the centre's confirmation: nothing left to retry.
    Confirmed,
}

impl RefillState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Committed => "committed",
            Self::Confirmed => "confirmed",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "requested" => Self::Requested,
            "committed" => Self::Committed,
            "confirmed" => Self::Confirmed,
            other => return Err(StoreError::Corrupt(format!("refill state {other:?}"))),
        })
    }
}

/// A refill the store knows about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefillRecord {
    /// Refill ID.
    pub refill_id: [u8; 16],
    /// Peer SAE the keys are shared with.
    pub peer: String,
    /// State.
    pub state: RefillState,
    /// Requested volume in bytes.
    pub bytes: u64,
}

/// What [`TerminalStore::apply_refill`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The keys were stored now (count).
    Stored(usize),
    /// The refill had been applied before; nothing changed (acknowledge again).
    Already,
}

/// Unconsumed key volume shared with one peer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PeerVolume {
    /// Peer SAE.
    pub peer: String,
    /// Unconsumed keys.
    pub keys: u64,
    /// Unconsumed bytes.
    pub bytes: u64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS refills (refill_id BLOB PRIMARY KEY, peer TEXT NOT NULL,
  state TEXT NOT NULL, bytes INTEGER NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS keys (key_id TEXT PRIMARY KEY, peer TEXT NOT NULL,
  refill_id BLOB NOT NULL REFERENCES refills(refill_id), seq INTEGER NOT NULL,
  length INTEGER NOT NULL, sealed BLOB NOT NULL, consumed_ms INTEGER);
CREATE INDEX IF NOT EXISTS keys_peer ON keys(peer, consumed_ms);
";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn key_aad(key_id: &str, peer: &str) -> Vec<u8> {
    format!("terminal:{key_id}:{peer}").into_bytes()
}

fn rid_from(v: Vec<u8>) -> Result<[u8; 16], StoreError> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt("refill ID is not 16 bytes".into()))
}

/// The terminal's encrypted key store.
pub struct TerminalStore {
    conn: Connection,
    master: MasterKey,
}

impl TerminalStore {
    /// Opens (creating if needed) the store at `db`, sealing with the 32-byte master key in
    /// `key_file`, which is created (mode 0600) when absent.
    ///
    /// # Errors
    /// SQLite or key-file errors.
    pub fn open(db: &Path, key_file: &Path) -> Result<Self, StoreError> {
        let master = if key_file.exists() {
            MasterKey::load(key_file)?
        } else {
            MasterKey::create(key_file)?
        };
        Self::open_with_key(db, master)
    }

    /// Opens the store at `db` with an explicit master key (tests).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open_with_key(db: &Path, master: MasterKey) -> Result<Self, StoreError> {
        let conn = Connection::open(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn, master })
    }

    /// Records a refill request for `peer` of `bytes` bytes and returns its ID; if a refill for
    /// `peer` is still unfinished (requested or committed but not confirmed), returns that one
    /// instead so a retry reuses its ID.
    ///
    /// # Errors
    /// SQLite or RNG errors.
    pub fn begin_refill(&mut self, peer: &str, bytes: u64) -> Result<RefillRecord, StoreError> {
        if let Some(r) = self.unfinished()?.into_iter().find(|r| r.peer == peer) {
            return Ok(r);
        }
        let mut rid = [0u8; 16];
        crate::centre::crypto::random_bytes(&mut rid)?;
        self.conn.execute(
            "INSERT INTO refills (refill_id, peer, state, bytes, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![rid.as_slice(), peer, RefillState::Requested.as_str(), bytes as i64, now_ms()],
        )?;
        Ok(RefillRecord {
            refill_id: rid,
            peer: peer.to_owned(),
            state: RefillState::Requested,
            bytes,
        })
    }

    /// The refill with ID `rid`, if known.
    ///
    /// # Errors
    /// SQLite errors or a corrupt row.
    pub fn refill(&self, rid: &[u8; 16]) -> Result<Option<RefillRecord>, StoreError> {
        let row: Option<(String, String, i64)> = self
            .conn
            .query_row(
                "SELECT peer, state, bytes FROM refills WHERE refill_id = ?1",
                params![rid.as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(peer, state, bytes)| {
            Ok(RefillRecord {
                refill_id: *rid,
                peer,
                state: RefillState::parse(&state)?,
                bytes: bytes as u64,
            })
        })
        .transpose()
    }

    /// Refills not yet confirmed, oldest first.
    ///
    /// # Errors
    /// SQLite errors or a corrupt row.
    pub fn unfinished(&self) -> Result<Vec<RefillRecord>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT refill_id, peer, state, bytes FROM refills WHERE state != 'confirmed' ORDER BY created_ms, rowid",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (rid, peer, state, bytes) = row?;
            out.push(RefillRecord {
                refill_id: rid_from(rid)?,
                peer,
                state: RefillState::parse(&state)?,
                bytes: bytes as u64,
            });
        }
        Ok(out)
    }

    /// Stores the keys of refill `rid` for `peer` in one transaction and marks it committed.
    /// Idempotent per refill ID: if `rid` is already committed or confirmed, nothing changes and
    /// [`Applied::Already`] is returned. On any failure (e.g. a key ID already stored) nothing
    /// is stored.
    ///
    /// # Errors
    /// [`StoreError::RefillMismatch`] if `rid` was begun for another peer; SQLite (constraint)
    /// or sealing errors, after which the store is unchanged.
    pub fn apply_refill(
        &mut self,
        rid: &[u8; 16],
        peer: &str,
        keys: &[RefillKey],
    ) -> Result<Applied, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(String, String)> = tx
            .query_row(
                "SELECT peer, state FROM refills WHERE refill_id = ?1",
                params![rid.as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            Some((stored_peer, _)) if stored_peer != peer => {
                return Err(StoreError::RefillMismatch {
                    refill_id: hex::encode(rid),
                    stored_peer,
                    peer: peer.to_owned(),
                })
            }
            Some((_, state)) if RefillState::parse(&state)? != RefillState::Requested => {
                return Ok(Applied::Already)
            }
            Some(_) => {
                tx.execute(
                    "UPDATE refills SET state = 'committed' WHERE refill_id = ?1",
                    params![rid.as_slice()],
                )?;
            }
            None => {
                let bytes: usize = keys.iter().map(|k| k.key.len()).sum();
                tx.execute(
                    "INSERT INTO refills (refill_id, peer, state, bytes, created_ms) VALUES (?1, ?2, 'committed', ?3, ?4)",
                    params![rid.as_slice(), peer, bytes as i64, now_ms()],
                )?;
            }
        }
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO keys (key_id, peer, refill_id, seq, length, sealed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (i, k) in keys.iter().enumerate() {
                let sealed = self.master.seal(&key_aad(&k.key_id, peer), &k.key)?;
                ins.execute(params![
                    k.key_id,
                    peer,
                    rid.as_slice(),
                    i as i64,
                    k.key.len() as i64,
                    sealed
                ])?;
            }
        }
        tx.commit()?;
        Ok(Applied::Stored(keys.len()))
    }

    /// Forgets refill `rid` if it is still only requested (the base station refused it, so no
    /// key can have reached this terminal); returns whether it was removed.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn abandon_refill(&mut self, rid: &[u8; 16]) -> Result<bool, StoreError> {
        Ok(self.conn.execute(
            "DELETE FROM refills WHERE refill_id = ?1 AND state = 'requested'
             AND NOT EXISTS (SELECT 1 FROM keys WHERE refill_id = ?1)",
            params![rid.as_slice()],
        )? == 1)
    }

    /// Marks refill `rid` confirmed (the centre has dropped its reservation); no-op if unknown
    /// or already confirmed. Returns whether the state changed.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn mark_confirmed(&mut self, rid: &[u8; 16]) -> Result<bool, StoreError> {
        Ok(self.conn.execute(
            "UPDATE refills SET state = 'confirmed' WHERE refill_id = ?1 AND state = 'committed'",
            params![rid.as_slice()],
        )? == 1)
    }

    /// Takes the oldest unconsumed key shared with `peer`: marks it consumed (its material is
    /// wiped from the file), records the time for the consumption rate, and returns it.
    /// `Ok(None)` when none is left.
    ///
    /// # Errors
    /// SQLite errors; [`CryptoError::Unseal`] if the row was tampered with (nothing consumed).
    pub fn take_key(&mut self, peer: &str) -> Result<Option<RefillKey>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(String, Vec<u8>)> = tx
            .query_row(
                "SELECT k.key_id, k.sealed FROM keys k JOIN refills r ON r.refill_id = k.refill_id
                 WHERE k.peer = ?1 AND k.consumed_ms IS NULL ORDER BY r.created_ms, r.rowid, k.seq LIMIT 1",
                params![peer],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((key_id, sealed)) = row else {
            return Ok(None);
        };
        let key = self.master.open(&key_aad(&key_id, peer), &sealed)?;
        tx.execute(
            "UPDATE keys SET consumed_ms = ?2, sealed = X'' WHERE key_id = ?1",
            params![key_id, now_ms()],
        )?;
        tx.commit()?;
        Ok(Some(RefillKey { key_id, key }))
    }

    /// Every unconsumed key shared with `peer`, in order, without consuming them (inspection and
    /// tests).
    ///
    /// # Errors
    /// SQLite errors or a tampered row.
    pub fn peek_keys(&self, peer: &str) -> Result<Vec<RefillKey>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT k.key_id, k.sealed FROM keys k JOIN refills r ON r.refill_id = k.refill_id
             WHERE k.peer = ?1 AND k.consumed_ms IS NULL ORDER BY r.created_ms, r.rowid, k.seq",
        )?;
        let rows = st.query_map(params![peer], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key_id, sealed) = row?;
            let key: Zeroizing<Vec<u8>> = self.master.open(&key_aad(&key_id, peer), &sealed)?;
            out.push(RefillKey { key_id, key });
        }
        Ok(out)
    }

    /// Unconsumed bytes of key shared with `peer`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn remaining(&self, peer: &str) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT COALESCE(SUM(length), 0) FROM keys WHERE peer = ?1 AND consumed_ms IS NULL",
            params![peer],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Unconsumed volume per peer, by peer name.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn status(&self) -> Result<Vec<PeerVolume>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT peer, COUNT(*), COALESCE(SUM(length), 0) FROM keys WHERE consumed_ms IS NULL GROUP BY peer ORDER BY peer",
        )?;
        let rows = st.query_map([], |r| {
            Ok(PeerVolume {
                peer: r.get(0)?,
                keys: r.get::<_, i64>(1)? as u64,
                bytes: r.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `(unix ms, bytes)` of every key taken for `peer` at or after `since_ms`, oldest first:
    /// the history the auto-refill policy estimates the consumption rate from.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn takes_since(&self, peer: &str, since_ms: i64) -> Result<Vec<(i64, u64)>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT consumed_ms, length FROM keys WHERE peer = ?1 AND consumed_ms >= ?2 ORDER BY consumed_ms",
        )?;
        let rows = st.query_map(params![peer, since_ms], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
