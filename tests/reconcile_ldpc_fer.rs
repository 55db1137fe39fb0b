//! Slow statistical runs of the LDPC reconciler (`#[ignore]`, run in release
//! by `scripts/test`); they print their numbers.
//!
//! * Binary symmetric channel, Q = 2, 5, 10 %: 1000 single-frame
//!   reconciliations (n = 1944 mother code) per point through the full
//!   protocol (rate adaptation, blind rounds, hash); frame error rate and
//!   efficiency f = leaked / (N·h2(Q)).
//! * Soft input on the simulated `walk` scenario (2-bit Gray quantization,
//!   DCT features as in the session): for ≥ 1000 frames, the blind protocol
//!   is replayed frame by frame to find the leakage at which each frame
//!   decodes; the leakage that ≥ 99.9 % of frames need (FER ≤ 1e−3 at that
//!   fixed leakage) is printed next to n·h2(Q) for the same bits, for soft
//!   LLRs with the soft plan (Bob's hint Ĥ) and for hard-decision LLRs with
//!   the h2(q̂) plan; the whole protocol is also run on every block both
//!   ways (leakage, failed blocks, messages).

use num_complex::Complex32;
use qwave::extract::{self, FeatureBlock, Quantizer};
use qwave::pipeline::sounding::amplitude_features;
use qwave::reconcile::ldpc::decoder::{LayeredDecoder, KNOWN_LLR};
use qwave::reconcile::ldpc::plan::{plan_entropy, Plan};
use qwave::reconcile::ldpc::{
    entropy_from_hint, hint_from_entropy, llr, CHECK_RULE, MAX_ITERATIONS,
};
use qwave::reconcile::{
    binary_entropy, new_reconciler, new_reconciler_calibrated, run_pair, ReconcileError,
    ReconcileParams, ReconcilerKind, Role,
};
use qwave::session::party::clamp_preprocess;
use qwave::session::SessionConfig;
use qwave_dsp::channel::{ChannelSim, Node, Scenario};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

#[test]
#[ignore = "statistical run (≈ 1 min in release); run by scripts/test"]
fn bsc_frame_error_rate_and_efficiency() {
    // 1360 bits make exactly one frame of the n = 1944 mother code.
    let n = 1360;
    let frames = 1000;
    for q in [0.02, 0.05, 0.10] {
        let mut rng = ChaCha8Rng::seed_from_u64((q * 1e4) as u64);
        let (mut failed, mut wrong, mut leaked, mut msgs) = (0u32, 0u32, 0u64, 0u64);
        for i in 0..frames {
            let a: Vec<u8> = (0..n).map(|_| rng.random::<bool>() as u8).collect();
            let b: Vec<u8> = a
                .iter()
                .map(|&x| x ^ (rng.random::<f64>() < q) as u8)
                .collect();
            let p = ReconcileParams {
                qber: q,
                shuffle_seed: i,
                soft_plan: false,
            };
            match run_pair(
                new_reconciler(ReconcilerKind::Ldpc, Role::Alice, a.clone(), &p),
                new_reconciler(ReconcilerKind::Ldpc, Role::Bob, b, &p),
            ) {
                Ok((_, ob)) => {
                    wrong += u32::from(ob.bits != a);
                    leaked += ob.leaked_bits;
                    msgs += u64::from(ob.messages);
                }
                Err(ReconcileError::Failed { leaked_bits }) => {
                    failed += 1;
                    leaked += leaked_bits;
                }
                Err(e) => panic!("protocol error {e}"),
            }
        }
        let h = binary_entropy(q);
        let f = leaked as f64 / (frames as f64 * n as f64 * h);
        let f_nohash = (leaked - 32 * frames) as f64 / (frames as f64 * n as f64 * h);
        println!(
            "ldpc BSC Q = {:>4.1} %: {frames} frames of {n} bits, FER = {:.4} ({failed} failed), \
             f = {f:.3} ({f_nohash:.3} without the 32-bit hash), {:.1} messages/frame; \
             one-way limit at this length and FER 1e-3: f* = {:.3}",
            q * 100.0,
            f64::from(failed) / f64::from(frames as u32),
            msgs as f64 / frames as f64,
            qwave::reconcile::limit::one_way_efficiency_limit(n as u64, q, 1e-3)
        );
        assert_eq!(wrong, 0, "a confirmed key differed from Alice's");
        assert!(failed <= 10, "Q = {q}: {failed} of {frames} frames failed");
        assert!(
            f_nohash < 1.6,
            "Q = {q}: efficiency {f_nohash} without the hash"
        );
    }
}

/// Alice's and Bob's feature rows from the simulator plus estimation noise
/// (as in tests/session_pair.rs).
fn rows(scenario: &Scenario, exchanges: u64, seed: u64) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let sim = ChannelSim::new(scenario, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let sigma = (10f64.powf(-scenario.snr_db / 10.0) / 2.0).sqrt() as f32;
    let n = Normal::new(0.0f32, sigma).expect("valid");
    let mut noisy = |h: [Complex32; 52]| {
        let mut a = h;
        for x in &mut a {
            *x += Complex32::new(n.sample(&mut rng), n.sample(&mut rng));
        }
        amplitude_features(&a)
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for k in 0..exchanges {
        let t = k as f64 / scenario.exchange_rate_hz;
        b.push(noisy(sim.measured_response(Node::Alice, Node::Bob, t)));
        a.push(noisy(sim.measured_response(
            Node::Bob,
            Node::Alice,
            t + scenario.tdd_gap_s,
        )));
    }
    (a, b)
}

fn block(rows: &[Vec<f32>]) -> FeatureBlock {
    FeatureBlock {
        rows: rows.len(),
        cols: rows[0].len(),
        data: rows.iter().flatten().map(|&x| f64::from(x)).collect(),
    }
}

/// Replays the blind protocol on one frame; returns the leakage (m − p +
/// revealed) at which Bob decodes Alice's word, or `None` if it never does.
fn blind_leak(
    dec: &mut LayeredDecoder,
    plan: &Plan,
    j: usize,
    alice_word: &[u8],
    mut frame_llr: Vec<f32>,
) -> Option<u64> {
    let code = dec.code().clone();
    let fr = &plan.frames[j];
    let mut syn = vec![0u8; code.m()];
    code.syndrome(alice_word, &mut syn).ok()?;
    let mut out = vec![0u8; code.n()];
    let mut revealed = 0;
    loop {
        let st = dec
            .decode(&frame_llr, &syn, MAX_ITERATIONS, &mut out)
            .ok()?;
        if st.converged && out == alice_word {
            return Some((code.m() - fr.p) as u64 + revealed as u64);
        }
        if revealed >= fr.max_reveal {
            return None;
        }
        let t1 = (revealed + fr.step).min(fr.max_reveal);
        for t in revealed..t1 {
            let slot = fr.reveal_slot(t)?;
            frame_llr[slot] = if alice_word[slot] == 0 {
                KNOWN_LLR
            } else {
                -KNOWN_LLR
            };
        }
        revealed = t1;
    }
}

/// Bins of Bob's |distance to the quantizer edge| for the measured
/// conditional entropy of the walk runs (bin width, bin count; the last
/// bin takes everything beyond).
const ORACLE_BIN: f32 = 0.01;
const ORACLE_BINS: usize = 300;

/// (key bits, leakage at which the frame decodes) of one replayed frame.
type FrameStat = (usize, Option<u64>);

/// Whole-protocol totals of one flavour (hard plan or soft plan) over the walk blocks.
#[derive(Default)]
struct Totals {
    blocks: u32,
    failed: u32,
    leaked: u64,
    messages: u64,
    max_messages: u32,
    within3: u32,
}

impl Totals {
    fn add(&mut self, r: Result<(u64, u32), u64>) {
        self.blocks += 1;
        match r {
            Ok((l, m)) => {
                self.leaked += l;
                self.messages += u64::from(m);
                self.max_messages = self.max_messages.max(m);
                self.within3 += u32::from(m <= 3);
            }
            Err(l) => {
                self.failed += 1;
                self.leaked += l;
            }
        }
    }
}

/// Replays frame `j` of `plan` (Alice's block `a`, Bob's block LLRs `llr`);
/// returns (key bits, leakage at which it decodes).
fn replay_frame(
    dec: &mut LayeredDecoder,
    plan: &Plan,
    seed: u64,
    j: usize,
    a: &[u8],
    llr: &[f32],
    rng: &mut ChaCha8Rng,
) -> FrameStat {
    let code = plan.code.clone();
    let fr = &plan.frames[j];
    let mut word = vec![0u8; code.n()];
    let mut l = vec![0f32; code.n()];
    for (&slot, &pos) in fr.key_slots().iter().zip(&fr.key) {
        word[slot as usize] = a[pos as usize];
        l[slot as usize] = llr[pos as usize];
    }
    let short = plan.shortened_values(seed, j);
    for (&slot, &v) in fr.shortened_slots().iter().zip(&short) {
        word[slot as usize] = v;
        l[slot as usize] = if v == 0 { KNOWN_LLR } else { -KNOWN_LLR };
    }
    for &slot in fr.punctured_slots() {
        word[slot as usize] = rng.random::<bool>() as u8;
    }
    (fr.key.len(), blind_leak(dec, plan, j, &word, l))
}

/// Leakage efficiency (relative to x·h2(q) of each frame) that ≥ 99.9 % of
/// frames need, mean efficiency of the decoded ones, frames never decoded.
fn quantile(stats: &[FrameStat], q: f64) -> (f64, f64, usize) {
    let mut f: Vec<f64> = stats
        .iter()
        .map(|s| {
            s.1.map_or(f64::INFINITY, |l| {
                l as f64 / (s.0 as f64 * binary_entropy(q))
            })
        })
        .collect();
    f.sort_by(f64::total_cmp);
    let frames = f.len();
    let idx = ((frames as f64) * 0.999).ceil() as usize - 1;
    let fin: Vec<f64> = f.iter().copied().filter(|x| x.is_finite()).collect();
    let mean = fin.iter().sum::<f64>() / fin.len().max(1) as f64;
    (f[idx.min(frames - 1)], mean, frames - fin.len())
}

#[test]
#[ignore = "statistical run (≈ 1 min in release); run by scripts/test"]
fn walk_soft_input_leakage_for_fer_1e3() {
    // ≈ 3550-bit blocks: 802.11n n = 1944 codes, 2 frames per block.
    walk_soft_vs_hard(500, 1000);
}

#[test]
#[ignore = "statistical run (≈ 2 min in release); run by scripts/test"]
fn walk_soft_plan_on_long_code_blocks() {
    // ≈ 14000-bit blocks (as in the session): n = 16384 long codes, 1 frame per block.
    walk_soft_vs_hard(2000, 200);
}

/// Simulated walk blocks of `per_block` exchanges until both flavours have
/// replayed at least `min_frames` frames; prints and checks soft < hard.
fn walk_soft_vs_hard(per_block: u64, min_frames: usize) {
    let scenario = Scenario::walk();
    let cfg = SessionConfig::default();
    let mut rng = ChaCha8Rng::seed_from_u64(2027);
    let (mut soft_stats, mut hard_stats, mut cal_stats) = (Vec::new(), Vec::new(), Vec::new());
    let (mut soft_run, mut hard_run, mut cal_run) =
        (Totals::default(), Totals::default(), Totals::default());
    // Bob's calibration from the blocks reconciled so far (as the session keeps it).
    let mut calibration = llr::SoftCalibration::default();
    let (mut cal_hint_sum, mut gauss_sum) = (0.0, 0.0);
    let (mut bits_all, mut errors_all, mut hint_sum, mut h2_sum) = (0usize, 0usize, 0.0, 0.0);
    let (mut sigmas, mut laplace_scales) = (Vec::new(), Vec::new());
    // (bits, disagreements) per bin of Bob's |distance to the edge|.
    let mut oracle = [(0u64, 0u64); ORACLE_BINS];
    let mut seed = 0u64;
    while soft_stats.len() < min_frames || hard_stats.len() < min_frames {
        seed += 1;
        let (ra, rb) = rows(&scenario, per_block, seed);
        let (fa, fb) = (block(&ra), block(&rb));
        let pre = clamp_preprocess(&cfg.preprocess, fa.cols);
        let stride = extract::stride_for(&fa, &pre).unwrap_or(1).max(1);
        let (Ok(sa), Ok(sb)) = (
            extract::preprocess(&fa, &pre, stride),
            extract::preprocess(&fb, &pre, stride),
        ) else {
            continue;
        };
        let quant = extract::EquiprobableQuantizer::new(2);
        let (qa, qb) = (quant.quantize(&sa, &[]), quant.quantize(&sb, &[]));
        if qa.bits.len() != qb.bits.len() || qa.bits.len() < 2000 {
            continue;
        }
        // Public sample: 5 % of the positions are compared and discarded.
        let n_all = qa.bits.len();
        let sample: Vec<bool> = (0..n_all).map(|_| rng.random::<f64>() < 0.05).collect();
        let sampled = sample.iter().filter(|&&s| s).count().max(1);
        let errs = (0..n_all)
            .filter(|&i| sample[i] && qa.bits[i] != qb.bits[i])
            .count();
        let q_hat = (errs as f64 / sampled as f64).max(0.5 / sampled as f64);
        let keep = |v: &[u8]| -> Vec<u8> {
            v.iter()
                .zip(&sample)
                .filter(|(_, &s)| !s)
                .map(|(&x, _)| x)
                .collect()
        };
        let a = keep(&qa.bits);
        let b = keep(&qb.bits);
        let soft: Vec<f32> = qb
            .soft
            .iter()
            .zip(&sample)
            .filter(|(_, &s)| !s)
            .map(|(&x, _)| x)
            .collect();
        let n = a.len();
        bits_all += n;
        errors_all += a.iter().zip(&b).filter(|(x, y)| x != y).count();
        for ((&x, &y), &d) in a.iter().zip(&b).zip(&soft) {
            let k = ((d.abs() / ORACLE_BIN) as usize).min(ORACLE_BINS - 1);
            oracle[k].0 += 1;
            oracle[k].1 += u64::from(x != y);
        }
        // Bob's LLRs and hints exactly as the soft-plan Bob computes them:
        // without a calibration (the Laplace-tailed model) and with the
        // calibration learned from the blocks before.
        laplace_scales.extend(llr::estimate_laplace_scale(&soft, q_hat));
        if let Some(s) = llr::estimate_sigma(&soft, q_hat) {
            sigmas.push(s);
            gauss_sum += llr::soft_entropy(&soft, s) * n as f64;
        }
        let mut soft_llr = Vec::new();
        let hint = llr::bob_llrs(&b, Some(&soft), q_hat, None, &mut soft_llr).unwrap_or(1.0);
        let hint = entropy_from_hint(hint_from_entropy(hint));
        hint_sum += plan_entropy(q_hat, hint) * n as f64;
        h2_sum += binary_entropy(q_hat) * n as f64;
        let mut hard_llr = Vec::new();
        llr::hard_llrs(&b, q_hat, &mut hard_llr);
        let mut cal_llr = Vec::new();
        let cal_hint =
            llr::bob_llrs(&b, Some(&soft), q_hat, Some(&calibration), &mut cal_llr).unwrap_or(1.0);
        let cal_hint = entropy_from_hint(hint_from_entropy(cal_hint));
        cal_hint_sum += plan_entropy(q_hat, cal_hint) * n as f64;
        let hard_plan = Plan::new(n, q_hat, seed);
        let soft_plan = Plan::with_entropy(n, q_hat, hint, seed);
        let cal_plan = Plan::with_entropy(n, q_hat, cal_hint, seed);
        for (plan, l, stats) in [
            (&hard_plan, &hard_llr, &mut hard_stats),
            (&soft_plan, &soft_llr, &mut soft_stats),
            (&cal_plan, &cal_llr, &mut cal_stats),
        ] {
            let mut dec = LayeredDecoder::with_rule(plan.code.clone(), CHECK_RULE);
            for j in 0..plan.frames.len() {
                stats.push(replay_frame(&mut dec, plan, seed, j, &a, l, &mut rng));
            }
        }
        // The whole protocol, all flavours, on the same bits.
        let mut cal_confirmed = false;
        for (flavour, totals) in [(0, &mut hard_run), (1, &mut soft_run), (2, &mut cal_run)] {
            let p = ReconcileParams {
                qber: q_hat,
                shuffle_seed: seed,
                soft_plan: flavour > 0,
            };
            let bob = new_reconciler_calibrated(
                ReconcilerKind::Ldpc,
                Role::Bob,
                b.clone(),
                (flavour > 0).then(|| soft.clone()),
                (flavour == 2).then_some(&calibration),
                &p,
            );
            match run_pair(
                new_reconciler(ReconcilerKind::Ldpc, Role::Alice, a.clone(), &p),
                bob,
            ) {
                Ok((_, ob)) => {
                    assert_eq!(ob.bits, a, "a confirmed block differs from Alice's");
                    totals.add(Ok((ob.leaked_bits, ob.messages)));
                    cal_confirmed |= flavour == 2;
                }
                Err(ReconcileError::Failed { leaked_bits }) => totals.add(Err(leaked_bits)),
                Err(e) => panic!("protocol error {e}"),
            }
        }
        // Bob learns from the block once it is confirmed (Alice's bits = his
        // corrected ones), as `session::party` does.
        if cal_confirmed {
            assert!(calibration.observe(&soft, &b, &a));
        }
    }
    let q = errors_all as f64 / bits_all as f64;
    let nh = bits_all as f64 * binary_entropy(q);
    let sigma_mean = sigmas.iter().sum::<f64>() / sigmas.len().max(1) as f64;
    println!(
        "ldpc walk ({per_block} exchanges/block, 2-bit Gray, {} blocks, {bits_all} bits, Q = {:.2} %, fitted σ mean \
         {sigma_mean:.3}, mean plan entropy: soft {:.4}, calibrated {:.4}, h2(q̂) {:.4} bit/bit; \
         Gaussian-model Ĥ {:.4}):",
        hard_run.blocks,
        q * 100.0,
        hint_sum / bits_all as f64,
        cal_hint_sum / bits_all as f64,
        h2_sum / bits_all as f64,
        gauss_sum / bits_all as f64
    );
    println!("  n·h2(Q) over all blocks = {nh:.0} bits");
    // What the bits need given Bob's soft values, measured with Alice's
    // bits: Σ_bins n_k·h2(disagreement rate in bin k) / N. Against the
    // hint's Gaussian model it shows how far that model is calibrated.
    let h_oracle = oracle
        .iter()
        .map(|&(nk, ek)| nk as f64 * binary_entropy(ek as f64 / nk.max(1) as f64))
        .sum::<f64>()
        / bits_all as f64;
    println!(
        "  measured H(A | Bob's |distance|) in {ORACLE_BINS} bins of {ORACLE_BIN}: {h_oracle:.4} bit/bit \
         ({:.3}·h2(Q); calibrated hints {:.4}, uncalibrated {:.4})",
        h_oracle / binary_entropy(q),
        cal_hint_sum / bits_all as f64,
        hint_sum / bits_all as f64
    );
    let b_mean = laplace_scales.iter().sum::<f64>() / laplace_scales.len().max(1) as f64;
    let curve = calibration.curve(b_mean);
    for k in [0usize, 5, 10, 20, 30, 40, 50, 60, 75, 100, 149] {
        let c = (k as f64 + 0.5) * f64::from(llr::CALIBRATION_BIN);
        println!(
            "  |d| = {c:.2}: calibrated p {:.5}, Gaussian model p {:.5}, Laplace model p {:.5}",
            curve[k],
            llr::gaussian_tail(c / sigma_mean),
            0.5 * (-c / b_mean).exp()
        );
    }
    for (name, t) in [
        ("hard", &hard_run),
        ("soft", &soft_run),
        ("calibrated soft", &cal_run),
    ] {
        println!(
            "  protocol, {name} plan: leaked {} bits (f = {:.3}), FER {}/{} blocks, messages \
             mean {:.2} max {}, {} of {} blocks in ≤ 3 messages",
            t.leaked,
            t.leaked as f64 / nh,
            t.failed,
            t.blocks,
            t.messages as f64 / f64::from((t.blocks - t.failed).max(1)),
            t.max_messages,
            t.within3,
            t.blocks
        );
    }
    for (name, stats) in [
        ("hard", &hard_stats),
        ("soft", &soft_stats),
        ("calibrated soft", &cal_stats),
    ] {
        let (fq, mean, never) = quantile(stats, q);
        println!(
            "  replay, {name} LLRs + plan, {} frames: leakage for FER ≤ 1e-3 f = {fq:.3}; \
             blind mean f = {mean:.3}; {never} frames never decoded",
            stats.len()
        );
    }
    assert!(hard_stats.len() >= min_frames && soft_stats.len() >= min_frames);
    assert!(
        (soft_run.leaked as f64) < 0.9 * hard_run.leaked as f64,
        "soft plan should leak at least 10 % less: soft {} vs hard {}",
        soft_run.leaked,
        hard_run.leaked
    );
    assert!(soft_run.failed <= hard_run.failed + 1);
    // Calibration from confirmed blocks: at most as many failures, and far
    // fewer blind rounds than the uncalibrated soft plan.
    let mean_messages = |t: &Totals| t.messages as f64 / f64::from((t.blocks - t.failed).max(1));
    assert!(cal_run.failed <= hard_run.failed + 1);
    assert!(
        (cal_run.leaked as f64) < 0.9 * hard_run.leaked as f64,
        "calibrated soft plan should leak at least 10 % less than hard: {} vs {}",
        cal_run.leaked,
        hard_run.leaked
    );
    assert!(
        mean_messages(&cal_run) < 0.8 * mean_messages(&soft_run),
        "calibration should cut the blind rounds: {:.2} vs {:.2} messages per block",
        mean_messages(&cal_run),
        mean_messages(&soft_run)
    );
}
