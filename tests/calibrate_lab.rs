//! Reciprocity calibration on the virtual air: Alice's and Bob's sim radios
//! have different, non-reciprocal TX/RX chain responses (`Scenario::walk`,
//! `rf_mismatch`). `calibrate::measure` (what `qwave calibrate` runs) writes
//! their calibration files against Bob as the reference; then the lab probe
//! schedule runs twice on airs with the same seed (same radios, same channel,
//! same noise): once uncalibrated, once with the files applied exactly as
//! `qwave lab --calibration DIR` applies them. The test prints and checks the
//! Alice–Bob agreement before and after.
//!
//! What changes and what does not (measured, printed): the lab's features are
//! per-subcarrier amplitudes in dB, and the key pipeline standardises each
//! subcarrier column over the block (`extract::preprocess`), which removes
//! any *static* per-subcarrier gain exactly. So calibration cannot change
//! the pipeline's standardised features or its bit disagreement (checked:
//! equal before and after); it raises the agreement of the raw amplitudes
//! (before per-column normalisation, e.g. one threshold across subcarriers)
//! and of the complex CSI (phase), which is what the checks below measure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use num_complex::Complex32;
use qwave::calibrate::{self, Calibration, CalibrationError, MeasureConfig};
use qwave::lab::{run_probes, LabRole, Schedule};
use qwave::radio::air::{Air, AirConfig};
use qwave::radio::sim::SimRadio;
use qwave::radio::wire::SimNode;
use qwave::radio::Radio;
use qwave_dsp::channel::{ChannelSim, Node, Scenario};

type Csi = BTreeMap<u64, [Complex32; 52]>;

const SEED: u64 = 21;

/// The walk preset (non-reciprocal RF chains on), with or without receiver DC/IQ impairments.
fn scenario(iq: bool) -> Scenario {
    Scenario {
        iq_imbalance: iq,
        ..Scenario::walk()
    }
}

fn start_air(iq: bool, seed: u64, seconds: f64) -> (String, std::thread::JoinHandle<()>) {
    let air = Air::bind(
        "127.0.0.1:0",
        AirConfig {
            scenario: scenario(iq),
            seed,
            seconds,
            expected: vec![SimNode::Alice, SimNode::Bob],
            idle_timeout: Duration::from_secs(30),
        },
    )
    .unwrap();
    let addr = air.local_addr().unwrap().to_string();
    (addr, std::thread::spawn(move || drop(air.run())))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qwave-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `qwave calibrate --radio sim:…,node=alice --reference sim:…,node=bob --out DIR`, in process.
fn calibrate_into(iq: bool, dir: &Path) -> calibrate::Measurement {
    let (addr, air) = start_air(iq, SEED, 5.0);
    let mut alice = SimRadio::connect(&addr, SimNode::Alice).unwrap();
    let mut bob = SimRadio::connect(&addr, SimNode::Bob).unwrap();
    let m = calibrate::measure(&mut alice, &mut bob, &MeasureConfig::default()).unwrap();
    m.radio.save(dir).unwrap();
    m.reference.save(dir).unwrap();
    drop((alice, bob));
    air.join().unwrap();
    m
}

/// Alice and Bob run the lab schedule on a fresh air (same seed); with `cal`,
/// each loads `<serial>.toml` from it and applies it as `qwave lab` does.
fn lab_run(iq: bool, exchanges: u64, cal: Option<&Path>) -> (Csi, Csi) {
    let (addr, air) = start_air(iq, SEED, exchanges as f64 / 100.0 + 1.0);
    let sched = Schedule {
        exchange_rate_hz: 100.0,
        tdd_gap_s: 1e-3,
        exchanges,
        start: 2_000,
    };
    let party = |node: SimNode, role: LabRole| {
        let (addr, sched, dir) = (addr.clone(), sched.clone(), cal.map(Path::to_path_buf));
        std::thread::spawn(move || {
            let mut radio: Box<dyn Radio> = Box::new(SimRadio::connect(&addr, node).unwrap());
            let mut file = None;
            if let Some(dir) = dir {
                let (_, c) = Calibration::load(&dir, &radio.serial()).unwrap().unwrap();
                radio = calibrate::apply_to_radio(radio, &c);
                file = Some(c);
            }
            let mut csi = Csi::new();
            run_probes(radio.as_mut(), role, &sched, &mut |o| {
                let mut h = o.csi;
                if let Some(c) = &file {
                    c.correct_csi(&mut h);
                }
                csi.insert(o.seq, h);
                true
            })
            .unwrap();
            csi
        })
    };
    let a = party(SimNode::Alice, LabRole::Alice);
    let b = party(SimNode::Bob, LabRole::Bob);
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    air.join().unwrap();
    (a, b)
}

/// Paired dB amplitudes, row-major (probe, subcarrier).
fn paired_db(a: &Csi, b: &Csi) -> (Vec<f64>, Vec<f64>, usize) {
    let (mut x, mut y, mut rows) = (Vec::new(), Vec::new(), 0);
    for (k, ha) in a {
        if let Some(hb) = b.get(k) {
            rows += 1;
            x.extend(ha.iter().map(|h| 10.0 * f64::from(h.norm_sqr()).log10()));
            y.extend(hb.iter().map(|h| 10.0 * f64::from(h.norm_sqr()).log10()));
        }
    }
    (x, y, rows)
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// 1-bit quantisation at each side's own median; fraction of disagreeing bits.
fn disagreement(x: &[f64], y: &[f64]) -> f64 {
    let (tx, ty) = (median(x), median(y));
    x.iter()
        .zip(y)
        .filter(|(a, b)| (**a > tx) != (**b > ty))
        .count() as f64
        / x.len() as f64
}

/// Each subcarrier column standardised over the block (what `extract::preprocess` does).
fn standardise_columns(v: &mut [f64], rows: usize) {
    for c in 0..52 {
        let col: Vec<f64> = (0..rows).map(|r| v[r * 52 + c]).collect();
        let m = col.iter().sum::<f64>() / rows as f64;
        let s = (col.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / rows as f64).sqrt();
        for r in 0..rows {
            v[r * 52 + c] = (v[r * 52 + c] - m) / s;
        }
    }
}

/// Mean over probes of |⟨h_A, h_B⟩| / (‖h_A‖‖h_B‖): phase-sensitive CSI agreement.
fn complex_correlation(a: &Csi, b: &Csi) -> f64 {
    let mut acc = Vec::new();
    for (k, ha) in a {
        if let Some(hb) = b.get(k) {
            let ip: Complex32 = ha.iter().zip(hb).map(|(x, y)| x * y.conj()).sum();
            let na: f32 = ha.iter().map(|x| x.norm_sqr()).sum();
            let nb: f32 = hb.iter().map(|x| x.norm_sqr()).sum();
            acc.push(f64::from(ip.norm() / (na * nb).sqrt()));
        }
    }
    acc.iter().sum::<f64>() / acc.len() as f64
}

struct Agreement {
    pairs: usize,
    raw_corr: f64,
    raw_bdr: f64,
    complex_corr: f64,
    norm_corr: f64,
    norm_bdr: f64,
}

fn agreement(a: &Csi, b: &Csi) -> Agreement {
    let (mut x, mut y, rows) = paired_db(a, b);
    let (raw_corr, raw_bdr) = (pearson(&x, &y), disagreement(&x, &y));
    standardise_columns(&mut x, rows);
    standardise_columns(&mut y, rows);
    Agreement {
        pairs: rows,
        raw_corr,
        raw_bdr,
        complex_corr: complex_correlation(a, b),
        norm_corr: pearson(&x, &y),
        norm_bdr: x
            .iter()
            .zip(&y)
            .filter(|(p, q)| (**p > 0.0) != (**q > 0.0))
            .count() as f64
            / x.len() as f64,
    }
}

/// Calibrates, runs the lab schedule without and with the files, prints and returns both.
fn before_after(iq: bool, name: &str) -> (calibrate::Measurement, Agreement, Agreement) {
    let dir = tmp(name);
    let m = calibrate_into(iq, &dir);
    let c = m.radio.coefficients();
    let db: Vec<f32> = c.iter().map(|v| 20.0 * v.norm().log10()).collect();
    let deg: Vec<f32> = c.iter().map(|v| v.arg().to_degrees()).collect();
    let span = |v: &[f32]| {
        v.iter().copied().fold(f32::MIN, f32::max) - v.iter().copied().fold(f32::MAX, f32::min)
    };
    println!(
        "[{name}] calibration of {} vs {}: {} exchanges, c ripple {:.2} dB / {:.1}°, CFO {:+.0} Hz, \
         DC {:+.4}{:+.4}j, IQ gain {:.4} phase {:+.4} rad",
        m.radio.serial,
        m.reference.serial,
        m.used,
        span(&db),
        span(&deg),
        m.radio.cfo_hz,
        m.radio.dc_re,
        m.radio.dc_im,
        m.radio.iq_gain,
        m.radio.iq_phase_rad
    );
    assert!(m.used >= 180, "only {} exchanges usable", m.used);
    assert!(dir.join("sim-alice.toml").exists() && dir.join("sim-bob.toml").exists());
    let n = 300;
    let (a0, b0) = lab_run(iq, n, None);
    let (a1, b1) = lab_run(iq, n, Some(&dir));
    let before = agreement(&a0, &b0);
    let after = agreement(&a1, &b1);
    for (label, g) in [
        ("without calibration", &before),
        ("with calibration   ", &after),
    ] {
        println!(
            "[{name}] {label}: {} pairs | raw dB amplitudes: corr {:.4}, 1-bit disagreement {:.4} | \
             complex CSI corr {:.4} | per-column standardised (key pipeline): corr {:.4}, \
             disagreement {:.4}",
            g.pairs, g.raw_corr, g.raw_bdr, g.complex_corr, g.norm_corr, g.norm_bdr
        );
    }
    assert!(before.pairs > n as usize * 9 / 10 && after.pairs > n as usize * 9 / 10);
    std::fs::remove_dir_all(&dir).unwrap();
    (m, before, after)
}

/// Non-reciprocal RF chains only: calibration raises the raw and complex agreement; the key
/// pipeline's per-column standardisation had already removed the static gain difference.
#[test]
fn calibration_raises_alice_bob_agreement() {
    let (_, before, after) = before_after(false, "rf-only");
    assert!(
        after.raw_corr > before.raw_corr + 0.01,
        "raw correlation {:.4} -> {:.4}",
        before.raw_corr,
        after.raw_corr
    );
    assert!(
        after.raw_bdr < 0.8 * before.raw_bdr,
        "raw disagreement {:.4} -> {:.4}",
        before.raw_bdr,
        after.raw_bdr
    );
    assert!(
        after.complex_corr > before.complex_corr + 0.005,
        "complex correlation {:.4} -> {:.4}",
        before.complex_corr,
        after.complex_corr
    );
    // Honest boundary: per-column standardisation already removes static gain differences.
    assert!(
        (after.norm_bdr - before.norm_bdr).abs() < 0.01,
        "standardised disagreement {:.4} -> {:.4}",
        before.norm_bdr,
        after.norm_bdr
    );
}

/// RF chains plus receiver DC offset and IQ imbalance: the estimates match the simulator's truth,
/// and the DC/IQ correction lowers the key pipeline's (standardised) disagreement too.
#[test]
fn calibration_corrects_dc_and_iq_imbalance() {
    let (m, before, after) = before_after(true, "rf-iq");
    let truth = ChannelSim::new(&scenario(true), SEED)
        .receiver_iq(Node::Alice)
        .unwrap();
    println!(
        "simulated Alice receiver: DC {:+.4}{:+.4}j, IQ gain {:.4} phase {:+.4} rad",
        truth.dc.re, truth.dc.im, truth.gain, truth.phase_rad
    );
    assert!(
        (m.radio.dc_re - truth.dc.re).abs() < 0.005 && (m.radio.dc_im - truth.dc.im).abs() < 0.005
    );
    assert!((m.radio.iq_gain - truth.gain).abs() < 0.02);
    assert!((m.radio.iq_phase_rad - truth.phase_rad).abs() < 0.02);
    assert!(after.raw_corr > before.raw_corr + 0.01);
    assert!(after.complex_corr > before.complex_corr + 0.005);
    assert!(
        after.norm_bdr < before.norm_bdr - 0.005,
        "standardised disagreement {:.4} -> {:.4}",
        before.norm_bdr,
        after.norm_bdr
    );
}

#[test]
fn missing_and_corrupt_files_are_reported() {
    let dir = tmp("calibrate-files");
    std::fs::create_dir_all(&dir).unwrap();
    // Missing: a clear "none found", not an error.
    assert!(Calibration::load(&dir, "B210-31A5").unwrap().is_none());
    // Corrupt TOML.
    std::fs::write(
        dir.join("B210-31A5.toml"),
        "format = \"qwave-calibration\"\nversion = ",
    )
    .unwrap();
    let e = Calibration::load(&dir, "B210-31A5").unwrap_err();
    assert!(matches!(e, CalibrationError::Corrupt { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("corrupt calibration file") && msg.contains("B210-31A5.toml"),
        "{msg}"
    );
    // Valid TOML, wrong content.
    std::fs::write(dir.join("B210-31A5.toml"), "format = \"something-else\"\n").unwrap();
    assert!(matches!(
        Calibration::load(&dir, "B210-31A5"),
        Err(CalibrationError::Corrupt { .. })
    ));
    // A serial that cannot be a file name.
    assert!(matches!(
        Calibration::load(&dir, "../etc/passwd"),
        Err(CalibrationError::BadSerial(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
