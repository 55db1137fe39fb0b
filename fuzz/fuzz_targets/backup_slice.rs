//! Fuzzes the backup slice decoder: typed error or a slice that re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::backup::Slice;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Slice::decode(data) {
        assert_eq!(s.encode(), data);
    }
});
