//! A ledger network on one machine: a directory holding `network.json` (the operator's
//! directory: node tariffs, links and Ed25519 public keys; user → home node) and one SQLite
//! file per node (`nodes/<id>.db`) and per user (`users/<id>.db`). Messages between nodes are
//! function calls carrying the wire bytes a network link would carry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::denomination::{issue_against, Payment};
use super::event::{requester_mac, Charge, IssuanceEvent, SignedEvent, MAX_ID_LEN};
use super::node::{audit_names, first_accept, first_commit, relay_accept};
use super::route::Graph;
use super::store::{NodeStore, UserStore};
use super::{now_ms, random, LedgerError};

/// A node's directory entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeEntry {
    /// Charge per relayed key.
    pub tariff: u64,
    /// Ed25519 public key (hex).
    pub public_key: String,
    /// Linked neighbours.
    pub links: Vec<String>,
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
        let store = NodeStore::open(&self.node_path(id))?;
        store.set_meta("id", id.as_bytes())?;
        store.set_meta("signing_key", &secret[..])?;
        self.dir.nodes.insert(
            id.to_owned(),
            NodeEntry {
                tariff,
                public_key: hex::encode(sk.verifying_key().to_bytes()),
                links: links.to_vec(),
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
        let u = UserStore::open(&self.user_path(id))?;
        u.conn.execute(
            "INSERT OR REPLACE INTO meta (k, v) VALUES ('node', ?1)",
            [node.as_bytes()],
        )?;
        self.dir.users.insert(id.to_owned(), node.to_owned());
        self.save()
    }

    fn signing_key(&self, store: &NodeStore, id: &str) -> Result<SigningKey, LedgerError> {
        let s = Zeroizing::new(
            store
                .meta("signing_key")?
                .ok_or_else(|| LedgerError::Directory(format!("node {id} has no signing key")))?,
        );
        let b: [u8; 32] = s[..]
            .try_into()
            .map_err(|_| LedgerError::Malformed("signing key length"))?;
        Ok(SigningKey::from_bytes(&b))
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

    /// Sends signed wire bytes to node `to` as if from `from`: relay verification and storage.
    ///
    /// # Errors
    /// As [`relay_accept`].
    pub fn deliver_to_relay(
        &self,
        to: &str,
        from: &str,
        wire: &[u8],
    ) -> Result<super::store::Role, LedgerError> {
        let mut store = self.node(to)?;
        relay_accept(&mut store, to, from, wire, |n| self.public_key(n)).map(|(_, r)| r)
    }

    /// A full key request from user `from` to user `to`: quote, user MAC, first node check
    /// and signature, hop-by-hop relay verification, delivery at the far node, success back,
    /// and the spend committed at both ends.
    ///
    /// # Errors
    /// Any refusal along the route (the denominated key stays unspent), store errors.
    pub fn request(&self, from: &str, to: &str) -> Result<Delivery, LedgerError> {
        let breakdown = self.quote(from, to)?;
        let (bytes, mac) = self.user_sign(from, to, breakdown)?;
        self.submit(from, to, &bytes, mac)
    }

    /// The part of [`Network::request`] after the user signed: the first node and the route.
    ///
    /// # Errors
    /// As [`Network::request`].
    pub fn submit(
        &self,
        from: &str,
        to: &str,
        bytes: &[u8],
        mac: [u8; 32],
    ) -> Result<Delivery, LedgerError> {
        let first = self.home(from)?.to_owned();
        let far = self.home(to)?.to_owned();
        let mut fstore = self.node(&first)?;
        let sk = self.signing_key(&fstore, &first)?;
        let signed = first_accept(&fstore, &first, &sk, &self.graph()?, &far, bytes, mac)?;
        let wire = signed.encode();
        let mut prev = first.clone();
        for hop in signed.event.breakdown.iter().skip(1) {
            self.deliver_to_relay(&hop.node, &prev, &wire)?;
            prev.clone_from(&hop.node);
        }
        // Far node (or the first node itself if both users share it) delivers the key.
        let mut key_id = [0u8; 16];
        let mut key = Zeroizing::new([0u8; 32]);
        random(&mut key_id)?;
        random(&mut key[..])?;
        let e = &signed.event;
        self.user(&e.recipient)?
            .receive(&e.nonce, &wire, &key_id, &e.requester, &key)?;
        // Success travels back: the first node and the requester delete the spent key.
        first_commit(&mut fstore, &first, &signed)?;
        self.user(from)?.complete_spend(
            &e.key_id,
            &e.nonce,
            &wire,
            Some((&key_id, &e.recipient, &key)),
        )?;
        Ok(Delivery {
            event: signed,
            key_id,
        })
    }
}
