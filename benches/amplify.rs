//! Privacy amplification throughput (input bits per second).
//!
//! Target: ≥ 100 Mbit/s of input at n = 2²⁰, ℓ = n/2 on one core (HiLS, Tang et al. 2019,
//! reports ~71 Mbit/s on a CPU). Run: `cargo bench --bench amplify -- --measurement-time 5`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qwave::amplify::{confirmation_tag, ConfirmRole, ToeplitzHasher};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_bits(rng: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.random_range(0..2u8)).collect()
}

fn bench_toeplitz(c: &mut Criterion) {
    let mut group = c.benchmark_group("toeplitz_fft");
    group.sample_size(20);
    let mut rng = ChaCha8Rng::seed_from_u64(0xA3F1);
    for log_n in [16u32, 20] {
        let n = 1usize << log_n;
        let l = n / 2;
        let mut hasher = ToeplitzHasher::new(n, l).expect("valid shape");
        let seed = random_bits(&mut rng, hasher.seed_bits());
        let input = random_bits(&mut rng, n);
        let mut out = Vec::with_capacity(l);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(
            BenchmarkId::new("n_in_l_half", format!("2^{log_n}")),
            &n,
            |b, _| {
                b.iter(|| {
                    hasher.hash(&seed, &input, &mut out).expect("hash succeeds");
                    std::hint::black_box(&out);
                })
            },
        );
    }
    group.finish();
}

fn bench_confirm(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let key = random_bits(&mut rng, 256);
    let (na, nb) = ([1u8; 16], [2u8; 16]);
    c.bench_function("confirmation_tag_256bit_key", |b| {
        b.iter(|| std::hint::black_box(confirmation_tag(&key, ConfirmRole::Alice, &na, &nb)))
    });
}

criterion_group!(benches, bench_toeplitz, bench_confirm);
criterion_main!(benches);
