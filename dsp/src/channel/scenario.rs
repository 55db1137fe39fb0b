//! Scenario parameters of the reciprocal channel simulator and the named presets.

use super::{ChannelError, MAX_TAPS, SAMPLE_RATE_HZ, SPEED_OF_LIGHT_MPS};

/// Everything that defines a simulated radio environment (Alice, Bob and zero or more Eves).
///
/// Construct one of the presets ([`Scenario::walk`], [`Scenario::static_room`], [`Scenario::vehicle`],
/// or [`Scenario::by_name`]) and adjust fields as needed; [`Scenario::validate`] checks the values.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Preset name (free text for custom scenarios).
    pub name: String,
    /// Carrier frequency in Hz (sets the wavelength, the Doppler and the CFO in Hz).
    pub carrier_hz: f64,
    /// Speed of the moving terminal / scatterers in m/s; max Doppler `f_d = speed / wavelength`.
    pub speed_mps: f64,
    /// RMS delay spread of the exponential power-delay profile in seconds (0 = flat fading, one tap).
    pub rms_delay_spread_s: f64,
    /// Alice/Bob receiver SNR in dB: average received signal power (unit average channel gain times the mean
    /// transmitted burst power) over the noise power in the 20 MHz sampled band.
    pub snr_db: f64,
    /// Probe exchanges per second: Alice's probe `k` is sent at `k / exchange_rate_hz`.
    pub exchange_rate_hz: f64,
    /// Time-division-duplex gap: Bob's probe `k` is sent at `k / exchange_rate_hz + tdd_gap_s`.
    pub tdd_gap_s: f64,
    /// Distance of each eavesdropper from Bob, in metres (empty = no Eve).
    pub eve_distances_m: Vec<f64>,
    /// Per-radio carrier frequency offset is drawn uniformly in `±cfo_ppm_max` ppm of the carrier.
    pub cfo_ppm_max: f64,
    /// Per-radio sampling-clock offset is drawn uniformly in `±sampling_offset_ppm_max` ppm.
    pub sampling_offset_ppm_max: f64,
    /// Non-reciprocal per-radio TX and RX RF responses on (`true`) or ideal flat chains (`false`).
    pub rf_mismatch: bool,
    /// Per-radio receiver DC offset and IQ imbalance on (`true`) or ideal receivers (`false`, every preset).
    /// The impairment is drawn from its own child seed, so toggling it changes nothing else.
    pub iq_imbalance: bool,
    /// Eve's receiver SNR in dB (same definition as `snr_db`; presets use the same value).
    pub eve_snr_db: f64,
    /// Sinusoids per tap in the sum-of-sinusoids Doppler generator (at least 8; presets use 32).
    pub sinusoids_per_tap: usize,
}

impl Scenario {
    /// Pedestrian: 2.4 GHz, 1 m/s, 50 ns rms delay spread, 20 dB SNR, 100 exchanges/s, 1 ms TDD gap,
    /// one Eve at λ/2 from Bob, CFO and sampling offset up to ±10 ppm, RF mismatch on.
    pub fn walk() -> Self {
        let carrier_hz = 2.4e9;
        let wavelength = SPEED_OF_LIGHT_MPS / carrier_hz;
        Self {
            name: "walk".to_owned(),
            carrier_hz,
            speed_mps: 1.0,
            rms_delay_spread_s: 50e-9,
            snr_db: 20.0,
            exchange_rate_hz: 100.0,
            tdd_gap_s: 1e-3,
            eve_distances_m: vec![wavelength / 2.0],
            cfo_ppm_max: 10.0,
            sampling_offset_ppm_max: 10.0,
            rf_mismatch: true,
            iq_imbalance: false,
            eve_snr_db: 20.0,
            sinusoids_per_tap: 32,
        }
    }

    /// Same as [`Scenario::walk`] but nothing moves: the propagation channel never changes.
    pub fn static_room() -> Self {
        Self {
            name: "static".to_owned(),
            speed_mps: 0.0,
            ..Self::walk()
        }
    }

    /// Same as [`Scenario::walk`] but at 10 m/s (f_d ≈ 80 Hz at 2.4 GHz).
    pub fn vehicle() -> Self {
        Self {
            name: "vehicle".to_owned(),
            speed_mps: 10.0,
            ..Self::walk()
        }
    }

    /// Preset by name: `"walk"`, `"static"` or `"vehicle"`.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "walk" => Some(Self::walk()),
            "static" => Some(Self::static_room()),
            "vehicle" => Some(Self::vehicle()),
            _ => None,
        }
    }

    /// Names accepted by [`Scenario::by_name`].
    pub fn names() -> &'static [&'static str] {
        &["walk", "static", "vehicle"]
    }

    /// Carrier wavelength λ = c / f_c in metres.
    pub fn wavelength_m(&self) -> f64 {
        SPEED_OF_LIGHT_MPS / self.carrier_hz
    }

    /// Maximum Doppler shift f_d = v / λ in Hz (Clarke 1968).
    pub fn max_doppler_hz(&self) -> f64 {
        self.speed_mps / self.wavelength_m()
    }

    /// Replace the Eves by eavesdroppers at the given distances from Bob, in wavelengths.
    pub fn with_eves_at_wavelengths(mut self, wavelengths: &[f64]) -> Self {
        let lambda = self.wavelength_m();
        self.eve_distances_m = wavelengths.iter().map(|w| w * lambda).collect();
        self
    }

    /// Time Alice sends probe `k` (seconds): `k / exchange_rate_hz`.
    pub fn alice_probe_time_s(&self, k: u64) -> f64 {
        k as f64 / self.exchange_rate_hz
    }

    /// Time Bob sends probe `k` (seconds): Alice's time plus the TDD gap.
    pub fn bob_probe_time_s(&self, k: u64) -> f64 {
        self.alice_probe_time_s(k) + self.tdd_gap_s
    }

    /// Check every field is finite and in range.
    ///
    /// # Errors
    /// [`ChannelError::InvalidScenario`] naming the first offending field.
    pub fn validate(&self) -> Result<(), ChannelError> {
        fn bad(field: &'static str, reason: &'static str) -> Result<(), ChannelError> {
            Err(ChannelError::InvalidScenario { field, reason })
        }
        if !(self.carrier_hz.is_finite() && self.carrier_hz > 0.0) {
            return bad("carrier_hz", "must be finite and > 0");
        }
        if !(self.speed_mps.is_finite() && self.speed_mps >= 0.0) {
            return bad("speed_mps", "must be finite and >= 0");
        }
        if self.max_doppler_hz() >= SAMPLE_RATE_HZ / 2.0 {
            return bad("speed_mps", "Doppler must stay below half the sample rate");
        }
        if !(self.rms_delay_spread_s.is_finite() && self.rms_delay_spread_s >= 0.0) {
            return bad("rms_delay_spread_s", "must be finite and >= 0");
        }
        // A truncated exponential profile needs ~7 taps per sample of rms spread.
        if self.rms_delay_spread_s * SAMPLE_RATE_HZ * 7.0 > MAX_TAPS as f64 {
            return bad(
                "rms_delay_spread_s",
                "too long for the tap budget (max ~900 ns)",
            );
        }
        if !self.snr_db.is_finite() {
            return bad("snr_db", "must be finite");
        }
        if !self.eve_snr_db.is_finite() {
            return bad("eve_snr_db", "must be finite");
        }
        if !(self.exchange_rate_hz.is_finite() && self.exchange_rate_hz > 0.0) {
            return bad("exchange_rate_hz", "must be finite and > 0");
        }
        if !(self.tdd_gap_s.is_finite() && self.tdd_gap_s >= 0.0) {
            return bad("tdd_gap_s", "must be finite and >= 0");
        }
        if self
            .eve_distances_m
            .iter()
            .any(|d| !(d.is_finite() && *d >= 0.0))
        {
            return bad("eve_distances_m", "each distance must be finite and >= 0");
        }
        if !(self.cfo_ppm_max.is_finite() && (0.0..=1000.0).contains(&self.cfo_ppm_max)) {
            return bad("cfo_ppm_max", "must be in 0..=1000 ppm");
        }
        if !(self.sampling_offset_ppm_max.is_finite()
            && (0.0..=1000.0).contains(&self.sampling_offset_ppm_max))
        {
            return bad("sampling_offset_ppm_max", "must be in 0..=1000 ppm");
        }
        if !(8..=4096).contains(&self.sinusoids_per_tap) {
            return bad("sinusoids_per_tap", "must be in 8..=4096");
        }
        Ok(())
    }
}
