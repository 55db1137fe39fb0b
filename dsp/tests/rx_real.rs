//! Receiver on real 802.11 recordings (openofdm test inputs, see shared/data/README.md).
//! Reads `CARGO_MANIFEST_DIR/../../shared/data/wifi-iq`; skipped when the folder is absent.

use num_complex::Complex32;
use qwave_dsp::lsig::LSig;
use qwave_dsp::rx::{Frame, Receiver, RxConfig};
use std::path::PathBuf;

fn data_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/wifi-iq");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("skipping: {} not present", d.display());
        None
    }
}

fn load(name: &str) -> Option<Vec<Complex32>> {
    let p = data_dir()?.join(name);
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("skipping: cannot read {}: {e}", p.display());
            return None;
        }
    };
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| {
                Complex32::new(
                    f32::from(i16::from_le_bytes([c[0], c[1]])),
                    f32::from(i16::from_le_bytes([c[2], c[3]])),
                )
            })
            .collect(),
    )
}

fn scan(name: &str) -> Option<Vec<Frame>> {
    let iq = load(name)?;
    let mut rx = Receiver::new(RxConfig::default());
    let mut out = Vec::new();
    rx.scan(&iq, &mut out);
    eprintln!("{name}: {} samples, {} frames", iq.len(), out.len());
    for f in &out {
        eprintln!(
            "  start {:7} ltf {:7} cfo {:9.0} Hz snr {:5.1} dB lsig {:?}",
            f.start, f.ltf_start, f.cfo_hz, f.snr_db, f.lsig
        );
    }
    Some(out)
}

const A6: &str = "conducted_dot11a_6mbps_qos_data_e4_90_7e_15_2a_16_e8_de_27_90_6e_42.dat";
const N72: &str = "conducted_dot11n_7.2mbps_98_5f_d3_c7_06_27_e8_de_27_90_6e_42.dat";
const RAD: &str = "radiated_dot11n_6.5mbps.dat";

#[test]
fn explore() {
    for n in [A6, N72, RAD] {
        let _ = scan(n);
    }
}

#[test]
fn explore_cfo() {
    for n in [A6, RAD] {
        let Some(iq) = load(n) else { return };
        let mean: Complex32 = iq.iter().sum::<Complex32>() / iq.len() as f32;
        let pow: f32 = iq.iter().map(|x| x.norm_sqr()).sum::<f32>() / iq.len() as f32;
        eprintln!("{n}: mean {mean} mean power {pow}");
        let mut rx = Receiver::new(RxConfig::default());
        let mut out = Vec::new();
        rx.scan(&iq, &mut out);
        for f in &out {
            let l = f.ltf_start;
            let s = f.start;
            let c16: Complex32 = (s + 32..s + 144).map(|i| iq[i] * iq[i + 16].conj()).sum();
            let c64: Complex32 = (l - 32..l + 64).map(|i| iq[i] * iq[i + 64].conj()).sum();
            let c64dc: Complex32 = (l - 32..l + 64)
                .map(|i| (iq[i] - mean) * (iq[i + 64] - mean).conj())
                .sum();
            let p: f32 = (l..l + 128).map(|i| iq[i].norm_sqr()).sum::<f32>() / 128.0;
            eprintln!(
                "ltf {l:7} rx {:8.0} stf16 {:8.0} ltf64 {:8.0} ltf64dc {:8.0} power {p:9.0}",
                f.cfo_hz,
                -c16.arg() as f64 * 20e6 / (2.0 * std::f64::consts::PI * 16.0),
                -c64.arg() as f64 * 20e6 / (2.0 * std::f64::consts::PI * 64.0),
                -c64dc.arg() as f64 * 20e6 / (2.0 * std::f64::consts::PI * 64.0),
            );
        }
    }
}
