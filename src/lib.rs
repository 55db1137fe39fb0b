//! # qwave
//!
//! Physical-layer key generation (PLKG) between two software-defined radios,
//! and delivery of quantum-key refills wrapped under the generated key.
//!
//! ```text
//!  IQ ─► dsp (sync, CFO, L-LTF CSI) ─► extract (quantize) ─► reconcile ─► amplify ─► confirmed key
//! ```
#![warn(missing_docs)]
pub mod capture;
