//! The qwave channel probe: an 802.11 legacy preamble plus L-SIG, IEEE 802.11-2020 §17.3.3
//! (L-STF: ten 16-sample short symbols; L-LTF: 32-sample GI2 and two 64-sample long symbols)
//! and §17.3.4 (L-SIG: 16-sample CP + one BPSK symbol with pilots per §17.3.5.10, polarity p₀ = 1).
//! No time-domain windowing. Each field has mean power 1 per sample (see [`crate::ofdm`]).

use crate::lsig::{LSig, LSigError};
use crate::ofdm::{
    self, l_ltf_time, l_stf_time, subcarrier_to_bin, CP_LEN, DATA_SUBCARRIERS, FFT_LEN,
    PILOT_SUBCARRIERS, PILOT_VALUES,
};
use num_complex::Complex32;

/// L-STF length in samples (8 µs).
pub const STF_LEN: usize = 160;
/// L-LTF length in samples (8 µs: GI2 + 2 long symbols).
pub const LTF_LEN: usize = 160;
/// Length of the L-LTF double guard interval GI2.
pub const GI2_LEN: usize = 32;
/// L-SIG length in samples (CP + symbol, 4 µs).
pub const SIG_LEN: usize = CP_LEN + FFT_LEN;
/// Total probe length in samples: 160 L-STF + 160 L-LTF + 80 L-SIG (20 µs at 20 MS/s).
pub const PROBE_LEN: usize = 400;
/// Offset of the first long symbol (after GI2) from the probe start.
pub const LTF_SYMBOL_OFFSET: usize = STF_LEN + GI2_LEN;
/// Offset of the L-SIG symbol's FFT window (after its CP) from the first long symbol.
pub const SIG_FROM_LTF: usize = 2 * FFT_LEN + CP_LEN;

/// Errors of probe generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PreambleError {
    /// The output buffer is not [`PROBE_LEN`] samples.
    #[error("probe buffer must be {PROBE_LEN} samples, got {0}")]
    BufferLength(usize),
    /// The L-SIG content is invalid.
    #[error(transparent)]
    LSig(#[from] LSigError),
}

/// Writes the probe for `sig` into `out` (exactly [`PROBE_LEN`] samples). No allocation.
///
/// # Errors
/// [`PreambleError::BufferLength`] or [`PreambleError::LSig`] (unsupported rate, LENGTH > 4095).
pub fn try_write_probe(sig: &LSig, out: &mut [Complex32]) -> Result<(), PreambleError> {
    if out.len() != PROBE_LEN {
        return Err(PreambleError::BufferLength(out.len()));
    }
    let coded = sig.coded_bits()?;
    let stf = l_stf_time();
    let ltf = l_ltf_time();
    for (n, o) in out[..STF_LEN].iter_mut().enumerate() {
        *o = stf[n % FFT_LEN];
    }
    for (n, o) in out[STF_LEN..STF_LEN + LTF_LEN].iter_mut().enumerate() {
        *o = ltf[(n + FFT_LEN - GI2_LEN) % FFT_LEN];
    }
    let mut bins = [Complex32::new(0.0, 0.0); FFT_LEN];
    for (&k, &c) in DATA_SUBCARRIERS.iter().zip(coded.iter()) {
        bins[subcarrier_to_bin(k)] = Complex32::new(if c == 1 { 1.0 } else { -1.0 }, 0.0);
    }
    for (&k, &p) in PILOT_SUBCARRIERS.iter().zip(PILOT_VALUES.iter()) {
        bins[subcarrier_to_bin(k)] = Complex32::new(p, 0.0);
    }
    let mut sym = [Complex32::new(0.0, 0.0); FFT_LEN];
    ofdm::symbol_from_bins(&bins, &mut sym);
    let sig_out = &mut out[STF_LEN + LTF_LEN..];
    for (n, o) in sig_out.iter_mut().enumerate() {
        *o = sym[(n + FFT_LEN - CP_LEN) % FFT_LEN];
    }
    Ok(())
}

/// Writes the probe for `sig` into `out`; see [`try_write_probe`].
///
/// # Panics
/// If `out.len() != PROBE_LEN` or `sig` is invalid (rate not in Table 17-6, LENGTH > 4095);
/// use [`try_write_probe`] for a typed error. [`LSig::for_probe`] is always valid.
pub fn write_probe(sig: &LSig, out: &mut [Complex32]) {
    if let Err(e) = try_write_probe(sig, out) {
        panic!("write_probe: {e}");
    }
}

/// Allocates and returns the probe waveform for `sig` ([`PROBE_LEN`] samples, mean power ≈ 1).
///
/// # Panics
/// If `sig` is invalid; see [`write_probe`].
pub fn probe_waveform(sig: &LSig) -> Vec<Complex32> {
    let mut v = vec![Complex32::new(0.0, 0.0); PROBE_LEN];
    write_probe(sig, &mut v);
    v
}
