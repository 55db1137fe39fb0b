//! Rate-1/2, constraint-length-7 convolutional code of IEEE 802.11-2020 §17.3.5.6
//! (generators g0 = 133₈, g1 = 171₈), its Viterbi decoder, and the BPSK interleaver of
//! §17.3.5.7 for one 48-coded-bit symbol (N_CBPS = 48, N_BPSC = 1).
//!
//! Bit convention: bits are `u8` values 0/1; soft values are BPSK-like reals where a positive
//! value means bit 1 (802.11 BPSK maps 0 → -1, 1 → +1), magnitude = confidence.

/// Encoder memory (K - 1).
pub const MEMORY: usize = 6;
const N_STATES: usize = 1 << MEMORY;
const G0: u8 = 0o133;
const G1: u8 = 0o171;

/// Errors of the coding kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConvError {
    /// An output or work buffer has the wrong length.
    #[error("buffer length mismatch: expected {expected}, got {got}")]
    Length {
        /// Required length.
        expected: usize,
        /// Given length.
        got: usize,
    },
}

/// How the decoder ends its trellis search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// The encoder is known to end in state 0 (tail bits zero): trace back from state 0.
    /// Decoded tail bits are then always zero and cannot be used as a check.
    ZeroState,
    /// Trace back from the best final state: decoded tail bits remain a meaningful check.
    BestState,
}

#[inline]
fn parity(x: u8) -> u8 {
    (x.count_ones() & 1) as u8
}

/// Encodes `bits` from the all-zero state into `out` (`2 · bits.len()` values: A₀ B₀ A₁ B₁ …),
/// §17.3.5.6.
///
/// # Errors
/// [`ConvError::Length`] if `out.len() != 2 * bits.len()`.
pub fn encode(bits: &[u8], out: &mut [u8]) -> Result<(), ConvError> {
    if out.len() != 2 * bits.len() {
        return Err(ConvError::Length {
            expected: 2 * bits.len(),
            got: out.len(),
        });
    }
    let mut state: u8 = 0; // x[n-1] in bit 5 … x[n-6] in bit 0
    for (i, &b) in bits.iter().enumerate() {
        let reg = ((b & 1) << 6) | state;
        out[2 * i] = parity(reg & G0);
        out[2 * i + 1] = parity(reg & G1);
        state = reg >> 1;
    }
    Ok(())
}

/// Output signs (±1 for bit 1/0) of the butterfly j: predecessor states 2j (p = 0) and
/// 2j + 1 (p = 1) entering next state j with input 0; input 1 (next state j + 32) flips both
/// outputs because both generators tap the input bit, so its branch metrics are the negatives.
const fn butterfly_signs() -> [[f32; 32]; 4] {
    let mut t = [[0f32; 32]; 4];
    let mut j = 0;
    while j < 32 {
        let r0 = (j as u8) << 1;
        let r1 = r0 | 1;
        t[0][j] = if (r0 & G0).count_ones() & 1 == 1 {
            1.0
        } else {
            -1.0
        };
        t[1][j] = if (r0 & G1).count_ones() & 1 == 1 {
            1.0
        } else {
            -1.0
        };
        t[2][j] = if (r1 & G0).count_ones() & 1 == 1 {
            1.0
        } else {
            -1.0
        };
        t[3][j] = if (r1 & G1).count_ones() & 1 == 1 {
            1.0
        } else {
            -1.0
        };
        j += 1;
    }
    t
}
const SIGNS: [[f32; 32]; 4] = butterfly_signs();

/// Path metrics split by the parity of the state index (`even[j]` = state 2j, `odd[j]` =
/// state 2j + 1), the layout the butterflies read.
struct Metrics {
    even: [f32; 32],
    odd: [f32; 32],
}

impl Metrics {
    /// Start in state 0; a large finite "minus infinity" keeps the arithmetic NaN-free.
    fn start() -> Self {
        let mut even = [-1e30f32; 32];
        even[0] = 0.0;
        Metrics {
            even,
            odd: [-1e30f32; 32],
        }
    }

    /// One add-compare-select step for the soft pair `(sa, sb)`. Writes the survivor bit of
    /// every next state (`dec[s]` = 1 if state s came from the odd predecessor) and returns
    /// the new metrics in parity layout. Both generators tap the oldest bit, so the odd
    /// predecessor's branch metric is the negative of the even one's: one metric per
    /// butterfly. Branch-free over plain arrays so that it vectorises.
    #[inline(always)]
    fn step(&mut self, sa: f32, sb: f32, dec: &mut [u8; 64]) {
        let mut lo = [0f32; 32];
        let mut hi = [0f32; 32];
        let (dlo, dhi) = dec.split_at_mut(32);
        for j in 0..32 {
            let b0 = SIGNS[0][j] * sa + SIGNS[1][j] * sb;
            let (e, o) = (self.even[j], self.odd[j]);
            let (l0, l1) = (e + b0, o - b0);
            let (h0, h1) = (e - b0, o + b0);
            lo[j] = if l1 > l0 { l1 } else { l0 };
            hi[j] = if h1 > h0 { h1 } else { h0 };
            dlo[j] = u8::from(l1 > l0);
            dhi[j] = u8::from(h1 > h0);
        }
        for j in 0..16 {
            self.even[j] = lo[2 * j];
            self.odd[j] = lo[2 * j + 1];
            self.even[16 + j] = hi[2 * j];
            self.odd[16 + j] = hi[2 * j + 1];
        }
    }

    /// Subtracts the metric of state 0 from all (keeps magnitudes bounded on long inputs).
    fn renormalise(&mut self) {
        let m0 = self.even[0];
        for (e, o) in self.even.iter_mut().zip(self.odd.iter_mut()) {
            *e -= m0;
            *o -= m0;
        }
    }

    fn get(&self, s: usize) -> f32 {
        if s.is_multiple_of(2) {
            self.even[s / 2]
        } else {
            self.odd[s / 2]
        }
    }

    fn final_state(&self, termination: Termination) -> usize {
        match termination {
            Termination::ZeroState => 0,
            Termination::BestState => {
                let mut best = 0;
                for s in 1..N_STATES {
                    if self.get(s) > self.get(best) {
                        best = s;
                    }
                }
                best
            }
        }
    }
}

/// Soft-decision Viterbi decoding of `soft` (2 values per information bit) into `out`, using
/// the caller's `decisions` buffer (one `u64` per information bit) for the survivor memory.
/// Maximises the correlation metric Σ s·(2c − 1); with hard ±1 inputs this is Hamming distance.
///
/// # Errors
/// [`ConvError::Length`] if `soft.len() != 2 * out.len()` or `decisions.len() < out.len()`.
pub fn viterbi_decode(
    soft: &[f32],
    decisions: &mut [u64],
    out: &mut [u8],
    termination: Termination,
) -> Result<(), ConvError> {
    let n = out.len();
    if soft.len() != 2 * n {
        return Err(ConvError::Length {
            expected: 2 * n,
            got: soft.len(),
        });
    }
    if decisions.len() < n {
        return Err(ConvError::Length {
            expected: n,
            got: decisions.len(),
        });
    }
    let mut m = Metrics::start();
    let mut dec = [0u8; 64];
    for (t, d) in decisions[..n].iter_mut().enumerate() {
        m.step(soft[2 * t], soft[2 * t + 1], &mut dec);
        m.renormalise();
        *d = dec
            .iter()
            .enumerate()
            .fold(0u64, |acc, (s, &b)| acc | (u64::from(b) << s));
    }
    let mut state = m.final_state(termination);
    for t in (0..n).rev() {
        let p = ((decisions[t] >> state) & 1) as usize;
        out[t] = (state >> 5) as u8;
        state = ((state & 31) << 1) | p;
    }
    Ok(())
}

/// Number of information bits of one BPSK rate-1/2 symbol (the L-SIG: 24 bits).
pub const N_DBPS_BPSK: usize = 24;

/// Soft Viterbi decoding of one BPSK rate-1/2 symbol (48 soft values in coded-bit order, i.e.
/// deinterleaved) into its 24 information bits, traced back from the best final state:
/// the fixed-size kernel behind the L-SIG decoder (IEEE 802.11-2020 §17.3.4, §17.3.5.6).
/// Same result as [`viterbi_decode`] with [`Termination::BestState`] up to float rounding
/// (no per-step renormalisation is needed over 24 steps); no allocation, survivors in bytes.
#[inline(always)]
pub fn viterbi_decode_48(soft: &[f32; 2 * N_DBPS_BPSK]) -> [u8; N_DBPS_BPSK] {
    let mut m = Metrics::start();
    let mut dec = [[0u8; 64]; N_DBPS_BPSK];
    for (d, s) in dec.iter_mut().zip(soft.chunks_exact(2)) {
        m.step(s[0], s[1], d);
    }
    let mut state = m.final_state(Termination::BestState);
    let mut out = [0u8; N_DBPS_BPSK];
    for t in (0..N_DBPS_BPSK).rev() {
        let p = usize::from(dec[t][state] & 1);
        out[t] = (state >> 5) as u8;
        state = ((state & 31) << 1) | p;
    }
    out
}

/// Generator `g` (bit 6 = current input, as in [`G0`]/[`G1`]) as a polynomial in the delay
/// `D`, bit `d` = coefficient of `D^d`: the time-indexed form that [`clmul24`] convolves with.
const fn delay_poly(g: u8) -> u32 {
    let mut p = 0u32;
    let mut j = 0;
    while j < 7 {
        if (g >> j) & 1 == 1 {
            p |= 1 << (6 - j);
        }
        j += 1;
    }
    p
}

/// `a·b mod D^24` over GF(2), bit `i` = time `i` (carry-less multiply, truncated).
#[inline(always)]
const fn clmul24(a: u32, b: u32) -> u32 {
    let mut r = 0u32;
    let mut k = 0;
    while k < 24 {
        if (b >> k) & 1 == 1 {
            r ^= a << k;
        }
        k += 1;
    }
    r & 0xFF_FFFF
}

/// `g0(D)^{-1} mod D^24` (g0 has constant term 1, so it is a unit of GF(2)[D]/D^24).
const G0_INV: u32 = {
    // Newton–Hensel on power series: y ← y·(2 − g·y) = y·g·y over GF(2), doubling the
    // correct low-order terms each step (1 → 2 → 4 → 8 → 16 → 32 ≥ 24)
    let g = delay_poly(G0);
    let mut y = 1u32;
    let mut i = 0;
    while i < 5 {
        y = clmul24(clmul24(y, g), y);
        i += 1;
    }
    y
};
const _: () = assert!(clmul24(delay_poly(G0), G0_INV) == 1);

/// Zero-error fast path for [`viterbi_decode_48`]: if the hard decisions of `soft` (all
/// non-zero) form a codeword of the encoder started in state 0, returns its 24 information
/// bits, else `None`. Such a codeword agrees in sign with every soft value, so its
/// correlation Σ|s| is the largest any path can reach, and every other path (a different
/// input gives different coded bits) falls short of it: it is exactly what the Viterbi
/// decoder returns.
///
/// Bit-parallel over GF(2)[D]/D^24 (the syndrome former of a rate-1/2 convolutional code,
/// e.g. Johannesson & Zigangirov, *Fundamentals of Convolutional Coding*, §2.4): the outputs
/// are `A = X·g0`, `B = X·g1`, so a pair `(A, B)` is a codeword iff `A·g1 + B·g0 = 0`, and
/// then `X = A·g0⁻¹` — a few carry-less multiplies instead of 24 dependent encoder steps.
#[inline]
pub fn decode_if_codeword_48(soft: &[f32; 2 * N_DBPS_BPSK]) -> Option<[u8; N_DBPS_BPSK]> {
    let x = codeword_info_48(soft)?;
    Some(core::array::from_fn(|i| ((x >> i) & 1) as u8))
}

/// [`decode_if_codeword_48`] with the 24 information bits packed into a word (bit `i` =
/// information bit `i`).
#[inline]
pub fn codeword_info_48(soft: &[f32; 2 * N_DBPS_BPSK]) -> Option<u32> {
    let (mut a, mut b, mut zero) = (0u32, 0u32, false);
    for (i, s) in soft.chunks_exact(2).enumerate() {
        zero |= (s[0] == 0.0) | (s[1] == 0.0); // no unique sign
        a |= u32::from(s[0] > 0.0) << i;
        b |= u32::from(s[1] > 0.0) << i;
    }
    if zero || clmul24(a, delay_poly(G1)) != clmul24(b, delay_poly(G0)) {
        return None;
    }
    Some(clmul24(a, G0_INV))
}

/// Hard-decision Viterbi decoding of coded bits (0/1) into `out`; see [`viterbi_decode`].
/// Uses a stack buffer for the soft mapping, so it accepts at most 512 information bits.
///
/// # Errors
/// [`ConvError::Length`] on mismatched lengths or more than 512 information bits.
pub fn viterbi_decode_hard(
    coded: &[u8],
    decisions: &mut [u64],
    out: &mut [u8],
    termination: Termination,
) -> Result<(), ConvError> {
    const MAX: usize = 1024;
    if coded.len() > MAX {
        return Err(ConvError::Length {
            expected: MAX,
            got: coded.len(),
        });
    }
    let mut soft = [0f32; MAX];
    for (s, &c) in soft.iter_mut().zip(coded) {
        *s = if c & 1 == 1 { 1.0 } else { -1.0 };
    }
    viterbi_decode(&soft[..coded.len()], decisions, out, termination)
}

/// Number of coded bits of one BPSK rate-1/2 symbol (the L-SIG symbol).
pub const N_CBPS_BPSK: usize = 48;

/// First (and, for BPSK, only) interleaver permutation of §17.3.5.7 (Eq. 17-16) for N_CBPS = 48:
/// coded bit `k` goes to position `i = 3·(k mod 16) + ⌊k/16⌋`. (The second permutation, Eq. 17-17,
/// is the identity for N_BPSC = 1.)
#[inline]
pub const fn interleave_index(k: usize) -> usize {
    (N_CBPS_BPSK / 16) * (k % 16) + k / 16
}

/// Interleaves one BPSK symbol's 48 coded bits (§17.3.5.7).
pub fn interleave_bpsk48<T: Copy>(input: &[T; N_CBPS_BPSK]) -> [T; N_CBPS_BPSK] {
    let mut out = *input;
    for (k, &v) in input.iter().enumerate() {
        out[interleave_index(k)] = v;
    }
    out
}

/// Inverse of [`interleave_bpsk48`]: restores coded-bit order from subcarrier order.
#[inline(always)]
pub fn deinterleave_bpsk48<T: Copy>(input: &[T; N_CBPS_BPSK]) -> [T; N_CBPS_BPSK] {
    let mut out = *input;
    for (k, o) in out.iter_mut().enumerate() {
        *o = input[interleave_index(k)];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn random_roundtrip_with_errors() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..50 {
            let mut bits = [0u8; 100];
            for b in bits.iter_mut().take(94) {
                *b = rng.random_range(0..2);
            }
            let mut coded = [0u8; 200];
            encode(&bits, &mut coded).unwrap();
            // flip 4 well-separated bits: free distance 10 corrects them
            for &i in &[10usize, 60, 110, 170] {
                coded[i] ^= 1;
            }
            let mut dec = [0u64; 100];
            let mut out = [0u8; 100];
            viterbi_decode_hard(&coded, &mut dec, &mut out, Termination::ZeroState).unwrap();
            assert_eq!(out, bits);
        }
    }

    #[test]
    fn codeword_fast_path_matches_viterbi() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        for trial in 0..200 {
            let bits: [u8; 24] = core::array::from_fn(|_| rng.random_range(0..2));
            let mut coded = [0u8; 48];
            encode(&bits, &mut coded).unwrap();
            // clean soft values with random confidence; every fourth trial has an error
            let mut soft: [f32; 48] = core::array::from_fn(|i| {
                let m = rng.random_range(0.1f32..1.0);
                if coded[i] == 1 {
                    m
                } else {
                    -m
                }
            });
            if trial % 4 == 0 {
                soft[rng.random_range(0..48)] *= -0.5;
            }
            let fast = decode_if_codeword_48(&soft);
            if trial % 4 == 0 {
                assert_eq!(fast, None);
            } else {
                assert_eq!(fast, Some(bits));
            }
            if let Some(f) = fast {
                assert_eq!(f, viterbi_decode_48(&soft));
            }
        }
    }

    #[test]
    fn odd_predecessor_outputs_are_complements() {
        for (p, q) in SIGNS[..2].iter().zip(&SIGNS[2..]) {
            assert!(p.iter().zip(q).all(|(a, b)| *a == -*b));
        }
    }

    #[test]
    fn fixed_kernel_matches_general_decoder() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..200 {
            let soft: [f32; 48] = core::array::from_fn(|_| rng.random_range(-1.0f32..1.0));
            let mut dec = [0u64; 24];
            let mut out = [0u8; 24];
            viterbi_decode(&soft, &mut dec, &mut out, Termination::BestState).unwrap();
            assert_eq!(viterbi_decode_48(&soft), out);
        }
    }

    #[test]
    fn interleaver_is_permutation() {
        let mut seen = [false; 48];
        for k in 0..48 {
            seen[interleave_index(k)] = true;
        }
        assert!(seen.iter().all(|&s| s));
        let x: [u8; 48] = core::array::from_fn(|i| i as u8);
        assert_eq!(deinterleave_bpsk48(&interleave_bpsk48(&x)), x);
    }

    #[test]
    fn length_errors() {
        let mut out = [0u8; 3];
        assert!(encode(&[1, 0], &mut out).is_err());
        let mut d = [0u64; 1];
        let mut o = [0u8; 2];
        assert!(viterbi_decode(&[0.0; 4], &mut d, &mut o, Termination::BestState).is_err());
    }
}
