//! Migration notices on the wire (issue 7): the body codec and the AEAD that binds a notice to
//! one key unit the centre shares with the addressed peer.
//!
//! A notice is encrypted with XChaCha20-Poly1305 (RFC 8439 AEAD, 192-bit nonce of
//! draft-irtf-cfrg-xchacha) under `K = SHA3-256("qwave-pool-notice-key-v1" ‖ unit)` (FIPS 202),
//! where `unit` is the material of a key unit both sides hold; the unit is named by its ID in the
//! header and consumed by both sides. The associated data binds migration number, peer, kind and
//! key ID, so a notice cannot be replayed to another peer, migration or kind.
//!
//! Body (big-endian): `kind:u8` (1 = discard, 2 = keys), `count:u32`, then per unit
//! `id_len:u16 ‖ id`, and for `keys` also `key_len:u16 ‖ key`.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha3::{Digest, Sha3_256};
use zeroize::Zeroizing;

/// Errors of the notice codec and AEAD.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoticeError {
    /// The body ended before a field.
    #[error("notice body: unexpected end")]
    UnexpectedEnd,
    /// Bytes left after the last unit.
    #[error("notice body: {0} trailing bytes")]
    Trailing(usize),
    /// Unknown kind byte or name.
    #[error("notice: unknown kind {0:?}")]
    BadKind(String),
    /// A field does not fit its length prefix or is not UTF-8.
    #[error("notice body: bad field: {0}")]
    BadField(&'static str),
    /// Authentication failed: tampered, addressed to another peer or migration, or encrypted
    /// under another key.
    #[error("notice {0} failed authentication (tampered, mis-addressed or wrong key)")]
    Auth(String),
    /// The OS random number generator failed.
    #[error("random number generator: {0}")]
    Rng(String),
}

/// Which peer a notice is for: the emigration peer discards, the immigration peer stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// To the emigration peer: drop the named units.
    Discard,
    /// To the immigration peer: store the carried units.
    Keys,
}

impl NoticeKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discard => "discard",
            Self::Keys => "keys",
        }
    }

    /// Parses a wire name.
    ///
    /// # Errors
    /// [`NoticeError::BadKind`].
    pub fn parse(s: &str) -> Result<Self, NoticeError> {
        match s {
            "discard" => Ok(Self::Discard),
            "keys" => Ok(Self::Keys),
            other => Err(NoticeError::BadKind(other.to_owned())),
        }
    }
}

/// One key unit: ID and material.
#[derive(Clone, PartialEq, Eq)]
pub struct UnitKey {
    /// Unit ID.
    pub id: String,
    /// Key material.
    pub key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for UnitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UnitKey({}, {} bytes)", self.id, self.key.len())
    }
}

/// What a notice tells its peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeBody {
    /// Drop these unit IDs (they emigrated).
    Discard(Vec<String>),
    /// Store these units (they immigrated).
    Keys(Vec<UnitKey>),
}

impl NoticeBody {
    /// The kind of this body.
    pub fn kind(&self) -> NoticeKind {
        match self {
            Self::Discard(_) => NoticeKind::Discard,
            Self::Keys(_) => NoticeKind::Keys,
        }
    }

    /// Encodes the body (zeroized on drop: it may carry key material).
    ///
    /// # Errors
    /// [`NoticeError::BadField`] for an ID or key longer than 65535 bytes or more than 2³² units.
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, NoticeError> {
        fn put(out: &mut Vec<u8>, b: &[u8], what: &'static str) -> Result<(), NoticeError> {
            let n = u16::try_from(b.len()).map_err(|_| NoticeError::BadField(what))?;
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(b);
            Ok(())
        }
        let mut out = Zeroizing::new(Vec::new());
        let (tag, n) = match self {
            Self::Discard(ids) => (1u8, ids.len()),
            Self::Keys(units) => (2u8, units.len()),
        };
        out.push(tag);
        let n = u32::try_from(n).map_err(|_| NoticeError::BadField("count"))?;
        out.extend_from_slice(&n.to_be_bytes());
        match self {
            Self::Discard(ids) => {
                for id in ids {
                    put(&mut out, id.as_bytes(), "id")?;
                }
            }
            Self::Keys(units) => {
                for u in units {
                    put(&mut out, u.id.as_bytes(), "id")?;
                    put(&mut out, &u.key, "key")?;
                }
            }
        }
        Ok(out)
    }

    /// Decodes a body made by [`NoticeBody::encode`].
    ///
    /// # Errors
    /// [`NoticeError::UnexpectedEnd`], [`NoticeError::Trailing`], [`NoticeError::BadKind`],
    /// [`NoticeError::BadField`].
    pub fn decode(b: &[u8]) -> Result<Self, NoticeError> {
        struct Rd<'a>(&'a [u8]);
        impl<'a> Rd<'a> {
            fn take(&mut self, n: usize) -> Result<&'a [u8], NoticeError> {
                if self.0.len() < n {
                    return Err(NoticeError::UnexpectedEnd);
                }
                let (a, r) = self.0.split_at(n);
                self.0 = r;
                Ok(a)
            }
            fn field(&mut self) -> Result<&'a [u8], NoticeError> {
                let l = self.take(2)?;
                self.take(u16::from_be_bytes([l[0], l[1]]) as usize)
            }
            fn id(&mut self) -> Result<String, NoticeError> {
                std::str::from_utf8(self.field()?)
                    .map(str::to_owned)
                    .map_err(|_| NoticeError::BadField("id"))
            }
        }
        let mut r = Rd(b);
        let tag = r.take(1)?[0];
        let c = r.take(4)?;
        let n = u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize;
        // Each unit takes at least 2 bytes: bound the allocation by the input.
        let cap = n.min(b.len() / 2);
        let body = match tag {
            1 => {
                let mut ids = Vec::with_capacity(cap);
                for _ in 0..n {
                    ids.push(r.id()?);
                }
                Self::Discard(ids)
            }
            2 => {
                let mut units = Vec::with_capacity(cap);
                for _ in 0..n {
                    let id = r.id()?;
                    let key = Zeroizing::new(r.field()?.to_vec());
                    units.push(UnitKey { id, key });
                }
                Self::Keys(units)
            }
            t => return Err(NoticeError::BadKind(format!("tag {t}"))),
        };
        if !r.0.is_empty() {
            return Err(NoticeError::Trailing(r.0.len()));
        }
        Ok(body)
    }
}

/// A notice as delivered: the clear header and the sealed body (`nonce ‖ ciphertext ‖ tag`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WireNotice {
    /// Notice ID `MIGRATION-KIND` (what the peer acknowledges and remembers).
    pub id: String,
    /// Migration number.
    pub migration: i64,
    /// Addressed peer SAE.
    pub peer: String,
    /// `"discard"` or `"keys"`.
    pub kind: String,
    /// ID of the shared key unit the body is encrypted under.
    pub key_id: String,
    /// Sealed body, base64.
    #[serde(with = "b64")]
    pub sealed: Vec<u8>,
}

mod b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}

/// The notice ID of a migration's notice of `kind`.
pub fn notice_id(migration: i64, kind: NoticeKind) -> String {
    format!("{migration}-{}", kind.as_str())
}

fn aad(migration: i64, peer: &str, kind: &str, key_id: &str) -> Vec<u8> {
    format!("qwave-pool-notice-v1\0{migration}\0{peer}\0{kind}\0{key_id}").into_bytes()
}

fn aead(unit: &[u8]) -> XChaCha20Poly1305 {
    let mut h = Sha3_256::new();
    h.update(b"qwave-pool-notice-key-v1");
    h.update(unit);
    let k = Zeroizing::new(<[u8; 32]>::from(h.finalize()));
    XChaCha20Poly1305::new(k.as_ref().into())
}

const NONCE_LEN: usize = 24;

/// Encrypts `body` for `peer` under the shared unit `key` (ID `key.id`).
///
/// # Errors
/// Codec errors, [`NoticeError::Rng`].
pub fn seal_notice(
    migration: i64,
    peer: &str,
    body: &NoticeBody,
    key: &UnitKey,
) -> Result<WireNotice, NoticeError> {
    let kind = body.kind();
    let plain = body.encode()?;
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| NoticeError::Rng(e.to_string()))?;
    let id = notice_id(migration, kind);
    let ct = aead(&key.key)
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: &aad(migration, peer, kind.as_str(), &key.id),
            },
        )
        .map_err(|_| NoticeError::Auth(id.clone()))?;
    let mut sealed = Vec::with_capacity(NONCE_LEN + ct.len());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ct);
    Ok(WireNotice {
        id,
        migration,
        peer: peer.to_owned(),
        kind: kind.as_str().to_owned(),
        key_id: key.id.clone(),
        sealed,
    })
}

/// Opens a notice addressed to `me` with the unit named in its header (`key`): checks the
/// header (ID, kind) and authenticates it under `me` as the peer.
///
/// # Errors
/// [`NoticeError::Auth`] when tampered, addressed to another peer or sealed under another key;
/// [`NoticeError::BadKind`] or codec errors for a malformed body.
pub fn open_notice(w: &WireNotice, me: &str, key: &[u8]) -> Result<NoticeBody, NoticeError> {
    let kind = NoticeKind::parse(&w.kind)?;
    if w.id != notice_id(w.migration, kind) || w.sealed.len() < NONCE_LEN {
        return Err(NoticeError::Auth(w.id.clone()));
    }
    let (nonce, ct) = w.sealed.split_at(NONCE_LEN);
    let plain = Zeroizing::new(
        aead(key)
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: &aad(w.migration, me, kind.as_str(), &w.key_id),
                },
            )
            .map_err(|_| NoticeError::Auth(w.id.clone()))?,
    );
    let body = NoticeBody::decode(&plain)?;
    if body.kind() != kind {
        return Err(NoticeError::Auth(w.id.clone()));
    }
    Ok(body)
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
    fn codec_roundtrip_and_truncation() {
        let bodies = [
            NoticeBody::Discard(vec!["a".into(), "bc".into()]),
            NoticeBody::Keys(vec![unit("x", 1), unit("y", 2)]),
            NoticeBody::Keys(Vec::new()),
        ];
        for b in &bodies {
            let e = b.encode().unwrap();
            assert_eq!(&NoticeBody::decode(&e).unwrap(), b);
            for cut in 0..e.len() {
                assert!(NoticeBody::decode(&e[..cut]).is_err(), "cut {cut}");
            }
            let mut long = e.to_vec();
            long.push(0);
            assert_eq!(NoticeBody::decode(&long), Err(NoticeError::Trailing(1)));
        }
        assert!(matches!(
            NoticeBody::decode(&[9, 0, 0, 0, 0]),
            Err(NoticeError::BadKind(_))
        ));
        // A huge count with no data fails without a huge allocation.
        assert_eq!(
            NoticeBody::decode(&[1, 255, 255, 255, 255]),
            Err(NoticeError::UnexpectedEnd)
        );
    }

    #[test]
    fn seal_open_binds_peer_key_and_header() {
        let k = unit("k1", 7);
        let body = NoticeBody::Keys(vec![unit("u1", 3)]);
        let w = seal_notice(5, "hot", &body, &k).unwrap();
        assert_eq!(w.id, "5-keys");
        assert_eq!(open_notice(&w, "hot", &k.key).unwrap(), body);
        assert!(matches!(
            open_notice(&w, "cold", &k.key),
            Err(NoticeError::Auth(_))
        ));
        assert!(matches!(
            open_notice(&w, "hot", &[8; 32]),
            Err(NoticeError::Auth(_))
        ));
        let mut t = w.clone();
        let last = t.sealed.len() - 1;
        t.sealed[last] ^= 1;
        assert!(matches!(
            open_notice(&t, "hot", &k.key),
            Err(NoticeError::Auth(_))
        ));
        let mut m = w.clone();
        m.migration = 6;
        m.id = "6-keys".into();
        assert!(matches!(
            open_notice(&m, "hot", &k.key),
            Err(NoticeError::Auth(_))
        ));
        let mut d = w;
        d.kind = "discard".into();
        d.id = "5-discard".into();
        assert!(matches!(
            open_notice(&d, "hot", &k.key),
            Err(NoticeError::Auth(_))
        ));
    }
}
