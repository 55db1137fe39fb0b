//! The event and node-request decoders never panic, and every valid event or request
//! round-trips.

use proptest::prelude::*;
use qwave::ledger::transport::Msg;
use qwave::ledger::{Charge, IssuanceEvent, SignedEvent};

proptest! {
    #[test]
    fn request_decoder_never_panics_and_round_trips(
        op in prop::sample::select(vec!["quote", "submit", "forward", "fetch", "ack", "claim", "settle", "x"]),
        field in "[0-9a-fA-F]{0,70}",
        junk in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let _ = Msg::decode(&junk);
        let body = format!(
            r#"{{"op":"{op}","to":"{field}","event":"{field}","mac":"{field}","wire":"{field}","key_ids":["{field}"]}}"#
        );
        if let Ok(m) = Msg::decode(body.as_bytes()) {
            prop_assert_eq!(m.op(), op);
            let again = Msg::decode(&serde_json::to_vec(&m).expect("encode")).expect("re-decode");
            prop_assert_eq!(again, m);
        }
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = IssuanceEvent::decode(&bytes);
        if let Ok(s) = SignedEvent::decode(&bytes) {
            prop_assert_eq!(s.encode(), bytes);
        }
    }

    #[test]
    fn valid_events_round_trip_and_mutations_do_not_panic(
        time_ms in any::<u64>(),
        hops in proptest::collection::vec(("[a-z0-9]{1,8}", any::<u64>()), 1..8),
        key_id in any::<[u8; 16]>(),
        nonce in any::<[u8; 16]>(),
        flip in any::<(usize, u8)>(),
    ) {
        let e = IssuanceEvent {
            time_ms,
            requester: "alice".into(),
            recipient: "bob".into(),
            breakdown: hops.into_iter().map(|(node, charge)| Charge { node, charge }).collect(),
            key_id,
            nonce,
        };
        let b = e.encode().expect("encode");
        prop_assert_eq!(IssuanceEvent::decode(&b).expect("decode"), e);
        let mut m = b.clone();
        let i = flip.0 % m.len();
        m[i] ^= flip.1 | 1;
        let _ = IssuanceEvent::decode(&m);
        m.truncate(i);
        prop_assert!(IssuanceEvent::decode(&m).is_err());
    }
}
