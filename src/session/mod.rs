//! The two-party key-generation session: public messages, authentication,
//! the per-party state machine and its drivers.

pub mod auth;
pub mod wire;
