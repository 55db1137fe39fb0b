//! Settlement: a relay (or far node) claims its share of each event it stored from the
//! event's first node by presenting the signed event. The first node pays a claim only if
//! its own signature verifies, the event is in its own records byte for byte, the claimant
//! is on the route, and the claimant was not paid for that event before. Refused claims are
//! written to the first node's audit log.

use std::collections::BTreeMap;

use serde::Serialize;

use super::event::SignedEvent;
use super::network::Network;
use super::node::audit_names;
use super::store::NodeStore;
use super::{now_ms, LedgerError};

/// The first node's decision on one claim.
///
/// # Errors
/// [`LedgerError::Malformed`], [`LedgerError::BadSignature`], [`LedgerError::Refused`],
/// [`LedgerError::Replay`] (each also audited), or a store error.
pub fn claim(
    first: &NodeStore,
    first_id: &str,
    first_key: &ed25519_dalek::VerifyingKey,
    relay: &str,
    wire: &[u8],
) -> Result<u64, LedgerError> {
    let result = check_claim(first, first_id, first_key, relay, wire);
    match result {
        Ok((nonce, amount)) => {
            first.conn.execute(
                "INSERT INTO settlements (nonce, relay, amount, at_ms) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    &nonce[..],
                    relay,
                    i64::try_from(amount).map_err(|_| LedgerError::Overflow)?,
                    i64::try_from(now_ms()).unwrap_or(i64::MAX)
                ],
            )?;
            first.audit(
                audit_names::SETTLED,
                relay,
                &hex::encode(nonce),
                &format!("amount {amount}"),
            )?;
            Ok(amount)
        }
        Err(e) => {
            let subject = SignedEvent::decode(wire)
                .map_or_else(|_| "-".to_owned(), |s| hex::encode(s.event.nonce));
            first.audit(audit_names::CLAIM_REJECTED, relay, &subject, &e.to_string())?;
            Err(e)
        }
    }
}

fn check_claim(
    first: &NodeStore,
    first_id: &str,
    first_key: &ed25519_dalek::VerifyingKey,
    relay: &str,
    wire: &[u8],
) -> Result<([u8; 16], u64), LedgerError> {
    let s = SignedEvent::decode(wire)?;
    s.verify_signature(first_key)?;
    let e = &s.event;
    if e.first_node() != Some(first_id) {
        return Err(LedgerError::Refused("event was not issued here".into()));
    }
    if relay == first_id {
        return Err(LedgerError::Refused(
            "the first node cannot claim from itself".into(),
        ));
    }
    let amount = e
        .charge_of(relay)
        .ok_or_else(|| LedgerError::Refused(format!("{relay} is not on the route")))?;
    let mine: Option<Vec<u8>> = first
        .conn
        .query_row(
            "SELECT bytes FROM events WHERE nonce = ?1 AND role = 'first'",
            [&e.nonce[..]],
            |r| r.get(0),
        )
        .ok();
    if mine.as_deref() != Some(wire) {
        return Err(LedgerError::Refused(
            "no matching issued event in the first node's records".into(),
        ));
    }
    let paid = first
        .conn
        .query_row(
            "SELECT 1 FROM settlements WHERE nonce = ?1 AND relay = ?2",
            rusqlite::params![&e.nonce[..], relay],
            |_| Ok(()),
        )
        .is_ok();
    if paid {
        return Err(LedgerError::Replay("claim already settled"));
    }
    Ok((e.nonce, amount))
}

/// What a settlement run paid one relay.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SettlementReport {
    /// The claiming node.
    pub relay: String,
    /// Claims paid.
    pub paid_claims: usize,
    /// Amount paid per first node.
    pub paid_by: BTreeMap<String, u64>,
    /// Total paid in this run.
    pub total: u64,
    /// Claims refused, with the reason.
    pub refused: Vec<String>,
}

/// Node `relay` presents every unsettled stored event to its first node.
///
/// # Errors
/// Directory and store errors (refused claims are reported, not errors).
pub fn settle(net: &Network, relay: &str) -> Result<SettlementReport, LedgerError> {
    let rstore = net.node(relay)?;
    let mut rep = SettlementReport {
        relay: relay.to_owned(),
        ..SettlementReport::default()
    };
    for ev in rstore.events()? {
        if ev.settled || ev.role == "first" {
            continue;
        }
        let first_id = match SignedEvent::decode(&ev.bytes) {
            Ok(s) => s.event.first_node().unwrap_or_default().to_owned(),
            Err(e) => {
                rep.refused.push(format!("{}: {e}", hex::encode(ev.nonce)));
                continue;
            }
        };
        let fstore = net.node(&first_id)?;
        let key = net
            .public_key(&first_id)
            .ok_or_else(|| LedgerError::Directory(format!("no public key for {first_id}")))?;
        match claim(&fstore, &first_id, &key, relay, &ev.bytes) {
            Ok(amount) => {
                rstore.conn.execute(
                    "UPDATE events SET settled = 1 WHERE nonce = ?1",
                    [&ev.nonce[..]],
                )?;
                rep.paid_claims += 1;
                *rep.paid_by.entry(first_id).or_default() += amount;
                rep.total = rep.total.checked_add(amount).ok_or(LedgerError::Overflow)?;
            }
            Err(e) => rep.refused.push(format!("{}: {e}", hex::encode(ev.nonce))),
        }
    }
    Ok(rep)
}
