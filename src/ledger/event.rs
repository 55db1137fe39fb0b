//! Issuance events: what a requester spends a denominated key on, in a canonical byte
//! encoding, authenticated twice.
//!
//! * The **requester MAC** is KMAC256 (NIST SP 800-185 §4) keyed by the spent denominated
//!   key's material. Only the user and the first node (which holds the same pool) know that
//!   material, so the first node can check that the user, and nobody else, spent the key.
//! * The **node signature** is Ed25519 (RFC 8032) by the first node over the event and the
//!   MAC. Relays hold the first node's public key from the operator's directory and verify
//!   without ever seeing user key material.
//!
//! Wire form (all integers big-endian):
//! `"QWLE" ‖ version 1 ‖ time_ms u64 ‖ requester str ‖ recipient str ‖ hops u8 ‖
//! (node str ‖ charge u64)* ‖ key_id [16] ‖ nonce [16]`, where `str` is a `u8` length and
//! that many UTF-8 bytes. A signed event is `event_len u16 ‖ event ‖ mac [32] ‖ sig [64]`.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use subtle::ConstantTimeEq;
use tiny_keccak::{Hasher, Kmac};

use super::LedgerError;

/// Maximum hops in a route (first node included).
pub const MAX_HOPS: usize = 16;
/// Maximum length of a node or user identifier in bytes.
pub const MAX_ID_LEN: usize = 64;
const MAGIC: &[u8; 4] = b"QWLE";
const VERSION: u8 = 1;
const MAC_CUSTOM: &[u8] = b"qwave-ledger-event-mac-v1";
const SIG_DOMAIN: &[u8] = b"qwave-ledger-event-sig-v1";

/// One line of a charge breakdown: a node on the route and what it charges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Node identifier.
    pub node: String,
    /// Charge in the denomination's units.
    pub charge: u64,
}

/// A key request paid with one denominated key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuanceEvent {
    /// Unix time in milliseconds when the requester signed.
    pub time_ms: u64,
    /// Requesting user.
    pub requester: String,
    /// The user who receives the key at the far node.
    pub recipient: String,
    /// Route from the first node to the far node with each node's charge.
    pub breakdown: Vec<Charge>,
    /// The spent denominated key's identifier.
    pub key_id: [u8; 16],
    /// Fresh random nonce; an event is identified by it.
    pub nonce: [u8; 16],
}

impl IssuanceEvent {
    /// Sum of the charges (the value of the key that pays for it).
    ///
    /// # Errors
    /// [`LedgerError::Overflow`] if the sum does not fit a `u64`.
    pub fn total(&self) -> Result<u64, LedgerError> {
        self.breakdown
            .iter()
            .try_fold(0u64, |a, c| a.checked_add(c.charge))
            .ok_or(LedgerError::Overflow)
    }

    /// The first node (which computed the route and holds the requester's pool).
    pub fn first_node(&self) -> Option<&str> {
        self.breakdown.first().map(|c| c.node.as_str())
    }

    /// The far node (which delivers the key to the recipient).
    pub fn far_node(&self) -> Option<&str> {
        self.breakdown.last().map(|c| c.node.as_str())
    }

    /// The charge of `node` on this route, if it is on it.
    pub fn charge_of(&self, node: &str) -> Option<u64> {
        self.breakdown
            .iter()
            .find(|c| c.node == node)
            .map(|c| c.charge)
    }

    /// Canonical encoding.
    ///
    /// # Errors
    /// [`LedgerError::Malformed`] if an identifier is empty or too long, or the route is empty
    /// or longer than [`MAX_HOPS`].
    pub fn encode(&self) -> Result<Vec<u8>, LedgerError> {
        if self.breakdown.is_empty() || self.breakdown.len() > MAX_HOPS {
            return Err(LedgerError::Malformed("route length"));
        }
        let mut out = Vec::with_capacity(64 + 24 * self.breakdown.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        put_str(&mut out, &self.requester)?;
        put_str(&mut out, &self.recipient)?;
        out.push(self.breakdown.len() as u8);
        for c in &self.breakdown {
            put_str(&mut out, &c.node)?;
            out.extend_from_slice(&c.charge.to_be_bytes());
        }
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&self.nonce);
        Ok(out)
    }

    /// Decodes the canonical encoding; rejects trailing bytes and non-canonical input.
    ///
    /// # Errors
    /// [`LedgerError::Malformed`] on any malformed input (never panics).
    pub fn decode(b: &[u8]) -> Result<Self, LedgerError> {
        let mut r = Reader(b);
        if r.take(4)? != MAGIC {
            return Err(LedgerError::Malformed("magic"));
        }
        if r.take(1)?[0] != VERSION {
            return Err(LedgerError::Malformed("version"));
        }
        let time_ms = r.u64()?;
        let requester = r.str()?;
        let recipient = r.str()?;
        let hops = r.take(1)?[0] as usize;
        if hops == 0 || hops > MAX_HOPS {
            return Err(LedgerError::Malformed("route length"));
        }
        let mut breakdown = Vec::with_capacity(hops);
        for _ in 0..hops {
            let node = r.str()?;
            let charge = r.u64()?;
            breakdown.push(Charge { node, charge });
        }
        let key_id = r.arr16()?;
        let nonce = r.arr16()?;
        if !r.0.is_empty() {
            return Err(LedgerError::Malformed("trailing bytes"));
        }
        Ok(Self {
            time_ms,
            requester,
            recipient,
            breakdown,
            key_id,
            nonce,
        })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), LedgerError> {
    if s.is_empty() || s.len() > MAX_ID_LEN {
        return Err(LedgerError::Malformed("identifier length"));
    }
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], LedgerError> {
        if self.0.len() < n {
            return Err(LedgerError::Malformed("unexpected end"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u64(&mut self) -> Result<u64, LedgerError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    fn arr16(&mut self) -> Result<[u8; 16], LedgerError> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16)?);
        Ok(a)
    }
    fn str(&mut self) -> Result<String, LedgerError> {
        let n = self.take(1)?[0] as usize;
        if n == 0 || n > MAX_ID_LEN {
            return Err(LedgerError::Malformed("identifier length"));
        }
        let s = std::str::from_utf8(self.take(n)?)
            .map_err(|_| LedgerError::Malformed("identifier is not UTF-8"))?;
        Ok(s.to_owned())
    }
}

/// The requester's MAC over an encoded event: KMAC256(material, event, 256, "qwave-ledger-event-mac-v1").
pub fn requester_mac(material: &[u8; 32], event_bytes: &[u8]) -> [u8; 32] {
    let mut k = Kmac::v256(material, MAC_CUSTOM);
    k.update(event_bytes);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

/// An event with the requester's MAC and the first node's signature, as relays receive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEvent {
    /// The decoded event.
    pub event: IssuanceEvent,
    /// Its canonical bytes (what was authenticated).
    pub event_bytes: Vec<u8>,
    /// Requester MAC ([`requester_mac`]).
    pub mac: [u8; 32],
    /// First node's Ed25519 signature over domain ‖ event bytes ‖ MAC.
    pub sig: [u8; 64],
}

fn sig_message(event_bytes: &[u8], mac: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIG_DOMAIN.len() + event_bytes.len() + 32);
    m.extend_from_slice(SIG_DOMAIN);
    m.extend_from_slice(event_bytes);
    m.extend_from_slice(mac);
    m
}

impl SignedEvent {
    /// The first node signs an event whose requester MAC it has checked.
    ///
    /// # Errors
    /// As [`IssuanceEvent::encode`].
    pub fn sign(
        event: IssuanceEvent,
        mac: [u8; 32],
        key: &SigningKey,
    ) -> Result<Self, LedgerError> {
        let event_bytes = event.encode()?;
        let sig = key.sign(&sig_message(&event_bytes, &mac)).to_bytes();
        Ok(Self {
            event,
            event_bytes,
            mac,
            sig,
        })
    }

    /// Verifies the first node's signature (RFC 8032 strict verification).
    ///
    /// # Errors
    /// [`LedgerError::BadSignature`].
    pub fn verify_signature(&self, first_node_key: &VerifyingKey) -> Result<(), LedgerError> {
        let sig = Signature::from_bytes(&self.sig);
        first_node_key
            .verify_strict(&sig_message(&self.event_bytes, &self.mac), &sig)
            .map_err(|_| LedgerError::BadSignature)
    }

    /// Verifies the requester MAC with the denominated key material (constant time).
    ///
    /// # Errors
    /// [`LedgerError::BadMac`].
    pub fn verify_mac(&self, material: &[u8; 32]) -> Result<(), LedgerError> {
        let want = requester_mac(material, &self.event_bytes);
        if bool::from(want.ct_eq(&self.mac)) {
            Ok(())
        } else {
            Err(LedgerError::BadMac)
        }
    }

    /// Wire encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.event_bytes.len() + 96);
        out.extend_from_slice(&(self.event_bytes.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.event_bytes);
        out.extend_from_slice(&self.mac);
        out.extend_from_slice(&self.sig);
        out
    }

    /// Decodes the wire encoding (authenticity is checked separately).
    ///
    /// # Errors
    /// [`LedgerError::Malformed`] (never panics).
    pub fn decode(b: &[u8]) -> Result<Self, LedgerError> {
        let mut r = Reader(b);
        let len_b = r.take(2)?;
        let len = u16::from_be_bytes([len_b[0], len_b[1]]) as usize;
        let event_bytes = r.take(len)?.to_vec();
        let event = IssuanceEvent::decode(&event_bytes)?;
        let mut mac = [0u8; 32];
        mac.copy_from_slice(r.take(32)?);
        let mut sig = [0u8; 64];
        sig.copy_from_slice(r.take(64)?);
        if !r.0.is_empty() {
            return Err(LedgerError::Malformed("trailing bytes"));
        }
        Ok(Self {
            event,
            event_bytes,
            mac,
            sig,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev() -> IssuanceEvent {
        IssuanceEvent {
            time_ms: 1_700_000_000_000,
            requester: "alice".into(),
            recipient: "bob".into(),
            breakdown: vec![
                Charge {
                    node: "n1".into(),
                    charge: 2,
                },
                Charge {
                    node: "n2".into(),
                    charge: 3,
                },
            ],
            key_id: [7; 16],
            nonce: [9; 16],
        }
    }

    #[test]
    fn round_trip_and_auth() {
        let e = ev();
        assert_eq!(e.total().ok(), Some(5));
        let b = e.encode().expect("encode");
        assert_eq!(IssuanceEvent::decode(&b).expect("decode"), e);
        let material = [1u8; 32];
        let mac = requester_mac(&material, &b);
        let sk = SigningKey::from_bytes(&[3u8; 32]);
        let s = SignedEvent::sign(e, mac, &sk).expect("sign");
        let w = SignedEvent::decode(&s.encode()).expect("decode signed");
        assert_eq!(w, s);
        assert!(w.verify_signature(&sk.verifying_key()).is_ok());
        assert!(w.verify_mac(&material).is_ok());
        assert!(w.verify_mac(&[2u8; 32]).is_err());
        let other = SigningKey::from_bytes(&[4u8; 32]);
        assert!(w.verify_signature(&other.verifying_key()).is_err());
    }
}
