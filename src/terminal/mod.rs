//! Terminal side: the local key store, the refill client and the auto-refill policy.
//!
//! ```text
//!  base station ──Chunk × n (wrapped under the physical-layer key)──► client ──one transaction──► store
//!       ▲                                                                │                         │
//!       └────────────────────────── Ack ◄─────────────────────────────────┘      take_key ◄────────┤
//!                                                         policy: remaining < rate × refill time ──┘
//! ```
//!
//! * [`store`]: encrypted SQLite key store (XChaCha20-Poly1305 under a key file), refills applied
//!   at most once per refill ID.
//! * [`client`]: the terminal's side of the refill protocol ([`crate::refill::wire`]).
//! * [`policy`]: when to refill and how much.

pub mod client;
pub mod policy;
pub mod store;

pub use client::{refill, ClientError, RefillReport};
pub use policy::{consumption_rate, parse_volume, Decision, RefillPolicy};
pub use store::{Applied, PeerVolume, RefillRecord, RefillState, StoreError, TerminalStore};
