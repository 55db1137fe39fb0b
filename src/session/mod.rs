//! The two-party key-generation session: public messages, authentication,
//! the per-party state machine and its drivers.

pub mod auth;
pub mod eve;
pub mod pair;
pub mod party;
pub mod tcp;
pub mod wire;

pub use party::{BlockStats, Event, Party, SessionConfig};
