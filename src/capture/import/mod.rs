//! Importers: real-world recordings into qwave's fixed formats.
//!
//! ```text
//!  Intel 5300 CSI Tool .dat (one per side) ──► intel5300.rs ─┐
//!  ESP32-CSI-Tool CSV (one per side)       ──► esp32.rs     ─┼─► HDF5 trace (/alice, /bob)
//!  two-column RSSI text/CSV (one per side) ──► rssi.rs      ─┘
//!  raw interleaved IQ (ci8/ci16/cf32)      ──► rawiq.rs ──► SigMF pair
//! ```
//!
//! Every parser works on bytes or text in memory and returns an
//! [`ImportError`] naming the 1-based line (text formats) or the 0-based byte
//! offset (binary formats) of the first problem; none panics on any input
//! (proptests in `tests/capture_import.rs`, fuzz targets `import_*`).

pub mod esp32;
pub mod intel5300;
pub mod rawiq;
pub mod rssi;

use std::path::{Path, PathBuf};

use super::CaptureError;

pub use esp32::{esp32_to_trace, import_esp32, parse_esp32_csv, Esp32Row, ESP32_LLTF_SUBCARRIERS};
pub use intel5300::{
    import_intel5300, intel5300_subcarriers, intel5300_to_trace, parse_intel5300_log, Bfee,
    Intel5300Options,
};
pub use rawiq::{decode_raw_iq, import_raw_iq, RawIqFormat};
pub use rssi::{
    import_rssi, parse_rssi_log, parse_rssi_text, rssi_logs_to_trace, rssi_pair_to_trace,
    DecimalMark, RssiLog,
};

/// Errors of the importers: each names where in the input the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A text input is malformed at a line.
    #[error("line {line}: {what}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// A binary input is malformed at a byte offset.
    #[error("byte {offset}: {what}")]
    Byte {
        /// 0-based byte offset from the start of the file.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The problem `source` was found in the file `path`.
    #[error("{}: {source}", path.display())]
    File {
        /// File concerned.
        path: PathBuf,
        /// The problem, with its line or byte.
        #[source]
        source: Box<ImportError>,
    },
    /// The two sides cannot be combined into one trace (e.g. different subcarrier sets).
    #[error("pairing: {0}")]
    Pairing(String),
    /// An option is out of range (e.g. an antenna that no record has).
    #[error("option: {0}")]
    Option(String),
    /// Reading the input or writing the output failed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

impl ImportError {
    /// Attaches the file a [`ImportError::Line`] or [`ImportError::Byte`] was
    /// found in; other errors (which name their file or none) are returned as they are.
    pub fn in_file(self, path: &Path) -> Self {
        match self {
            e @ (ImportError::Line { .. } | ImportError::Byte { .. }) => ImportError::File {
                path: path.to_path_buf(),
                source: Box::new(e),
            },
            e => e,
        }
    }

    /// The 1-based line of a text error (looking through [`ImportError::File`]).
    pub fn line(&self) -> Option<usize> {
        match self {
            ImportError::Line { line, .. } => Some(*line),
            ImportError::File { source, .. } => source.line(),
            _ => None,
        }
    }

    /// The 0-based byte offset of a binary error (looking through [`ImportError::File`]).
    pub fn byte(&self) -> Option<u64> {
        match self {
            ImportError::Byte { offset, .. } => Some(*offset),
            ImportError::File { source, .. } => source.byte(),
            _ => None,
        }
    }
}

/// What an import wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSummary {
    /// Rows written for `/alice`.
    pub alice_rows: usize,
    /// Rows written for `/bob`.
    pub bob_rows: usize,
    /// Exchanges present on both sides (equal `seq`).
    pub pairs: usize,
}

impl ImportSummary {
    fn of(trace: &super::CsiTrace) -> Self {
        let (a, b) = (trace.party("alice"), trace.party("bob"));
        ImportSummary {
            alice_rows: a.map_or(0, |p| p.len()),
            bob_rows: b.map_or(0, |p| p.len()),
            pairs: match (a, b) {
                (Some(a), Some(b)) => super::pair_by_seq(a, b).len(),
                _ => 0,
            },
        }
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, ImportError> {
    std::fs::read(path).map_err(|source| {
        CaptureError::Io {
            path: path.to_path_buf(),
            source,
        }
        .into()
    })
}

/// Reads a text file; invalid UTF-8 is an error naming its line.
fn read_text(path: &Path) -> Result<String, ImportError> {
    let bytes = read_bytes(path)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = 1 + bytes[..at].iter().filter(|b| **b == b'\n').count();
        ImportError::Line {
            line,
            what: format!("not UTF-8 text (byte {at})"),
        }
        .in_file(path)
    })
}

/// Extends a wrapping hardware counter to 64 bits: each step forward is the
/// counter difference modulo its period (`bits` wide), so a wrap between two
/// readings counts as one period. `prev` is (extended, raw) of the last reading.
fn unwrap_counter(prev: Option<(u64, u64)>, raw: u64, bits: u32) -> u64 {
    match prev {
        None => raw,
        Some((extended, prev_raw)) => {
            let mask = if bits >= 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            extended.saturating_add(raw.wrapping_sub(prev_raw) & mask)
        }
    }
}
