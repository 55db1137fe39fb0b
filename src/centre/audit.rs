//! Hash-chained audit log. Record `n` stores `hash_n = SHA3-256(domain ‖ seq ‖
//! time ‖ event ‖ actor ‖ subject ‖ detail ‖ hash_{n-1})` (FIPS 202), with
//! `hash_0` all zeros, so editing, removing or reordering any record breaks
//! the chain at that record. A head anchor file (last `seq` and hash, kept
//! beside the master key) also catches removal of the newest records.

use std::path::Path;

use sha3::{Digest, Sha3_256};

/// Security events the centre records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    /// A terminal was initialised and its device credential issued.
    Initialise,
    /// A terminal was bound to a user (PIN set).
    Bind,
    /// A terminal was activated with its PIN.
    Activate,
    /// A terminal was frozen.
    Freeze,
    /// A terminal was unfrozen.
    Unfreeze,
    /// A terminal was reported lost.
    Lost,
    /// A terminal was destroyed and its undelivered keys destroyed.
    Destroy,
    /// Keys were refilled (pool fill from a key source, or a terminal refill).
    Refill,
    /// Keys were delivered to a master SAE (ETSI 014 "Get key").
    EncKeys,
    /// Keys were delivered to a slave SAE (ETSI 014 "Get key with key IDs").
    DecKeys,
    /// An authentication or authorisation failure (bad certificate, wrong PIN, refused device).
    AuthFailed,
    /// Key units moved from a surplus space to a deficit space (pool rebalancing).
    Migrate,
}

impl AuditEvent {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initialise => "initialise",
            Self::Bind => "bind",
            Self::Activate => "activate",
            Self::Freeze => "freeze",
            Self::Unfreeze => "unfreeze",
            Self::Lost => "lost",
            Self::Destroy => "destroy",
            Self::Refill => "refill",
            Self::EncKeys => "enc_keys",
            Self::DecKeys => "dec_keys",
            Self::AuthFailed => "auth_failed",
            Self::Migrate => "migrate",
        }
    }
}

/// One stored audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// Unix time in milliseconds.
    pub at_ms: i64,
    /// Event name ([`AuditEvent::as_str`]).
    pub event: String,
    /// Who did it (SAE ID, "operator", peer address).
    pub actor: String,
    /// What it was done to (device serial, SAE ID).
    pub subject: String,
    /// Free-form detail without secrets (key IDs, counts).
    pub detail: String,
    /// The previous record's hash.
    pub prev: [u8; 32],
    /// This record's hash.
    pub hash: [u8; 32],
}

/// A new record before it is chained.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// The event.
    pub event: AuditEvent,
    /// Who did it.
    pub actor: String,
    /// What it was done to.
    pub subject: String,
    /// Detail without secrets.
    pub detail: String,
}

impl AuditEntry {
    /// Builds an entry.
    pub fn new(event: AuditEvent, actor: &str, subject: &str, detail: impl Into<String>) -> Self {
        Self {
            event,
            actor: actor.to_owned(),
            subject: subject.to_owned(),
            detail: detail.into(),
        }
    }

    /// Chains this entry after `(prev_seq, prev_hash)` at time `at_ms`.
    pub fn chain(&self, prev_seq: u64, prev: [u8; 32], at_ms: i64) -> AuditRecord {
        let mut r = AuditRecord {
            seq: prev_seq + 1,
            at_ms,
            event: self.event.as_str().to_owned(),
            actor: self.actor.clone(),
            subject: self.subject.clone(),
            detail: self.detail.clone(),
            prev,
            hash: [0; 32],
        };
        r.hash = record_hash(&r);
        r
    }
}

/// The chain hash of a record (over every field but `hash`).
pub fn record_hash(r: &AuditRecord) -> [u8; 32] {
    let mut h = Sha3_256::new();
    h.update(b"qwave-audit-v1");
    h.update(r.seq.to_be_bytes());
    h.update(r.at_ms.to_be_bytes());
    for s in [&r.event, &r.actor, &r.subject, &r.detail] {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    }
    h.update(r.prev);
    h.finalize().into()
}

/// What verification found wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditFinding {
    /// Records are missing before `found` (expected `expected`): removed or renumbered.
    Gap {
        /// The sequence number that should come next.
        expected: u64,
        /// The one that came.
        found: u64,
    },
    /// Record `seq` does not link to its predecessor (a record before it was removed, edited or moved).
    BrokenLink {
        /// The record.
        seq: u64,
    },
    /// Record `seq`'s content does not match its hash (edited or reordered).
    Edited {
        /// The record.
        seq: u64,
    },
    /// The head anchor names a record that is missing or different (newest records removed or rewritten).
    HeadMismatch {
        /// Anchored sequence number.
        head_seq: u64,
        /// The last sequence number in the log.
        last_seq: u64,
    },
}

impl std::fmt::Display for AuditFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Gap { expected, found } => write!(
                f,
                "record {expected} missing (next record is {found}): removed or renumbered"
            ),
            Self::BrokenLink { seq } => write!(
                f,
                "record {seq} does not chain to record {}: a record was removed, edited or moved",
                seq.saturating_sub(1)
            ),
            Self::Edited { seq } => write!(f, "record {seq} was edited or reordered"),
            Self::HeadMismatch { head_seq, last_seq } => write!(
                f,
                "head anchor names record {head_seq} but the log does not hold it as anchored (last is {last_seq}): newest records removed or rewritten"
            ),
        }
    }
}

/// Verifies records in stored order against the chain and an optional head
/// anchor `(seq, hash)`. Empty result: intact.
pub fn verify_chain(records: &[AuditRecord], head: Option<(u64, [u8; 32])>) -> Vec<AuditFinding> {
    let mut out = Vec::new();
    let mut expected_seq = 1u64;
    let mut prev = [0u8; 32];
    for r in records {
        if r.seq != expected_seq {
            out.push(AuditFinding::Gap {
                expected: expected_seq,
                found: r.seq,
            });
        } else if r.prev != prev {
            out.push(AuditFinding::BrokenLink { seq: r.seq });
        }
        if record_hash(r) != r.hash {
            out.push(AuditFinding::Edited { seq: r.seq });
        }
        expected_seq = r.seq.saturating_add(1);
        prev = r.hash;
    }
    if let Some((hseq, hhash)) = head {
        let last = records.last().map_or(0, |r| r.seq);
        let ok = records.iter().any(|r| r.seq == hseq && r.hash == hhash);
        if !ok && hseq > 0 {
            out.push(AuditFinding::HeadMismatch {
                head_seq: hseq,
                last_seq: last,
            });
        }
    }
    out
}

/// Reads the head anchor file (`seq hex-hash`), if present.
///
/// # Errors
/// An I/O error other than "not found", or a malformed file.
pub fn read_head(path: &Path) -> std::io::Result<Option<(u64, [u8; 32])>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed audit head file");
    let mut it = text.split_whitespace();
    let seq: u64 = it.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let hash: [u8; 32] = hex::decode(it.next().ok_or_else(bad)?)
        .map_err(|_| bad())?
        .try_into()
        .map_err(|_| bad())?;
    Ok(Some((seq, hash)))
}

/// Atomically replaces the head anchor file.
///
/// # Errors
/// I/O errors.
pub fn write_head(path: &Path, seq: u64, hash: &[u8; 32]) -> std::io::Result<()> {
    let tmp = path.with_extension("head.tmp");
    std::fs::write(&tmp, format!("{seq} {}\n", hex::encode(hash)))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<AuditRecord> {
        let mut v: Vec<AuditRecord> = Vec::new();
        for i in 0..n {
            let (s, p) = v.last().map_or((0, [0; 32]), |r| (r.seq, r.hash));
            v.push(
                AuditEntry::new(AuditEvent::EncKeys, "a", "b", format!("{i}"))
                    .chain(s, p, i as i64),
            );
        }
        v
    }

    #[test]
    fn intact_chain_verifies_and_tampering_is_located() {
        let v = chain(5);
        assert!(verify_chain(&v, Some((5, v[4].hash))).is_empty());
        let mut e = v.clone();
        e[2].detail = "x".into();
        assert_eq!(
            verify_chain(&e, None),
            vec![AuditFinding::Edited { seq: 3 }]
        );
        let mut r = v.clone();
        r.remove(1);
        assert_eq!(
            verify_chain(&r, None)[0],
            AuditFinding::Gap {
                expected: 2,
                found: 3
            }
        );
        let mut s = v.clone();
        s.swap(1, 2);
        assert!(!verify_chain(&s, None).is_empty());
        let t = &v[..3];
        assert_eq!(
            verify_chain(t, Some((5, v[4].hash))),
            vec![AuditFinding::HeadMismatch {
                head_seq: 5,
                last_seq: 3
            }]
        );
    }
}
