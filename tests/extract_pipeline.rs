//! The extraction chain end to end on simulated reciprocal measurements:
//! stride agreement → preprocessing → ρ → bits per sample → guard-band
//! quantization with exchanged drop lists → disagreement and min-entropy.

use qwave::extract::{
    bits_per_sample_for, estimate_min_entropy, gray_disagreement, merge_drop_lists, new_quantizer,
    pearson, preprocess, stride_for, Decorrelate, FeatureBlock, PreprocessConfig, QuantizerKind,
    TimeDecimation,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A channel that is AR(1) in time (coefficient `a_time`) and smooth across
/// `cols` subcarriers (AR(1) with `a_freq`), observed by Alice and Bob with
/// independent noise of standard deviation `noise` (channel variance 1).
fn reciprocal_blocks(
    rows: usize,
    cols: usize,
    a_time: f64,
    a_freq: f64,
    noise: f64,
    seed: u64,
) -> (FeatureBlock, FeatureBlock) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut n = || -> f64 { StandardNormal.sample(&mut rng) };
    let (st, sf) = (
        (1.0 - a_time * a_time).sqrt(),
        (1.0 - a_freq * a_freq).sqrt(),
    );
    let mut g = vec![0.0; cols];
    let (mut alice, mut bob) = (Vec::new(), Vec::new());
    for t in 0..rows {
        let mut w = n();
        for (c, gc) in g.iter_mut().enumerate() {
            if c > 0 {
                w = a_freq * w + sf * n();
            }
            *gc = if t == 0 { w } else { a_time * *gc + st * w };
        }
        for &gc in &g {
            alice.push(gc + noise * n());
            bob.push(gc + noise * n());
        }
    }
    let block = |data| FeatureBlock { rows, cols, data };
    (block(alice), block(bob))
}

#[test]
fn csi_chain_agrees_with_model() {
    let (alice, bob) = reciprocal_blocks(6000, 52, 0.9, 0.9, 0.25, 31);
    let cfg = PreprocessConfig {
        normalize: true,
        decorrelate: Decorrelate::Dct { keep: 8 },
        time_decimation: TimeDecimation::Auto { threshold: 0.3 },
    };
    // Alice decides the stride; Bob uses hers.
    let stride = stride_for(&alice, &cfg).unwrap();
    assert!((8..=16).contains(&stride), "stride {stride}");
    let a = preprocess(&alice, &cfg, stride).unwrap();
    let b = preprocess(&bob, &cfg, stride).unwrap();
    assert_eq!(a.len(), b.len());
    let rho = pearson(&a, &b);
    let k = bits_per_sample_for(rho);
    eprintln!(
        "stride {stride}, {} samples, ρ = {rho:.4}, k = {k}",
        a.len()
    );

    // Without guard bands the disagreement follows the Gaussian model.
    let eq = new_quantizer(QuantizerKind::Equiprobable, k, 0.0);
    let (qa, qb) = (eq.quantize(&a, &[]), eq.quantize(&b, &[]));
    let mismatch = |x: &[u8], y: &[u8]| {
        x.iter().zip(y).filter(|(p, q)| p != q).count() as f64 / x.len() as f64
    };
    let plain = mismatch(&qa.bits, &qb.bits);
    let model = gray_disagreement(k, rho);
    assert!(
        (plain - model).abs() < 0.02,
        "plain {plain} vs model {model}"
    );

    // Guard bands with exchanged drop lists cut it further.
    let gb = new_quantizer(QuantizerKind::GuardBand, k, 0.3);
    let union = merge_drop_lists(&gb.drop_list(&a), &gb.drop_list(&b));
    let (ga, gbits) = (gb.quantize(&a, &union), gb.quantize(&b, &union));
    assert_eq!(ga.bits.len(), gbits.bits.len());
    let guarded = mismatch(&ga.bits, &gbits.bits);
    eprintln!("disagreement: plain {plain:.4} (model {model:.4}), guard 0.3 {guarded:.4}");
    assert!(guarded < plain);

    let report = estimate_min_entropy(&ga.bits).unwrap();
    eprintln!("{report:?}");
    assert!(report.min > 0.5, "{report:?}");
}

#[test]
fn decimation_raises_entropy_of_correlated_trace() {
    // An RSSI-like trace: one value per probe, strongly correlated in time.
    let (alice, _) = reciprocal_blocks(40_000, 1, 0.95, 0.0, 0.1, 32);
    let cfg = PreprocessConfig {
        normalize: true,
        decorrelate: Decorrelate::None,
        time_decimation: TimeDecimation::Auto { threshold: 0.2 },
    };
    let stride = stride_for(&alice, &cfg).unwrap();
    let q = new_quantizer(QuantizerKind::Equiprobable, 1, 0.0);
    let dense = q.quantize(&preprocess(&alice, &cfg, 1).unwrap(), &[]);
    let sparse = q.quantize(&preprocess(&alice, &cfg, stride).unwrap(), &[]);
    let (hd, hs) = (
        estimate_min_entropy(&dense.bits).unwrap(),
        estimate_min_entropy(&sparse.bits).unwrap(),
    );
    eprintln!("stride {stride}: dense {hd:?}\nsparse {hs:?}");
    assert!(hd.markov < 0.2, "{hd:?}");
    assert!(hs.markov > 0.5 && hs.min > 2.0 * hd.min, "{hs:?}");
}
