//! Probe receiver: packet detection, timing, CFO estimation/correction, L-LTF channel estimation,
//! SNR estimation and L-SIG decoding for the 802.11 legacy preamble (IEEE 802.11-2020 §17.3.3).
//!
//! Algorithm (per candidate frame):
//! 1. **Detection** — delay-and-correlate on the L-STF (Schmidl & Cox, IEEE Trans. Commun. 45(12),
//!    1997): `P(n) = Σ r[n+k]·r*[n+k+16]`, `E(n) = Σ |r[n+k]|² + |r[n+k+16]|²` over a 64-sample
//!    window; a *plateau* of at least [`RxConfig::min_plateau`] consecutive samples with
//!    `|P| > threshold · E/2` (and `E/128 > min_power`) is a candidate. The normalisation by both
//!    energies bounds the metric by 1 (Cauchy–Schwarz), so power ramps cannot fake a plateau.
//! 2. **Coarse CFO** from the phase of `P` at the plateau centre (16-sample lag, ±625 kHz range).
//! 3. **Fine timing** — cross-correlation of the coarse-corrected samples with the known L-LTF
//!    (both long symbols, 128 samples) over ±[`RxConfig::ltf_search`] samples around the position
//!    predicted by the plateau centre; the peak gives the first long symbol.
//! 4. **Fine CFO** from the 64-sample-lag correlation over the end of GI2 and the two long symbols
//!    (72 products, ±156 kHz range),
//!    which also validates the candidate (normalised correlation ≥ [`RxConfig::min_ltf_corr`]).
//! 5. CFO correction (phase 0 at the first long symbol) of the three FFT windows (two long
//!    symbols, L-SIG), each taken [`FFT_BACKOFF`] samples early inside its cyclic prefix; FFTs.
//! 6. LS channel estimate (average of the two symbols), SNR from their difference, L-SIG
//!    equalisation with pilot common-phase correction, soft Viterbi, parity/tail checks.
//!
//! Sampling-rate offsets of ±20 ppm move the timing by < 0.01 sample over a probe and are absorbed.

use crate::lsig::{LSig, LSigError};
use crate::ofdm::{
    l_ltf, l_ltf_time, subcarrier_to_bin, DATA_SUBCARRIERS, FFT_LEN, N_USED, PILOT_SUBCARRIERS,
    PILOT_VALUES, SAMPLE_RATE_HZ, USED_SUBCARRIERS,
};
use crate::preamble::{LTF_SYMBOL_OFFSET, PROBE_LEN, SIG_FROM_LTF};
use num_complex::{Complex32, Complex64};
use rustfft::{Fft, FftPlanner};
use std::f64::consts::PI;
use std::sync::Arc;

/// Delay-and-correlate window length (samples).
const WIN: usize = 64;
/// L-STF period (samples).
const LAG: usize = 16;
/// Samples per detection block (scratch size).
const BLOCK: usize = 2048;
/// Size of the first detection block of each search.
const FIRST_BLOCK: usize = 256;
/// FFT windows start this many samples before the nominal symbol start (inside the CP), so
/// that channel taps arriving slightly before the timing peak do not cause ISI.
pub const FFT_BACKOFF: usize = 4;
/// Approximate offset of the L-STF start before the plateau centre: the full-overlap plateau
/// spans STF start .. +80 and the threshold crossings widen it slightly asymmetrically.
const CENTRE_TO_START: usize = 36;
/// The fine-CFO correlation starts this many samples before the first long symbol (in GI2).
const CFO_LEAD: usize = 16;
/// Number of 64-lag products in the fine-CFO correlation (from `ltf_start − CFO_LEAD`).
const CFO_SPAN: usize = 72;
/// Largest correlation FFT: bounds [`RxConfig::ltf_search`] to (1024 − 64) / 2 = 480.
const XC_MAX: usize = 1024;
/// Samples from the first long symbol to the end of the L-SIG.
const LTF_TO_END: usize = 2 * FFT_LEN + 80;

/// Receiver settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RxConfig {
    /// Sample rate used to convert phase to Hz. The samples must be on the 20 MS/s grid of
    /// [`SAMPLE_RATE_HZ`] (resample first otherwise); this value may carry a calibrated rate.
    pub sample_rate_hz: f64,
    /// Detection threshold on the normalised delay-and-correlate metric `|P| / (E/2)` ∈ [0, 1].
    pub detect_threshold: f32,
    /// Minimum plateau length (samples above threshold). An L-STF at ≥ 5 dB gives ≈ 100–145; an
    /// HT-STF (80 samples) gives ≤ 60, so the default 80 rejects it.
    pub min_plateau: usize,
    /// Maximum plateau length: longer runs (a tone, a DC offset) are rejected.
    pub max_plateau: usize,
    /// Minimum mean power per sample, in the units of the input (0 disables the check).
    pub min_power: f32,
    /// Half-width (samples) of the L-LTF cross-correlation search around the predicted position
    /// (at most 480).
    pub ltf_search: usize,
    /// Minimum normalised correlation between the two long symbols, `|C64| / (E/2)`.
    pub min_ltf_corr: f32,
}

impl Default for RxConfig {
    fn default() -> Self {
        RxConfig {
            sample_rate_hz: SAMPLE_RATE_HZ,
            detect_threshold: 0.6,
            min_plateau: 80,
            max_plateau: 260,
            min_power: 0.0,
            ltf_search: 24,
            min_ltf_corr: 0.7,
        }
    }
}

/// One received frame (probe or any 802.11 legacy/HT-mixed frame's preamble).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Sample index in the input slice of the first L-STF sample (best estimate,
    /// `ltf_start − 192`, saturating at 0).
    pub start: usize,
    /// Index of the first sample of the L-LTF's first long symbol (after GI2).
    pub ltf_start: usize,
    /// Carrier frequency offset (Hz): coarse (L-STF, 16-sample lag) + fine (L-LTF, 64-sample lag).
    /// Positive means the received carrier is above nominal.
    pub cfo_hz: f64,
    /// SNR (dB) in the occupied subcarriers: mean of the two long symbols (signal) vs their
    /// difference (noise).
    pub snr_db: f32,
    /// LS channel estimate per [`USED_SUBCARRIERS`], average of the two long symbols, scaled so
    /// that an ideal channel gives 1, with phase referenced to `ltf_start` (timing) and to the
    /// carrier phase at `ltf_start` (CFO correction).
    pub csi: [Complex32; N_USED],
    /// Decoded L-SIG, or why it failed.
    pub lsig: Result<LSig, LSigError>,
}

/// Receiver errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RxError {
    /// No frame was found in the window.
    #[error("no packet found")]
    NoPacket,
    /// A frame starts in the window but does not fit in it.
    #[error("window truncated: need {needed} samples, have {have}")]
    Truncated {
        /// Samples needed (for an open plateau at the end: an estimate).
        needed: usize,
        /// Samples given.
        have: usize,
    },
}

enum Plateau {
    Found { rise: usize, fall: usize },
    Open { rise: usize },
    None,
}

enum Demod {
    Reject,
    Truncated { needed: usize },
}

/// The receiver: FFT plan and scratch buffers, built once; `scan`/`receive` do not allocate.
pub struct Receiver {
    cfg: RxConfig,
    fft: Arc<dyn Fft<f32>>,
    fft_scratch: Vec<Complex32>,
    prod: Vec<Complex32>,
    en: Vec<f32>,
    seg: Vec<Complex32>,
    sym: Vec<Complex32>,
    run: Vec<Complex32>,
    backoff_rot: [Complex32; N_USED],
    xc_fwd: Arc<dyn Fft<f32>>,
    xc_inv: Arc<dyn Fft<f32>>,
    xc_scratch: Vec<Complex32>,
    corr: Vec<Complex32>,
    ref_spec_conj: Vec<Complex32>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("cfg", &self.cfg).finish()
    }
}

#[inline]
fn used_index(k: i16) -> usize {
    if k < 0 {
        (k + 26) as usize
    } else {
        (k + 25) as usize
    }
}

/// `(Σ x[k]·x*[k+lag], Σ |x[k]|² + |x[k+lag]|²)` over `k < x.len() − lag`, with 8 independent
/// accumulators so that the sums vectorise.
fn lag_corr(x: &[Complex32], lag: usize) -> (Complex32, f32) {
    let n = x.len().saturating_sub(lag);
    let (a, b) = (&x[..n], &x[lag..lag + n]);
    let (mut cr, mut ci, mut e) = ([0f32; 8], [0f32; 8], [0f32; 8]);
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (u, v) in (&mut ca).zip(&mut cb) {
        for l in 0..8 {
            cr[l] += u[l].re * v[l].re + u[l].im * v[l].im;
            ci[l] += u[l].im * v[l].re - u[l].re * v[l].im;
            e[l] += u[l].norm_sqr() + v[l].norm_sqr();
        }
    }
    let mut c = Complex32::new(cr.iter().sum(), ci.iter().sum());
    let mut en: f32 = e.iter().sum();
    for (u, v) in ca.remainder().iter().zip(cb.remainder()) {
        c += u * v.conj();
        en += u.norm_sqr() + v.norm_sqr();
    }
    (c, en)
}

/// Writes `src[i]·e^{-j2π·cfo·(i + rel0)/fs}` into `dst`. Blocks of 16 samples share an f64
/// block phasor (one sequential multiply per block) times a 16-entry f32 table, so the inner
/// loop vectorises and the phase error stays at f32 rounding.
fn derotate(src: &[Complex32], dst: &mut [Complex32], cfo_hz: f64, fs: f64, rel0: f64) {
    const B: usize = 16;
    let w = -2.0 * PI * cfo_hz / fs;
    let step = Complex64::from_polar(1.0, w);
    let mut tab = [Complex32::new(1.0, 0.0); B];
    let mut p = Complex64::new(1.0, 0.0);
    for t in tab.iter_mut() {
        *t = Complex32::new(p.re as f32, p.im as f32);
        p *= step;
    }
    let block_step = p; // e^{jwB}
    let mut ph = Complex64::from_polar(1.0, w * rel0);
    for (d, s) in dst.chunks_mut(B).zip(src.chunks(B)) {
        let b = Complex32::new(ph.re as f32, ph.im as f32);
        for ((d, s), t) in d.iter_mut().zip(s).zip(tab.iter()) {
            *d = s * (b * t);
        }
        ph *= block_step;
    }
}

impl Receiver {
    /// Builds a receiver (plans the 64-point FFT, allocates scratch).
    pub fn new(cfg: RxConfig) -> Self {
        let mut planner = FftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(FFT_LEN);
        let scratch_len = fft.get_inplace_scratch_len();
        // the search span must fit the wrap-free part of the correlation FFT
        let s = cfg.ltf_search.min((XC_MAX - FFT_LEN) / 2);
        let cfg = RxConfig {
            ltf_search: s,
            ..cfg
        };
        let xc_len = (2 * s + FFT_LEN).next_power_of_two();
        let xc_fwd = planner.plan_fft_forward(xc_len);
        let xc_inv = planner.plan_fft_inverse(xc_len);
        let xc_scratch_len = xc_fwd
            .get_inplace_scratch_len()
            .max(xc_inv.get_inplace_scratch_len());
        let mut ref_spec_conj = vec![Complex32::new(0.0, 0.0); xc_len];
        ref_spec_conj[..FFT_LEN].copy_from_slice(l_ltf_time());
        let mut tmp = vec![Complex32::new(0.0, 0.0); xc_scratch_len];
        xc_fwd.process_with_scratch(&mut ref_spec_conj, &mut tmp);
        for r in &mut ref_spec_conj {
            *r = r.conj();
        }
        Receiver {
            cfg,
            fft,
            fft_scratch: vec![Complex32::new(0.0, 0.0); scratch_len],
            prod: vec![Complex32::new(0.0, 0.0); BLOCK + WIN],
            en: vec![0.0; BLOCK + WIN],
            seg: vec![Complex32::new(0.0, 0.0); 2 * s + 1 + 2 * FFT_LEN + CFO_LEAD],
            sym: vec![Complex32::new(0.0, 0.0); 3 * FFT_LEN],
            run: vec![Complex32::new(0.0, 0.0); SIG_FROM_LTF + FFT_LEN],
            backoff_rot: core::array::from_fn(|i| {
                let a =
                    2.0 * PI * f64::from(USED_SUBCARRIERS[i]) * FFT_BACKOFF as f64 / FFT_LEN as f64;
                Complex32::new(a.cos() as f32, a.sin() as f32)
            }),
            xc_fwd,
            xc_inv,
            xc_scratch: tmp,
            corr: vec![Complex32::new(0.0, 0.0); xc_len],
            ref_spec_conj,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &RxConfig {
        &self.cfg
    }

    /// Finds every frame in `iq` and appends them to `out` in order. After a frame, the search
    /// resumes at the end of its L-SIG. Frames whose L-SIG does not fit before the end of `iq`
    /// are not reported: when streaming, overlap consecutive chunks by at least
    /// [`PROBE_LEN`] + 64 samples. Does not allocate (beyond `out` growing).
    pub fn scan(&mut self, iq: &[Complex32], out: &mut Vec<Frame>) {
        let mut pos = 0;
        loop {
            match self.find_plateau(iq, pos) {
                Plateau::Found { rise, fall } => match self.demod(iq, rise, fall) {
                    Ok(f) => {
                        pos = f.ltf_start + LTF_TO_END;
                        out.push(f);
                    }
                    Err(Demod::Reject) => pos = fall,
                    Err(Demod::Truncated { .. }) => return,
                },
                Plateau::Open { .. } | Plateau::None => return,
            }
        }
    }

    /// Receives the first frame in `iq` (a window expected to hold one probe near its start).
    ///
    /// # Errors
    /// [`RxError::Truncated`] if the window is shorter than [`PROBE_LEN`] or the first frame
    /// does not fit; [`RxError::NoPacket`] if no frame is found.
    pub fn receive(&mut self, iq: &[Complex32]) -> Result<Frame, RxError> {
        let have = iq.len();
        if have < PROBE_LEN {
            return Err(RxError::Truncated {
                needed: PROBE_LEN,
                have,
            });
        }
        let mut pos = 0;
        loop {
            match self.find_plateau(iq, pos) {
                Plateau::Found { rise, fall } => match self.demod(iq, rise, fall) {
                    Ok(f) => return Ok(f),
                    Err(Demod::Reject) => pos = fall,
                    Err(Demod::Truncated { needed }) => {
                        return Err(RxError::Truncated { needed, have })
                    }
                },
                Plateau::Open { rise } => {
                    return Err(RxError::Truncated {
                        needed: rise + CENTRE_TO_START + PROBE_LEN,
                        have,
                    })
                }
                Plateau::None => return Err(RxError::NoPacket),
            }
        }
    }

    /// Delay-and-correlate search for the next plateau starting at metric index `from`.
    fn find_plateau(&mut self, iq: &[Complex32], from: usize) -> Plateau {
        let n = iq.len();
        if n < from + WIN + LAG {
            return Plateau::None;
        }
        let last = n - WIN - LAG; // last metric index with a full window
        let thr = self.cfg.detect_threshold;
        let k_thr = thr * thr * 0.25;
        let e_min = self.cfg.min_power * (2 * WIN) as f32;
        let (min_p, max_p) = (self.cfg.min_plateau, self.cfg.max_plateau);
        let mut run: Option<usize> = None;
        let mut b0 = from;
        // a short first block lets `receive` stop early on a probe near the window start
        let mut block = FIRST_BLOCK;
        while b0 <= last {
            let cnt = block.min(last + 1 - b0);
            block = BLOCK;
            let m = cnt + WIN - 1;
            let a = &iq[b0..b0 + m];
            let b = &iq[b0 + LAG..b0 + LAG + m];
            for (((p, e), x), y) in self.prod[..m]
                .iter_mut()
                .zip(self.en[..m].iter_mut())
                .zip(a)
                .zip(b)
            {
                *p = x * y.conj();
                *e = x.norm_sqr() + y.norm_sqr();
            }
            let mut p: Complex32 = self.prod[..WIN].iter().sum();
            let mut e: f32 = self.en[..WIN].iter().sum();
            for j in 0..cnt {
                let ok = p.norm_sqr() > k_thr * e * e && e > e_min;
                match (ok, run) {
                    (true, None) => run = Some(b0 + j),
                    (false, Some(r)) => {
                        let len = b0 + j - r;
                        if len >= min_p && len <= max_p {
                            return Plateau::Found {
                                rise: r,
                                fall: b0 + j,
                            };
                        }
                        run = None;
                    }
                    _ => {}
                }
                if j + WIN < m {
                    p += self.prod[j + WIN] - self.prod[j];
                    e += self.en[j + WIN] - self.en[j];
                }
            }
            b0 += cnt;
        }
        match run {
            Some(rise) => Plateau::Open { rise },
            None => Plateau::None,
        }
    }

    /// Timing, CFO, channel estimate and L-SIG for the plateau `rise..fall`.
    fn demod(&mut self, iq: &[Complex32], rise: usize, fall: usize) -> Result<Frame, Demod> {
        let n = iq.len();
        let fs = self.cfg.sample_rate_hz;
        let mid = (rise + fall) / 2;
        // coarse CFO: 16-lag correlation over the window at the plateau centre (inside the STF)
        let (pc, _) = lag_corr(&iq[mid..mid + WIN + LAG], LAG);
        let cfo_coarse = -f64::from(pc.arg()) * fs / (2.0 * PI * LAG as f64);

        // fine timing by L-LTF cross-correlation
        let s = self.cfg.ltf_search;
        let ltf_exp = mid.saturating_sub(CENTRE_TO_START) + LTF_SYMBOL_OFFSET;
        let lo = ltf_exp.saturating_sub(s).max(CFO_LEAD);
        let hi_wanted = ltf_exp + s;
        if lo + LTF_TO_END > n {
            return Err(Demod::Truncated {
                needed: ltf_exp + LTF_TO_END,
            });
        }
        let hi = hi_wanted.min(n - LTF_TO_END);
        // seg[0] is sample lo - CFO_LEAD
        let seg_len = hi - lo + 2 * FFT_LEN + CFO_LEAD;
        let seg = &mut self.seg[..seg_len];
        derotate(
            &iq[lo - CFO_LEAD..lo - CFO_LEAD + seg_len],
            seg,
            cfo_coarse,
            fs,
            (lo - CFO_LEAD) as f64 - ltf_exp as f64,
        );
        // u[i] = first + second long-symbol candidate; its cross-correlation with the long
        // symbol for all lags at once by FFT: IFFT(FFT(u) · conj(FFT(ref))), lags < XC_LEN − 64
        // are free of wrap-around.
        let n_lags = hi - lo + 1;
        let u_len = n_lags + FFT_LEN - 1;
        for (i, c) in self.corr.iter_mut().enumerate() {
            *c = if i < u_len {
                seg[CFO_LEAD + i] + seg[CFO_LEAD + i + FFT_LEN]
            } else {
                Complex32::new(0.0, 0.0)
            };
        }
        self.xc_fwd
            .process_with_scratch(&mut self.corr, &mut self.xc_scratch);
        for (c, r) in self.corr.iter_mut().zip(self.ref_spec_conj.iter()) {
            *c *= r;
        }
        self.xc_inv
            .process_with_scratch(&mut self.corr, &mut self.xc_scratch);
        let mut best = (0usize, -1.0f32);
        for (d, c) in self.corr[..n_lags].iter().enumerate() {
            let m = c.norm_sqr();
            if m > best.1 {
                best = (d, m);
            }
        }
        let d = best.0;
        let ltf_start = lo + d;

        // validation + fine CFO: the two long symbols (and the end of GI2) repeat with period
        // 64 whatever the channel; the window starts CFO_LEAD samples early so that late
        // multipath (timing peak on a later tap) keeps it clear of the L-SIG.
        let (c64, e12) = lag_corr(&seg[d..d + CFO_SPAN + FFT_LEN], FFT_LEN);
        // written so that NaN/inf input is rejected too
        let corr_ok = c64.norm() >= self.cfg.min_ltf_corr * 0.5 * e12;
        let power_ok = e12 / (2 * CFO_SPAN) as f32 > self.cfg.min_power;
        if !(corr_ok && power_ok && e12.is_finite()) {
            return Err(Demod::Reject);
        }
        let cfo_fine = -f64::from(c64.arg()) * fs / (2.0 * PI * FFT_LEN as f64);
        let cfo_hz = cfo_coarse + cfo_fine;

        // CFO-corrected FFT windows: LTF1, LTF2, SIG (each FFT_BACKOFF samples early), from one
        // derotated run of samples
        let first = ltf_start - FFT_BACKOFF;
        let span = SIG_FROM_LTF + FFT_LEN;
        derotate(
            &iq[first..first + span],
            &mut self.run,
            cfo_hz,
            fs,
            -(FFT_BACKOFF as f64),
        );
        for (i, off) in [0, FFT_LEN, SIG_FROM_LTF].into_iter().enumerate() {
            self.sym[i * FFT_LEN..(i + 1) * FFT_LEN].copy_from_slice(&self.run[off..off + FFT_LEN]);
        }
        self.fft
            .process_with_scratch(&mut self.sym, &mut self.fft_scratch);
        let (y1, rest) = self.sym.split_at(FFT_LEN);
        let (y2, y3) = rest.split_at(FFT_LEN);

        let scale = (N_USED as f32).sqrt() / FFT_LEN as f32;
        let mut h_raw = [Complex32::new(0.0, 0.0); N_USED];
        let (mut sig_pow, mut diff_pow) = (0.0f32, 0.0f32);
        for (h, &k) in h_raw.iter_mut().zip(USED_SUBCARRIERS.iter()) {
            let b = subcarrier_to_bin(k);
            let (a, c) = (y1[b] * scale, y2[b] * scale);
            *h = (a + c) * (0.5 * l_ltf(k));
            sig_pow += h.norm_sqr();
            diff_pow += (a - c).norm_sqr();
        }
        // per-symbol noise variance σ² = E|a−c|²/2; mean estimate carries σ²/2 of noise
        let noise = diff_pow / (2.0 * N_USED as f32);
        let signal = (sig_pow / N_USED as f32 - 0.5 * noise).max(0.0);
        let snr_db = if noise <= signal * 1e-12 {
            120.0
        } else {
            10.0 * (signal / noise).max(1e-6).log10()
        };

        // L-SIG: pilot common-phase correction, then soft BPSK weighted by |H|²
        let mut cpe = Complex32::new(0.0, 0.0);
        for (&k, &p) in PILOT_SUBCARRIERS.iter().zip(PILOT_VALUES.iter()) {
            cpe += y3[subcarrier_to_bin(k)] * h_raw[used_index(k)].conj() * p;
        }
        let rot = if cpe.norm() > 0.0 {
            cpe.conj() / cpe.norm()
        } else {
            Complex32::new(1.0, 0.0)
        };
        let mut soft = [0f32; 48];
        for (sv, &k) in soft.iter_mut().zip(DATA_SUBCARRIERS.iter()) {
            *sv = (y3[subcarrier_to_bin(k)] * h_raw[used_index(k)].conj() * rot).re;
        }
        let lsig = LSig::decode(&soft);

        // re-reference the estimate's timing from the early window to ltf_start
        let mut csi = h_raw;
        for (h, r) in csi.iter_mut().zip(self.backoff_rot.iter()) {
            *h *= r;
        }
        Ok(Frame {
            start: ltf_start.saturating_sub(LTF_SYMBOL_OFFSET),
            ltf_start,
            cfo_hz,
            snr_db,
            csi,
            lsig,
        })
    }
}

/// Per-subcarrier features of a CSI estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Features {
    /// |H| per [`USED_SUBCARRIERS`].
    pub amplitude: [f32; N_USED],
    /// Unwrapped phase (rad) with the least-squares line `a·k + b` over the subcarrier index `k`
    /// removed (the slope is a timing offset, the constant a carrier phase).
    pub phase: [f32; N_USED],
}

/// Amplitude and de-trended phase of `csi`: the phase is unwrapped along [`USED_SUBCARRIERS`],
/// then the least-squares fit `a·k + b` is subtracted: the linear phase sanitisation of Sen et
/// al., "You are facing the Mona Lisa: spot localization using PHY layer information",
/// MobiSys 2012. The slope absorbs timing offset (and SFO), the constant the carrier phase.
pub fn features(csi: &[Complex32; N_USED]) -> Features {
    let mut amplitude = [0f32; N_USED];
    let mut phase = [0f32; N_USED];
    let mut prev = 0f32;
    for (i, h) in csi.iter().enumerate() {
        amplitude[i] = h.norm();
        let a = h.arg();
        phase[i] = if i == 0 {
            a
        } else {
            let mut d = a - prev;
            d -= (d / (2.0 * std::f32::consts::PI)).round() * 2.0 * std::f32::consts::PI;
            phase[i - 1] + d
        };
        prev = a;
    }
    // USED_SUBCARRIERS is symmetric, so Σk = 0 and the LS fit separates
    let (mut skk, mut skp, mut sp) = (0f32, 0f32, 0f32);
    for (&k, &p) in USED_SUBCARRIERS.iter().zip(phase.iter()) {
        let k = f32::from(k);
        skk += k * k;
        skp += k * p;
        sp += p;
    }
    let slope = skp / skk;
    let mean = sp / N_USED as f32;
    for (p, &k) in phase.iter_mut().zip(USED_SUBCARRIERS.iter()) {
        *p -= slope * f32::from(k) + mean;
    }
    Features { amplitude, phase }
}
