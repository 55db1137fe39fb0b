//! LDPC reconciliation: the IEEE 802.11n matrices, the encoder, a worked
//! decoder example, the wire codec (property round trip, hostile input), and
//! both state machines over binary symmetric and Gaussian soft channels.

mod common;

use common::p_for_efficiency;
use proptest::prelude::*;
use qwave::reconcile::ldpc::codes::{Length, QcCode, Rate};
use qwave::reconcile::ldpc::decoder::{CheckRule, LayeredDecoder, WarmState, KNOWN_LLR};
use qwave::reconcile::ldpc::llr;
use qwave::reconcile::ldpc::wire::Message;
use qwave::reconcile::{
    binary_entropy, new_reconciler, new_reconciler_with_soft, run_pair, Outcome, ReconcileError,
    ReconcileParams, ReconcilerKind, Role,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

fn random_bits(n: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
    (0..n).map(|_| rng.random::<bool>() as u8).collect()
}

fn bsc(bits: &[u8], q: f64, rng: &mut ChaCha8Rng) -> Vec<u8> {
    bits.iter()
        .map(|&b| b ^ (rng.random::<f64>() < q) as u8)
        .collect()
}

#[test]
fn every_80211n_matrix_has_the_right_size_rate_and_degrees() {
    for l in Length::ALL {
        for r in Rate::ALL {
            let c = QcCode::ieee80211n(l, r);
            let (a, b) = r.fraction();
            assert_eq!(c.n(), l.bits(), "{}", c.name());
            assert_eq!(c.z(), l.z());
            assert_eq!(c.block_cols(), 24);
            assert_eq!(c.k() * b, c.n() * a, "{}: rate", c.name());
            assert_eq!(c.m(), c.n() - c.n() * a / b);
            // Every block column is used; no block row repeats a column.
            let mut used = [false; 24];
            for i in 0..c.block_rows() {
                let cols: Vec<usize> = c
                    .row(i)
                    .map(|(j, s)| {
                        assert!(s < c.z());
                        j
                    })
                    .collect();
                let mut d = cols.clone();
                d.dedup();
                assert_eq!(d.len(), cols.len());
                for j in cols {
                    used[j] = true;
                }
            }
            assert!(used.iter().all(|&u| u), "{}", c.name());
        }
    }
    // Edge counts of the rate-1/2 base matrices as tabulated in Annex F
    // (88 nonzero entries for n = 648, 86 for n = 1944).
    assert_eq!(QcCode::ieee80211n(Length::N648, Rate::R12).edges(), 88 * 27);
    assert_eq!(
        QcCode::ieee80211n(Length::N1944, Rate::R12).edges(),
        86 * 81
    );
}

#[test]
fn encoding_satisfies_all_parity_checks() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for l in Length::ALL {
        for r in Rate::ALL {
            let c = QcCode::ieee80211n(l, r);
            for _ in 0..5 {
                let info = random_bits(c.k(), &mut rng);
                let w = c.encode(&info).expect("802.11n codes are dual-diagonal");
                assert_eq!(&w[..c.k()], &info[..], "systematic");
                assert!(c.is_codeword(&w), "{}", c.name());
                // A single flipped bit breaks at least one check.
                let mut bad = w.clone();
                let i = rng.random_range(0..c.n());
                bad[i] ^= 1;
                assert!(!c.is_codeword(&bad));
            }
        }
    }
}

/// Worked example: the (7,4) Hamming code as a QC code with Z = 1,
/// H = [1 1 0 1 1 0 0; 1 0 1 1 0 1 0; 0 1 1 1 0 0 1].
fn hamming() -> QcCode {
    let rows = vec![
        vec![(0, 0), (1, 0), (3, 0), (4, 0)],
        vec![(0, 0), (2, 0), (3, 0), (5, 0)],
        vec![(1, 0), (2, 0), (3, 0), (6, 0)],
    ];
    QcCode::from_rows("Hamming(7,4)", 1, 7, &rows).expect("valid")
}

#[test]
fn worked_example_hamming_7_4() {
    let c = hamming();
    // Alice holds x = 1011010; its syndrome H·x = (1+0+1+0, 1+1+1+1, 0+1+1+0) = 100 + ... computed:
    let x = [1u8, 0, 1, 1, 0, 1, 0];
    let mut s = [0u8; 3];
    c.syndrome(&x, &mut s).expect("sizes");
    // Row 0: x0+x1+x3+x4 = 1+0+1+0 = 0; row 1: x0+x2+x3+x5 = 1+1+1+1 = 0;
    // row 2: x1+x2+x3+x6 = 0+1+1+0 = 0 → x is a codeword.
    assert_eq!(s, [0, 0, 0]);
    // Bob sees x with bit 2 flipped, reliable elsewhere except a weak bit 2:
    // LLRs +4 for a 0, −4 for a 1, and +1 (weakly "0") at the flipped bit.
    let y = [1u8, 0, 0, 1, 0, 1, 0];
    let mut l: Vec<f32> = y.iter().map(|&b| if b == 0 { 4.0 } else { -4.0 }).collect();
    l[2] = 1.0;
    // Min-sum (α = 1) and sum-product decode it alike in one iteration.
    let mut spa = LayeredDecoder::with_rule(c.clone(), CheckRule::SumProduct);
    let mut out = [0u8; 7];
    let st = spa.decode(&l, &s, 10, &mut out).expect("sizes");
    assert_eq!((st.converged, st.iterations, out), (true, 1, x));
    let mut dec = LayeredDecoder::new(c.clone(), 1.0);
    let st = dec.decode(&l, &s, 10, &mut out).expect("sizes");
    // Layer 0 leaves bit 2 alone (not in row 0); layer 1: the other three
    // inputs of row 1 are −4, −4, −4 (bits 0, 3, 5 are 1) → parity of signs
    // odd, message to bit 2 = −min(4, 4, 4) = −4; posterior 1 − 4 = −3 → bit 1.
    assert!(st.converged);
    assert_eq!(st.iterations, 1);
    assert_eq!(out, x);
    // Syndrome decoding of a non-codeword: flip x's bit 6 → syndrome 001.
    let x2 = [1u8, 0, 1, 1, 0, 1, 1];
    c.syndrome(&x2, &mut s).expect("sizes");
    assert_eq!(s, [0, 0, 1]);
    let mut l2: Vec<f32> = x2
        .iter()
        .map(|&b| if b == 0 { 4.0 } else { -4.0 })
        .collect();
    l2[3] = 0.5; // Bob's bit 3 is wrong (0 instead of 1) but unreliable
    let st = dec.decode(&l2, &s, 10, &mut out).expect("sizes");
    assert!(st.converged);
    assert_eq!(out, x2);
    // Wrong lengths are typed errors.
    assert!(dec.decode(&l2[..6], &s, 10, &mut out).is_err());
}

#[test]
fn decoder_corrects_bsc_noise_on_the_1944_half_rate_code() {
    let c = QcCode::ieee80211n(Length::N1944, Rate::R12);
    for rule in [CheckRule::MinSum { alpha: 0.75 }, CheckRule::SumProduct] {
        corrects_bsc_noise(&c, rule);
    }
}

fn corrects_bsc_noise(c: &QcCode, rule: CheckRule) {
    let mut dec = LayeredDecoder::with_rule(c.clone(), rule);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let q = 0.05;
    let mut ok = 0;
    for _ in 0..20 {
        let x = random_bits(c.n(), &mut rng);
        let mut s = vec![0u8; c.m()];
        c.syndrome(&x, &mut s).expect("sizes");
        let y = bsc(&x, q, &mut rng);
        let mut l = Vec::new();
        llr::hard_llrs(&y, q, &mut l);
        let mut out = vec![0u8; c.n()];
        let st = dec.decode(&l, &s, 50, &mut out).expect("sizes");
        if st.converged {
            assert_eq!(out, x, "converged to the wrong word");
            ok += 1;
        }
    }
    // Rate 1/2 at Q = 5 % (capacity 0.71) is far inside the waterfall.
    assert_eq!(ok, 20, "{rule:?}");
}

/// The long rate-0.83 code (check degrees 28–29) at its native rate,
/// f = 1.2: sum-product decodes most frames min-sum (with its tuned α = 0.7)
/// loses. Measured (`ldpc_native_fer`): min-sum 28/60, sum-product 4/30 failures.
#[test]
fn sum_product_beats_min_sum_at_high_check_degree() {
    let c = qwave::reconcile::ldpc::long::long_code(3)
        .expect("r083")
        .clone();
    let rate = 1.0 - c.m() as f64 / c.n() as f64;
    let p = p_for_efficiency(rate, 1.2);
    let mut ms = LayeredDecoder::new(c.clone(), 0.7);
    let mut spa = LayeredDecoder::with_rule(c.clone(), CheckRule::SumProduct);
    let mut rng = ChaCha8Rng::seed_from_u64(83);
    let (mut fail_ms, mut fail_spa) = (0, 0);
    let (mut s, mut out, mut l) = (vec![0u8; c.m()], vec![0u8; c.n()], Vec::new());
    for _ in 0..30 {
        let x = random_bits(c.n(), &mut rng);
        c.syndrome(&x, &mut s).expect("sizes");
        llr::hard_llrs(&bsc(&x, p, &mut rng), p, &mut l);
        let st = ms.decode(&l, &s, 50, &mut out).expect("sizes");
        fail_ms += usize::from(!(st.converged && out == x));
        let st = spa.decode(&l, &s, 50, &mut out).expect("sizes");
        fail_spa += usize::from(!(st.converged && out == x));
    }
    eprintln!("failures of 30: sum-product {fail_spa}, min-sum {fail_ms}");
    assert!(
        fail_spa * 2 < fail_ms,
        "failures of 30: sum-product {fail_spa}, min-sum {fail_ms}"
    );
}

#[test]
fn resume_without_changes_continues_exactly_where_decode_stopped() {
    // decode(k1) + save + resume(k2) must equal decode(k1 + k2) bit for bit.
    let c = QcCode::ieee80211n(Length::N648, Rate::R12);
    let mut dec = LayeredDecoder::new(c.clone(), 0.8);
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let q = 0.1; // above this code's threshold: decoding runs many iterations
    for _ in 0..5 {
        let x = random_bits(c.n(), &mut rng);
        let mut s = vec![0u8; c.m()];
        c.syndrome(&x, &mut s).expect("sizes");
        let mut l = Vec::new();
        llr::hard_llrs(&bsc(&x, q, &mut rng), q, &mut l);
        let (mut a, mut b) = (vec![0u8; c.n()], vec![0u8; c.n()]);
        let full = dec.decode(&l, &s, 12, &mut a).expect("sizes");
        let first = dec.decode(&l, &s, 5, &mut b).expect("sizes");
        let mut st = WarmState::default();
        dec.save(&mut st);
        let rest = dec.resume(&st, &[], &s, 7, &mut b).expect("sizes");
        assert_eq!(a, b);
        assert_eq!(full.converged, rest.converged);
        if !first.converged {
            assert_eq!(full.iterations, first.iterations + rest.iterations);
        }
    }
    // A saved state of another code is a typed error, not a panic.
    let other = LayeredDecoder::new(QcCode::ieee80211n(Length::N1296, Rate::R12), 0.8);
    let mut st = WarmState::default();
    other.save(&mut st);
    let s = vec![0u8; c.m()];
    let mut out = vec![0u8; c.n()];
    assert!(dec.resume(&st, &[], &s, 5, &mut out).is_err());
}

/// Blind round on frames that failed their first attempt: reveal 6 % of the
/// bits (LLR ±large) and decode again, cold (from the channel LLRs) or warm
/// (from the failed attempt's messages). Returns (decoded, iterations spent
/// in the second attempt) for each start.
fn blind_round_cold_vs_warm(frames: usize) -> ((u32, u64), (u32, u64), usize) {
    let c = QcCode::ieee80211n(Length::N648, Rate::R12);
    let mut dec = LayeredDecoder::new(c.clone(), 0.8);
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let q = 0.095; // f = 1.10 at rate 1/2: most first attempts fail
    let (mut cold, mut warm, mut failed_first) = ((0u32, 0u64), (0u32, 0u64), 0);
    let mut st = WarmState::default();
    for _ in 0..frames {
        let x = random_bits(c.n(), &mut rng);
        let mut s = vec![0u8; c.m()];
        c.syndrome(&x, &mut s).expect("sizes");
        let mut l = Vec::new();
        llr::hard_llrs(&bsc(&x, q, &mut rng), q, &mut l);
        let mut out = vec![0u8; c.n()];
        if dec.decode(&l, &s, 50, &mut out).expect("sizes").converged {
            continue;
        }
        failed_first += 1;
        dec.save(&mut st);
        let mut changes = Vec::new();
        for v in 0..c.n() {
            if rng.random::<f64>() < 0.06 {
                let new = if x[v] == 0 { KNOWN_LLR } else { -KNOWN_LLR };
                changes.push((v, l[v], new));
                l[v] = new;
            }
        }
        let r = dec.decode(&l, &s, 50, &mut out).expect("sizes");
        cold.0 += u32::from(r.converged && out == x);
        cold.1 += u64::from(r.iterations);
        let r = dec.resume(&st, &changes, &s, 50, &mut out).expect("sizes");
        warm.0 += u32::from(r.converged && out == x);
        warm.1 += u64::from(r.iterations);
    }
    (cold, warm, failed_first)
}

#[test]
fn warm_start_after_a_reveal_is_measured_against_a_cold_restart() {
    let (cold, warm, failed) = blind_round_cold_vs_warm(600);
    println!(
        "blind round after {failed} failed first attempts: cold restart {} decoded in {} \
         iterations, warm start {} decoded in {} iterations",
        cold.0, cold.1, warm.0, warm.1
    );
    assert!(failed >= 20, "too few failing frames ({failed}) to compare");
    // Warm start must decode at least as many frames for fewer iterations.
    assert!(warm.0 >= cold.0, "warm {warm:?} vs cold {cold:?}");
    assert!(warm.1 < cold.1, "warm {warm:?} vs cold {cold:?}");
}

fn params(q: f64, seed: u64) -> ReconcileParams {
    ReconcileParams {
        qber: q,
        shuffle_seed: seed,
        soft_plan: false,
    }
}

/// Runs both LDPC parties on hard bits; checks that both end with Alice's
/// bits and agree on leakage and messages; returns Bob's outcome.
fn reconcile_hard(a: &[u8], b: Vec<u8>, p: &ReconcileParams) -> Outcome {
    let (oa, ob) = run_pair(
        new_reconciler(ReconcilerKind::Ldpc, Role::Alice, a.to_vec(), p),
        new_reconciler(ReconcilerKind::Ldpc, Role::Bob, b, p),
    )
    .expect("reconciles");
    assert_eq!(oa.bits, a);
    assert_eq!(ob.bits, a);
    assert_eq!(oa.leaked_bits, ob.leaked_bits);
    assert_eq!(oa.messages, ob.messages);
    ob
}

#[test]
fn bsc_reconciliation_confirms_equal_keys() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for (q, n) in [
        (0.02, 6000),
        (0.05, 5000),
        (0.10, 4000),
        (0.05, 700),
        (0.03, 300),
    ] {
        let a = random_bits(n, &mut rng);
        let b = bsc(&a, q, &mut rng);
        let ob = reconcile_hard(&a, b, &params(q, 77));
        let f = ob.leaked_bits as f64 / (n as f64 * binary_entropy(q));
        // Short blocks pay for the 32-bit hash and a short mother code.
        let limit = if n >= 4000 { 1.6 } else { 3.5 };
        assert!(f > 1.0 && f < limit, "Q={q} n={n}: efficiency {f}");
    }
}

#[test]
fn a_far_too_low_qber_estimate_costs_rounds_not_the_block() {
    // q̂ half the true rate: the first attempt leaks far too little. With
    // fixed steps (2.5 % of x·h2(q̂) a round) this block took 33 blind rounds
    // (68 messages, f = 1.260); growing reveals (a quarter of what is out,
    // from the fifth round on) take 14 (30 messages, f = 1.336).
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let (q, n) = (0.08, 14_000);
    let a = random_bits(n, &mut rng);
    let b = bsc(&a, q, &mut rng);
    let ob = reconcile_hard(&a, b, &params(q / 2.0, 5));
    let f = ob.leaked_bits as f64 / (n as f64 * binary_entropy(q));
    println!("{} messages, f = {f:.3}", ob.messages);
    assert!(ob.messages <= 40, "{} messages", ob.messages);
    assert!(f < 1.6, "efficiency {f}");
}

#[test]
fn empty_block_is_trivially_reconciled() {
    let p = params(0.05, 1);
    let (oa, ob) = run_pair(
        new_reconciler(ReconcilerKind::Ldpc, Role::Alice, Vec::new(), &p),
        new_reconciler(ReconcilerKind::Ldpc, Role::Bob, Vec::new(), &p),
    )
    .expect("trivial");
    assert!(oa.bits.is_empty() && ob.bits.is_empty());
    assert_eq!(ob.leaked_bits, 32);
}

/// Gaussian pair: Alice x, Bob x + e; one bit per sample (sign), soft = Bob's value.
fn gaussian_pair(n: usize, noise: f64, rng: &mut ChaCha8Rng) -> (Vec<u8>, Vec<u8>, Vec<f32>) {
    let g = Normal::new(0.0, 1.0).expect("valid");
    let mut a = Vec::new();
    let mut b = Vec::new();
    let mut soft = Vec::new();
    for _ in 0..n {
        let x: f64 = g.sample(rng);
        let y = x + noise * g.sample(rng);
        a.push((x > 0.0) as u8);
        b.push((y > 0.0) as u8);
        soft.push(y as f32);
    }
    (a, b, soft)
}

/// Soft plan: Bob opens with a hint Ĥ = mean h2(p_i) ≤ h2(q̂) and both sides
/// plan with it, so soft input lowers the leakage itself, not just the FER.
/// Gaussian channel (σ = 0.25, Q ≈ 7.8 %), 4 blocks of 5000 bits, seeded:
/// the soft run must leak at least 10 % less than the hard run (measured
/// ≈ 35 % less: f = 0.92 vs 1.42 against n·h2(Q), printed), a soft block
/// takes an odd number of messages ≥ 3 (Hint first, Bob last), and both
/// sides agree on the accounting.
#[test]
fn soft_plan_leaks_less_than_hard_input() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let (mut soft_leak, mut hard_leak, mut nh) = (0u64, 0u64, 0.0);
    let mut soft_msgs = Vec::new();
    for trial in 0..4 {
        let (a, b, soft) = gaussian_pair(5000, 0.25, &mut rng);
        let q = a.iter().zip(&b).filter(|(x, y)| x != y).count() as f64 / a.len() as f64;
        let p = params(q, trial);
        let ps = ReconcileParams {
            soft_plan: true,
            ..p.clone()
        };
        let (oa, ob) = run_pair(
            new_reconciler(ReconcilerKind::Ldpc, Role::Alice, a.clone(), &ps),
            new_reconciler_with_soft(ReconcilerKind::Ldpc, Role::Bob, b.clone(), Some(soft), &ps),
        )
        .expect("soft reconciles");
        assert_eq!(ob.bits, a);
        assert_eq!(oa.leaked_bits, ob.leaked_bits);
        assert_eq!(oa.messages, ob.messages);
        soft_leak += ob.leaked_bits;
        soft_msgs.push(ob.messages);
        let (_, oh) = run_pair(
            new_reconciler(ReconcilerKind::Ldpc, Role::Alice, a.clone(), &p),
            new_reconciler(ReconcilerKind::Ldpc, Role::Bob, b, &p),
        )
        .expect("hard reconciles");
        assert_eq!(oh.bits, a);
        hard_leak += oh.leaked_bits;
        nh += a.len() as f64 * binary_entropy(q);
    }
    println!(
        "gaussian σ = 0.25: n·h2(Q) = {nh:.0}, soft-plan leak {soft_leak} (f = {:.3}, messages \
         {soft_msgs:?}), hard leak {hard_leak} (f = {:.3})",
        soft_leak as f64 / nh,
        hard_leak as f64 / nh
    );
    assert!(
        (soft_leak as f64) < 0.9 * hard_leak as f64,
        "soft {soft_leak} vs hard {hard_leak}"
    );
    assert!(
        soft_msgs.iter().all(|&m| m >= 3 && m % 2 == 1),
        "{soft_msgs:?}"
    );
}

/// Soft-plan accounting and flow: without soft values a soft-plan Bob still
/// opens with a hint (planning falls back to h2(q̂)), the hint's 16 bits are
/// counted on both sides, and the block takes one more message than the
/// hard flow with the same syndromes.
#[test]
fn soft_plan_without_soft_values_costs_the_hint_only() {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let a = random_bits(5000, &mut rng);
    let b = bsc(&a, 0.05, &mut rng);
    let p = params(0.05, 12);
    let ps = ReconcileParams {
        soft_plan: true,
        ..p.clone()
    };
    let mut bob = new_reconciler(ReconcilerKind::Ldpc, Role::Bob, b.clone(), &ps);
    let hint = bob.poll_message().expect("Bob opens with a hint");
    assert_eq!(
        Message::decode(&hint),
        Ok(Message::Hint { entropy: u16::MAX })
    );
    assert_eq!(bob.leaked_bits(), 16);
    let mut alice = new_reconciler(ReconcilerKind::Ldpc, Role::Alice, a.clone(), &ps);
    assert!(alice.poll_message().is_none(), "soft-plan Alice waits");
    // Bob must not accept his own kind of message.
    assert!(bob.handle_message(&hint).is_err());
    let (sa, sb) = run_pair(
        new_reconciler(ReconcilerKind::Ldpc, Role::Alice, a.clone(), &ps),
        new_reconciler(ReconcilerKind::Ldpc, Role::Bob, b.clone(), &ps),
    )
    .expect("soft plan, hard values");
    let (ha, hb) = run_pair(
        new_reconciler(ReconcilerKind::Ldpc, Role::Alice, a.clone(), &p),
        new_reconciler(ReconcilerKind::Ldpc, Role::Bob, b, &p),
    )
    .expect("hard");
    assert_eq!(sb.bits, a);
    assert_eq!(sa.leaked_bits, sb.leaked_bits);
    assert_eq!(ha.leaked_bits, hb.leaked_bits);
    // Same plan; the blind rounds may differ (Alice's punctured values are
    // OS-random), so compare the first attempt: syndromes + hash (+ hint).
    let plan = qwave::reconcile::ldpc::plan::Plan::new(5000, 0.05, 12);
    assert!(sb.leaked_bits >= plan.syndrome_leak() + 32 + 16);
    assert!(hb.leaked_bits >= plan.syndrome_leak() + 32);
    assert_eq!(sb.messages % 2, 1);
    assert_eq!(hb.messages % 2, 0);
}

#[test]
fn bad_input_and_hostile_messages_give_typed_errors() {
    let p = params(0.05, 3);
    let mut bad = vec![0u8; 100];
    bad[7] = 2;
    let mut a = new_reconciler(ReconcilerKind::Ldpc, Role::Alice, bad, &p);
    assert!(matches!(
        a.handle_message(&[0x24, 1]),
        Err(ReconcileError::InvalidBit { index: 7, value: 2 })
    ));
    let mut b = new_reconciler_with_soft(
        ReconcilerKind::Ldpc,
        Role::Bob,
        vec![0; 10],
        Some(vec![0.5; 9]),
        &p,
    );
    assert!(matches!(
        b.handle_message(&[0x24, 1]),
        Err(ReconcileError::SoftLength { bits: 10, soft: 9 })
    ));
    // Length mismatch between Alice and Bob.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let bits = random_bits(1000, &mut rng);
    let mut alice = new_reconciler(ReconcilerKind::Ldpc, Role::Alice, bits.clone(), &p);
    let mut bob = new_reconciler(ReconcilerKind::Ldpc, Role::Bob, bits[..999].to_vec(), &p);
    let first = alice.poll_message().expect("syndromes");
    assert!(matches!(
        bob.handle_message(&first),
        Err(ReconcileError::LengthMismatch { .. })
    ));
    // Garbage and out-of-order messages never panic.
    let mut bob = new_reconciler(ReconcilerKind::Ldpc, Role::Bob, bits.clone(), &p);
    // (1000 bits make one frame, so a two-frame status is malformed.)
    for junk in [
        &[][..],
        &[0x22, 2, 3],
        &[0x23, 0],
        &[0x21, 0xff],
        &[0x22, 1, 0],
    ] {
        assert!(bob.handle_message(junk).is_err());
        assert!(alice.handle_message(junk).is_err());
    }
    assert!(matches!(bob.finish(), Err(ReconcileError::NotDone)));
}

#[test]
fn decoding_failure_is_reported_as_failed_with_leakage() {
    // Q far above what the plan expects: reveal budget runs out, both sides fail.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let a = random_bits(2000, &mut rng);
    let b = bsc(&a, 0.2, &mut rng);
    let p = params(0.01, 5);
    let r = run_pair(
        new_reconciler(ReconcilerKind::Ldpc, Role::Alice, a, &p),
        new_reconciler(ReconcilerKind::Ldpc, Role::Bob, b, &p),
    );
    match r {
        Err(ReconcileError::Failed { leaked_bits }) => assert!(leaked_bits > 32),
        other => panic!("expected Failed, got {other:?}"),
    }
}

fn arb_bits() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0u8..2, 0..300)
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u64>(), any::<u8>(), any::<[u8; 4]>(), arb_bits()).prop_map(
            |(n, code, hash, syndromes)| Message::Syndromes {
                n,
                code,
                hash,
                syndromes
            }
        ),
        arb_bits().prop_map(|failing| Message::Status { failing }),
        arb_bits().prop_map(|values| Message::Reveal { values }),
        any::<bool>().prop_map(|ok| Message::Done { ok }),
        any::<u16>().prop_map(|entropy| Message::Hint { entropy }),
    ]
}

proptest! {
    #[test]
    fn wire_round_trip(m in arb_message()) {
        prop_assert_eq!(Message::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn wire_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(m) = Message::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes);
        }
    }

    /// Hostile bytes after the hint tag: the decoder and a soft-plan Alice
    /// waiting for the hint answer with `Ok` or a typed error, never panic; an
    /// accepted hint makes her send exactly the syndromes.
    #[test]
    fn hint_decode_and_soft_alice_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..6),
        q in 0.0f64..0.6,
    ) {
        let mut bytes = vec![0x25];
        bytes.extend_from_slice(&tail);
        if let Ok(m) = Message::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes.clone());
        }
        let p = ReconcileParams { qber: q, shuffle_seed: 3, soft_plan: true };
        let mut alice = new_reconciler(ReconcilerKind::Ldpc, Role::Alice, vec![1; 700], &p);
        prop_assert!(alice.poll_message().is_none());
        if alice.handle_message(&bytes).is_ok() {
            let first = alice.poll_message().map(|m| Message::decode(&m));
            let syndromes = matches!(first, Some(Ok(Message::Syndromes { .. })));
            prop_assert!(syndromes, "Alice answered the hint with {:?}", first);
            // A second hint is a protocol violation.
            prop_assert!(alice.handle_message(&bytes).is_err());
        }
    }
}
