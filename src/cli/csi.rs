//! `qwave csi`: the 802.11 receiver over an IQ recording.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use num_complex::Complex32;
use qwave_dsp::rx::{refine_cfo, Frame, Receiver, RxConfig};
use serde::Serialize;

use super::existing;
use crate::capture::{self, SigmfDatatype};

/// Sample format of a raw recording.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Datatype {
    /// Interleaved little-endian int16 I/Q.
    #[value(name = "ci16_le")]
    Ci16Le,
    /// Interleaved little-endian float32 I/Q.
    #[value(name = "cf32_le")]
    Cf32Le,
}

/// `qwave csi`.
#[derive(Args, Debug)]
pub struct CsiArgs {
    /// SigMF recording (.sigmf-meta, .sigmf-data or their base name), or raw IQ with --datatype.
    pub file: PathBuf,
    /// Raw interleaved IQ of this type (no SigMF metadata).
    #[arg(long)]
    pub datatype: Option<Datatype>,
    /// Sample rate of a raw recording, Hz (must be 20 MS/s for 802.11 20 MHz).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Print one JSON array of frames.
    #[arg(long)]
    pub json: bool,
}

/// One detected frame, as listed.
#[derive(Serialize, Debug)]
pub struct FrameInfo {
    /// First L-STF sample.
    pub sample: usize,
    /// Carrier frequency offset, Hz: the pilot-tracked estimate over the whole frame when the
    /// frame lies in the recording and its L-SIG gives its duration, else `cfo_preamble_hz`.
    pub cfo_hz: f64,
    /// Carrier frequency offset from the preamble alone (L-STF/L-LTF), Hz.
    pub cfo_preamble_hz: f64,
    /// SNR from the two L-LTF symbols, dB.
    pub snr_db: f32,
    /// L-SIG rate, Mb/s (when it decodes).
    pub rate_mbps: Option<u8>,
    /// L-SIG length, bytes (when it decodes).
    pub length: Option<u16>,
    /// Parity and tail check.
    pub lsig_ok: bool,
    /// Decoding error, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lsig_error: Option<String>,
}

impl FrameInfo {
    /// Describes `f`, found in `iq` by a receiver running at `sample_rate_hz`.
    pub fn new(iq: &[Complex32], f: &Frame, sample_rate_hz: f64) -> Self {
        Self {
            sample: f.start,
            cfo_hz: refine_cfo(iq, f, sample_rate_hz).unwrap_or(f.cfo_hz),
            cfo_preamble_hz: f.cfo_hz,
            snr_db: f.snr_db,
            rate_mbps: f.lsig.as_ref().ok().map(|s| s.rate_mbps),
            length: f.lsig.as_ref().ok().map(|s| s.length),
            lsig_ok: f.lsig.is_ok(),
            lsig_error: f.lsig.as_ref().err().map(|e| e.to_string()),
        }
    }
}

/// Runs the receiver over a file.
pub fn run(a: CsiArgs) -> Result<()> {
    let (samples, rate) = match a.datatype {
        Some(dt) => {
            existing(&a.file)?;
            let Some(rate) = a.rate else {
                bail!("--rate HZ is required with --datatype (raw IQ carries no sample rate)");
            };
            let dt = match dt {
                Datatype::Ci16Le => SigmfDatatype::Ci16Le,
                Datatype::Cf32Le => SigmfDatatype::Cf32Le,
            };
            (capture::read_raw_iq(&a.file, dt)?, rate)
        }
        None => {
            let (meta, samples) = capture::read_sigmf(&a.file)?;
            (samples, meta.sample_rate)
        }
    };
    if (rate - qwave_dsp::ofdm::SAMPLE_RATE_HZ).abs() > 1.0 {
        bail!(
            "sample rate {rate} Hz: the receiver needs {} Hz (802.11 20 MHz channel)",
            qwave_dsp::ofdm::SAMPLE_RATE_HZ
        );
    }
    let mut rx = Receiver::new(RxConfig::default());
    let mut frames = Vec::new();
    rx.scan(&samples, &mut frames);
    let fs = rx.config().sample_rate_hz;
    let infos: Vec<FrameInfo> = frames
        .iter()
        .map(|f| FrameInfo::new(&samples, f, fs))
        .collect();
    if a.json {
        println!("{}", serde_json::to_string(&infos)?);
    } else {
        println!(
            "{:>10}  {:>10}  {:>13}  {:>7}  {:>5}  {:>6}  L-SIG",
            "sample", "CFO (Hz)", "preamble (Hz)", "SNR dB", "rate", "length"
        );
        for f in &infos {
            println!(
                "{:>10}  {:>10.0}  {:>13.0}  {:>7.1}  {:>5}  {:>6}  {}",
                f.sample,
                f.cfo_hz,
                f.cfo_preamble_hz,
                f.snr_db,
                f.rate_mbps.map_or("-".into(), |r| r.to_string()),
                f.length.map_or("-".into(), |l| l.to_string()),
                f.lsig_error.as_deref().unwrap_or("ok")
            );
        }
        eprintln!(
            "{} frames, {} with valid L-SIG, {} samples ({:.2} ms)",
            infos.len(),
            infos.iter().filter(|f| f.lsig_ok).count(),
            samples.len(),
            samples.len() as f64 / rate * 1e3
        );
    }
    Ok(())
}
