//! Fuzzes the Cascade wire codec and both state machines with arbitrary bytes:
//! decoding must never panic, a decoded message must survive re-encoding, and
//! Alice and Bob (before and after the Hello) must answer with `Ok` or a typed
//! error. Run with `cargo fuzz run cascade_message` from the repository root.
//! Without cargo-fuzz, the same instrumented build is (nightly toolchain):
//! `RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4
//! -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
//! -Cllvm-args=-sanitizer-coverage-pc-table
//! -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions
//! -Coverflow-checks" cargo +nightly build --release --target x86_64-unknown-linux-gnu`
//! in `fuzz/`, then run the binary with a corpus directory.
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
        soft_plan: false,
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
