//! Key centre: an ETSI GS QKD 014 V1.1.1 key management entity (KME) for
//! secure application entities (SAEs) and mobile terminals.
//!
//! ```text
//!  key source (csprng | QRNG/QKD key files | upstream ETSI 014 KME)
//!      │  background fill up to max_key_count
//!      ▼
//!  pool (sealed at rest, master key outside the DB) ──enc_keys──► master SAE
//!      │                                                          (key IDs out of band)
//!      ├──► per-peer spaces (demand S, I, F; rebalanced; see docs/pools.md) ──enc_keys──►
//!      └──► pending keys per slave ──────────────dec_keys──► slave SAE (once, then gone)
//!  devices (initialise · bind · activate · freeze · lost · destroy)
//!  audit log (SHA3-256 hash chain + head anchor file)
//! ```
//!
//! * [`store`]: the [`store::KeyStore`] trait with SQLite and PostgreSQL back ends.
//! * [`service`]: the centre's logic (validation, issuance, lifecycle) over a store.
//! * [`server`]: HTTP/1.1 over mutual TLS; the SAE ID is the client certificate's CN.
//! * [`pki`]: `qwave centre init`: lab CA, centre and SAE certificates (rcgen).
//! * [`client`]: a small mutual-TLS HTTP client (tests, CLI, upstream source, load bench).
//! * [`source`]: key sources and the background pool filler.

pub mod audit;
pub mod client;
pub mod crypto;
pub mod etsi;
pub mod mtls;
pub mod pki;
pub mod server;
pub mod service;
pub mod source;
pub mod store;

pub use service::{Centre, CentreConfig};
