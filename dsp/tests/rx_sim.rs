//! Receiver against simulated channels (seeded): CSI accuracy vs the LS bound, CFO accuracy,
//! detection probability, false alarms on noise, L-SIG round trip, phase features.
//!
//! SNR conventions: "per-subcarrier SNR" = E|H_k|² / noise variance per subcarrier bin (after
//! qwave's √52/64 scaling), i.e. time-domain noise variance σ² = 64 / (52 · SNR); "per-sample
//! SNR" = signal power / σ² in the time domain.

use num_complex::Complex32;
use qwave_dsp::lsig::LSig;
use qwave_dsp::ofdm::{FFT_LEN, USED_SUBCARRIERS};
use qwave_dsp::preamble::{probe_waveform, PROBE_LEN};
use qwave_dsp::rx::{features, Receiver, RxConfig, RxError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::f64::consts::PI;

fn cn(rng: &mut ChaCha8Rng, var: f32) -> Complex32 {
    let s = (var / 2.0).sqrt();
    let (a, b): (f32, f32) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
    Complex32::new(a * s, b * s)
}

/// Random 4–8-tap channel, exponential power-delay profile, total power 1.
fn random_channel(rng: &mut ChaCha8Rng) -> Vec<Complex32> {
    let taps = rng.random_range(4..=8);
    let mut h: Vec<Complex32> = (0..taps)
        .map(|l| cn(rng, (-(l as f32) / 2.0).exp()))
        .collect();
    let p: f32 = h.iter().map(|x| x.norm_sqr()).sum();
    for x in &mut h {
        *x /= p.sqrt();
    }
    h
}

/// Frequency response of `h` on USED_SUBCARRIERS, referenced to a timing `shift` samples late.
fn response(h: &[Complex32], shift: isize) -> [Complex32; 52] {
    core::array::from_fn(|i| {
        let k = f64::from(USED_SUBCARRIERS[i]);
        h.iter()
            .enumerate()
            .map(|(l, &t)| {
                let a = -2.0 * PI * k * (l as f64 - shift as f64) / FFT_LEN as f64;
                t * Complex32::new(a.cos() as f32, a.sin() as f32)
            })
            .sum()
    })
}

/// `lead` zeros + probe + `tail` zeros, through `h`, with CFO (phase 0 at sample `lead + 192`)
/// and AWGN of variance `nvar`.
#[allow(clippy::too_many_arguments)]
fn make_rx(
    rng: &mut ChaCha8Rng,
    sig: &LSig,
    h: &[Complex32],
    lead: usize,
    tail: usize,
    cfo_hz: f64,
    nvar: f32,
) -> Vec<Complex32> {
    let p = probe_waveform(sig);
    let n = lead + PROBE_LEN + tail;
    let mut x = vec![Complex32::new(0.0, 0.0); n];
    for (i, &s) in p.iter().enumerate() {
        for (l, &t) in h.iter().enumerate() {
            if lead + i + l < n {
                x[lead + i + l] += s * t;
            }
        }
    }
    let t0 = (lead + 192) as f64;
    for (i, v) in x.iter_mut().enumerate() {
        let a = 2.0 * PI * cfo_hz * (i as f64 - t0) / 20e6;
        *v = *v * Complex32::new(a.cos() as f32, a.sin() as f32) + cn(rng, nvar);
    }
    x
}

#[test]
fn csi_nmse_within_1db_of_ls_bound() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut rx = Receiver::new(RxConfig::default());
    for snr_db in [10.0f32, 20.0, 30.0] {
        let snr = 10f32.powf(snr_db / 10.0);
        let nvar = 64.0 / (52.0 * snr);
        let (mut err, mut pow) = (0f64, 0f64);
        let trials = 100;
        for _ in 0..trials {
            let h = random_channel(&mut rng);
            let lead = rng.random_range(30..90);
            let x = make_rx(&mut rng, &LSig::for_probe(7), &h, lead, 40, 0.0, nvar);
            let f = rx.receive(&x).expect("probe received");
            let shift = f.ltf_start as isize - (lead + 192) as isize;
            assert!(shift.abs() <= 8, "timing off by {shift}");
            let hh = response(&h, shift);
            for (a, b) in f.csi.iter().zip(hh.iter()) {
                err += f64::from((a - b).norm_sqr());
                pow += f64::from(b.norm_sqr());
            }
        }
        let nmse_db = 10.0 * (err / pow).log10();
        let bound_db = 10.0 * (1.0 / (2.0 * f64::from(snr))).log10();
        eprintln!("SNR {snr_db} dB: NMSE {nmse_db:.2} dB, LS bound {bound_db:.2} dB");
        assert!(
            (nmse_db - bound_db).abs() < 1.0,
            "NMSE {nmse_db:.2} dB vs bound {bound_db:.2} dB"
        );
    }
}

/// Bound: the fine (64-lag) estimator's CRB-like RMS error is
/// fs / (2π·64) / √(72·SNR) ≈ 590 Hz at 20 dB per-sample SNR and ≈ 190 Hz at 30 dB (72 products).
#[test]
fn cfo_error_bounded_up_to_100khz() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut rx = Receiver::new(RxConfig::default());
    for (snr_db, rms_max, abs_max) in [(20.0f32, 700.0, 2_000.0), (30.0, 300.0, 1_000.0)] {
        let nvar = 10f32.powf(-snr_db / 10.0);
        let (mut se, mut worst, mut n) = (0f64, 0f64, 0);
        for &cfo in &[-100e3, -60e3, -20e3, 0.0, 15e3, 55e3, 100e3] {
            for _ in 0..15 {
                let h = random_channel(&mut rng);
                let x = make_rx(&mut rng, &LSig::for_probe(3), &h, 50, 40, cfo, nvar);
                let f = rx.receive(&x).expect("probe received");
                let e = f.cfo_hz - cfo;
                se += e * e;
                worst = worst.max(e.abs());
                n += 1;
            }
        }
        let rms = (se / f64::from(n)).sqrt();
        eprintln!("SNR {snr_db} dB: CFO rms error {rms:.0} Hz, worst {worst:.0} Hz");
        assert!(rms < rms_max && worst < abs_max);
    }
}

#[test]
fn detection_probability_at_10db() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut rx = Receiver::new(RxConfig::default());
    let nvar = 0.1; // 10 dB per-sample SNR
    let trials = 300;
    let (mut found, mut sig_ok) = (0, 0);
    for t in 0..trials {
        let h = random_channel(&mut rng);
        let lead = rng.random_range(20..200);
        let cfo = rng.random_range(-100e3..100e3);
        let sig = LSig::for_probe(t);
        let x = make_rx(&mut rng, &sig, &h, lead, 60, cfo, nvar);
        if let Ok(f) = rx.receive(&x) {
            let d = f.ltf_start as isize - (lead + 192) as isize;
            if (-4..=8).contains(&d) {
                found += 1;
                if f.lsig == Ok(sig) {
                    sig_ok += 1;
                }
            }
        }
    }
    let pd = f64::from(found) / f64::from(trials as u32);
    let ps = f64::from(sig_ok) / f64::from(trials as u32);
    eprintln!("10 dB: detection {pd:.3}, L-SIG correct {ps:.3}");
    assert!(pd >= 0.99);
    assert!(ps >= 0.95);
}

#[test]
fn no_false_alarm_on_200ms_of_noise() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut rx = Receiver::new(RxConfig::default());
    let mut buf = vec![Complex32::new(0.0, 0.0); 1 << 20];
    let mut out = Vec::new();
    for _ in 0..4 {
        for v in &mut buf {
            *v = cn(&mut rng, 1.0);
        }
        rx.scan(&buf, &mut out);
    }
    assert!(out.is_empty(), "{} false alarms", out.len());
    assert_eq!(rx.receive(&buf[..600]), Err(RxError::NoPacket));
}

#[test]
fn scan_finds_every_probe_in_a_long_recording() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut x = vec![Complex32::new(0.0, 0.0); 100_000];
    for v in &mut x {
        *v = cn(&mut rng, 0.01);
    }
    let starts: Vec<usize> = (0..20).map(|i| 1_000 + i * 4_900 + i * i).collect();
    for (i, &s) in starts.iter().enumerate() {
        let p = probe_waveform(&LSig::for_probe(i as u64));
        for (j, v) in p.iter().enumerate() {
            x[s + j] += v;
        }
    }
    let mut rx = Receiver::new(RxConfig::default());
    let mut out = Vec::new();
    rx.scan(&x, &mut out);
    assert_eq!(out.len(), starts.len());
    for (i, (f, &s)) in out.iter().zip(&starts).enumerate() {
        assert_eq!(f.start, s);
        assert_eq!(f.lsig, Ok(LSig::for_probe(i as u64)));
        assert!(f.snr_db > 15.0 && f.snr_db < 25.0, "snr {}", f.snr_db);
    }
}

#[test]
fn receive_reports_truncation() {
    let p = probe_waveform(&LSig::for_probe(1));
    let mut rx = Receiver::new(RxConfig::default());
    assert!(matches!(
        rx.receive(&p[..300]),
        Err(RxError::Truncated { have: 300, .. })
    ));
    let mut x = vec![Complex32::new(0.0, 0.0); 500];
    x[200..].copy_from_slice(&p[..300]);
    assert!(matches!(
        rx.receive(&x),
        Err(RxError::Truncated { have: 500, .. })
    ));
}

#[test]
fn features_remove_pure_delay() {
    // direct: linear phase + constant is removed exactly, other structure is kept
    let csi: [Complex32; 52] = core::array::from_fn(|i| {
        let k = f32::from(USED_SUBCARRIERS[i]);
        Complex32::from_polar(0.5, 0.3 + 2.0 * std::f32::consts::PI * 3.0 * k / 64.0)
    });
    let f = features(&csi);
    assert!(f.phase.iter().all(|p| p.abs() < 1e-4));
    assert!(f.amplitude.iter().all(|a| (a - 0.5).abs() < 1e-6));
    let quad: [Complex32; 52] = core::array::from_fn(|i| {
        let k = f32::from(USED_SUBCARRIERS[i]);
        Complex32::from_polar(1.0, 0.002 * k * k)
    });
    assert!(features(&quad).phase.iter().any(|p| p.abs() > 0.3));
    // through the receiver: a delayed flat channel gives ~zero phase features
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut h = vec![Complex32::new(0.0, 0.0); 6];
    h[5] = Complex32::from_polar(0.8, -1.1);
    let x = make_rx(&mut rng, &LSig::for_probe(9), &h, 60, 40, 30e3, 1e-3);
    let mut rx = Receiver::new(RxConfig::default());
    let fr = rx.receive(&x).unwrap();
    let f = features(&fr.csi);
    let worst = f.phase.iter().fold(0f32, |m, p| m.max(p.abs()));
    assert!(worst < 0.1, "residual phase {worst}");
}

#[test]
fn lsig_roundtrip_awgn_10db() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let rates = [6u8, 9, 12, 18, 24, 36, 48, 54];
    let mut ok = 0;
    let n = 500;
    for _ in 0..n {
        let sig = LSig::new(rates[rng.random_range(0..8)], rng.random_range(0..4096)).unwrap();
        let coded = sig.coded_bits().unwrap();
        // BPSK at 10 dB Es/N0: noise variance 0.1 (real part 0.05)
        let soft: [f32; 48] = core::array::from_fn(|i| {
            let s = if coded[i] == 1 { 1.0 } else { -1.0 };
            s + cn(&mut rng, 0.1).re
        });
        if LSig::decode(&soft) == Ok(sig) {
            ok += 1;
        }
    }
    assert_eq!(ok, n, "{} of {n} decoded", ok);
}

#[test]
fn garbage_input_gives_errors_not_panics() {
    let mut rx = Receiver::new(RxConfig::default());
    let zeros = vec![Complex32::new(0.0, 0.0); 1000];
    assert_eq!(rx.receive(&zeros), Err(RxError::NoPacket));
    let mut out = Vec::new();
    rx.scan(&zeros[..10], &mut out);
    rx.scan(&[], &mut out);
    assert!(out.is_empty());
    // a constant (DC, period 1) is periodic with lag 16 forever: rejected as too long a plateau
    let dc = vec![Complex32::new(0.3, -0.2); 5000];
    rx.scan(&dc, &mut out);
    assert!(out.is_empty());
    // NaN / inf samples around a probe must not panic
    let mut x = zeros.clone();
    x[100..500].copy_from_slice(&probe_waveform(&LSig::for_probe(5)));
    x[300] = Complex32::new(f32::NAN, 0.0);
    x[450] = Complex32::new(f32::INFINITY, 1.0);
    let _ = rx.receive(&x);
    rx.scan(&x, &mut out);
    // extreme configurations
    let mut odd = Receiver::new(RxConfig {
        min_plateau: 0,
        detect_threshold: -1.0,
        ..RxConfig::default()
    });
    let _ = odd.receive(&x);
    odd.scan(&x, &mut out);
}

/// A legacy 6 Mb/s frame: probe preamble and L-SIG announcing `n_sym` data symbols, then
/// `n_sym` symbols with random BPSK data and BPSK pilots (random polarity), 80 samples each.
fn long_frame(rng: &mut ChaCha8Rng, n_sym: usize) -> Vec<Complex32> {
    use qwave_dsp::ofdm::{subcarrier_to_bin, symbol_from_bins, PILOT_SUBCARRIERS, PILOT_VALUES};
    // 6 Mb/s: 24 data bits per symbol; LENGTH such that ⌈(16 + 8·LENGTH + 6)/24⌉ = n_sym
    let length = (24 * n_sym - 22) / 8;
    let sig = LSig::new(6, length as u16).expect("valid L-SIG");
    let mut x = probe_waveform(&sig);
    for _ in 0..n_sym {
        let mut bins = [Complex32::new(0.0, 0.0); FFT_LEN];
        for &k in USED_SUBCARRIERS.iter() {
            let b = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            bins[subcarrier_to_bin(k)] = Complex32::new(b, 0.0);
        }
        let polarity = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        for (&k, &p) in PILOT_SUBCARRIERS.iter().zip(PILOT_VALUES.iter()) {
            bins[subcarrier_to_bin(k)] = Complex32::new(p * polarity, 0.0);
        }
        let mut sym = [Complex32::new(0.0, 0.0); FFT_LEN];
        symbol_from_bins(&bins, &mut sym);
        x.extend_from_slice(&sym[FFT_LEN - 16..]);
        x.extend_from_slice(&sym);
    }
    x
}

/// Pilot tracking over a 100-symbol (0.4 ms) frame beats the preamble CFO estimate by far:
/// the fit spans ~100× the L-LTF's 3.2 µs lag. At 15 dB per-sample SNR through random
/// multipath with CFOs up to ±100 kHz, the refined RMS error must be below a tenth of the
/// preamble's (and below 20 Hz); on the probe alone the refinement declines.
#[test]
fn refine_cfo_beats_preamble_on_long_frame() {
    use qwave_dsp::rx::refine_cfo;
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut rx = Receiver::new(RxConfig::default());
    let nvar = 10f32.powf(-15.0 / 10.0);
    let (mut se_pre, mut se_ref, mut n) = (0f64, 0f64, 0);
    for _ in 0..30 {
        let cfo = rng.random_range(-100e3..100e3);
        let h = random_channel(&mut rng);
        let frame = long_frame(&mut rng, 100);
        let lead = 50;
        let len = lead + frame.len() + 40;
        let mut x = vec![Complex32::new(0.0, 0.0); len];
        for (i, &s) in frame.iter().enumerate() {
            for (l, &t) in h.iter().enumerate() {
                x[lead + i + l] += s * t;
            }
        }
        for (i, v) in x.iter_mut().enumerate() {
            let a = 2.0 * PI * cfo * i as f64 / 20e6;
            *v = *v * Complex32::new(a.cos() as f32, a.sin() as f32) + cn(&mut rng, nvar);
        }
        let f = rx.receive(&x).expect("frame received");
        assert_eq!(f.lsig.map(|s| s.rate_mbps), Ok(6));
        let r = refine_cfo(&x, &f, 20e6).expect("refined CFO");
        se_pre += (f.cfo_hz - cfo).powi(2);
        se_ref += (r - cfo).powi(2);
        n += 1;
        // the preamble alone (one L-SIG symbol) gives no refinement
        let probe_only = &x[..lead + PROBE_LEN];
        let g = rx.receive(probe_only).expect("preamble received");
        assert_eq!(refine_cfo(probe_only, &g, 20e6), None);
    }
    let rms_pre = (se_pre / f64::from(n)).sqrt();
    let rms_ref = (se_ref / f64::from(n)).sqrt();
    eprintln!("CFO rms error: preamble {rms_pre:.0} Hz, pilot-refined {rms_ref:.1} Hz");
    assert!(rms_ref < rms_pre / 10.0 && rms_ref < 20.0);
}
