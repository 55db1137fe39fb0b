//! Quantizers (equiprobable, guard band), Gray coding and the bits-per-sample rule.

use qwave::extract::{
    bits_per_sample_for, gray_decode, gray_disagreement, gray_encode, merge_drop_lists,
    new_quantizer, Quantized, QuantizerKind,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Alice/Bob samples: standard bivariate Gaussian with correlation `rho`.
fn gaussian_pairs(n: usize, rho: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let s = (1.0 - rho * rho).sqrt();
    (0..n)
        .map(|_| {
            let x: f64 = StandardNormal.sample(&mut rng);
            let z: f64 = StandardNormal.sample(&mut rng);
            (x, rho * x + s * z)
        })
        .unzip()
}

fn disagreement(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).filter(|(x, y)| x != y).count() as f64 / a.len() as f64
}

/// Levels back from the Gray-coded bits (MSB first).
fn levels(q: &Quantized) -> Vec<u32> {
    q.bits
        .chunks_exact(q.bits_per_sample as usize)
        .map(|c| gray_decode(c.iter().fold(0u32, |acc, &b| (acc << 1) | b as u32)))
        .collect()
}

fn natural_bits(levels: &[u32], k: u8) -> Vec<u8> {
    levels
        .iter()
        .flat_map(|&l| (0..k).rev().map(move |p| ((l >> p) & 1) as u8))
        .collect()
}

#[test]
fn equiprobable_levels_have_equal_frequency() {
    let (a, _) = gaussian_pairs(48_000, 0.0, 11);
    for k in 1..=4u8 {
        let q = new_quantizer(QuantizerKind::Equiprobable, k, 0.0);
        assert_eq!(q.kind(), QuantizerKind::Equiprobable);
        assert!(q.drop_list(&a).is_empty());
        let out = q.quantize(&a, &[]);
        assert_eq!(out.bits_per_sample, k);
        assert_eq!(out.bits.len(), a.len() * k as usize);
        assert_eq!(out.soft.len(), out.bits.len());
        let mut counts = vec![0usize; 1 << k];
        for l in levels(&out) {
            counts[l as usize] += 1;
        }
        let expect = a.len() / (1 << k);
        for (l, &c) in counts.iter().enumerate() {
            assert!(c.abs_diff(expect) <= 1, "k={k} level {l}: {c} vs {expect}");
        }
        // Output bits are unbiased.
        let ones = out.bits.iter().filter(|&&b| b == 1).count() as f64 / out.bits.len() as f64;
        assert!((ones - 0.5).abs() < 0.01, "k={k}: {ones}");
    }
}

#[test]
fn gray_code_adjacent_levels_differ_in_one_bit() {
    for k in 1..=8u32 {
        for l in 0..(1u32 << k) - 1 {
            assert_eq!((gray_encode(l) ^ gray_encode(l + 1)).count_ones(), 1);
        }
    }
    // Quantizing 16 ascending samples at 4 bits walks the Gray sequence.
    let samples: Vec<f64> = (0..16).map(f64::from).collect();
    let out = new_quantizer(QuantizerKind::Equiprobable, 4, 0.0).quantize(&samples, &[]);
    for (l, chunk) in out.bits.chunks_exact(4).enumerate() {
        let code = chunk.iter().fold(0u32, |acc, &b| (acc << 1) | b as u32);
        assert_eq!(code, gray_encode(l as u32));
    }
}

#[test]
fn gray_disagrees_less_than_natural_binary() {
    let (a, b) = gaussian_pairs(40_000, 0.9, 12);
    for k in 2..=4u8 {
        let q = new_quantizer(QuantizerKind::Equiprobable, k, 0.0);
        let (qa, qb) = (q.quantize(&a, &[]), q.quantize(&b, &[]));
        let gray = disagreement(&qa.bits, &qb.bits);
        let natural = disagreement(
            &natural_bits(&levels(&qa), k),
            &natural_bits(&levels(&qb), k),
        );
        assert!(gray < natural, "k={k}: gray {gray} natural {natural}");
        // And the simulation agrees with the analytic model.
        let model = gray_disagreement(k, 0.9);
        assert!(
            (gray - model).abs() < 0.01,
            "k={k}: {gray} vs model {model}"
        );
    }
}

#[test]
fn guard_band_lowers_disagreement() {
    let (a, b) = gaussian_pairs(40_000, 0.9, 13);
    for k in 1..=3u8 {
        let plain = new_quantizer(QuantizerKind::Equiprobable, k, 0.0);
        let base = disagreement(&plain.quantize(&a, &[]).bits, &plain.quantize(&b, &[]).bits);
        let guard = new_quantizer(QuantizerKind::GuardBand, k, 0.5);
        assert_eq!(guard.kind(), QuantizerKind::GuardBand);
        let union = merge_drop_lists(&guard.drop_list(&a), &guard.drop_list(&b));
        let (qa, qb) = (guard.quantize(&a, &union), guard.quantize(&b, &union));
        assert_eq!(qa.bits.len(), (a.len() - union.len()) * k as usize);
        let with_guard = disagreement(&qa.bits, &qb.bits);
        eprintln!(
            "k={k}: plain {base:.4}, guard(0.5) {with_guard:.4}, dropped {}",
            union.len()
        );
        assert!(
            with_guard < 0.8 * base,
            "k={k}: guard {with_guard} vs plain {base}"
        );
    }
}

#[test]
fn dropped_fraction_grows_with_guard_fraction() {
    let (a, _) = gaussian_pairs(20_000, 0.0, 14);
    for k in 1..=3u8 {
        let mut last = 0.0;
        for alpha in [0.0, 0.1, 0.3, 0.5, 0.8] {
            let q = new_quantizer(QuantizerKind::GuardBand, k, alpha);
            let list = q.drop_list(&a);
            assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
            let frac = list.len() as f64 / a.len() as f64;
            // Each level gives up the fraction α of its samples.
            assert!((frac - alpha).abs() < 0.002, "k={k} α={alpha}: {frac}");
            if alpha > 0.0 {
                assert!(frac > last, "k={k} α={alpha}");
            }
            last = frac;
        }
    }
}

#[test]
fn guard_band_keeps_levels_equiprobable() {
    // Every level gives up the same share, so the kept levels (and hence the
    // Gray bits) stay balanced.
    let (a, _) = gaussian_pairs(40_000, 0.0, 17);
    for k in 1..=3u8 {
        let q = new_quantizer(QuantizerKind::GuardBand, k, 0.4);
        let out = q.quantize(&a, &q.drop_list(&a));
        let lv = levels(&out);
        let mut counts = vec![0usize; 1 << k];
        for l in &lv {
            counts[*l as usize] += 1;
        }
        let expect = lv.len() as f64 / f64::from(1u32 << k);
        for (l, &c) in counts.iter().enumerate() {
            assert!(
                (c as f64 - expect).abs() <= 2.0,
                "k={k} level {l}: {c} vs {expect}"
            );
        }
    }
}

#[test]
fn soft_values_follow_sign_convention_and_flag_errors() {
    let (a, b) = gaussian_pairs(20_000, 0.9, 15);
    let q = new_quantizer(QuantizerKind::Equiprobable, 2, 0.0);
    let (qa, qb) = (q.quantize(&a, &[]), q.quantize(&b, &[]));
    for (bit, soft) in qa.bits.iter().zip(&qa.soft) {
        assert_eq!(*bit == 1, *soft > 0.0, "bit {bit} soft {soft}");
    }
    // Bits that disagree sit closer to their edge than bits that agree.
    let (mut wrong, mut nw, mut right, mut nr) = (0.0f64, 0usize, 0.0f64, 0usize);
    for i in 0..qa.bits.len() {
        if qa.bits[i] == qb.bits[i] {
            right += f64::from(qa.soft[i].abs());
            nr += 1;
        } else {
            wrong += f64::from(qa.soft[i].abs());
            nw += 1;
        }
    }
    let (mean_wrong, mean_right) = (wrong / nw as f64, right / nr as f64);
    assert!(
        mean_wrong < 0.5 * mean_right,
        "{mean_wrong} vs {mean_right}"
    );
}

#[test]
fn hostile_drop_lists_are_harmless() {
    let (a, _) = gaussian_pairs(100, 0.0, 16);
    let q = new_quantizer(QuantizerKind::GuardBand, 2, 0.3);
    let out = q.quantize(&a, &[3, 3, 99, 100, u32::MAX]);
    // Index 3 twice and 99 are in range, the rest is ignored: 98 kept.
    assert_eq!(out.bits.len(), 98 * 2);
    let empty = q.quantize(&[], &[]);
    assert!(empty.bits.is_empty());
    // Out-of-range parameters are clamped, not rejected.
    let q = new_quantizer(QuantizerKind::GuardBand, 0, f64::NAN);
    assert_eq!(q.quantize(&a, &[]).bits_per_sample, 1);
    assert!(q.drop_list(&a).is_empty());
}

#[test]
fn gray_disagreement_one_bit_matches_sheppard() {
    for rho in [0.0, 0.3, 0.6, 0.9, 0.99] {
        let p = gray_disagreement(1, rho);
        let exact = rho.acos() / std::f64::consts::PI;
        assert!((p - exact).abs() < 1e-5, "ρ={rho}: {p} vs {exact}");
    }
    // More bits per sample → more disagreement per bit at fixed ρ.
    for k in 1..4u8 {
        assert!(gray_disagreement(k + 1, 0.9) > gray_disagreement(k, 0.9));
    }
}

#[test]
fn bits_per_sample_is_monotone_in_rho() {
    let mut last = 1u8;
    let mut seen = Vec::new();
    for i in 0..=400 {
        let rho = f64::from(i) / 400.0;
        let k = bits_per_sample_for(rho);
        assert!((1..=4).contains(&k));
        assert!(k >= last, "ρ={rho}: {k} < {last}");
        last = k;
        if !seen.contains(&k) {
            eprintln!("bits_per_sample_for: {k} from ρ = {rho}");
            seen.push(k);
        }
    }
    // The rule spans the whole range, low ρ → 1 bit, ρ → 1 → 4 bits.
    assert_eq!(seen, vec![1, 2, 3, 4]);
    assert_eq!(bits_per_sample_for(f64::NAN), 1);
    assert_eq!(bits_per_sample_for(-0.5), 1);
}

mod robustness {
    use proptest::prelude::*;
    use qwave::extract::{estimate_min_entropy, new_quantizer, QuantizerKind};

    fn any_value() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => -1e6f64..1e6,
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(0.0),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any samples and any peer drop list: no panic, and the output has
        /// bits_per_sample bits per sample not dropped.
        #[test]
        fn quantizers_never_panic(
            samples in prop::collection::vec(any_value(), 0..300),
            dropped in prop::collection::vec(0u32..400, 0..50),
            bits in 0u8..12,
            guard in -1.0f64..2.0,
            guard_band in any::<bool>(),
        ) {
            let kind = if guard_band { QuantizerKind::GuardBand } else { QuantizerKind::Equiprobable };
            let q = new_quantizer(kind, bits, guard);
            let list = q.drop_list(&samples);
            prop_assert!(list.iter().all(|&i| (i as usize) < samples.len()));
            let out = q.quantize(&samples, &dropped);
            let mut unique: Vec<u32> = dropped.iter().copied().filter(|&i| (i as usize) < samples.len()).collect();
            unique.sort_unstable();
            unique.dedup();
            let kept = samples.len() - unique.len();
            prop_assert_eq!(out.bits.len(), kept * out.bits_per_sample as usize);
            prop_assert_eq!(out.soft.len(), out.bits.len());
            prop_assert!(out.bits.iter().all(|&b| b <= 1));
        }

        /// Any byte string: a report or a typed error, never a panic.
        #[test]
        fn entropy_never_panics(
            bits in prop::collection::vec(prop_oneof![500 => 0u8..2, 1 => Just(7u8)], 0..3000),
        ) {
            if let Ok(r) = estimate_min_entropy(&bits) {
                prop_assert!(r.min >= 0.0 && r.min <= 1.0);
            }
        }
    }
}

/// Per-column edges: two columns with differently shaped distributions (a
/// Gaussian and a skewed exponential, both standardized) each get equiprobable
/// levels; one set of pooled edges would bias the skewed column's levels.
#[test]
fn column_quantizer_balances_each_column() {
    use qwave::extract::new_column_quantizer;
    use rand_distr::Exp;
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let rows = 4000;
    let mut samples = Vec::with_capacity(2 * rows);
    let exp = Exp::new(1.0).unwrap();
    for _ in 0..rows {
        let g: f64 = StandardNormal.sample(&mut rng);
        samples.push(g);
        samples.push(exp.sample(&mut rng) - 1.0);
    }
    let level_counts = |q: &Quantized, column: usize| {
        let mut counts = [0usize; 4];
        for s in q.bits.chunks(2).skip(column).step_by(2) {
            counts[gray_decode(u32::from(s[0]) << 1 | u32::from(s[1])) as usize] += 1;
        }
        counts
    };
    for kind in [QuantizerKind::Equiprobable, QuantizerKind::GuardBand] {
        let per_column = new_column_quantizer(kind, 2, 0.0, 2).quantize(&samples, &[]);
        for column in 0..2 {
            for c in level_counts(&per_column, column) {
                assert!(c.abs_diff(rows / 4) <= 1, "{kind:?} column {column}: {c}");
            }
        }
        let pooled = new_quantizer(kind, 2, 0.0).quantize(&samples, &[]);
        let skewed = level_counts(&pooled, 1);
        assert!(
            skewed.iter().any(|c| c.abs_diff(rows / 4) > rows / 20),
            "pooled edges should bias the skewed column: {skewed:?}"
        );
    }
}
