//! # qwave
//!
//! Physical-layer key generation (PLKG) between two software-defined radios,
//! and delivery of quantum-key refills wrapped under the generated key.
//!
//! ```text
//!  IQ ─► dsp (sync, CFO, L-LTF CSI) ─► extract (quantize) ─► reconcile ─► amplify ─► confirmed key
//! ```
#![warn(missing_docs)]

pub mod amplify;
pub mod backup;
pub mod calibrate;
pub mod capture;
pub mod centre;
pub mod cli;
pub mod extract;
pub mod lab;
pub mod ledger;
pub mod pipeline;
pub mod pools;
pub mod radio;
pub mod reconcile;
pub mod refill;
pub mod report;
pub mod session;
pub mod terminal;

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
