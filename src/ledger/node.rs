//! What a node does with an issuance event: the first node checks the requester's MAC
//! against its copy of the pool and signs; relays and the far node verify the first node's
//! signature, refuse replays and store the event. Every refusal is appended to the node's
//! hash-chained audit log before the error is returned.
//!
//! Trust model: the first node is trusted by its own users with their denominated-key
//! material (it issued it) and by the other nodes through its Ed25519 public key in the
//! operator's directory. A relay therefore cannot check that a user really paid, only that
//! the first node vouches for it; the first node cannot later deny an event it signed
//! (settlement presents the signature), and it cannot invent a spend without the user's
//! MAC, which the user's own stored events let an auditor check while the key is unspent.

use ed25519_dalek::{SigningKey, VerifyingKey};

use super::event::{IssuanceEvent, SignedEvent};
use super::store::{NodeStore, Role};
use super::LedgerError;
use crate::ledger::route::Graph;

/// Audit event names written by the ledger.
pub mod audit_names {
    /// First node accepted and signed a user's event.
    pub const ISSUED: &str = "event_issued";
    /// A relay or far node stored a signed event.
    pub const RELAYED: &str = "event_relayed";
    /// An event was refused (forged, altered, replayed or not fitting the records).
    pub const REJECTED: &str = "event_rejected";
    /// Keys were issued against a payment.
    pub const KEYS_ISSUED: &str = "keys_issued";
    /// A relay's settlement claim was paid.
    pub const SETTLED: &str = "claim_settled";
    /// A settlement claim was refused.
    pub const CLAIM_REJECTED: &str = "claim_rejected";
}

fn reject<T>(
    store: &NodeStore,
    actor: &str,
    subject: &str,
    e: LedgerError,
) -> Result<T, LedgerError> {
    store.audit(audit_names::REJECTED, actor, subject, &e.to_string())?;
    Err(e)
}

/// The first node checks a user's MAC'd event and signs it. Nothing is spent yet: the spend
/// is committed by [`first_commit`] once success comes back from the far node.
///
/// # Errors
/// [`LedgerError::Malformed`], [`LedgerError::BadMac`], [`LedgerError::Replay`] or
/// [`LedgerError::Refused`] (each also written to the audit log), or a store error.
pub fn first_accept(
    store: &NodeStore,
    self_id: &str,
    key: &SigningKey,
    graph: &Graph,
    far_node: &str,
    event_bytes: &[u8],
    mac: [u8; 32],
) -> Result<SignedEvent, LedgerError> {
    let event = match IssuanceEvent::decode(event_bytes) {
        Ok(e) => e,
        Err(e) => return reject(store, "user", "-", e),
    };
    let subject = hex::encode(event.nonce);
    let actor = event.requester.clone();
    match first_check(store, self_id, graph, far_node, &event, event_bytes, &mac) {
        Ok(()) => {}
        Err(e) => return reject(store, &actor, &subject, e),
    }
    // The encoding is canonical, so signing re-encodes exactly `event_bytes`.
    SignedEvent::sign(event, mac, key)
}

fn first_check(
    store: &NodeStore,
    self_id: &str,
    graph: &Graph,
    far_node: &str,
    event: &IssuanceEvent,
    event_bytes: &[u8],
    mac: &[u8; 32],
) -> Result<(), LedgerError> {
    if event.first_node() != Some(self_id) {
        return Err(LedgerError::Refused(
            "route does not start at this node".into(),
        ));
    }
    let quote = graph.route(self_id, far_node)?;
    if quote != event.breakdown {
        return Err(LedgerError::Refused(
            "breakdown differs from the quoted route".into(),
        ));
    }
    if let Some(why) = store.seen(&event.nonce, self_id, &event.key_id)? {
        return Err(LedgerError::Replay(why));
    }
    if store.is_spent(&event.key_id)? {
        return Err(LedgerError::Replay("denominated key already spent"));
    }
    let (owner, value, material) = store
        .pool_key(&event.key_id)?
        .ok_or_else(|| LedgerError::Refused("unknown denominated key".into()))?;
    if owner != event.requester {
        return Err(LedgerError::Refused(
            "denominated key belongs to another user".into(),
        ));
    }
    if value != event.total()? {
        return Err(LedgerError::Refused(format!(
            "key value {value} differs from the total {}",
            event.total()?
        )));
    }
    let check = SignedEvent {
        event: event.clone(),
        event_bytes: event_bytes.to_vec(),
        mac: *mac,
        sig: [0; 64],
    };
    check.verify_mac(&material)
}

/// The first node commits a successful request: the denominated key leaves the pool (its
/// material is deleted, its ID kept as spent) and the signed event is stored.
///
/// # Errors
/// [`LedgerError::Refused`] if the key left the pool meanwhile; store errors.
pub fn first_commit(
    store: &mut NodeStore,
    self_id: &str,
    signed: &SignedEvent,
) -> Result<(), LedgerError> {
    let e = &signed.event;
    let bytes = signed.encode();
    let at = super::now_ms();
    store.with_tx(|tx| {
        NodeStore::spend_in(tx, &e.key_id, &e.nonce)?;
        NodeStore::store_event_in(tx, &e.nonce, self_id, &e.key_id, Role::First, &bytes, at)
    })?;
    store.audit(
        audit_names::ISSUED,
        &e.requester,
        &hex::encode(e.nonce),
        &format!(
            "key {} total {} to {}",
            hex::encode(e.key_id),
            e.total()?,
            e.recipient
        ),
    )
}

/// A relay or the far node verifies a signed event from the wire and stores it.
///
/// Checks, in order: decoding, that this node is on the route after the first node, the
/// first node's signature under `first_key`, and replay (same nonce, or same denominated key
/// of the same first node). Returns the role taken.
///
/// # Errors
/// [`LedgerError::Malformed`], [`LedgerError::BadSignature`], [`LedgerError::Replay`],
/// [`LedgerError::Refused`] (each also written to the audit log), or a store error.
pub fn relay_accept(
    store: &mut NodeStore,
    self_id: &str,
    from: &str,
    wire: &[u8],
    first_key: impl Fn(&str) -> Option<VerifyingKey>,
) -> Result<(SignedEvent, Role), LedgerError> {
    let signed = match SignedEvent::decode(wire) {
        Ok(s) => s,
        Err(e) => return reject(store, from, "-", e),
    };
    let subject = hex::encode(signed.event.nonce);
    let role = match relay_check(store, self_id, from, &signed, &first_key) {
        Ok(r) => r,
        Err(e) => return reject(store, from, &subject, e),
    };
    let e = &signed.event;
    let first = e.first_node().unwrap_or_default().to_owned();
    let at = super::now_ms();
    store
        .with_tx(|tx| NodeStore::store_event_in(tx, &e.nonce, &first, &e.key_id, role, wire, at))?;
    store.audit(
        audit_names::RELAYED,
        from,
        &subject,
        &format!("first {first} charge {}", e.charge_of(self_id).unwrap_or(0)),
    )?;
    Ok((signed, role))
}

fn relay_check(
    store: &NodeStore,
    self_id: &str,
    from: &str,
    signed: &SignedEvent,
    first_key: &impl Fn(&str) -> Option<VerifyingKey>,
) -> Result<Role, LedgerError> {
    let e = &signed.event;
    let first = e
        .first_node()
        .ok_or(LedgerError::Malformed("empty route"))?;
    let pos = e
        .breakdown
        .iter()
        .position(|c| c.node == self_id)
        .ok_or_else(|| LedgerError::Refused("this node is not on the route".into()))?;
    if pos == 0 {
        return Err(LedgerError::Refused("this node is the first node".into()));
    }
    if e.breakdown.get(pos - 1).map(|c| c.node.as_str()) != Some(from) {
        return Err(LedgerError::Refused(format!(
            "{from} is not the previous node on the route"
        )));
    }
    let vk = first_key(first)
        .ok_or_else(|| LedgerError::Refused(format!("unknown first node {first}")))?;
    signed.verify_signature(&vk)?;
    e.total()?;
    if let Some(why) = store.seen(&e.nonce, first, &e.key_id)? {
        return Err(LedgerError::Replay(why));
    }
    Ok(if pos + 1 == e.breakdown.len() {
        Role::Far
    } else {
        Role::Relay
    })
}
