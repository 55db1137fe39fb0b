//! SQLite files for nodes and users (one file each, WAL, `synchronous=FULL`).
//!
//! Node tables: `meta` (identity, Ed25519 secret), `payments`, `pool` (unspent denominated
//! keys of attached users), `spent`, `events` (every event this node handled, by role),
//! `settlements` (first node: shares paid to relays) and `audit` (hash chain, as the
//! centre's), `mailbox` (keys the far node holds for its users until they fetch them). User
//! tables: `meta`, `dkeys` (unspent denominated keys), `events`, `keys` (delivered keys).
//!
//! Secrets at rest (the node's Ed25519 key, denominated-key material, delivered keys) are
//! sealed with XChaCha20-Poly1305 under a per-store 256-bit master key kept beside the
//! database in `<name>.key` (mode 0600, created with the store), the centre's
//! [`crate::centre::crypto::MasterKey`]. Each sealed value is bound (AEAD associated data) to
//! its row's identity, so moving a ciphertext to another row fails to open.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use super::denomination::{DenominatedKey, Payment};
use super::LedgerError;
use crate::centre::audit::{record_hash, AuditRecord};
use crate::centre::crypto::MasterKey;

const NODE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS payments (ref TEXT PRIMARY KEY, user TEXT NOT NULL, amount INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0, at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pool (key_id BLOB PRIMARY KEY, user TEXT NOT NULL, value INTEGER NOT NULL,
  material BLOB NOT NULL, payment TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spent (key_id BLOB PRIMARY KEY, user TEXT NOT NULL, value INTEGER NOT NULL,
  payment TEXT NOT NULL, nonce BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (nonce BLOB PRIMARY KEY, first_node TEXT NOT NULL, key_id BLOB NOT NULL,
  role TEXT NOT NULL, bytes BLOB NOT NULL, at_ms INTEGER NOT NULL, settled INTEGER NOT NULL DEFAULT 0,
  UNIQUE (first_node, key_id));
CREATE TABLE IF NOT EXISTS settlements (nonce BLOB NOT NULL, relay TEXT NOT NULL, amount INTEGER NOT NULL,
  at_ms INTEGER NOT NULL, PRIMARY KEY (nonce, relay));
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, event TEXT NOT NULL,
  actor TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS mailbox (key_id BLOB PRIMARY KEY, user TEXT NOT NULL, peer TEXT NOT NULL,
  event BLOB NOT NULL, sealed BLOB NOT NULL);
";

const USER_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS dkeys (key_id BLOB PRIMARY KEY, value INTEGER NOT NULL, material BLOB NOT NULL,
  payment TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS purchases (ref TEXT PRIMARY KEY, amount INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (nonce BLOB PRIMARY KEY, role TEXT NOT NULL, bytes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS keys (key_id BLOB PRIMARY KEY, peer TEXT NOT NULL, material BLOB NOT NULL);
";

/// What a node did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It computed the route and took the payment.
    First,
    /// It forwarded the event.
    Relay,
    /// It delivered the key to the recipient.
    Far,
}

impl Role {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Relay => "relay",
            Self::Far => "far",
        }
    }
}

/// The master key file of a store: `<db without extension>.key`.
pub fn key_path(db: &Path) -> std::path::PathBuf {
    db.with_extension("key")
}

fn master_for(db: &Path) -> Result<MasterKey, LedgerError> {
    let kp = key_path(db);
    Ok(if kp.exists() {
        MasterKey::load(&kp)?
    } else {
        MasterKey::create(&kp)?
    })
}

fn aad(kind: &str, id: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(kind.len() + 1 + id.len());
    a.extend_from_slice(kind.as_bytes());
    a.push(b':');
    a.extend_from_slice(id);
    a
}

fn open_secret<const N: usize>(
    m: &MasterKey,
    kind: &str,
    id: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<[u8; N]>, LedgerError> {
    let plain = m.open(&aad(kind, id), sealed)?;
    let mut out = Zeroizing::new([0u8; N]);
    if plain.len() != N {
        return Err(LedgerError::Malformed("sealed field length"));
    }
    out.copy_from_slice(&plain);
    Ok(out)
}

fn open(path: &Path, schema: &str) -> Result<Connection, LedgerError> {
    let c = Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    c.execute_batch(schema)?;
    Ok(c)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> Result<i64, LedgerError> {
    i64::try_from(v).map_err(|_| LedgerError::Overflow)
}

fn arr<const N: usize>(v: Vec<u8>) -> Result<[u8; N], LedgerError> {
    v.try_into()
        .map_err(|_| LedgerError::Malformed("stored field length"))
}

/// A node's store.
pub struct NodeStore {
    /// The open connection (the ledger's modules run their statements on it).
    pub(crate) conn: Connection,
    master: MasterKey,
}

/// An unspent pool key: (owner, value, material).
pub type PoolKey = (String, u64, Zeroizing<[u8; 32]>);

/// A key the far node holds for one of its users: (key ID, requester, signed event, material).
pub type MailItem = ([u8; 16], String, Vec<u8>, Zeroizing<[u8; 32]>);

/// A stored event row.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The event nonce.
    pub nonce: [u8; 16],
    /// What this store did with it.
    pub role: String,
    /// The signed event's wire bytes.
    pub bytes: Vec<u8>,
    /// Whether its share was settled (relays and far nodes).
    pub settled: bool,
}

impl NodeStore {
    /// Opens (creating if needed) a node file and its master key file ([`key_path`]).
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`], [`LedgerError::Crypto`] for the key file.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        Ok(Self {
            master: master_for(path)?,
            conn: open(path, NODE_SCHEMA)?,
        })
    }

    /// Stores the node's Ed25519 secret key, sealed.
    ///
    /// # Errors
    /// Sealing and SQLite errors.
    pub fn set_signing_key(&self, secret: &[u8; 32]) -> Result<(), LedgerError> {
        let sealed = self.master.seal(&aad("meta", b"signing_key"), secret)?;
        self.set_meta("signing_key", &sealed)
    }

    /// The node's Ed25519 secret key.
    ///
    /// # Errors
    /// [`LedgerError::Directory`] if none is stored; unsealing and SQLite errors.
    pub fn signing_key(&self) -> Result<SigningKey, LedgerError> {
        let sealed = self
            .meta("signing_key")?
            .ok_or_else(|| LedgerError::Directory("node has no signing key".into()))?;
        let b = open_secret::<32>(&self.master, "meta", b"signing_key", &sealed)?;
        Ok(SigningKey::from_bytes(&b))
    }

    /// The far node keeps a delivered key (sealed) for its user `user` until fetched.
    ///
    /// # Errors
    /// Sealing and SQLite errors.
    pub fn put_mail(
        &self,
        user: &str,
        peer: &str,
        key_id: &[u8; 16],
        event: &[u8],
        key: &[u8; 32],
    ) -> Result<(), LedgerError> {
        let sealed = self.master.seal(&aad("mail", key_id), key)?;
        self.conn.execute(
            "INSERT INTO mailbox (key_id, user, peer, event, sealed) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![&key_id[..], user, peer, event, sealed],
        )?;
        Ok(())
    }

    /// Keys waiting for `user`, oldest first.
    ///
    /// # Errors
    /// Unsealing and SQLite errors.
    pub fn mail(&self, user: &str) -> Result<Vec<MailItem>, LedgerError> {
        let mut st = self.conn.prepare(
            "SELECT key_id, peer, event, sealed FROM mailbox WHERE user = ?1 ORDER BY rowid",
        )?;
        let rows = st.query_map([user], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, peer, event, sealed) = row?;
            let key = open_secret::<32>(&self.master, "mail", &id, &sealed)?;
            out.push((arr(id)?, peer, event, key));
        }
        Ok(out)
    }

    /// Deletes fetched keys of `user`; returns how many were deleted.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn ack_mail(&mut self, user: &str, ids: &[[u8; 16]]) -> Result<usize, LedgerError> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        for id in ids {
            n += tx.execute(
                "DELETE FROM mailbox WHERE key_id = ?1 AND user = ?2",
                params![&id[..], user],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Reads a metadata value.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn meta(&self, k: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self
            .conn
            .query_row("SELECT v FROM meta WHERE k = ?1", [k], |r| r.get(0))
            .optional()?)
    }

    /// Writes a metadata value.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn set_meta(&self, k: &str, v: &[u8]) -> Result<(), LedgerError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (k, v) VALUES (?1, ?2)",
            params![k, v],
        )?;
        Ok(())
    }

    /// Records a payment; a reference can be recorded once.
    ///
    /// # Errors
    /// [`LedgerError::Payment`] for a duplicate reference; [`LedgerError::Sqlite`].
    pub fn record_payment(&self, p: &Payment, at_ms: u64) -> Result<(), LedgerError> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO payments (ref, user, amount, at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![p.reference, p.user, to_i64(p.amount)?, to_i64(at_ms)?],
        )?;
        if n == 0 {
            return Err(LedgerError::Payment(format!(
                "payment {} already recorded",
                p.reference
            )));
        }
        Ok(())
    }

    /// Adds issued keys to the pool and marks the payment used, in one transaction.
    ///
    /// # Errors
    /// [`LedgerError::Payment`] if the payment is unknown, not the user's, or used.
    pub fn add_to_pool(
        &mut self,
        user: &str,
        payment: &str,
        keys: &[DenominatedKey],
    ) -> Result<(), LedgerError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE payments SET used = 1 WHERE ref = ?1 AND user = ?2 AND used = 0",
            params![payment, user],
        )?;
        if n != 1 {
            return Err(LedgerError::Payment(format!(
                "payment {payment} unknown, not {user}'s, or already used"
            )));
        }
        for k in keys {
            let sealed = self.master.seal(&aad("pool", &k.id), &k.material)?;
            tx.execute(
                "INSERT INTO pool (key_id, user, value, material, payment) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![&k.id[..], user, to_i64(k.value)?, sealed, payment],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// An unspent pool key: `(user, value, material)`.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn pool_key(&self, id: &[u8; 16]) -> Result<Option<PoolKey>, LedgerError> {
        let row: Option<(String, i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT user, value, material FROM pool WHERE key_id = ?1",
                [&id[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(u, v, m)| Ok((u, to_u64(v), open_secret(&self.master, "pool", id, &m)?)))
            .transpose()
    }

    /// Whether a denominated key was spent.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn is_spent(&self, id: &[u8; 16]) -> Result<bool, LedgerError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM spent WHERE key_id = ?1", [&id[..]], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// Moves a pool key to `spent` (material deleted), in the given transaction.
    pub(crate) fn spend_in(
        tx: &rusqlite::Transaction<'_>,
        id: &[u8; 16],
        nonce: &[u8; 16],
    ) -> Result<(), LedgerError> {
        let n = tx.execute(
            "INSERT INTO spent (key_id, user, value, payment, nonce)
             SELECT key_id, user, value, payment, ?2 FROM pool WHERE key_id = ?1",
            params![&id[..], &nonce[..]],
        )?;
        tx.execute("DELETE FROM pool WHERE key_id = ?1", [&id[..]])?;
        if n != 1 {
            return Err(LedgerError::Refused(
                "denominated key not in the pool".into(),
            ));
        }
        Ok(())
    }

    /// Whether an event with this nonce, or for this (first node, key), is stored.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn seen(
        &self,
        nonce: &[u8; 16],
        first: &str,
        key_id: &[u8; 16],
    ) -> Result<Option<&'static str>, LedgerError> {
        if self
            .conn
            .query_row(
                "SELECT 1 FROM events WHERE nonce = ?1",
                [&nonce[..]],
                |_| Ok(()),
            )
            .optional()?
            .is_some()
        {
            return Ok(Some("nonce already used"));
        }
        if self
            .conn
            .query_row(
                "SELECT 1 FROM events WHERE first_node = ?1 AND key_id = ?2",
                params![first, &key_id[..]],
                |_| Ok(()),
            )
            .optional()?
            .is_some()
        {
            return Ok(Some("denominated key already spent"));
        }
        Ok(None)
    }

    /// Stores an event in the given transaction.
    pub(crate) fn store_event_in(
        tx: &rusqlite::Transaction<'_>,
        nonce: &[u8; 16],
        first: &str,
        key_id: &[u8; 16],
        role: Role,
        bytes: &[u8],
        at_ms: u64,
    ) -> Result<(), LedgerError> {
        tx.execute(
            "INSERT INTO events (nonce, first_node, key_id, role, bytes, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![&nonce[..], first, &key_id[..], role.as_str(), bytes, to_i64(at_ms)?],
        )?;
        Ok(())
    }

    /// All stored events in insertion order.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn events(&self) -> Result<Vec<StoredEvent>, LedgerError> {
        let mut st = self
            .conn
            .prepare("SELECT nonce, role, bytes, settled FROM events ORDER BY rowid")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (n, role, bytes, s) = row?;
            out.push(StoredEvent {
                nonce: arr(n)?,
                role,
                bytes,
                settled: s != 0,
            });
        }
        Ok(out)
    }

    /// Appends an audit record to the hash chain (event names are the ledger's own).
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn audit(
        &self,
        event: &str,
        actor: &str,
        subject: &str,
        detail: &str,
    ) -> Result<(), LedgerError> {
        let last: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (seq, prev) = match last {
            Some((s, h)) => (to_u64(s), arr::<32>(h)?),
            None => (0, [0u8; 32]),
        };
        let mut rec = AuditRecord {
            seq: seq + 1,
            at_ms: to_i64(super::now_ms())?,
            event: event.to_owned(),
            actor: actor.to_owned(),
            subject: subject.to_owned(),
            detail: detail.to_owned(),
            prev,
            hash: [0; 32],
        };
        rec.hash = record_hash(&rec);
        self.conn.execute(
            "INSERT INTO audit (seq, at_ms, event, actor, subject, detail, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![to_i64(rec.seq)?, rec.at_ms, rec.event, rec.actor, rec.subject, rec.detail, &rec.prev[..], &rec.hash[..]],
        )?;
        Ok(())
    }

    /// The audit log in order.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn audit_log(&self) -> Result<Vec<AuditRecord>, LedgerError> {
        let mut st = self.conn.prepare(
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
                seq: to_u64(seq),
                at_ms,
                event,
                actor,
                subject,
                detail,
                prev: arr(prev)?,
                hash: arr(hash)?,
            });
        }
        Ok(out)
    }

    /// Runs `f` in one transaction.
    ///
    /// # Errors
    /// Whatever `f` returns, or [`LedgerError::Sqlite`].
    pub(crate) fn with_tx<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let tx = self.conn.transaction()?;
        let v = f(&tx)?;
        tx.commit()?;
        Ok(v)
    }

    /// Sums a single-integer query (helper for audits).
    pub(crate) fn scalar(&self, sql: &str) -> Result<u64, LedgerError> {
        Ok(to_u64(
            self.conn
                .query_row(sql, [], |r| r.get::<_, Option<i64>>(0))?
                .unwrap_or(0),
        ))
    }
}

/// A delivered key: (key ID, the other user, material).
pub type DeliveredKey = ([u8; 16], String, Zeroizing<[u8; 32]>);

/// A user's key store.
pub struct UserStore {
    pub(crate) conn: Connection,
    master: MasterKey,
}

impl UserStore {
    /// Opens (creating if needed) a user file and its master key file ([`key_path`]).
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`], [`LedgerError::Crypto`] for the key file.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        Ok(Self {
            master: master_for(path)?,
            conn: open(path, USER_SCHEMA)?,
        })
    }

    /// Stores issued keys and the purchase.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn add_keys(
        &mut self,
        payment: &Payment,
        keys: &[DenominatedKey],
    ) -> Result<(), LedgerError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO purchases (ref, amount) VALUES (?1, ?2)",
            params![payment.reference, to_i64(payment.amount)?],
        )?;
        for k in keys {
            let sealed = self.master.seal(&aad("dkey", &k.id), &k.material)?;
            tx.execute(
                "INSERT INTO dkeys (key_id, value, material, payment) VALUES (?1, ?2, ?3, ?4)",
                params![&k.id[..], to_i64(k.value)?, sealed, payment.reference],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// An unused denominated key of exactly `value` (oldest first).
    ///
    /// # Errors
    /// [`LedgerError::NoKeyOfValue`]; [`LedgerError::Sqlite`].
    pub fn pick_key(&self, value: u64) -> Result<DenominatedKey, LedgerError> {
        let row: Option<(Vec<u8>, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT key_id, material FROM dkeys WHERE value = ?1 ORDER BY rowid LIMIT 1",
                [to_i64(value)?],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (id, sealed) = row.ok_or(LedgerError::NoKeyOfValue(value))?;
        let material = open_secret::<32>(&self.master, "dkey", &id, &sealed)?;
        Ok(DenominatedKey {
            id: arr(id)?,
            value,
            material: *material,
        })
    }

    /// Unused denominated keys as `(id, value)`.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn unused(&self) -> Result<Vec<([u8; 16], u64)>, LedgerError> {
        let mut st = self
            .conn
            .prepare("SELECT key_id, value FROM dkeys ORDER BY rowid")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, v) = row?;
            out.push((arr(id)?, to_u64(v)));
        }
        Ok(out)
    }

    /// Sum of recorded purchases.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn paid(&self) -> Result<u64, LedgerError> {
        Ok(to_u64(
            self.conn
                .query_row("SELECT SUM(amount) FROM purchases", [], |r| {
                    r.get::<_, Option<i64>>(0)
                })?
                .unwrap_or(0),
        ))
    }

    /// Deletes the spent key and keeps the event (one transaction).
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn complete_spend(
        &mut self,
        key_id: &[u8; 16],
        nonce: &[u8; 16],
        event: &[u8],
        key: Option<(&[u8; 16], &str, &[u8; 32])>,
    ) -> Result<(), LedgerError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM dkeys WHERE key_id = ?1", [&key_id[..]])?;
        tx.execute(
            "INSERT INTO events (nonce, role, bytes) VALUES (?1, 'sent', ?2)",
            params![&nonce[..], event],
        )?;
        if let Some((id, peer, m)) = key {
            let sealed = self.master.seal(&aad("key", id), m)?;
            tx.execute(
                "INSERT INTO keys (key_id, peer, material) VALUES (?1, ?2, ?3)",
                params![&id[..], peer, sealed],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores a delivered key and the event it was paid by.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn receive(
        &mut self,
        nonce: &[u8; 16],
        event: &[u8],
        id: &[u8; 16],
        peer: &str,
        m: &[u8; 32],
    ) -> Result<(), LedgerError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO events (nonce, role, bytes) VALUES (?1, 'received', ?2)",
            params![&nonce[..], event],
        )?;
        let sealed = self.master.seal(&aad("key", id), m)?;
        tx.execute(
            "INSERT OR IGNORE INTO keys (key_id, peer, material) VALUES (?1, ?2, ?3)",
            params![&id[..], peer, sealed],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Stored events `(role, signed bytes)` in order.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn events(&self) -> Result<Vec<(String, Vec<u8>)>, LedgerError> {
        let mut st = self
            .conn
            .prepare("SELECT role, bytes FROM events ORDER BY rowid")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Delivered keys `(id, peer, material)`.
    ///
    /// # Errors
    /// [`LedgerError::Sqlite`].
    pub fn keys(&self) -> Result<Vec<DeliveredKey>, LedgerError> {
        let mut st = self
            .conn
            .prepare("SELECT key_id, peer, material FROM keys ORDER BY rowid")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (i, p, m) = row?;
            let key = open_secret::<32>(&self.master, "key", &i, &m)?;
            out.push((arr(i)?, p, key));
        }
        Ok(out)
    }
}
