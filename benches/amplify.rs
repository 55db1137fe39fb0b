//! Privacy amplification throughput (input bits per second).
//!
//! Target: ≥ 100 Mbit/s of input at n = 2²⁰, ℓ = n/2 on one core (HiLS, Tang et al. 2019,
//! reports ~71 Mbit/s on a CPU). Run: `cargo bench --bench amplify -- --measurement-time 5`.
//! Throughput is in elements = input bits, so `Melem/s` reads as Mbit/s of input.
//!
//! Each method is benchmarked side by side (`fft`, `carryless` = PCLMULQDQ when present,
//! `carryless_portable` = software carry-less multiply). Two groups: `toeplitz` is wall-clock
//! time; `toeplitz_cpu` (Linux) is the calling thread's CPU time, which stays meaningful on a
//! machine shared with other jobs.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qwave::amplify::{confirmation_tag, ConfirmRole, Method, ToeplitzHasher};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

const SHAPES_LOG2: [u32; 2] = [16, 20];

const METHODS: [(&str, Method); 3] = [
    ("fft", Method::Fft),
    ("carryless", Method::CarryLess),
    ("carryless_portable", Method::CarryLessPortable),
];

fn random_bits(rng: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.random_range(0..2u8)).collect()
}

/// A hasher for n = 2^log_n, ℓ = n/2 with a random seed and input.
fn setup(log_n: u32, method: Method) -> (ToeplitzHasher, Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(0xA3F1 + u64::from(log_n));
    let n = 1usize << log_n;
    let hasher = ToeplitzHasher::new_with(n, n / 2, method).expect("valid shape");
    let seed = random_bits(&mut rng, hasher.seed_bits());
    let input = random_bits(&mut rng, n);
    (hasher, seed, input, Vec::with_capacity(n / 2))
}

fn bench_toeplitz(c: &mut Criterion) {
    let mut group = c.benchmark_group("toeplitz");
    group.sample_size(20);
    for log_n in SHAPES_LOG2 {
        for (name, method) in METHODS {
            let (mut hasher, seed, input, mut out) = setup(log_n, method);
            group.throughput(Throughput::Elements(1 << log_n));
            group.bench_function(BenchmarkId::new(name, format!("2^{log_n}")), |b| {
                b.iter(|| {
                    hasher.hash(&seed, &input, &mut out).expect("hash succeeds");
                    std::hint::black_box(&out);
                })
            });
        }
    }
    group.finish();
}

/// CPU time consumed by the calling thread.
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(target_os = "linux")]
fn bench_toeplitz_cpu(c: &mut Criterion) {
    let mut group = c.benchmark_group("toeplitz_cpu");
    group.sample_size(20);
    for log_n in SHAPES_LOG2 {
        for (name, method) in METHODS {
            let (mut hasher, seed, input, mut out) = setup(log_n, method);
            group.throughput(Throughput::Elements(1 << log_n));
            group.bench_function(BenchmarkId::new(name, format!("2^{log_n}")), |b| {
                b.iter_custom(|iters| {
                    let start = thread_cpu_time();
                    for _ in 0..iters {
                        hasher.hash(&seed, &input, &mut out).expect("hash succeeds");
                        std::hint::black_box(&out);
                    }
                    thread_cpu_time() - start
                })
            });
        }
    }
    group.finish();
}

#[cfg(not(target_os = "linux"))]
fn bench_toeplitz_cpu(_c: &mut Criterion) {}

fn bench_confirm(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let key = random_bits(&mut rng, 256);
    let (na, nb) = ([1u8; 16], [2u8; 16]);
    c.bench_function("confirmation_tag_256bit_key", |b| {
        b.iter(|| std::hint::black_box(confirmation_tag(&key, ConfirmRole::Alice, &na, &nb)))
    });
}

criterion_group!(benches, bench_toeplitz, bench_toeplitz_cpu, bench_confirm);
criterion_main!(benches);
