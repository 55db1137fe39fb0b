//! LDPC decoder throughput (Mbit/s of decoded key, one core): layered
//! normalised min-sum on the IEEE 802.11n n = 1944, rate-1/2 code, hard
//! LLRs from a binary symmetric channel with Q = 5 % (syndrome decoding, so
//! all n bits of a frame are key bits). Target ≥ 50 Mbit/s. The same for
//! the n = 16384 and n = 65536 rate-1/2 QC-PEG codes (`long::LONG_CODES[0]`
//! and `[4]`), and all with the sum-product check rule
//! (`CheckRule::SumProduct`). Also prints the whole-reconciliation
//! throughput and efficiency (blind protocol, 20 000-bit blocks, which the
//! planner puts on the n = 16384 codes, and 60 000-bit blocks, on the
//! n = 65536 ones).

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use qwave::reconcile::ldpc::codes::{Length, QcCode, Rate};
use qwave::reconcile::ldpc::decoder::{CheckRule, LayeredDecoder};
use qwave::reconcile::ldpc::long::long_code;
use qwave::reconcile::ldpc::{llr, ALPHA, MAX_ITERATIONS};
use qwave::reconcile::{new_reconciler, run_pair, ReconcileParams, ReconcilerKind, Role};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::Instant;

const Q: f64 = 0.05;

struct Frame {
    truth: Vec<u8>,
    syndrome: Vec<u8>,
    llr: Vec<f32>,
}

fn frames(code: &QcCode, count: usize, seed: u64) -> Vec<Frame> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let truth: Vec<u8> = (0..code.n()).map(|_| rng.random::<bool>() as u8).collect();
            let mut syndrome = vec![0; code.m()];
            code.syndrome(&truth, &mut syndrome).expect("sizes");
            let noisy: Vec<u8> = truth
                .iter()
                .map(|&b| b ^ (rng.random::<f64>() < Q) as u8)
                .collect();
            let mut l = Vec::new();
            llr::hard_llrs(&noisy, Q, &mut l);
            Frame {
                truth,
                syndrome,
                llr: l,
            }
        })
        .collect()
}

/// CPU time of this thread in seconds (Linux), so the figure holds on a shared machine.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

fn long_r12() -> QcCode {
    long_code(0).expect("stored long code parses").clone()
}

fn longest_r12() -> QcCode {
    long_code(4).expect("stored long code parses").clone()
}

fn report_decoder(code: &QcCode, count: usize, rule: CheckRule) {
    let data = frames(code, count, 11);
    let mut dec = LayeredDecoder::with_rule(code.clone(), rule);
    let mut out = vec![0u8; code.n()];
    let (mut ok, mut iters) = (0u32, 0u64);
    let t = Instant::now();
    let cpu0 = thread_cpu_seconds();
    for f in &data {
        let st = dec
            .decode(&f.llr, &f.syndrome, MAX_ITERATIONS, &mut out)
            .expect("sizes");
        iters += u64::from(st.iterations);
        ok += u32::from(st.converged && out == f.truth);
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu0.zip(thread_cpu_seconds()).map_or(wall, |(a, b)| b - a);
    let bits = (data.len() * code.n()) as f64;
    eprintln!(
        "ldpc decoder {} {rule:?} Q=5%: {ok}/{} frames correct, {:.2} iterations/frame, \
         {:.1} Mbit/s per CPU second ({:.1} Mbit/s wall)",
        code.name(),
        data.len(),
        iters as f64 / data.len() as f64,
        bits / cpu / 1e6,
        bits / wall / 1e6
    );
}

fn report() {
    for rule in [CheckRule::MinSum { alpha: ALPHA }, CheckRule::SumProduct] {
        report_decoder(&QcCode::ieee80211n(Length::N1944, Rate::R12), 2000, rule);
        report_decoder(&long_r12(), 250, rule);
        report_decoder(&longest_r12(), 60, rule);
    }
    report_reconciliation(20_000, 20);
    report_reconciliation(60_000, 8);
}

/// Whole reconciliation (both sides, blind rounds) of `blocks` blocks of `n` bits.
fn report_reconciliation(n: usize, blocks: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let t = Instant::now();
    let mut leaked = 0u64;
    for i in 0..blocks {
        let a: Vec<u8> = (0..n).map(|_| rng.random::<bool>() as u8).collect();
        let b: Vec<u8> = a
            .iter()
            .map(|&x| x ^ (rng.random::<f64>() < Q) as u8)
            .collect();
        let p = ReconcileParams {
            qber: Q,
            shuffle_seed: i,
            soft_plan: false,
        };
        let (_, ob) = run_pair(
            new_reconciler(ReconcilerKind::Ldpc, Role::Alice, a, &p),
            new_reconciler(ReconcilerKind::Ldpc, Role::Bob, b, &p),
        )
        .expect("reconciles");
        leaked += ob.leaked_bits;
    }
    let wall = t.elapsed().as_secs_f64();
    eprintln!(
        "ldpc reconciliation Q=5%, {n}-bit blocks: f = {:.3}, {:.1} Mbit/s wall (both sides)",
        leaked as f64 / (blocks as f64 * n as f64 * qwave::reconcile::binary_entropy(Q)),
        (blocks as usize * n) as f64 / wall / 1e6
    );
}

/// Criterion entry `name`: `dec` decoding `data` round-robin.
fn bench_decoder(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut dec: LayeredDecoder,
    data: &[Frame],
) {
    let mut out = vec![0u8; dec.code().n()];
    g.throughput(Throughput::Elements(dec.code().n() as u64));
    let mut i = 0usize;
    g.bench_function(name, |b| {
        b.iter(|| {
            i = (i + 1) % data.len();
            let f = &data[i];
            black_box(
                dec.decode(&f.llr, &f.syndrome, MAX_ITERATIONS, &mut out)
                    .expect("sizes"),
            )
        })
    });
}

fn bench(c: &mut Criterion) {
    report();
    let code = QcCode::ieee80211n(Length::N1944, Rate::R12);
    let data = frames(&code, 64, 7);
    let mut g = c.benchmark_group("ldpc");
    for (name, rule) in [
        ("decode_n1944_r12_q5", CheckRule::MinSum { alpha: ALPHA }),
        ("decode_n1944_r12_q5_sum_product", CheckRule::SumProduct),
    ] {
        bench_decoder(
            &mut g,
            name,
            LayeredDecoder::with_rule(code.clone(), rule),
            &data,
        );
    }
    let long = long_r12();
    let data = frames(&long, 16, 8);
    g.sample_size(20);
    bench_decoder(
        &mut g,
        "decode_n16384_r12_q5",
        LayeredDecoder::new(long, ALPHA),
        &data,
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
