//! Settlement: a relay (or far node) claims its share of each event it stored from the
//! event's first node by presenting the signed event. The first node pays a claim only if
//! its own signature verifies, the event is in its own records byte for byte, the claimant
//! is on the route, and the claimant was not paid for that event before. Refused claims are
//! written to the first node's audit log.

use std::collections::BTreeMap;

use serde::Serialize;

use serde::Deserialize;

use super::event::SignedEvent;
use super::network::Network;
use super::node::audit_names;
use super::store::NodeStore;
use super::transport::{Caller, LocalTransport, Msg, Reply, Transport};
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
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

/// In process: node `relay` presents every unsettled stored event to its first node (the
/// `settle` step of [`super::service::NodeService`] over the [`LocalTransport`]).
///
/// # Errors
/// Directory and store errors (refused claims are reported, not errors).
pub fn settle(net: &Network, relay: &str) -> Result<SettlementReport, LedgerError> {
    settle_via(
        &LocalTransport::new(net.root().to_owned(), Caller::Operator),
        relay,
    )
}

/// Asks node `relay` through `t` (speaking as the operator) to claim its shares.
///
/// # Errors
/// The node's refusal or transport errors.
pub fn settle_via(t: &dyn Transport, relay: &str) -> Result<SettlementReport, LedgerError> {
    match t.call(relay, &Msg::Settle)? {
        Reply::Settled(r) => Ok(r),
        other => Err(LedgerError::Network(format!(
            "{relay} gave an unexpected reply: {other:?}"
        ))),
    }
}
