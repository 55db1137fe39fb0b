//! Fuzzes the RSSI log parser in every decimal-mark mode: finite values or a line-numbered error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::capture::import::{parse_rssi_log, rssi_logs_to_trace, DecimalMark, ImportError};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for mark in [DecimalMark::Auto, DecimalMark::Point, DecimalMark::Comma] {
        match parse_rssi_log(&text, mark) {
            Ok(log) => {
                assert!(log.rssi.iter().all(|v| v.is_finite()));
                let _ = rssi_logs_to_trace(&log, &log, f64::NAN, "fuzz");
            }
            Err(ImportError::Line { line, .. }) => {
                assert!(line >= 1 && line <= text.lines().count())
            }
            Err(other) => panic!("unexpected error kind: {other}"),
        }
    }
});
