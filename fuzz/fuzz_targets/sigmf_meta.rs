//! Fuzzes the SigMF metadata parser: any bytes give a value or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::capture::{decode_iq, parse_sigmf_meta, SigmfDatatype};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(meta) = parse_sigmf_meta(text) {
            // Whatever parsed must print and parse back to the same metadata
            // (annotations come back sorted by sample_start).
            let mut sorted = meta.clone();
            sorted.annotations.sort_by_key(|a| a.sample_start);
            assert_eq!(parse_sigmf_meta(&sorted.to_json()).ok(), Some(sorted));
        }
    }
    for dt in [SigmfDatatype::Ci16Le, SigmfDatatype::Cf32Le] {
        let _ = decode_iq(data, dt);
    }
});
