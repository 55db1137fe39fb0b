//! Fuzzes the signed issuance-event decoder: typed error, or an event that re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::ledger::{IssuanceEvent, SignedEvent};

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = IssuanceEvent::decode(data) {
        assert_eq!(e.encode().ok().as_deref(), Some(data));
    }
    if let Ok(s) = SignedEvent::decode(data) {
        assert_eq!(s.encode(), data);
    }
});
