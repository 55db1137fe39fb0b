//! Preprocessing: normalization, DCT/PCA decorrelation, time decimation,
//! auto stride and Pearson correlation.

use qwave::extract::{
    auto_stride, pearson, preprocess, stride_for, Decorrelate, ExtractError, FeatureBlock,
    PreprocessConfig, TimeDecimation,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Rows independent in time; across the `cols` columns each row is a
/// stationary AR(1) curve with coefficient `a` (a smooth random frequency
/// response), offset by a fixed per-column profile.
fn smooth_curves(rows: usize, cols: usize, a: f64, seed: u64) -> FeatureBlock {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let s = (1.0 - a * a).sqrt();
    let mut data = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        let mut v: f64 = StandardNormal.sample(&mut rng);
        for c in 0..cols {
            if c > 0 {
                let e: f64 = StandardNormal.sample(&mut rng);
                v = a * v + s * e;
            }
            data.push(3.0 + (c as f64 * 0.2).sin() + 0.5 * v);
        }
    }
    FeatureBlock { rows, cols, data }
}

/// `cols` independent AR(1) processes in time with coefficient `a`.
fn ar1_in_time(rows: usize, cols: usize, a: f64, seed: u64) -> FeatureBlock {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let s = (1.0 - a * a).sqrt();
    let mut state: Vec<f64> = (0..cols).map(|_| StandardNormal.sample(&mut rng)).collect();
    let mut data = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        for v in state.iter_mut() {
            let e: f64 = StandardNormal.sample(&mut rng);
            *v = a * *v + s * e;
            data.push(*v);
        }
    }
    FeatureBlock { rows, cols, data }
}

fn column(data: &[f64], dims: usize, j: usize) -> Vec<f64> {
    data.iter().skip(j).step_by(dims).copied().collect()
}

/// Largest |correlation| between two distinct columns, and the mean of them.
fn off_diagonal(data: &[f64], dims: usize) -> (f64, f64) {
    let cols: Vec<Vec<f64>> = (0..dims).map(|j| column(data, dims, j)).collect();
    let (mut max, mut sum, mut n) = (0.0f64, 0.0, 0);
    for i in 0..dims {
        for j in i + 1..dims {
            let r = pearson(&cols[i], &cols[j]).abs();
            max = max.max(r);
            sum += r;
            n += 1;
        }
    }
    (max, sum / n as f64)
}

fn cfg(normalize: bool, decorrelate: Decorrelate) -> PreprocessConfig {
    PreprocessConfig {
        normalize,
        decorrelate,
        time_decimation: TimeDecimation::None,
    }
}

#[test]
fn dct_decorrelates_smooth_curves() {
    let block = smooth_curves(4000, 52, 0.95, 21);
    let (in_max, in_mean) = off_diagonal(&block.data, 52);
    assert!(in_max > 0.9 && in_mean > 0.3, "input {in_max} {in_mean}");
    let keep = 12;
    let out = preprocess(&block, &cfg(true, Decorrelate::Dct { keep }), 1).unwrap();
    assert_eq!(out.len(), 4000 * keep);
    let (max, mean) = off_diagonal(&out, keep);
    eprintln!("DCT: input max {in_max:.3} mean {in_mean:.3} → max {max:.3} mean {mean:.3}");
    // DCT-II only approximates the KLT of an AR(1) curve at a = 0.95: the
    // largest residual (≈ 0.25, between low even coefficients) stays; the
    // mean |correlation| drops ~17×.
    assert!(max < 0.3 && mean < 0.04, "DCT output max {max} mean {mean}");
    // Output dimensions are standardized.
    for j in 0..keep {
        let c = column(&out, keep, j);
        let m = c.iter().sum::<f64>() / c.len() as f64;
        let v = c.iter().map(|x| (x - m).powi(2)).sum::<f64>() / c.len() as f64;
        assert!(m.abs() < 1e-9 && (v - 1.0).abs() < 1e-9);
    }
}

#[test]
fn pca_diagonalizes_block_covariance() {
    let block = smooth_curves(3000, 52, 0.95, 22);
    for normalize in [false, true] {
        let keep = 10;
        let out = preprocess(&block, &cfg(normalize, Decorrelate::Pca { keep }), 1).unwrap();
        let (max, _) = off_diagonal(&out, keep);
        assert!(
            max < 1e-8,
            "PCA (normalize={normalize}) max off-diagonal {max}"
        );
        if !normalize {
            // Components come out in decreasing variance.
            let var = |j| {
                let c = column(&out, keep, j);
                c.iter().map(|x| x * x).sum::<f64>() / c.len() as f64
            };
            for j in 1..keep {
                assert!(var(j) <= var(j - 1) * (1.0 + 1e-9));
            }
        }
    }
}

#[test]
fn pca_signs_are_reproducible_across_parties() {
    // Bob sees Alice's curves plus small noise: his components must match
    // Alice's in order and sign (strong positive correlation).
    let alice = smooth_curves(3000, 52, 0.95, 23);
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    let bob = FeatureBlock {
        data: alice
            .data
            .iter()
            .map(|v| {
                let e: f64 = StandardNormal.sample(&mut rng);
                v + 0.02 * e
            })
            .collect::<Vec<f64>>(),
        ..alice.clone()
    };
    let c = cfg(false, Decorrelate::Pca { keep: 4 });
    let (a, b) = (
        preprocess(&alice, &c, 1).unwrap(),
        preprocess(&bob, &c, 1).unwrap(),
    );
    for j in 0..4 {
        let r = pearson(&column(&a, 4, j), &column(&b, 4, j));
        assert!(r > 0.95, "component {j}: ρ = {r}");
    }
}

#[test]
fn auto_stride_matches_ar1_lag() {
    // a^L first drops below the threshold at L = ceil(ln th / ln a);
    // thresholds sit between a^(L−1) and a^L.
    for (a, threshold, expected) in [(0.9, 0.5, 7), (0.8, 0.3, 6), (0.5, 0.2, 3)] {
        let block = ar1_in_time(20_000, 4, a, 25);
        assert_eq!(auto_stride(&block, threshold), expected, "a = {a}");
    }
    // White noise decorrelates at lag 1.
    let block = ar1_in_time(5000, 2, 0.0, 26);
    assert_eq!(auto_stride(&block, 0.5), 1);
    // Degenerate inputs give stride 1.
    let flat = FeatureBlock {
        rows: 10,
        cols: 1,
        data: vec![1.0; 10],
    };
    assert_eq!(auto_stride(&flat, 0.5), 1);
    assert_eq!(auto_stride(&block, f64::NAN), 1);
}

#[test]
fn stride_for_follows_config() {
    let block = ar1_in_time(20_000, 3, 0.9, 27);
    let mut c = cfg(true, Decorrelate::None);
    assert_eq!(stride_for(&block, &c).unwrap(), 1);
    c.time_decimation = TimeDecimation::Fixed(0);
    assert_eq!(stride_for(&block, &c).unwrap(), 1);
    c.time_decimation = TimeDecimation::Fixed(5);
    assert_eq!(stride_for(&block, &c).unwrap(), 5);
    c.time_decimation = TimeDecimation::Auto { threshold: 0.5 };
    assert_eq!(stride_for(&block, &c).unwrap(), 7);
}

#[test]
fn decimation_keeps_every_stride_th_row_time_major() {
    let rows = 10;
    let cols = 3;
    let data: Vec<f64> = (0..rows * cols).map(|i| i as f64).collect();
    let block = FeatureBlock { rows, cols, data };
    let out = preprocess(&block, &cfg(false, Decorrelate::None), 3).unwrap();
    // Rows 0, 3, 6, 9.
    let expect: Vec<f64> = [0, 3, 6, 9]
        .iter()
        .flat_map(|r| (0..cols).map(move |c| (r * cols + c) as f64))
        .collect();
    assert_eq!(out, expect);
}

#[test]
fn bad_blocks_get_typed_errors() {
    let ok = FeatureBlock {
        rows: 4,
        cols: 2,
        data: vec![0.5; 8],
    };
    let c = cfg(true, Decorrelate::None);
    let short = FeatureBlock {
        data: vec![0.0; 7],
        ..ok.clone()
    };
    assert!(matches!(
        preprocess(&short, &c, 1),
        Err(ExtractError::ShapeMismatch {
            expected: 8,
            got: 7,
            ..
        })
    ));
    let mut nan = ok.clone();
    nan.data[5] = f64::NAN;
    assert_eq!(
        preprocess(&nan, &c, 1),
        Err(ExtractError::NonFinite { row: 2, col: 1 })
    );
    let one_row = FeatureBlock {
        rows: 1,
        cols: 2,
        data: vec![1.0, 2.0],
    };
    assert!(matches!(
        preprocess(&one_row, &c, 1),
        Err(ExtractError::TooSmall { .. })
    ));
    assert_eq!(preprocess(&ok, &c, 0), Err(ExtractError::ZeroStride));
    for d in [Decorrelate::Dct { keep: 0 }, Decorrelate::Pca { keep: 3 }] {
        assert!(matches!(
            preprocess(&ok, &cfg(true, d), 1),
            Err(ExtractError::BadKeep { .. })
        ));
    }
    // A constant column normalizes to zeros instead of dividing by zero.
    let out = preprocess(&ok, &c, 1).unwrap();
    assert!(out.iter().all(|v| *v == 0.0));
}

#[test]
fn pearson_known_values() {
    let a = [1.0, 2.0, 3.0, 4.0];
    assert!((pearson(&a, &[2.0, 4.0, 6.0, 8.0]) - 1.0).abs() < 1e-12);
    assert!((pearson(&a, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    assert!((pearson(&a, &[1.0, 3.0, 2.0, 4.0]) - 0.8).abs() < 1e-12);
    assert!(pearson(&a, &[1.0, 2.0]).is_nan());
    assert!(pearson(&a, &[1.0; 4]).is_nan());
    assert!(pearson(&[1.0], &[1.0]).is_nan());
}

mod robustness {
    use proptest::prelude::*;
    use qwave::extract::{
        auto_stride, preprocess, stride_for, Decorrelate, FeatureBlock, PreprocessConfig,
        TimeDecimation,
    };

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Arbitrary shapes, values, keeps and strides: a result or a typed
        /// error, never a panic; successful output has the documented length.
        #[test]
        fn preprocess_never_panics(
            rows in 0usize..40,
            cols in 0usize..12,
            extra in 0usize..2,
            values in prop::collection::vec(prop_oneof![9 => -1e3f64..1e3, 1 => Just(f64::NAN)], 0..500),
            keep in 0usize..14,
            stride in 0usize..6,
            mode in 0u8..3,
            normalize in any::<bool>(),
            threshold in -1.0f64..1.5,
        ) {
            let len = (rows * cols + extra).min(values.len());
            let block = FeatureBlock { rows, cols, data: values[..len].to_vec() };
            let decorrelate = match mode {
                0 => Decorrelate::None,
                1 => Decorrelate::Dct { keep },
                _ => Decorrelate::Pca { keep },
            };
            let cfg = PreprocessConfig {
                normalize,
                decorrelate,
                time_decimation: TimeDecimation::Auto { threshold },
            };
            if let Ok(out) = preprocess(&block, &cfg, stride) {
                let dims = if mode == 0 { cols } else { keep };
                prop_assert_eq!(out.len(), rows.div_ceil(stride) * dims);
                prop_assert!(out.iter().all(|v| v.is_finite()));
            }
            if let Ok(s) = stride_for(&block, &cfg) {
                prop_assert!(s >= 1);
            }
            prop_assert!(auto_stride(&block, threshold) >= 1);
        }
    }
}
