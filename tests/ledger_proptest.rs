//! The event decoders never panic, and every valid event round-trips.

use proptest::prelude::*;
use qwave::ledger::{Charge, IssuanceEvent, SignedEvent};

proptest! {
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
