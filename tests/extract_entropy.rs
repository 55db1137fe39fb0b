//! SP 800-90B §6.3 min-entropy estimators: known sequences, worked examples
//! and seeded random sources.

use qwave::extract::{
    collision_estimate, compression_estimate, estimate_min_entropy, markov_estimate, mcv_estimate,
    t_tuple_estimate, ExtractError, MIN_ENTROPY_SAMPLES,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn bernoulli(n: usize, p_one: f64, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| u8::from(rng.random_bool(p_one))).collect()
}

fn markov_chain(n: usize, p_stay: f64, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut b = 0u8;
    (0..n)
        .map(|_| {
            if !rng.random_bool(p_stay) {
                b ^= 1;
            }
            b
        })
        .collect()
}

#[test]
fn mcv_matches_sp800_90b_worked_example() {
    // SP 800-90B §6.3.1 example: L = 20, mode 1 occurs 8 times, p̂ = 0.4,
    // p_u = 0.4 + 2.576·√(0.4·0.6/19) = 0.6895, min-entropy 0.5363.
    let s = [0u8, 1, 1, 2, 0, 1, 2, 2, 0, 1, 0, 1, 1, 0, 2, 2, 1, 0, 2, 1];
    let h = mcv_estimate(&s);
    assert!((h - 0.536_341).abs() < 1e-5, "{h}");
}

#[test]
fn collision_hand_computed_sequence() {
    // 500 × ("00", "010") → 1000 collision runs, t = 2, 3, 2, 3, …
    // X̄ = 2.5, σ̂ = √(250/999), X̄' = 2.5 − 2.576 σ̂/√1000 = 2.459249,
    // p = 0.5 + √(1.25 − 0.5 X̄') = 0.642742, H = 0.637689.
    let mut bits = Vec::new();
    for _ in 0..500 {
        bits.extend_from_slice(&[0, 0, 0, 1, 0]);
    }
    let h = collision_estimate(&bits);
    assert!((h - 0.637_689).abs() < 1e-5, "{h}");
    // A constant sequence always collides immediately: p = 1, H = 0.
    assert!(collision_estimate(&[1u8; 2000]) < 1e-12);
}

#[test]
fn markov_extremes() {
    assert_eq!(markov_estimate(&[0u8; 5000]), 0.0);
    // Alternating bits: P01 = P10 = 1, the sequence 0101… has probability
    // P0 = 1/2, so H = 1/128.
    let alt: Vec<u8> = (0..5000).map(|i| (i % 2) as u8).collect();
    assert!((markov_estimate(&alt) - 1.0 / 128.0).abs() < 1e-9);
}

#[test]
fn fair_iid_bits_have_high_entropy() {
    let bits = bernoulli(100_000, 0.5, 1);
    let r = estimate_min_entropy(&bits).unwrap();
    assert!(r.mcv > 0.98, "{r:?}");
    assert!(r.markov > 0.98, "{r:?}");
    // The binary collision estimate is conservative near p = 1/2: its
    // confidence term enters under a square root (≈ 0.84 at 1e5 bits).
    assert!(r.collision > 0.8, "{r:?}");
    // Same for the compression estimate (≈ 0.73 at 1e5 bits, > 0.9 at 1e6).
    let c = r
        .compression
        .expect("1e5 bits run the compression estimate");
    assert!(c > 0.7, "{r:?}");
    assert!(r.t_tuple > 0.9, "{r:?}");
    assert!(r.min > 0.7, "{r:?}");
    assert_eq!(r.samples, 100_000);
}

#[test]
fn fair_iid_million_bits_exceed_point_nine() {
    let bits = bernoulli(1_000_000, 0.5, 2);
    let r = estimate_min_entropy(&bits).unwrap();
    assert!(r.min > 0.9, "{r:?}");
}

#[test]
fn biased_bits_near_minus_log2_p() {
    let bits = bernoulli(100_000, 0.8, 3);
    let r = estimate_min_entropy(&bits).unwrap();
    let ideal = -(0.8f64).log2(); // 0.3219
                                  // MCV upper bound on p pushes the estimate just below −log2(0.8).
    assert!(r.mcv < ideal && r.mcv > 0.30, "{r:?}");
    assert!(r.min < 0.35, "{r:?}");
    // The compression estimate fits a "one likely block, rest uniform" model
    // and lands well below −log2(0.8) for a biased IID source (≈ 0.19).
    assert!(r.compression.unwrap() > 0.15 && r.min > 0.15, "{r:?}");
    assert!((r.collision - ideal).abs() < 0.05, "{r:?}");
    assert!((r.markov - ideal).abs() < 0.03, "{r:?}");
}

#[test]
fn markov_source_is_caught_by_markov_estimate() {
    let bits = markov_chain(100_000, 0.95, 4);
    let r = estimate_min_entropy(&bits).unwrap();
    // Balanced marginals fool MCV, not the Markov estimate:
    // −log2(0.95)·127/128 + 1/128 ≈ 0.081.
    assert!(r.mcv > 0.9, "{r:?}");
    assert!(r.markov < 0.12, "{r:?}");
    assert!(r.min <= r.markov);
}

#[test]
fn compression_detects_structure_and_needs_enough_bits() {
    assert!(compression_estimate(&[0u8; 6000]).is_none());
    let constant = compression_estimate(&[0u8; 20_000]).unwrap();
    assert!(constant < 0.05, "{constant}");
    let periodic: Vec<u8> = (0..60_000).map(|i| ((i / 3) % 2) as u8).collect();
    let h = compression_estimate(&periodic).unwrap();
    assert!(h < 0.2, "{h}");
}

#[test]
fn rejects_short_and_non_binary_input() {
    assert_eq!(
        estimate_min_entropy(&[0u8; 10]),
        Err(ExtractError::TooFewSamples {
            needed: MIN_ENTROPY_SAMPLES,
            got: 10
        })
    );
    let mut bits = vec![0u8; 2000];
    bits[7] = 2;
    assert_eq!(
        estimate_min_entropy(&bits),
        Err(ExtractError::NotBinary { index: 7, value: 2 })
    );
}

#[test]
fn t_tuple_catches_periodic_pattern() {
    // Period 7: the Markov model sees nearly fair transitions, but every
    // tuple length up to 64 has a 1-in-7 most common tuple, so
    // p̂ ≥ (1/7)^(1/64) ≈ 0.97 and H ≈ 0.04.
    let pattern = [0u8, 1, 1, 0, 1, 0, 0];
    let bits: Vec<u8> = pattern.iter().copied().cycle().take(70_000).collect();
    let h = t_tuple_estimate(&bits).unwrap();
    let bound = -((1.0f64 / 7.0).powf(1.0 / 64.0)).log2();
    assert!(h <= bound + 1e-9 && h < 0.05, "t-tuple {h}");
    let r = estimate_min_entropy(&bits).unwrap();
    assert!(r.markov > 0.3, "{r:?}");
    assert!(r.min <= h);
    // A short sequence where no bit value repeats 35 times has no t.
    assert!(t_tuple_estimate(&[0, 1, 0, 1, 1]).is_none());
}

#[test]
fn t_tuple_of_biased_bits_is_near_minus_log2_p() {
    let bits = bernoulli(100_000, 0.8, 5);
    let h = t_tuple_estimate(&bits).unwrap();
    // Long all-ones tuples (t ≈ 35, counts near the 35 floor) fluctuate
    // upwards, so the estimate sits a little below −log2(0.8) = 0.32.
    assert!(h < -(0.8f64).log2() && h > 0.25, "{h}");
}
