//! Fuzzes the ledger node's request decoder: a typed error, or a message that survives a
//! JSON round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::ledger::transport::Msg;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Msg::decode(data) {
        let again = serde_json::to_vec(&m).map(|b| Msg::decode(&b).ok());
        assert!(matches!(again, Ok(Some(ref x)) if *x == m));
    }
});
