//! Fuzzes the RSSI text parser: any text gives finite values or a line-numbered error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::capture::{parse_rssi_text, CaptureError};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_rssi_text(&text) {
        Ok(values) => assert!(values.iter().all(|v| v.is_finite())),
        Err(CaptureError::Parse { line, .. }) => assert!(line >= 1 && line <= text.lines().count()),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
});
