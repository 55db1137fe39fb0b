//! End to end on the simulated `walk` scenario: IQ-level probing, three
//! receivers, the two-party session with Cascade, Eve. Times a 10 s run and
//! prints the confirmed key rate next to the simulator's capacity estimate.

use criterion::{criterion_group, criterion_main, Criterion};
use qwave::pipeline::{simulate_keygen, SimOptions};
use qwave::session::SessionConfig;
use qwave_dsp::channel::Scenario;

fn opts(seconds: f64, seed: u64) -> SimOptions {
    SimOptions {
        scenario: Scenario::walk(),
        seconds,
        seed,
        session: SessionConfig::default(),
        progress: false,
        refill: None,
    }
}

fn end_to_end(c: &mut Criterion) {
    // Key rate against capacity over a longer run, printed once.
    let (mut bits, mut secs) = (0u64, 0f64);
    let mut cap = 0.0;
    for seed in 1..=4 {
        let r = simulate_keygen(&opts(60.0, seed), &[1; 32]);
        bits += r.final_key_bits;
        secs += r.channel_seconds;
        cap = r.capacity_bps.unwrap_or(0.0);
        assert!(r.keys_match);
    }
    eprintln!(
        "end_to_end walk: {:.1} bit/s of confirmed key over {secs:.0} s of air time (capacity estimate {cap:.1} bit/s, {:.1} %)",
        bits as f64 / secs,
        100.0 * bits as f64 / secs / cap
    );
    let mut g = c.benchmark_group("end_to_end");
    g.sample_size(10);
    g.bench_function("walk_10s_air", |b| {
        b.iter(|| simulate_keygen(&opts(10.0, 1), &[1; 32]))
    });
    g.finish();
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
