//! Pure estimators of what makes a radio non-reciprocal: the relative
//! reciprocity coefficient per subcarrier, DC offset and IQ imbalance.
//!
//! Reciprocity (Guillaud, Slock & Knopp, ISSPA 2005; Shepard et al., "Argos",
//! MobiCom 2012): radio X hears the reference R as `H_RX = t_R·C·r_X`, R hears
//! X as `H_XR = t_X·C·r_R`, so `H_XR / H_RX = c_X / c_R` with `c = t / r`.
//! Each exchange's ratio also carries a common phase (LO phases, CFO) and a
//! linear phase slope (timing of the two receivers) that change from probe to
//! probe; [`ReciprocityEstimator`] removes both per probe and averages by
//! least squares, so the stored coefficient has zero mean phase and zero
//! slope (neither is distinguishable from timing/LO phase, which the receiver
//! re-estimates on every probe anyway).
//!
//! DC offset and IQ imbalance: the moment estimator for a circular input
//! (e.g. Tubbax et al., "Compensation of IQ imbalance in OFDM systems",
//! ICC 2003; Windisch & Fettweis 2004). Model: `I_r = I + dc_re`,
//! `Q_r = g·(Q·cos φ − I·sin φ) + dc_im`, which gives
//! `g = √(E[Q₀²]/E[I₀²])` and `sin φ = −E[I₀Q₀]/√(E[I₀²]E[Q₀²])` on the
//! mean-removed samples.

use num_complex::{Complex32, Complex64};

/// Number of used subcarriers (IEEE 802.11-2020 §17.3.5.10: −26..=−1, 1..=26).
pub const N_SC: usize = 52;

/// Subcarrier index of column `i` (−26..=−1, 1..=26).
fn sc_index(i: usize) -> f64 {
    if i < 26 {
        i as f64 - 26.0
    } else {
        i as f64 - 25.0
    }
}

/// Least-squares estimate of `c_X / c_R` per subcarrier from paired
/// measurements of one exchange each way (see the module docs).
#[derive(Clone, Debug)]
pub struct ReciprocityEstimator {
    num: [Complex64; N_SC],
    den: [f64; N_SC],
    pairs: usize,
}

impl Default for ReciprocityEstimator {
    fn default() -> Self {
        Self::new()
    }
}

impl ReciprocityEstimator {
    /// An empty estimator.
    pub fn new() -> Self {
        Self {
            num: [Complex64::new(0.0, 0.0); N_SC],
            den: [0.0; N_SC],
            pairs: 0,
        }
    }

    /// Adds one exchange: `at_reference` is what R measured of X's probe
    /// (`H_XR`), `at_radio` what X measured of R's probe (`H_RX`). Pairs with
    /// a non-finite or all-zero estimate are ignored (returns `false`).
    pub fn add(&mut self, at_reference: &[Complex32; N_SC], at_radio: &[Complex32; N_SC]) -> bool {
        let mut z = [Complex64::new(0.0, 0.0); N_SC];
        let mut energy = 0.0;
        for ((zi, a), b) in z.iter_mut().zip(at_reference).zip(at_radio) {
            let (a, b) = (c64(*a), c64(*b));
            *zi = a * b.conj();
            energy += b.norm_sqr();
        }
        if !(energy.is_finite() && energy > 0.0) || z.iter().any(|v| !v.is_finite()) {
            return false;
        }
        // Linear phase slope per subcarrier from neighbours one index apart, then the common phase.
        let mut s = Complex64::new(0.0, 0.0);
        for i in 0..N_SC - 1 {
            if sc_index(i + 1) - sc_index(i) == 1.0 {
                s += z[i + 1] * z[i].conj();
            }
        }
        let slope = s.arg();
        let mut p = Complex64::new(0.0, 0.0);
        for (i, zi) in z.iter().enumerate() {
            p += zi * Complex64::from_polar(1.0, -slope * sc_index(i));
        }
        let common = p.arg();
        for (i, (n, d)) in self.num.iter_mut().zip(self.den.iter_mut()).enumerate() {
            let rot = Complex64::from_polar(1.0, -(common + slope * sc_index(i)));
            *n += z[i] * rot;
            *d += f64::from(at_radio[i].norm_sqr());
        }
        self.pairs += 1;
        true
    }

    /// Exchanges used so far.
    pub fn pairs(&self) -> usize {
        self.pairs
    }

    /// The estimate of `c_X / c_R` (zero mean phase, zero phase slope), or
    /// `None` before any exchange.
    pub fn finish(&self) -> Option<[Complex64; N_SC]> {
        if self.pairs == 0 {
            return None;
        }
        let mut c = [Complex64::new(0.0, 0.0); N_SC];
        for ((ci, n), d) in c.iter_mut().zip(&self.num).zip(&self.den) {
            if *d <= 0.0 {
                return None;
            }
            *ci = n / d;
        }
        // Remove what is left of the mean phase and slope (the per-probe alignment leaves a small residue).
        let mut s = Complex64::new(0.0, 0.0);
        for i in 0..N_SC - 1 {
            if sc_index(i + 1) - sc_index(i) == 1.0 {
                s += c[i + 1] * c[i].conj();
            }
        }
        let slope = s.arg();
        let p: Complex64 = c
            .iter()
            .enumerate()
            .map(|(i, ci)| ci * Complex64::from_polar(1.0, -slope * sc_index(i)))
            .sum();
        let common = p.arg();
        for (i, ci) in c.iter_mut().enumerate() {
            *ci *= Complex64::from_polar(1.0, -(common + slope * sc_index(i)));
        }
        Some(c)
    }
}

fn c64(c: Complex32) -> Complex64 {
    Complex64::new(f64::from(c.re), f64::from(c.im))
}

/// DC offset and IQ imbalance of a receiver.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IqImpairment {
    /// DC offset (mean of the received samples).
    pub dc: Complex64,
    /// Q/I amplitude ratio `g` (1 = balanced).
    pub gain: f64,
    /// Phase skew `φ` of the Q branch, radians (0 = balanced).
    pub phase_rad: f64,
}

impl Default for IqImpairment {
    /// No DC offset, balanced branches.
    fn default() -> Self {
        Self {
            dc: Complex64::new(0.0, 0.0),
            gain: 1.0,
            phase_rad: 0.0,
        }
    }
}

impl IqImpairment {
    /// Applies the impairment to an ideal sample (the model of the module docs).
    pub fn impair(&self, x: Complex32) -> Complex32 {
        let (i, q) = (f64::from(x.re), f64::from(x.im));
        let (s, c) = self.phase_rad.sin_cos();
        Complex32::new(
            (i + self.dc.re) as f32,
            (self.gain * (q * c - i * s) + self.dc.im) as f32,
        )
    }

    /// The inverse of [`IqImpairment::impair`], precomputed for a sample loop.
    pub fn correction(&self) -> IqCorrection {
        let (s, c) = self.phase_rad.sin_cos();
        IqCorrection {
            dc_re: self.dc.re as f32,
            dc_im: self.dc.im as f32,
            q_scale: (1.0 / (self.gain * c)) as f32,
            i_mix: (s / c) as f32,
        }
    }
}

/// Precomputed DC and IQ correction: `I = I_r − dc_re`,
/// `Q = ((Q_r − dc_im)/g + I·sin φ)/cos φ`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IqCorrection {
    dc_re: f32,
    dc_im: f32,
    q_scale: f32,
    i_mix: f32,
}

impl IqCorrection {
    /// Corrects `samples` in place.
    pub fn apply(&self, samples: &mut [Complex32]) {
        for x in samples {
            let i = x.re - self.dc_re;
            let q = (x.im - self.dc_im) * self.q_scale + i * self.i_mix;
            *x = Complex32::new(i, q);
        }
    }
}

/// Moment accumulator for [`IqImpairment`] (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct IqEstimator {
    n: f64,
    si: f64,
    sq: f64,
    sii: f64,
    sqq: f64,
    siq: f64,
}

impl IqEstimator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds received samples (non-finite ones are skipped).
    pub fn add(&mut self, samples: &[Complex32]) {
        for x in samples.iter().filter(|x| x.is_finite()) {
            let (i, q) = (f64::from(x.re), f64::from(x.im));
            self.n += 1.0;
            self.si += i;
            self.sq += q;
            self.sii += i * i;
            self.sqq += q * q;
            self.siq += i * q;
        }
    }

    /// The estimate, or `None` with fewer than 2 samples or no power in a branch.
    pub fn finish(&self) -> Option<IqImpairment> {
        if self.n < 2.0 {
            return None;
        }
        let (mi, mq) = (self.si / self.n, self.sq / self.n);
        let vi = self.sii / self.n - mi * mi;
        let vq = self.sqq / self.n - mq * mq;
        let ciq = self.siq / self.n - mi * mq;
        if !(vi > 0.0 && vq > 0.0) {
            return None;
        }
        let gain = (vq / vi).sqrt();
        let sin_phi = (-ciq / (vi * vq).sqrt()).clamp(-1.0, 1.0);
        Some(IqImpairment {
            dc: Complex64::new(mi, mq),
            gain,
            phase_rad: sin_phi.asin(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;
    use std::f64::consts::TAU;

    fn cn<R: Rng>(rng: &mut R, sigma: f64) -> Complex64 {
        let re: f64 = rng.sample(StandardNormal);
        let im: f64 = rng.sample(StandardNormal);
        Complex64::new(re, im) * (sigma / 2f64.sqrt())
    }

    fn c32(c: Complex64) -> Complex32 {
        Complex32::new(c.re as f32, c.im as f32)
    }

    /// Smooth random chain response: gain ripple of a few dB, tens of degrees of phase.
    fn chain<R: Rng>(rng: &mut R) -> [Complex64; N_SC] {
        let (a, b, p) = (
            rng.random_range(0.1..0.3),
            rng.random_range(0.0..TAU),
            rng.random_range(0.0..TAU),
        );
        let mut out = [Complex64::new(0.0, 0.0); N_SC];
        for (i, o) in out.iter_mut().enumerate() {
            let k = sc_index(i);
            *o = Complex64::from_polar(1.0, p)
                * (Complex64::new(1.0, 0.0) + Complex64::from_polar(a, b - TAU * k / 64.0 * 2.0));
        }
        out
    }

    /// Known t/r per radio, Rayleigh channels, per-probe common phase, timing slopes and noise:
    /// the estimate matches c_X/c_R up to the removed mean phase and slope.
    #[test]
    fn reciprocity_coefficient_from_synthetic_exchanges() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (tx, rx, tr, rr) = (
            chain(&mut rng),
            chain(&mut rng),
            chain(&mut rng),
            chain(&mut rng),
        );
        let mut est = ReciprocityEstimator::new();
        for _ in 0..300 {
            let ph1 = rng.random_range(0.0..TAU);
            let ph2 = rng.random_range(0.0..TAU);
            let sl1 = rng.random_range(-0.1..0.1);
            let sl2 = rng.random_range(-0.1..0.1);
            let mut h_rx = [Complex32::new(0.0, 0.0); N_SC];
            let mut h_xr = [Complex32::new(0.0, 0.0); N_SC];
            let gain = cn(&mut rng, 1.0);
            for i in 0..N_SC {
                let ch = gain + cn(&mut rng, 0.5);
                let k = sc_index(i);
                h_rx[i] = c32(
                    tr[i] * ch * rx[i] * Complex64::from_polar(1.0, ph1 + sl1 * k)
                        + cn(&mut rng, 0.05),
                );
                h_xr[i] = c32(
                    tx[i] * ch * rr[i] * Complex64::from_polar(1.0, ph2 + sl2 * k)
                        + cn(&mut rng, 0.05),
                );
            }
            assert!(est.add(&h_xr, &h_rx));
        }
        let c = est.finish().unwrap();
        // Truth, aligned the same way (zero mean phase and slope) through a noiseless estimator.
        let mut truth_est = ReciprocityEstimator::new();
        let mut a = [Complex32::new(0.0, 0.0); N_SC];
        let b = [Complex32::new(1.0, 0.0); N_SC];
        for i in 0..N_SC {
            a[i] = c32((tx[i] / rx[i]) / (tr[i] / rr[i]));
        }
        truth_est.add(&a, &b);
        let truth = truth_est.finish().unwrap();
        let err: f64 = c
            .iter()
            .zip(&truth)
            .map(|(x, y)| (x - y).norm_sqr())
            .sum::<f64>()
            / truth.iter().map(|y| y.norm_sqr()).sum::<f64>();
        assert!(err < 1e-3, "relative squared error {err}");
        // The truth has real ripple: several tenths of a dB at least.
        let db: Vec<f64> = truth.iter().map(|c| 20.0 * c.norm().log10()).collect();
        let spread = db.iter().cloned().fold(f64::MIN, f64::max)
            - db.iter().cloned().fold(f64::MAX, f64::min);
        assert!(spread > 1.0, "test chains too flat: {spread} dB");
    }

    #[test]
    fn empty_and_bad_pairs() {
        let mut est = ReciprocityEstimator::new();
        assert!(est.finish().is_none());
        let z = [Complex32::new(0.0, 0.0); N_SC];
        assert!(!est.add(&z, &z));
        let mut nan = [Complex32::new(1.0, 0.0); N_SC];
        nan[3] = Complex32::new(f32::NAN, 0.0);
        assert!(!est.add(&nan, &[Complex32::new(1.0, 0.0); N_SC]));
        assert_eq!(est.pairs(), 0);
    }

    /// Known DC and IQ imbalance on circular noise: recovered, and the correction undoes it.
    #[test]
    fn dc_and_iq_imbalance_recovered_and_corrected() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let truth = IqImpairment {
            dc: Complex64::new(0.03, -0.02),
            gain: 1.12,
            phase_rad: 7f64.to_radians(),
        };
        let clean: Vec<Complex32> = (0..200_000).map(|_| c32(cn(&mut rng, 1.0))).collect();
        let mut rx: Vec<Complex32> = clean.iter().map(|&x| truth.impair(x)).collect();
        let mut est = IqEstimator::new();
        est.add(&rx);
        let got = est.finish().unwrap();
        assert!((got.dc - truth.dc).norm() < 0.01, "{got:?}");
        assert!((got.gain - truth.gain).abs() < 0.01, "{got:?}");
        assert!((got.phase_rad - truth.phase_rad).abs() < 0.01, "{got:?}");
        got.correction().apply(&mut rx);
        let err: f64 = rx
            .iter()
            .zip(&clean)
            .map(|(a, b)| f64::from((a - b).norm_sqr()))
            .sum::<f64>()
            / clean.len() as f64;
        assert!(err < 1e-3, "residual power {err}");
        // The image of a balanced receiver is ~0: the estimator does not invent an imbalance.
        let mut est = IqEstimator::new();
        est.add(&clean);
        let bal = est.finish().unwrap();
        assert!((bal.gain - 1.0).abs() < 0.01 && bal.phase_rad.abs() < 0.01);
        assert!(IqEstimator::new().finish().is_none());
    }
}
