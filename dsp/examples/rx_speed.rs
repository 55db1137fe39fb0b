//! Quick per-probe receive timing for profiling (`cargo run --release -p qwave-dsp --example
//! rx_speed`); the criterion benchmark `benches/dsp_rx.rs` is the reference measurement.

use num_complex::Complex32;
use qwave_dsp::lsig::LSig;
use qwave_dsp::preamble::probe_waveform;
use qwave_dsp::rx::{Receiver, RxConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // the same window as `benches/dsp_rx.rs` (which first draws 2^20 noise samples)
    for _ in 0..2 << 20 {
        rng.random_range(-1.0f32..1.0);
    }
    let mut win: Vec<Complex32> = (0..480)
        .map(|_| {
            Complex32::new(
                rng.random_range(-1.0f32..1.0) * 0.17,
                rng.random_range(-1.0f32..1.0) * 0.17,
            )
        })
        .collect();
    for (j, v) in probe_waveform(&LSig::for_probe(77)).iter().enumerate() {
        win[40 + j] += v;
    }
    let mut rx = Receiver::new(RxConfig::default());
    match rx.receive(&win) {
        Ok(f) => println!(
            "ltf_start {} cfo {:.1} Hz snr {:.1} dB",
            f.ltf_start, f.cfo_hz, f.snr_db
        ),
        Err(e) => println!("not received: {e}"),
    }
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3_000_000);
    let t = Instant::now();
    for _ in 0..n {
        black_box(rx.receive(black_box(&win)).is_ok());
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{:.0} probes/s ({:.3} µs/probe)",
        n as f64 / s,
        s * 1e6 / n as f64
    );
}
