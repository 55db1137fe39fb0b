//! Fuzzes the Intel 5300 log parser: any bytes give records or an error at a byte inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::capture::import::{intel5300_to_trace, parse_intel5300_log, ImportError, Intel5300Options};

fuzz_target!(|data: &[u8]| {
    match parse_intel5300_log(data) {
        Ok(records) => {
            for r in &records {
                assert_eq!(r.csi.len(), 30 * usize::from(r.nrx) * usize::from(r.ntx));
            }
            let _ = intel5300_to_trace(&records, &records, &Intel5300Options::default(), "fuzz");
        }
        Err(ImportError::Byte { offset, .. }) => assert!(offset < data.len() as u64),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
});
