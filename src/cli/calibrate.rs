//! `qwave calibrate`: reciprocity calibration of a radio against a reference
//! radio; writes `<dir>/<serial>.toml` for both.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::calibrate::{self, MeasureConfig};
use crate::radio::{self, RadioConfig};

/// `qwave calibrate`.
#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// The radio to calibrate: `sim:air=HOST:PORT,node=NAME[,serial=ID]` or
    /// SoapySDR args (`driver=uhd,serial=…,clock=external,time=pps`; needs
    /// the `soapy` feature).
    #[arg(long)]
    pub radio: String,
    /// The reference radio every radio of the lab is calibrated against
    /// (same syntax). Its own file (`c = 1`) is written too.
    #[arg(long)]
    pub reference: String,
    /// Directory of the calibration files.
    #[arg(long, default_value = "calibration")]
    pub out: PathBuf,
    /// Probe exchanges to average over.
    #[arg(long, default_value_t = 200)]
    pub exchanges: u64,
    /// Time between exchanges, seconds.
    #[arg(long, default_value_t = 5e-3)]
    pub interval: f64,
    /// Delay of the radio's probe after the reference's, seconds.
    #[arg(long, default_value_t = 1e-3)]
    pub gap: f64,
    /// Start of exchange 0 after the radios' current time, seconds
    /// (hardware: leave time for setup, e.g. 1).
    #[arg(long, default_value_t = 0.01)]
    pub start_delay: f64,
    /// Carrier frequency, Hz (sim radios: the air's carrier).
    #[arg(long)]
    pub frequency: Option<f64>,
    /// Transmit gain of both radios, dB.
    #[arg(long, default_value_t = 0.0)]
    pub tx_gain: f64,
    /// Receive gain of both radios, dB.
    #[arg(long, default_value_t = 0.0)]
    pub rx_gain: f64,
    /// Print one JSON object (both files' paths and summary) on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs the calibration and writes both files.
pub fn run(a: CalibrateArgs) -> Result<()> {
    let mut x = radio::open(&a.radio).with_context(|| format!("opening radio `{}`", a.radio))?;
    let mut r = radio::open(&a.reference)
        .with_context(|| format!("opening reference `{}`", a.reference))?;
    for dev in [&mut x, &mut r] {
        let mut rc = RadioConfig {
            tx_gain_db: a.tx_gain,
            rx_gain_db: a.rx_gain,
            ..dev.config().clone()
        };
        if let Some(f) = a.frequency {
            rc.frequency_hz = f;
        }
        dev.configure(&rc)
            .with_context(|| format!("configuring {}", dev.describe()))?;
    }
    eprintln!(
        "calibrate: {} (serial {}) against reference {} (serial {}), {} exchanges",
        x.describe(),
        x.serial(),
        r.describe(),
        r.serial(),
        a.exchanges
    );
    let m = calibrate::measure(
        x.as_mut(),
        r.as_mut(),
        &MeasureConfig {
            exchanges: a.exchanges,
            interval_s: a.interval,
            gap_s: a.gap,
            start_delay_s: a.start_delay,
        },
    )?;
    let px = m.radio.save(&a.out)?;
    let pr = m.reference.save(&a.out)?;
    let c = m.radio.coefficients();
    let db: Vec<f32> = c.iter().map(|v| 20.0 * v.norm().log10()).collect();
    let deg: Vec<f32> = c.iter().map(|v| v.arg().to_degrees()).collect();
    let span = |v: &[f32]| {
        v.iter().copied().fold(f32::MIN, f32::max) - v.iter().copied().fold(f32::MAX, f32::min)
    };
    if a.json {
        let v = serde_json::json!({
            "radio_file": px,
            "reference_file": pr,
            "serial": m.radio.serial,
            "reference_serial": m.reference.serial,
            "exchanges_used": m.used,
            "damaged_windows": m.damaged_windows,
            "cfo_hz": m.radio.cfo_hz,
            "gain_ripple_db": span(&db),
            "phase_ripple_deg": span(&deg),
            "iq_gain": m.radio.iq_gain,
            "iq_phase_rad": m.radio.iq_phase_rad,
            "dc": [m.radio.dc_re, m.radio.dc_im],
        });
        println!("{v}");
    } else {
        println!(
            "calibrated {} against {} over {} exchanges: c ripple {:.2} dB / {:.1}°, CFO {:+.1} Hz, \
             IQ gain {:.4} phase {:+.4} rad, DC {:+.4}{:+.4}j",
            m.radio.serial,
            m.reference.serial,
            m.used,
            span(&db),
            span(&deg),
            m.radio.cfo_hz,
            m.radio.iq_gain,
            m.radio.iq_phase_rad,
            m.radio.dc_re,
            m.radio.dc_im
        );
        println!("wrote {} and {}", px.display(), pr.display());
    }
    Ok(())
}
