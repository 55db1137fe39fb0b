//! One-way LDPC reconciliation with rate adaptation and blind rounds.
//!
//! ```text
//!  Alice (reference bits)                      Bob (noisy bits, soft values)
//!    Syndromes: code, hash, H·xⱼ per frame ──►  decode every frame (layered min-sum)
//!                                         ◄──  Request: frames still failing,
//!                                              positions Bob is least sure of
//!    Reveal: values at those positions    ──►  decode those frames again
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
//!   that fail get more values revealed in further rounds instead of a
//!   restart; each revealed value counts as one leaked bit. With
//!   hard-decision input Bob names the positions: those whose posteriors
//!   were weakest when decoding failed (Kiktenko et al., Phys. Rev. Applied
//!   8, 044017 (2017); why the positions leak nothing: `bob::least_reliable`).
//!   With soft input he sends `Status` and Alice reveals in a fixed order,
//!   punctured values first, then key bits.
//! * Soft input ([`llr`]): Bob's LLRs come from his distances to the
//!   quantizer's edges: through the disagreement rates he measured on earlier
//!   confirmed blocks ([`llr::SoftCalibration`]), or, before he has any,
//!   through a Laplace-tailed model fitted to q̂ ([`llr::bob_llrs`]); without
//!   soft values, hard-decision LLRs from q̂.
//! * Confirmation: Alice's first message carries a 32-bit SHA3 hash of her
//!   block (counted as 32 leaked bits); Bob reports success only if every
//!   frame decoded and his block has the same hash.
//!
//! * Soft plan ([`ReconcileParams::soft_plan`]): a Bob with soft values
//!   speaks first with a `Hint` carrying Ĥ = (1/N) Σ h2(p_i), his estimate
//!   of the conditional entropy per bit (`p_i` the disagreement probability
//!   his LLR for bit i stands for, [`llr::bob_llrs`]). Both sides plan with Ĥ
//!   (clamped, [`plan::plan_entropy`]) instead of h2(q̂), so the syndromes
//!   are shorter: Hint, Syndromes, Done = 3 messages per block.
//!
//! ```text
//!  soft plan:   Hint(Ĥ)  ◄──   Syndromes (planned with Ĥ)  ──►   ◄── Done / Status …
//! ```
//!
//! Leakage = Σ_frames (m − p) + revealed values + 32 (+ 16 for a hint).
//!
//! Hint accounting: the hint's 16 wire bits count as leaked. This is an
//! upper bound on what it can say about Alice's bits (it takes at most 2¹⁶
//! values); in fact Ĥ is a function of q̂ (public), of the magnitudes |d_i|
//! of Bob's distances to the quantizer edges and of his calibration (the
//! disagreement counts per |d| bin of earlier blocks), not of his bits.
//! Those magnitudes are almost independent of Alice's bits (for a symmetric
//! quantizer, Alice's bit given |d_i| alone is a fair coin), and so are the
//! earlier blocks' disagreement indicators given their |d| (Alice's bit
//! given |d| and whether she disagreed is still a fair coin); it is also an
//! average over the whole block, so it tells little about any one bit.
//!
//! * Stall repair ([`repair`]): with hard-decision input, a frame whose
//!   decoder stopped with a few checks unsatisfied gets the cheapest flips
//!   of degree-2 variables that satisfy them before a blind round is asked
//!   for; the block hash still decides.
//!
//! Files: `codes.rs`, `decoder.rs`, `llr.rs`, `plan.rs`, `repair.rs`, `wire.rs` (public),
//! `alice.rs`, `bob.rs` (state machines).

mod alice;
pub mod alist;
mod bob;
pub mod codes;
pub mod de;
pub mod decoder;
pub mod llr;
pub mod long;
mod long_bases;
pub mod peg;
pub mod plan;
pub mod puncture;
pub mod repair;
pub mod wire;

use super::{ReconcileError, ReconcileParams, Reconciler, Role};
use sha3::{Digest, Sha3_256};

/// Bits disclosed by the confirmation hash.
pub const HASH_BITS: u64 = 32;
/// Bits counted as disclosed by Bob's soft-plan hint (its wire size).
pub const HINT_BITS: u64 = 16;

/// Wire value of an entropy estimate `h` (bits per bit): ⌈h·2¹⁶⌉ clamped to
/// `0..=65535` (rounding up never plans for less entropy than estimated;
/// NaN → 65535).
pub fn hint_from_entropy(h: f64) -> u16 {
    if h.is_nan() {
        return u16::MAX;
    }
    (h * 65536.0).ceil().clamp(0.0, 65535.0) as u16
}

/// Entropy (bits per bit) of a hint's wire value: `v / 2¹⁶`.
pub fn entropy_from_hint(v: u16) -> f64 {
    f64::from(v) / 65536.0
}
/// Iterations per decoding attempt.
pub const MAX_ITERATIONS: u32 = 50;
/// Normalisation factor of the min-sum check update (measured: 0.8 beats
/// 0.75 by ≈ 0.1 in efficiency on the n = 16384 rate-1/2 code, see
/// `docs/ldpc-long-codes.md`, diagnosis).
pub const ALPHA: f32 = 0.8;
/// Check update of the reconciler's decoder: sum-product. At each code's
/// native rate its measured start efficiency is up to 0.25 lower than
/// min-sum's (most at the high check degrees of the long rate-3/4 and 0.83
/// codes; unchanged for some 802.11n codes), at about three quarters of
/// min-sum's decoder throughput (`docs/ldpc-long-codes.md`, "Decoder speed";
/// the min-sum rule stays for comparison).
pub const CHECK_RULE: decoder::CheckRule = decoder::CheckRule::SumProduct;

/// Creates the LDPC state machine for `role`; `soft` (Bob only) are the
/// quantizer's soft values, one per bit, `calibration` Bob's rates learned
/// from earlier blocks ([`llr::SoftCalibration`]).
pub(crate) fn new_ldpc(
    role: Role,
    bits: Vec<u8>,
    soft: Option<Vec<f32>>,
    calibration: Option<&llr::SoftCalibration>,
    params: &ReconcileParams,
) -> Box<dyn Reconciler> {
    match role {
        Role::Alice => Box::new(alice::Alice::new(bits, params)),
        Role::Bob => Box::new(bob::Bob::new(bits, soft, calibration, params)),
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
