//! Final key length from the leftover hash lemma.
//!
//! Leftover hash lemma (Impagliazzo, Levin, Luby, STOC 1989; with side information: Tomamichel,
//! Schaffner, Smith, Renner, IEEE Trans. Inf. Theory 57(8), 2011): hashing a string with
//! min-entropy `k` (given the eavesdropper's knowledge) by a universal family to `ℓ` bits gives
//! output `½·2^{−(k−ℓ)/2}`-close to uniform. Taking `k = n·H_min − leaked − confirm` (each public bit
//! lowers min-entropy by at most one, chain rule) and `k − ℓ = 2·log2(1/ε)` makes the key ε-secret.

use super::AmplifyError;

/// Default security parameter: ε = 2⁻⁶⁴.
pub const DEFAULT_SECURITY_LOG2: u32 = 64;

/// Inputs of [`final_key_length`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LengthInputs {
    /// Length of the reconciled string in bits.
    pub n: usize,
    /// Min-entropy per bit of that string given the eavesdropper's observation, in `[0, 1]`.
    pub min_entropy_per_bit: f64,
    /// Bits disclosed during reconciliation (parities, syndromes, ...).
    pub leaked_bits: u64,
    /// Bits spent on key confirmation (normally [`CONFIRM_KEY_BITS`](super::CONFIRM_KEY_BITS)).
    pub confirm_bits: u32,
    /// Security parameter as `log2(1/ε)` (normally [`DEFAULT_SECURITY_LOG2`]).
    pub security_log2: u32,
}

/// Final key length `ℓ = ⌊n·H_min − leaked − confirm_bits − 2·log2(1/ε)⌋` (leftover hash lemma,
/// Impagliazzo–Levin–Luby 1989 / Tomamichel et al. 2011).
///
/// # Errors
/// [`AmplifyError::InvalidParameter`] if `min_entropy_per_bit` is not in `[0, 1]` (or NaN);
/// [`AmplifyError::InsufficientEntropy`] (carrying all the numbers) if `ℓ ≤ 0`.
pub fn final_key_length(inp: &LengthInputs) -> Result<usize, AmplifyError> {
    let h = inp.min_entropy_per_bit;
    if !(0.0..=1.0).contains(&h) {
        return Err(AmplifyError::InvalidParameter {
            name: "min_entropy_per_bit",
            value: h,
            reason: "must lie in [0, 1]",
        });
    }
    let security_bits = 2 * u64::from(inp.security_log2);
    // All terms are integers below 2⁵³ except n·h, so the f64 arithmetic is exact apart from
    // the single rounding of n·h.
    let available = inp.n as f64 * h
        - inp.leaked_bits as f64
        - f64::from(inp.confirm_bits)
        - security_bits as f64;
    let length = available.floor();
    if length < 1.0 {
        return Err(AmplifyError::InsufficientEntropy {
            n: inp.n,
            min_entropy_per_bit: h,
            leaked_bits: inp.leaked_bits,
            confirm_bits: inp.confirm_bits,
            security_bits,
            available,
        });
    }
    // 1 ≤ length ≤ n, so the conversion is exact.
    Ok(length as usize)
}
