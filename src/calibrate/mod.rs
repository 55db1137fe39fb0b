//! Reciprocity calibration: measure what makes a radio non-reciprocal
//! against a reference radio, store it as `calibration/<serial>.toml`, and
//! apply it in lab runs.
//!
//! ```text
//!  reference R ──probe k──► radio X            X: H_RX = t_R·C·r_X, IQ moments
//!  reference R ◄──probe k── radio X            R: H_XR = t_X·C·r_R, IQ moments
//!        └── DC/IQ correction ─► 802.11 receiver ─► ReciprocityEstimator: c_X/c_R
//! ```
//!
//! With `c = t/r`, `c_A·H_BA = c_B·H_AB` (Guillaud, Slock & Knopp 2005;
//! Shepard et al., Argos, MobiCom 2012): each party multiplies its own
//! channel estimate by its own coefficient, and because every radio is
//! calibrated against the same reference (`c_X/c_R`), any pair becomes
//! consistent. The reference's own file has `c = 1`.
//!
//! In a lab run ([`apply_to_radio`], [`Calibration::correct_csi`]) the DC/IQ
//! correction is applied to every received window before the receiver, and
//! the coefficient to every CSI estimate before feature extraction. The
//! frequency offset is stored for the record only: the receiver estimates
//! and removes the CFO of every probe itself.

pub mod estimate;
pub mod file;

use std::path::PathBuf;

use num_complex::{Complex32, Complex64};
use qwave_dsp::lsig::LSig;
use qwave_dsp::preamble::{try_write_probe, PROBE_LEN};
use qwave_dsp::rx::{Receiver, RxConfig};

pub use estimate::{IqCorrection, IqEstimator, IqImpairment, ReciprocityEstimator, N_SC};
pub use file::Calibration;

use crate::lab::{WINDOW_LEAD, WINDOW_LEN};
use crate::radio::{Radio, RadioConfig, RadioError, RadioEvent, Ticks, Timing};

/// Errors of calibration: measuring, reading and writing files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalibrationError {
    /// A radio failed.
    #[error("radio: {0}")]
    Radio(#[from] RadioError),
    /// A radio cannot take part (no hardware time, different sample rate, …).
    #[error("{0}")]
    Unsupported(String),
    /// Too few exchanges produced a probe both ways.
    #[error("only {got} of {asked} exchanges measured the probe both ways (need at least {need})")]
    TooFewProbes {
        /// Exchanges that worked.
        got: usize,
        /// Exchanges run.
        asked: u64,
        /// Minimum.
        need: usize,
    },
    /// A serial that cannot be a file name.
    #[error("serial `{0}` cannot name a calibration file (use A-Z a-z 0-9 . _ -, at most 64)")]
    BadSerial(String),
    /// A calibration file cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A calibration file is not valid.
    #[error("corrupt calibration file {}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// How a calibration exchange runs.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasureConfig {
    /// Probe exchanges (each: R → X, then X → R).
    pub exchanges: u64,
    /// Time between exchanges, seconds.
    pub interval_s: f64,
    /// Delay of X's probe after R's, seconds.
    pub gap_s: f64,
    /// Start of exchange 0 after the later of the two radios' current times, seconds.
    pub start_delay_s: f64,
}

impl Default for MeasureConfig {
    /// 200 exchanges, 5 ms apart, 1 ms gap, start 10 ms ahead.
    fn default() -> Self {
        Self {
            exchanges: 200,
            interval_s: 5e-3,
            gap_s: 1e-3,
            start_delay_s: 10e-3,
        }
    }
}

/// Fewest usable exchanges for a calibration.
pub const MIN_EXCHANGES: usize = 10;

/// Result of [`measure`]: the calibrated radio's file and the reference's.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// `c_X / c_R`, X's DC/IQ, X's CFO relative to R.
    pub radio: Calibration,
    /// The reference's own file: `c = 1`, R's DC/IQ, CFO 0.
    pub reference: Calibration,
    /// Exchanges that measured the probe both ways.
    pub used: usize,
    /// Windows lost to radio events (late, overflow, …).
    pub damaged_windows: u64,
}

/// Runs the reference exchange between `radio` (X) and `reference` (R)
/// and estimates X's calibration relative to R (module docs). Both radios
/// need hardware time on a common clock (USRPs sharing PPS/10 MHz, or `sim:`
/// radios on one air); they are driven from this thread, bursts padded so
/// that each window is complete when the other radio has sent.
///
/// # Errors
/// [`CalibrationError::Unsupported`] for radios without hardware time or
/// with different sample rates, [`CalibrationError::Radio`] on a radio
/// failure, [`CalibrationError::TooFewProbes`] if fewer than
/// [`MIN_EXCHANGES`] exchanges worked.
pub fn measure(
    radio: &mut dyn Radio,
    reference: &mut dyn Radio,
    cfg: &MeasureConfig,
) -> Result<Measurement, CalibrationError> {
    for r in [&*radio, &*reference] {
        if r.timing() != Timing::Hardware {
            return Err(CalibrationError::Unsupported(format!(
                "{} has no hardware time; calibration needs timed bursts",
                r.describe()
            )));
        }
    }
    let rc: RadioConfig = radio.config().clone();
    let fs = rc.sample_rate_hz;
    if reference.config().sample_rate_hz != fs {
        return Err(CalibrationError::Unsupported(format!(
            "sample rates differ: {fs} and {}",
            reference.config().sample_rate_hz
        )));
    }
    let win = WINDOW_LEN as f64 / fs;
    if !(cfg.gap_s >= win && cfg.interval_s >= cfg.gap_s + 2.0 * win && cfg.exchanges > 0) {
        return Err(CalibrationError::Unsupported(format!(
            "schedule: need exchanges > 0, gap ≥ {win:.2e} s and interval ≥ gap + 2 windows"
        )));
    }
    let now = radio
        .time_now()?
        .unwrap_or(0)
        .max(reference.time_now()?.unwrap_or(0));
    let start = now + (cfg.start_delay_s.max(0.0) * fs).round() as Ticks;
    let ticks = |s: f64| (s * fs).round() as Ticks;

    // Bursts padded to cover the other radio's whole window (the virtual air answers a window only
    // when every transmitter has passed its end; real radios simply send zeros).
    let mut burst = vec![Complex32::new(0.0, 0.0); WINDOW_LEN - WINDOW_LEAD];
    let n = usize::try_from(cfg.exchanges).unwrap_or(usize::MAX);
    let mut at_x: Vec<Vec<Complex32>> = Vec::with_capacity(n);
    let mut at_r: Vec<Vec<Complex32>> = Vec::with_capacity(n);
    let mut damaged = 0u64;
    let mut iq_x = IqEstimator::new();
    let mut iq_r = IqEstimator::new();
    for k in 0..cfg.exchanges {
        let t = start + k * ticks(cfg.interval_s);
        let tg = t + ticks(cfg.gap_s);
        try_write_probe(&LSig::for_probe(k), &mut burst[..PROBE_LEN])
            .map_err(|e| CalibrationError::Unsupported(e.to_string()))?;
        let mut wx = vec![Complex32::new(0.0, 0.0); WINDOW_LEN];
        let mut wr = vec![Complex32::new(0.0, 0.0); WINDOW_LEN];
        reference.transmit_at(t, &burst)?;
        radio.receive_at(t.saturating_sub(WINDOW_LEAD as Ticks), &mut wx)?;
        radio.transmit_at(tg, &burst)?;
        reference.receive_at(tg.saturating_sub(WINDOW_LEAD as Ticks), &mut wr)?;
        let bad_x = drain(radio);
        let bad_r = drain(reference);
        damaged += u64::from(bad_x) + u64::from(bad_r);
        if bad_x || bad_r {
            continue;
        }
        iq_x.add(&wx);
        iq_r.add(&wr);
        at_x.push(wx);
        at_r.push(wr);
    }
    let iq_x = iq_x.finish().unwrap_or_default();
    let iq_r = iq_r.finish().unwrap_or_default();
    let (cx, cr) = (iq_x.correction(), iq_r.correction());

    let mut rx = Receiver::new(RxConfig {
        sample_rate_hz: fs,
        ..RxConfig::default()
    });
    let mut est = ReciprocityEstimator::new();
    let (mut cfo_sum, mut cfo_n) = (0.0, 0usize);
    for (wx, wr) in at_x.iter_mut().zip(at_r.iter_mut()) {
        cx.apply(wx);
        cr.apply(wr);
        let Ok(fx) = rx.receive(wx) else { continue };
        let Ok(fr) = rx.receive(wr) else { continue };
        if est.add(&fr.csi, &fx.csi) {
            // X hears R at f_R − f_X, R hears X at f_X − f_R.
            cfo_sum += (fr.cfo_hz - fx.cfo_hz) / 2.0;
            cfo_n += 1;
        }
    }
    let used = est.pairs();
    let c = match est.finish() {
        Some(c) if used >= MIN_EXCHANGES => c,
        _ => {
            return Err(CalibrationError::TooFewProbes {
                got: used,
                asked: cfg.exchanges,
                need: MIN_EXCHANGES,
            })
        }
    };
    let cfo = if cfo_n > 0 {
        cfo_sum / cfo_n as f64
    } else {
        0.0
    };
    let (sx, sr) = (radio.serial(), reference.serial());
    let one = [Complex64::new(1.0, 0.0); N_SC];
    Ok(Measurement {
        radio: Calibration::new(
            &sx,
            &sr,
            &radio.describe(),
            rc.frequency_hz,
            fs,
            used as u64,
            cfo,
            &iq_x,
            &c,
        ),
        reference: Calibration::new(
            &sr,
            &sr,
            &reference.describe(),
            rc.frequency_hz,
            fs,
            used as u64,
            0.0,
            &iq_r,
            &one,
        ),
        used,
        damaged_windows: damaged,
    })
}

/// Drains a radio's events; `true` if any damaged the last operations.
fn drain(radio: &mut dyn Radio) -> bool {
    let mut any = false;
    while radio.poll_event().is_some() {
        any = true;
    }
    any
}

/// A radio whose receive windows are DC/IQ-corrected before anyone sees
/// them (the lab's receiver, recorders). Everything else passes through.
pub struct CorrectedRadio {
    inner: Box<dyn Radio>,
    correction: IqCorrection,
}

impl CorrectedRadio {
    /// Wraps `inner` with the DC/IQ correction of `cal`.
    pub fn new(inner: Box<dyn Radio>, cal: &Calibration) -> Self {
        Self {
            inner,
            correction: cal.iq().correction(),
        }
    }
}

/// Wraps `radio` so that its received IQ is DC/IQ-corrected per `cal`.
pub fn apply_to_radio(radio: Box<dyn Radio>, cal: &Calibration) -> Box<dyn Radio> {
    Box::new(CorrectedRadio::new(radio, cal))
}

impl Radio for CorrectedRadio {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn serial(&self) -> String {
        self.inner.serial()
    }
    fn configure(&mut self, cfg: &RadioConfig) -> Result<(), RadioError> {
        self.inner.configure(cfg)
    }
    fn config(&self) -> &RadioConfig {
        self.inner.config()
    }
    fn timing(&self) -> Timing {
        self.inner.timing()
    }
    fn time_now(&mut self) -> Result<Option<Ticks>, RadioError> {
        self.inner.time_now()
    }
    fn transmit_at(&mut self, at: Ticks, burst: &[Complex32]) -> Result<(), RadioError> {
        self.inner.transmit_at(at, burst)
    }
    fn receive_at(&mut self, at: Ticks, out: &mut [Complex32]) -> Result<(), RadioError> {
        self.inner.receive_at(at, out)?;
        self.correction.apply(out);
        Ok(())
    }
    fn poll_event(&mut self) -> Option<RadioEvent> {
        self.inner.poll_event()
    }
}
