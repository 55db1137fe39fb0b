//! Known-answer tests against IEEE 802.11-2020 Annex I (the L-SIG example of I.1.4 and the
//! L-STF/L-LTF time samples of I.1.3), plus structural checks of the probe.

use num_complex::Complex32;
use qwave_dsp::convcode::{self, interleave_bpsk48};
use qwave_dsp::lsig::LSig;
use qwave_dsp::ofdm::{l_ltf_time, l_stf_time};
use qwave_dsp::preamble::{probe_waveform, try_write_probe, PreambleError, PROBE_LEN};

fn c(re: f32, im: f32) -> Complex32 {
    Complex32::new(re, im)
}

/// Annex I uses a 1/64 IDFT scaling (and halves the first sample of a field by windowing);
/// qwave uses 1/√52.
const TO_ANNEX: f32 = 0.112_673_6; // √52 / 64

#[test]
fn l_stf_matches_annex_i() {
    let annex = [
        c(0.046, 0.046),
        c(-0.132, 0.002),
        c(-0.013, -0.079),
        c(0.143, -0.013),
        c(0.092, 0.000),
        c(0.143, -0.013),
        c(-0.013, -0.079),
        c(-0.132, 0.002),
        c(0.046, 0.046),
        c(0.002, -0.132),
        c(-0.079, -0.013),
        c(-0.013, 0.143),
        c(0.000, 0.092),
        c(-0.013, 0.143),
        c(-0.079, -0.013),
        c(0.002, -0.132),
    ];
    for (n, a) in annex.iter().enumerate() {
        let x = l_stf_time()[n] * TO_ANNEX;
        assert!((x - a).norm() < 1.5e-3, "STF[{n}] = {x} vs {a}");
    }
}

#[test]
fn l_ltf_matches_annex_i() {
    let annex = [c(0.156, 0.000), c(-0.005, -0.120), c(0.040, -0.111)];
    for (n, a) in annex.iter().enumerate() {
        let x = l_ltf_time()[n] * TO_ANNEX;
        assert!((x - a).norm() < 1.5e-3, "LTF[{n}] = {x} vs {a}");
    }
}

fn bits(s: &str) -> Vec<u8> {
    s.split_whitespace().map(|b| b.parse().unwrap()).collect()
}

#[test]
fn l_sig_annex_i_36mbps_length_100() {
    let sig = LSig::new(36, 100).unwrap();
    let b = sig.to_bits().unwrap();
    assert_eq!(
        b.to_vec(),
        bits("1 0 1 1 0 0 0 1 0 0 1 1 0 0 0 0 0 0 0 0 0 0 0 0")
    );
    let mut coded = [0u8; 48];
    convcode::encode(&b, &mut coded).unwrap();
    assert_eq!(
        coded.to_vec(),
        bits(
            "1 1 0 1 0 0 0 1 1 0 1 0 0 0 0 1 0 0 0 0 0 0 1 0 \
             0 0 1 1 1 1 1 0 0 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0"
        )
    );
    let inter = interleave_bpsk48(&coded);
    let expected = bits(
        "1 0 0 1 0 1 0 0 1 1 0 1 0 0 0 0 0 0 0 1 0 1 0 0 \
         1 0 0 0 0 0 1 1 0 0 1 0 0 1 0 0 1 0 0 1 0 1 0 0",
    );
    assert_eq!(inter.to_vec(), expected);
    assert_eq!(sig.coded_bits().unwrap().to_vec(), expected);
    // and back through the soft decoder
    let soft: [f32; 48] = core::array::from_fn(|i| if inter[i] == 1 { 1.0 } else { -1.0 });
    assert_eq!(LSig::decode(&soft), Ok(sig));
}

#[test]
fn probe_structure() {
    let p = probe_waveform(&LSig::for_probe(1234));
    assert_eq!(p.len(), PROBE_LEN);
    // L-STF: period 16 over 160 samples
    for n in 0..144 {
        assert!((p[n] - p[n + 16]).norm() < 1e-5);
    }
    // L-LTF: GI2 is the last 32 samples of the long symbol; two identical long symbols
    for n in 0..32 {
        assert!((p[160 + n] - p[160 + 64 + n]).norm() < 1e-5);
    }
    for n in 0..64 {
        assert!((p[192 + n] - p[256 + n]).norm() < 1e-5);
        assert!((p[192 + n] - l_ltf_time()[n]).norm() < 1e-5);
    }
    // L-SIG: cyclic prefix
    for n in 0..16 {
        assert!((p[320 + n] - p[320 + 64 + n]).norm() < 1e-5);
    }
    // each field has mean power 1 (the L-SIG symbol exactly, its CP only approximately)
    for (a, b) in [(0, 160), (160, 320), (336, 400)] {
        let pw: f32 = p[a..b].iter().map(|x| x.norm_sqr()).sum::<f32>() / (b - a) as f32;
        assert!((pw - 1.0).abs() < 0.02, "field {a}..{b} power {pw}");
    }
}

#[test]
fn probe_errors_are_typed() {
    let mut short = [Complex32::new(0.0, 0.0); 10];
    assert_eq!(
        try_write_probe(&LSig::for_probe(0), &mut short),
        Err(PreambleError::BufferLength(10))
    );
    let mut buf = [Complex32::new(0.0, 0.0); PROBE_LEN];
    assert!(try_write_probe(
        &LSig {
            rate_mbps: 5,
            length: 1
        },
        &mut buf
    )
    .is_err());
}
