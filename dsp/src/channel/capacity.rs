//! Secret-key-rate estimate of a scenario under a Gaussian source model.
//!
//! # Method (upper-bound style)
//! Alice, Bob and each Eve observe noisy estimates of their channels; under the Gaussian model the secret-key
//! capacity of this *source model* satisfies (Maurer 1993; Ahlswede & Csiszár 1993)
//!
//! `max(I(A;B) − I(A;E), I(A;B) − I(B;E)) ≤ C_s ≤ I(A;B | E)`,
//!
//! and the reported `bits_per_second` is the upper bound `I(A;B|E)`, counted over independent real
//! dimensions, each contributing `−½·log2(1 − ρ²_AB|E)` with the partial correlation ρ_AB|E of the
//! observations given all Eves (Gaussian conditioning, Schur complement). The lower bound is reported too.
//!
//! The dimensions come from the model:
//! * **Frequency:** the 52×52 subcarrier covariance `R = F·diag(p)·Fᴴ` of the exponential PDP `p`
//!   (`F[k,l] = e^{−j2πkl/64}`) has eigenmodes (Karhunen–Loève) that are independent Gaussians with variance
//!   λ_i (Σλ_i = 52); each has its own SNR `λ_i·snr_obs` and two real dimensions (real and imaginary part).
//!   Its non-zero eigenvalues are those of the small `diag(√p)·FᴴF·diag(√p)`. All links share the PDP and
//!   their cross-covariances are scalar multiples of `R`, so one eigenbasis decouples every link at once.
//! * **Observation SNR:** `snr_obs = snr · (64/52) · 2`: a perfect LS estimate on one used subcarrier from the
//!   two L-LTF symbols (IEEE 802.11-2020 §17.3.3), noise white across subcarriers; and, when probes come faster
//!   than the Doppler bandwidth, times the oversampling factor `exchange_rate / (2 f_d)` (noise averaging).
//! * **Time between the two directions:** Alice's observation (Bob→Alice, time t + gap) and Bob's (Alice→Bob,
//!   time t) share the process with correlation `J0(2π f_d·gap)` (Jakes 1974).
//! * **Eve:** Eve *j* observes Alice's probe on a link correlated `ρ_j = J0(2π d_j/λ)` with Alice→Bob (Jakes
//!   spatial model; ρ may be negative); her Bob→Eve link is independent of everything and therefore useless
//!   to her. Eves are mutually correlated through Alice→Bob (`ρ_j ρ_k`), and conditioning is on all of them.
//! * **Time:** each tap is a complex process band-limited to `±f_d` (Clarke spectrum), i.e. two-sided bandwidth
//!   `2 f_d`; by the sampling theorem (Landau–Pollak–Slepian degrees of freedom) it has ≈ `2 f_d` independent
//!   complex samples per second, and a probe rate `R` cannot observe more than `R`. So
//!   `independent_samples_per_second = min(R, 2 f_d)`; a static channel (f_d = 0) yields 0 bit/s.
//!
//! Why it is an upper-bound-style estimate: `I(A;B|E)` bounds the key capacity from above; samples spaced
//! `1/(2f_d)` are treated as fully independent (the Clarke U-shaped spectrum actually correlates them a
//! little) and oversampling is credited as full noise averaging; the LS estimate is perfect (ideal
//! synchronisation, RF responses calibrated out); all frequency eigenmodes are used, down to the weakest;
//! and Eve uses no side information beyond her own channel observations. Practical pipelines (per-probe
//! quantisation, reconciliation, privacy amplification) realise a small fraction of it.
//!
//! Known limits of the estimate (it is not a theorem-grade bound for this simulator): the TDD decorrelation
//! is charged per sample as `J0(2π f_d gap)`, whereas a receiver exploiting the whole oversampled sequence
//! could partly undo a pure time shift; and the band-limited process is approximated by a flat spectrum when
//! crediting noise averaging. Eves at equal distances are modelled as distinct positions on that circle
//! (independent residuals), so several Eves help each other only through their common Alice→Bob component.

use super::{jakes::bessel_j0, SUBCARRIERS};
use std::f64::consts::TAU;

/// Result of [`crate::channel::ChannelSim::capacity`]; see the module docs for the method.
#[derive(Clone, Debug, PartialEq)]
pub struct CapacityEstimate {
    /// Upper-bound-style secret-key rate `I(A;B|E)` in bit/s.
    pub bits_per_second: f64,
    /// One-way lower bound `max(I(A;B) − I(A;E), I(A;B) − I(B;E), 0)` in bit/s.
    pub lower_bound_bits_per_second: f64,
    /// `I(A;B)` in bit/s (what Alice and Bob share, ignoring Eve).
    pub mutual_information_bits_per_second: f64,
    /// Independent channel samples per second, `min(exchange_rate, 2 f_d)`.
    pub independent_samples_per_second: f64,
    /// `I(A;B|E)` per independent sample (sum over frequency eigenmodes, real and imaginary parts), bits.
    pub bits_per_sample: f64,
    /// Eigenvalues of the 52×52 subcarrier covariance, descending (sum 52).
    pub frequency_eigenvalues: Vec<f64>,
    /// Correlation between Alice's and Bob's channel, `J0(2π f_d · tdd_gap)`.
    pub time_correlation: f64,
    /// Spatial correlation `J0(2π d/λ)` of each Eve's channel with Alice→Bob.
    pub eve_correlations: Vec<f64>,
    /// Per-subcarrier observation SNR (dB) before time averaging: `snr · 64/52 · 2`.
    pub observation_snr_db: f64,
    /// Short name of the method.
    pub method: &'static str,
}

/// Method tag reported in [`CapacityEstimate::method`].
pub const METHOD: &str =
    "gaussian-source-model I(A;B|E): PDP eigenmodes x Jakes time/space correlation";

/// Eigenvalues of a real symmetric `n×n` matrix (row-major), descending
/// (cyclic Jacobi, [`crate::linalg::symmetric_eigen`]).
pub(crate) fn symmetric_eigenvalues(a: Vec<f64>, n: usize) -> Vec<f64> {
    let mut eig = crate::linalg::symmetric_eigen(a, n).0;
    eig.sort_by(|x, y| y.total_cmp(x));
    eig
}

/// Non-zero eigenvalues of the 52×52 subcarrier covariance of `pdp`, descending.
pub(crate) fn frequency_eigenvalues(pdp: &[f64]) -> Vec<f64> {
    let n = pdp.len();
    // (FᴴF)[l1,l2] = Σ_k e^{j2πk(l1−l2)/64}; the used set is symmetric in k, so this is real.
    let gram = |d: i64| -> f64 {
        SUBCARRIERS
            .iter()
            .map(|&k| (TAU * (k as f64) * d as f64 / 64.0).cos())
            .sum()
    };
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            m[i * n + j] = (pdp[i] * pdp[j]).sqrt() * gram(i as i64 - j as i64);
        }
    }
    symmetric_eigenvalues(m, n)
        .into_iter()
        .map(|x| x.max(0.0))
        .collect()
}

/// Solve `a·x = b` in place for `b` holding `cols` right-hand sides (row-major `n×cols`);
/// Gaussian elimination with partial pivoting. `a` must be symmetric positive definite here (noise > 0).
fn solve(a: &mut [f64], b: &mut [f64], n: usize, cols: usize) {
    for c in 0..n {
        let piv = (c..n)
            .max_by(|&i, &j| a[i * n + c].abs().total_cmp(&a[j * n + c].abs()))
            .unwrap_or(c);
        if piv != c {
            for k in 0..n {
                a.swap(c * n + k, piv * n + k);
            }
            for k in 0..cols {
                b.swap(c * cols + k, piv * cols + k);
            }
        }
        let d = a[c * n + c];
        for r in c + 1..n {
            let f = a[r * n + c] / d;
            for k in c..n {
                a[r * n + k] -= f * a[c * n + k];
            }
            for k in 0..cols {
                b[r * cols + k] -= f * b[c * cols + k];
            }
        }
    }
    for c in (0..n).rev() {
        for k in 0..cols {
            let mut v = b[c * cols + k];
            for j in c + 1..n {
                v -= a[c * n + j] * b[j * cols + k];
            }
            b[c * cols + k] = v / a[c * n + c];
        }
    }
}

/// Per-real-dimension information quantities for one eigenmode: (I(A;B|E), I(A;B), I(A;E), I(B;E)), bits.
fn mode_information(lambda: f64, noise: f64, eve_noise: f64, r_t: f64, rho: &[f64]) -> [f64; 4] {
    let m = rho.len();
    let var = lambda + noise;
    let i_ab = -0.5 * (1.0 - (r_t * lambda / var).powi(2)).log2();
    if m == 0 {
        return [i_ab, i_ab, 0.0, 0.0];
    }
    // Σ_EE and Σ_E,(A,B).
    let mut see = vec![0.0; m * m];
    let mut sea = vec![0.0; m * 2];
    for j in 0..m {
        for k in 0..m {
            // Each Eve's channel has full power λ; Eves correlate only through Alice→Bob.
            see[j * m + k] = if j == k {
                lambda + eve_noise
            } else {
                rho[j] * rho[k] * lambda
            };
        }
        sea[j * 2] = r_t * rho[j] * lambda;
        sea[j * 2 + 1] = rho[j] * lambda;
    }
    let mut x = sea.clone();
    solve(&mut see, &mut x, m, 2);
    // Conditional covariance of (A, B) given E: Σ_AB − Σ_AE Σ_EE⁻¹ Σ_EA.
    let mut c = [[var, r_t * lambda], [r_t * lambda, var]];
    for (u, row) in c.iter_mut().enumerate() {
        for (v, cell) in row.iter_mut().enumerate() {
            *cell -= (0..m).map(|j| sea[j * 2 + u] * x[j * 2 + v]).sum::<f64>();
        }
    }
    let rho_cond = c[0][1] / (c[0][0] * c[1][1]).sqrt();
    let i_cond = -0.5 * (1.0 - rho_cond * rho_cond).log2();
    let i_ae = 0.5 * (var / c[0][0]).log2();
    let i_be = 0.5 * (var / c[1][1]).log2();
    [i_cond, i_ab, i_ae, i_be]
}

/// Parameters of [`estimate`] taken from the scenario.
pub(crate) struct CapacityInputs<'a> {
    pub pdp: &'a [f64],
    pub snr_db: f64,
    pub eve_snr_db: f64,
    pub doppler_hz: f64,
    pub exchange_rate_hz: f64,
    pub tdd_gap_s: f64,
    pub eve_distances_wavelengths: &'a [f64],
}

/// Evaluate the estimate described in the module docs.
pub(crate) fn estimate(p: &CapacityInputs<'_>) -> CapacityEstimate {
    let eig = frequency_eigenvalues(p.pdp);
    let ls_gain = 2.0 * 64.0 / 52.0;
    let snr_obs = 10f64.powf(p.snr_db / 10.0) * ls_gain;
    let eve_snr_obs = 10f64.powf(p.eve_snr_db / 10.0) * ls_gain;
    let r_t = bessel_j0(TAU * p.doppler_hz * p.tdd_gap_s);
    let rho: Vec<f64> = p
        .eve_distances_wavelengths
        .iter()
        .map(|d| bessel_j0(TAU * d))
        .collect();
    let samples = p.exchange_rate_hz.min(2.0 * p.doppler_hz).max(0.0);
    let mut sums = [0.0; 4];
    if samples > 0.0 {
        let averaging = (p.exchange_rate_hz / (2.0 * p.doppler_hz)).max(1.0);
        let noise = 1.0 / (snr_obs * averaging);
        let eve_noise = 1.0 / (eve_snr_obs * averaging);
        for &lambda in eig.iter().filter(|&&l| l > 1e-9) {
            let info = mode_information(lambda, noise, eve_noise, r_t, &rho);
            for (s, i) in sums.iter_mut().zip(info) {
                *s += 2.0 * i; // real and imaginary dimension
            }
        }
    }
    let lower = (sums[1] - sums[2]).max(sums[1] - sums[3]).max(0.0);
    CapacityEstimate {
        bits_per_second: samples * sums[0],
        lower_bound_bits_per_second: samples * lower,
        mutual_information_bits_per_second: samples * sums[1],
        independent_samples_per_second: samples,
        bits_per_sample: sums[0],
        frequency_eigenvalues: eig,
        time_correlation: r_t,
        eve_correlations: rho,
        observation_snr_db: 10.0 * snr_obs.log10(),
        method: METHOD,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_matches_known_spectrum() {
        // [[2,1,0],[1,2,1],[0,1,2]] has eigenvalues 2+√2, 2, 2−√2.
        let e = symmetric_eigenvalues(vec![2., 1., 0., 1., 2., 1., 0., 1., 2.], 3);
        let want = [2.0 + 2f64.sqrt(), 2.0, 2.0 - 2f64.sqrt()];
        for (g, w) in e.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{e:?}");
        }
    }

    #[test]
    fn eigenvalues_sum_to_subcarrier_count() {
        let pdp = [0.5, 0.3, 0.2];
        let e = frequency_eigenvalues(&pdp);
        assert!((e.iter().sum::<f64>() - 52.0).abs() < 1e-9, "{e:?}");
        // Flat fading: one mode carrying everything.
        assert!((frequency_eigenvalues(&[1.0])[0] - 52.0).abs() < 1e-12);
    }

    #[test]
    fn partial_correlation_matches_closed_form() {
        // One Eve: ρ_AB|E = (ρ_AB − ρ_AE ρ_BE)/√((1−ρ_AE²)(1−ρ_BE²)).
        let (l, n, ne, rt, rho): (f64, f64, f64, f64, f64) = (3.0, 0.1, 0.2, 0.9, -0.3);
        let v = l + n;
        let ve = l + ne;
        let r_ab = rt * l / v;
        let r_ae = rt * rho * l / (v * ve).sqrt();
        let r_be = rho * l / (v * ve).sqrt();
        let pc = (r_ab - r_ae * r_be) / ((1.0 - r_ae * r_ae) * (1.0 - r_be * r_be)).sqrt();
        let got = mode_information(l, n, ne, rt, &[rho]);
        assert!((got[0] + 0.5 * (1.0 - pc * pc).log2()).abs() < 1e-12);
        assert!((got[2] + 0.5 * (1.0 - r_ae * r_ae).log2()).abs() < 1e-12);
    }
}
