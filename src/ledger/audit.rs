//! Audits. A user reproduces its bill from its own stored events alone ([`user_bill`]); the
//! operator checks that every issued and every relayed key is accounted for across all nodes
//! and lists every refused event and claim from the audit logs ([`operator_audit`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::event::SignedEvent;
use super::network::Network;
use super::node::audit_names;
use super::store::UserStore;
use super::LedgerError;
use crate::centre::audit::verify_chain;

/// One billed key request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BillLine {
    /// Event nonce (hex).
    pub event: String,
    /// Time the requester signed (Unix ms).
    pub time_ms: u64,
    /// Recipient.
    pub to: String,
    /// Charges per node.
    pub breakdown: Vec<(String, u64)>,
    /// Total (the spent key's value).
    pub total: u64,
}

/// A user's bill.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Bill {
    /// The user.
    pub user: String,
    /// Amount paid for denominated keys.
    pub paid: u64,
    /// One line per key request the user paid for.
    pub lines: Vec<BillLine>,
    /// Sum of the lines.
    pub spent: u64,
    /// Amount owed to each node over all lines.
    pub per_node: BTreeMap<String, u64>,
    /// Value of the denominated keys still unused.
    pub unused_value: u64,
    /// Keys received from other users.
    pub received: usize,
}

/// The bill from a user's own store: purchases, the `sent` events and unused keys.
///
/// # Errors
/// A stored event that does not decode, overflow, store errors.
pub fn user_bill(user: &str, store: &UserStore) -> Result<Bill, LedgerError> {
    let mut lines = Vec::new();
    let mut per_node: BTreeMap<String, u64> = BTreeMap::new();
    let mut spent = 0u64;
    let mut received = 0;
    for (role, bytes) in store.events()? {
        let s = SignedEvent::decode(&bytes)?;
        if role != "sent" {
            received += 1;
            continue;
        }
        let e = s.event;
        let total = e.total()?;
        spent = spent.checked_add(total).ok_or(LedgerError::Overflow)?;
        for c in &e.breakdown {
            *per_node.entry(c.node.clone()).or_default() += c.charge;
        }
        lines.push(BillLine {
            event: hex::encode(e.nonce),
            time_ms: e.time_ms,
            to: e.recipient,
            breakdown: e
                .breakdown
                .into_iter()
                .map(|c| (c.node, c.charge))
                .collect(),
            total,
        });
    }
    let unused_value = store
        .unused()?
        .iter()
        .try_fold(0u64, |a, (_, v)| a.checked_add(*v))
        .ok_or(LedgerError::Overflow)?;
    Ok(Bill {
        user: user.to_owned(),
        paid: store.paid()?,
        lines,
        spent,
        per_node,
        unused_value,
        received,
    })
}

/// Per-node figures in the operator's audit.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeAccount {
    /// Payments recorded.
    pub payments: u64,
    /// Denominated keys issued (unspent + spent) and their value.
    pub issued_keys: u64,
    /// Value of issued keys.
    pub issued_value: u64,
    /// Denominated keys spent.
    pub spent_keys: u64,
    /// Events this node issued as first node.
    pub first_events: u64,
    /// Events this node relayed or delivered.
    pub relayed_events: u64,
    /// Charges this node earned on relayed events.
    pub earned: u64,
    /// Of which settled (paid by first nodes).
    pub settled: u64,
    /// Audit records.
    pub audit_records: usize,
}

/// The operator's audit of the whole network.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OperatorReport {
    /// Figures per node.
    pub nodes: BTreeMap<String, NodeAccount>,
    /// Each user's spend according to the first nodes' records.
    pub billed: BTreeMap<String, u64>,
    /// Refused events and claims from all audit logs: `node: event actor subject detail`.
    pub rejections: Vec<String>,
    /// Inconsistencies found (empty: every issued and relayed key is accounted for).
    pub findings: Vec<String>,
}

/// A node's stored events by nonce: (role, wire bytes, settled).
type NodeEvents = BTreeMap<[u8; 16], (String, Vec<u8>, bool)>;

/// Audits every node: audit chains intact; every issued key unspent or spent with an event;
/// every first-node event stored identically by every other node on its route; every relayed
/// event issued by its first node; settlements match relayed charges.
///
/// # Errors
/// Store and directory errors.
pub fn operator_audit(net: &Network) -> Result<OperatorReport, LedgerError> {
    let mut rep = OperatorReport::default();
    let mut stored: BTreeMap<String, NodeEvents> = BTreeMap::new();
    for id in net.directory().nodes.keys() {
        let s = net.node(id)?;
        let log = s.audit_log()?;
        for f in verify_chain(&log, None) {
            rep.findings.push(format!("{id}: audit chain: {f}"));
        }
        for r in &log {
            if r.event == audit_names::REJECTED || r.event == audit_names::CLAIM_REJECTED {
                rep.rejections.push(format!(
                    "{id}: {} from {} event {}: {}",
                    r.event, r.actor, r.subject, r.detail
                ));
            }
        }
        let mut acc = NodeAccount {
            payments: s.scalar("SELECT SUM(amount) FROM payments")?,
            issued_keys: s.scalar("SELECT (SELECT COUNT(*) FROM pool) + (SELECT COUNT(*) FROM spent)")?,
            issued_value: s.scalar("SELECT (SELECT IFNULL(SUM(value),0) FROM pool) + (SELECT IFNULL(SUM(value),0) FROM spent)")?,
            spent_keys: s.scalar("SELECT COUNT(*) FROM spent")?,
            audit_records: log.len(),
            ..NodeAccount::default()
        };
        let orphan = s.scalar(
            "SELECT COUNT(*) FROM spent WHERE nonce NOT IN (SELECT nonce FROM events WHERE role = 'first')",
        )?;
        if orphan > 0 {
            rep.findings.push(format!(
                "{id}: {orphan} spent keys without an issuance event"
            ));
        }
        if acc.issued_value > acc.payments {
            rep.findings.push(format!(
                "{id}: issued value {} exceeds payments {}",
                acc.issued_value, acc.payments
            ));
        }
        let mut mine = BTreeMap::new();
        for ev in s.events()? {
            let signed = match SignedEvent::decode(&ev.bytes) {
                Ok(x) => x,
                Err(e) => {
                    rep.findings.push(format!(
                        "{id}: stored event {} does not decode: {e}",
                        hex::encode(ev.nonce)
                    ));
                    continue;
                }
            };
            let e = &signed.event;
            if ev.role == "first" {
                acc.first_events += 1;
                *rep.billed.entry(e.requester.clone()).or_default() += e.total()?;
            } else {
                acc.relayed_events += 1;
                let c = e.charge_of(id).unwrap_or(0);
                acc.earned += c;
                if ev.settled {
                    acc.settled += c;
                }
            }
            mine.insert(ev.nonce, (ev.role, ev.bytes, ev.settled));
        }
        rep.nodes.insert(id.clone(), acc);
        stored.insert(id.clone(), mine);
    }
    // Cross-node: every issued event relayed everywhere on its route, and every relayed one issued.
    for (id, evs) in &stored {
        for (nonce, (role, bytes, _)) in evs {
            let Ok(s) = SignedEvent::decode(bytes) else {
                continue;
            };
            let e = &s.event;
            if role == "first" {
                for hop in e.breakdown.iter().skip(1) {
                    let same = stored
                        .get(&hop.node)
                        .and_then(|m| m.get(nonce))
                        .is_some_and(|(_, b, _)| b == bytes);
                    if !same {
                        rep.findings.push(format!(
                            "event {} issued by {id} missing at relay {}",
                            hex::encode(nonce),
                            hop.node
                        ));
                    }
                }
            } else {
                let first = e.first_node().unwrap_or_default();
                let issued = stored
                    .get(first)
                    .and_then(|m| m.get(nonce))
                    .is_some_and(|(r, b, _)| r == "first" && b == bytes);
                if !issued {
                    rep.findings.push(format!(
                        "event {} relayed by {id} not issued by {first}",
                        hex::encode(nonce)
                    ));
                }
            }
        }
    }
    // Settlements recorded by first nodes must equal what relays marked settled.
    for id in net.directory().nodes.keys() {
        let mut paid_to = 0u64;
        for first in net.directory().nodes.keys() {
            let s = net.node(first)?;
            let v: Option<i64> = s.conn.query_row(
                "SELECT SUM(amount) FROM settlements WHERE relay = ?1",
                [id],
                |r| r.get(0),
            )?;
            paid_to += u64::try_from(v.unwrap_or(0)).unwrap_or(0);
        }
        let settled = rep.nodes.get(id).map_or(0, |a| a.settled);
        if paid_to != settled {
            rep.findings.push(format!(
                "{id}: first nodes paid {paid_to} but the node counts {settled} settled"
            ));
        }
    }
    Ok(rep)
}
