//! Bob's channel log-likelihood ratios `ln P(Alice = 0) / P(Alice = 1)`.
//!
//! * Hard decisions: every bit gets `±ln((1 − q)/q)` from the public
//!   disagreement estimate q̂ alone (binary symmetric channel).
//! * Soft input: the quantizer reports, per bit, the signed distance `d` of
//!   Bob's sample to the edge that decides this bit, in units of the block's
//!   standard deviation (`d > 0` ⇔ bit 1; see `extract::quantize::Quantized`).
//!   Model: Alice's sample is Bob's plus Gaussian noise of standard deviation
//!   σ (same units), so Alice lies on the other side of that edge with
//!   probability `p(d) = Φ(−|d|/σ)` and the LLR is `∓ln((1 − p)/p)`.
//!
//! Noise estimator (data only, no simulator truth): σ is the value for which
//! the model's mean predicted disagreement over this block matches q̂,
//! `(1/N) Σ_i Φ(−|d_i|/σ) = q̂`. The left side grows monotonically from 0
//! (σ → 0) to ½ (σ → ∞), so bisection on ln σ finds the unique root. q̂ is
//! the disagreement both sides measured on the sacrificed sample, so the
//! estimate uses only public data and Bob's own values.

/// Largest LLR magnitude produced from channel observations.
pub const MAX_CHANNEL_LLR: f32 = 30.0;

/// `ln erfc(x)` for x ≥ 0 (Chebyshev fit of Press et al., *Numerical
/// Recipes* §6.2, fractional error < 1.2e−7), evaluated in the log domain so
/// large x does not underflow.
fn ln_erfc(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * x);
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    t.ln() - x * x + poly
}

/// Φ(−a) for a ≥ 0 (upper Gaussian tail).
pub fn gaussian_tail(a: f64) -> f64 {
    0.5 * ln_erfc(a / std::f64::consts::SQRT_2).exp()
}

/// `ln((1 − p)/p)` with `p = Φ(−a)`, for a ≥ 0, capped at [`MAX_CHANNEL_LLR`].
fn tail_llr(a: f64) -> f32 {
    let ln_p = std::f64::consts::LN_2.mul_add(-1.0, ln_erfc(a / std::f64::consts::SQRT_2));
    let p = ln_p.exp();
    let l = (-p).ln_1p() - ln_p;
    (l as f32).clamp(0.0, MAX_CHANNEL_LLR)
}

/// LLR magnitude for a binary symmetric channel with crossover `q`
/// (clamped to `[1e−6, 0.5]`).
pub fn bsc_llr(q: f64) -> f32 {
    let q = if q.is_nan() { 0.5 } else { q.clamp(1e-6, 0.5) };
    (((1.0 - q) / q).ln() as f32).min(MAX_CHANNEL_LLR)
}

/// Hard-decision LLRs: `+L` for bit 0, `−L` for bit 1, `L = ln((1 − q)/q)`.
pub fn hard_llrs(bits: &[u8], q: f64, out: &mut Vec<f32>) {
    let l = bsc_llr(q);
    out.clear();
    out.extend(bits.iter().map(|&b| if b & 1 == 0 { l } else { -l }));
}

/// Noise level σ (in units of the soft values) at which the mean of
/// `Φ(−|d_i|/σ)` over `soft` equals `q` (see the module doc). `None` when
/// there is nothing to fit: no values, `q` not in (0, ½), or non-finite input.
pub fn estimate_sigma(soft: &[f32], q: f64) -> Option<f64> {
    if soft.is_empty() || !(q > 0.0 && q < 0.5) || soft.iter().any(|d| !d.is_finite()) {
        return None;
    }
    let mean_tail = |sigma: f64| {
        soft.iter()
            .map(|&d| gaussian_tail(f64::from(d.abs()) / sigma))
            .sum::<f64>()
            / soft.len() as f64
    };
    let (mut lo, mut hi) = ((1e-6f64).ln(), (1e6f64).ln());
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if mean_tail(mid.exp()) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some((0.5 * (lo + hi)).exp())
}

/// Soft LLRs from Bob's bits and soft values for noise level `sigma`: sign
/// from the bit (0 ⇒ positive), magnitude `ln((1 − p)/p)`, `p = Φ(−|d|/σ)`.
pub fn soft_llrs(bits: &[u8], soft: &[f32], sigma: f64, out: &mut Vec<f32>) {
    out.clear();
    let sigma = if sigma > 0.0 { sigma } else { 1e-6 };
    out.extend(bits.iter().zip(soft).map(|(&b, &d)| {
        let a = if d.is_finite() {
            f64::from(d.abs())
        } else {
            0.0
        };
        let l = tail_llr(a / sigma);
        if b & 1 == 0 {
            l
        } else {
            -l
        }
    }));
}

/// Bob's estimate of the conditional entropy per bit, `Ĥ = (1/N) Σ_i
/// h2(Φ(−|d_i|/σ))`: under the module's Gaussian model this is H(Alice's bit
/// | Bob's value) averaged over the block, and by Jensen's inequality (h2 is
/// concave, the mean of the `p_i` is q̂ by the fit) at most h2(q̂). Depends
/// only on the magnitudes `|d_i|` and σ, never on Bob's bits. 0 for no values.
pub fn soft_entropy(soft: &[f32], sigma: f64) -> f64 {
    if soft.is_empty() || sigma.is_nan() || sigma <= 0.0 {
        return 0.0;
    }
    soft.iter()
        .map(|&d| {
            let a = if d.is_finite() {
                f64::from(d.abs())
            } else {
                0.0
            };
            crate::reconcile::binary_entropy(gaussian_tail(a / sigma))
        })
        .sum::<f64>()
        / soft.len() as f64
}

/// Bob's LLRs: soft ones when `soft` is given and a noise level can be fitted
/// to `q`, hard-decision ones otherwise. Returns the σ used (if soft).
pub fn channel_llrs(bits: &[u8], soft: Option<&[f32]>, q: f64, out: &mut Vec<f32>) -> Option<f64> {
    if let Some(s) = soft.filter(|s| s.len() == bits.len()) {
        if let Some(sigma) = estimate_sigma(s, q) {
            soft_llrs(bits, s, sigma, out);
            return Some(sigma);
        }
    }
    hard_llrs(bits, q, out);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_matches_known_values() {
        assert!((gaussian_tail(0.0) - 0.5).abs() < 1e-6);
        assert!((gaussian_tail(1.0) - 0.158_655_25).abs() < 1e-6);
        assert!((gaussian_tail(3.0) - 0.001_349_898).abs() < 1e-8);
        // ln((1-p)/p) at p = Φ(-1): ln(0.8413/0.1587) = 1.6679
        assert!((tail_llr(1.0) - 1.667_9).abs() < 1e-3);
        assert!((bsc_llr(0.1) - 9f32.ln()).abs() < 1e-5);
    }

    #[test]
    fn sigma_fit_recovers_the_model() {
        // |d| uniform-ish on a grid; pick σ = 0.3, compute q, fit back.
        let soft: Vec<f32> = (0..2000).map(|i| (i as f32 - 999.5) / 500.0).collect();
        let q = soft
            .iter()
            .map(|&d| gaussian_tail(f64::from(d.abs()) / 0.3))
            .sum::<f64>()
            / soft.len() as f64;
        let s = estimate_sigma(&soft, q).expect("fit");
        assert!((s - 0.3).abs() < 1e-4, "{s}");
        assert_eq!(estimate_sigma(&soft, 0.0), None);
        assert_eq!(estimate_sigma(&[], 0.1), None);
        // Jensen: the soft entropy lies below h2(q) at the fitted σ.
        let h = soft_entropy(&soft, s);
        let h2q = crate::reconcile::binary_entropy(q);
        assert!(h > 0.0 && h < h2q, "{h} vs {h2q}");
        // All values on the edge: every bit is a coin flip.
        assert!((soft_entropy(&[0.0; 4], 1.0) - 1.0).abs() < 1e-9);
    }
}
