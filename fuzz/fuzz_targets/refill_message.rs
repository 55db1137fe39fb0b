//! Fuzzes the live-refill codec and frame authentication on hostile bytes: decoding returns a
//! message or a typed error, never panics; a decoded message re-encodes to the same bytes; an
//! unauthenticated frame never verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::refill::wire::{End, FrameAuth, RefillMsg, WireError};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = RefillMsg::decode(data) {
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(out, data);
    }
    let mut auth = FrameAuth::new(b"fuzz physical-layer key", End::Station);
    assert!(matches!(auth.open(data), Err(WireError::BadTag)));
});
