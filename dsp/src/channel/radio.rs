//! Per-radio hardware impairments: local-oscillator offset and phase, sampling-clock offset, and the
//! non-reciprocal TX/RX RF chain responses that reciprocity calibration has to remove
//! (cf. Guillaud, Slock & Knopp 2005, "A practical method for wireless channel reciprocity exploitation
//! through relative calibration").

use super::{subcarrier_twiddle, SUBCARRIERS};
use num_complex::{Complex32, Complex64};
use rand::Rng;
use std::f64::consts::TAU;

/// Length of each RF chain's FIR model.
pub const RF_TAPS: usize = 3;

/// Impairments of one radio, fixed for a run.
#[derive(Clone, Debug)]
pub(crate) struct Radio {
    /// Local-oscillator (and carrier) offset, ppm of the carrier.
    pub cfo_ppm: f64,
    /// Sampling-clock offset, ppm.
    pub sfo_ppm: f64,
    /// Local-oscillator phase at t = 0, radians.
    pub lo_phase: f64,
    /// Transmit chain impulse response (unit energy).
    pub tx_fir: [Complex64; RF_TAPS],
    /// Receive chain impulse response (unit energy).
    pub rx_fir: [Complex64; RF_TAPS],
    /// `tx_fir` on the 52 used subcarriers.
    pub tx_freq: [Complex32; 52],
    /// `rx_fir` on the 52 used subcarriers.
    pub rx_freq: [Complex32; 52],
    /// Receiver DC offset and IQ imbalance (applied only when the scenario's `iq_imbalance` is on).
    pub rx_iq: RxIq,
}

/// Receiver DC offset and IQ imbalance of one simulated radio:
/// `I_r = I + dc.re`, `Q_r = g·(Q·cos φ − I·sin φ) + dc.im`
/// (the usual amplitude/phase mismatch model, e.g. Tubbax et al., ICC 2003).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RxIq {
    /// DC offset, relative to a unit-power received signal.
    pub dc: Complex64,
    /// Q/I amplitude ratio `g`.
    pub gain: f64,
    /// Q-branch phase skew `φ`, radians.
    pub phase_rad: f64,
}

impl RxIq {
    /// Draws DC of magnitude 0.02–0.08 (−34…−22 dB below a unit-power signal) at a random phase,
    /// `g` in 1 ± 0.12 (about ±1 dB) and `φ` in ±8°.
    pub(crate) fn random<R: Rng>(rng: &mut R) -> Self {
        let m = rng.random_range(0.02..0.08);
        let p = rng.random_range(0.0..TAU);
        Self {
            dc: Complex64::from_polar(m, p),
            gain: 1.0 + rng.random_range(-0.12..0.12),
            phase_rad: rng.random_range(-8.0f64..8.0).to_radians(),
        }
    }

    /// Applies the impairment to received samples in place.
    pub fn apply(&self, samples: &mut [Complex32]) {
        let (s, c) = self.phase_rad.sin_cos();
        let (gs, gc) = ((self.gain * s) as f32, (self.gain * c) as f32);
        let (dr, di) = (self.dc.re as f32, self.dc.im as f32);
        for x in samples {
            let (i, q) = (x.re, x.im);
            *x = Complex32::new(i + dr, gc * q - gs * i + di);
        }
    }
}

/// A smooth random chain response: `e^{jψ}(1 + a1 e^{jθ1} z^-1 + a2 e^{jθ2} z^-2)`, normalised to unit energy,
/// with a1 ∈ [0.05, 0.15], a2 ∈ [0, 0.06]: 1–4 dB peak-to-peak ripple and a few to ~12 degrees of phase
/// ripple across the band, plus an arbitrary constant chain phase ψ.
fn random_fir<R: Rng>(rng: &mut R) -> [Complex64; RF_TAPS] {
    let psi = rng.random_range(0.0..TAU);
    let a1 = rng.random_range(0.05..0.15);
    let a2 = rng.random_range(0.0..0.06);
    let mut g = [
        Complex64::new(1.0, 0.0),
        Complex64::from_polar(a1, rng.random_range(0.0..TAU)),
        Complex64::from_polar(a2, rng.random_range(0.0..TAU)),
    ];
    let norm = g.iter().map(|c| c.norm_sqr()).sum::<f64>().sqrt();
    let rot = Complex64::from_polar(1.0 / norm, psi);
    g.iter_mut().for_each(|c| *c *= rot);
    g
}

fn identity() -> [Complex64; RF_TAPS] {
    let mut g = [Complex64::new(0.0, 0.0); RF_TAPS];
    g[0] = Complex64::new(1.0, 0.0);
    g
}

fn freq_response(g: &[Complex64; RF_TAPS]) -> [Complex32; 52] {
    let mut out = [Complex32::new(0.0, 0.0); 52];
    for (i, &k) in SUBCARRIERS.iter().enumerate() {
        let h: Complex64 = g
            .iter()
            .enumerate()
            .map(|(m, c)| c * subcarrier_twiddle(k, m))
            .sum();
        out[i] = Complex32::new(h.re as f32, h.im as f32);
    }
    out
}

impl Radio {
    /// Draw a radio: offsets uniform in ±max, RF chains random if `rf_mismatch`, else ideal.
    /// Always consumes the same amount of randomness, so toggling knobs does not reshuffle other draws.
    pub(crate) fn new<R: Rng>(
        cfo_ppm_max: f64,
        sfo_ppm_max: f64,
        rf_mismatch: bool,
        rng: &mut R,
    ) -> Self {
        let cfo_u: f64 = rng.random_range(-1.0..1.0);
        let sfo_u: f64 = rng.random_range(-1.0..1.0);
        let lo_phase = rng.random_range(0.0..TAU);
        let tx = random_fir(rng);
        let rx = random_fir(rng);
        let (tx_fir, rx_fir) = if rf_mismatch {
            (tx, rx)
        } else {
            (identity(), identity())
        };
        Self {
            cfo_ppm: cfo_u * cfo_ppm_max,
            sfo_ppm: sfo_u * sfo_ppm_max,
            lo_phase,
            tx_freq: freq_response(&tx_fir),
            rx_freq: freq_response(&rx_fir),
            tx_fir,
            rx_fir,
            rx_iq: RxIq {
                dc: Complex64::new(0.0, 0.0),
                gain: 1.0,
                phase_rad: 0.0,
            },
        }
    }
}
