//! Min-entropy estimation of raw key bits following NIST SP 800-90B
//! (January 2018), §6.3 (non-IID track estimators).
//!
//! Implemented: most common value (§6.3.1), collision (§6.3.2), Markov
//! (§6.3.3), compression (§6.3.4) and t-tuple (§6.3.5, with `t ≤ 64`). The
//! remaining §6.3 estimators (LRS, MultiMCW, lag, MultiMMC, LZ78Y) are not
//! implemented, and SP 800-90B
//! takes the minimum over all ten: [`EntropyReport::min`] is therefore an
//! upper bound on a full assessment's result. The standard asks for 10⁶
//! samples for a validation; [`estimate_min_entropy`] accepts from
//! [`MIN_ENTROPY_SAMPLES`] on, where the confidence terms widen accordingly.

use super::ExtractError;

/// Fewest bits [`estimate_min_entropy`] accepts.
pub const MIN_ENTROPY_SAMPLES: usize = 1000;

/// Fewest bits for which the compression estimate runs (more than 1000
/// six-bit blocks, §6.3.4 step 2).
pub const COMPRESSION_MIN_SAMPLES: usize = 6 * (COMPRESSION_DICT + 1);

/// Fewest bits on which a key session applies the compression estimate: a
/// pooled window of its recent raw bits, never a single key block. At the
/// estimator's technical minimum ([`COMPRESSION_MIN_SAMPLES`], 6006 bits)
/// fair coin flips score anywhere between about 0.5 and 0.9 bit/bit, so on a
/// key block it measures the sample size rather than the source; from 2¹⁷
/// bits on its confidence term no longer dominates (SP 800-90B §3.1.1 asks for
/// 10⁶ samples for the same reason).
pub const POOLED_COMPRESSION_MIN_BITS: usize = 1 << 17;

/// Upper 99.5 % normal quantile used for the 90B confidence bounds.
const Z_ALPHA: f64 = 2.576;
const COMPRESSION_BLOCK: usize = 6;
const COMPRESSION_DICT: usize = 1000;

/// Min-entropy estimates, in bits of min-entropy per bit.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EntropyReport {
    /// Number of bits assessed.
    pub samples: usize,
    /// Most common value estimate (§6.3.1).
    pub mcv: f64,
    /// Collision estimate (§6.3.2).
    pub collision: f64,
    /// Markov estimate (§6.3.3).
    pub markov: f64,
    /// Compression estimate (§6.3.4); `None` below
    /// [`COMPRESSION_MIN_SAMPLES`] bits.
    pub compression: Option<f64>,
    /// t-tuple estimate (§6.3.5).
    pub t_tuple: f64,
    /// Minimum of the estimates above.
    pub min: f64,
}

impl EntropyReport {
    /// Minimum of the estimates other than compression (MCV, collision,
    /// Markov, t-tuple): what a key session applies per block (see
    /// [`POOLED_COMPRESSION_MIN_BITS`]).
    pub fn min_without_compression(&self) -> f64 {
        [self.mcv, self.collision, self.markov, self.t_tuple]
            .into_iter()
            .fold(f64::INFINITY, f64::min)
    }
}

/// Runs the implemented SP 800-90B §6.3 estimators on a bit sequence
/// (one 0/1 value per byte).
///
/// # Errors
/// [`ExtractError::TooFewSamples`] below [`MIN_ENTROPY_SAMPLES`] bits,
/// [`ExtractError::NotBinary`] if a byte is neither 0 nor 1.
pub fn estimate_min_entropy(bits: &[u8]) -> Result<EntropyReport, ExtractError> {
    if bits.len() < MIN_ENTROPY_SAMPLES {
        return Err(ExtractError::TooFewSamples {
            needed: MIN_ENTROPY_SAMPLES,
            got: bits.len(),
        });
    }
    if let Some(index) = bits.iter().position(|&b| b > 1) {
        return Err(ExtractError::NotBinary {
            index,
            value: bits[index],
        });
    }
    let mcv = mcv_estimate(bits);
    let collision = collision_estimate(bits);
    let markov = markov_estimate(bits);
    let compression = compression_estimate(bits);
    // At least 500 equal bits exist, so the 1-tuple already qualifies.
    let t_tuple = t_tuple_estimate(bits).unwrap_or(mcv);
    let min = [mcv, collision, markov, compression.unwrap_or(1.0), t_tuple]
        .into_iter()
        .fold(f64::INFINITY, f64::min);
    Ok(EntropyReport {
        samples: bits.len(),
        mcv,
        collision,
        markov,
        compression,
        t_tuple,
        min,
    })
}

/// Most common value estimate, SP 800-90B §6.3.1, for any byte alphabet:
/// `p_u = min(1, p̂ + 2.576 √(p̂(1 − p̂)/(L − 1)))`, `H = −log2 p_u`, with `p̂`
/// the relative frequency of the most common symbol. Returns min-entropy per
/// symbol (0 for fewer than 2 samples).
pub fn mcv_estimate(samples: &[u8]) -> f64 {
    let l = samples.len();
    if l < 2 {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &s in samples {
        counts[s as usize] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0);
    let p = max as f64 / l as f64;
    let pu = (p + Z_ALPHA * (p * (1.0 - p) / (l as f64 - 1.0)).sqrt()).min(1.0);
    -pu.log2()
}

/// Collision estimate, SP 800-90B §6.3.2 (binary; nonzero bytes count as 1).
///
/// The sequence is cut into runs ending at the first repeated value (length
/// 2 for `00`/`11`, 3 for `010`/`011`/`100`/`101`; an incomplete run at the end is
/// dropped). With mean `X̄`, standard deviation `σ̂` over `v` runs and
/// `X̄' = X̄ − 2.576 σ̂/√v`: if `X̄' < 2.5`, `p = 0.5 + √(1.25 − 0.5 X̄')`
/// (the root of `E[t] = 2 + 2p(1 − p) = X̄'`), else `p = 0.5`; `H = −log2 p`.
/// Returns 0 if fewer than 2 runs fit.
pub fn collision_estimate(bits: &[u8]) -> f64 {
    let l = bits.len();
    let (mut i, mut v, mut sum, mut sum_sq) = (0usize, 0usize, 0.0f64, 0.0f64);
    while i + 1 < l {
        let t = if (bits[i] != 0) == (bits[i + 1] != 0) {
            2
        } else if i + 2 < l {
            3
        } else {
            break;
        };
        v += 1;
        sum += t as f64;
        sum_sq += (t * t) as f64;
        i += t;
    }
    if v < 2 {
        return 0.0;
    }
    let vf = v as f64;
    let mean = sum / vf;
    let var = ((sum_sq - vf * mean * mean) / (vf - 1.0)).max(0.0);
    let x = mean - Z_ALPHA * var.sqrt() / vf.sqrt();
    let p = if x < 2.5 {
        (0.5 + (1.25 - 0.5 * x).max(0.0).sqrt()).min(1.0)
    } else {
        0.5
    };
    -p.log2()
}

/// Markov estimate, SP 800-90B §6.3.3 (binary; nonzero bytes count as 1).
///
/// From the initial probabilities `P0, P1` and the transition probabilities
/// `P00, P01, P10, P11` (first-order Markov model), the most likely 128-bit
/// sequence among `0…0`, `0101…`, `01…1`, `10…0`, `1010…`, `1…1` gives
/// `p_max`; `H = min(−log2(p_max)/128, 1)`. Returns 0 for fewer than 2 bits.
pub fn markov_estimate(bits: &[u8]) -> f64 {
    let l = bits.len();
    if l < 2 {
        return 0.0;
    }
    // Transition counts over consecutive pairs.
    let (mut c0, mut c00, mut c10) = (0usize, 0usize, 0usize);
    for w in bits.windows(2) {
        let (a, b) = (w[0] != 0, w[1] != 0);
        if !a {
            c0 += 1;
            if !b {
                c00 += 1;
            }
        } else if !b {
            c10 += 1;
        }
    }
    let c1 = l - 1 - c0;
    let (p00, p01) = if c0 > 0 {
        let p = c00 as f64 / c0 as f64;
        (p, 1.0 - p)
    } else {
        (0.0, 0.0)
    };
    let (p10, p11) = if c1 > 0 {
        let p = c10 as f64 / c1 as f64;
        (p, 1.0 - p)
    } else {
        (0.0, 0.0)
    };
    let zeros = c0 + usize::from(bits[l - 1] == 0);
    let p0 = zeros as f64 / l as f64;
    let p1 = 1.0 - p0;
    // −log2 of each candidate sequence probability (∞ when impossible).
    let nl = |p: f64| -p.log2();
    let candidates = [
        nl(p0) + 127.0 * nl(p00),
        nl(p0) + 64.0 * nl(p01) + 63.0 * nl(p10),
        nl(p0) + nl(p01) + 126.0 * nl(p11),
        nl(p1) + nl(p10) + 126.0 * nl(p00),
        nl(p1) + 64.0 * nl(p10) + 63.0 * nl(p01),
        nl(p1) + 127.0 * nl(p11),
    ];
    let h = candidates
        .into_iter()
        .filter(|h| !h.is_nan())
        .fold(128.0f64, f64::min);
    (h / 128.0).min(1.0)
}

/// Compression estimate, SP 800-90B §6.3.4 (binary; nonzero bytes count as
/// 1), after Maurer's universal statistical test.
///
/// The bits form 6-bit blocks; the first 1000 initialise a dictionary of
/// last-seen positions and each later block `i` contributes
/// `log2(i − last(block))`. With mean `X̄`, `σ̂ = 0.5907 √(mean of squares − X̄²)`
/// and `X̄' = X̄ − 2.576 σ̂/√v`, the `p ∈ [2⁻⁶, 1]` solving
/// `X̄' = G(p) + 63 G((1 − p)/63)` gives `H = −log2(p)/6` (1 if none).
/// `G` is evaluated in O(blocks) by exchanging the order of its double sum.
/// Returns `None` below [`COMPRESSION_MIN_SAMPLES`] bits.
pub fn compression_estimate(bits: &[u8]) -> Option<f64> {
    let b = COMPRESSION_BLOCK;
    let d = COMPRESSION_DICT;
    let blocks = bits.len() / b;
    if blocks <= d {
        return None;
    }
    let value = |i: usize| -> usize {
        bits[i * b..(i + 1) * b]
            .iter()
            .fold(0usize, |acc, &x| (acc << 1) | usize::from(x != 0))
    };
    let mut dict = [0usize; 1 << COMPRESSION_BLOCK];
    for i in 0..d {
        dict[value(i)] = i + 1;
    }
    let v = blocks - d;
    let (mut sum, mut sum_sq) = (0.0f64, 0.0f64);
    for i in d..blocks {
        let s = value(i);
        let dist = ((i + 1 - dict[s]) as f64).log2();
        sum += dist;
        sum_sq += dist * dist;
        dict[s] = i + 1;
    }
    let vf = v as f64;
    let mean = sum / vf;
    let sigma = 0.5907 * (sum_sq / (vf - 1.0) - mean * mean).max(0.0).sqrt();
    let x = mean - Z_ALPHA * sigma / vf.sqrt();

    let log2s: Vec<f64> = (0..=blocks).map(|u| (u.max(1) as f64).log2()).collect();
    let alphabet = (1usize << b) as f64;
    let expected = |p: f64| {
        let q = (1.0 - p) / (alphabet - 1.0);
        g_function(p, d, blocks, &log2s) + (alphabet - 1.0) * g_function(q, d, blocks, &log2s)
    };
    // expected(p) decreases from its maximum at p = 2⁻⁶ (full entropy) to
    // 0 at p = 1.
    let lo_p = 1.0 / alphabet;
    if expected(lo_p) <= x {
        return Some(1.0);
    }
    let (mut lo, mut hi) = (lo_p, 1.0f64);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if expected(mid) > x {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let p = 0.5 * (lo + hi);
    Some((-p.log2() / b as f64).min(1.0))
}

/// Longest tuple the t-tuple estimate examines.
const T_TUPLE_MAX: usize = 64;
/// Occurrences the most common t-tuple needs (§6.3.5 step 1).
const T_TUPLE_MIN_COUNT: usize = 35;
/// Tuple lengths up to this are counted in a direct-indexed table.
const T_TUPLE_TABLE_BITS: usize = 20;

/// t-tuple estimate, SP 800-90B §6.3.5 (binary; nonzero bytes count as 1).
///
/// `t` is the largest tuple length whose most common (overlapping) tuple
/// occurs at least 35 times; with `Q_i` that count for length `i`,
/// `p̂ = max_{i ≤ t} (Q_i / (L − i + 1))^{1/i}`,
/// `p_u = min(1, p̂ + 2.576 √(p̂(1 − p̂)/(L − 1)))`, `H = −log2 p_u`.
/// Deviation: `t` is capped at 64 bits; data whose most common 64-tuple still
/// repeats 35 times already scores at most `−log2((35/L)^{1/64})`
/// (≈ 0.18 at L = 10⁵), and longer tuples could only lower the estimate.
/// Returns `None` when not even a 1-tuple occurs 35 times.
pub fn t_tuple_estimate(bits: &[u8]) -> Option<f64> {
    let l = bits.len();
    let mut table: Vec<u32> = Vec::new();
    let mut windows: Vec<u64> = Vec::new();
    let mut p_hat: Option<f64> = None;
    for i in 1..=T_TUPLE_MAX.min(l) {
        let q = most_common_tuple(bits, i, &mut table, &mut windows);
        if q < T_TUPLE_MIN_COUNT {
            break;
        }
        let p = (q as f64 / (l - i + 1) as f64).powf(1.0 / i as f64);
        p_hat = Some(p_hat.map_or(p, |best: f64| best.max(p)));
    }
    let p = p_hat?;
    let pu = (p + Z_ALPHA * (p * (1.0 - p) / (l as f64 - 1.0)).sqrt()).min(1.0);
    Some(-pu.log2())
}

/// Occurrences of the most common overlapping `len`-bit tuple (`len ≤ 64`).
fn most_common_tuple(
    bits: &[u8],
    len: usize,
    table: &mut Vec<u32>,
    windows: &mut Vec<u64>,
) -> usize {
    let mask = if len == 64 {
        u64::MAX
    } else {
        (1u64 << len) - 1
    };
    let mut w = 0u64;
    let values = bits.iter().enumerate().filter_map(move |(j, &b)| {
        w = ((w << 1) | u64::from(b != 0)) & mask;
        (j + 1 >= len).then_some(w)
    });
    if len <= T_TUPLE_TABLE_BITS {
        table.clear();
        table.resize(1 << len, 0);
        for v in values {
            table[v as usize] += 1;
        }
        table.iter().copied().max().unwrap_or(0) as usize
    } else {
        windows.clear();
        windows.extend(values);
        windows.sort_unstable();
        windows
            .chunk_by(|a, b| a == b)
            .map(<[u64]>::len)
            .max()
            .unwrap_or(0)
    }
}

/// `G(z) = (1/v) Σ_{t=d+1}^{L} Σ_{u=1}^{t} log2(u) F(z, t, u)` with
/// `F = z²(1−z)^{u−1}` for `u < t` and `z(1−z)^{t−1}` for `u = t`
/// (SP 800-90B §6.3.4 step 7). Swapping the sums gives
/// `z² Σ_{u<L} log2(u)(1−z)^{u−1}·(L − max(u, d)) + z Σ_{t>d} log2(t)(1−z)^{t−1}`.
fn g_function(z: f64, d: usize, blocks: usize, log2s: &[f64]) -> f64 {
    let v = (blocks - d) as f64;
    let one_minus = 1.0 - z;
    let mut pow = 1.0; // (1 − z)^{u−1}
    let mut first = 0.0;
    let mut second = 0.0;
    for (u, &lu) in log2s.iter().enumerate().take(blocks + 1).skip(1) {
        // Every later term is below lu·pow·blocks; stop before (1 − z)^u
        // turns subnormal (slow) — the dropped tail is < 1e-250 relative.
        if pow < 1e-280 {
            break;
        }
        if u < blocks {
            first += lu * pow * (blocks - u.max(d)) as f64;
        }
        if u > d {
            second += lu * pow;
        }
        pow *= one_minus;
    }
    (z * z * first + z * second) / v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's double sum, term by term.
    fn g_brute(z: f64, d: usize, blocks: usize) -> f64 {
        let mut total = 0.0;
        for t in d + 1..=blocks {
            for u in 1..=t {
                let f = if u < t {
                    z * z * (1.0 - z).powi(u as i32 - 1)
                } else {
                    z * (1.0 - z).powi(t as i32 - 1)
                };
                total += (u as f64).log2() * f;
            }
        }
        total / (blocks - d) as f64
    }

    #[test]
    fn g_function_matches_double_sum() {
        let (d, blocks) = (1000, 1300);
        let log2s: Vec<f64> = (0..=blocks).map(|u| (u.max(1) as f64).log2()).collect();
        for z in [1.0 / 64.0, 0.001, 0.05, 0.3, 0.9] {
            let fast = g_function(z, d, blocks, &log2s);
            let slow = g_brute(z, d, blocks);
            assert!(
                (fast - slow).abs() < 1e-9 * slow.abs().max(1.0),
                "{z}: {fast} vs {slow}"
            );
        }
    }

    #[test]
    fn compression_expectation_matches_uniform_blocks() {
        // For uniform 6-bit blocks the mean of log2(distance) should match
        // G(1/64) + 63·G(1/64) within sampling error.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let bits: Vec<u8> = (0..600_000).map(|_| rng.random_range(0..2u8)).collect();
        let blocks = bits.len() / 6;
        let log2s: Vec<f64> = (0..=blocks).map(|u| (u.max(1) as f64).log2()).collect();
        let expect = 64.0 * g_function(1.0 / 64.0, 1000, blocks, &log2s);
        let mut dict = [0usize; 64];
        let mut sum = 0.0;
        for i in 0..blocks {
            let s = bits[i * 6..i * 6 + 6]
                .iter()
                .fold(0usize, |a, &x| (a << 1) | x as usize);
            if i >= 1000 {
                sum += ((i + 1 - dict[s]) as f64).log2();
            }
            dict[s] = i + 1;
        }
        let mean = sum / (blocks - 1000) as f64;
        assert!((mean - expect).abs() < 0.02, "{mean} vs {expect}");
    }
}
