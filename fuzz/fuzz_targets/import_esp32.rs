//! Fuzzes the ESP32-CSI-Tool CSV parser: any text gives rows or a line-numbered error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::capture::import::{esp32_to_trace, parse_esp32_csv, ImportError};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_esp32_csv(&text) {
        Ok(rows) => {
            assert!(rows.iter().all(|r| r.lltf.len() == 52));
            let _ = esp32_to_trace(&rows, &rows, f64::NAN, "fuzz");
        }
        Err(ImportError::Line { line, .. }) => assert!(line >= 1 && line <= text.lines().count()),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
});
