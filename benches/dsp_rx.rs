//! Receiver throughput: `scan` over continuous IQ (noise with a few probes; target ≥ 200 MS/s on
//! one core) and `receive` of one probe window (target ≥ 1,000,000 probes/s on one core).
//!
//! Each benchmark runs twice: with wall-clock time (`dsp_rx/…`) and with this thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`, `dsp_rx_cpu/…`), which stays meaningful when the machine is
//! shared and the thread is descheduled.

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use num_complex::Complex32;
use qwave_dsp::lsig::LSig;
use qwave_dsp::preamble::probe_waveform;
use qwave_dsp::rx::{Receiver, RxConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

fn noise(rng: &mut ChaCha8Rng, n: usize, std: f32) -> Vec<Complex32> {
    (0..n)
        .map(|_| {
            Complex32::new(
                rng.random_range(-1.0f32..1.0) * std,
                rng.random_range(-1.0f32..1.0) * std,
            )
        })
        .collect()
}

/// CPU time of the calling thread in ns (`CLOCK_THREAD_CPUTIME_ID`), 0 if unavailable.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if r != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Criterion measurement: thread CPU time.
struct ThreadCpu;
struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (f, u) = if ns < 1e3 {
            (1.0, "ns")
        } else if ns < 1e6 {
            (1e-3, "µs")
        } else {
            (1e-6, "ms")
        };
        for v in values {
            *v *= f;
        }
        u
    }
    fn scale_throughputs(&self, ns: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let elems = match *t {
            Throughput::Elements(e) | Throughput::ElementsAndBytes { elements: e, .. } => e,
            Throughput::Bytes(b) | Throughput::BytesDecimal(b) => b,
            Throughput::Bits(b) => b,
        } as f64;
        let per_s = elems * 1e9 / ns;
        let (f, u) = if per_s < 1e3 {
            (1.0, "elem/s (cpu)")
        } else if per_s < 1e6 {
            (1e-3, "Kelem/s (cpu)")
        } else {
            (1e-6, "Melem/s (cpu)")
        };
        for v in values {
            *v = elems * 1e9 / *v * f;
        }
        u
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns().saturating_sub(i)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

fn bench_wall(c: &mut Criterion) {
    bench(c, "dsp_rx");
}

fn bench_cpu(c: &mut Criterion<ThreadCpu>) {
    if thread_cpu_ns() == 0 {
        eprintln!("no thread CPU clock: skipping CPU-time benchmarks");
        return;
    }
    bench(c, "dsp_rx_cpu");
}

fn bench<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // 1 M samples (50 ms) of noise with 10 probes at ~20 dB SNR
    let n = 1 << 20;
    let mut iq = noise(&mut rng, n, 0.17);
    for i in 0..10 {
        let p = probe_waveform(&LSig::for_probe(i));
        let s = 5_000 + i as usize * 100_000;
        for (j, v) in p.iter().enumerate() {
            iq[s + j] += v;
        }
    }
    let mut rx = Receiver::new(RxConfig::default());
    let mut out = Vec::with_capacity(64);
    rx.scan(&iq, &mut out);
    assert_eq!(out.len(), 10);

    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("scan_1Msamples_10probes", |b| {
        b.iter(|| {
            out.clear();
            rx.scan(black_box(&iq), &mut out);
            black_box(out.len())
        })
    });

    // one 480-sample window with the probe 40 samples in
    let mut win = noise(&mut rng, 480, 0.17);
    for (j, v) in probe_waveform(&LSig::for_probe(77)).iter().enumerate() {
        win[40 + j] += v;
    }
    assert!(rx.receive(&win).is_ok());
    g.throughput(Throughput::Elements(1));
    g.bench_function("receive_probe_window_480", |b| {
        b.iter(|| black_box(rx.receive(black_box(&win))).is_ok())
    });
    g.finish();
}

criterion_group!(wall, bench_wall);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench_cpu
}
criterion_main!(wall, cpu);
