//! Checks of `ChannelSim::propagate`: consistency with the frequency responses, noise level, CFO, sampling
//! offset, determinism and the static scenario.

use num_complex::Complex32;
use qwave_dsp::channel::{ChannelSim, Node, Scenario, SAMPLE_RATE_HZ, SUBCARRIERS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustfft::FftPlanner;
use std::f64::consts::TAU;

fn qpsk(n: usize, seed: u64) -> Vec<Complex32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let s = std::f32::consts::FRAC_1_SQRT_2;
    (0..n)
        .map(|_| {
            Complex32::new(
                if rng.random() { s } else { -s },
                if rng.random() { s } else { -s },
            )
        })
        .collect()
}

fn bin(k: i32) -> usize {
    k.rem_euclid(64) as usize
}

/// One OFDM symbol with a 16-sample cyclic prefix, BPSK on the 52 used subcarriers; returns (time, X).
fn ofdm_symbol() -> (Vec<Complex32>, Vec<Complex32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let mut freq = vec![Complex32::default(); 64];
    for &k in &SUBCARRIERS {
        freq[bin(k)] = Complex32::new(if rng.random() { 1.0 } else { -1.0 }, 0.0);
    }
    let x = freq.clone();
    FftPlanner::<f32>::new()
        .plan_fft_inverse(64)
        .process(&mut freq);
    freq.iter_mut().for_each(|v| *v /= 64.0);
    let mut sym: Vec<Complex32> = freq[48..].to_vec();
    sym.extend_from_slice(&freq);
    (sym, x)
}

#[test]
fn ofdm_ls_estimate_matches_measured_response() {
    // No CFO/SFO and negligible noise: the FFT of the received symbol divided by the sent one must equal
    // measured_response up to one common LO phase (the RF responses included).
    let sc = Scenario {
        cfo_ppm_max: 0.0,
        sampling_offset_ppm_max: 0.0,
        snr_db: 150.0,
        eve_snr_db: 150.0,
        ..Scenario::walk()
    };
    let (sym, x) = ofdm_symbol();
    let fft = FftPlanner::<f32>::new().plan_fft_forward(64);
    let mut out = Vec::new();
    for seed in 0..5 {
        let mut sim = ChannelSim::new(&sc, seed);
        assert!(
            sim.channel_len() <= 17,
            "channel must fit the cyclic prefix"
        );
        for (from, to) in [
            (Node::Alice, Node::Bob),
            (Node::Bob, Node::Alice),
            (Node::Alice, Node::Eve(0)),
        ] {
            let t = 0.123 * seed as f64;
            sim.propagate(from, to, t, &sym, 10, 5, &mut out);
            assert_eq!(out.len(), 10 + sym.len() + sim.channel_len() - 1 + 5);
            let mut y = out[10 + 16..10 + 80].to_vec();
            fft.process(&mut y);
            let meas = sim.measured_response(from, to, t);
            let ratios: Vec<Complex32> = SUBCARRIERS
                .iter()
                .zip(&meas)
                .map(|(&k, m)| y[bin(k)] / x[bin(k)] / m)
                .collect();
            let r0 = ratios[0];
            assert!((r0.norm() - 1.0).abs() < 1e-3, "gain {}", r0.norm());
            for r in &ratios {
                assert!(
                    (r - r0).norm() < 2e-3,
                    "{from:?}->{to:?}: ratio {r} vs {r0}"
                );
            }
        }
    }
}

#[test]
fn measured_snr_matches_scenario() {
    for (snr_db, eve_snr_db) in [(20.0, 8.0), (5.0, 30.0)] {
        let sc = Scenario {
            snr_db,
            eve_snr_db,
            ..Scenario::walk()
        };
        let tx = qpsk(400, 1);
        let (lead, trail) = (1500, 1500);
        let mut out = Vec::with_capacity(4000);
        for (to, want) in [(Node::Bob, snr_db), (Node::Eve(0), eve_snr_db)] {
            let (mut sig, mut noise) = (0.0f64, 0.0f64);
            for seed in 0..150 {
                let mut sim = ChannelSim::new(&sc, seed);
                sim.propagate(
                    Node::Alice,
                    to,
                    seed as f64 * 0.5,
                    &tx,
                    lead,
                    trail,
                    &mut out,
                );
                let l = sim.channel_len();
                let p = |s: &[Complex32]| {
                    s.iter().map(|c| f64::from(c.norm_sqr())).sum::<f64>() / s.len() as f64
                };
                let n = 0.5 * (p(&out[..lead]) + p(&out[out.len() - trail..]));
                let full = p(&out[lead + l - 1..lead + tx.len()]);
                sig += full - n;
                noise += n;
            }
            let got = 10.0 * (sig / noise).log10();
            // The noise floor alone is exact up to estimation error: P_tx / SNR with P_tx = 1 (QPSK).
            let floor_db = -10.0 * (noise / 150.0).log10();
            println!(
                "{to:?}: measured SNR {got:.2} dB, 1/noise {floor_db:.3} dB (scenario {want} dB)"
            );
            assert!(
                (floor_db - want).abs() < 0.05,
                "noise floor {floor_db} vs {want}"
            );
            assert!((got - want).abs() < 0.5, "{to:?}: {got} vs {want}");
        }
    }
}

#[test]
fn cfo_rotates_at_the_radio_offset() {
    let sc = Scenario {
        rms_delay_spread_s: 0.0,
        speed_mps: 0.0,
        rf_mismatch: false,
        sampling_offset_ppm_max: 0.0,
        snr_db: 200.0,
        ..Scenario::walk()
    };
    let tx = vec![Complex32::new(1.0, 0.0); 1000];
    let mut out = Vec::new();
    let mut seen_nonzero = false;
    for seed in 0..4 {
        let mut sim = ChannelSim::new(&sc, seed);
        let cfo = sim.cfo_hz(Node::Alice, Node::Bob).unwrap();
        assert_eq!(cfo, -sim.cfo_hz(Node::Bob, Node::Alice).unwrap());
        assert!(cfo.abs() <= 2.0 * 10e-6 * sc.carrier_hz);
        seen_nonzero |= cfo.abs() > 100.0;
        sim.propagate(Node::Alice, Node::Bob, 0.0, &tx, 0, 0, &mut out);
        let incs: f64 = out[1..999]
            .windows(2)
            .map(|w| f64::from((w[1] * w[0].conj()).arg()))
            .sum::<f64>()
            / 997.0;
        let est = incs * SAMPLE_RATE_HZ / TAU;
        println!("seed {seed}: CFO {cfo:.1} Hz, measured {est:.1} Hz");
        assert!((est - cfo).abs() < 1.0, "{est} vs {cfo}");
        // Phase is continuous in absolute time: a burst 0.1 ms later starts 2π·Δf·0.1 ms further on.
        let first = out[0];
        sim.propagate(Node::Alice, Node::Bob, 1e-4, &tx, 0, 0, &mut out);
        let dphi = f64::from((out[0] * first.conj()).arg());
        let want = (TAU * cfo * 1e-4 + std::f64::consts::PI).rem_euclid(TAU) - std::f64::consts::PI;
        assert!((dphi - want).abs() < 1e-3, "{dphi} vs {want}");
    }
    assert!(seen_nonzero);
}

#[test]
fn sampling_offset_stretches_the_burst() {
    let sc = Scenario {
        rms_delay_spread_s: 0.0,
        speed_mps: 0.0,
        rf_mismatch: false,
        cfo_ppm_max: 0.0,
        sampling_offset_ppm_max: 1000.0,
        snr_db: 200.0,
        ..Scenario::walk()
    };
    let f0 = 1e6;
    let tx: Vec<Complex32> = (0..3000)
        .map(|n| {
            let (s, c) = (TAU * f0 * n as f64 / SAMPLE_RATE_HZ).sin_cos();
            Complex32::new(c as f32, s as f32)
        })
        .collect();
    let mut out = Vec::new();
    for seed in 0..3 {
        let mut sim = ChannelSim::new(&sc, seed);
        let ppm = sim.sampling_offset_ppm(Node::Alice, Node::Bob).unwrap();
        sim.propagate(Node::Alice, Node::Bob, 0.0, &tx, 0, 0, &mut out);
        let m = &out[10..2900];
        let inc = m
            .windows(2)
            .map(|w| f64::from((w[1] * w[0].conj()).arg()))
            .sum::<f64>()
            / (m.len() - 1) as f64;
        let got_ppm = (inc * SAMPLE_RATE_HZ / (TAU * f0) - 1.0) * 1e6;
        println!("seed {seed}: sampling offset {ppm:.1} ppm, measured {got_ppm:.1} ppm");
        assert!(
            (got_ppm - ppm).abs() < 0.02 * ppm.abs() + 1.0,
            "{got_ppm} vs {ppm}"
        );
        // The interpolated tone keeps its amplitude (cubic Lagrange on 0.05 cycles/sample).
        for c in m {
            assert!((c.norm() - out[10].norm()).abs() < 1e-3 * out[10].norm().max(1e-3) + 1e-4);
        }
    }
}

#[test]
fn same_seed_same_output_different_seed_differs() {
    let sc = Scenario::walk();
    let tx = qpsk(320, 4);
    let run = |seed: u64| -> Vec<Vec<Complex32>> {
        let mut sim = ChannelSim::new(&sc, seed);
        let mut outs = Vec::new();
        for k in 0..3 {
            for (from, to, t) in [
                (Node::Alice, Node::Bob, sc.alice_probe_time_s(k)),
                (Node::Alice, Node::Eve(0), sc.alice_probe_time_s(k)),
                (Node::Bob, Node::Alice, sc.bob_probe_time_s(k)),
            ] {
                let mut out = Vec::new();
                sim.propagate(from, to, t, &tx, 50, 50, &mut out);
                outs.push(out);
                outs.push(sim.measured_response(from, to, t).to_vec());
            }
        }
        outs
    };
    assert_eq!(run(42), run(42));
    let (a, b) = (run(42), run(43));
    for (x, y) in a.iter().zip(&b) {
        assert_ne!(x, y);
    }
}

#[test]
fn static_room_never_changes() {
    let sc = Scenario::static_room();
    assert_eq!(sc.max_doppler_hz(), 0.0);
    let mut sim = ChannelSim::new(&sc, 8);
    for (from, to) in [
        (Node::Alice, Node::Bob),
        (Node::Eve(0), Node::Alice),
        (Node::Bob, Node::Eve(0)),
    ] {
        let h0 = sim.true_response(from, to, 0.0);
        let m0 = sim.measured_response(from, to, 0.0);
        for t in [0.01, 1.0, 37.5, 1000.0] {
            assert_eq!(sim.true_response(from, to, t), h0);
            assert_eq!(sim.measured_response(from, to, t), m0);
        }
    }
    // Noise still differs between bursts.
    let tx = qpsk(100, 1);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    sim.propagate(Node::Alice, Node::Bob, 0.0, &tx, 0, 0, &mut a);
    sim.propagate(Node::Alice, Node::Bob, 0.0, &tx, 0, 0, &mut b);
    assert_ne!(a, b);
    let cap = sim.capacity();
    println!("static capacity: {cap:?}");
    assert_eq!(cap.bits_per_second, 0.0);
    assert_eq!(cap.independent_samples_per_second, 0.0);
}

#[test]
fn propagate_reuses_out_capacity() {
    let mut sim = ChannelSim::new(&Scenario::walk(), 1);
    let tx = qpsk(400, 2);
    let mut out = Vec::with_capacity(1000);
    let ptr = out.as_ptr();
    for k in 0..10 {
        sim.propagate(
            Node::Alice,
            Node::Bob,
            k as f64 * 0.01,
            &tx,
            100,
            100,
            &mut out,
        );
        assert_eq!(out.as_ptr(), ptr, "out was reallocated");
    }
    assert!(sim
        .try_propagate(Node::Alice, Node::Alice, 0.0, &tx, 0, 0, &mut out)
        .is_err());
    assert!(out.is_empty());
}
