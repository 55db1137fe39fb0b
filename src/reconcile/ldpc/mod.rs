//! One-way LDPC reconciliation with rate adaptation and blind rounds.
//!
//! ```text
//!  Alice (reference bits)                      Bob (noisy bits, soft values)
//!    Syndromes: code, hash, H·xⱼ per frame ──►  decode every frame (layered min-sum)
//!                                         ◄──  Status: frames still failing
//!    Reveal: next punctured values        ──►  decode those frames again
//!                    …                    ◄──  Done(ok): all decoded, hash matches
//! ```
//!
//! * Syndrome coding (Slepian–Wolf): Alice never sends a codeword; she sends
//!   the syndrome of each frame of her bits and Bob decodes his observation
//!   towards the word with that syndrome ([`decoder`]).
//! * Codes: IEEE 802.11n QC-LDPC family ([`codes`]), rate adapted by
//!   puncturing and shortening chosen from q̂ ([`plan`]; Elkouss et al.,
//!   QIC 11 (2011)).
//! * Blind protocol (Martinez-Mateo, Elkouss, Martin, QIC 12 (2012)): frames
//!   that fail get more punctured values revealed in further rounds instead of
//!   a restart; each revealed value counts as one leaked bit.
//! * Soft input ([`llr`]): Bob's LLRs come from his distances to the
//!   quantizer's edges with a noise level fitted to q̂; without soft values,
//!   hard-decision LLRs from q̂.
//! * Confirmation: Alice's first message carries a 32-bit SHA3 hash of her
//!   block (counted as 32 leaked bits); Bob reports success only if every
//!   frame decoded and his block has the same hash.
//!
//! Leakage = Σ_frames (m − p) + revealed values + 32.
//!
//! Files: `codes.rs`, `decoder.rs`, `llr.rs`, `plan.rs`, `wire.rs` (public),
//! `alice.rs`, `bob.rs` (state machines).

mod alice;
pub mod alist;
mod bob;
pub mod codes;
pub mod de;
pub mod decoder;
pub mod llr;
pub mod long;
pub mod peg;
pub mod plan;
pub mod wire;

use super::{ReconcileError, ReconcileParams, Reconciler, Role};
use sha3::{Digest, Sha3_256};

/// Bits disclosed by the confirmation hash.
pub const HASH_BITS: u64 = 32;
/// Iterations per decoding attempt.
pub const MAX_ITERATIONS: u32 = 50;
/// Normalisation factor of the min-sum check update (measured: 0.8 beats
/// 0.75 by ≈ 0.1 in efficiency on the n = 16384 rate-1/2 code, see
/// `docs/ldpc-long-codes.md`, diagnosis).
pub const ALPHA: f32 = 0.8;

/// Creates the LDPC state machine for `role`; `soft` (Bob only) are the
/// quantizer's soft values, one per bit.
pub(crate) fn new_ldpc(
    role: Role,
    bits: Vec<u8>,
    soft: Option<Vec<f32>>,
    params: &ReconcileParams,
) -> Box<dyn Reconciler> {
    match role {
        Role::Alice => Box::new(alice::Alice::new(bits, params)),
        Role::Bob => Box::new(bob::Bob::new(bits, soft, params)),
    }
}

/// 32-bit confirmation hash of a block: SHA3-256 over a domain tag, the
/// public seed, the length and the packed bits, truncated.
pub(crate) fn confirm_hash(seed: u64, bits: &[u8]) -> [u8; 4] {
    let mut h = Sha3_256::new();
    h.update(b"qwave/ldpc/confirm/v1");
    h.update(seed.to_le_bytes());
    h.update((bits.len() as u64).to_le_bytes());
    for chunk in bits.chunks(8) {
        h.update([chunk
            .iter()
            .enumerate()
            .fold(0u8, |b, (i, &x)| b | ((x & 1) << i))]);
    }
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Index and value of the first byte that is not 0 or 1.
fn first_invalid(bits: &[u8]) -> Option<(usize, u8)> {
    bits.iter()
        .enumerate()
        .find(|(_, &b)| b > 1)
        .map(|(i, &b)| (i, b))
}

fn protocol(v: super::ProtocolViolation) -> ReconcileError {
    ReconcileError::Protocol(v)
}
