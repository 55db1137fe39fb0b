//! Clarke/Jakes Rayleigh-fading processes by sum of sinusoids, and the Bessel function J0.
//!
//! Each tap is `h(t) = N^{-1/2} Σ_n exp(j(2π f_d cos(α_n) t + φ_n))` (Clarke 1968; Jakes 1974, ch. 1) with
//! independent uniform phases φ_n (Pop & Beaulieu 2001: random phases make the process wide-sense stationary)
//! and random, stratified arrival angles α_n = (2πn + θ_n)/N, θ_n uniform in [−π, π) (the randomised-angle
//! idea of Zheng & Xiao 2003, over the full circle). Because every α_n is marginally uniform on the circle,
//! the ensemble autocorrelation is exactly `E[h(t+τ) h*(t)] = J0(2π f_d τ)` with unit power, and the
//! in-phase/quadrature parts are uncorrelated; Gaussianity follows from the central limit theorem (N ≥ 8).

use num_complex::Complex64;
use rand::Rng;
use std::f64::consts::{PI, TAU};

/// A bank of independent unit-power Clarke/Jakes processes, one per tap.
#[derive(Clone, Debug)]
pub(crate) struct SosBank {
    sinusoids: usize,
    /// Angular Doppler frequency 2π f_d cos α_n, per tap then per sinusoid.
    omega: Vec<f64>,
    /// Initial phase φ_n, same layout.
    phase: Vec<f64>,
    scale: f64,
}

impl SosBank {
    /// Draw `taps` independent processes with `sinusoids` sinusoids each and max Doppler `doppler_hz`.
    pub(crate) fn new<R: Rng>(taps: usize, sinusoids: usize, doppler_hz: f64, rng: &mut R) -> Self {
        let mut omega = Vec::with_capacity(taps * sinusoids);
        let mut phase = Vec::with_capacity(taps * sinusoids);
        for _ in 0..taps {
            for n in 0..sinusoids {
                let theta: f64 = rng.random_range(-PI..PI);
                let alpha = (TAU * n as f64 + theta) / sinusoids as f64;
                omega.push(TAU * doppler_hz * alpha.cos());
                phase.push(rng.random_range(0.0..TAU));
            }
        }
        Self {
            sinusoids,
            omega,
            phase,
            scale: 1.0 / (sinusoids as f64).sqrt(),
        }
    }

    /// Value of tap `tap`'s unit-power process at time `t` seconds. Cost: `sinusoids` sin/cos pairs.
    #[inline]
    pub(crate) fn eval(&self, tap: usize, t: f64) -> Complex64 {
        let range = tap * self.sinusoids..(tap + 1) * self.sinusoids;
        let mut acc = Complex64::new(0.0, 0.0);
        for (w, p) in self.omega[range.clone()].iter().zip(&self.phase[range]) {
            let (s, c) = (w * t + p).sin_cos();
            acc.re += c;
            acc.im += s;
        }
        acc * self.scale
    }
}

/// Bessel function of the first kind, order zero, J0(x), to about 1e-7 absolute.
///
/// Polynomial approximations of Abramowitz & Stegun (1964) 9.4.1 (|x| ≤ 3) and 9.4.3 (|x| > 3).
/// Used for the Jakes temporal correlation J0(2π f_d τ) and spatial correlation J0(2π d/λ).
pub fn bessel_j0(x: f64) -> f64 {
    let x = x.abs();
    if x <= 3.0 {
        let y = (x / 3.0) * (x / 3.0);
        1.0 + y
            * (-2.249_999_7
                + y * (1.265_620_8
                    + y * (-0.316_386_6 + y * (0.044_447_9 + y * (-0.003_944_4 + y * 0.000_21)))))
    } else {
        let y = 3.0 / x;
        let f0 = 0.797_884_56
            + y * (-0.000_000_77
                + y * (-0.005_527_40
                    + y * (-0.000_095_12
                        + y * (0.001_372_37 + y * (-0.000_728_05 + y * 0.000_144_76)))));
        let theta0 = x - std::f64::consts::FRAC_PI_4
            + y * (-0.041_663_97
                + y * (-0.000_039_54
                    + y * (0.002_625_73
                        + y * (-0.000_541_25 + y * (-0.000_293_33 + y * 0.000_135_58)))));
        f0 * theta0.cos() / x.sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn j0_known_values() {
        // Reference values from A&S table 9.1 / standard tables.
        for (x, want) in [
            (0.0, 1.0),
            (1.0, 0.765_197_686_6),
            (2.404_825_557_7, 0.0),
            (3.0, -0.260_051_954_9),
            (5.0, -0.177_596_771_3),
            (10.0, -0.245_935_764_5),
            (-1.0, 0.765_197_686_6),
        ] {
            assert!(
                (bessel_j0(x) - want).abs() < 2e-7,
                "J0({x}) = {}",
                bessel_j0(x)
            );
        }
    }

    #[test]
    fn unit_power_and_static_when_no_doppler() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let bank = SosBank::new(1, 32, 0.0, &mut rng);
        assert_eq!(bank.eval(0, 0.0), bank.eval(0, 123.0));
        let mut p = 0.0;
        let n = 4000;
        for i in 0..n {
            let b = SosBank::new(1, 32, 10.0, &mut rng);
            p += b.eval(0, i as f64 * 0.01).norm_sqr();
        }
        let p = p / n as f64;
        assert!((p - 1.0).abs() < 0.06, "mean power {p}");
    }
}
