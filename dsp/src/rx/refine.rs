//! Residual-CFO refinement over a whole frame by pilot tracking.
//!
//! The preamble gives the CFO from 8 µs of L-STF/L-LTF; real receivers then track the pilots
//! over the frame. Every OFDM symbol after the L-LTF carries BPSK pilots ±1 on subcarriers
//! ±7, ±21 (L-SIG and legacy data: IEEE 802.11-2020 §17.3.5.10; HT-SIG, HT-LTF and HT data
//! of one space-time stream: §19.3.9.4.3, §19.3.9.4.6, §19.3.11.10). With `Y_k,p` the pilot of
//! symbol `k` (after correcting the preamble CFO) and `H_p` the L-LTF channel estimate,
//! `s_k = Σ_p |H_p|²·(Y_k,p/H_p)²` removes the unknown pilot sign and polarity, so
//! `θ_k = arg(s_k)/2` is the symbol's common phase modulo π. The θ_k are unwrapped (the
//! residual drift per symbol is far below π/2) and a weighted least-squares line
//! `θ = a + 2π·δf·t/fs`, weights `|s_k|`, gives the residual CFO `δf`. Symbols whose squared
//! pilots disagree (coherence `|s_k| / Σ_p |H_p|²·|Y_k,p/H_p|²` below 0.5, e.g. the HT-STF,
//! which has no energy on the pilot subcarriers) are skipped.
//!
//! The frame's extent comes from its L-SIG: TXTIME = 20 µs + 4 µs·⌈(16 + 8·LENGTH + 6)/N_DBPS⌉
//! (§17.3.4, §17.4.3); HT-mixed frames set RATE/LENGTH so that the same formula gives their
//! duration (§19.3.9.4.3). HT-mixed frames are recognised by the QBPSK HT-SIG (§19.3.9.4.3);
//! its MCS, STBC, extension-stream and short-GI fields (checked by the HT-SIG CRC-8,
//! §19.3.9.4.4) place the HT-LTFs and the data symbols (3.6 µs with short GI). When the HT-SIG
//! cannot be read, or has more than one space-time stream, only the L-SIG and HT-SIG symbols
//! are used.

use super::{Frame, DATA_IDX, FFT_BACKOFF, PILOT_IDX};
use crate::convcode::{self, Termination};
use crate::ofdm::{subcarrier_to_bin, CP_LEN, FFT_LEN, N_USED, PILOT_VALUES, USED_SUBCARRIERS};
use crate::preamble::SIG_FROM_LTF;
use num_complex::{Complex32, Complex64};
use std::f64::consts::PI;

/// Legacy symbol period (samples, 4 µs).
const SYM: usize = FFT_LEN + CP_LEN;
/// Short-GI HT data symbol period (samples, 3.6 µs) and its guard interval.
const SYM_SGI: usize = FFT_LEN + 8;
const GI_SGI: usize = 8;
/// Minimum pilot coherence `|s| / Σ_p |y_p·h_p*|²/|h_p|²` of a symbol that enters the fit.
const MIN_COHERENCE: f32 = 0.5;
/// Most symbols a frame can have (aPPDUMaxTime 5.484 ms / 3.6 µs).
const MAX_SYMBOLS: usize = 1600;

/// Refined CFO (Hz) of `frame`: its preamble estimate plus the residual CFO fitted to the
/// pilot phases of every OFDM symbol of the frame (see the module documentation).
/// `iq` must be the slice `frame` was received from (the same indices); `sample_rate_hz` the
/// receiver's [`super::RxConfig::sample_rate_hz`].
///
/// Returns `None` when the L-SIG did not decode, when fewer than three symbols (the L-SIG and
/// two more) with coherent pilots lie inside `iq`, or when the fit is degenerate. Only frames
/// whose L-SIG states their true duration qualify: a qwave probe's L-SIG LENGTH carries the
/// exchange number, and a probe has a single symbol after its L-LTF, so probes keep their
/// preamble estimate. No allocation.
pub fn refine_cfo(iq: &[Complex32], frame: &Frame, sample_rate_hz: f64) -> Option<f64> {
    let sig = frame.lsig.ok()?;
    let ndbps = usize::from(sig.rate_mbps) * 4; // bits per 4 µs symbol
    let n_sym = (16 + 8 * usize::from(sig.length) + 6).div_ceil(ndbps);
    // end of the frame (exclusive) and of the buffer
    // the frame (L-SIG and n_sym symbols after the L-LTF) ends here (exclusive), or the buffer
    let end = (frame.ltf_start + 2 * FFT_LEN + SYM * (1 + n_sym)).min(iq.len());
    let w = -2.0 * PI * frame.cfo_hz / sample_rate_hz;
    let legacy_ref = &frame.csi;
    let legacy_data = if sig.rate_mbps <= 9 {
        Mod::Bpsk
    } else {
        Mod::Other
    };
    let mut fit = Fit::default();
    let obs = |start: usize, gi: usize| -> Option<Observation> {
        let win = start + gi - FFT_BACKOFF;
        if start + gi + FFT_LEN > end {
            return None;
        }
        let rel = win as f64 - frame.ltf_start as f64;
        Some(observe(&iq[win..win + FFT_LEN], w, rel, frame))
    };
    let first = frame.ltf_start + SIG_FROM_LTF - CP_LEN; // start of the L-SIG symbol
                                                         // L-SIG
    let o0 = obs(first, CP_LEN)?;
    fit.add(o0.t, &o0.raw, legacy_ref, Mod::Bpsk);
    // is symbol 1 a QBPSK HT-SIG?
    let Some(o1) = obs(first + SYM, CP_LEN) else {
        return fit.finish(frame.cfo_hz, sample_rate_hz);
    };
    let (re2, im2) = o1
        .data
        .iter()
        .fold((0f32, 0f32), |(r, i), z| (r + z.re * z.re, i + z.im * z.im));
    // HT-mixed frames announce 6 Mb/s in the L-SIG (§19.3.9.4.3) and send a QBPSK HT-SIG
    if sig.rate_mbps == 6 && im2 > 2.0 * re2 {
        // HT-SIG1, HT-SIG2 on the legacy grid, equalised by the L-LTF
        fit.add(o1.t, &o1.raw, legacy_ref, Mod::Qbpsk);
        let Some(o2) = obs(first + 2 * SYM, CP_LEN) else {
            return fit.finish(frame.cfo_hz, sample_rate_hz);
        };
        fit.add(o2.t, &o2.raw, legacy_ref, Mod::Qbpsk);
        let ht = HtSig::decode(&o1.data, &o2.data);
        if let Some(ht) = ht.filter(|h| h.n_sts == 1) {
            // HT-STF (k = 3, no pilots), HT-LTFs (k = 4..), then data. The HT fields may be
            // sent with other cyclic shifts or antenna mappings than the legacy ones, so
            // the pilots of the first HT-LTF are their reference (a new phase segment).
            if let Some(ltf) = obs(first + 4 * SYM, CP_LEN) {
                fit.new_segment();
                let ht_ref = ltf.raw;
                let ht_data = if ht.mcs == 0 { Mod::Bpsk } else { Mod::Other };
                let data0 = first + (4 + ht.n_ltf) * SYM;
                let (period, gi) = if ht.short_gi {
                    (SYM_SGI, GI_SGI)
                } else {
                    (SYM, CP_LEN)
                };
                for i in 0..MAX_SYMBOLS {
                    let Some(o) = obs(data0 + i * period, gi) else {
                        break;
                    };
                    fit.add(o.t, &o.raw, &ht_ref, ht_data);
                }
            }
        }
    } else {
        // legacy: every symbol on the 4 µs grid
        fit.add(o1.t, &o1.raw, legacy_ref, legacy_data);
        for k in 2..=n_sym.min(MAX_SYMBOLS) {
            let Some(o) = obs(first + k * SYM, CP_LEN) else {
                break;
            };
            fit.add(o.t, &o.raw, legacy_ref, legacy_data);
        }
    }
    fit.finish(frame.cfo_hz, sample_rate_hz)
}

/// Modulation of a symbol's data subcarriers, as far as the phase fit uses them.
#[derive(Clone, Copy)]
enum Mod {
    /// BPSK (L-SIG, 6 and 9 Mb/s, HT MCS 0): squares to +|·|², like the pilots.
    Bpsk,
    /// QBPSK (HT-SIG): squares to −|·|².
    Qbpsk,
    /// Anything else: only the pilots are used.
    Other,
}

/// One OFDM symbol: its window centre (samples after `ltf_start`), its values on
/// [`USED_SUBCARRIERS`] and its 48 data values equalised by the L-LTF estimate and
/// common-phase corrected.
struct Observation {
    t: f64,
    raw: [Complex32; N_USED],
    data: [Complex32; 48],
}

/// Observes the 64-sample window `x` (first sample `rel` samples after `ltf_start`),
/// CFO-corrected by `e^{jw·n}`, with the timing re-referenced from the early window
/// ([`FFT_BACKOFF`]) to the symbol as in the frame's channel estimate.
fn observe(x: &[Complex32], w: f64, rel: f64, frame: &Frame) -> Observation {
    // derotate (f64 phasor per sample is fine here: not a hot path)
    let mut buf = [Complex32::new(0.0, 0.0); FFT_LEN];
    let step = Complex64::from_polar(1.0, w);
    let mut ph = Complex64::from_polar(1.0, w * rel);
    for (b, s) in buf.iter_mut().zip(x) {
        *b = *s * Complex32::new(ph.re as f32, ph.im as f32);
        ph *= step;
    }
    // DFT at one bin
    let dft = |k: i16| -> Complex32 {
        let bin = subcarrier_to_bin(k);
        let mut acc = Complex64::new(0.0, 0.0);
        for (n, v) in buf.iter().enumerate() {
            let a = -2.0 * PI * ((bin * n) % FFT_LEN) as f64 / FFT_LEN as f64;
            acc += Complex64::new(f64::from(v.re), f64::from(v.im)) * Complex64::from_polar(1.0, a);
        }
        let a = 2.0 * PI * f64::from(k) * FFT_BACKOFF as f64 / FFT_LEN as f64;
        let r = acc * Complex64::from_polar(1.0, a);
        Complex32::new(r.re as f32, r.im as f32)
    };
    let raw: [Complex32; N_USED] = core::array::from_fn(|u| dft(USED_SUBCARRIERS[u]));
    let mut cpe = Complex32::new(0.0, 0.0);
    for (&(_, u), &pv) in PILOT_IDX.iter().zip(PILOT_VALUES.iter()) {
        cpe += raw[u] * frame.csi[u].conj() * pv;
    }
    let rot = if cpe.norm() > 0.0 {
        cpe.conj() / cpe.norm()
    } else {
        Complex32::new(1.0, 0.0)
    };
    let mut data = [Complex32::new(0.0, 0.0); 48];
    for (d, &(_, u)) in data.iter_mut().zip(DATA_IDX.iter()) {
        *d = raw[u] * frame.csi[u].conj() * rot;
    }
    Observation {
        t: rel + FFT_BACKOFF as f64 + FFT_LEN as f64 / 2.0,
        raw,
        data,
    }
}

/// Weighted least squares of unwrapped half-angles against time: one common slope, one
/// intercept per segment (a segment shares one pilot reference).
#[derive(Default)]
struct Fit {
    prev: Option<f64>,
    // current segment: Σw, Σwt, Σwt², Σwθ, Σwtθ
    sw: f64,
    st: f64,
    stt: f64,
    sp: f64,
    stp: f64,
    // closed segments, centred: Σw(t − t̄)², Σw(t − t̄)(θ − θ̄)
    ctt: f64,
    ctp: f64,
    count: usize,
}

impl Fit {
    /// Adds a symbol observed as `y` against the reference `h` (both on [`USED_SUBCARRIERS`]):
    /// `s = Σ ±(y·h*)² / |h|²` over the pilots and, for BPSK/QBPSK symbols, the data
    /// subcarriers too (sign − for QBPSK), if the terms are coherent.
    fn add(&mut self, t: f64, y: &[Complex32; N_USED], h: &[Complex32; N_USED], m: Mod) {
        let mut s = Complex32::new(0.0, 0.0);
        let mut n = 0f32;
        let mut term = |u: usize, sign: f32| {
            let h2 = h[u].norm_sqr();
            if h2 > 0.0 {
                let a = y[u] * h[u].conj();
                s += a * a * (sign / h2);
                n += a.norm_sqr() / h2;
            }
        };
        for &(_, u) in PILOT_IDX.iter() {
            term(u, 1.0);
        }
        let sign = match m {
            Mod::Bpsk => 1.0,
            Mod::Qbpsk => -1.0,
            Mod::Other => 0.0,
        };
        if sign != 0.0 {
            for &(_, u) in DATA_IDX.iter() {
                term(u, sign);
            }
        }
        if !(n > 0.0 && s.norm() >= MIN_COHERENCE * n) {
            return;
        }
        let mut theta = 0.5 * f64::from(s.im).atan2(f64::from(s.re));
        if let Some(p) = self.prev {
            // known mod π: pick the branch nearest the previous symbol's phase
            theta -= ((theta - p) / PI).round() * PI;
        }
        self.prev = Some(theta);
        let wgt = f64::from(s.norm());
        self.sw += wgt;
        self.st += wgt * t;
        self.stt += wgt * t * t;
        self.sp += wgt * theta;
        self.stp += wgt * t * theta;
        self.count += 1;
    }

    /// Closes the current segment: later phases get their own intercept.
    fn new_segment(&mut self) {
        if self.sw > 0.0 {
            self.ctt += self.stt - self.st * self.st / self.sw;
            self.ctp += self.stp - self.st * self.sp / self.sw;
        }
        let (ctt, ctp, count) = (self.ctt, self.ctp, self.count);
        *self = Fit {
            ctt,
            ctp,
            count,
            ..Fit::default()
        };
    }

    /// Preamble CFO plus the fitted slope in Hz, if at least 3 symbols entered the fit.
    fn finish(mut self, cfo_hz: f64, fs: f64) -> Option<f64> {
        self.new_segment();
        if self.count < 3 || self.ctt.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return None;
        }
        let slope = self.ctp / self.ctt; // rad per sample
                                         // the derotation was by e^{-j2π·cfo·n/fs}: a residual phase rising with t means the
                                         // true carrier is higher still
        let r = cfo_hz + slope * fs / (2.0 * PI);
        r.is_finite().then_some(r)
    }
}

/// The fields of an HT-SIG (IEEE 802.11-2020 §19.3.9.4.3) that place the HT data symbols.
struct HtSig {
    mcs: usize,
    n_sts: usize,
    n_ltf: usize,
    short_gi: bool,
}

impl HtSig {
    /// Decodes HT-SIG1/HT-SIG2 from their equalised data values (QBPSK: the bits ride on the
    /// imaginary axis), checking the CRC-8 of §19.3.9.4.4 and the zero tail.
    fn decode(d1: &[Complex32; 48], d2: &[Complex32; 48]) -> Option<Self> {
        let mut soft = [0f32; 96];
        for (half, d) in soft.chunks_exact_mut(48).zip([d1, d2]) {
            let im: [f32; 48] = core::array::from_fn(|i| d[i].im);
            half.copy_from_slice(&convcode::deinterleave_bpsk48(&im));
        }
        let mut dec = [0u64; 48];
        let mut b = [0u8; 48];
        convcode::viterbi_decode(&soft, &mut dec, &mut b, Termination::BestState).ok()?;
        if b[42..].iter().any(|&x| x != 0) || crc8(&b[..34]) != b[34..42] {
            return None;
        }
        let field = |lo: usize, len: usize| {
            (0..len).fold(0usize, |acc, i| acc | (usize::from(b[lo + i]) << i))
        };
        let mcs = field(0, 7);
        let stbc = field(28, 2);
        let n_ess = field(32, 2);
        if mcs >= 32 {
            return None; // unequal modulation MCSs carry several streams
        }
        let n_sts = mcs / 8 + 1 + stbc;
        let n_dltf = [1, 2, 4, 4].get(n_sts - 1).copied()?;
        let n_eltf = [0, 1, 2, 4][n_ess];
        Some(HtSig {
            mcs,
            n_sts,
            n_ltf: n_dltf + n_eltf,
            short_gi: b[31] == 1,
        })
    }
}

/// CRC-8 of the HT-SIG (§19.3.9.4.4): generator x⁸ + x² + x + 1, register preset to ones,
/// output complemented, c7 first.
fn crc8(bits: &[u8]) -> [u8; 8] {
    let mut c: u8 = 0xff;
    for &bit in bits {
        let fb = (c >> 7) ^ (bit & 1);
        c <<= 1;
        if fb == 1 {
            c ^= 0x07;
        }
    }
    let c = !c;
    core::array::from_fn(|i| (c >> (7 - i)) & 1)
}
