//! Probe receiver: packet detection, timing, CFO estimation/correction, L-LTF channel estimation,
//! SNR estimation and L-SIG decoding for the 802.11 legacy preamble (IEEE 802.11-2020 §17.3.3).
//!
//! Algorithm (per candidate frame):
//! 1. **Detection** — delay-and-correlate on the L-STF (Schmidl & Cox, IEEE Trans. Commun. 45(12),
//!    1997): `P(n) = Σ r[n+k]·r*[n+k+16]`, `E(n) = Σ |r[n+k]|² + |r[n+k+16]|²` over a 64-sample
//!    window, evaluated every 4th sample; a *plateau* of at least [`RxConfig::min_plateau`]
//!    samples with `|P| > threshold · E/2` (and `E/128 > min_power`) is a candidate. The normalisation by both
//!    energies bounds the metric by 1 (Cauchy–Schwarz), so power ramps cannot fake a plateau.
//! 2. **Coarse CFO** from the phase of `P` at the plateau centre (16-sample lag, ±625 kHz range).
//! 3. **Fine timing** — the two long symbols repeat with period 64 from the start of GI2, so
//!    the sum of two coarse-corrected 64-sample windows 64 apart, starting [`TIMING_LEAD`]
//!    samples before the position predicted by the plateau centre, is one period of the long
//!    symbol, cyclically shifted by the timing error (and filtered by the channel). Its circular
//!    cross-correlation with the long symbol (FFT, multiply by the ±1 L-LTF, IFFT: 64-point
//!    transforms) is the channel impulse response; its strongest tap gives the first long
//!    symbol within −[`TIMING_LATE`] … +(64 − [`TIMING_LATE`]) samples of the window start.
//! 4. **Fine CFO** from the 64-sample-lag correlation over the end of GI2 and the two long symbols
//!    (72 products, ±156 kHz range),
//!    which also validates the candidate (normalised correlation ≥ [`RxConfig::min_ltf_corr`]).
//! 5. CFO correction (phase 0 at the first long symbol) of the three FFT windows (two long
//!    symbols, L-SIG), each taken [`FFT_BACKOFF`] samples early inside its cyclic prefix; FFTs.
//! 6. LS channel estimate (average of the two symbols), SNR from their difference, L-SIG
//!    equalisation with pilot common-phase correction, soft Viterbi, parity/tail checks.
//!
//! Sampling-rate offsets of ±20 ppm move the timing by < 0.01 sample over a probe and are absorbed.
//!
//! For frames longer than a probe, [`refine_cfo`] adds the residual CFO tracked on the pilots
//! over the whole frame (module `refine`).
//!
//! Speed: the detector evaluates its metric every 4th sample from sums of 4-product blocks
//! (an AVX2 kernel forms eight block sums per `hadd` tree), the L-SIG
//! Viterbi runs only when the hard decisions are not already a codeword, and on x86-64 CPUs
//! with AVX2 and FMA (detected at run time) `scan`/`receive` run a copy of the same code
//! compiled for those features.

mod refine;

pub use refine::refine_cfo;

use crate::lsig::{LSig, LSigError};
use crate::ofdm::{
    subcarrier_to_bin, DATA_SUBCARRIERS, FFT_LEN, N_USED, PILOT_SUBCARRIERS, PILOT_VALUES,
    SAMPLE_RATE_HZ, USED_SUBCARRIERS,
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
const FIRST_BLOCK: usize = 192;
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
/// The timing window starts this many samples before the predicted first long symbol, so that
/// a correct prediction (and later channel taps) fall inside GI2's 32 periodic samples.
pub const TIMING_LEAD: usize = 8;
/// Circular lags from 64 − `TIMING_LATE` up are read as the long symbol starting that many
/// samples *before* the timing window (prediction late by up to `TIMING_LEAD + TIMING_LATE`).
pub const TIMING_LATE: usize = 24;
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
    /// Minimum plateau length (samples above threshold, measured on the detector's 4-sample
    /// grid). An L-STF at ≥ 5 dB gives ≈ 100–145; an
    /// HT-STF (80 samples) gives ≤ 60, so the default 80 rejects it.
    pub min_plateau: usize,
    /// Maximum plateau length: longer runs (a tone, a DC offset) are rejected.
    pub max_plateau: usize,
    /// Minimum mean power per sample, in the units of the input (0 disables the check).
    pub min_power: f32,
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
    /// Positive means the received carrier is above nominal. [`refine_cfo`] refines it over a
    /// longer frame.
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
    det: Detector,
    sym: Vec<Complex32>,
    backoff_rot: [Complex32; N_USED],
    /// The CPU has AVX2 and FMA: `scan`/`receive` run their AVX2-compiled copies.
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
    ifft: Arc<dyn Fft<f32>>,
    corr: [Complex32; FFT_LEN],
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("cfg", &self.cfg).finish()
    }
}

#[inline]
const fn used_index(k: i16) -> usize {
    if k < 0 {
        (k + 26) as usize
    } else {
        (k + 25) as usize
    }
}

/// The interleaved `[re, im, re, im, …]` view of complex samples.
#[inline(always)]
fn as_f32(x: &[Complex32]) -> &[f32] {
    // SAFETY: `Complex<f32>` is `#[repr(C)]` with fields `re, im` (num-complex documents this
    // layout), so `n` complex values are `2n` contiguous, aligned `f32`s borrowed for the same
    // lifetime.
    unsafe { std::slice::from_raw_parts(x.as_ptr().cast::<f32>(), 2 * x.len()) }
}

/// `(Σ x[k]·x*[k+lag], Σ |x[k]|² + |x[k+lag]|²)` over `k < x.len() − lag`.
///
/// Works on the interleaved floats so that the sums vectorise without de-interleaving:
/// lane-wise `u·v` summed over all lanes is the real part, and `u·swap(v)` (odd lanes
/// `im·re`, even lanes `re·im`) gives the imaginary part as odd minus even lanes.
#[inline(always)]
fn lag_corr(x: &[Complex32], lag: usize) -> (Complex32, f32) {
    const W: usize = 16;
    let n = x.len().saturating_sub(lag);
    let (a, b) = (as_f32(&x[..n]), as_f32(&x[lag..lag + n]));
    let (mut pr, mut px, mut e) = ([0f32; W], [0f32; W], [0f32; W]);
    let mut ca = a.chunks_exact(W);
    let mut cb = b.chunks_exact(W);
    for (u, v) in (&mut ca).zip(&mut cb) {
        for l in 0..W {
            pr[l] += u[l] * v[l];
            px[l] += u[l] * v[l ^ 1];
            e[l] += u[l] * u[l] + v[l] * v[l];
        }
    }
    let (mut re, mut im, mut en) = (0f32, 0f32, 0f32);
    for l in 0..W {
        re += pr[l];
        im += if l % 2 == 1 { px[l] } else { -px[l] };
        en += e[l];
    }
    let mut c = Complex32::new(re, im);
    let done = (n * 2 / W) * W / 2;
    for (u, v) in x[done..n].iter().zip(&x[lag + done..lag + n]) {
        c += u * v.conj();
        en += u.norm_sqr() + v.norm_sqr();
    }
    (c, en)
}

/// `z^n` for `n ≥ 0` by repeated squaring (used instead of further sin/cos calls).
#[inline(always)]
fn cpow(mut z: Complex64, mut n: u32) -> Complex64 {
    let mut r = Complex64::new(1.0, 0.0);
    while n > 0 {
        if n & 1 == 1 {
            r *= z;
        }
        z *= z;
        n >>= 1;
    }
    r
}

/// Multiplies `buf[i]` by `ph0 · step^i` (`step = e^{jw}`). Blocks of 16 samples share an f64
/// block phasor (one sequential multiply per block) times a 16-entry f32 table, so the inner
/// loop vectorises and the phase error stays at f32 rounding.
#[inline(always)]
fn rotate_in_place(buf: &mut [Complex32], step: Complex64, ph0: Complex64) {
    const B: usize = 16;
    // step^i, i < 16, by doubling (four dependent multiplies instead of sixteen)
    let mut tab64 = [Complex64::new(1.0, 0.0); B];
    let mut sp = step;
    let mut len = 1;
    while len < B {
        for i in 0..len {
            tab64[len + i] = tab64[i] * sp;
        }
        sp = sp * sp;
        len *= 2;
    }
    let block_step = sp; // e^{jwB}
    let mut tab = [Complex32::new(0.0, 0.0); B];
    for (t, z) in tab.iter_mut().zip(&tab64) {
        *t = Complex32::new(z.re as f32, z.im as f32);
    }
    let mut ph = ph0;
    for d in buf.chunks_mut(B) {
        let b = Complex32::new(ph.re as f32, ph.im as f32);
        for (d, t) in d.iter_mut().zip(tab.iter()) {
            *d *= b * t;
        }
        ph *= block_step;
    }
}

/// `k < count` (`count ≤ 64`) of the first largest `|c[(off + k) mod 64]|²` (0 if no value
/// is finite). The lags `off + k` form at most two runs of contiguous indices, so the
/// powers and the maximum are computed in index order over eight lanes, without a serial
/// compare-and-select chain, and then the first `k` reaching the maximum is searched.
#[inline(always)]
fn first_peak_circular(c: &[Complex32; FFT_LEN], off: isize, count: usize) -> usize {
    let mut m = [0f32; FFT_LEN];
    for (m, v) in m.iter_mut().zip(c) {
        *m = v.norm_sqr();
    }
    let start = off.rem_euclid(FFT_LEN as isize) as usize;
    let count = count.min(FFT_LEN);
    let first = (FFT_LEN - start).min(count);
    let runs = [&m[start..start + first], &m[..count - first]];
    let mut lanes = [-1f32; 8];
    for run in runs {
        let mut ch = run.chunks_exact(8);
        for ch in &mut ch {
            for (l, &v) in lanes.iter_mut().zip(ch) {
                *l = if v > *l { v } else { *l };
            }
        }
        for (l, &v) in lanes.iter_mut().zip(ch.remainder()) {
            *l = if v > *l { v } else { *l };
        }
    }
    let max = lanes.iter().fold(-1f32, |a, &b| if b > a { b } else { a });
    runs[0]
        .iter()
        .chain(runs[1])
        .position(|&v| v >= max)
        .unwrap_or(0)
}

/// The L-LTF value (±1, 0 on unused bins) in each bin of the 64-point FFT.
const LTF_BINS: [f32; FFT_LEN] = {
    let mut a = [0f32; FFT_LEN];
    let mut b = 0;
    while b < FFT_LEN {
        let k = if b < FFT_LEN / 2 {
            b as isize
        } else {
            b as isize - FFT_LEN as isize
        };
        if k >= -26 && k <= 26 {
            a[b] = crate::ofdm::L_LTF[(k + 26) as usize] as f32;
        }
        b += 1;
    }
    a
};

/// Bins of [`USED_SUBCARRIERS`] in the 64-point FFT output.
const USED_BINS: [usize; N_USED] = {
    let mut a = [0usize; N_USED];
    let mut i = 0;
    while i < N_USED {
        a[i] = subcarrier_to_bin(USED_SUBCARRIERS[i]);
        i += 1;
    }
    a
};

/// [`USED_SUBCARRIERS`] as two runs of 26 consecutive FFT bins, `(first bin, first index)`:
/// subcarriers −26…−1 are bins 38…63, subcarriers 1…26 are bins 1…26.
const USED_RUNS: [(usize, usize); 2] = [(38, 0), (1, N_USED / 2)];
const _: () = {
    let mut i = 0;
    while i < N_USED {
        let (b0, u0) = USED_RUNS[i / (N_USED / 2)];
        assert!(USED_BINS[i] == b0 + i - u0);
        i += 1;
    }
};

/// `Σ v` with eight independent accumulators (so that the sum vectorises).
#[inline(always)]
fn sum_lanes(v: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut c = v.chunks_exact(8);
    for ch in &mut c {
        for (a, x) in acc.iter_mut().zip(ch) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + c.remainder().iter().sum::<f32>()
}

/// Half the L-LTF value on each of [`USED_SUBCARRIERS`] (the two-symbol average's factor).
const LTF_HALF: [f32; N_USED] = {
    let mut a = [0f32; N_USED];
    let mut i = 0;
    while i < N_USED {
        let k = USED_SUBCARRIERS[i];
        a[i] = 0.5 * crate::ofdm::L_LTF[(k + 26) as usize] as f32;
        i += 1;
    }
    a
};

/// `(FFT bin, index into USED_SUBCARRIERS)` of each data subcarrier in mapping order.
const DATA_IDX: [(usize, usize); 48] = {
    let mut a = [(0usize, 0usize); 48];
    let mut i = 0;
    while i < 48 {
        let k = DATA_SUBCARRIERS[i];
        a[i] = (subcarrier_to_bin(k), used_index(k));
        i += 1;
    }
    a
};

/// `(FFT bin, index into USED_SUBCARRIERS)` of each pilot subcarrier.
const PILOT_IDX: [(usize, usize); 4] = {
    let mut a = [(0usize, 0usize); 4];
    let mut i = 0;
    while i < 4 {
        let k = PILOT_SUBCARRIERS[i];
        a[i] = (subcarrier_to_bin(k), used_index(k));
        i += 1;
    }
    a
};

/// Lanes of the detector's threshold decision.
const L: usize = 4;
/// The detection metric is evaluated every `STEP` samples (plateau edges to ±`STEP`; the
/// timing search tolerates ±32 samples of prediction error).
const STEP: usize = 4;
/// Blocks of `STEP` products in one delay-and-correlate window.
const WIN_BLOCKS: usize = WIN / STEP;
const _: () = assert!(
    WIN.is_multiple_of(STEP)
        && BLOCK.is_multiple_of(STEP * L)
        && FIRST_BLOCK.is_multiple_of(STEP * L)
);

/// Bit `l` set iff `|P_l|² > k_thr·E_l² ∧ E_l > e_min` (the detector's decision for lane
/// `l < L`; the slices hold at least `L` values).
#[inline(always)]
fn decide(vr: &[f32], vi: &[f32], ve: &[f32], k_thr: f32, e_min: f32) -> u64 {
    let (vr, vi, ve) = (&vr[..L], &vi[..L], &ve[..L]);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_add_ps, _mm_and_ps, _mm_cmpgt_ps, _mm_loadu_ps, _mm_movemask_ps, _mm_mul_ps,
            _mm_set1_ps,
        };
        // SAFETY: SSE is part of the x86-64 baseline; each load reads the 4 = L floats of its
        // slice.
        unsafe {
            let (r, i, e) = (
                _mm_loadu_ps(vr.as_ptr()),
                _mm_loadu_ps(vi.as_ptr()),
                _mm_loadu_ps(ve.as_ptr()),
            );
            let p2 = _mm_add_ps(_mm_mul_ps(r, r), _mm_mul_ps(i, i));
            let th = _mm_mul_ps(_mm_mul_ps(_mm_set1_ps(k_thr), e), e);
            let ok = _mm_and_ps(_mm_cmpgt_ps(p2, th), _mm_cmpgt_ps(e, _mm_set1_ps(e_min)));
            _mm_movemask_ps(ok) as u64
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut nib = 0u64;
        for l in 0..L {
            let p2 = vr[l] * vr[l] + vi[l] * vi[l];
            let ok = (p2 > k_thr * ve[l] * ve[l]) & (ve[l] > e_min);
            nib |= u64::from(ok) << l;
        }
        nib
    }
}

/// `out[i] = (x[i] + x[i+d]) + (x[i+2d] + x[i+3d])` for `i < out.len()` (contiguous slices,
/// so the loop vectorises).
#[inline(always)]
fn sum4(x: &[f32], d: usize, out: &mut [f32]) {
    let n = out.len();
    for ((((o, a), b), c), e) in out
        .iter_mut()
        .zip(&x[..n])
        .zip(&x[d..n + d])
        .zip(&x[2 * d..n + 2 * d])
        .zip(&x[3 * d..n + 3 * d])
    {
        *o = (a + b) + (c + e);
    }
}

/// Block sums of the delay-and-correlate products: for `t < re.len()`,
/// `re[t] + j·im[t] = Σ_{k<STEP} x[STEP·t+k]·x*[STEP·t+k+16]` and
/// `en[t] = Σ_{k<STEP} |x[STEP·t+k]|² + |x[STEP·t+k+16]|²` (`x` holds `STEP·re.len() + LAG`
/// samples at least; all three slices have the same length).
#[inline(always)]
fn block_sums(x: &[Complex32], re: &mut [f32], im: &mut [f32], en: &mut [f32]) {
    for (t, ((r, i), e)) in re
        .iter_mut()
        .zip(im.iter_mut())
        .zip(en.iter_mut())
        .enumerate()
    {
        let (mut sr, mut si, mut se) = (0f32, 0f32, 0f32);
        for (u, v) in x[STEP * t..STEP * t + STEP]
            .iter()
            .zip(&x[STEP * t + LAG..STEP * t + LAG + STEP])
        {
            sr += u.re * v.re + u.im * v.im;
            si += u.im * v.re - u.re * v.im;
            se += u.re * u.re + u.im * u.im + v.re * v.re + v.im * v.im;
        }
        (*r, *i, *e) = (sr, si, se);
    }
}

/// [`block_sums`] with AVX2: one 256-bit register holds the `STEP = 4` complex samples of a
/// block, so a block's sum is a horizontal sum; eight blocks are reduced together by a
/// `hadd` tree (the first level `hsub` for the imaginary part, whose terms alternate in
/// sign). Blocks past the last multiple of eight go through [`block_sums`].
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_sums_avx2(x: &[Complex32], re: &mut [f32], im: &mut [f32], en: &mut [f32]) {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_fmadd_ps, _mm256_hadd_ps, _mm256_hsub_ps, _mm256_loadu_ps,
        _mm256_mul_ps, _mm256_permute2f128_ps, _mm256_permute_ps, _mm256_setzero_ps,
        _mm256_storeu_ps,
    };
    /// Lane `k` of the result is the sum of all lanes of `a[k]` (`first` combines pairs).
    #[inline(always)]
    unsafe fn reduce8(a: &[__m256; 8], first: unsafe fn(__m256, __m256) -> __m256) -> __m256 {
        let h01 = first(a[0], a[1]);
        let h23 = first(a[2], a[3]);
        let h45 = first(a[4], a[5]);
        let h67 = first(a[6], a[7]);
        let lo = _mm256_hadd_ps(h01, h23);
        let hi = _mm256_hadd_ps(h45, h67);
        _mm256_add_ps(
            _mm256_permute2f128_ps(lo, hi, 0x20),
            _mm256_permute2f128_ps(lo, hi, 0x31),
        )
    }
    let n = re.len().min(im.len()).min(en.len());
    let full = n / 8 * 8;
    assert!(x.len() >= STEP * full + LAG);
    let f = as_f32(x).as_ptr();
    let mut t = 0;
    while t < full {
        let mut pr = [_mm256_setzero_ps(); 8];
        let mut pi = pr;
        let mut pe = pr;
        for k in 0..8 {
            // SAFETY: block t + k reads floats 8(t+k) .. 8(t+k) + 8 + 2·LAG, inside `x` by
            // the assert above.
            let (u, v) = unsafe {
                (
                    _mm256_loadu_ps(f.add(8 * (t + k))),
                    _mm256_loadu_ps(f.add(8 * (t + k) + 2 * LAG)),
                )
            };
            pr[k] = _mm256_mul_ps(u, v);
            // v·swap(u) = [v.re·u.im, v.im·u.re]: even − odd lanes is Im(u·v*)
            pi[k] = _mm256_mul_ps(v, _mm256_permute_ps(u, 0b10_11_00_01));
            pe[k] = _mm256_fmadd_ps(u, u, _mm256_mul_ps(v, v));
        }
        // SAFETY: t + 8 ≤ full ≤ len of each output slice.
        unsafe {
            _mm256_storeu_ps(re.as_mut_ptr().add(t), reduce8(&pr, _mm256_hadd_ps));
            _mm256_storeu_ps(im.as_mut_ptr().add(t), reduce8(&pi, _mm256_hsub_ps));
            _mm256_storeu_ps(en.as_mut_ptr().add(t), reduce8(&pe, _mm256_hadd_ps));
        }
        t += 8;
    }
    block_sums(
        &x[STEP * full..],
        &mut re[full..n],
        &mut im[full..n],
        &mut en[full..n],
    );
}

/// The CPU has AVX2 and FMA (always false off x86-64).
fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Scratch of the delay-and-correlate detector, in split (re, im, energy) layout, evaluated
/// every [`STEP`] samples.
struct Detector {
    /// Block sums ([`block_sums`]), zero-padded.
    blocks: [Vec<f32>; 3],
    /// Sums of 4 consecutive blocks.
    quads: [Vec<f32>; 3],
    /// `P(t)` (re, im) and `E(t)` at metric index `STEP·t`.
    metric: [Vec<f32>; 3],
    /// Threshold decision per decimated index `t`, bit `t % 64` of word `t / 64`.
    ok: Vec<u64>,
    /// Sample index of metric index 0 in the input of the last [`Detector::evaluate`].
    base: usize,
    /// Number of valid decimated indices of the last [`Detector::evaluate`].
    count: usize,
    /// Use [`block_sums_avx2`].
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

impl Detector {
    /// `avx2`: the CPU has AVX2 and FMA (ignored off x86-64).
    fn new(avx2: bool) -> Self {
        #[cfg(not(target_arch = "x86_64"))]
        let _ = avx2;
        // blocks: up to nt + WIN_BLOCKS − 1 rounded up to 8 (AVX2 groups) or to L (lanes)
        let n = BLOCK / STEP + WIN_BLOCKS + 8;
        Detector {
            blocks: core::array::from_fn(|_| vec![0.0; n]),
            quads: core::array::from_fn(|_| vec![0.0; n]),
            metric: core::array::from_fn(|_| vec![0.0; n]),
            ok: vec![0; BLOCK / STEP / 64 + 1],
            base: 0,
            count: 0,
            #[cfg(target_arch = "x86_64")]
            avx2,
        }
    }

    /// Evaluates `|P(STEP·t)|² > k_thr·E(STEP·t)² ∧ E(STEP·t) > e_min` for
    /// `t < cnt.div_ceil(STEP)` (`x` holds at least `cnt + WIN − 1 + LAG` samples from metric
    /// index 0; more let the AVX2 kernel cover its last group of blocks) into the bits of `self.ok` (bits from there up to the next multiple of 4 are
    /// meaningless).
    ///
    /// `P` and `E` are sums of 16 block sums ([`block_sums`]), formed as two levels of
    /// four-term sums over contiguous arrays, so every step vectorises and no running sum
    /// carries rounding error along the block.
    #[inline(always)]
    fn evaluate(&mut self, x: &[Complex32], cnt: usize, k_thr: f32, e_min: f32) {
        let nt = cnt.div_ceil(STEP);
        self.count = nt;
        let ntp = nt.div_ceil(L) * L;
        let nb = nt + WIN_BLOCKS - 1; // blocks inside x
        let nbp = ntp + WIN_BLOCKS - 1; // blocks read by the last lane group
        {
            let [br, bi, be] = &mut self.blocks;
            #[cfg(target_arch = "x86_64")]
            if self.avx2 {
                // whole groups of eight blocks where `x` has the samples (blocks past `nb` are
                // zeroed or never read below)
                let nbx = nb.next_multiple_of(8).min((x.len() - LAG) / STEP).max(nb);
                let (br, bi, be) = (&mut br[..nbx], &mut bi[..nbx], &mut be[..nbx]);
                // SAFETY: `avx2` is set only when the CPU reports AVX2 and FMA.
                unsafe { block_sums_avx2(x, br, bi, be) };
            } else {
                block_sums(x, &mut br[..nb], &mut bi[..nb], &mut be[..nb]);
            }
            #[cfg(not(target_arch = "x86_64"))]
            block_sums(x, &mut br[..nb], &mut bi[..nb], &mut be[..nb]);
            for b in [br, bi, be] {
                b[nb..nbp].fill(0.0);
            }
        }
        let nq = ntp + WIN_BLOCKS - 4;
        for (b, q) in self.blocks.iter().zip(self.quads.iter_mut()) {
            sum4(b, 1, &mut q[..nq]);
        }
        for (q, m) in self.quads.iter().zip(self.metric.iter_mut()) {
            sum4(q, 4, &mut m[..ntp]);
        }
        let [mr, mi, me] = &self.metric;
        // decision bits gather in a register, one store per 64 indices
        let mut word = 0u64;
        for (g, ((r, i), e)) in mr[..ntp]
            .chunks_exact(L)
            .zip(mi[..ntp].chunks_exact(L))
            .zip(me[..ntp].chunks_exact(L))
            .enumerate()
        {
            let t = g * L;
            word |= decide(r, i, e, k_thr, e_min) << (t % 64);
            if (t + L).is_multiple_of(64) {
                self.ok[t / 64] = word;
                word = 0;
            }
        }
        if !ntp.is_multiple_of(64) {
            self.ok[ntp / 64] = word;
        }
    }

    /// `P = Σ_{k<64} x[i+k]·x*[i+k+16]` at sample index `i`, when the last block evaluated the
    /// metric there (the detector's own sums, so no sample is read twice).
    #[inline(always)]
    fn window_corr(&self, i: usize) -> Option<Complex32> {
        let off = i.checked_sub(self.base)?;
        let t = off / STEP;
        if off % STEP != 0 || t >= self.count {
            return None;
        }
        Some(Complex32::new(self.metric[0][t], self.metric[1][t]))
    }

    /// First index `j ≥ from`, `j < end`, whose bit equals `bit`, or `end`.
    #[inline(always)]
    fn next(&self, from: usize, end: usize, bit: bool) -> usize {
        let mut j = from;
        while j < end {
            let w = if bit {
                self.ok[j / 64]
            } else {
                !self.ok[j / 64]
            };
            let w = w >> (j % 64);
            if w != 0 {
                return (j + w.trailing_zeros() as usize).min(end);
            }
            j = (j / 64 + 1) * 64;
        }
        end
    }
}

impl Receiver {
    /// Builds a receiver (plans the 64-point FFT, allocates scratch).
    pub fn new(cfg: RxConfig) -> Self {
        let mut planner = FftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(FFT_LEN);
        let scratch_len = fft.get_inplace_scratch_len();
        // the search span must fit the wrap-free part of the correlation FFT
        let ifft = planner.plan_fft_inverse(FFT_LEN);
        let scratch_len = scratch_len.max(ifft.get_inplace_scratch_len());
        let avx2 = has_avx2_fma();
        Receiver {
            cfg,
            fft,
            fft_scratch: vec![Complex32::new(0.0, 0.0); scratch_len],
            det: Detector::new(avx2),
            sym: vec![Complex32::new(0.0, 0.0); 3 * FFT_LEN],
            backoff_rot: core::array::from_fn(|i| {
                let a =
                    2.0 * PI * f64::from(USED_SUBCARRIERS[i]) * FFT_BACKOFF as f64 / FFT_LEN as f64;
                Complex32::new(a.cos() as f32, a.sin() as f32)
            }),
            #[cfg(target_arch = "x86_64")]
            avx2,
            ifft,
            corr: [Complex32::new(0.0, 0.0); FFT_LEN],
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
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only when the CPU reports AVX2 and FMA (see `new`).
            return unsafe { self.scan_avx2(iq, out) };
        }
        self.scan_impl(iq, out)
    }

    /// [`Receiver::scan`] compiled for AVX2/FMA (the kernels are inlined into it).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn scan_avx2(&mut self, iq: &[Complex32], out: &mut Vec<Frame>) {
        self.scan_impl(iq, out)
    }

    #[inline(always)]
    fn scan_impl(&mut self, iq: &[Complex32], out: &mut Vec<Frame>) {
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
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only when the CPU reports AVX2 and FMA (see `new`).
            return unsafe { self.receive_avx2(iq) };
        }
        self.receive_impl(iq)
    }

    /// [`Receiver::receive`] compiled for AVX2/FMA (the kernels are inlined into it).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn receive_avx2(&mut self, iq: &[Complex32]) -> Result<Frame, RxError> {
        self.receive_impl(iq)
    }

    #[inline(always)]
    fn receive_impl(&mut self, iq: &[Complex32]) -> Result<Frame, RxError> {
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
    #[inline(always)]
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
            self.det.evaluate(&iq[b0..], cnt, k_thr, e_min);
            self.det.base = b0;
            // walk the runs of set bits: alternate between the next rise and the next fall
            let nt = cnt.div_ceil(STEP);
            let mut t = 0;
            while t < nt {
                match run {
                    None => {
                        t = self.det.next(t, nt, true);
                        if t < nt {
                            run = Some(b0 + STEP * t);
                        }
                    }
                    Some(r) => {
                        t = self.det.next(t, nt, false);
                        if t < nt {
                            let fall = b0 + STEP * t;
                            let len = fall - r;
                            if len >= min_p && len <= max_p {
                                return Plateau::Found { rise: r, fall };
                            }
                            run = None;
                        }
                    }
                }
            }
            // a multiple of STEP except for the last block
            b0 += STEP * nt;
        }
        match run {
            Some(rise) => Plateau::Open { rise },
            None => Plateau::None,
        }
    }

    /// Timing, CFO, channel estimate and L-SIG for the plateau `rise..fall`.
    #[inline(always)]
    fn demod(&mut self, iq: &[Complex32], rise: usize, fall: usize) -> Result<Frame, Demod> {
        let n = iq.len();
        let fs = self.cfg.sample_rate_hz;
        // plateau centre, on the detector's grid (rise and fall are STEP·k apart)
        let mid = rise + (fall - rise) / (2 * STEP) * STEP;
        // coarse CFO: 16-lag correlation over the window at the plateau centre (inside the STF)
        let pc = match self.det.window_corr(mid) {
            Some(pc) => pc,
            None => lag_corr(&iq[mid..mid + WIN + LAG], LAG).0,
        };
        let cfo_coarse = -f64::from(pc.arg()) * fs / (2.0 * PI * LAG as f64);

        // fine timing: circular cross-correlation of the two-symbol sum with the long symbol
        let ltf_exp = mid.saturating_sub(CENTRE_TO_START) + LTF_SYMBOL_OFFSET;
        let p = ltf_exp.saturating_sub(TIMING_LEAD);
        let lo = p.saturating_sub(TIMING_LATE).max(CFO_LEAD);
        if lo + LTF_TO_END > n || p + 2 * FFT_LEN > n {
            return Err(Demod::Truncated {
                needed: ltf_exp + LTF_TO_END,
            });
        }
        let hi = (p + FFT_LEN - TIMING_LATE - 1).min(n - LTF_TO_END);
        // u[i] = (r[p+i] + r[p+64+i]·e^{jw64})·e^{jwi}, w = −2π·cfo/fs; then
        // IFFT(FFT(u)·L) is Σ_n u[(n+d) mod 64]·conj(ltf[n]) (L real), the channel response
        // cyclically delayed by the timing offset d. (A constant phase would not move the peak.)
        let w = -2.0 * PI * cfo_coarse / fs;
        let step = Complex64::from_polar(1.0, w);
        let rot64_d = cpow(step, FFT_LEN as u32);
        let rot64 = Complex32::new(rot64_d.re as f32, rot64_d.im as f32);
        for ((c, a), b) in self
            .corr
            .iter_mut()
            .zip(&iq[p..p + FFT_LEN])
            .zip(&iq[p + FFT_LEN..p + 2 * FFT_LEN])
        {
            *c = a + b * rot64;
        }
        rotate_in_place(&mut self.corr, step, Complex64::new(1.0, 0.0));
        self.fft
            .process_with_scratch(&mut self.corr, &mut self.fft_scratch);
        for (c, &l) in self.corr.iter_mut().zip(LTF_BINS.iter()) {
            *c *= l;
        }
        self.ifft
            .process_with_scratch(&mut self.corr, &mut self.fft_scratch);
        let ltf_start = lo + first_peak_circular(&self.corr, lo as isize - p as isize, hi + 1 - lo);

        // validation + fine CFO: the two long symbols (and the end of GI2) repeat with period
        // 64 whatever the channel; the window starts CFO_LEAD samples early so that late
        // multipath (timing peak on a later tap) keeps it clear of the L-SIG. Computed on the
        // raw samples: the coarse correction only turns the product by e^{−jw64}.
        let c0 = ltf_start - CFO_LEAD;
        let (c64, e12) = lag_corr(&iq[c0..c0 + CFO_SPAN + FFT_LEN], FFT_LEN);
        // written so that NaN/inf input is rejected too
        let bound = (self.cfg.min_ltf_corr * 0.5 * e12).max(0.0);
        let corr_ok = c64.norm_sqr() >= bound * bound;
        let power_ok = e12 / (2 * CFO_SPAN) as f32 > self.cfg.min_power;
        if !(corr_ok && power_ok && e12.is_finite()) {
            return Err(Demod::Reject);
        }
        let c64 = Complex64::new(f64::from(c64.re), f64::from(c64.im)) * rot64_d.conj();
        let cfo_fine = -c64.arg() * fs / (2.0 * PI * FFT_LEN as f64);
        let cfo_hz = cfo_coarse + cfo_fine;

        // CFO-corrected FFT windows LTF1, LTF2, SIG, each FFT_BACKOFF samples early. All three
        // are multiplied by the same 64-sample phasor table e^{jw(i − FFT_BACKOFF)}; the
        // missing per-window constant is applied to LTF2 in the frequency domain
        // (e^{jw64}) and left out for the SIG, whose common phase the pilots remove.
        let step = Complex64::from_polar(1.0, -2.0 * PI * cfo_hz / fs);
        let first = ltf_start - FFT_BACKOFF;
        {
            let mut tab = [Complex32::new(1.0, 0.0); FFT_LEN];
            rotate_in_place(&mut tab, step, cpow(step.conj(), FFT_BACKOFF as u32));
            for (sym, off) in self
                .sym
                .chunks_exact_mut(FFT_LEN)
                .zip([0, FFT_LEN, SIG_FROM_LTF])
            {
                let src = &iq[first + off..first + off + FFT_LEN];
                for ((x, t), r) in sym.iter_mut().zip(tab.iter()).zip(src) {
                    *x = r * t;
                }
            }
        }
        self.fft
            .process_with_scratch(&mut self.sym, &mut self.fft_scratch);
        let (y1, rest) = self.sym.split_at(FFT_LEN);
        let (y2, y3) = rest.split_at(FFT_LEN);

        let scale = (N_USED as f32).sqrt() / FFT_LEN as f32;
        let r2 = cpow(step, FFT_LEN as u32);
        let scale2 = Complex32::new(r2.re as f32, r2.im as f32) * scale;
        let mut h_raw = [Complex32::new(0.0, 0.0); N_USED];
        let mut h_pow = [0f32; N_USED];
        let mut d_pow = [0f32; N_USED];
        for (b0, u0) in USED_RUNS {
            let u = u0..u0 + N_USED / 2;
            let b = b0..b0 + N_USED / 2;
            for ((((h, hp), dp), (a, c)), &l) in h_raw[u.clone()]
                .iter_mut()
                .zip(&mut h_pow[u.clone()])
                .zip(&mut d_pow[u.clone()])
                .zip(y1[b.clone()].iter().zip(&y2[b]))
                .zip(&LTF_HALF[u])
            {
                let (a, c) = (a * scale, c * scale2);
                *h = (a + c) * l;
                *hp = h.norm_sqr();
                *dp = (a - c).norm_sqr();
            }
        }
        let (sig_pow, diff_pow) = (sum_lanes(&h_pow), sum_lanes(&d_pow));
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
        for (&(b, u), &p) in PILOT_IDX.iter().zip(PILOT_VALUES.iter()) {
            cpe += y3[b] * h_raw[u].conj() * p;
        }
        let cpe2 = cpe.norm_sqr();
        let rot = if cpe2 > 0.0 {
            cpe.conj() / cpe2.sqrt()
        } else {
            Complex32::new(1.0, 0.0)
        };
        let mut eq = [0f32; N_USED];
        for (b0, u0) in USED_RUNS {
            let u = u0..u0 + N_USED / 2;
            for ((e, y), h) in eq[u.clone()]
                .iter_mut()
                .zip(&y3[b0..b0 + N_USED / 2])
                .zip(&h_raw[u])
            {
                *e = (y * h.conj() * rot).re;
            }
        }
        let mut soft = [0f32; 48];
        for (sv, &(_, u)) in soft.iter_mut().zip(DATA_IDX.iter()) {
            *sv = eq[u];
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_iq(n: usize, seed: u64) -> Vec<Complex32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| Complex32::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)))
            .collect()
    }

    /// The block sums equal the products summed one by one, for a count that is not a
    /// multiple of the AVX2 kernel's eight blocks.
    #[test]
    fn block_sums_match_direct_products() {
        let nb = 61;
        let x = random_iq(STEP * nb + LAG, 3);
        let mut s = [vec![0f32; nb], vec![0f32; nb], vec![0f32; nb]];
        let [re, im, en] = &mut s;
        block_sums(&x, re, im, en);
        for t in 0..nb {
            let (mut p, mut e) = (Complex32::new(0.0, 0.0), 0f32);
            for k in STEP * t..STEP * t + STEP {
                p += x[k] * x[k + LAG].conj();
                e += x[k].norm_sqr() + x[k + LAG].norm_sqr();
            }
            assert!(
                (re[t] - p.re).abs() < 1e-5 && (im[t] - p.im).abs() < 1e-5,
                "block {t}"
            );
            assert!((en[t] - e).abs() < 1e-5, "block {t}");
        }
    }

    /// The AVX2 kernel gives the portable kernel's sums (skipped on CPUs without AVX2/FMA).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn block_sums_avx2_matches_portable() {
        if !has_avx2_fma() {
            eprintln!("skipped: CPU without AVX2/FMA");
            return;
        }
        for nb in [1, 8, 45, 64] {
            let x = random_iq(STEP * nb + LAG, nb as u64);
            let mut a = [vec![0f32; nb], vec![0f32; nb], vec![0f32; nb]];
            let mut b = a.clone();
            let [r0, i0, e0] = &mut a;
            block_sums(&x, r0, i0, e0);
            let [r1, i1, e1] = &mut b;
            // SAFETY: checked above that the CPU has AVX2 and FMA.
            unsafe { block_sums_avx2(&x, r1, i1, e1) };
            for (u, v) in a.iter().flatten().zip(b.iter().flatten()) {
                assert!((u - v).abs() < 1e-5, "nb {nb}: {u} vs {v}");
            }
        }
    }

    /// The decimated metric at `STEP·t` is the full 64-sample delay-and-correlate sum, with
    /// the portable and (where the CPU has it) the AVX2 block sums.
    #[test]
    fn metric_is_the_window_sum() {
        let cnt = 100;
        let x = random_iq(cnt + WIN - 1 + LAG, 9);
        for avx2 in [false, has_avx2_fma()] {
            let mut det = Detector::new(avx2);
            det.evaluate(&x, cnt, 0.0, 0.0);
            det.base = 0;
            for t in 0..cnt.div_ceil(STEP) {
                let (p, e) = lag_corr(&x[STEP * t..STEP * t + WIN + LAG], LAG);
                let got = det.window_corr(STEP * t).expect("evaluated index");
                assert!((got - p).norm() < 1e-4 * e, "t {t}: {got} vs {p}");
                assert!((det.metric[2][t] - e).abs() < 1e-4 * e, "t {t}");
            }
            assert!(det.window_corr(1).is_none(), "off-grid index");
        }
    }
}
