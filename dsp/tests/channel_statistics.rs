//! Statistical checks of the channel simulator against the Jakes/Clarke model and the exponential PDP.
//! Every check averages over many seeded realisations; tolerances are ~3–5 standard errors.

use num_complex::Complex32;
use qwave_dsp::channel::{tdl, ChannelSim, Node, Scenario, SAMPLE_RATE_HZ};
use std::f64::consts::{PI, TAU};

/// Reference J0 by the integral J0(x) = (1/π)∫₀^π cos(x sin θ) dθ (composite Simpson), independent of the
/// library's polynomial approximation.
fn j0_ref(x: f64) -> f64 {
    let n = 2000;
    let h = PI / n as f64;
    let f = |th: f64| (x * th.sin()).cos();
    let mut s = f(0.0) + f(PI);
    for i in 1..n {
        s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0 / PI
}

#[test]
fn library_j0_matches_integral() {
    for x in [0.0, 0.3, 1.0, 2.404_825_557_7, 3.0, 4.5, 7.0, 12.0] {
        let d = (qwave_dsp::channel::bessel_j0(x) - j0_ref(x)).abs();
        assert!(d < 1e-6, "J0({x}): diff {d}");
    }
}

/// Normalised correlation Re Σ a·b* / √(Σ|a|² Σ|b|²) and |Im| part, accumulated in f64.
#[derive(Default)]
struct Corr {
    ab_re: f64,
    ab_im: f64,
    aa: f64,
    bb: f64,
}
impl Corr {
    fn add(&mut self, a: Complex32, b: Complex32) {
        let p = a * b.conj();
        self.ab_re += f64::from(p.re);
        self.ab_im += f64::from(p.im);
        self.aa += f64::from(a.norm_sqr());
        self.bb += f64::from(b.norm_sqr());
    }
    fn value(&self) -> (f64, f64) {
        let n = (self.aa * self.bb).sqrt();
        (self.ab_re / n, self.ab_im / n)
    }
}

#[test]
fn tap_autocorrelation_follows_j0() {
    let sc = Scenario::walk();
    let fd = sc.max_doppler_hz();
    let xs = [0.5, 1.0, 2.0, 2.405, 3.5, 5.0, 8.0];
    let mut acc: Vec<Corr> = xs.iter().map(|_| Corr::default()).collect();
    let mut h0 = vec![Complex32::default(); 64];
    let mut h1 = vec![Complex32::default(); 64];
    for seed in 0..300 {
        let sim = ChannelSim::new(&sc, seed);
        let pdp = sim.power_delay_profile().to_vec();
        for t0 in [0.0, 17.0, 41.0] {
            let taps = sim.tap_gains(Node::Alice, Node::Bob, t0, &mut h0).unwrap();
            for (x, c) in xs.iter().zip(acc.iter_mut()) {
                let tau = x / (TAU * fd);
                sim.tap_gains(Node::Alice, Node::Bob, t0 + tau, &mut h1)
                    .unwrap();
                for l in 0..taps {
                    let w = (1.0 / pdp[l].sqrt()) as f32;
                    c.add(h1[l] * w, h0[l] * w);
                }
            }
        }
    }
    for (x, c) in xs.iter().zip(&acc) {
        let (re, im) = c.value();
        let want = j0_ref(*x);
        println!("2π f_d τ = {x:5.3}: autocorrelation {re:+.4} (J0 {want:+.4}), imag {im:+.4}");
        assert!((re - want).abs() < 0.04, "x = {x}: {re} vs J0 {want}");
        assert!(im.abs() < 0.04, "x = {x}: imaginary part {im}");
    }
}

#[test]
fn eve_correlation_follows_spatial_j0() {
    let ds = [0.1, 0.383, 0.5, 1.0];
    let sc = Scenario::walk().with_eves_at_wavelengths(&ds);
    let mut acc: Vec<Corr> = ds.iter().map(|_| Corr::default()).collect();
    let mut bob_eve = Corr::default();
    for seed in 0..400 {
        let sim = ChannelSim::new(&sc, 1000 + seed);
        for k in 0..8 {
            let t = k as f64 * 3.0;
            let ab = sim.true_response(Node::Alice, Node::Bob, t);
            for (j, c) in acc.iter_mut().enumerate() {
                let ae = sim.true_response(Node::Alice, Node::Eve(j), t);
                ab.iter().zip(&ae).for_each(|(b, e)| c.add(*e, *b));
            }
            let be = sim.true_response(Node::Bob, Node::Eve(0), t);
            ab.iter().zip(&be).for_each(|(b, e)| bob_eve.add(*e, *b));
        }
    }
    for (d, c) in ds.iter().zip(&acc) {
        let (re, im) = c.value();
        let want = j0_ref(TAU * d);
        println!(
            "d = {d:5.3} λ: corr(Alice→Eve, Alice→Bob) {re:+.4} (J0 {want:+.4}), imag {im:+.4}"
        );
        assert!((re - want).abs() < 0.04, "d = {d} λ: {re} vs {want}");
        assert!(im.abs() < 0.04);
    }
    let (re, im) = bob_eve.value();
    println!("corr(Bob→Eve, Alice→Bob) {re:+.4} {im:+.4}");
    assert!(
        re.abs() < 0.04 && im.abs() < 0.04,
        "Bob→Eve must be independent: {re} {im}"
    );
}

#[test]
fn alice_bob_correlation_drops_with_tdd_gap() {
    let base = Scenario {
        rf_mismatch: false,
        ..Scenario::vehicle()
    };
    let fd = base.max_doppler_hz();
    let gaps = [0.0, 0.5e-3, 1e-3, 2e-3, 3e-3];
    let mut prev = f64::INFINITY;
    for gap in gaps {
        let sc = Scenario {
            tdd_gap_s: gap,
            ..base.clone()
        };
        let mut c = Corr::default();
        for seed in 0..150 {
            let sim = ChannelSim::new(&sc, seed);
            for k in 0..20 {
                let ab = sim.measured_response(Node::Alice, Node::Bob, sc.alice_probe_time_s(k));
                let ba = sim.measured_response(Node::Bob, Node::Alice, sc.bob_probe_time_s(k));
                ab.iter().zip(&ba).for_each(|(a, b)| c.add(*a, *b));
            }
        }
        let (re, _) = c.value();
        let want = j0_ref(TAU * fd * gap);
        println!("gap {:4.1} ms: corr {re:.4} (J0 {want:.4})", gap * 1e3);
        if gap == 0.0 {
            assert!(
                re > 0.999_999,
                "gap 0 without RF mismatch must be fully reciprocal: {re}"
            );
        }
        assert!((re - want).abs() < 0.04, "gap {gap}: {re} vs {want}");
        assert!(re < prev, "correlation must drop as the gap grows");
        prev = re;
    }
}

#[test]
fn rf_mismatch_is_a_fixed_per_subcarrier_ratio() {
    // Non-reciprocal but calibratable: H_BA / H_AB = (TX_B RX_A)/(TX_A RX_B) does not depend on time.
    let sc = Scenario {
        tdd_gap_s: 0.0,
        ..Scenario::walk()
    };
    let sim = ChannelSim::new(&sc, 9);
    let ratio = |t: f64| -> Vec<Complex32> {
        let ab = sim.measured_response(Node::Alice, Node::Bob, t);
        let ba = sim.measured_response(Node::Bob, Node::Alice, t);
        ba.iter().zip(&ab).map(|(b, a)| b / a).collect()
    };
    let (r0, r1) = (ratio(0.0), ratio(0.77));
    let mut max_dev = 0f32;
    let mut min_db = f32::INFINITY;
    let mut max_db = f32::NEG_INFINITY;
    for (a, b) in r0.iter().zip(&r1) {
        max_dev = max_dev.max((a - b).norm() / a.norm());
        let db = 20.0 * a.norm().log10();
        min_db = min_db.min(db);
        max_db = max_db.max(db);
    }
    println!(
        "reciprocity ratio: ripple {:.2} dB, time variation {max_dev:.2e}",
        max_db - min_db
    );
    assert!(max_dev < 1e-3, "ratio changed over time: {max_dev}");
    assert!(
        max_db - min_db > 0.3,
        "RF mismatch should ripple across the band"
    );
    assert!(max_db - min_db < 12.0, "RF ripple should be a few dB");
}

#[test]
fn pdp_is_exponential_with_configured_spread() {
    let ts = 1.0 / SAMPLE_RATE_HZ;
    for rms in [25e-9, 50e-9, 100e-9, 200e-9] {
        let sc = Scenario {
            rms_delay_spread_s: rms,
            ..Scenario::walk()
        };
        let sim = ChannelSim::new(&sc, 3);
        let pdp = sim.power_delay_profile();
        assert!((pdp.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let r = pdp[1] / pdp[0];
        assert!(r < 1.0);
        for w in pdp.windows(2) {
            assert!((w[1] / w[0] - r).abs() < 1e-9, "not exponential");
        }
        assert!(
            pdp[pdp.len() - 1] / pdp[0] <= 1.000_001e-3,
            "tail below −30 dB"
        );
        assert!(
            pdp[pdp.len() - 2] / pdp[0] > 1e-3,
            "no tap beyond the −30 dB point"
        );
        let got = tdl::rms_delay_spread_s(pdp, ts);
        assert!((got - rms).abs() < 0.01 * rms, "rms {got} vs {rms}");
    }
    // Empirical tap powers of the generated processes.
    let sc = Scenario::walk();
    let mut power = vec![0.0f64; 64];
    let mut h = vec![Complex32::default(); 64];
    let mut taps = 0;
    let mut n = 0;
    let mut pdp = Vec::new();
    for seed in 0..400 {
        let sim = ChannelSim::new(&sc, 5000 + seed);
        pdp = sim.power_delay_profile().to_vec();
        for t in [0.0, 5.0, 10.0] {
            taps = sim.tap_gains(Node::Alice, Node::Bob, t, &mut h).unwrap();
            for l in 0..taps {
                power[l] += f64::from(h[l].norm_sqr());
            }
            n += 1;
        }
    }
    let power: Vec<f64> = power[..taps].iter().map(|p| p / n as f64).collect();
    for l in 0..taps {
        println!("tap {l}: empirical {:.4}, profile {:.4}", power[l], pdp[l]);
        if pdp[l] > 0.01 {
            assert!((power[l] / pdp[l] - 1.0).abs() < 0.12, "tap {l}");
        }
    }
    let emp_rms = tdl::rms_delay_spread_s(&power, ts);
    println!("empirical rms delay spread {:.1} ns", emp_rms * 1e9);
    assert!((emp_rms - 50e-9).abs() < 3e-9);
}
