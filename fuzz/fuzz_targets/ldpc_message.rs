//! Fuzzes the LDPC wire codec and both LDPC state machines with arbitrary
//! bytes: decoding must never panic, a decoded message must survive
//! re-encoding, and Alice, Bob (before and after the Syndromes message) and a
//! soft-plan Alice waiting for Bob's Hint must answer with `Ok` or a typed
//! error. Run with
//! `cargo fuzz run ldpc_message` from the repository root (see
//! cascade_message.rs for the instrumented build without cargo-fuzz).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qwave::reconcile::ldpc::wire::Message;
use qwave::reconcile::{
    new_reconciler, new_reconciler_with_soft, ReconcileParams, ReconcilerKind, Role,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        assert_eq!(Message::decode(&m.encode()), Ok(m));
    }
    let params = ReconcileParams {
        qber: 0.05,
        shuffle_seed: 1,
        soft_plan: false,
    };
    let a: Vec<u8> = (0..700u32).map(|i| (i * 7 % 3 == 0) as u8).collect();
    let mut b = a.clone();
    b[3] ^= 1;
    b[200] ^= 1;
    let soft: Vec<f32> = b.iter().map(|&x| if x == 1 { 0.5 } else { -0.5 }).collect();
    let mut alice = new_reconciler(ReconcilerKind::Ldpc, Role::Alice, a.clone(), &params);
    let mut fresh_bob = new_reconciler(ReconcilerKind::Ldpc, Role::Bob, b.clone(), &params);
    let mut bob = new_reconciler_with_soft(ReconcilerKind::Ldpc, Role::Bob, b, Some(soft), &params);
    let first = alice.poll_message().expect("Alice opens with Syndromes");
    // Soft plan: Alice waits for Bob's Hint; hostile bytes (a garbled hint,
    // a second hint, anything else) must give Ok or a typed error.
    let soft_params = ReconcileParams {
        soft_plan: true,
        ..params.clone()
    };
    let mut soft_alice = new_reconciler(ReconcilerKind::Ldpc, Role::Alice, a.clone(), &soft_params);
    let _ = soft_alice.handle_message(data);
    let _ = soft_alice.handle_message(data);
    while soft_alice.poll_message().is_some() {}
    let _ = fresh_bob.handle_message(data);
    let _ = bob.handle_message(&first);
    let _ = bob.handle_message(data);
    let _ = alice.handle_message(data);
    while alice.poll_message().is_some() {}
    while bob.poll_message().is_some() {}
});
