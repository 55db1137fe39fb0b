//! `qwave import`: real-world recordings into an HDF5 trace or a SigMF recording.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};

use crate::capture::import::{
    import_esp32, import_intel5300, import_raw_iq, import_rssi, DecimalMark, ImportSummary,
    Intel5300Options, RawIqFormat,
};

/// `qwave import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Input format.
    #[command(subcommand)]
    pub format: ImportFormat,
}

/// Formats `qwave import` reads.
#[derive(Subcommand, Debug)]
pub enum ImportFormat {
    /// Intel 5300 CSI Tool logs (log_to_file .dat), one per side, paired by bfee_count.
    Intel5300(Intel5300Args),
    /// ESP32-CSI-Tool CSV captures, one per side.
    Esp32(Esp32Args),
    /// RSSI text/CSV logs (value, or seq/time and value), one per side.
    Rssi(RssiArgs),
    /// Raw interleaved IQ into a SigMF recording.
    RawIq(RawIqArgs),
}

/// Options shared by the trace importers.
#[derive(Args, Debug)]
pub struct SidesArgs {
    /// Alice's file (her readings of Bob's probes).
    #[arg(long)]
    pub alice: PathBuf,
    /// Bob's file (his readings of Alice's probes).
    #[arg(long)]
    pub bob: PathBuf,
    /// Output HDF5 trace.
    #[arg(long)]
    pub out: PathBuf,
    /// Carrier frequency, Hz (recorded in the trace; default: from the file, else unknown).
    #[arg(long)]
    pub freq: Option<f64>,
}

/// `qwave import intel5300`.
#[derive(Args, Debug)]
pub struct Intel5300Args {
    /// Input and output files.
    #[command(flatten)]
    pub sides: SidesArgs,
    /// Receive antenna (0 = A, 1 = B, 2 = C) whose CSI is imported.
    #[arg(long, default_value_t = 0)]
    pub rx_antenna: u8,
    /// Transmit stream whose CSI is imported.
    #[arg(long, default_value_t = 0)]
    pub tx_antenna: u8,
    /// seq = bfee_count itself, not its offset from each file's first record.
    #[arg(long)]
    pub absolute_count: bool,
}

/// `qwave import esp32`.
#[derive(Args, Debug)]
pub struct Esp32Args {
    /// Input and output files.
    #[command(flatten)]
    pub sides: SidesArgs,
}

/// `qwave import rssi`.
#[derive(Args, Debug)]
pub struct RssiArgs {
    /// Input and output files.
    #[command(flatten)]
    pub sides: SidesArgs,
    /// ',' is the decimal mark (columns separated by whitespace or ';').
    #[arg(long, conflicts_with = "decimal_point")]
    pub decimal_comma: bool,
    /// '.' is the decimal mark and ',' separates columns (default: decided per line).
    #[arg(long)]
    pub decimal_point: bool,
}

/// Raw IQ sample formats.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum IqFormat {
    /// Signed 8-bit I, Q.
    Ci8,
    /// Signed 16-bit little-endian I, Q.
    Ci16,
    /// Float32 little-endian I, Q.
    Cf32,
}

/// `qwave import raw-iq`.
#[derive(Args, Debug)]
pub struct RawIqArgs {
    /// Raw interleaved IQ file.
    pub input: PathBuf,
    /// Sample format.
    #[arg(long, value_enum)]
    pub format: IqFormat,
    /// Sample rate, samples per second (e.g. 20e6).
    #[arg(long)]
    pub rate: f64,
    /// Carrier frequency, Hz (e.g. 2.412e9).
    #[arg(long)]
    pub freq: Option<f64>,
    /// Output base name (writes BASE.sigmf-meta and BASE.sigmf-data).
    #[arg(long)]
    pub out: PathBuf,
}

fn report(out: &std::path::Path, s: &ImportSummary) {
    eprintln!(
        "{}: {} alice rows, {} bob rows, {} paired exchanges",
        out.display(),
        s.alice_rows,
        s.bob_rows,
        s.pairs
    );
}

/// Runs `qwave import`.
pub fn run(a: ImportArgs) -> Result<()> {
    match a.format {
        ImportFormat::Intel5300(a) => {
            let opts = Intel5300Options {
                rx_antenna: a.rx_antenna,
                tx_antenna: a.tx_antenna,
                absolute_count: a.absolute_count,
                center_frequency_hz: a.sides.freq.unwrap_or(f64::NAN),
            };
            let s = import_intel5300(&a.sides.alice, &a.sides.bob, &a.sides.out, &opts)
                .context("importing Intel 5300 logs")?;
            report(&a.sides.out, &s);
        }
        ImportFormat::Esp32(a) => {
            let s = import_esp32(
                &a.sides.alice,
                &a.sides.bob,
                &a.sides.out,
                a.sides.freq.unwrap_or(f64::NAN),
            )
            .context("importing ESP32 CSV")?;
            report(&a.sides.out, &s);
        }
        ImportFormat::Rssi(a) => {
            let mark = if a.decimal_comma {
                DecimalMark::Comma
            } else if a.decimal_point {
                DecimalMark::Point
            } else {
                DecimalMark::Auto
            };
            let s = import_rssi(
                &a.sides.alice,
                &a.sides.bob,
                &a.sides.out,
                mark,
                a.sides.freq.unwrap_or(f64::NAN),
            )
            .context("importing RSSI logs")?;
            report(&a.sides.out, &s);
        }
        ImportFormat::RawIq(a) => {
            let format = match a.format {
                IqFormat::Ci8 => RawIqFormat::Ci8,
                IqFormat::Ci16 => RawIqFormat::Ci16,
                IqFormat::Cf32 => RawIqFormat::Cf32,
            };
            let n = import_raw_iq(&a.input, format, a.rate, a.freq, &a.out)
                .context("importing raw IQ")?;
            eprintln!(
                "{}.sigmf-{{meta,data}}: {n} samples as {}",
                a.out.display(),
                format.sigmf_datatype()
            );
        }
    }
    Ok(())
}
