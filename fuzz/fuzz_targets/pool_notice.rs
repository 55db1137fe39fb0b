//! Fuzzes the peer side of key-pool migration notices: the plaintext body decoder (a typed
//! error, or a body that re-encodes to the same bytes) and the wire notice a centre sends
//! (JSON, then AEAD opening under a fixed key: a typed error, never a panic).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::pools::notice::{open_notice, NoticeBody, WireNotice};

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = NoticeBody::decode(data) {
        let again = b.encode().expect("a decoded body encodes");
        assert_eq!(&again[..], data);
    }
    if let Ok(w) = serde_json::from_slice::<WireNotice>(data) {
        let _ = open_notice(&w, "peer", &[7u8; 32]);
    }
});
