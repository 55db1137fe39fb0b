//! Fuzzes the raw IQ decoder: whole samples (finite) or an error at a byte inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::capture::import::{decode_raw_iq, ImportError, RawIqFormat};

fuzz_target!(|data: &[u8]| {
    for format in [RawIqFormat::Ci8, RawIqFormat::Ci16, RawIqFormat::Cf32] {
        match decode_raw_iq(data, format) {
            Ok(samples) => {
                assert_eq!(samples.len() * format.sample_size(), data.len());
                assert!(samples.iter().all(|s| s.re.is_finite() && s.im.is_finite()));
            }
            Err(ImportError::Byte { offset, .. }) => assert!(offset < data.len() as u64),
            Err(other) => panic!("unexpected error kind: {other}"),
        }
    }
});
