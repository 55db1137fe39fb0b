//! Choosing bits per sample from the Alice–Bob correlation.
//!
//! Model: the preprocessed samples of Alice and Bob are jointly Gaussian with
//! correlation ρ. Their mutual information is `I(ρ) = −½ log2(1 − ρ²)` bits
//! per sample (Cover & Thomas, *Elements of Information Theory*, 2nd ed.,
//! eq. 8.56), an upper bound on the key bits per sample. Quantizing with `k`
//! Gray-coded equiprobable bits gives an expected per-bit disagreement
//! `p_k(ρ)` ([`gray_disagreement`]); reconciliation then leaks about
//! `f · h2(p_k)` bits per raw bit (f = [`RECONCILIATION_EFFICIENCY`]), so the
//! net yield per sample is `R_k = k · max(0, 1 − f · h2(p_k(ρ)))`.
//! [`bits_per_sample_for`] picks the `k ∈ 1..=4` that maximizes `R_k`.

/// Reconciliation inefficiency `f ≥ 1` assumed by [`bits_per_sample_for`]
/// (leaked bits = f · n · h2(p); Cascade reaches ≈ 1.1–1.2 at small p).
pub const RECONCILIATION_EFFICIENCY: f64 = 1.2;

/// Bits per sample for Alice–Bob correlation `rho` (see the module docs):
/// the `k ∈ 1..=4` maximizing `k · max(0, 1 − f · h2(p_k(ρ)))`, the smaller
/// `k` on ties. Non-finite or non-positive `rho` gives 1; `rho ≥ 1` gives 4.
/// Monotone non-decreasing in `rho`.
pub fn bits_per_sample_for(rho: f64) -> u8 {
    if rho.is_nan() || rho <= 0.0 {
        return 1;
    }
    if rho >= 1.0 {
        return 4;
    }
    let mut best = (1u8, f64::NEG_INFINITY);
    for k in 1..=4u8 {
        let p = gray_disagreement(k, rho);
        let rate = k as f64 * (1.0 - RECONCILIATION_EFFICIENCY * h2(p)).max(0.0);
        if rate > best.1 + 1e-12 {
            best = (k, rate);
        }
    }
    best.0
}

/// Expected fraction of disagreeing bits when Alice and Bob each quantize a
/// standard bivariate Gaussian pair with correlation `rho` by `bits`-bit
/// equiprobable, Gray-coded quantization (exact quantile edges of N(0,1)).
///
/// `p = (1/k) Σ_{a,b} P(A = a, B = b) · popcount(gray(a) ⊕ gray(b))`, with
/// `P(B = b | x) = Φ((e_{b+1} − ρx)/s) − Φ((e_b − ρx)/s)`, `s = √(1 − ρ²)`,
/// integrated over Alice's sample `x` by composite Simpson's rule per level.
/// For `bits = 1` this equals `arccos(ρ)/π` (Sheppard's formula).
/// `bits` is clamped to 1..=8, `rho` to `[−1, 1]`; NaN gives 0.5.
pub fn gray_disagreement(bits: u8, rho: f64) -> f64 {
    if rho.is_nan() {
        return 0.5;
    }
    let rho = rho.clamp(-1.0, 1.0);
    let k = bits.clamp(1, 8);
    let levels = 1usize << k;
    let edges: Vec<f64> = (1..levels)
        .map(|i| normal_quantile(i as f64 / levels as f64))
        .collect();
    let s = (1.0 - rho * rho).sqrt();
    const LIMIT: f64 = 9.0;
    const STEPS: usize = 400; // even
    let mut total = 0.0;
    for a in 0..levels {
        let lo = if a == 0 { -LIMIT } else { edges[a - 1] };
        let hi = if a == levels - 1 { LIMIT } else { edges[a] };
        let h = (hi - lo) / STEPS as f64;
        let ga = super::quantize::gray_encode(a as u32);
        let integrand = |x: f64| -> f64 {
            let mut acc = 0.0;
            let mut prev = 0.0; // Φ at Bob's lower edge
            for b in 0..levels {
                // Φ at Bob's upper edge of level b (the last level is open).
                let cdf = match edges.get(b) {
                    None => 1.0,
                    Some(&e) if s == 0.0 => {
                        if rho * x <= e {
                            1.0
                        } else {
                            0.0
                        }
                    }
                    Some(&e) => normal_cdf((e - rho * x) / s),
                };
                let pb = cdf - prev;
                prev = cdf;
                let d = (ga ^ super::quantize::gray_encode(b as u32)).count_ones();
                acc += pb * d as f64;
            }
            acc * normal_pdf(x)
        };
        let mut sum = integrand(lo) + integrand(hi);
        for i in 1..STEPS {
            let w = if i % 2 == 1 { 4.0 } else { 2.0 };
            sum += w * integrand(lo + i as f64 * h);
        }
        total += sum * h / 3.0;
    }
    (total / k as f64).clamp(0.0, 1.0)
}

/// Binary entropy `h2(p)` in bits.
fn h2(p: f64) -> f64 {
    if p <= 0.0 || p >= 1.0 {
        return 0.0;
    }
    -p * p.log2() - (1.0 - p) * (1.0 - p).log2()
}

fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal CDF `Φ(x) = ½ erfc(−x/√2)`.
pub(crate) fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function, Chebyshev-fitted rational form with
/// fractional error below 1.2e-7 everywhere (Press et al., *Numerical
/// Recipes*, 2nd ed., §6.2, `erfcc`).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Inverse of [`normal_cdf`] by bisection (called a handful of times).
fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-12.0f64, 12.0f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if normal_cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_963_985) - 0.975).abs() < 1e-7);
        assert!((normal_cdf(-1.0) - 0.158_655_254).abs() < 1e-7);
        assert!((normal_quantile(0.75) - 0.674_489_750).abs() < 1e-6);
    }
}
