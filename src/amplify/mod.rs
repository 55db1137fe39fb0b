//! Privacy amplification and key confirmation.
//!
//! ```text
//!  reconciled bits (n) ─► ToeplitzHasher (seed: n + ℓ' − 1 public random bits) ─► ℓ' = ℓ + CONFIRM_KEY_BITS bits
//!                                                                                   │
//!                          first CONFIRM_KEY_BITS bits: confirmation key ─► KMAC256 tags exchanged, then discarded
//!                          remaining ℓ bits:            SecretKey (zeroized on drop)
//! ```
//!
//! - [`toeplitz`]: Toeplitz universal hashing over GF(2), computed exactly by a carry-less
//!   Karatsuba product (PCLMULQDQ; Fan–Hasan 2007) or an FFT convolution
//!   (Carter–Wegman 1979; Krawczyk, CRYPTO 1994; Tang et al., Sci. Rep. 9, 2019, "HiLS").
//! - [`length`]: the final key length from the leftover hash lemma
//!   (Impagliazzo–Levin–Luby 1989; Tomamichel et al., IEEE Trans. Inf. Theory 57(8), 2011).
//! - [`confirm`]: key confirmation tags (KMAC256, NIST SP 800-185), [`SecretKey`], bit packing.

pub mod confirm;
pub mod length;
pub mod toeplitz;

pub use confirm::{
    confirmation_tag, kmac256, pack_bits, split_confirmation, verify_tag, ConfirmRole, SecretKey,
    CONFIRM_CUSTOMIZATION, CONFIRM_KEY_BITS, CONFIRM_TAG_BITS,
};
pub use length::{final_key_length, LengthInputs, DEFAULT_SECURITY_LOG2};
pub use toeplitz::{
    toeplitz_naive, Method, ToeplitzHasher, MAX_INPUT_BITS, PORTABLE_MAX_INPUT_BITS,
};

/// Errors of privacy amplification, the final-length rule and key confirmation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AmplifyError {
    /// The requested hash shape is unusable (zero sizes, output longer than input, input too long).
    #[error("invalid Toeplitz shape: n_in = {n_in}, n_out = {n_out} ({reason})")]
    InvalidShape {
        /// Requested input length in bits.
        n_in: usize,
        /// Requested output length in bits.
        n_out: usize,
        /// Which rule was broken.
        reason: &'static str,
    },
    /// A buffer has the wrong number of bits.
    #[error("{what} has {got} bits, expected {expected}")]
    LengthMismatch {
        /// Which buffer (`"seed"`, `"input"`, ...).
        what: &'static str,
        /// Expected length in bits.
        expected: usize,
        /// Received length in bits.
        got: usize,
    },
    /// A one-bit-per-byte buffer holds a value other than 0 or 1.
    #[error("{what}[{index}] = {value} is not a bit (0 or 1)")]
    NotABit {
        /// Which buffer (`"seed"`, `"input"`, ...).
        what: &'static str,
        /// Index of the first offending entry.
        index: usize,
        /// The offending value.
        value: u8,
    },
    /// A parameter of the length rule is out of range (e.g. min-entropy outside [0, 1]).
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// Offending value.
        value: f64,
        /// Allowed range.
        reason: &'static str,
    },
    /// The leftover hash lemma leaves no secret bits: ℓ = ⌊n·H_min − leaked − confirm − 2·log2(1/ε)⌋ ≤ 0.
    #[error(
        "insufficient entropy: n = {n}, H_min = {min_entropy_per_bit} bit/bit, leaked = {leaked_bits}, \
         confirm = {confirm_bits}, 2·log2(1/ε) = {security_bits} gives ℓ = {available:.1} ≤ 0"
    )]
    InsufficientEntropy {
        /// Reconciled string length in bits.
        n: usize,
        /// Min-entropy per bit used.
        min_entropy_per_bit: f64,
        /// Bits leaked during reconciliation.
        leaked_bits: u64,
        /// Bits spent on key confirmation.
        confirm_bits: u32,
        /// 2·log2(1/ε).
        security_bits: u64,
        /// The (non-positive) real-valued length before flooring.
        available: f64,
    },
    /// The FFT result was not within 1/4 of an integer, so rounding could be wrong
    /// (never expected for sizes up to [`MAX_INPUT_BITS`]; guards against a faulty FFT).
    #[error("FFT convolution lost exactness: max distance to an integer {max_residual:e}")]
    PrecisionLoss {
        /// Largest distance of a convolution value to its nearest integer.
        max_residual: f64,
    },
    /// The FFT library rejected a buffer (internal bug: buffers are sized by the planner).
    #[error("FFT failed: {0}")]
    Fft(String),
}
