//! Frame error rate and efficiency of Cascade over a BSC, n = 16384,
//! 1000 frames per Q. Slow in debug builds: `#[ignore]`, run by the full test
//! script (`cargo test --release --test reconcile_fer -- --ignored --nocapture`).

mod common;

use qwave::reconcile::binary_entropy;

#[test]
#[ignore = "slow: 4000 frames of 16384 bits; run by the full test script in --release"]
fn cascade_fer_and_efficiency_n16384() {
    let n = 16384;
    // QWAVE_FER_FRAMES overrides the frame count (at least 1000).
    let frames = std::env::var("QWAVE_FER_FRAMES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1000)
        .max(1000);
    for (qi, q) in [0.01, 0.02, 0.05, 0.10].into_iter().enumerate() {
        let (mut fails, mut eff_sum, mut msgs) = (0u64, 0.0f64, 0u64);
        let (mut eff_max, mut leaked_sum) = (0.0f64, 0u64);
        for f in 0..frames {
            let seed = (qi as u64) << 32 | f;
            let (a, b) = common::bsc_frame(n, q, seed);
            let errors = a.iter().zip(&b).filter(|(x, y)| x != y).count();
            let (oa, ob) = common::reconcile(a, b, q, seed ^ 0x5eed).expect("protocol error");
            if oa.bits != ob.bits {
                fails += 1;
            }
            assert_eq!(oa.leaked_bits, ob.leaked_bits);
            // Efficiency against the realised error fraction of this frame.
            let p = errors as f64 / n as f64;
            let eff = ob.leaked_bits as f64 / (n as f64 * binary_entropy(p));
            eff_sum += eff;
            eff_max = eff_max.max(eff);
            leaked_sum += ob.leaked_bits;
            msgs += u64::from(ob.messages);
        }
        let fer = fails as f64 / frames as f64;
        // f = leaked / (n·h2(Q)) with the nominal Q, over all frames.
        let f_nominal = leaked_sum as f64 / (frames as f64 * n as f64 * binary_entropy(q));
        let f_frame = eff_sum / frames as f64;
        println!(
            "Q = {:>4.1} %: FER = {fer:.4} ({fails}/{frames}), efficiency f = {f_nominal:.4} \
             (nominal Q; per-frame realised p: mean {f_frame:.4}, max {eff_max:.4}), \
             mean messages = {:.1}",
            q * 100.0,
            msgs as f64 / frames as f64
        );
        assert!(fer <= 1e-3, "FER {fer} at Q = {q}");
        assert!(f_nominal < 1.1, "efficiency {f_nominal} at Q = {q}");
    }
}
