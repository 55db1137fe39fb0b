//! Toeplitz universal hashing over GF(2), computed exactly by a carry-less Karatsuba product or
//! by an FFT convolution.
//!
//! A random Toeplitz matrix `T` (ℓ × n, defined by n + ℓ − 1 seed bits) is a universal hash family
//! (Carter–Wegman 1979; Krawczyk, CRYPTO 1994), the standard privacy-amplification hash in QKD.
//!
//! # Convention
//! `out[i] = XOR_j T[i][j]·x[j]` with `T[i][j] = seed[i − j + n_in − 1]`, for `i < n_out`, `j < n_in`.
//! So `seed[n_in − 1]` is the main diagonal, `seed[0]` the top-right corner `T[0][n_in − 1]`, and
//! `seed[n_in + n_out − 2]` the bottom-left corner `T[n_out − 1][0]`. Then `out[i] = c[i + n_in − 1]`,
//! where `c = seed · x` is the product in `GF(2)[z]` (`c[t] = XOR_j x[j]·seed[t − j]`): the hash is
//! the *middle product* of the two polynomials.
//!
//! # Methods ([`Method`])
//! - [`Method::CarryLess`] (module `clmul`): bits packed 64 to a word; the matrix is cut into
//!   square Toeplitz blocks of `c·2^j` words, each multiplied with `j` levels of the Toeplitz
//!   Karatsuba split `T = [[T1, T0], [T2, T1]]`: `P = T1·(x0 ⊕ x1)`, `y0 = P ⊕ (T0 ⊕ T1)·x1`,
//!   `y1 = P ⊕ (T1 ⊕ T2)·x0` (Karatsuba–Ofman 1962; for Toeplitz matrix–vector products Fan and
//!   Hasan, IEEE Trans. Computers 56(2), 2007), down to a schoolbook base case of `c ≤ 12` words
//!   built on the x86_64 PCLMULQDQ carry-less multiply, selected at run time
//!   (`is_x86_feature_detected!`). Pure GF(2) arithmetic: exact by construction, `O(n^1.58)`.
//! - [`Method::CarryLessPortable`]: the same with a constant-time software 64×64-bit carry-less
//!   multiply (integer multiplication with bit-class "holes"), for CPUs without PCLMULQDQ.
//! - [`Method::Fft`] (module `fft`; cf. Tang et al., "High-speed and large-scale privacy
//!   amplification scheme for QKD", Sci. Rep. 9, 2019, "HiLS"): the wanted samples
//!   `t ∈ [n_in − 1, n_in + n_out − 2]` of the integer linear convolution are not touched by
//!   wrap-around in a *cyclic* convolution of any length `N ≥ n_in + n_out − 1` (the aliases
//!   `t ± N` fall outside the support `[0, 2·n_in + n_out − 3]`), so one real FFT of each operand
//!   at a smooth length `N = 2^a·3^b·5^c ≥ n_in + n_out − 1`, a pointwise product and one inverse
//!   real FFT give the needed values; each is rounded and reduced mod 2.
//! - [`Method::Auto`] (what [`ToeplitzHasher::new`] uses): `CarryLess` whenever the CPU has
//!   PCLMULQDQ. It beat the FFT at every measured size (n = 2¹⁶ and 2²⁰, ℓ = n/2, one core,
//!   thread CPU time: about 13× and 7× faster; `benches/amplify.rs`); extrapolating the
//!   `O(n^1.58)` against the `O(n log n)` growth it still wins at [`MAX_INPUT_BITS`], by a
//!   smaller margin (≈ 1.5×). Without PCLMULQDQ: `CarryLessPortable` for
//!   `n_in ≤` [`PORTABLE_MAX_INPUT_BITS`] (2¹⁴, the crossover extrapolated from measurements: at
//!   2¹⁶ the FFT was already 1.6× faster) and `Fft` above.
//!
//! # Exactness of the FFT method
//! The exact values are integers in `[0, n_in]`. Percival ("Rapid multiplication modulo the sum and
//! difference of highly composite numbers", Math. Comp. 72, 2003, Thm. 5.1) bounds the error of an
//! FFT convolution of length `N = 2^k` by `‖x‖₂·‖y‖₂·((1+u)^{3k}(1+u√5)^{3k+1}(1+β)^{3k} − 1)`,
//! `u = 2⁻⁵³`, `β` the twiddle error (≈ u for library-computed twiddles), i.e. about
//! `‖x‖₂·‖y‖₂·(3k(2 + √5) + 1)·u`. With 0/1 inputs `‖x‖₂ ≤ √n_in`, `‖seed‖₂ ≤ √(n_in + n_out)`; at the
//! limit [`MAX_INPUT_BITS`] = 2²⁴ (`N ≤ 2²⁶`, `k ≤ 26`): `2^12 · 2^12.5 · 331 · 2⁻⁵³ ≈ 9·10⁻⁷`,
//! five orders of magnitude below the 1/2 that rounding tolerates (mixed radices 3 and 5 add a
//! constant factor of the same order). At the spec size n_in = 2²² the bound is ≈ 2·10⁻⁷.
//! As a run-time guard, [`ToeplitzHasher::hash`] measures the largest distance of any used value
//! to its nearest integer and returns [`AmplifyError::PrecisionLoss`] if it exceeds 1/4.

mod clmul;
mod fft;

use super::AmplifyError;
use clmul::{Backend, ClmulEngine};
use fft::FftEngine;

/// Largest supported input length in bits (2²⁴; see the FFT exactness bound in the module docs).
pub const MAX_INPUT_BITS: usize = 1 << 24;

/// Largest input (bits) for which [`Method::Auto`] picks the portable carry-less multiply on a
/// CPU without PCLMULQDQ; the FFT is used above.
pub const PORTABLE_MAX_INPUT_BITS: usize = 1 << 14;

/// How [`ToeplitzHasher`] computes the product (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// The fastest exact method for this CPU and shape (rule in the module docs).
    Auto,
    /// f64 real-FFT convolution with rounding (HiLS, Tang et al. 2019), run-time guarded.
    Fft,
    /// Bit-packed Toeplitz Karatsuba with PCLMULQDQ when the CPU has it (else the portable
    /// multiply).
    CarryLess,
    /// Bit-packed Toeplitz Karatsuba with the portable software carry-less multiply.
    CarryLessPortable,
}

enum Engine {
    Fft(FftEngine),
    Clmul(ClmulEngine),
}

/// Toeplitz universal hashing over GF(2) (Carter–Wegman; Krawczyk 1994), computed exactly by a
/// carry-less Toeplitz Karatsuba product (Fan–Hasan 2007) or a real-FFT convolution (HiLS,
/// Tang et al. 2019); see [`Method`].
///
/// Holds the plans and all buffers for one `(n_in, n_out)` shape: build once, call
/// [`hash`](Self::hash) many times without allocation. Buffers (which hold key material) are
/// zeroized on drop.
pub struct ToeplitzHasher {
    n_in: usize,
    n_out: usize,
    engine: Engine,
}

impl std::fmt::Debug for ToeplitzHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToeplitzHasher")
            .field("n_in", &self.n_in)
            .field("n_out", &self.n_out)
            .field("method", &self.method())
            .finish_non_exhaustive()
    }
}

impl ToeplitzHasher {
    /// Prepares hashing `n_in` bits to `n_out` bits with [`Method::Auto`].
    ///
    /// # Errors
    /// [`AmplifyError::InvalidShape`] if `n_in` or `n_out` is 0, `n_out > n_in` (that would not
    /// compress), or `n_in > MAX_INPUT_BITS`.
    pub fn new(n_in: usize, n_out: usize) -> Result<Self, AmplifyError> {
        Self::new_with(n_in, n_out, Method::Auto)
    }

    /// Prepares hashing `n_in` bits to `n_out` bits with the given method (plans FFTs or
    /// chooses the block grid, allocates all buffers).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn new_with(n_in: usize, n_out: usize, method: Method) -> Result<Self, AmplifyError> {
        check_shape(n_in, n_out)?;
        let hardware = Backend::detect();
        let engine = match method {
            Method::Fft => Engine::Fft(FftEngine::new(n_in, n_out)),
            Method::CarryLess => Engine::Clmul(ClmulEngine::new(n_in, n_out, hardware)),
            Method::CarryLessPortable => {
                Engine::Clmul(ClmulEngine::new(n_in, n_out, Backend::Portable))
            }
            Method::Auto => {
                if hardware != Backend::Portable || n_in <= PORTABLE_MAX_INPUT_BITS {
                    Engine::Clmul(ClmulEngine::new(n_in, n_out, hardware))
                } else {
                    Engine::Fft(FftEngine::new(n_in, n_out))
                }
            }
        };
        Ok(Self {
            n_in,
            n_out,
            engine,
        })
    }

    /// Input length in bits.
    pub fn n_in(&self) -> usize {
        self.n_in
    }

    /// Output length in bits.
    pub fn n_out(&self) -> usize {
        self.n_out
    }

    /// Seed length in bits: `n_in + n_out − 1`.
    pub fn seed_bits(&self) -> usize {
        self.n_in + self.n_out - 1
    }

    /// The method in use, resolved: [`Method::Fft`], [`Method::CarryLess`] (hardware multiply)
    /// or [`Method::CarryLessPortable`]; never [`Method::Auto`].
    pub fn method(&self) -> Method {
        match &self.engine {
            Engine::Fft(_) => Method::Fft,
            Engine::Clmul(e) if e.backend() == Backend::Portable => Method::CarryLessPortable,
            Engine::Clmul(_) => Method::CarryLess,
        }
    }

    /// The (smooth) FFT length `≥ n_in + n_out − 1` for [`Method::Fft`], `None` otherwise.
    pub fn fft_len(&self) -> Option<usize> {
        match &self.engine {
            Engine::Fft(e) => Some(e.fft_len()),
            Engine::Clmul(_) => None,
        }
    }

    /// For [`Method::Fft`]: the largest distance of a used convolution value to its nearest
    /// integer in the last [`hash`](Self::hash) call (0 before the first), the observed numerical
    /// margin, which must stay far below 1/2. Always 0 for the carry-less methods (no rounding).
    pub fn last_max_residual(&self) -> f64 {
        match &self.engine {
            Engine::Fft(e) => e.last_max_residual(),
            Engine::Clmul(_) => 0.0,
        }
    }

    /// Hashes `input` (n_in bits) with the Toeplitz matrix given by `seed` (`seed_bits()` bits);
    /// both are one `u8` (0 or 1) per bit. Writes `n_out` bits (0/1) to `out`, which is cleared
    /// first. Same result as [`toeplitz_naive`] for every method.
    ///
    /// # Errors
    /// [`AmplifyError::LengthMismatch`] for wrong buffer lengths, [`AmplifyError::NotABit`] for a
    /// value other than 0/1, [`AmplifyError::PrecisionLoss`] if the FFT method's run-time
    /// exactness guard trips (`out` is then left empty).
    pub fn hash(
        &mut self,
        seed: &[u8],
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), AmplifyError> {
        out.clear();
        check_len("seed", self.seed_bits(), seed.len())?;
        check_len("input", self.n_in, input.len())?;
        check_bits("seed", seed)?;
        check_bits("input", input)?;
        match &mut self.engine {
            Engine::Fft(e) => e.hash(seed, input, out),
            Engine::Clmul(e) => {
                e.hash(seed, input, out);
                Ok(())
            }
        }
    }
}

/// O(n·ℓ) reference implementation: `out[i] = XOR_j T[i][j]·x[j]` with
/// `T[i][j] = seed[i − j + n_in − 1]` (`n_in = input.len()`, `seed.len()` must be
/// `n_in + n_out − 1`). One `u8` (0/1) per bit in and out. For tests and tiny sizes.
///
/// # Errors
/// [`AmplifyError::InvalidShape`], [`AmplifyError::LengthMismatch`], [`AmplifyError::NotABit`]
/// as for [`ToeplitzHasher`].
pub fn toeplitz_naive(seed: &[u8], input: &[u8], n_out: usize) -> Result<Vec<u8>, AmplifyError> {
    let n_in = input.len();
    check_shape(n_in, n_out)?;
    check_len("seed", n_in + n_out - 1, seed.len())?;
    check_bits("seed", seed)?;
    check_bits("input", input)?;
    Ok((0..n_out)
        .map(|i| {
            // Row i uses seed[i + n_in − 1 − j] for j = 0..n_in, i.e. seed[i..i + n_in] reversed.
            let row = &seed[i..i + n_in];
            row.iter()
                .rev()
                .zip(input)
                .fold(0u8, |acc, (&t, &x)| acc ^ (t & x))
        })
        .collect())
}

fn check_shape(n_in: usize, n_out: usize) -> Result<(), AmplifyError> {
    let reason = if n_in == 0 || n_out == 0 {
        "lengths must be positive"
    } else if n_out > n_in {
        "output must not be longer than input"
    } else if n_in > MAX_INPUT_BITS {
        "input longer than MAX_INPUT_BITS"
    } else {
        return Ok(());
    };
    Err(AmplifyError::InvalidShape {
        n_in,
        n_out,
        reason,
    })
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), AmplifyError> {
    if expected == got {
        Ok(())
    } else {
        Err(AmplifyError::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

fn check_bits(what: &'static str, bits: &[u8]) -> Result<(), AmplifyError> {
    // Fast vectorizable OR first; locate the culprit only on failure.
    if bits.iter().fold(0u8, |acc, &b| acc | b) <= 1 {
        return Ok(());
    }
    match bits.iter().position(|&b| b > 1) {
        Some(index) => Err(AmplifyError::NotABit {
            what,
            index,
            value: bits[index],
        }),
        None => Ok(()),
    }
}
