//! Channel simulator throughput: one 20 µs probe burst through `propagate`, response evaluation, capacity.

use criterion::{criterion_group, criterion_main, Criterion};
use num_complex::Complex32;
use qwave_dsp::channel::{ChannelSim, Node, Scenario};
use std::hint::black_box;

fn bench_channel(c: &mut Criterion) {
    let sc = Scenario::walk();
    let mut sim = ChannelSim::new(&sc, 1);
    // A 400-sample (20 µs) burst, the length of the 802.11 legacy preamble + L-SIG.
    let tx: Vec<Complex32> = (0..400)
        .map(|n| Complex32::from_polar(1.0, n as f32 * 0.37))
        .collect();
    let mut out = Vec::with_capacity(1024);
    let mut k = 0u64;
    c.bench_function("channel/propagate_400_walk", |b| {
        b.iter(|| {
            k += 1;
            sim.propagate(
                Node::Alice,
                Node::Bob,
                sc.alice_probe_time_s(k),
                black_box(&tx),
                100,
                100,
                &mut out,
            );
            black_box(&out);
        })
    });
    c.bench_function("channel/true_response_walk", |b| {
        b.iter(|| black_box(sim.true_response(Node::Alice, Node::Eve(0), black_box(0.123))))
    });
    c.bench_function("channel/capacity_walk", |b| {
        b.iter(|| black_box(sim.capacity()))
    });
}

criterion_group!(benches, bench_channel);
criterion_main!(benches);
