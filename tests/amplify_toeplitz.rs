//! Toeplitz hashing: every method (FFT, carry-less with PCLMULQDQ, portable carry-less) against
//! the O(n·ℓ) reference and against each other, linearity, typed errors.

use qwave::amplify::{
    toeplitz_naive, AmplifyError, Method, ToeplitzHasher, MAX_INPUT_BITS, PORTABLE_MAX_INPUT_BITS,
};

/// Every forcible method.
const METHODS: [Method; 4] = [
    Method::Auto,
    Method::Fft,
    Method::CarryLess,
    Method::CarryLessPortable,
];
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_bits(rng: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.random_range(0..2u8)).collect()
}

/// Worked example of the documented convention T[i][j] = seed[i − j + n_in − 1].
#[test]
fn naive_matches_hand_worked_matrix() {
    // n_in = 3, n_out = 2, seed = s0..s3:
    // T = [[s2 s1 s0],
    //      [s3 s2 s1]]
    let seed = [1u8, 0, 1, 1]; // s0=1 s1=0 s2=1 s3=1
    let x = [1u8, 1, 0];
    // row0: s2·x0 ^ s1·x1 ^ s0·x2 = 1 ^ 0 ^ 0 = 1
    // row1: s3·x0 ^ s2·x1 ^ s1·x2 = 1 ^ 1 ^ 0 = 0
    assert_eq!(toeplitz_naive(&seed, &x, 2).unwrap(), vec![1, 0]);
    let mut h = ToeplitzHasher::new(3, 2).unwrap();
    let mut out = Vec::new();
    h.hash(&seed, &x, &mut out).unwrap();
    assert_eq!(out, vec![1, 0]);
}

#[test]
fn every_method_matches_naive_on_random_shapes() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x7031_1771);
    // (n_in, n_out): tiny, odd, primes, around and off multiples of 64, powers of two,
    // ℓ > n/2, ℓ = n, ℓ = 1 (ℓ > n is rejected by the API; the carry-less core is tested for it
    // in its unit tests).
    let shapes = [
        (1, 1),
        (2, 1),
        (2, 2),
        (5, 3),
        (7, 7),
        (63, 63),
        (64, 32),
        (65, 64),
        (97, 61),
        (128, 1),
        (129, 128),
        (1000, 999),
        (1023, 700),
        (1024, 512),
        (3001, 2500),
        (4096, 4096),
        (5003, 1234),
        (9000, 1),
    ];
    for method in METHODS {
        for &(n_in, n_out) in &shapes {
            check_against_naive(&mut rng, method, n_in, n_out);
        }
    }
}

fn check_against_naive(rng: &mut ChaCha8Rng, method: Method, n_in: usize, n_out: usize) {
    let mut hasher = ToeplitzHasher::new_with(n_in, n_out, method).unwrap();
    let mut out = Vec::new();
    for _ in 0..3 {
        let seed = random_bits(rng, hasher.seed_bits());
        let x = random_bits(rng, n_in);
        hasher.hash(&seed, &x, &mut out).unwrap();
        let reference = toeplitz_naive(&seed, &x, n_out).unwrap();
        assert_eq!(out, reference, "{method:?} shape ({n_in}, {n_out})");
    }
}

/// All-ones seed and input: every output bit is the parity of n_in, for every method.
#[test]
fn every_method_on_all_ones() {
    for method in METHODS {
        for (n_in, n_out) in [(6000, 4500), (6001, 3000), (64, 64)] {
            let mut hasher = ToeplitzHasher::new_with(n_in, n_out, method).unwrap();
            let mut out = Vec::new();
            hasher
                .hash(&vec![1; hasher.seed_bits()], &vec![1; n_in], &mut out)
                .unwrap();
            assert_eq!(out.len(), n_out);
            assert!(
                out.iter().all(|&b| b == (n_in % 2) as u8),
                "{method:?} ({n_in}, {n_out})"
            );
        }
    }
}

/// Auto resolves to a concrete method; forced methods are honoured.
#[test]
fn methods_resolve_as_documented() {
    let auto_small = ToeplitzHasher::new(1000, 500).unwrap().method();
    assert!(matches!(
        auto_small,
        Method::CarryLess | Method::CarryLessPortable
    ));
    let auto_big = ToeplitzHasher::new(PORTABLE_MAX_INPUT_BITS + 1, 8)
        .unwrap()
        .method();
    assert!(matches!(auto_big, Method::CarryLess | Method::Fft));
    assert_eq!(
        ToeplitzHasher::new_with(100, 50, Method::Fft)
            .unwrap()
            .method(),
        Method::Fft
    );
    let fft = ToeplitzHasher::new_with(100, 50, Method::Fft).unwrap();
    assert!(fft.fft_len().is_some_and(|n| n >= 149));
    let portable = ToeplitzHasher::new_with(100, 50, Method::CarryLessPortable).unwrap();
    assert_eq!(portable.method(), Method::CarryLessPortable);
    assert_eq!(portable.fft_len(), None);
    let hw = ToeplitzHasher::new_with(100, 50, Method::CarryLess)
        .unwrap()
        .method();
    assert!(matches!(hw, Method::CarryLess | Method::CarryLessPortable));
}

/// All methods give identical outputs on one large random instance.
fn methods_agree(n: usize, l: usize, seed_u64: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed_u64);
    let seed = random_bits(&mut rng, n + l - 1);
    let x = random_bits(&mut rng, n);
    let mut reference: Option<Vec<u8>> = None;
    for method in METHODS {
        let mut hasher = ToeplitzHasher::new_with(n, l, method).unwrap();
        let mut out = Vec::new();
        hasher.hash(&seed, &x, &mut out).unwrap();
        assert_eq!(out.len(), l);
        match &reference {
            None => reference = Some(out),
            Some(r) => assert!(*r == out, "{method:?} differs at n = {n}, l = {l}"),
        }
    }
    // Spot-check rows against the definition.
    let r = reference.unwrap_or_default();
    for i in (0..16).map(|_| rng.random_range(0..l)).chain([0, l - 1]) {
        let row: u8 = (0..n).fold(0, |acc, j| acc ^ (seed[i + n - 1 - j] & x[j]));
        assert_eq!(r[i], row, "row {i}");
    }
}

#[test]
fn methods_agree_at_2_pow_16() {
    methods_agree(1 << 16, 1 << 15, 16);
    methods_agree((1 << 16) - 3, 40_001, 17);
}

/// n = 2²⁰ (slow in debug builds: run by the full test script, `cargo test --release -- --ignored`).
#[test]
#[ignore]
fn methods_agree_at_2_pow_20() {
    methods_agree(1 << 20, 1 << 19, 20);
    methods_agree((1 << 20) + 77, 700_001, 21);
}

/// Dense inputs give the largest convolution values (up to n_in) and the hardest rounding.
#[test]
fn fft_matches_naive_on_all_ones_and_sparse() {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let (n_in, n_out) = (6000, 4500);
    let mut hasher = ToeplitzHasher::new_with(n_in, n_out, Method::Fft).unwrap();
    let mut out = Vec::new();
    let ones_seed = vec![1u8; hasher.seed_bits()];
    let ones_x = vec![1u8; n_in];
    hasher.hash(&ones_seed, &ones_x, &mut out).unwrap();
    // Every row sums n_in ones: parity of n_in.
    assert!(out.iter().all(|&b| b == (n_in % 2) as u8));
    assert_eq!(out, toeplitz_naive(&ones_seed, &ones_x, n_out).unwrap());
    assert!(
        hasher.last_max_residual() < 1e-6,
        "{}",
        hasher.last_max_residual()
    );

    let sparse_x: Vec<u8> = (0..n_in).map(|_| u8::from(rng.random_bool(0.01))).collect();
    let seed = random_bits(&mut rng, hasher.seed_bits());
    hasher.hash(&seed, &sparse_x, &mut out).unwrap();
    assert_eq!(out, toeplitz_naive(&seed, &sparse_x, n_out).unwrap());
}

/// Large size in debug mode: the naive reference is checked on a random subset of rows.
#[test]
fn fft_matches_naive_rows_at_large_non_power_of_two() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let (n_in, n_out) = (150_001, 100_003);
    let mut hasher = ToeplitzHasher::new_with(n_in, n_out, Method::Fft).unwrap();
    let seed = random_bits(&mut rng, hasher.seed_bits());
    let x = random_bits(&mut rng, n_in);
    let mut out = Vec::new();
    hasher.hash(&seed, &x, &mut out).unwrap();
    assert_eq!(out.len(), n_out);
    for _ in 0..200 {
        let i = rng.random_range(0..n_out);
        let row: u8 = (0..n_in).fold(0, |acc, j| acc ^ (seed[i + n_in - 1 - j] & x[j]));
        assert_eq!(out[i], row, "row {i}");
    }
    // Rows at both edges.
    for i in [0, n_out - 1] {
        let row: u8 = (0..n_in).fold(0, |acc, j| acc ^ (seed[i + n_in - 1 - j] & x[j]));
        assert_eq!(out[i], row, "edge row {i}");
    }
}

#[test]
fn hash_is_linear_in_input() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for &(n_in, n_out) in &[(777, 500), (2048, 1024), (10_000, 7_000)] {
        let mut hasher = ToeplitzHasher::new(n_in, n_out).unwrap();
        let seed = random_bits(&mut rng, hasher.seed_bits());
        let x = random_bits(&mut rng, n_in);
        let y = random_bits(&mut rng, n_in);
        let xy: Vec<u8> = x.iter().zip(&y).map(|(a, b)| a ^ b).collect();
        let (mut hx, mut hy, mut hxy) = (Vec::new(), Vec::new(), Vec::new());
        hasher.hash(&seed, &x, &mut hx).unwrap();
        hasher.hash(&seed, &y, &mut hy).unwrap();
        hasher.hash(&seed, &xy, &mut hxy).unwrap();
        let sum: Vec<u8> = hx.iter().zip(&hy).map(|(a, b)| a ^ b).collect();
        assert_eq!(hxy, sum);
        assert!(hx.contains(&1), "non-trivial output");
    }
}

/// Different seeds give different outputs (the hash depends on the seed, not only the input).
#[test]
fn output_depends_on_seed() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut hasher = ToeplitzHasher::new(4000, 2000).unwrap();
    let x = random_bits(&mut rng, 4000);
    let s1 = random_bits(&mut rng, hasher.seed_bits());
    let mut s2 = s1.clone();
    s2[hasher.seed_bits() / 2] ^= 1;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    hasher.hash(&s1, &x, &mut a).unwrap();
    hasher.hash(&s2, &x, &mut b).unwrap();
    assert_ne!(a, b);
}

#[test]
fn bad_shapes_and_lengths_give_typed_errors() {
    assert!(matches!(
        ToeplitzHasher::new(0, 0),
        Err(AmplifyError::InvalidShape { .. })
    ));
    assert!(matches!(
        ToeplitzHasher::new(10, 0),
        Err(AmplifyError::InvalidShape { .. })
    ));
    assert!(matches!(
        ToeplitzHasher::new(10, 11),
        Err(AmplifyError::InvalidShape {
            n_in: 10,
            n_out: 11,
            ..
        })
    ));
    assert!(matches!(
        ToeplitzHasher::new(MAX_INPUT_BITS + 1, 8),
        Err(AmplifyError::InvalidShape { .. })
    ));

    let mut h = ToeplitzHasher::new(16, 8).unwrap();
    assert_eq!(h.seed_bits(), 23);
    let mut out = vec![1u8; 3];
    let err = h.hash(&[0; 22], &[0; 16], &mut out).unwrap_err();
    assert!(matches!(
        err,
        AmplifyError::LengthMismatch {
            what: "seed",
            expected: 23,
            got: 22
        }
    ));
    assert!(out.is_empty(), "out is cleared even on error");
    let err = h.hash(&[0; 23], &[0; 17], &mut out).unwrap_err();
    assert!(matches!(
        err,
        AmplifyError::LengthMismatch {
            what: "input",
            expected: 16,
            got: 17
        }
    ));
    let mut x = [0u8; 16];
    x[9] = 2;
    let err = h.hash(&[0; 23], &x, &mut out).unwrap_err();
    assert!(matches!(
        err,
        AmplifyError::NotABit {
            what: "input",
            index: 9,
            value: 2
        }
    ));
    let mut s = [1u8; 23];
    s[22] = 255;
    let err = h.hash(&s, &[0; 16], &mut out).unwrap_err();
    assert!(matches!(
        err,
        AmplifyError::NotABit {
            what: "seed",
            index: 22,
            value: 255
        }
    ));

    assert!(matches!(
        toeplitz_naive(&[0; 5], &[0; 4], 3),
        Err(AmplifyError::LengthMismatch {
            what: "seed",
            expected: 6,
            got: 5
        })
    ));
    assert!(matches!(
        toeplitz_naive(&[0; 5], &[], 1),
        Err(AmplifyError::InvalidShape { .. })
    ));
}

/// Spec-size exactness (n = 2²⁰ and n = 2²², dense seed and input, ℓ = n/2 and ℓ = 3n/4); slow in
/// debug builds, run by the full test script (`cargo test --release -- --ignored`).
#[test]
#[ignore]
fn fft_exact_at_spec_sizes() {
    let mut rng = ChaCha8Rng::seed_from_u64(1 << 20);
    for (n, l) in [(1usize << 20, 1usize << 19), (1 << 22, 3 << 20)] {
        let mut hasher = ToeplitzHasher::new_with(n, l, Method::Fft).unwrap();
        let seed: Vec<u8> = (0..hasher.seed_bits())
            .map(|_| u8::from(rng.random_bool(0.9)))
            .collect();
        let x: Vec<u8> = (0..n).map(|_| u8::from(rng.random_bool(0.9))).collect();
        let mut out = Vec::new();
        hasher.hash(&seed, &x, &mut out).unwrap();
        assert_eq!(out.len(), l);
        let residual = hasher.last_max_residual();
        eprintln!("n = {n}, l = {l}: max residual {residual:e}");
        assert!(residual < 1e-3, "numerical margin too small: {residual:e}");
        for i in (0..32).map(|_| rng.random_range(0..l)).chain([0, l - 1]) {
            let row: u8 = (0..n).fold(0, |acc, j| acc ^ (seed[i + n - 1 - j] & x[j]));
            assert_eq!(out[i], row, "n = {n}, row {i}");
        }
    }
}
