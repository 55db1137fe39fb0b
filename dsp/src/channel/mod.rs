//! Reciprocal wireless channel simulator: Alice, Bob and eavesdroppers in one deterministic, seeded model.
//!
//! ```text
//!  tx ─► TX RF(from) ─► TDL taps h(t) ─► RX RF(to) ─► sampling offset ─► CFO + LO phase ─► + AWGN ─► out
//! ```
//!
//! * **Multipath:** tapped delay line at the 50 ns sample spacing with an exponential power-delay profile of
//!   the configured rms delay spread, unit total power ([`tdl`]).
//! * **Doppler:** every tap is an independent Clarke/Jakes Rayleigh process made by sum of sinusoids
//!   (Clarke 1968; Jakes 1974; Pop & Beaulieu 2001; Zheng & Xiao 2003), `f_d = speed / λ` (`jakes.rs`).
//! * **Reciprocity:** Alice→Bob and Bob→Alice are the *same* tap processes; probes at different times (the TDD
//!   gap) see them decorrelated by `J0(2π f_d gap)`.
//! * **Eve:** Alice→Eve_j taps are `ρ_j·(Alice→Bob) + √(1−ρ_j²)·(independent Jakes process)` with
//!   `ρ_j = J0(2π d_j/λ)` (Jakes spatial correlation; negative past the first zero at d ≈ 0.383 λ).
//!   Bob→Eve_j is independent. Eve↔Eve links are not modelled ([`ChannelError::UnsupportedLink`]).
//! * **Radios:** per-radio CFO (ppm of carrier) with a random LO phase, sampling-clock offset, and
//!   non-reciprocal smooth TX and RX RF responses (`radio.rs`); independent AWGN per receiver; optionally
//!   (`Scenario::iq_imbalance`, off in every preset) receiver DC offset and IQ imbalance after the noise.
//!
//! Determinism: the same [`Scenario`] and seed give the same channel; the same sequence of
//! [`ChannelSim::propagate`] calls then gives bit-identical outputs.

mod capacity;
mod jakes;
mod radio;
mod scenario;
pub mod tdl;

pub use capacity::{CapacityEstimate, METHOD as CAPACITY_METHOD};
pub use jakes::bessel_j0;
pub use radio::{RxIq, RF_TAPS};
pub use scenario::Scenario;

use jakes::SosBank;
use num_complex::{Complex32, Complex64};
use radio::Radio;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};
use rand_distr::StandardNormal;
use std::f64::consts::TAU;

/// Sample rate of the simulated radios (IEEE 802.11 20 MHz channel), samples/s.
pub const SAMPLE_RATE_HZ: f64 = 20e6;
/// OFDM FFT size (IEEE 802.11-2020 §17.3.2.4).
pub const FFT_LEN: usize = 64;
/// The 52 used subcarrier indices, in the order of every `[Complex32; 52]` here: −26..=−1, 1..=26.
pub const SUBCARRIERS: [i32; 52] = {
    let mut k = [0i32; 52];
    let mut i = 0;
    while i < 52 {
        k[i] = if i < 26 { i as i32 - 26 } else { i as i32 - 25 };
        i += 1;
    }
    k
};
/// Largest number of multipath taps a scenario may need.
pub const MAX_TAPS: usize = 128;
/// Speed of light in m/s.
pub const SPEED_OF_LIGHT_MPS: f64 = 299_792_458.0;

/// `e^{−j2π k m / 64}`: the DFT kernel of subcarrier `k` at delay `m` samples.
pub(crate) fn subcarrier_twiddle(k: i32, m: usize) -> Complex64 {
    Complex64::from_polar(1.0, -TAU * f64::from(k) * m as f64 / FFT_LEN as f64)
}

/// Errors of the channel simulator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChannelError {
    /// A scenario field is out of range.
    #[error("invalid scenario: {field} {reason}")]
    InvalidScenario {
        /// Offending field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// `from` and `to` are the same node.
    #[error("a node cannot propagate to itself ({0:?})")]
    SameNode(Node),
    /// `Node::Eve(index)` with no such Eve.
    #[error("no Eve {index}: the scenario has {eves}")]
    NoSuchEve {
        /// Requested index.
        index: usize,
        /// Number of Eves in the scenario.
        eves: usize,
    },
    /// A link the model does not define (Eve to Eve).
    #[error("link {0:?} -> {1:?} is not modelled")]
    UnsupportedLink(Node, Node),
}

/// A radio in the scenario.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Node {
    /// The base station.
    Alice,
    /// The terminal.
    Bob,
    /// Eavesdropper number `i` (index into [`Scenario::eve_distances_m`]).
    Eve(usize),
}

#[derive(Clone, Copy, Debug)]
enum Link {
    AliceBob,
    AliceEve(usize),
    BobEve(usize),
}

/// The simulator: fixed channel processes and radio impairments drawn from a seed, plus a noise generator.
#[derive(Clone, Debug)]
pub struct ChannelSim {
    scenario: Scenario,
    pdp: Vec<f64>,
    amplitude: Vec<f64>,
    alice_bob: SosBank,
    alice_eve: Vec<SosBank>,
    bob_eve: Vec<SosBank>,
    eve_rho: Vec<f64>,
    /// Radios: 0 Alice, 1 Bob, 2 + i Eve i.
    radios: Vec<Radio>,
    /// `twiddle[i * taps + l]` = e^{−j2π k_i l/64}.
    twiddle: Vec<Complex64>,
    noise_rng: ChaCha8Rng,
    impulse: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

impl ChannelSim {
    /// Build a simulator for `scenario`, drawing all random structure from `seed`.
    ///
    /// # Panics
    /// If the scenario is invalid (see [`Scenario::validate`]); use [`ChannelSim::try_new`] for untrusted input.
    pub fn new(scenario: &Scenario, seed: u64) -> Self {
        match Self::try_new(scenario, seed) {
            Ok(sim) => sim,
            Err(e) => panic!("ChannelSim::new: {e}"),
        }
    }

    /// Fallible [`ChannelSim::new`].
    ///
    /// # Errors
    /// [`ChannelError::InvalidScenario`] if [`Scenario::validate`] fails.
    pub fn try_new(scenario: &Scenario, seed: u64) -> Result<Self, ChannelError> {
        scenario.validate()?;
        let pdp = tdl::exponential_pdp(scenario.rms_delay_spread_s, 1.0 / SAMPLE_RATE_HZ)?;
        let taps = pdp.len();
        let fd = scenario.max_doppler_hz();
        let n_sin = scenario.sinusoids_per_tap;
        // Each component gets its own child seed, so adding Eves or toggling knobs leaves the rest unchanged.
        let mut master = ChaCha20Rng::seed_from_u64(seed);
        let mut child = || ChaCha8Rng::seed_from_u64(master.next_u64());
        let alice_bob = SosBank::new(taps, n_sin, fd, &mut child());
        let radio = |rng: &mut ChaCha8Rng| {
            Radio::new(
                scenario.cfo_ppm_max,
                scenario.sampling_offset_ppm_max,
                scenario.rf_mismatch,
                rng,
            )
        };
        let mut radios = vec![radio(&mut child()), radio(&mut child())];
        let noise_rng = child();
        let lambda = scenario.wavelength_m();
        let (mut alice_eve, mut bob_eve, mut eve_rho) = (Vec::new(), Vec::new(), Vec::new());
        for d in &scenario.eve_distances_m {
            alice_eve.push(SosBank::new(taps, n_sin, fd, &mut child()));
            bob_eve.push(SosBank::new(taps, n_sin, fd, &mut child()));
            radios.push(radio(&mut child()));
            eve_rho.push(bessel_j0(TAU * d / lambda));
        }
        // Drawn last, from its own child seed: every other draw is as before this knob existed.
        let mut iq_rng = child();
        for r in &mut radios {
            r.rx_iq = radio::RxIq::random(&mut iq_rng);
        }
        let twiddle = SUBCARRIERS
            .iter()
            .flat_map(|&k| (0..taps).map(move |l| subcarrier_twiddle(k, l)))
            .collect();
        Ok(Self {
            scenario: scenario.clone(),
            amplitude: pdp.iter().map(|p| p.sqrt()).collect(),
            pdp,
            alice_bob,
            alice_eve,
            bob_eve,
            eve_rho,
            radios,
            twiddle,
            noise_rng,
            impulse: vec![Complex32::new(0.0, 0.0); taps + 2 * (RF_TAPS - 1)],
            scratch: Vec::with_capacity(4096),
        })
    }

    /// The scenario this simulator was built from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Number of eavesdroppers.
    pub fn eves(&self) -> usize {
        self.eve_rho.len()
    }

    /// Number of multipath taps (length of the propagation impulse response).
    pub fn num_taps(&self) -> usize {
        self.pdp.len()
    }

    /// Length of the full impulse response applied by [`ChannelSim::propagate`]
    /// (taps plus the TX and RX RF filters, `num_taps() + 2·(RF_TAPS − 1)`, also when RF mismatch is off).
    pub fn channel_len(&self) -> usize {
        self.impulse.len()
    }

    /// Average power of each tap (exponential PDP, sums to 1), tap `l` at delay `l / SAMPLE_RATE_HZ`.
    pub fn power_delay_profile(&self) -> &[f64] {
        &self.pdp
    }

    /// Spatial correlation ρ = J0(2π d/λ) of Eve `i`'s channel from Alice with Alice→Bob.
    pub fn eve_correlation(&self, i: usize) -> Option<f64> {
        self.eve_rho.get(i).copied()
    }

    fn radio(&self, node: Node) -> Result<&Radio, ChannelError> {
        let idx = match node {
            Node::Alice => 0,
            Node::Bob => 1,
            Node::Eve(i) => 2 + i,
        };
        self.radios.get(idx).ok_or(ChannelError::NoSuchEve {
            index: idx.saturating_sub(2),
            eves: self.eves(),
        })
    }

    fn link(&self, from: Node, to: Node) -> Result<Link, ChannelError> {
        self.radio(from)?;
        self.radio(to)?;
        match (from, to) {
            _ if from == to => Err(ChannelError::SameNode(from)),
            (Node::Alice, Node::Bob) | (Node::Bob, Node::Alice) => Ok(Link::AliceBob),
            (Node::Alice, Node::Eve(i)) | (Node::Eve(i), Node::Alice) => Ok(Link::AliceEve(i)),
            (Node::Bob, Node::Eve(i)) | (Node::Eve(i), Node::Bob) => Ok(Link::BobEve(i)),
            _ => Err(ChannelError::UnsupportedLink(from, to)),
        }
    }

    fn tap(&self, link: Link, l: usize, t: f64) -> Complex64 {
        let h = match link {
            Link::AliceBob => self.alice_bob.eval(l, t),
            Link::AliceEve(i) => {
                let rho = self.eve_rho[i];
                self.alice_bob.eval(l, t) * rho
                    + self.alice_eve[i].eval(l, t) * (1.0 - rho * rho).sqrt()
            }
            Link::BobEve(i) => self.bob_eve[i].eval(l, t),
        };
        h * self.amplitude[l]
    }

    /// Propagation taps (no RF responses) of the link `from`–`to` at time `t` into `out[..num_taps()]`;
    /// returns the number of taps written. Reciprocal: `from`/`to` order does not matter.
    ///
    /// # Errors
    /// Invalid node pair (see [`ChannelError`]), or `out` shorter than [`ChannelSim::num_taps`]
    /// (reported as [`ChannelError::InvalidScenario`] on field `out`).
    pub fn tap_gains(
        &self,
        from: Node,
        to: Node,
        t: f64,
        out: &mut [Complex32],
    ) -> Result<usize, ChannelError> {
        let link = self.link(from, to)?;
        let taps = self.num_taps();
        if out.len() < taps {
            return Err(ChannelError::InvalidScenario {
                field: "out",
                reason: "shorter than num_taps()",
            });
        }
        for (l, o) in out[..taps].iter_mut().enumerate() {
            let h = self.tap(link, l, t);
            *o = Complex32::new(h.re as f32, h.im as f32);
        }
        Ok(taps)
    }

    /// True propagation frequency response on the 52 used subcarriers at time `t` (no RF responses, no noise).
    ///
    /// # Panics
    /// On an invalid node pair; [`ChannelSim::try_true_response`] returns the error instead.
    pub fn true_response(&self, from: Node, to: Node, t: f64) -> [Complex32; 52] {
        match self.try_true_response(from, to, t) {
            Ok(h) => h,
            Err(e) => panic!("ChannelSim::true_response: {e}"),
        }
    }

    /// Fallible [`ChannelSim::true_response`].
    ///
    /// # Errors
    /// Invalid node pair (see [`ChannelError`]).
    pub fn try_true_response(
        &self,
        from: Node,
        to: Node,
        t: f64,
    ) -> Result<[Complex32; 52], ChannelError> {
        let link = self.link(from, to)?;
        let taps = self.num_taps();
        let mut h = [Complex64::new(0.0, 0.0); MAX_TAPS];
        for (l, hl) in h[..taps].iter_mut().enumerate() {
            *hl = self.tap(link, l, t);
        }
        let mut out = [Complex32::new(0.0, 0.0); 52];
        for (i, o) in out.iter_mut().enumerate() {
            let tw = &self.twiddle[i * taps..(i + 1) * taps];
            let v: Complex64 = h[..taps].iter().zip(tw).map(|(a, b)| a * b).sum();
            *o = Complex32::new(v.re as f32, v.im as f32);
        }
        Ok(out)
    }

    /// What a perfect receiver (ideal synchronisation: no CFO, LO phase or timing error) measures on the
    /// 52 used subcarriers: `RX_to(k) · H(k, t) · TX_from(k)`, including the non-reciprocal RF responses.
    ///
    /// # Panics
    /// On an invalid node pair; [`ChannelSim::try_measured_response`] returns the error instead.
    pub fn measured_response(&self, from: Node, to: Node, t: f64) -> [Complex32; 52] {
        match self.try_measured_response(from, to, t) {
            Ok(h) => h,
            Err(e) => panic!("ChannelSim::measured_response: {e}"),
        }
    }

    /// Fallible [`ChannelSim::measured_response`].
    ///
    /// # Errors
    /// Invalid node pair (see [`ChannelError`]).
    pub fn try_measured_response(
        &self,
        from: Node,
        to: Node,
        t: f64,
    ) -> Result<[Complex32; 52], ChannelError> {
        let mut h = self.try_true_response(from, to, t)?;
        let (tx, rx) = (&self.radio(from)?.tx_freq, &self.radio(to)?.rx_freq);
        for ((v, a), b) in h.iter_mut().zip(tx).zip(rx) {
            *v *= a * b;
        }
        Ok(h)
    }

    /// Receiver DC offset and IQ imbalance of `node` (drawn whatever the scenario; applied by
    /// [`ChannelSim::propagate`] only when [`Scenario::iq_imbalance`] is on).
    ///
    /// # Errors
    /// Unknown Eve index.
    pub fn receiver_iq(&self, node: Node) -> Result<RxIq, ChannelError> {
        Ok(self.radio(node)?.rx_iq)
    }

    /// Carrier frequency offset in Hz seen by `to` when receiving from `from`: `f_c·(ε_from − ε_to)·1e−6`.
    ///
    /// # Errors
    /// Unknown Eve index.
    pub fn cfo_hz(&self, from: Node, to: Node) -> Result<f64, ChannelError> {
        let (a, b) = (self.radio(from)?, self.radio(to)?);
        Ok(self.scenario.carrier_hz * (a.cfo_ppm - b.cfo_ppm) * 1e-6)
    }

    /// Ratio of transmit to receive sample clock minus one, in ppm: receive sample `n` of a burst lands at
    /// transmit-sample position `n·(1 + δ)`.
    ///
    /// # Errors
    /// Unknown Eve index.
    pub fn sampling_offset_ppm(&self, from: Node, to: Node) -> Result<f64, ChannelError> {
        let (a, b) = (self.radio(from)?, self.radio(to)?);
        Ok(((1.0 + a.sfo_ppm * 1e-6) / (1.0 + b.sfo_ppm * 1e-6) - 1.0) * 1e6)
    }

    /// Propagate a burst from `from` to `to` sent at time `t` seconds.
    ///
    /// `out` is cleared and filled with `lead` noise samples, the received burst
    /// (`tx.len() + channel_len() − 1` samples) and `trail` noise samples. Applied in order: TX RF response of
    /// `from`, multipath taps evaluated at `t` and held over the burst, RX RF response of `to`, sampling-clock
    /// offset (cubic Lagrange interpolation, burst start on the sample grid), carrier offset
    /// `e^{j(2π Δf (t + n/f_s) + φ_from − φ_to)}`, and complex AWGN of power `P_tx / SNR` on every sample,
    /// `P_tx` being the mean power of `tx` (1 if `tx` is silent). Eve receivers use `eve_snr_db`.
    /// Allocates only if `out` (or the internal scratch, 4096 samples initially) lacks capacity.
    ///
    /// # Panics
    /// On an invalid node pair; [`ChannelSim::try_propagate`] returns the error instead.
    #[allow(clippy::too_many_arguments)] // signature fixed by the integration contract
    pub fn propagate(
        &mut self,
        from: Node,
        to: Node,
        t: f64,
        tx: &[Complex32],
        lead: usize,
        trail: usize,
        out: &mut Vec<Complex32>,
    ) {
        if let Err(e) = self.try_propagate(from, to, t, tx, lead, trail, out) {
            panic!("ChannelSim::propagate: {e}");
        }
    }

    /// Fallible [`ChannelSim::propagate`]; on error `out` is left empty.
    ///
    /// # Errors
    /// Invalid node pair (see [`ChannelError`]).
    #[allow(clippy::too_many_arguments)]
    pub fn try_propagate(
        &mut self,
        from: Node,
        to: Node,
        t: f64,
        tx: &[Complex32],
        lead: usize,
        trail: usize,
        out: &mut Vec<Complex32>,
    ) -> Result<(), ChannelError> {
        out.clear();
        let link = self.link(from, to)?;
        let (rf_tx, rf_rx) = (self.radio(from)?.tx_fir, self.radio(to)?.rx_fir);
        let cfo = self.cfo_hz(from, to)?;
        let ratio = 1.0 + self.sampling_offset_ppm(from, to)? * 1e-6;
        let phase0 = self.radio(from)?.lo_phase - self.radio(to)?.lo_phase;
        let snr_db = if matches!(to, Node::Eve(_)) {
            self.scenario.eve_snr_db
        } else {
            self.scenario.snr_db
        };

        // Combined impulse response tx_rf * taps * rx_rf.
        let taps = self.num_taps();
        let mut combined = [Complex64::new(0.0, 0.0); MAX_TAPS + 2 * (RF_TAPS - 1)];
        for l in 0..taps {
            let h = self.tap(link, l, t);
            for (a, ga) in rf_tx.iter().enumerate() {
                for (b, gb) in rf_rx.iter().enumerate() {
                    combined[l + a + b] += h * ga * gb;
                }
            }
        }
        for (dst, src) in self.impulse.iter_mut().zip(&combined) {
            *dst = Complex32::new(src.re as f32, src.im as f32);
        }

        // Linear convolution into scratch.
        let n_rx = if tx.is_empty() {
            0
        } else {
            tx.len() + self.impulse.len() - 1
        };
        self.scratch.clear();
        self.scratch.resize(n_rx, Complex32::new(0.0, 0.0));
        for (i, &x) in tx.iter().enumerate() {
            for (y, &g) in self.scratch[i..].iter_mut().zip(&self.impulse) {
                *y += x * g;
            }
        }

        // Sampling offset: receive sample n sits at transmit position n·ratio.
        out.resize(lead + n_rx + trail, Complex32::new(0.0, 0.0));
        let burst = &mut out[lead..lead + n_rx];
        if ratio == 1.0 {
            burst.copy_from_slice(&self.scratch);
        } else {
            let y = &self.scratch;
            let at = |i: i64| -> Complex32 {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| y.get(i).copied())
                    .unwrap_or_default()
            };
            for (n, o) in burst.iter_mut().enumerate() {
                let pos = n as f64 * ratio;
                let i = pos.floor();
                let mu = (pos - i) as f32;
                let i = i as i64;
                // Cubic Lagrange weights on y[i−1], y[i], y[i+1], y[i+2].
                let w0 = -mu * (mu - 1.0) * (mu - 2.0) / 6.0;
                let w1 = (mu + 1.0) * (mu - 1.0) * (mu - 2.0) / 2.0;
                let w2 = -(mu + 1.0) * mu * (mu - 2.0) / 2.0;
                let w3 = (mu + 1.0) * mu * (mu - 1.0) / 6.0;
                *o = at(i - 1) * w0 + at(i) * w1 + at(i + 1) * w2 + at(i + 2) * w3;
            }
        }

        // Carrier offset and LO phase difference.
        let start = (TAU * cfo * t + phase0).rem_euclid(TAU);
        let step = Complex64::from_polar(
            1.0,
            TAU * cfo / (SAMPLE_RATE_HZ * (1.0 + self.radio(to)?.sfo_ppm * 1e-6)),
        );
        let mut rot = Complex64::from_polar(1.0, start);
        for o in burst.iter_mut() {
            let r = Complex32::new(rot.re as f32, rot.im as f32);
            *o *= r;
            rot *= step;
        }

        // AWGN relative to the average received power (unit channel gain × mean tx power).
        let p_tx = if tx.is_empty() {
            0.0
        } else {
            tx.iter().map(|x| f64::from(x.norm_sqr())).sum::<f64>() / tx.len() as f64
        };
        let p_ref = if p_tx > 0.0 { p_tx } else { 1.0 };
        let sigma = (p_ref / 10f64.powf(snr_db / 10.0) / 2.0).sqrt();
        for o in out.iter_mut() {
            let re: f64 = self.noise_rng.sample(StandardNormal);
            let im: f64 = self.noise_rng.sample(StandardNormal);
            *o += Complex32::new((re * sigma) as f32, (im * sigma) as f32);
        }
        if self.scenario.iq_imbalance {
            self.radio(to)?.rx_iq.apply(out);
        }
        Ok(())
    }

    /// Secret-key-rate estimate (bit/s) of this scenario: upper-bound-style `I(A;B|E)` of the Gaussian source
    /// model over frequency eigenmodes × independent time samples; see [`CapacityEstimate`] and the
    /// `capacity` module documentation for the method and its assumptions.
    pub fn capacity(&self) -> CapacityEstimate {
        let lambda = self.scenario.wavelength_m();
        let eves: Vec<f64> = self
            .scenario
            .eve_distances_m
            .iter()
            .map(|d| d / lambda)
            .collect();
        capacity::estimate(&capacity::CapacityInputs {
            pdp: &self.pdp,
            snr_db: self.scenario.snr_db,
            eve_snr_db: self.scenario.eve_snr_db,
            doppler_hz: self.scenario.max_doppler_hz(),
            exchange_rate_hz: self.scenario.exchange_rate_hz,
            tdd_gap_s: self.scenario.tdd_gap_s,
            eve_distances_wavelengths: &eves,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcarrier_order() {
        assert_eq!(SUBCARRIERS[0], -26);
        assert_eq!(SUBCARRIERS[25], -1);
        assert_eq!(SUBCARRIERS[26], 1);
        assert_eq!(SUBCARRIERS[51], 26);
    }

    #[test]
    fn bad_links_are_errors() {
        let sim = ChannelSim::new(&Scenario::walk(), 1);
        assert_eq!(
            sim.try_true_response(Node::Bob, Node::Bob, 0.0),
            Err(ChannelError::SameNode(Node::Bob))
        );
        assert!(matches!(
            sim.try_true_response(Node::Alice, Node::Eve(3), 0.0),
            Err(ChannelError::NoSuchEve { index: 3, eves: 1 })
        ));
        let two = Scenario::walk().with_eves_at_wavelengths(&[0.5, 1.0]);
        let sim = ChannelSim::new(&two, 1);
        assert!(matches!(
            sim.try_true_response(Node::Eve(0), Node::Eve(1), 0.0),
            Err(ChannelError::UnsupportedLink(..))
        ));
        let bad = Scenario {
            snr_db: f64::NAN,
            ..Scenario::walk()
        };
        assert!(matches!(
            ChannelSim::try_new(&bad, 1),
            Err(ChannelError::InvalidScenario {
                field: "snr_db",
                ..
            })
        ));
    }

    #[test]
    fn reciprocal_and_rf_free_when_mismatch_off() {
        let sc = Scenario {
            rf_mismatch: false,
            ..Scenario::walk()
        };
        let sim = ChannelSim::new(&sc, 5);
        let ab = sim.true_response(Node::Alice, Node::Bob, 0.3);
        assert_eq!(ab, sim.true_response(Node::Bob, Node::Alice, 0.3));
        assert_eq!(ab, sim.measured_response(Node::Bob, Node::Alice, 0.3));
        let sim = ChannelSim::new(&Scenario::walk(), 5);
        assert_ne!(
            sim.measured_response(Node::Alice, Node::Bob, 0.3),
            sim.measured_response(Node::Bob, Node::Alice, 0.3)
        );
    }
}
