//! Extraction stage throughput: preprocessing, quantization, entropy estimation.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use qwave::extract::{
    auto_stride, bits_per_sample_for, estimate_min_entropy, merge_drop_lists, new_quantizer,
    preprocess, Decorrelate, FeatureBlock, PreprocessConfig, QuantizerKind, TimeDecimation,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

const ROWS: usize = 1000;
const COLS: usize = 52;

fn csi_block(seed: u64) -> FeatureBlock {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data = (0..ROWS * COLS)
        .map(|_| {
            let e: f64 = StandardNormal.sample(&mut rng);
            1.0 + 0.1 * e
        })
        .collect();
    FeatureBlock {
        rows: ROWS,
        cols: COLS,
        data,
    }
}

fn bench(c: &mut Criterion) {
    let block = csi_block(1);
    for (name, decorrelate) in [
        ("none", Decorrelate::None),
        ("dct16", Decorrelate::Dct { keep: 16 }),
        ("pca16", Decorrelate::Pca { keep: 16 }),
    ] {
        let cfg = PreprocessConfig {
            normalize: true,
            decorrelate,
            time_decimation: TimeDecimation::None,
        };
        c.bench_function(&format!("preprocess_1000x52_{name}"), |b| {
            b.iter(|| preprocess(black_box(&block), &cfg, 1))
        });
    }
    c.bench_function("auto_stride_1000x52", |b| {
        b.iter(|| auto_stride(black_box(&block), 0.5))
    });

    let samples: Vec<f64> = {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        (0..16_000)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect()
    };
    let eq = new_quantizer(QuantizerKind::Equiprobable, 3, 0.0);
    c.bench_function("quantize_equiprobable_16k_3bit", |b| {
        b.iter(|| eq.quantize(black_box(&samples), &[]))
    });
    let gb = new_quantizer(QuantizerKind::GuardBand, 3, 0.3);
    c.bench_function("guard_band_drop_and_quantize_16k_3bit", |b| {
        b.iter(|| {
            let list = gb.drop_list(black_box(&samples));
            let union = merge_drop_lists(&list, &[]);
            gb.quantize(&samples, &union)
        })
    });

    let bits: Vec<u8> = {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        (0..100_000).map(|_| rng.random_range(0..2u8)).collect()
    };
    c.bench_function("min_entropy_1e5_bits", |b| {
        b.iter(|| estimate_min_entropy(black_box(&bits)))
    });
    c.bench_function("bits_per_sample_for", |b| {
        b.iter(|| bits_per_sample_for(black_box(0.93)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
