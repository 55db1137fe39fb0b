//! The finite-length limit of one-way reconciliation on a binary symmetric
//! channel: the fewest bits Alice must disclose in one message so that Bob,
//! holding her n uniform bits through BSC(q), recovers them with frame error
//! rate at most ε.
//!
//! Bob's task is to learn the error pattern E = X ⊕ Y. Whatever Alice sends
//! (m bits, a deterministic function of X) and however Bob decodes, for each
//! Y at most one E per message value is decoded correctly, so at most 2^m
//! patterns are; the success probability is at most the mass of the 2^m most
//! likely patterns, which are those of lowest weight. The limit is therefore
//! the optimal fixed-length compression of E (Kontoyiannis & Verdú, IEEE
//! Trans. IT 60(2) 2014):
//!
//! ```text
//! m*(n, q, ε) = log2 min { |S| : P(E ∈ S) ≥ 1 − ε }
//!             ≈ n·h2(q) + √(n·v(q))·Φ⁻¹(1 − ε) − ½·log2 n,
//!   v(q) = q(1 − q)·log2²((1 − q)/q)
//! ```
//!
//! the second line being the normal approximation that Tomamichel,
//! Martinez-Mateo, Pacher and Elkouss (Quantum Inf. Process. 16, 280 (2017))
//! derive for QKD reconciliation. Syndromes of linear codes with
//! maximum-likelihood decoding come within O(1) bits of m*, so it is the
//! reference for a one-way reconciler's efficiency at a given block length.
//! Interactive protocols with feedback (blind rounds, Cascade) are not bound
//! by it in the mean.

use super::binary_entropy;

/// m*(n, q, ε) in bits (fractional): the least disclosure with which any
/// one-way reconciliation of `n` bits through BSC(`q`) reaches frame error
/// rate `fer`. 0 if `q` ≤ 0 or `fer` ≥ 1; `n` if `q` ≥ ½ (nothing is more
/// likely than anything else) or `fer` ≤ 0 with q > 0.
pub fn one_way_leak_limit(n: u64, q: f64, fer: f64) -> f64 {
    if n == 0 || q <= 0.0 || fer >= 1.0 {
        return 0.0;
    }
    if q >= 0.5 || fer <= 0.0 || q.is_nan() || fer.is_nan() {
        return n as f64;
    }
    let (ln_q, ln_p) = (q.ln(), (1.0 - q).ln());
    let target = 1.0 - fer;
    let mut ln_binom = 0.0f64; // ln C(n, w)
    let mut mass = 0.0f64; // P(weight < w)
    let mut ln_count = f64::NEG_INFINITY; // ln Σ_{v<w} C(n, v)
    for w in 0..=n {
        let wf = w as f64;
        let p_weight = (ln_binom + wf * ln_q + (n as f64 - wf) * ln_p).exp();
        if mass + p_weight >= target {
            // Only the share of this weight's patterns still needed.
            let share = ((target - mass) / p_weight).clamp(f64::MIN_POSITIVE, 1.0);
            ln_count = ln_add_exp(ln_count, ln_binom + share.ln());
            return (ln_count / std::f64::consts::LN_2).max(0.0);
        }
        mass += p_weight;
        ln_count = ln_add_exp(ln_count, ln_binom);
        ln_binom += ((n - w) as f64).ln() - (wf + 1.0).ln();
    }
    n as f64
}

/// f*(n, q, ε) = m*(n, q, ε) / (n·h2(q)): the best efficiency a one-way
/// reconciler of `n`-bit blocks can reach at frame error rate `fer`.
pub fn one_way_efficiency_limit(n: u64, q: f64, fer: f64) -> f64 {
    let h = n as f64 * binary_entropy(q);
    if h > 0.0 {
        one_way_leak_limit(n, q, fer) / h
    } else {
        f64::NAN
    }
}

/// The normal approximation of m*: n·h2(q) + √(n·v(q))·z − ½·log2 n with
/// z = Φ⁻¹(1 − ε) given by the caller (e.g. 3.0902 for ε = 10⁻³).
pub fn one_way_leak_normal_approximation(n: u64, q: f64, z: f64) -> f64 {
    let nf = n as f64;
    let v = q * (1.0 - q) * ((1.0 - q) / q).log2().powi(2);
    nf * binary_entropy(q) + (nf * v).sqrt() * z - 0.5 * nf.log2()
}

/// The shortest block (to within 1 %) on which a one-way reconciler can
/// reach efficiency `f` at frame error rate `fer` on BSC(`q`); `None` if not
/// even 2²⁶ bits suffice or `f` ≤ 1.
pub fn shortest_block_for_efficiency(q: f64, fer: f64, f: f64) -> Option<u64> {
    const LONGEST: u64 = 1 << 26;
    if f <= 1.0 || one_way_efficiency_limit(LONGEST, q, fer) > f {
        return None;
    }
    let (mut lo, mut hi) = (1u64, LONGEST);
    while hi > lo + lo / 100 + 1 {
        let mid = lo + (hi - lo) / 2;
        if one_way_efficiency_limit(mid, q, fer) <= f {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

fn ln_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        hi
    } else {
        hi + (lo - hi).exp().ln_1p()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The limit by its definition: sort all 2ⁿ patterns by probability and
    /// count how many it takes to reach 1 − ε (the last one fractionally).
    fn brute_force(n: u32, q: f64, fer: f64) -> f64 {
        let mut probs: Vec<f64> = (0u32..1 << n)
            .map(|e| {
                let w = e.count_ones() as i32;
                q.powi(w) * (1.0 - q).powi(n as i32 - w)
            })
            .collect();
        probs.sort_by(|a, b| b.total_cmp(a));
        let mut mass = 0.0;
        for (k, p) in probs.iter().enumerate() {
            if mass + p >= 1.0 - fer {
                return (k as f64 + (1.0 - fer - mass) / p).log2();
            }
            mass += p;
        }
        n as f64
    }

    #[test]
    fn matches_the_definition_on_small_blocks() {
        for &(n, q, fer) in &[
            (10, 0.05, 0.1),
            (10, 0.05, 0.01),
            (12, 0.2, 0.05),
            (14, 0.1, 1e-3),
            (8, 0.3, 0.5),
        ] {
            let (got, want) = (one_way_leak_limit(n as u64, q, fer), brute_force(n, q, fer));
            assert!(
                (got - want).abs() < 1e-6,
                "n={n} q={q} ε={fer}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn long_blocks_follow_the_normal_approximation() {
        // Φ⁻¹(1 − 10⁻³) = 3.090232; the two agree to O(1) bits.
        for &(n, q) in &[
            (65_536u64, 0.02),
            (65_536, 0.05),
            (16_384, 0.10),
            (1 << 20, 0.05),
        ] {
            let exact = one_way_leak_limit(n, q, 1e-3);
            let approx = one_way_leak_normal_approximation(n, q, 3.090_232);
            assert!(
                (exact - approx).abs() < 8.0,
                "n={n} q={q}: {exact} vs {approx}"
            );
            assert!(exact > n as f64 * binary_entropy(q));
        }
    }

    #[test]
    fn longer_blocks_come_closer_to_the_entropy() {
        let f: Vec<f64> = [1944u64, 16_384, 65_536, 1 << 20]
            .iter()
            .map(|&n| one_way_efficiency_limit(n, 0.02, 1e-3))
            .collect();
        assert!(f.windows(2).all(|w| w[0] > w[1] && w[1] > 1.0), "{f:?}");
        let n = shortest_block_for_efficiency(0.02, 1e-3, 1.05).unwrap();
        assert!(one_way_efficiency_limit(n, 0.02, 1e-3) <= 1.05);
        assert!(one_way_efficiency_limit(n * 98 / 100, 0.02, 1e-3) > 1.05);
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        assert_eq!(one_way_leak_limit(0, 0.1, 1e-3), 0.0);
        assert_eq!(one_way_leak_limit(100, 0.0, 1e-3), 0.0);
        assert_eq!(one_way_leak_limit(100, 0.6, 1e-3), 100.0);
        assert_eq!(one_way_leak_limit(100, 0.1, 0.0), 100.0);
        assert_eq!(one_way_leak_limit(100, f64::NAN, 1e-3), 100.0);
        assert!(one_way_efficiency_limit(100, 0.0, 1e-3).is_nan());
        assert_eq!(shortest_block_for_efficiency(0.05, 1e-3, 1.0), None);
    }
}
