//! # qwave-dsp
//!
//! Pure signal-processing kernels for qwave: no I/O, no threads, no clocks.
//!
//! ```text
//!  probe (L-STF · L-LTF · L-SIG)  ──►  channel simulator  ──►  receiver
//!        ofdm / preamble / lsig          channel                  rx
//! ```
#![warn(missing_docs)]

pub mod channel;
pub mod convcode;
pub mod linalg;
pub mod lsig;
pub mod ofdm;
pub mod preamble;
pub mod rx;
