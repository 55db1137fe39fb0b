//! Shared helpers for the reconciliation tests: a seeded binary symmetric channel.
#![allow(dead_code)]

use qwave::reconcile::{
    new_reconciler, run_pair, Outcome, ReconcileError, ReconcileParams, ReconcilerKind, Role,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Alice's uniform bits and Bob's copy through a BSC(q), from `seed`.
pub fn bsc_frame(n: usize, q: f64, seed: u64) -> (Vec<u8>, Vec<u8>) {
    bsc_bits(&mut ChaCha8Rng::seed_from_u64(seed), n, q)
}

/// `n` uniform bits for Alice and Bob's copy through BSC(`q`), drawn from `rng`
/// (all of Alice's bits first, then Bob's flips).
pub fn bsc_bits(rng: &mut ChaCha8Rng, n: usize, q: f64) -> (Vec<u8>, Vec<u8>) {
    let alice: Vec<u8> = (0..n).map(|_| rng.random::<bool>() as u8).collect();
    let bob = alice
        .iter()
        .map(|&b| b ^ (rng.random::<f64>() < q) as u8)
        .collect();
    (alice, bob)
}

/// Runs Cascade on one frame.
pub fn reconcile(
    alice: Vec<u8>,
    bob: Vec<u8>,
    qber: f64,
    shuffle_seed: u64,
) -> Result<(Outcome, Outcome), ReconcileError> {
    let params = ReconcileParams {
        qber,
        shuffle_seed,
        soft_plan: false,
    };
    run_pair(
        new_reconciler(ReconcilerKind::Cascade, Role::Alice, alice, &params),
        new_reconciler(ReconcilerKind::Cascade, Role::Bob, bob, &params),
    )
}

/// BSC crossover p at which a rate-`rate` code runs at efficiency
/// f = (1 − R)/h2(p) (bisection).
pub fn p_for_efficiency(rate: f64, f: f64) -> f64 {
    let (mut lo, mut hi) = (1e-6f64, 0.5f64);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if qwave::reconcile::binary_entropy(mid) < (1.0 - rate) / f {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}
