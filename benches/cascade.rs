//! Cascade reconciliation throughput (Mbit/s of reconciled key, one core,
//! in-memory peer) at Q = 2 %, n = 16384; efficiency f = leaked / (n·h2(Q))
//! printed for Q = 1, 2, 5, 10 %.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use qwave::reconcile::{
    binary_entropy, new_reconciler, run_pair, ReconcileParams, ReconcilerKind, Role,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::Instant;

const N: usize = 16384;

fn bsc_frame(n: usize, q: f64, rng: &mut ChaCha8Rng) -> (Vec<u8>, Vec<u8>) {
    let alice: Vec<u8> = (0..n).map(|_| rng.random::<bool>() as u8).collect();
    let bob = alice
        .iter()
        .map(|&b| b ^ (rng.random::<f64>() < q) as u8)
        .collect();
    (alice, bob)
}

fn run(alice: Vec<u8>, bob: Vec<u8>, q: f64, seed: u64) -> (u64, u32, bool) {
    let params = ReconcileParams {
        qber: q,
        shuffle_seed: seed,
        soft_plan: false,
    };
    let (oa, ob) = run_pair(
        new_reconciler(ReconcilerKind::Cascade, Role::Alice, alice, &params),
        new_reconciler(ReconcilerKind::Cascade, Role::Bob, bob, &params),
    )
    .expect("cascade protocol error");
    (ob.leaked_bits, ob.messages, oa.bits == ob.bits)
}

/// CPU time of this thread in seconds (Linux `/proc/thread-self/schedstat`),
/// so the figure holds on a shared, oversubscribed machine; `None` elsewhere.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// Prints efficiency and an unscripted throughput figure per Q (frames
/// pre-generated, timing covers reconciliation only).
fn report_efficiency() {
    let frames = 200;
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    for q in [0.01, 0.02, 0.05, 0.10] {
        let data: Vec<_> = (0..frames).map(|_| bsc_frame(N, q, &mut rng)).collect();
        let (mut leaked, mut msgs, mut ok) = (0u64, 0u64, 0u32);
        let t = Instant::now();
        let cpu0 = thread_cpu_seconds();
        for (i, (a, b)) in data.into_iter().enumerate() {
            let (l, m, good) = run(a, b, q, i as u64);
            leaked += l;
            msgs += u64::from(m);
            ok += u32::from(good);
        }
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu0.zip(thread_cpu_seconds()).map_or(secs, |(a, b)| b - a);
        let f = leaked as f64 / (frames as f64 * N as f64 * binary_entropy(q));
        eprintln!(
            "cascade Q = {:>4.1} %: f = {f:.4}, {:.1} messages/frame, {ok}/{frames} frames equal, \
             {:.1} Mbit/s per CPU second ({:.1} Mbit/s wall)",
            q * 100.0,
            msgs as f64 / frames as f64,
            (frames * N) as f64 / cpu / 1e6,
            (frames * N) as f64 / secs / 1e6
        );
    }
}

fn bench(c: &mut Criterion) {
    report_efficiency();
    let q = 0.02;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let frames: Vec<_> = (0..16).map(|_| bsc_frame(N, q, &mut rng)).collect();
    let mut g = c.benchmark_group("cascade");
    g.throughput(Throughput::Elements(N as u64));
    let mut i = 0usize;
    g.bench_function("reconcile_q2_n16384", |bch| {
        bch.iter_batched(
            || {
                i = (i + 1) % frames.len();
                frames[i].clone()
            },
            |(a, b)| black_box(run(a, b, q, 99)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
