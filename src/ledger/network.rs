//! A ledger network directory: `network.json` (the operator's directory: node tariffs, links,
//! Ed25519 public keys and listening addresses; user → home node), one SQLite file per node
//! (`nodes/<id>.db`, its master key `nodes/<id>.key`) and per user (`users/<id>.db`,
//! `users/<id>.key`), and the network's TLS PKI in `pki/` (the centre's lab PKI: a CA, one
//! server certificate all nodes present, and a client certificate per node `node.<id>`, per
//! user `user.<id>` and for the `operator`).
//!
//! The user-side steps ([`Network::request_via`], [`Network::fetch_via`]) talk to the user's
//! node through a [`Transport`]; the shortcuts without `_via` use the in-process
//! [`LocalTransport`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::denomination::{issue_against, Payment};
use super::event::{requester_mac, Charge, IssuanceEvent, SignedEvent, MAX_ID_LEN};
use super::node::audit_names;
use super::route::Graph;
use super::store::{NodeStore, UserStore};
use super::transport::{unhex, unhex_n, Caller, LocalTransport, Msg, Reply, Transport};
use super::{now_ms, random, LedgerError};
use crate::centre::pki;

/// A node's directory entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeEntry {
    /// Charge per relayed key.
    pub tariff: u64,
    /// Ed25519 public key (hex).
    pub public_key: String,
    /// Linked neighbours.
    pub links: Vec<String>,
    /// Where the node's service listens (`host:port`), once it was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
}

/// The operator's directory (`network.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Directory {
    /// Nodes by ID.
    pub nodes: BTreeMap<String, NodeEntry>,
    /// Users by ID → home node.
    pub users: BTreeMap<String, String>,
}

/// Outcome of a successful key request.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The signed issuance event.
    pub event: SignedEvent,
    /// ID of the delivered key (both users hold it).
    pub key_id: [u8; 16],
}

/// A network directory.
pub struct Network {
    root: PathBuf,
    dir: Directory,
}

fn check_id(kind: &str, id: &str) -> Result<(), LedgerError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(LedgerError::Directory(format!(
            "{kind} ID {id:?}: 1–{MAX_ID_LEN} characters from [A-Za-z0-9_-]"
        )))
    }
}

impl Network {
    /// Opens the network at `root`, creating an empty one if it has no directory file.
    ///
    /// # Errors
    /// I/O and JSON errors.
    pub fn open(root: &Path) -> Result<Self, LedgerError> {
        std::fs::create_dir_all(root.join("nodes"))?;
        std::fs::create_dir_all(root.join("users"))?;
        let f = root.join("network.json");
        let dir = if f.exists() {
            serde_json::from_slice(&std::fs::read(&f)?)?
        } else {
            Directory::default()
        };
        Ok(Self {
            root: root.to_owned(),
            dir,
        })
    }

    /// The network directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The network's PKI directory (CA, node server certificate, client certificates).
    pub fn pki_dir(&self) -> PathBuf {
        self.root.join("pki")
    }

    fn ensure_pki(&self) -> Result<(), LedgerError> {
        if !self.pki_dir().join("ca.pem").exists() {
            pki::init_dir(&self.pki_dir(), &[], &[])?;
        }
        Ok(())
    }

    /// Where node `id` listens.
    ///
    /// # Errors
    /// [`LedgerError::Directory`] for an unknown node or one that was never started.
    pub fn address(&self, id: &str) -> Result<String, LedgerError> {
        self.dir
            .nodes
            .get(id)
            .and_then(|e| e.addr.clone())
            .ok_or_else(|| LedgerError::Directory(format!("node {id} has no address")))
    }

    /// Publishes where node `id` listens (re-reads the directory file first).
    ///
    /// # Errors
    /// Unknown node, I/O and JSON errors.
    pub fn set_address(&mut self, id: &str, addr: &str) -> Result<(), LedgerError> {
        let f = self.root.join("network.json");
        self.dir = serde_json::from_slice(&std::fs::read(&f)?)?;
        let e = self
            .dir
            .nodes
            .get_mut(id)
            .ok_or_else(|| LedgerError::Directory(format!("unknown node {id}")))?;
        e.addr = Some(addr.to_owned());
        self.save()
    }

    fn save(&self) -> Result<(), LedgerError> {
        let tmp = self.root.join("network.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&self.dir)?)?;
        std::fs::rename(tmp, self.root.join("network.json"))?;
        Ok(())
    }

    /// The directory.
    pub fn directory(&self) -> &Directory {
        &self.dir
    }

    /// Path of a node's file.
    pub fn node_path(&self, id: &str) -> PathBuf {
        self.root.join("nodes").join(format!("{id}.db"))
    }

    /// Path of a user's file.
    pub fn user_path(&self, id: &str) -> PathBuf {
        self.root.join("users").join(format!("{id}.db"))
    }

    /// Opens a known node's store.
    ///
    /// # Errors
    /// [`LedgerError::Directory`] for an unknown node; store errors.
    pub fn node(&self, id: &str) -> Result<NodeStore, LedgerError> {
        if !self.dir.nodes.contains_key(id) {
            return Err(LedgerError::Directory(format!("unknown node {id}")));
        }
        NodeStore::open(&self.node_path(id))
    }

    /// Opens a known user's store.
    ///
    /// # Errors
    /// [`LedgerError::Directory`] for an unknown user; store errors.
    pub fn user(&self, id: &str) -> Result<UserStore, LedgerError> {
        if !self.dir.users.contains_key(id) {
            return Err(LedgerError::Directory(format!("unknown user {id}")));
        }
        UserStore::open(&self.user_path(id))
    }

    /// A user's home node.
    ///
    /// # Errors
    /// [`LedgerError::Directory`] for an unknown user.
    pub fn home(&self, user: &str) -> Result<&str, LedgerError> {
        self.dir
            .users
            .get(user)
            .map(String::as_str)
            .ok_or_else(|| LedgerError::Directory(format!("unknown user {user}")))
    }

    /// A node's public key from the directory.
    pub fn public_key(&self, node: &str) -> Option<VerifyingKey> {
        let e = self.dir.nodes.get(node)?;
        let b: [u8; 32] = hex::decode(&e.public_key).ok()?.try_into().ok()?;
        VerifyingKey::from_bytes(&b).ok()
    }

    /// The node graph.
    ///
    /// # Errors
    /// [`LedgerError::Directory`] if a link names an unknown node.
    pub fn graph(&self) -> Result<Graph, LedgerError> {
        let mut g = Graph::default();
        for (id, e) in &self.dir.nodes {
            g.add_node(id, e.tariff);
        }
        for (id, e) in &self.dir.nodes {
            for l in &e.links {
                g.link(id, l)?;
            }
        }
        Ok(g)
    }

    /// Creates a node with a fresh Ed25519 key, its tariff and links to existing nodes.
    ///
    /// # Errors
    /// [`LedgerError::Directory`] for a bad or duplicate ID or an unknown link; store errors.
    pub fn init_node(
        &mut self,
        id: &str,
        tariff: u64,
        links: &[String],
    ) -> Result<(), LedgerError> {
        check_id("node", id)?;
        if self.dir.nodes.contains_key(id) {
            return Err(LedgerError::Directory(format!("node {id} exists")));
        }
        for l in links {
            if !self.dir.nodes.contains_key(l) {
                return Err(LedgerError::Directory(format!("unknown node {l}")));
            }
        }
        let mut secret = Zeroizing::new([0u8; 32]);
        random(&mut secret[..])?;
        let sk = SigningKey::from_bytes(&secret);
        self.ensure_pki()?;
        pki::add_sae(&self.pki_dir(), &Caller::Node(id.to_owned()).cn())?;
        pki::add_server(&self.pki_dir(), &Caller::Node(id.to_owned()).cn())?;
        let store = NodeStore::open(&self.node_path(id))?;
        store.set_meta("id", id.as_bytes())?;
        store.set_signing_key(&secret)?;
        self.dir.nodes.insert(
            id.to_owned(),
            NodeEntry {
                tariff,
                public_key: hex::encode(sk.verifying_key().to_bytes()),
                links: links.to_vec(),
                addr: None,
            },
        );
        self.save()
    }

    /// Attaches a new user to a node.
    ///
    /// # Errors
    /// [`LedgerError::Directory`] for a bad or duplicate ID or unknown node; store errors.
    pub fn add_user(&mut self, id: &str, node: &str) -> Result<(), LedgerError> {
        check_id("user", id)?;
        if self.dir.users.contains_key(id) {
            return Err(LedgerError::Directory(format!("user {id} exists")));
        }
        if !self.dir.nodes.contains_key(node) {
            return Err(LedgerError::Directory(format!("unknown node {node}")));
        }
        self.ensure_pki()?;
        pki::add_sae(&self.pki_dir(), &Caller::User(id.to_owned()).cn())?;
        let u = UserStore::open(&self.user_path(id))?;
        u.conn.execute(
            "INSERT OR REPLACE INTO meta (k, v) VALUES ('node', ?1)",
            [node.as_bytes()],
        )?;
        self.dir.users.insert(id.to_owned(), node.to_owned());
        self.save()
    }

    /// The user's home node records a payment and issues `count` keys of `value` to the user's
    /// key store, keeping the same keys in its pool. Returns the new key IDs.
    ///
    /// # Errors
    /// [`LedgerError::Payment`] if the payment is short or its reference reused; directory
    /// and store errors.
    pub fn issue(
        &self,
        user: &str,
        reference: &str,
        amount: u64,
        value: u64,
        count: u32,
    ) -> Result<Vec<[u8; 16]>, LedgerError> {
        let home = self.home(user)?.to_owned();
        let mut node = self.node(&home)?;
        let mut ustore = self.user(user)?;
        let payment = Payment {
            reference: reference.to_owned(),
            user: user.to_owned(),
            amount,
        };
        let keys = issue_against(&payment, value, count)?;
        node.record_payment(&payment, now_ms())?;
        node.add_to_pool(user, reference, &keys)?;
        ustore.add_keys(&payment, &keys)?;
        node.audit(
            audit_names::KEYS_ISSUED,
            "operator",
            user,
            &format!("payment {reference} amount {amount}: {count} × {value}"),
        )?;
        Ok(keys.iter().map(|k| k.id).collect())
    }

    /// The first node's quote: route and charges from `from`'s node to `to`'s node.
    ///
    /// # Errors
    /// [`LedgerError::NoRoute`], directory errors.
    pub fn quote(&self, from: &str, to: &str) -> Result<Vec<Charge>, LedgerError> {
        self.graph()?.route(self.home(from)?, self.home(to)?)
    }

    /// The requester builds and MACs its event for a quoted breakdown with an unused key of
    /// exactly the total value. Returns the event bytes and MAC (what goes to the first node).
    ///
    /// # Errors
    /// [`LedgerError::NoKeyOfValue`], store errors.
    pub fn user_sign(
        &self,
        from: &str,
        to: &str,
        breakdown: Vec<Charge>,
    ) -> Result<(Vec<u8>, [u8; 32]), LedgerError> {
        let ustore = self.user(from)?;
        let mut event = IssuanceEvent {
            time_ms: now_ms(),
            requester: from.to_owned(),
            recipient: to.to_owned(),
            breakdown,
            key_id: [0; 16],
            nonce: [0; 16],
        };
        let dk = ustore.pick_key(event.total()?)?;
        event.key_id = dk.id;
        random(&mut event.nonce)?;
        let bytes = event.encode()?;
        let mac = requester_mac(&dk.material, &bytes);
        Ok((bytes, mac))
    }

    /// In process: presents signed wire bytes to node `to` as a `forward` from node `from`.
    ///
    /// # Errors
    /// As [`super::node::relay_accept`], or a refusal further along the route.
    pub fn deliver_to_relay(&self, to: &str, from: &str, wire: &[u8]) -> Result<(), LedgerError> {
        self.local(Caller::Node(from.to_owned()))
            .call(
                to,
                &Msg::Forward {
                    wire: hex::encode(wire),
                },
            )
            .map(|_| ())
    }

    fn local(&self, caller: Caller) -> LocalTransport {
        LocalTransport::new(self.root.clone(), caller)
    }

    /// In process: [`Network::request_via`] with the [`LocalTransport`].
    ///
    /// # Errors
    /// As [`Network::request_via`].
    pub fn request(&self, from: &str, to: &str) -> Result<Delivery, LedgerError> {
        self.request_via(&self.local(Caller::User(from.to_owned())), from, to)
    }

    /// In process: [`Network::submit_via`] with the [`LocalTransport`].
    ///
    /// # Errors
    /// As [`Network::submit_via`].
    pub fn submit(&self, from: &str, bytes: &[u8], mac: [u8; 32]) -> Result<Delivery, LedgerError> {
        self.submit_via(&self.local(Caller::User(from.to_owned())), from, bytes, mac)
    }

    /// In process: [`Network::fetch_via`] with the [`LocalTransport`].
    ///
    /// # Errors
    /// As [`Network::fetch_via`].
    pub fn fetch(&self, user: &str) -> Result<usize, LedgerError> {
        self.fetch_via(&self.local(Caller::User(user.to_owned())), user)
    }

    /// A full key request from user `from` to user `to` through `t` (speaking as `from`):
    /// the first node's quote, the user's MAC with an unused key of the quoted total, and
    /// the submission; the first node signs and forwards hop by hop, the far node keeps a
    /// key for the recipient, success travels back, and both ends delete the spent key.
    ///
    /// # Errors
    /// Any refusal along the route (the denominated key stays unspent), store errors.
    pub fn request_via(
        &self,
        t: &dyn Transport,
        from: &str,
        to: &str,
    ) -> Result<Delivery, LedgerError> {
        let home = self.home(from)?.to_owned();
        let breakdown = match t.call(&home, &Msg::Quote { to: to.to_owned() })? {
            Reply::Quote { breakdown } => breakdown
                .into_iter()
                .map(|(node, charge)| Charge { node, charge })
                .collect(),
            other => return Err(unexpected(&home, &other)),
        };
        let (bytes, mac) = self.user_sign(from, to, breakdown)?;
        self.submit_via(t, from, &bytes, mac)
    }

    /// Sends a MAC'd event to `from`'s first node through `t`; on success stores the event
    /// and the delivered key and deletes the spent denominated key.
    ///
    /// # Errors
    /// The first node's or a later node's refusal, store errors.
    pub fn submit_via(
        &self,
        t: &dyn Transport,
        from: &str,
        bytes: &[u8],
        mac: [u8; 32],
    ) -> Result<Delivery, LedgerError> {
        let home = self.home(from)?.to_owned();
        let msg = Msg::Submit {
            event: hex::encode(bytes),
            mac: hex::encode(mac),
        };
        let (wire, key) = match t.call(&home, &msg)? {
            Reply::Delivered { wire, key } => (unhex(&wire)?, key),
            other => return Err(unexpected(&home, &other)),
        };
        let signed = SignedEvent::decode(&wire)?;
        if signed.event_bytes != bytes || signed.mac != mac {
            return Err(LedgerError::Refused(
                "first node returned another event".into(),
            ));
        }
        let key_id = unhex_n::<16>(&key.key_id)?;
        let material = Zeroizing::new(unhex_n::<32>(&key.key)?);
        let e = &signed.event;
        self.user(from)?.complete_spend(
            &e.key_id,
            &e.nonce,
            &wire,
            Some((&key_id, &e.recipient, &material)),
        )?;
        Ok(Delivery {
            event: signed,
            key_id,
        })
    }

    /// The user takes the keys its node holds for it through `t`, stores them with their
    /// events, then acknowledges them (the node deletes them). Returns how many it stored.
    ///
    /// # Errors
    /// A malformed key or event, store and transport errors.
    pub fn fetch_via(&self, t: &dyn Transport, user: &str) -> Result<usize, LedgerError> {
        let home = self.home(user)?.to_owned();
        let keys = match t.call(&home, &Msg::Fetch)? {
            Reply::Mail { keys } => keys,
            other => return Err(unexpected(&home, &other)),
        };
        let mut ustore = self.user(user)?;
        let mut ids = Vec::with_capacity(keys.len());
        for k in &keys {
            let id = unhex_n::<16>(&k.key_id)?;
            let wire = unhex(&k.event)?;
            let signed = SignedEvent::decode(&wire)?;
            let material = Zeroizing::new(unhex_n::<32>(&k.key)?);
            ustore.receive(&signed.event.nonce, &wire, &id, &k.peer, &material)?;
            ids.push(hex::encode(id));
        }
        let n = ids.len();
        if n > 0 {
            t.call(&home, &Msg::Ack { key_ids: ids })?;
        }
        Ok(n)
    }
}

fn unexpected(node: &str, r: &Reply) -> LedgerError {
    LedgerError::Network(format!("{node} gave an unexpected reply: {r:?}"))
}
