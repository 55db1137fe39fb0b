//! Cascade end to end over a seeded binary symmetric channel, plus the
//! accounting and error paths of the sans-IO state machines.

mod common;

use qwave::reconcile::wire::Message;
use qwave::reconcile::{
    binary_entropy, new_reconciler, run_pair, ProtocolViolation, ReconcileError, ReconcileParams,
    Reconciler, ReconcilerKind, Role,
};

fn params(qber: f64, shuffle_seed: u64) -> ReconcileParams {
    ReconcileParams {
        qber,
        shuffle_seed,
        soft_plan: false,
    }
}

fn pair(a: Vec<u8>, b: Vec<u8>, p: &ReconcileParams) -> (Box<dyn Reconciler>, Box<dyn Reconciler>) {
    (
        new_reconciler(ReconcilerKind::Cascade, Role::Alice, a, p),
        new_reconciler(ReconcilerKind::Cascade, Role::Bob, b, p),
    )
}

#[test]
fn converges_on_bsc_n16384() {
    let n = 16384;
    for (qi, q) in [0.01, 0.02, 0.05, 0.10].into_iter().enumerate() {
        for f in 0..2u64 {
            let seed = 1000 * qi as u64 + f;
            let (a, b) = common::bsc_frame(n, q, seed);
            let errors = a.iter().zip(&b).filter(|(x, y)| x != y).count();
            assert!(errors > 0);
            let (oa, ob) = common::reconcile(a.clone(), b, q, seed).unwrap();
            assert_eq!(oa.bits, a, "Alice keeps her bits");
            assert_eq!(ob.bits, a, "Bob converges to Alice's bits, Q = {q}");
            assert_eq!(oa.leaked_bits, ob.leaked_bits);
            assert_eq!(oa.messages, ob.messages);
            // Leakage must at least cover the information-theoretic minimum and
            // stay near Cascade's known efficiency.
            let f = ob.leaked_bits as f64 / (n as f64 * binary_entropy(errors as f64 / n as f64));
            assert!((1.0..1.3).contains(&f), "efficiency {f} at Q = {q}");
        }
    }
}

#[test]
fn short_and_odd_lengths_converge() {
    for n in [1usize, 2, 3, 7, 64, 65, 127, 1000, 4099] {
        for seed in 0..3u64 {
            let (a, mut b) = common::bsc_frame(n, 0.05, seed);
            b[(seed as usize * 31) % n] ^= 1; // at least one error
            let (oa, ob) = common::reconcile(a.clone(), b, 0.05, seed).unwrap();
            assert_eq!(ob.bits, a, "n = {n}, seed = {seed}");
            assert_eq!(oa.leaked_bits, ob.leaked_bits);
        }
    }
}

#[test]
fn empty_strings_finish_immediately() {
    let (oa, ob) = common::reconcile(Vec::new(), Vec::new(), 0.02, 1).unwrap();
    assert!(ob.bits.is_empty());
    assert_eq!(oa.messages, 2, "Hello and Done");
    assert_eq!(ob.leaked_bits, 0);
}

#[test]
fn equal_strings_need_only_the_first_parities() {
    let (a, _) = common::bsc_frame(16384, 0.0, 3);
    let (oa, ob) = common::reconcile(a.clone(), a.clone(), 0.02, 3).unwrap();
    assert_eq!(ob.bits, a);
    assert_eq!(ob.messages, 2, "Hello and Done, no queries");
    // k1 = 64, k2 = 512, k3 = 4096 at 2 %: 256 + 31 + 3 block parities (the
    // last block of passes 2 and 3 is inferred), 11 BICONF parities.
    assert_eq!(ob.leaked_bits, 256 + 31 + 3 + 11);
    assert_eq!(oa.leaked_bits, ob.leaked_bits);
}

/// Drives the pair by hand, decoding every message, and checks that the
/// leakage both sides report equals the parity bits that crossed the wire
/// (at every step), and that `messages` counts both directions.
#[test]
fn leakage_equals_parities_on_the_wire() {
    for (q, seed) in [(0.02, 11u64), (0.10, 12)] {
        let (a, b) = common::bsc_frame(4096, q, seed);
        let p = params(q, seed);
        let (mut alice, mut bob) = pair(a.clone(), b, &p);
        let (mut wire_parities, mut wire_messages) = (0u64, 0u32);
        let mut queries = 0u64;
        while !(alice.is_done() && bob.is_done()) {
            let mut moved = false;
            while let Some(m) = alice.poll_message() {
                match Message::decode(&m).unwrap() {
                    Message::Hello { parities, .. } | Message::Reply { parities } => {
                        wire_parities += parities.len() as u64
                    }
                    other => panic!("Alice sent {other:?}"),
                }
                wire_messages += 1;
                assert_eq!(alice.leaked_bits(), wire_parities);
                bob.handle_message(&m).unwrap();
                assert_eq!(bob.leaked_bits(), wire_parities);
                moved = true;
            }
            while let Some(m) = bob.poll_message() {
                match Message::decode(&m).unwrap() {
                    Message::Query { ranges } => queries += ranges.len() as u64,
                    Message::Done => {}
                    other => panic!("Bob sent {other:?}"),
                }
                wire_messages += 1;
                alice.handle_message(&m).unwrap();
                moved = true;
            }
            assert!(moved, "stalled");
        }
        let (oa, ob) = (alice.finish().unwrap(), bob.finish().unwrap());
        assert_eq!(ob.bits, a);
        assert_eq!(oa.leaked_bits, wire_parities);
        assert_eq!(ob.leaked_bits, wire_parities);
        assert_eq!((oa.messages, ob.messages), (wire_messages, wire_messages));
        assert!(queries > 0 && queries < wire_parities);
    }
}

#[test]
fn length_mismatch_is_reported() {
    let p = params(0.02, 5);
    let (mut alice, mut bob) = pair(vec![0; 100], vec![0; 99], &p);
    let hello = alice.poll_message().unwrap();
    assert!(matches!(
        bob.handle_message(&hello),
        Err(ReconcileError::LengthMismatch {
            ours: 99,
            theirs: 100
        })
    ));
}

#[test]
fn different_schedules_are_rejected() {
    // Q = 2 % and Q = 10 % give different block counts.
    let (a, b) = common::bsc_frame(2048, 0.02, 8);
    let mut alice = new_reconciler(ReconcilerKind::Cascade, Role::Alice, a, &params(0.02, 1));
    let mut bob = new_reconciler(ReconcilerKind::Cascade, Role::Bob, b, &params(0.10, 1));
    let hello = alice.poll_message().unwrap();
    assert!(matches!(
        bob.handle_message(&hello),
        Err(ReconcileError::Protocol(
            ProtocolViolation::ParityCountMismatch
        ))
    ));
}

#[test]
fn invalid_input_bits_are_reported() {
    let p = params(0.02, 5);
    let (alice, bob) = pair(vec![0, 1, 2, 0], vec![0, 1, 1, 0], &p);
    assert!(matches!(
        run_pair(alice, bob),
        Err(ReconcileError::InvalidBit { index: 2, value: 2 })
    ));
    let mut bob = new_reconciler(ReconcilerKind::Cascade, Role::Bob, vec![1, 9], &p);
    assert!(bob.poll_message().is_none());
    assert!(matches!(
        bob.handle_message(&[0x14]),
        Err(ReconcileError::InvalidBit { index: 1, value: 9 })
    ));
}

#[test]
fn finish_before_done_is_an_error() {
    let p = params(0.02, 5);
    let (alice, bob) = pair(vec![0; 64], vec![1; 64], &p);
    assert!(matches!(alice.finish(), Err(ReconcileError::NotDone)));
    assert!(matches!(bob.finish(), Err(ReconcileError::NotDone)));
}

#[test]
fn messages_after_done_are_rejected() {
    let p = params(0.05, 9);
    let (a, b) = common::bsc_frame(512, 0.05, 9);
    let (mut alice, mut bob) = pair(a, b, &p);
    // Run to completion by hand, keeping the last messages of each side.
    let mut last_reply = None;
    while !(alice.is_done() && bob.is_done()) {
        while let Some(m) = alice.poll_message() {
            bob.handle_message(&m).unwrap();
            last_reply = Some(m);
        }
        while let Some(m) = bob.poll_message() {
            alice.handle_message(&m).unwrap();
        }
    }
    let done = Message::Done.encode();
    assert!(matches!(
        alice.handle_message(&done),
        Err(ReconcileError::Protocol(ProtocolViolation::AfterDone))
    ));
    assert!(matches!(
        bob.handle_message(&last_reply.unwrap()),
        Err(ReconcileError::Protocol(ProtocolViolation::AfterDone))
    ));
}

#[test]
fn kind_is_cascade() {
    let p = params(0.02, 5);
    let (alice, bob) = pair(vec![0; 8], vec![0; 8], &p);
    assert_eq!(alice.kind(), ReconcilerKind::Cascade);
    assert_eq!(bob.kind(), ReconcilerKind::Cascade);
}
