//! Toeplitz universal hashing over GF(2), computed as an FFT convolution.
//!
//! A random Toeplitz matrix `T` (ℓ × n, defined by n + ℓ − 1 seed bits) is a universal hash family
//! (Carter–Wegman 1979; Krawczyk, CRYPTO 1994), the standard privacy-amplification hash in QKD.
//!
//! # Convention
//! `out[i] = XOR_j T[i][j]·x[j]` with `T[i][j] = seed[i − j + n_in − 1]`, for `i < n_out`, `j < n_in`.
//! So `seed[n_in − 1]` is the main diagonal, `seed[0]` the top-right corner `T[0][n_in − 1]`, and `seed[n_in + n_out − 2]` the bottom-left corner
//! `T[n_out − 1][0]`. Then `out[i] = c[i + n_in − 1] mod 2`, where `c = seed ∗ x` is the integer
//! linear convolution `c[t] = Σ_j x[j]·seed[t − j]`.
//!
//! # Method (cf. Tang et al., "High-speed and large-scale privacy amplification scheme for QKD",
//! Sci. Rep. 9, 2019, "HiLS")
//! The wanted samples `t ∈ [n_in − 1, n_in + n_out − 2]` of the linear convolution are not touched by
//! wrap-around in a *cyclic* convolution of any length `N ≥ n_in + n_out − 1` (the aliases `t ± N`
//! fall outside the support `[0, 2·n_in + n_out − 3]`), so one real FFT of each operand at a smooth
//! length `N = 2^a·3^b·5^c ≥ n_in + n_out − 1`, a pointwise product and one inverse real FFT give
//! the needed values; each is rounded and reduced mod 2.
//!
//! # Exactness
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

use std::sync::Arc;

use num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use zeroize::Zeroize;

use super::AmplifyError;

/// Largest supported input length in bits (2²⁴; see the exactness bound in the module docs).
pub const MAX_INPUT_BITS: usize = 1 << 24;

/// Adding 1.5·2⁵² to an f64 `v` with |v| < 2⁵¹ rounds it to the nearest integer (ties to even) and
/// leaves that integer's lowest bit in the mantissa's lowest bit.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

/// Largest tolerated distance of an FFT convolution value to its nearest integer.
const MAX_RESIDUAL: f64 = 0.25;

/// Toeplitz universal hashing over GF(2) (Carter–Wegman; Krawczyk 1994; cf. Tang et al., Sci. Rep.
/// 2019 (HiLS)), computed as a linear convolution via real FFTs (realfft/rustfft) followed by
/// rounding and reduction mod 2.
///
/// Holds the FFT plans and all buffers for one `(n_in, n_out)` shape: build once, call
/// [`hash`](Self::hash) many times without allocation. Buffers (which hold key material) are
/// zeroized on drop.
pub struct ToeplitzHasher {
    n_in: usize,
    n_out: usize,
    fft_len: usize,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    input_time: Vec<f64>,
    seed_time: Vec<f64>,
    input_freq: Vec<Complex<f64>>,
    seed_freq: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    last_max_residual: f64,
}

impl std::fmt::Debug for ToeplitzHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToeplitzHasher")
            .field("n_in", &self.n_in)
            .field("n_out", &self.n_out)
            .field("fft_len", &self.fft_len)
            .finish_non_exhaustive()
    }
}

impl ToeplitzHasher {
    /// Plans the FFTs and allocates buffers for hashing `n_in` bits to `n_out` bits.
    ///
    /// # Errors
    /// [`AmplifyError::InvalidShape`] if `n_in` or `n_out` is 0, `n_out > n_in` (that would not
    /// compress), or `n_in > MAX_INPUT_BITS`.
    pub fn new(n_in: usize, n_out: usize) -> Result<Self, AmplifyError> {
        check_shape(n_in, n_out)?;
        let fft_len = smooth_fft_len(n_in + n_out - 1);
        let mut planner = RealFftPlanner::<f64>::new();
        let forward = planner.plan_fft_forward(fft_len);
        let inverse = planner.plan_fft_inverse(fft_len);
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
        Ok(Self {
            n_in,
            n_out,
            fft_len,
            input_time: forward.make_input_vec(),
            seed_time: forward.make_input_vec(),
            input_freq: forward.make_output_vec(),
            seed_freq: forward.make_output_vec(),
            scratch: vec![Complex::new(0.0, 0.0); scratch_len],
            forward,
            inverse,
            last_max_residual: 0.0,
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

    /// The (smooth) FFT length used, `≥ n_in + n_out − 1`.
    pub fn fft_len(&self) -> usize {
        self.fft_len
    }

    /// Largest distance of a used convolution value to its nearest integer in the last
    /// [`hash`](Self::hash) call (0 before the first): the observed numerical margin, which must
    /// stay far below 1/2.
    pub fn last_max_residual(&self) -> f64 {
        self.last_max_residual
    }

    /// Hashes `input` (n_in bits) with the Toeplitz matrix given by `seed` (`seed_bits()` bits);
    /// both are one `u8` (0 or 1) per bit. Writes `n_out` bits (0/1) to `out`, which is cleared
    /// first. Same result as [`toeplitz_naive`].
    ///
    /// # Errors
    /// [`AmplifyError::LengthMismatch`] for wrong buffer lengths, [`AmplifyError::NotABit`] for a
    /// value other than 0/1, [`AmplifyError::PrecisionLoss`] if the run-time exactness guard trips
    /// (`out` is then left empty).
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

        load_bits(&mut self.input_time, input);
        load_bits(&mut self.seed_time, seed);
        self.forward
            .process_with_scratch(
                &mut self.input_time,
                &mut self.input_freq,
                &mut self.scratch,
            )
            .map_err(|e| AmplifyError::Fft(e.to_string()))?;
        self.forward
            .process_with_scratch(&mut self.seed_time, &mut self.seed_freq, &mut self.scratch)
            .map_err(|e| AmplifyError::Fft(e.to_string()))?;

        // Pointwise product, with the inverse transform's 1/N folded in.
        let scale = 1.0 / self.fft_len as f64;
        for (a, b) in self.input_freq.iter_mut().zip(&self.seed_freq) {
            *a = *a * *b * scale;
        }
        // DC and Nyquist bins of a real signal's spectrum are real; make that exact for realfft.
        if let Some(first) = self.input_freq.first_mut() {
            first.im = 0.0;
        }
        if self.fft_len % 2 == 0 {
            if let Some(last) = self.input_freq.last_mut() {
                last.im = 0.0;
            }
        }
        self.inverse
            .process_with_scratch(
                &mut self.input_freq,
                &mut self.input_time,
                &mut self.scratch,
            )
            .map_err(|e| AmplifyError::Fft(e.to_string()))?;

        let wanted = &self.input_time[self.n_in - 1..self.n_in - 1 + self.n_out];
        out.reserve(self.n_out);
        let mut max_residual = 0.0f64;
        out.extend(wanted.iter().map(|&v| {
            let shifted = v + ROUND_MAGIC;
            let residual = (v - (shifted - ROUND_MAGIC)).abs();
            // `max` ignores NaN operands; a NaN value becomes an infinite residual below.
            max_residual = if residual.is_nan() {
                f64::INFINITY
            } else {
                max_residual.max(residual)
            };
            (shifted.to_bits() & 1) as u8
        }));
        self.last_max_residual = max_residual;
        if max_residual > MAX_RESIDUAL {
            out.zeroize();
            out.clear();
            return Err(AmplifyError::PrecisionLoss { max_residual });
        }
        Ok(())
    }
}

impl Drop for ToeplitzHasher {
    fn drop(&mut self) {
        self.input_time.zeroize();
        self.seed_time.zeroize();
        for c in self
            .input_freq
            .iter_mut()
            .chain(self.seed_freq.iter_mut())
            .chain(self.scratch.iter_mut())
        {
            c.re.zeroize();
            c.im.zeroize();
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

/// Copies 0/1 bytes into the front of `buf` as f64 and zero-pads the rest.
fn load_bits(buf: &mut [f64], bits: &[u8]) {
    let (head, tail) = buf.split_at_mut(bits.len());
    for (d, &b) in head.iter_mut().zip(bits) {
        *d = f64::from(b);
    }
    tail.fill(0.0);
}

/// Smallest even `2^a·3^b·5^c ≥ min_len` (a ≥ 1): lengths RustFFT handles with its fastest
/// butterflies, and even so that realfft uses its half-length complex FFT.
fn smooth_fft_len(min_len: usize) -> usize {
    let target = min_len.max(2);
    let mut best = target.next_power_of_two();
    let mut p5 = 1usize;
    while p5 < best {
        let mut p35 = p5;
        while p35 < best {
            // Smallest power-of-two multiple (≥ 2) of p35 reaching the target.
            let mut len = p35 * 2;
            while len < target {
                len *= 2;
            }
            best = best.min(len);
            p35 *= 3;
        }
        p5 *= 5;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_len_is_minimal_smooth_even() {
        fn is_smooth_even(mut v: usize) -> bool {
            if v % 2 != 0 {
                return false;
            }
            for p in [2, 3, 5] {
                while v % p == 0 {
                    v /= p;
                }
            }
            v == 1
        }
        for m in 1..3000 {
            let n = smooth_fft_len(m);
            assert!(n >= m && is_smooth_even(n), "m = {m}, n = {n}");
            assert!(
                (m.max(2)..n).all(|k| !is_smooth_even(k)),
                "m = {m}: {n} not minimal"
            );
        }
        assert_eq!(smooth_fft_len((1 << 20) + (1 << 19) - 1), 3 << 19);
    }

    #[test]
    fn magic_rounding_gives_parity() {
        for (v, p) in [
            (0.0, 0u64),
            (1.0, 1),
            (2.49, 0),
            (2.51, 1),
            (1048575.8, 0),
            (-0.2, 0),
        ] {
            let s: f64 = v + ROUND_MAGIC;
            assert_eq!(s.to_bits() & 1, p, "v = {v}");
        }
    }
}
