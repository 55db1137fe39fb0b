//! Raw interleaved IQ files (I then Q per sample, little-endian) into a SigMF
//! recording (SigMF specification v1.2, `core:datatype` names).
//!
//! `ci8` is written as `ci16_le` (value · 256, exact), `ci16` as `ci16_le`
//! and `cf32` as `cf32_le`, each bit-exact through the existing SigMF writer.

use std::path::Path;

use num_complex::Complex32;

use super::{read_bytes, ImportError};
use crate::capture::{write_sigmf, SigmfDatatype, SigmfMeta};

/// Sample format of a raw IQ file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawIqFormat {
    /// Signed 8-bit I, Q (SigMF `ci8`), scaled by 1/128.
    Ci8,
    /// Signed 16-bit little-endian I, Q (`ci16_le`), scaled by 1/32768.
    Ci16,
    /// IEEE-754 binary32 little-endian I, Q (`cf32_le`).
    Cf32,
}

impl RawIqFormat {
    /// Bytes per complex sample.
    pub fn sample_size(self) -> usize {
        match self {
            RawIqFormat::Ci8 => 2,
            RawIqFormat::Ci16 => 4,
            RawIqFormat::Cf32 => 8,
        }
    }

    /// The SigMF datatype the recording is written in.
    pub fn sigmf_datatype(self) -> SigmfDatatype {
        match self {
            RawIqFormat::Ci8 | RawIqFormat::Ci16 => SigmfDatatype::Ci16Le,
            RawIqFormat::Cf32 => SigmfDatatype::Cf32Le,
        }
    }
}

/// Decodes a whole raw IQ file.
///
/// # Errors
/// [`ImportError::Byte`]: the length is not a whole number of samples (at the
/// start of the cut-off sample), or a `cf32` value is NaN or infinite (at that value).
pub fn decode_raw_iq(bytes: &[u8], format: RawIqFormat) -> Result<Vec<Complex32>, ImportError> {
    let size = format.sample_size();
    let whole = bytes.len() - bytes.len() % size;
    if whole != bytes.len() {
        return Err(ImportError::Byte {
            offset: whole as u64,
            what: format!(
                "file ends inside a sample: {} bytes is not a multiple of the {size}-byte {format:?} sample",
                bytes.len()
            ),
        });
    }
    let mut out = Vec::with_capacity(bytes.len() / size);
    match format {
        RawIqFormat::Ci8 => {
            out.extend(bytes.chunks_exact(2).map(|s| {
                Complex32::new(f32::from(s[0] as i8) / 128.0, f32::from(s[1] as i8) / 128.0)
            }))
        }
        RawIqFormat::Ci16 => out.extend(bytes.chunks_exact(4).map(|s| {
            Complex32::new(
                f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0,
                f32::from(i16::from_le_bytes([s[2], s[3]])) / 32768.0,
            )
        })),
        RawIqFormat::Cf32 => {
            for (k, s) in bytes.chunks_exact(8).enumerate() {
                let i = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                let q = f32::from_le_bytes([s[4], s[5], s[6], s[7]]);
                if let Some((off, v)) = [(0, i), (4, q)].into_iter().find(|(_, v)| !v.is_finite()) {
                    return Err(ImportError::Byte {
                        offset: (k * 8 + off) as u64,
                        what: format!("sample {k}: {v} is not a finite float"),
                    });
                }
                out.push(Complex32::new(i, q));
            }
        }
    }
    Ok(out)
}

/// `qwave import raw-iq`: writes `out_base.sigmf-meta` and `out_base.sigmf-data`.
///
/// Returns the number of samples written.
///
/// # Errors
/// As [`decode_raw_iq`] wrapped in [`ImportError::File`]; [`ImportError::Option`]
/// for a rate that is not positive and finite or a non-finite frequency;
/// [`ImportError::Capture`] on I/O.
pub fn import_raw_iq(
    input: &Path,
    format: RawIqFormat,
    sample_rate: f64,
    frequency: Option<f64>,
    out_base: &Path,
) -> Result<usize, ImportError> {
    if !(sample_rate.is_finite() && sample_rate > 0.0) {
        return Err(ImportError::Option(format!(
            "sample rate {sample_rate} is not a positive finite number"
        )));
    }
    if let Some(f) = frequency.filter(|f| !f.is_finite()) {
        return Err(ImportError::Option(format!("frequency {f} is not finite")));
    }
    let bytes = read_bytes(input)?;
    let samples = decode_raw_iq(&bytes, format).map_err(|e| e.in_file(input))?;
    let meta = SigmfMeta {
        datatype: format.sigmf_datatype(),
        sample_rate,
        frequency,
        description: Some(format!(
            "qwave import raw-iq from {} ({format:?})",
            input.display()
        )),
        hw: None,
        annotations: Vec::new(),
    };
    write_sigmf(out_base, &meta, &samples)?;
    Ok(samples.len())
}
