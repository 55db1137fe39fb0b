//! Fuzzes the refill unwrappers on hostile bytes: they return the payload or an integrity error,
//! never panic, and forged input never verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::refill::{derive_kek, otp_open, otp_pad_len, unwrap_aes_kw, WrapError};

fuzz_target!(|data: &[u8]| {
    let kek = derive_kek(b"fuzz physical-layer key", &[0u8; 16]);
    assert!(matches!(unwrap_aes_kw(&kek, data), Err(WrapError::Integrity)));
    let pad = vec![0x5au8; otp_pad_len(data.len().saturating_sub(16))];
    assert!(otp_open(&pad, data).is_err());
});
