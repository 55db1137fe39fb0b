//! Fuzzes the virtual air's wire protocol: decoding untrusted bytes must
//! never panic, and whatever decodes must re-encode to the same bytes.
//! Run: `cargo +nightly fuzz run air_message`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::radio::wire::{read_msg, AirMsg};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = AirMsg::decode(data) {
        let mut buf = Vec::new();
        if m.encode(&mut buf).is_ok() {
            assert_eq!(AirMsg::decode(&buf).ok(), Some(m));
        }
    }
    let _ = read_msg(&mut &data[..], &mut Vec::new());
});
