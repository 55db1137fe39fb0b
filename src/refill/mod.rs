//! Quantum-key refills carried over the air, protected by the physical-layer key.
//!
//! [`wrap`]: the two protections a refill can travel under (`aes-kw`, `otp`);
//! [`relay`]: a refill relayed by the base station from the key centre to a terminal;
//! [`wire`]: the live refill protocol's messages and frame authentication;
//! [`station`]: the base station serving refills with a two-phase commit to the centre.

pub mod relay;
pub mod station;
pub mod wire;
pub mod wrap;

pub use relay::{relay_refill, RefillError, RefillKey, RefillOutcome};

pub use wrap::{
    derive_kek, otp_open, otp_pad_len, otp_seal, unwrap_aes_kw, wrap_aes_kw, WrapError, WrapKind,
};
