//! Fuzzes the session's public-channel decoders: frame parsing, frame
//! authentication and the message codec must reject any input without
//! panicking. Run: `cargo +nightly fuzz run session_message`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::session::auth::{parse, FrameCodec, Sender};
use qwave::session::wire::Msg;

fuzz_target!(|data: &[u8]| {
    let _ = Msg::decode(data);
    if let Ok(f) = parse(data) {
        let _ = Msg::decode(f.body);
    }
    let mut codec = FrameCodec::new(Sender::Bob, &[7u8; 32]);
    let _ = codec.open(data);
});
