//! Recording formats: HDF5 CSI traces and SigMF IQ recordings.
//!
//! ```text
//!  radio IQ ──► SigMF (.sigmf-meta JSON + .sigmf-data)      sigmf.rs, raw.rs
//!  CSI/RSSI per probe ──► HDF5 trace (/alice, /bob, /eve…)  trace.rs
//!  Intel 5300 / ESP32 CSI, RSSI logs ──► HDF5 trace       import/
//!  raw interleaved IQ ──► SigMF                             import/rawiq.rs
//!  lab bursts/windows ──► streamed SigMF, one capture per window sigmf_stream.rs
//!  alice.h5 + bob.h5 [+ eve] ──► one trace                  merge.rs
//! ```
//!
//! Both schemas are fixed interfaces (see `ARCHITECTURE.md`, "HDF5 CSI trace"
//! and "SigMF IQ recordings"). Every reader returns a typed [`CaptureError`]
//! naming the problem on bad input and never panics.

mod h5file;
pub mod import;
mod merge;
mod raw;
mod sigmf;
mod sigmf_stream;
mod trace;

pub use import::{parse_rssi_text, rssi_pair_to_trace};
pub use merge::{merge_traces, MergeError, MergeStats};
pub use raw::{decode_iq, encode_iq, read_raw_iq};
pub use sigmf::{
    parse_sigmf_meta, read_sigmf, sigmf_paths, write_sigmf, Annotation, SigmfDatatype, SigmfMeta,
};
pub use sigmf_stream::{CaptureSegment, SigmfRecording, SigmfWriter, StreamHeader};
pub use trace::{
    pair_by_seq, read_trace, write_trace, CsiTrace, PartyTrace, TraceKind, TraceWriter,
    TRACE_FORMAT, TRACE_VERSION,
};

use std::path::PathBuf;

/// Errors of the capture module: every variant names the file (or line) and the problem.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The HDF5 library reported an error (file unreadable, not HDF5, write failed…).
    #[error("{}: HDF5: {source}", path.display())]
    Hdf5 {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: hdf5::Error,
    },
    /// A file does not follow the fixed schema (missing or wrong attribute, dataset, shape, field).
    #[error("{}: schema: {what}", path.display())]
    Schema {
        /// File concerned.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// An in-memory trace breaks the schema's rules (checked before writing).
    #[error("invalid trace: {0}")]
    Invalid(String),
    /// A SigMF metadata file is not valid JSON.
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A sample file ends in the middle of a sample.
    #[error("{}: truncated: {len} bytes is not a multiple of the {sample_size}-byte sample", path.display())]
    Truncated {
        /// File concerned.
        path: PathBuf,
        /// File length in bytes.
        len: u64,
        /// Bytes per complex sample.
        sample_size: usize,
    },
    /// A SigMF datatype that qwave does not read (supported: `ci16_le`, `cf32_le`).
    #[error("unsupported SigMF datatype {0:?} (supported: ci16_le, cf32_le)")]
    Datatype(String),
    /// A line of a text file could not be parsed.
    #[error("line {line}: {what}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        what: String,
    },
}
