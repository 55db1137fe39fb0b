//! Fuzzes the Cascade wire codec and both state machines with arbitrary bytes:
//! decoding must never panic, a decoded message must survive re-encoding, and
//! Alice and Bob (before and after the Hello) must answer with `Ok` or a typed
//! error. Run with `cargo fuzz run cascade_message` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::reconcile::wire::Message;
use qwave::reconcile::{new_reconciler, ReconcileParams, ReconcilerKind, Role};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        assert_eq!(Message::decode(&m.encode()), Ok(m));
    }
    let params = ReconcileParams {
        qber: 0.05,
        shuffle_seed: 1,
    };
    let a: Vec<u8> = (0..256u32).map(|i| (i * 7 % 3 == 0) as u8).collect();
    let mut b = a.clone();
    b[3] ^= 1;
    b[200] ^= 1;
    let mut alice = new_reconciler(ReconcilerKind::Cascade, Role::Alice, a, &params);
    let mut fresh_bob = new_reconciler(ReconcilerKind::Cascade, Role::Bob, b.clone(), &params);
    let mut bob = new_reconciler(ReconcilerKind::Cascade, Role::Bob, b, &params);
    let hello = alice.poll_message().expect("Alice opens with Hello");
    let _ = fresh_bob.handle_message(data);
    let _ = bob.handle_message(&hello);
    let _ = bob.handle_message(data);
    let _ = alice.handle_message(data);
    while alice.poll_message().is_some() {}
    while bob.poll_message().is_some() {}
});
