//! Metered refills with auditable records (issue 7).
//!
//! Users buy prepaid **denominated keys** ([`denomination`]) from their node's operator; the
//! node keeps the same pool. A key request between users on different nodes is routed by the
//! first node ([`route`]), which quotes a per-node charge breakdown; the requester pays with
//! an unused denominated key of exactly that value by MACing an [`event::IssuanceEvent`]; the
//! first node checks the MAC, signs the event with Ed25519 and forwards it; each relay
//! verifies and stores it ([`node`]); the far node delivers the key. Relays later claim their
//! share from the first node with the stored events ([`settle`]); users and the operator
//! reproduce bills and check that every issued and relayed key is accounted for ([`audit`]).
//!
//! ```text
//!  user ──MAC'd event──▶ first node ──signed event──▶ relay ──▶ … ──▶ far node ──key──▶ recipient
//!    ◀──────────── success (key) ◀────────────── success ◀───────────────┘
//! ```
//!
//! Each node runs as an HTTP/1.1-over-mutual-TLS service ([`server`], `qwave ledger serve`);
//! the protocol steps live once in [`service::NodeService`], reached through the
//! [`transport::Transport`] trait (HTTPS between processes, or direct calls in one process).
//! Storage is one SQLite file per node and per user under a network directory ([`store`],
//! [`network`]), secrets sealed at rest; rejected events go to each node's SHA3 hash-chained
//! audit log (the centre's [`crate::centre::audit`] chain).

pub mod audit;
pub mod denomination;
pub mod event;
pub mod network;
pub mod node;
pub mod route;
pub mod server;
pub mod service;
pub mod settle;
pub mod store;
pub mod transport;

pub use denomination::DenominatedKey;
pub use event::{Charge, IssuanceEvent, SignedEvent};
pub use network::Network;

/// Errors of the ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A wire encoding or identifier is malformed.
    #[error("malformed event: {0}")]
    Malformed(&'static str),
    /// The first node's signature does not verify.
    #[error("node signature does not verify")]
    BadSignature,
    /// The requester MAC does not verify under the denominated key.
    #[error("requester MAC does not verify")]
    BadMac,
    /// The event (nonce) or its denominated key was seen before.
    #[error("replayed event: {0}")]
    Replay(&'static str),
    /// The event does not fit this node's records (not on route, unknown key, wrong value…).
    #[error("event refused: {0}")]
    Refused(String),
    /// No route between the two nodes.
    #[error("no route from {from} to {to}")]
    NoRoute {
        /// Start node.
        from: String,
        /// Destination node.
        to: String,
    },
    /// The requester holds no unused denominated key of the required value.
    #[error("no unused denominated key of value {0}")]
    NoKeyOfValue(u64),
    /// A payment does not cover the keys asked for, or is already used.
    #[error("payment refused: {0}")]
    Payment(String),
    /// Unknown node or user, or a duplicate one.
    #[error("{0}")]
    Directory(String),
    /// An arithmetic overflow in charges or values.
    #[error("value overflow")]
    Overflow,
    /// SQLite failure.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// File or random-number-generator failure.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Directory file or protocol message is not valid JSON.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Sealing or unsealing a secret at rest, or the store's master key file.
    #[error("secret at rest: {0}")]
    Crypto(#[from] crate::centre::crypto::CryptoError),
    /// Node certificates or TLS set-up.
    #[error("PKI: {0}")]
    Pki(#[from] crate::centre::pki::PkiError),
    /// A network call to a node failed before it answered.
    #[error("network: {0}")]
    Network(String),
    /// The caller's TLS identity may not make this call.
    #[error("not allowed: {0}")]
    Unauthorized(String),
    /// A node answered a network call with a refusal.
    #[error("{node} refused ({kind}): {message}")]
    Remote {
        /// The answering node.
        node: String,
        /// The refusal's kind ([`LedgerError::kind`] on the node).
        kind: String,
        /// The node's message.
        message: String,
    },
}

impl LedgerError {
    /// A stable name of the error's kind (what a node puts on the wire).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::BadSignature => "bad_signature",
            Self::BadMac => "bad_mac",
            Self::Replay(_) => "replay",
            Self::Refused(_) => "refused",
            Self::NoRoute { .. } => "no_route",
            Self::NoKeyOfValue(_) => "no_key_of_value",
            Self::Payment(_) => "payment",
            Self::Directory(_) => "directory",
            Self::Overflow => "overflow",
            Self::Unauthorized(_) => "unauthorized",
            Self::Remote { .. } => "remote",
            Self::Sqlite(_)
            | Self::Io(_)
            | Self::Json(_)
            | Self::Crypto(_)
            | Self::Pki(_)
            | Self::Network(_) => "internal",
        }
    }
}

/// Current Unix time in milliseconds.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Fills `buf` from the OS CSPRNG.
pub(crate) fn random(buf: &mut [u8]) -> Result<(), LedgerError> {
    getrandom::fill(buf).map_err(|e| LedgerError::Io(std::io::Error::other(e.to_string())))
}
