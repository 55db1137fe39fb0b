//! Raw interleaved IQ sample files (the `.sigmf-data` payload, or bare `.dat`/`.cfile`).
//!
//! `ci16_le`: little-endian int16 I then Q, scaled by 1/32768 to ±1.0;
//! `cf32_le`: little-endian IEEE-754 binary32 I then Q (SigMF core datatypes).

use std::path::Path;

use num_complex::Complex32;

use super::{CaptureError, SigmfDatatype};

/// Reads a whole raw IQ file of the given datatype.
///
/// # Errors
/// [`CaptureError::Io`] if the file cannot be read; [`CaptureError::Truncated`]
/// if its length is not a multiple of the sample size.
pub fn read_raw_iq(path: &Path, datatype: SigmfDatatype) -> Result<Vec<Complex32>, CaptureError> {
    let bytes = std::fs::read(path).map_err(|source| CaptureError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_iq(&bytes, datatype).ok_or_else(|| CaptureError::Truncated {
        path: path.to_path_buf(),
        len: bytes.len() as u64,
        sample_size: datatype.sample_size(),
    })
}

/// Decodes interleaved IQ bytes; `None` if `bytes` ends inside a sample.
pub fn decode_iq(bytes: &[u8], datatype: SigmfDatatype) -> Option<Vec<Complex32>> {
    let size = datatype.sample_size();
    if !bytes.len().is_multiple_of(size) {
        return None;
    }
    let samples = bytes.chunks_exact(size);
    Some(match datatype {
        SigmfDatatype::Ci16Le => samples
            .map(|s| {
                let i = i16::from_le_bytes([s[0], s[1]]);
                let q = i16::from_le_bytes([s[2], s[3]]);
                Complex32::new(f32::from(i) / 32768.0, f32::from(q) / 32768.0)
            })
            .collect(),
        SigmfDatatype::Cf32Le => samples
            .map(|s| {
                let i = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                let q = f32::from_le_bytes([s[4], s[5], s[6], s[7]]);
                Complex32::new(i, q)
            })
            .collect(),
    })
}

/// Encodes samples as interleaved IQ bytes. `ci16_le` scales by 32768, rounds
/// to nearest and saturates at the int16 range (NaN becomes 0).
pub fn encode_iq(samples: &[Complex32], datatype: SigmfDatatype) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * datatype.sample_size());
    match datatype {
        SigmfDatatype::Ci16Le => {
            let q16 = |x: f32| ((x * 32768.0).round() as i16).to_le_bytes(); // `as` saturates
            for s in samples {
                out.extend_from_slice(&q16(s.re));
                out.extend_from_slice(&q16(s.im));
            }
        }
        SigmfDatatype::Cf32Le => {
            for s in samples {
                out.extend_from_slice(&s.re.to_le_bytes());
                out.extend_from_slice(&s.im.to_le_bytes());
            }
        }
    }
    out
}
