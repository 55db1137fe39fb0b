//! Toeplitz hashing as an f64 real-FFT linear convolution with rounding and reduction mod 2
//! (cf. Tang et al., Sci. Rep. 9, 2019, "HiLS"); see the parent module docs for exactness.

use std::sync::Arc;

use num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use zeroize::Zeroize;

use super::AmplifyError;

/// Adding 1.5·2⁵² to an f64 `v` with |v| < 2⁵¹ rounds it to the nearest integer (ties to even) and
/// leaves that integer's lowest bit in the mantissa's lowest bit.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

/// Largest tolerated distance of an FFT convolution value to its nearest integer.
const MAX_RESIDUAL: f64 = 0.25;

/// FFT plans and buffers for one `(n_in, n_out)` shape.
pub(super) struct FftEngine {
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

impl FftEngine {
    /// Plans the FFTs and allocates buffers for hashing `n_in` bits to `n_out` bits.
    pub(super) fn new(n_in: usize, n_out: usize) -> Self {
        let fft_len = smooth_fft_len(n_in + n_out - 1);
        let mut planner = RealFftPlanner::<f64>::new();
        let forward = planner.plan_fft_forward(fft_len);
        let inverse = planner.plan_fft_inverse(fft_len);
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
        Self {
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
        }
    }

    pub(super) fn fft_len(&self) -> usize {
        self.fft_len
    }

    pub(super) fn last_max_residual(&self) -> f64 {
        self.last_max_residual
    }

    /// Same contract as [`ClmulEngine::hash`](super::clmul::ClmulEngine::hash), plus the
    /// run-time exactness guard ([`AmplifyError::PrecisionLoss`], `out` left empty).
    pub(super) fn hash(
        &mut self,
        seed: &[u8],
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), AmplifyError> {
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
        if self.fft_len.is_multiple_of(2) {
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

impl Drop for FftEngine {
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
            if !v.is_multiple_of(2) {
                return false;
            }
            for p in [2, 3, 5] {
                while v.is_multiple_of(p) {
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
