//! Cascade wire codec and hostile-input handling (proptest, seeded by
//! proptest's own deterministic runner config below).

mod common;

use proptest::prelude::*;
use qwave::reconcile::wire::{DecodeError, Message, ParityRange};
use qwave::reconcile::{
    new_reconciler, ProtocolViolation, ReconcileError, ReconcileParams, Reconciler, ReconcilerKind,
    Role,
};

fn bits() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0u8..=1, 0..300)
}

fn ranges() -> impl Strategy<Value = Vec<ParityRange>> {
    prop::collection::vec((0u32..20, any::<u32>(), 0u32..100_000), 0..60).prop_map(|v| {
        v.into_iter()
            .map(|(pass, start, len)| ParityRange {
                pass,
                start,
                end: start.saturating_add(len),
            })
            .collect()
    })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u64>(), bits()).prop_map(|(n, parities)| Message::Hello { n, parities }),
        ranges().prop_map(|ranges| Message::Query { ranges }),
        bits().prop_map(|parities| Message::Reply { parities }),
        Just(Message::Done),
    ]
}

fn params() -> ReconcileParams {
    ReconcileParams {
        qber: 0.05,
        shuffle_seed: 77,
        soft_plan: false,
    }
}

/// A fresh pair on a 2048-bit BSC frame.
fn pair() -> (Box<dyn Reconciler>, Box<dyn Reconciler>) {
    let (a, b) = common::bsc_frame(2048, 0.05, 77);
    (
        new_reconciler(ReconcilerKind::Cascade, Role::Alice, a, &params()),
        new_reconciler(ReconcilerKind::Cascade, Role::Bob, b, &params()),
    )
}

/// Alice and Bob after the Hello, with Bob's first Query in hand.
fn running_pair() -> (Box<dyn Reconciler>, Box<dyn Reconciler>, Vec<u8>) {
    let (mut alice, mut bob) = pair();
    let hello = alice.poll_message().unwrap();
    bob.handle_message(&hello).unwrap();
    let query = bob.poll_message().unwrap();
    (alice, bob, query)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, rng_seed: proptest::test_runner::RngSeed::Fixed(0xC0DE), ..ProptestConfig::default() })]

    #[test]
    fn codec_round_trip(msg in message()) {
        let enc = msg.encode();
        prop_assert_eq!(Message::decode(&enc), Ok(msg));
    }

    #[test]
    fn truncated_messages_are_decode_errors(msg in message(), cut in any::<prop::sample::Index>()) {
        let enc = msg.encode();
        let cut = cut.index(enc.len());
        prop_assert!(Message::decode(&enc[..cut]).is_err());
    }

    #[test]
    fn decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Message::decode(&bytes);
    }

    #[test]
    fn garbage_to_either_side_is_an_error_not_a_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        to_alice in any::<bool>(),
    ) {
        let (mut alice, mut bob, _) = running_pair();
        let target = if to_alice { &mut alice } else { &mut bob };
        if target.handle_message(&bytes).is_ok() {
            // Only a well-formed, in-state message may be accepted.
            let decoded = Message::decode(&bytes);
            let in_state = matches!(
                decoded,
                Ok(Message::Query { .. }) | Ok(Message::Done) | Ok(Message::Reply { .. })
            );
            prop_assert!(in_state, "accepted {:?}", decoded);
        }
    }

    #[test]
    fn hostile_queries_are_rejected(pass in 0u32..20, start in 0u32..5000, len in 0u32..5000) {
        let (mut alice, _, _) = running_pair();
        let r = ParityRange { pass, start, end: start.saturating_add(len) };
        let res = alice.handle_message(&Message::Query { ranges: vec![r] }.encode());
        // Schedule at Q = 5 %, n = 2048: pass 0 has blocks of 16, pass 1 of 256,
        // pass 2 of 1024 (k3 capped at n/2), passes 3..14 are BICONF halves.
        let e = r.end as usize;
        let s = r.start as usize;
        let valid_shape = pass < 14 && s < e && e <= 2048;
        let same_block = match pass {
            0 => s / 16 == (e.max(1) - 1) / 16,
            1 => s / 256 == (e.max(1) - 1) / 256,
            2 => s / 1024 == (e.max(1) - 1) / 1024,
            _ => true, // BICONF boundary depends on the subset; checked below
        };
        if !valid_shape || !same_block {
            let rejected = matches!(res, Err(ReconcileError::Protocol(
                ProtocolViolation::PassOutOfRange | ProtocolViolation::RangeOutsideBlock)));
            prop_assert!(rejected, "{:?} accepted: {:?}", r, res);
        } else if pass < 3 {
            prop_assert!(res.is_ok());
            prop_assert!(alice.poll_message().is_some());
        }
    }

    /// Real messages cut short are decode errors for the side that expects them.
    #[test]
    fn truncated_real_messages_are_rejected_in_state(cut in any::<prop::sample::Index>()) {
        let (mut alice, mut bob, query) = running_pair();
        let q = cut.index(query.len());
        prop_assert!(matches!(
            alice.handle_message(&query[..q]),
            Err(ReconcileError::Decode(_))
        ));
        alice.handle_message(&query).unwrap();
        let reply = alice.poll_message().unwrap();
        let r = cut.index(reply.len());
        prop_assert!(matches!(
            bob.handle_message(&reply[..r]),
            Err(ReconcileError::Decode(_))
        ));
        // The untruncated reply is still accepted afterwards.
        prop_assert!(bob.handle_message(&reply).is_ok());
    }

    /// A lying Alice (random reply bits) can make Bob fail or end with wrong
    /// bits, but never panic or loop: the run stays within its budgets.
    #[test]
    fn lying_replies_end_in_bounded_steps(seed in any::<u64>()) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (_, mut bob, mut query) = running_pair();
        let mut rounds = 0;
        loop {
            rounds += 1;
            prop_assert!(rounds < 10_000);
            let n = match Message::decode(&query).unwrap() {
                Message::Query { ranges } => ranges.len(),
                _ => break,
            };
            let parities = (0..n).map(|_| rng.random::<bool>() as u8).collect();
            if bob.handle_message(&Message::Reply { parities }.encode()).is_err() {
                break;
            }
            match bob.poll_message() {
                Some(m) => query = m,
                None => break,
            }
        }
    }
}

#[test]
fn out_of_state_messages_are_protocol_errors() {
    let (mut alice, mut bob) = pair();
    let hello = alice.poll_message().unwrap();
    // Bob: Reply, Query or Done before Hello.
    for m in [
        Message::Reply { parities: vec![1] },
        Message::Query { ranges: vec![] },
        Message::Done,
    ] {
        assert!(matches!(
            bob.handle_message(&m.encode()),
            Err(ReconcileError::Protocol(
                ProtocolViolation::UnexpectedMessage
            ))
        ));
    }
    // Alice never accepts Hello or Reply.
    assert!(matches!(
        alice.handle_message(&hello),
        Err(ReconcileError::Protocol(
            ProtocolViolation::UnexpectedMessage
        ))
    ));
    assert!(matches!(
        alice.handle_message(&Message::Reply { parities: vec![0] }.encode()),
        Err(ReconcileError::Protocol(
            ProtocolViolation::UnexpectedMessage
        ))
    ));
    bob.handle_message(&hello).unwrap();
    // A second Hello, or a Reply of the wrong size.
    assert!(matches!(
        bob.handle_message(&hello),
        Err(ReconcileError::Protocol(
            ProtocolViolation::UnexpectedMessage
        ))
    ));
    let query = bob.poll_message().unwrap();
    let Ok(Message::Query { ranges }) = Message::decode(&query) else {
        panic!("Bob's first message after Hello is a Query at Q = 5 %");
    };
    assert!(matches!(
        bob.handle_message(
            &Message::Reply {
                parities: vec![0; ranges.len() + 1]
            }
            .encode()
        ),
        Err(ReconcileError::Protocol(
            ProtocolViolation::ParityCountMismatch
        ))
    ));
}

#[test]
fn huge_counts_do_not_allocate_or_panic() {
    // Reply claiming 2^63 parities in 3 bytes.
    let mut m = vec![0x13];
    m.extend([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert_eq!(Message::decode(&m), Err(DecodeError::CountTooLarge));
    // Query with u32::MAX groups.
    let m = [0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
    assert_eq!(Message::decode(&m), Err(DecodeError::CountTooLarge));
    // Range end overflowing u32.
    let m = Message::Query {
        ranges: vec![ParityRange {
            pass: 0,
            start: u32::MAX,
            end: u32::MAX,
        }],
    };
    let mut enc = m.encode();
    let last = enc.len() - 1;
    enc[last] = 5; // length 5 past u32::MAX
    assert_eq!(Message::decode(&enc), Err(DecodeError::ValueOutOfRange));
}

#[test]
fn alice_refuses_to_leak_more_than_twice_the_length() {
    let (mut alice, _, _) = running_pair();
    // Single-bit ranges of pass 0, all 2048 positions, three times over.
    let ranges: Vec<ParityRange> = (0..2048)
        .map(|s| ParityRange {
            pass: 0,
            start: s,
            end: s + 1,
        })
        .collect();
    let q = Message::Query { ranges }.encode();
    assert!(alice.handle_message(&q).is_ok());
    assert!(alice.handle_message(&q).is_ok());
    assert!(matches!(
        alice.handle_message(&q),
        Err(ReconcileError::Protocol(
            ProtocolViolation::LeakageExceedsLength
        ))
    ));
}
