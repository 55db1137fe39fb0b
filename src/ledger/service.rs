//! One node's side of the protocol, the only implementation of it: [`NodeService::handle`]
//! takes a [`Msg`] from an authenticated [`Caller`] and returns the [`Reply`]. Calls to other
//! nodes (forwarding along the route, settlement claims) go through a [`Transport`], so the
//! same code runs as a network service (`qwave ledger serve`) and in one process.
//!
//! Steps (issue 7):
//! * `quote`: the first node routes from itself to the recipient's node ([`super::route`]).
//! * `submit`: the first node checks the requester's MAC and signs ([`first_accept`]),
//!   forwards to the next node and waits; on success it commits the spend ([`first_commit`])
//!   and returns the key to the requester.
//! * `forward`: a relay verifies and stores ([`relay_accept`]) and forwards to the next node;
//!   the far node keeps a fresh key for the recipient (sealed mailbox) and returns it back.
//! * `fetch` / `ack`: the recipient takes its keys from its node.
//! * `claim` / `settle`: settlement ([`super::settle`]).

use std::sync::Mutex;

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use super::event::SignedEvent;
use super::network::Network;
use super::node::{first_accept, first_commit, relay_accept};
use super::settle::{claim, SettlementReport};
use super::store::{NodeStore, Role};
use super::transport::{unhex, unhex_n, Caller, Msg, Reply, Transport, WireKey};
use super::{random, LedgerError};

/// A running node: its identity, store, signing key and a transport speaking as itself.
pub struct NodeService {
    id: String,
    root: std::path::PathBuf,
    store: Mutex<NodeStore>,
    key: SigningKey,
    onward: Box<dyn Transport>,
}

impl NodeService {
    /// Opens node `id` of `net`; `onward` carries its calls to other nodes (as this node).
    ///
    /// # Errors
    /// Unknown node, store or unsealing errors.
    pub fn open(net: Network, id: &str, onward: Box<dyn Transport>) -> Result<Self, LedgerError> {
        let store = net.node(id)?;
        let key = store.signing_key()?;
        Ok(Self {
            id: id.to_owned(),
            root: net.root().to_owned(),
            store: Mutex::new(store),
            key,
            onward,
        })
    }

    /// The directory as it is now (re-read per call: nodes publish addresses, users join).
    fn net(&self) -> Result<Network, LedgerError> {
        Network::open(&self.root)
    }

    /// This node's ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn store(&self) -> Result<std::sync::MutexGuard<'_, NodeStore>, LedgerError> {
        self.store
            .lock()
            .map_err(|_| LedgerError::Directory("node store lock poisoned".into()))
    }

    fn own_user(&self, caller: &Caller) -> Result<String, LedgerError> {
        match caller {
            Caller::User(u) if self.net()?.home(u).ok() == Some(self.id.as_str()) => Ok(u.clone()),
            _ => Err(LedgerError::Unauthorized(format!(
                "{} is not a user of {}",
                caller.cn(),
                self.id
            ))),
        }
    }

    fn node_caller(caller: &Caller) -> Result<&str, LedgerError> {
        match caller {
            Caller::Node(n) => Ok(n),
            _ => Err(LedgerError::Unauthorized(format!(
                "{} is not a node",
                caller.cn()
            ))),
        }
    }

    /// Handles one protocol message from `caller`.
    ///
    /// # Errors
    /// The step's refusal ([`LedgerError::Unauthorized`] for a caller that may not make it;
    /// event refusals are also written to the audit log) or a downstream node's refusal.
    pub fn handle(&self, caller: &Caller, msg: Msg) -> Result<Reply, LedgerError> {
        match msg {
            Msg::Quote { to } => {
                self.own_user(caller)?;
                let net = self.net()?;
                let far = net.home(&to)?.to_owned();
                let b = net.graph()?.route(&self.id, &far)?;
                Ok(Reply::Quote {
                    breakdown: b.into_iter().map(|c| (c.node, c.charge)).collect(),
                })
            }
            Msg::Submit { event, mac } => {
                let user = self.own_user(caller)?;
                self.submit(&user, &unhex(&event)?, unhex_n(&mac)?)
            }
            Msg::Forward { wire } => {
                let from = Self::node_caller(caller)?.to_owned();
                self.forward(&from, &unhex(&wire)?)
            }
            Msg::Fetch => {
                let user = self.own_user(caller)?;
                let keys = self.store()?.mail(&user)?;
                Ok(Reply::Mail {
                    keys: keys
                        .into_iter()
                        .map(|(id, peer, event, key)| wire_key(&id, &peer, &event, &key))
                        .collect(),
                })
            }
            Msg::Ack { key_ids } => {
                let user = self.own_user(caller)?;
                let ids = key_ids
                    .iter()
                    .map(|k| unhex_n::<16>(k))
                    .collect::<Result<Vec<_>, _>>()?;
                let deleted = self.store()?.ack_mail(&user, &ids)?;
                Ok(Reply::Acked { deleted })
            }
            Msg::Claim { wire } => {
                let relay = Self::node_caller(caller)?.to_owned();
                let vk = self.key.verifying_key();
                let wire = unhex(&wire)?;
                let store = self.store()?;
                let amount = claim(&store, &self.id, &vk, &relay, &wire)?;
                Ok(Reply::Paid { amount })
            }
            Msg::Settle => {
                if *caller != Caller::Operator && *caller != Caller::Node(self.id.clone()) {
                    return Err(LedgerError::Unauthorized(format!(
                        "{} may not start {}'s settlement",
                        caller.cn(),
                        self.id
                    )));
                }
                Ok(Reply::Settled(self.settle()?))
            }
        }
    }

    fn submit(&self, user: &str, event: &[u8], mac: [u8; 32]) -> Result<Reply, LedgerError> {
        let decoded = super::event::IssuanceEvent::decode(event);
        if let Ok(e) = &decoded {
            if e.requester != user {
                let err = LedgerError::Unauthorized(format!(
                    "{user} submitted an event of {}",
                    e.requester
                ));
                self.store()?.audit(
                    super::node::audit_names::REJECTED,
                    user,
                    &hex::encode(e.nonce),
                    &err.to_string(),
                )?;
                return Err(err);
            }
        }
        let net = self.net()?;
        let far = match &decoded {
            Ok(e) => net.home(&e.recipient)?.to_owned(),
            Err(_) => self.id.clone(),
        };
        let graph = net.graph()?;
        let signed = {
            let store = self.store()?;
            first_accept(&store, &self.id, &self.key, &graph, &far, event, mac)?
        };
        let wire = signed.encode();
        let key = match signed.event.breakdown.get(1) {
            Some(next) => self.forward_to(&next.node, &wire)?,
            // Both users on this node: it is also the far node.
            None => self.deliver(&signed, &wire)?,
        };
        first_commit(&mut *self.store()?, &self.id, &signed)?;
        Ok(Reply::Delivered {
            wire: hex::encode(&wire),
            key,
        })
    }

    fn forward(&self, from: &str, wire: &[u8]) -> Result<Reply, LedgerError> {
        let net = self.net()?;
        let (signed, role) = {
            let mut store = self.store()?;
            relay_accept(&mut store, &self.id, from, wire, |n| net.public_key(n))?
        };
        let key = match role {
            Role::Far => self.deliver(&signed, wire)?,
            _ => {
                let pos = signed
                    .event
                    .breakdown
                    .iter()
                    .position(|c| c.node == self.id)
                    .ok_or(LedgerError::Malformed("route"))?;
                let next = signed
                    .event
                    .breakdown
                    .get(pos + 1)
                    .ok_or(LedgerError::Malformed("route"))?;
                self.forward_to(&next.node, wire)?
            }
        };
        Ok(Reply::Forwarded { key })
    }

    /// Passes the signed event `wire` on to `node` and returns the key the far end delivered.
    fn forward_to(&self, node: &str, wire: &[u8]) -> Result<WireKey, LedgerError> {
        match self.onward.call(
            node,
            &Msg::Forward {
                wire: hex::encode(wire),
            },
        )? {
            Reply::Forwarded { key } => Ok(key),
            other => Err(LedgerError::Network(format!(
                "{node} answered forward with {other:?}"
            ))),
        }
    }

    /// The far node draws a fresh 256-bit key and keeps it (sealed) for the recipient.
    fn deliver(&self, signed: &SignedEvent, wire: &[u8]) -> Result<WireKey, LedgerError> {
        let e = &signed.event;
        if self.net()?.home(&e.recipient)? != self.id {
            return Err(LedgerError::Refused(format!(
                "recipient {} is not attached to {}",
                e.recipient, self.id
            )));
        }
        let mut key_id = [0u8; 16];
        let mut key = Zeroizing::new([0u8; 32]);
        random(&mut key_id)?;
        random(&mut key[..])?;
        self.store()?
            .put_mail(&e.recipient, &e.requester, &key_id, wire, &key)?;
        Ok(wire_key(&key_id, &e.recipient, wire, &key))
    }

    /// This node claims its share of every unsettled stored event from their first nodes.
    fn settle(&self) -> Result<SettlementReport, LedgerError> {
        let mut rep = SettlementReport {
            relay: self.id.clone(),
            ..SettlementReport::default()
        };
        let events = self.store()?.events()?;
        for ev in events {
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
            let r = self.onward.call(
                &first_id,
                &Msg::Claim {
                    wire: hex::encode(&ev.bytes),
                },
            );
            match r {
                Ok(Reply::Paid { amount }) => {
                    self.store()?.conn.execute(
                        "UPDATE events SET settled = 1 WHERE nonce = ?1",
                        [&ev.nonce[..]],
                    )?;
                    rep.paid_claims += 1;
                    *rep.paid_by.entry(first_id).or_default() += amount;
                    rep.total = rep.total.checked_add(amount).ok_or(LedgerError::Overflow)?;
                }
                Ok(other) => rep.refused.push(format!(
                    "{}: unexpected reply {other:?}",
                    hex::encode(ev.nonce)
                )),
                Err(e) => rep.refused.push(format!("{}: {e}", hex::encode(ev.nonce))),
            }
        }
        Ok(rep)
    }
}

fn wire_key(id: &[u8; 16], peer: &str, event: &[u8], key: &[u8; 32]) -> WireKey {
    WireKey {
        key_id: hex::encode(id),
        peer: peer.to_owned(),
        event: hex::encode(event),
        key: hex::encode(key),
    }
}
