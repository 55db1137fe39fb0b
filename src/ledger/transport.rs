//! How protocol messages reach a node. [`Msg`] and [`Reply`] are the protocol's requests and
//! answers (JSON on the wire, binary fields in hex); a [`Transport`] carries one message to a
//! named node on behalf of one [`Caller`] and returns its reply. [`HttpTransport`] speaks
//! HTTP/1.1 over mutual TLS to the node's address from the directory, the caller being the
//! CN of the client certificate it presents; [`LocalTransport`] calls the node's
//! [`NodeService`] in the same process (library tests). Both run the same node code.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::network::Network;
use super::service::NodeService;
use super::LedgerError;
use crate::centre::client::CentreClient;
use crate::centre::pki::CentreDir;

/// Who makes a call: a node, a user or the operator (the CN of its client certificate is
/// `node.<id>`, `user.<id>` or `operator`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Another node (relay forwarding, settlement claims).
    Node(String),
    /// A user attached to some node.
    User(String),
    /// The operator (settlement runs).
    Operator,
}

impl Caller {
    /// The certificate common name of this caller.
    pub fn cn(&self) -> String {
        match self {
            Self::Node(n) => format!("node.{n}"),
            Self::User(u) => format!("user.{u}"),
            Self::Operator => "operator".into(),
        }
    }

    /// Parses a certificate common name.
    pub fn from_cn(cn: &str) -> Option<Self> {
        if cn == "operator" {
            return Some(Self::Operator);
        }
        if let Some(n) = cn.strip_prefix("node.") {
            return Some(Self::Node(n.to_owned()));
        }
        cn.strip_prefix("user.").map(|u| Self::User(u.to_owned()))
    }
}

/// One protocol request to a node. Binary fields are hex strings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Msg {
    /// User → first node: route and charge breakdown to the recipient's node.
    Quote {
        /// Receiving user.
        to: String,
    },
    /// User → first node: a MAC'd issuance event to check, sign and send along the route.
    Submit {
        /// Canonical event bytes.
        event: String,
        /// Requester MAC (KMAC256).
        mac: String,
    },
    /// Node → next node on the route: the signed event.
    Forward {
        /// Signed event wire bytes.
        wire: String,
    },
    /// User → its node: keys delivered to it and not yet acknowledged.
    Fetch,
    /// User → its node: fetched keys it stored; the node deletes them.
    Ack {
        /// Key IDs.
        key_ids: Vec<String>,
    },
    /// Relay → first node: settlement claim for one stored event.
    Claim {
        /// Signed event wire bytes, as stored by the claimant.
        wire: String,
    },
    /// Operator → node: claim the node's share of every unsettled stored event.
    Settle,
}

impl Msg {
    /// Decodes a message body (JSON), checking its hex fields decode.
    ///
    /// # Errors
    /// [`LedgerError::Json`] or [`LedgerError::Malformed`] (never panics).
    pub fn decode(body: &[u8]) -> Result<Self, LedgerError> {
        let m: Self = serde_json::from_slice(body)?;
        match &m {
            Self::Submit { event, mac } => {
                unhex(event)?;
                unhex_n::<32>(mac)?;
            }
            Self::Forward { wire } | Self::Claim { wire } => {
                unhex(wire)?;
            }
            Self::Ack { key_ids } => {
                for k in key_ids {
                    unhex_n::<16>(k)?;
                }
            }
            Self::Quote { .. } | Self::Fetch | Self::Settle => {}
        }
        Ok(m)
    }

    /// The URL path segment of this message (`/ledger/v1/<op>`).
    pub fn op(&self) -> &'static str {
        match self {
            Self::Quote { .. } => "quote",
            Self::Submit { .. } => "submit",
            Self::Forward { .. } => "forward",
            Self::Fetch => "fetch",
            Self::Ack { .. } => "ack",
            Self::Claim { .. } => "claim",
            Self::Settle => "settle",
        }
    }
}

/// A key delivered to a user (hex fields).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WireKey {
    /// Key ID.
    pub key_id: String,
    /// The other user.
    pub peer: String,
    /// Signed event that paid for it.
    pub event: String,
    /// Key material (only ever inside TLS; zeroize the decoded bytes).
    pub key: String,
}

impl std::fmt::Debug for WireKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireKey")
            .field("key_id", &self.key_id)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl Drop for WireKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

/// A node's answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// Route with charges `(node, charge)`.
    Quote {
        /// The breakdown.
        breakdown: Vec<(String, u64)>,
    },
    /// The request succeeded end to end: the signed event and the key (for the requester).
    Delivered {
        /// Signed event wire bytes.
        wire: String,
        /// The delivered key.
        key: WireKey,
    },
    /// The far node delivered: the key travels back to the first node.
    Forwarded {
        /// The delivered key.
        key: WireKey,
    },
    /// Keys waiting for the user.
    Mail {
        /// Keys.
        keys: Vec<WireKey>,
    },
    /// Number of items acknowledged.
    Acked {
        /// Deleted mailbox entries.
        deleted: usize,
    },
    /// A settlement claim was paid.
    Paid {
        /// Amount.
        amount: u64,
    },
    /// A settlement run's result.
    Settled(super::settle::SettlementReport),
}

/// The error body a node sends with a refusal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// [`LedgerError::kind`].
    pub kind: String,
    /// Human-readable reason (generic for internal errors).
    pub message: String,
}

/// Carries protocol messages to nodes on behalf of one caller.
pub trait Transport: Send + Sync {
    /// Sends `msg` to node `node` and returns its reply.
    ///
    /// # Errors
    /// The node's refusal ([`LedgerError`] in process, [`LedgerError::Remote`] over the
    /// network) or a [`LedgerError::Network`] failure.
    fn call(&self, node: &str, msg: &Msg) -> Result<Reply, LedgerError>;
}

/// Calls nodes in this process: opens the target node's store and runs its [`NodeService`].
pub struct LocalTransport {
    root: PathBuf,
    caller: Caller,
}

impl LocalTransport {
    /// A transport over the network directory at `root`, speaking for `caller`.
    pub fn new(root: PathBuf, caller: Caller) -> Self {
        Self { root, caller }
    }
}

impl Transport for LocalTransport {
    fn call(&self, node: &str, msg: &Msg) -> Result<Reply, LedgerError> {
        let net = Network::open(&self.root)?;
        let onward = Box::new(LocalTransport::new(
            self.root.clone(),
            Caller::Node(node.to_owned()),
        ));
        let svc = NodeService::open(net, node, onward)?;
        svc.handle(&self.caller, msg.clone())
    }
}

/// Calls nodes over HTTP/1.1 with mutual TLS, presenting the caller's certificate from the
/// network's PKI directory (`<net>/pki`). Blocking: it drives the async client on `rt`, so
/// call it from outside the runtime's worker threads (a `spawn_blocking` task or the main
/// thread).
pub struct HttpTransport {
    root: PathBuf,
    caller: Caller,
    rt: tokio::runtime::Handle,
}

impl HttpTransport {
    /// A transport for `caller` over the network directory at `root`.
    pub fn new(root: PathBuf, caller: Caller, rt: tokio::runtime::Handle) -> Self {
        Self { root, caller, rt }
    }
}

impl Transport for HttpTransport {
    fn call(&self, node: &str, msg: &Msg) -> Result<Reply, LedgerError> {
        let net = Network::open(&self.root)?;
        let addr = net.address(node)?;
        // the server must prove it is `node` (its own certificate, see `pki::add_server`)
        let pki = CentreDir(net.pki_dir());
        let (cert, key) = pki.client(&self.caller.cn());
        let client = CentreClient::new(
            &pki.ca_cert(),
            Some((&cert, &key)),
            &addr,
            &Caller::Node(node.to_owned()).cn(),
        )
        .map_err(|e| LedgerError::Network(e.to_string()))?;
        let body = serde_json::to_vec(msg)?;
        debug_assert!(Msg::decode(&body).is_ok());
        let path = format!("/ledger/v1/{}", msg.op());
        let reply = self
            .rt
            .block_on(client.request("POST", &path, Some(&body)))
            .map_err(|e| LedgerError::Network(format!("{node} at {addr}: {e}")))?;
        if reply.status == 200 {
            Ok(serde_json::from_slice(&reply.body)?)
        } else {
            let e: ErrorBody = serde_json::from_slice(&reply.body).map_err(|_| {
                LedgerError::Network(format!("{node}: HTTP {} without error body", reply.status))
            })?;
            Err(LedgerError::Remote {
                node: node.to_owned(),
                kind: e.kind,
                message: e.message,
            })
        }
    }
}

/// Decodes a hex field of a message.
///
/// # Errors
/// [`LedgerError::Malformed`].
pub fn unhex(s: &str) -> Result<Vec<u8>, LedgerError> {
    hex::decode(s).map_err(|_| LedgerError::Malformed("hex field"))
}

/// Decodes a fixed-length hex field.
///
/// # Errors
/// [`LedgerError::Malformed`].
pub fn unhex_n<const N: usize>(s: &str) -> Result<[u8; N], LedgerError> {
    unhex(s)?
        .try_into()
        .map_err(|_| LedgerError::Malformed("hex field length"))
}
