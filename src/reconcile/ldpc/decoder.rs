//! Layered belief-propagation decoder for quasi-cyclic LDPC codes with a
//! syndrome target (Slepian–Wolf decoding: find the word nearest the channel
//! observation whose syndrome equals Alice's).
//!
//! Schedule: one layer per block row (Hocevar, "A reduced complexity decoder
//! architecture via layered decoding of LDPC codes", SiPS 2004). Check update
//! ([`CheckRule`]): normalised min-sum (Chen & Fossorier, "Near optimum
//! universal belief propagation based decoding of LDPC codes", IEEE Trans.
//! Commun. 50(3), 2002), or sum-product as pairwise box-plus operations in a
//! forward–backward pass, each a ⊞ b = sgn(a)sgn(b)·min(|a|, |b|) +
//! c(|a + b|) − c(|a − b|) with the correction c(x) = ln(1 + e^−x) replaced
//! by a piecewise-linear approximation (X.-Y. Hu, E. Eleftheriou,
//! D.-M. Arnold, A. Dholakia, "Efficient implementations of the sum-product
//! algorithm for decoding LDPC codes", GLOBECOM 2001); signs are handled
//! apart from magnitudes, as in min-sum. Early termination: after every
//! iteration the hard decisions are checked against the target syndrome.
//!
//! Arithmetic: fixed point. LLRs are `i16` in units of 1/[`UNITS_PER_NAT`]
//! nat, saturated at ±32767 (±512 nats, which also stands for a known bit),
//! with saturating adds and subtractions, as in the SIMD decoders of
//! B. Le Gal and C. Jégo, "High-throughput multi-core LDPC decoders based on
//! x86 processor", IEEE Trans. Parallel Distrib. Syst. 27(5), 2016. A
//! 1/64-nat step is far below the noise of any LLR the protocol feeds in,
//! and an AVX2 register holds 16 lanes instead of 8 `f32`. Check-to-variable
//! messages are narrower than posteriors ([`MAX_MESSAGE`]), so a saturated
//! posterior keeps its extrinsic value.
//!
//! Layout: all Z checks of a layer are updated together. For each edge of
//! the layer the Z variable values are copied out of the rotated column block
//! into a contiguous lane buffer, so every inner loop runs over Z contiguous
//! lanes (vectorised by the compiler; buffers hold Z rounded up to a
//! multiple of 16 lanes, so no loop ends in scalar code); check-to-variable
//! messages are stored per edge in one contiguous array. Nothing is
//! allocated per call.

use super::codes::QcCode;

/// LLR magnitude used for positions whose value is known (shortened or
/// revealed); the decoder saturates it to its largest value.
pub const KNOWN_LLR: f32 = 1.0e4;

/// Fixed-point scale: one nat of LLR is this many decoder units.
pub const UNITS_PER_NAT: f32 = 64.0;

/// Largest decoder LLR magnitude (kept symmetric, so |x| never overflows).
const LLR_MAX: i16 = i16::MAX;

/// Largest check-to-variable message magnitude: 16 nats (an error
/// probability of 1e−7), a thirty-second of the posteriors' range.
///
/// A layered decoder sends a variable's posterior minus the check's last
/// message as its extrinsic input to the check. Were messages as wide as
/// posteriors, a variable whose posterior and messages had all saturated
/// would send 32767 − 32767 = 0: every check around it would fall silent
/// for a pass, and in a decoder stuck on a few unsatisfied checks these
/// silent passes let the wrong messages spread. In one 2^20-bit block at
/// Q = 10 % (1M-r050) the word went from 2 unsatisfied checks at iteration
/// 120 to half its bits wrong at iteration 200, and the block then took 8
/// blind rounds; on a 16384-bit frame one contradicting known bit
/// spread to up to 1428 wrong bits (test
/// `a_contradiction_stays_local_with_saturated_posteriors`). With the
/// cap, a saturated posterior's extrinsic stays ≥ 32767 − 1024 units.
pub const MAX_MESSAGE: i16 = (16.0 * UNITS_PER_NAT) as i16;

/// Lanes per vector the buffers are padded to (16 `i16` in an AVX2 register).
const LANES: usize = 16;

/// The decoder value of an LLR in nats: rounded to the unit, saturated at
/// ±[`LLR_MAX`] (NaN becomes 0).
#[inline]
pub fn quantize(llr: f32) -> i16 {
    let x = (llr * UNITS_PER_NAT).clamp(-f32::from(LLR_MAX), f32::from(LLR_MAX));
    // Round half away from zero by hand: `f32::round` is a libm call that
    // keeps this loop from vectorising.
    (x + if x < 0.0 { -0.5 } else { 0.5 }) as i16
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// How a check node combines its incoming messages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CheckRule {
    /// Normalised min-sum: magnitudes are the smallest other input scaled by
    /// `alpha` (0.7–0.8 typical). Fastest; loses most at high check degree.
    MinSum {
        /// Normalisation factor.
        alpha: f32,
    },
    /// Sum-product (box-plus with the piecewise-linear correction of
    /// [`corr`]); a little slower than min-sum per iteration but needs
    /// about 10 % fewer iterations (speeds in `benches/ldpc.rs`).
    SumProduct,
}

/// Outcome of one decoding attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeStatus {
    /// True if the hard decisions satisfy the target syndrome.
    pub converged: bool,
    /// Iterations run (full passes over all layers).
    pub iterations: u32,
}

/// Saved messages and posteriors of one frame, for [`LayeredDecoder::resume`].
#[derive(Clone, Debug, Default)]
pub struct WarmState {
    post: Vec<i16>,
    msgs: Vec<i16>,
}

impl WarmState {
    /// True if nothing has been saved yet.
    pub fn is_empty(&self) -> bool {
        self.post.is_empty()
    }
}

impl Drop for WarmState {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.post.zeroize();
        self.msgs.zeroize();
    }
}

/// Reusable decoder state for one code (messages, posteriors, lane buffers).
#[derive(Clone, Debug)]
pub struct LayeredDecoder {
    code: QcCode,
    rule: CheckRule,
    /// Posterior LLR per variable (`ln P(0)/P(1)`, fixed point), `pitch`
    /// values per block column: the column's z values, then slack that lets
    /// the gather and scatter move whole vectors from any shift.
    post: Vec<i16>,
    /// Values per block column in `post`: z + `stride`.
    pitch: usize,
    /// Lanes per entry in the buffers below: z rounded up to a multiple of
    /// [`LANES`], so the vector loops have no scalar tail; the extra lanes are
    /// idle checks that nothing reads.
    stride: usize,
    /// Check-to-variable messages, `stride` lanes per base-matrix entry, row-major.
    msgs: Vec<i16>,
    /// Lane buffer of the current layer: `stride` lanes per entry.
    lanes: Vec<i16>,
    /// Sum-product forward partials t₀ ⊞ … ⊞ t_e: `stride` lanes per entry.
    fwd: Vec<i16>,
    /// Sum-product backward partial.
    bwd: Vec<i16>,
    min1: Vec<i16>,
    min2: Vec<i16>,
    /// Sign product per check: 0 or −1 (all bits set).
    sign: Vec<i16>,
    hard: Vec<u8>,
    parity: Vec<u8>,
    /// AVX2 available at run time (x86-64): the layer update is then
    /// compiled for 16-lane vectors, otherwise for the baseline (SSE2).
    avx2: bool,
}

impl LayeredDecoder {
    /// Normalised min-sum decoder for `code` with factor `alpha` (check
    /// messages are scaled by `alpha`; 0.7–0.8 is typical).
    pub fn new(code: QcCode, alpha: f32) -> Self {
        Self::with_rule(code, CheckRule::MinSum { alpha })
    }

    /// Decoder for `code` with check update `rule`.
    pub fn with_rule(code: QcCode, rule: CheckRule) -> Self {
        let z = code.z();
        let max_deg = (0..code.block_rows())
            .map(|i| code.row(i).len())
            .max()
            .unwrap_or(0);
        let spa = rule == CheckRule::SumProduct;
        let stride = z.next_multiple_of(LANES);
        let pitch = z + stride;
        LayeredDecoder {
            rule,
            stride,
            pitch,
            post: vec![0; code.n() / z.max(1) * pitch],
            // One vector of slack past the last entry: the gather's second
            // run may read and write up to LANES − 1 lanes past an entry.
            msgs: vec![0; code.edges() / z.max(1) * stride + LANES],
            lanes: vec![0; max_deg * stride + LANES],
            fwd: vec![0; if spa { max_deg * stride } else { 0 }],
            bwd: vec![0; if spa { stride } else { 0 }],
            min1: vec![0; stride],
            min2: vec![0; stride],
            sign: vec![0; stride],
            hard: vec![0; code.n()],
            parity: vec![0; z],
            avx2: has_avx2(),
            code,
        }
    }

    /// The code being decoded.
    pub fn code(&self) -> &QcCode {
        &self.code
    }

    /// The check update in use.
    pub fn rule(&self) -> CheckRule {
        self.rule
    }

    /// Decodes channel LLRs `llr` (n values, `ln P(0)/P(1)` in nats,
    /// positive ⇒ 0; see [`quantize`]) towards the word with syndrome
    /// `syndrome` (m bytes 0/1), running at most `max_iter` iterations. The
    /// hard decisions are left in `out` (n bytes 0/1) whether or not the
    /// decoder converged.
    ///
    /// # Errors
    /// [`super::codes::CodeError::Length`] if a buffer does not match the code.
    pub fn decode(
        &mut self,
        llr: &[f32],
        syndrome: &[u8],
        max_iter: u32,
        out: &mut [u8],
    ) -> Result<DecodeStatus, super::codes::CodeError> {
        let (n, m) = (self.code.n(), self.code.m());
        for (want, got) in [(n, llr.len()), (m, syndrome.len()), (n, out.len())] {
            if want != got {
                return Err(super::codes::CodeError::Length { want, got });
            }
        }
        let z = self.code.z();
        for (col, l) in self
            .post
            .chunks_exact_mut(self.pitch)
            .zip(llr.chunks_exact(z))
        {
            for (p, &l) in col.iter_mut().zip(l) {
                *p = quantize(l);
            }
        }
        self.msgs.fill(0);
        Ok(self.run(syndrome, max_iter, out))
    }

    /// Saves the decoder's messages and posteriors into `state` (reusing its
    /// buffers), so a later [`Self::resume`] can continue from here.
    pub fn save(&self, state: &mut WarmState) {
        state.post.clear();
        state.post.extend_from_slice(&self.post);
        state.msgs.clear();
        state.msgs.extend_from_slice(&self.msgs);
    }

    /// Posterior LLRs of the last decode, in variable order and fixed point
    /// ([`quantize`]'s units), into `out` (cleared first).
    pub fn posteriors(&self, out: &mut Vec<i16>) {
        let z = self.code.z();
        out.clear();
        for col in self.post.chunks_exact(self.pitch) {
            out.extend_from_slice(&col[..z]);
        }
    }

    /// Warm start (blind reconciliation, Martinez-Mateo, Elkouss, Martin,
    /// QIC 12 (2012)): continues decoding from the messages saved in `state`
    /// after the channel LLRs of some variables changed, e.g. punctured
    /// values that Alice revealed. `changes` lists (variable, old LLR, new
    /// LLR); each posterior is shifted by new − old (saturating), every
    /// check-to-variable message is kept, and at most `max_iter` further
    /// iterations run.
    ///
    /// # Errors
    /// [`super::codes::CodeError::Length`] if a buffer or the saved state does
    /// not match the code, or a variable index is out of range.
    pub fn resume(
        &mut self,
        state: &WarmState,
        changes: &[(usize, f32, f32)],
        syndrome: &[u8],
        max_iter: u32,
        out: &mut [u8],
    ) -> Result<DecodeStatus, super::codes::CodeError> {
        let (n, m) = (self.code.n(), self.code.m());
        for (want, got) in [
            (self.post.len(), state.post.len()),
            (self.msgs.len(), state.msgs.len()),
            (m, syndrome.len()),
            (n, out.len()),
        ] {
            if want != got {
                return Err(super::codes::CodeError::Length { want, got });
            }
        }
        self.post.copy_from_slice(&state.post);
        self.msgs.copy_from_slice(&state.msgs);
        for &(v, old, new) in changes {
            if v >= n {
                return Err(super::codes::CodeError::Length { want: n, got: v });
            }
            let z = self.code.z();
            let at = v / z * self.pitch + v % z;
            let shifted =
                i32::from(self.post[at]) + i32::from(quantize(new)) - i32::from(quantize(old));
            let p = shifted.clamp(-i32::from(LLR_MAX), i32::from(LLR_MAX)) as i16;
            self.post[at] = p;
        }
        Ok(self.run(syndrome, max_iter, out))
    }

    /// Iterates from the current messages and posteriors.
    fn run(&mut self, syndrome: &[u8], max_iter: u32, out: &mut [u8]) -> DecodeStatus {
        let z = self.code.z();
        let mut status = DecodeStatus {
            converged: self.check(syndrome),
            iterations: 0,
        };
        while !status.converged && status.iterations < max_iter {
            let mut edge = 0;
            for layer in 0..self.code.block_rows() {
                let deg = self.code.row(layer).len();
                let syn = &syndrome[layer * z..(layer + 1) * z];
                #[cfg(target_arch = "x86_64")]
                if self.avx2 {
                    // SAFETY: AVX2 was detected at run time (`has_avx2`).
                    unsafe { self.layer_avx2(layer, edge, syn) };
                    edge += deg;
                    continue;
                }
                self.layer(layer, edge, syn);
                edge += deg;
            }
            status.iterations += 1;
            status.converged = self.check(syndrome);
        }
        out.copy_from_slice(&self.hard);
        status
    }

    /// [`Self::layer`] compiled with AVX2 enabled.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn layer_avx2(&mut self, layer: usize, edge0: usize, syn: &[u8]) {
        self.layer(layer, edge0, syn);
    }

    /// One layer update (block row `layer`, whose first entry is `edge0`).
    #[inline(always)]
    fn layer(&mut self, layer: usize, edge0: usize, syn: &[u8]) {
        let (z, w) = (self.code.z(), self.stride);
        let deg = self.code.row(layer).len();
        let pitch = self.pitch;
        // Gather: lanes[e][r] = post[c][(r + s) mod z] − msgs[e][r], in two
        // runs of whole vectors: all w lanes from column value s on (lanes
        // from z − s on read the slack), then s lanes rounded up to whole
        // vectors, from lane z − s on and column value 0, which puts the
        // wrapped values in place and spills into idle lanes or the next
        // entry (gathered after this one).
        for (e, (c, s)) in self.code.row(layer).enumerate() {
            let (col, k) = (
                &self.post[c * pitch..(c + 1) * pitch],
                s.next_multiple_of(LANES),
            );
            let msg = &self.msgs[(edge0 + e) * w..];
            let lane = &mut self.lanes[e * w..];
            sub_vectors(&mut lane[..w], &col[s..s + w], &msg[..w]);
            let wrap = z - s..z - s + k;
            sub_vectors(&mut lane[wrap.clone()], &col[..k], &msg[wrap]);
        }
        // New messages into msgs, lanes[e] += message (the new posteriors).
        let msgs = &mut self.msgs[edge0 * w..(edge0 + deg) * w];
        let (lanes, sign) = (&mut self.lanes[..deg * w], &mut self.sign[..]);
        match self.rule {
            CheckRule::SumProduct if deg >= 2 => {
                let (fwd, bwd) = (&mut self.fwd[..], &mut self.bwd[..]);
                #[cfg(target_arch = "x86_64")]
                if self.avx2 {
                    // SAFETY: AVX2 was detected at run time (`has_avx2`).
                    unsafe { sum_product_avx2(lanes, msgs, fwd, bwd, sign, syn) };
                } else {
                    sum_product(lanes, msgs, fwd, bwd, sign, syn);
                }
                #[cfg(not(target_arch = "x86_64"))]
                sum_product(lanes, msgs, fwd, bwd, sign, syn);
            }
            rule => {
                let alpha = match rule {
                    CheckRule::MinSum { alpha } => alpha,
                    CheckRule::SumProduct => 1.0,
                };
                let (min1, min2) = (&mut self.min1[..], &mut self.min2[..]);
                #[cfg(target_arch = "x86_64")]
                if self.avx2 {
                    // SAFETY: AVX2 was detected at run time (`has_avx2`).
                    unsafe { min_sum_avx2(lanes, msgs, min1, min2, sign, syn, alpha) };
                } else {
                    min_sum(lanes, msgs, min1, min2, sign, syn, alpha);
                }
                #[cfg(not(target_arch = "x86_64"))]
                min_sum(lanes, msgs, min1, min2, sign, syn, alpha);
            }
        }
        // Scatter the posteriors back (lane r is value (r + s) mod z), the
        // reverse of the gather's two runs: the wrapped values first (their
        // spill past s is overwritten next), then all w lanes from s on (the
        // lanes past z − s land in the slack).
        for (e, (c, s)) in self.code.row(layer).enumerate() {
            let (lane, k) = (&self.lanes[e * w..], s.next_multiple_of(LANES));
            let col = &mut self.post[c * pitch..(c + 1) * pitch];
            col[..k].copy_from_slice(&lane[z - s..z - s + k]);
            col[s..s + w].copy_from_slice(&lane[..w]);
        }
    }

    /// Hard decisions from the posteriors; true if they meet the syndrome.
    fn check(&mut self, syndrome: &[u8]) -> bool {
        let z = self.code.z();
        for (h, col) in self
            .hard
            .chunks_exact_mut(z)
            .zip(self.post.chunks_exact(self.pitch))
        {
            for (h, &p) in h.iter_mut().zip(col) {
                *h = (p < 0) as u8;
            }
        }
        let mut ok = 0u8;
        for layer in 0..self.code.block_rows() {
            self.parity
                .copy_from_slice(&syndrome[layer * z..(layer + 1) * z]);
            for (c, s) in self.code.row(layer) {
                let v = &self.hard[c * z..(c + 1) * z];
                let (head, tail) = v.split_at(s);
                let (p1, p2) = self.parity.split_at_mut(z - s);
                for (a, &x) in p1.iter_mut().zip(tail) {
                    *a ^= x;
                }
                for (a, &x) in p2.iter_mut().zip(head) {
                    *a ^= x;
                }
            }
            ok |= self.parity.iter().fold(0, |acc, &b| acc | (b & 1));
            if ok != 0 {
                return false;
            }
        }
        true
    }
}

/// out = a − b (saturating), lane by lane.
#[inline(always)]
fn sub_vectors(out: &mut [i16], a: &[i16], b: &[i16]) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = a.saturating_sub(b);
    }
}

/// The sign mask of `t`: 0 if t ≥ 0, −1 (all bits set) if t < 0.
#[inline(always)]
fn sign_of(t: i16) -> i16 {
    t >> 15
}

/// `m` with the sign of mask `s` (0 or −1) applied: m or −m.
#[inline(always)]
fn with_sign(m: i16, s: i16) -> i16 {
    (m ^ s).wrapping_sub(s)
}

/// Sign masks of the target syndrome bits into `sign` (lanes past `syn` are
/// idle checks and get 0).
#[inline(always)]
fn syndrome_signs(sign: &mut [i16], syn: &[u8]) {
    let (target, idle) = sign.split_at_mut(syn.len().min(sign.len()));
    for (sg, &b) in target.iter_mut().zip(syn) {
        *sg = -i16::from(b & 1);
    }
    idle.fill(0);
}

/// Normalised min-sum check update of one layer: `lanes` holds the layer's
/// entries of z lanes each (z = `min1.len()`), `msgs` their messages
/// (magnitudes capped at [`MAX_MESSAGE`]).
#[inline(never)]
fn min_sum(
    lanes: &mut [i16],
    msgs: &mut [i16],
    min1: &mut [i16],
    min2: &mut [i16],
    sign: &mut [i16],
    syn: &[u8],
    alpha: f32,
) {
    min_sum_body(lanes, msgs, min1, min2, sign, syn, alpha);
}

/// [`min_sum`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
unsafe fn min_sum_avx2(
    lanes: &mut [i16],
    msgs: &mut [i16],
    min1: &mut [i16],
    min2: &mut [i16],
    sign: &mut [i16],
    syn: &[u8],
    alpha: f32,
) {
    min_sum_body(lanes, msgs, min1, min2, sign, syn, alpha);
}

#[inline(always)]
fn min_sum_body(
    lanes: &mut [i16],
    msgs: &mut [i16],
    min1: &mut [i16],
    min2: &mut [i16],
    sign: &mut [i16],
    syn: &[u8],
    alpha: f32,
) {
    let z = min1.len();
    let (min2, sign) = (&mut min2[..z], &mut sign[..z]);
    // α in unsigned Q16 (α = 1 becomes 65535/65536); magnitudes are ≥ 0, so
    // the scaling is the high half of an unsigned 16-bit product (`pmulhuw`).
    let alpha_q16 = (alpha.clamp(0.0, 1.0) * 65536.0).min(65535.0) as u16;
    // Two smallest magnitudes and the sign product per check.
    min1.fill(LLR_MAX);
    min2.fill(LLR_MAX);
    syndrome_signs(sign, syn);
    for lane in lanes.chunks_exact(z) {
        for (((&t, m1), m2), sg) in lane
            .iter()
            .zip(min1.iter_mut())
            .zip(min2.iter_mut())
            .zip(sign.iter_mut())
        {
            let a = t.saturating_abs();
            *sg ^= sign_of(t);
            *m2 = (*m2).min((*m1).max(a));
            *m1 = (*m1).min(a);
        }
    }
    for (lane, msg) in lanes.chunks_exact_mut(z).zip(msgs.chunks_exact_mut(z)) {
        for ((((t, q), &m1), &m2), &sg) in lane
            .iter_mut()
            .zip(msg.iter_mut())
            .zip(min1.iter())
            .zip(min2.iter())
            .zip(sign.iter())
        {
            let other = if t.saturating_abs() == m1 { m2 } else { m1 };
            let m =
                (((u32::from(other as u16) * u32::from(alpha_q16)) >> 16) as i16).min(MAX_MESSAGE);
            let r = with_sign(m, sg ^ sign_of(*t));
            *q = r;
            *t = t.saturating_add(r);
        }
    }
}

/// Sum-product check update of one layer: `lanes` holds the layer's
/// deg ≥ 2 entries of z lanes each (z = `bwd.len()`; `syn` may be shorter,
/// the lanes past it are idle), `msgs` their messages.
/// The message to entry e is (t₀ ⊞ … ⊞ t_{e−1}) ⊞ (t_{e+1} ⊞ … ⊞ t_{deg−1}),
/// its magnitude capped at [`MAX_MESSAGE`] and its sign flipped where the
/// target syndrome bit is 1. As in min-sum, signs and
/// magnitudes go separately: the sign is the product of all other signs (one
/// XOR with the check's total), the magnitude a forward–backward pass of
/// [`boxplus_mag`] over |t|, with the forward partials stored in `fwd` and
/// the backward partial carried in `bwd`; `sign` holds the signs' product.
///
/// Not inlined into the layer loop: as a function of its own, its slice
/// arguments are known not to alias, so every loop vectorises over the lanes
/// (inlined, the compiler gave up on the alias checks and ran scalar code).
#[inline(never)]
fn sum_product(
    lanes: &mut [i16],
    msgs: &mut [i16],
    fwd: &mut [i16],
    bwd: &mut [i16],
    sign: &mut [i16],
    syn: &[u8],
) {
    sum_product_body(lanes, msgs, fwd, bwd, sign, syn);
}

/// [`sum_product`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
unsafe fn sum_product_avx2(
    lanes: &mut [i16],
    msgs: &mut [i16],
    fwd: &mut [i16],
    bwd: &mut [i16],
    sign: &mut [i16],
    syn: &[u8],
) {
    sum_product_body(lanes, msgs, fwd, bwd, sign, syn);
}

#[inline(always)]
#[allow(clippy::needless_range_loop)] // index loops over equal-length slices vectorise
fn sum_product_body(
    lanes: &mut [i16],
    msgs: &mut [i16],
    fwd: &mut [i16],
    bwd: &mut [i16],
    sign: &mut [i16],
    syn: &[u8],
) {
    let z = bwd.len();
    let deg = lanes.len() / z;
    let sign = &mut sign[..z];
    syndrome_signs(sign, syn);
    for e in 0..deg {
        let t = &lanes[e * z..(e + 1) * z];
        for r in 0..z {
            sign[r] ^= sign_of(t[r]);
        }
    }
    // The message to entry e: magnitude `m`, sign that of all the others.
    let signed = |m: i16, t: i16, sg: i16| with_sign(m.min(MAX_MESSAGE), sg ^ sign_of(t));
    for r in 0..z {
        fwd[r] = lanes[r].saturating_abs();
    }
    for e in 1..deg - 1 {
        let (done, next) = fwd.split_at_mut(e * z);
        let (prev, cur, t) = (
            &done[(e - 1) * z..],
            &mut next[..z],
            &lanes[e * z..(e + 1) * z],
        );
        for r in 0..z {
            cur[r] = boxplus_mag(prev[r], t[r].saturating_abs());
        }
    }
    // Last entry: the message is the forward partial of all the others.
    let last = deg - 1;
    {
        let before = &fwd[(last - 1) * z..last * z];
        let lane = &mut lanes[last * z..(last + 1) * z];
        let msg = &mut msgs[last * z..(last + 1) * z];
        for r in 0..z {
            let t = lane[r];
            let q = signed(before[r], t, sign[r]);
            bwd[r] = t.saturating_abs();
            msg[r] = q;
            lane[r] = t.saturating_add(q);
        }
    }
    for e in (1..last).rev() {
        let before = &fwd[(e - 1) * z..e * z];
        let lane = &mut lanes[e * z..(e + 1) * z];
        let msg = &mut msgs[e * z..(e + 1) * z];
        for r in 0..z {
            let t = lane[r];
            let q = signed(boxplus_mag(before[r], bwd[r]), t, sign[r]);
            msg[r] = q;
            bwd[r] = boxplus_mag(bwd[r], t.saturating_abs());
            lane[r] = t.saturating_add(q);
        }
    }
    // First entry: the message is the backward partial of all the others.
    let (lane, msg) = (&mut lanes[..z], &mut msgs[..z]);
    for r in 0..z {
        let t = lane[r];
        let q = signed(bwd[r], t, sign[r]);
        msg[r] = q;
        lane[r] = t.saturating_add(q);
    }
}

/// a ⊞ b = 2 atanh(tanh(a/2)·tanh(b/2)) for fixed-point LLRs, as
/// sgn(a)sgn(b)·min(|a|, |b|) + c(|a + b|) − c(|a − b|).
#[cfg(test)]
fn boxplus(a: i16, b: i16) -> i16 {
    with_sign(
        boxplus_mag(a.saturating_abs(), b.saturating_abs()),
        sign_of(a) ^ sign_of(b),
    )
}

/// |a| ⊞ |b| for fixed-point magnitudes x, y ≥ 0: min(x, y) + c(x + y) −
/// c(|x − y|), kept ≥ 0. Within 0.044 nat and two units of the exact value
/// (the error bound of [`corr`]). No step overflows: the corrections are 0
/// once x + y exceeds 117 units, and x − y stays within ±32767.
#[inline(always)]
fn boxplus_mag(x: i16, y: i16) -> i16 {
    (x.min(y) + corr(x.saturating_add(y)) - corr((x - y).abs())).max(0)
}

/// Tangents of c(x) = ln(1 + e^−x) at x = 0.6 and 2.07, the pair that
/// minimises the envelope's worst error, in fixed point: (intercept in
/// units, rounded down; −slope in Q16). Two are enough: with two, three,
/// five or six tangents the native-rate frame error counts of r083 and the
/// 802.11n rate-1/2 codes agree within noise (`ldpc_native_fer 120 spa`,
/// 12 points: 230, 231, 227 and 228 failures in total), and each tangent
/// left out saves a tenth of the decoder's instructions.
const TANGENTS: [(i16, i16); 2] = [
    (
        (0.650_094 * UNITS_PER_NAT) as i16,
        (0.354_344 * 65536.0) as i16,
    ),
    (
        (0.350_774 * UNITS_PER_NAT) as i16,
        (0.112_047 * 65536.0) as i16,
    ),
];

/// c(x) = ln(1 + e^−x) for fixed-point x ≥ 0 as the upper envelope of the
/// [`TANGENTS`] and of 0 (c is convex): at most 0.044 nat below c (the
/// tangents' error), within one unit of rounding either way.
#[inline(always)]
pub(crate) fn corr(x: i16) -> i16 {
    let mut m = 0;
    for &(a, b) in &TANGENTS {
        // x·slope as the high half of the 32-bit product (`pmulhw`).
        let t = a - ((i32::from(x) * i32::from(b)) >> 16) as i16;
        m = m.max(t);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// One decoder unit in nats.
    const UNIT: f64 = 1.0 / UNITS_PER_NAT as f64;

    fn nats(x: i16) -> f64 {
        f64::from(x) * UNIT
    }

    fn exact_boxplus(a: f64, b: f64) -> f64 {
        2.0 * ((a / 2.0).tanh() * (b / 2.0).tanh()).atanh()
    }

    #[test]
    fn quantize_rounds_to_the_unit_and_saturates() {
        assert_eq!(quantize(1.0), 64);
        assert_eq!(quantize(-1.0), -64);
        assert_eq!(quantize(0.5 / 64.0 + 1e-4), 1);
        assert_eq!(quantize(-0.5 / 64.0 - 1e-4), -1);
        assert_eq!(quantize(0.4 / 64.0), 0);
        assert_eq!(quantize(KNOWN_LLR), LLR_MAX);
        assert_eq!(quantize(-KNOWN_LLR), -LLR_MAX);
        assert_eq!(quantize(f32::INFINITY), LLR_MAX);
        assert_eq!(quantize(f32::NAN), 0);
    }

    /// The tangents' envelope is at most 0.044 nat below c; rounding the
    /// intercepts down and the slope products down moves it by less than one
    /// unit either way.
    #[test]
    fn correction_is_a_lower_envelope_within_0_044_and_a_unit() {
        for x in 0..=i16::MAX {
            let c = (-nats(x)).exp().ln_1p();
            let got = nats(corr(x));
            assert!(got <= c + UNIT, "x = {x}: {got} > {c}");
            assert!(c - got <= 0.044 + UNIT, "x = {x}: {got} vs {c}");
        }
    }

    #[test]
    fn boxplus_follows_the_tanh_rule() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..10_000 {
            let (a, b) = (
                quantize(rng.random_range(-12.0f32..12.0)),
                quantize(rng.random_range(-12.0f32..12.0)),
            );
            let want = exact_boxplus(nats(a), nats(b));
            let got = nats(boxplus(a, b));
            assert!(
                (got - want).abs() <= 0.044 + 2.0 * UNIT,
                "{a} ⊞ {b}: {got} vs {want}"
            );
        }
        // A known value dominates: x ⊞ ±KNOWN = ±x.
        let x = quantize(2.5);
        assert_eq!(boxplus(x, quantize(KNOWN_LLR)), x);
        assert_eq!(boxplus(x, quantize(-KNOWN_LLR)), -x);
        // Saturated inputs neither overflow nor lose their sign: x ⊞ x =
        // x − ln 2 for large x.
        assert_eq!(boxplus(i16::MIN, i16::MIN), LLR_MAX - corr(0));
        assert_eq!(boxplus(i16::MIN, LLR_MAX), corr(0) - LLR_MAX);
    }

    /// Random lanes for one layer of `deg` entries × `z` lanes, syndrome
    /// bits alternating.
    fn layer_input(rng: &mut ChaCha8Rng, deg: usize, z: usize) -> (Vec<i16>, Vec<u8>) {
        let t = (0..deg * z)
            .map(|_| quantize(rng.random_range(-6.0..6.0)))
            .collect();
        (t, (0..z).map(|r| (r % 2) as u8).collect())
    }

    /// Checks that `msgs` hold the extrinsic `rule` message for every entry
    /// (sign flipped by the syndrome bit) within `tol(deg)` nats, and that
    /// the posteriors in `lanes` gained exactly that message.
    fn assert_extrinsic(
        t: &[i16],
        syn: &[u8],
        msgs: &[i16],
        lanes: &[i16],
        z: usize,
        rule: impl Fn(&[f64]) -> f64,
        tol: f64,
    ) {
        let deg = t.len() / z;
        for r in 0..z {
            for e in 0..deg {
                let others: Vec<f64> = (0..deg)
                    .filter(|&j| j != e)
                    .map(|j| nats(t[j * z + r]))
                    .collect();
                let mut want = rule(&others);
                if syn[r] == 1 {
                    want = -want;
                }
                let got = nats(msgs[e * z + r]);
                assert!(
                    (got - want).abs() <= tol,
                    "deg {deg} e {e}: {got} vs {want}"
                );
                assert_eq!(lanes[e * z + r], t[e * z + r] + msgs[e * z + r]);
            }
        }
    }

    /// One sum-product layer against the tanh rule over all other inputs,
    /// with the syndrome bit flipping the sign; posteriors gain the message.
    #[test]
    fn sum_product_layer_sends_the_extrinsic_tanh_rule_message() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let z = 3;
        for deg in 2..9 {
            let (t, syn) = layer_input(&mut rng, deg, z);
            let (mut lanes, mut fwd, mut bwd) = (t.clone(), vec![0; deg * z], vec![0; z]);
            let (mut msgs, mut sign) = (vec![0; deg * z], vec![0; z]);
            sum_product(&mut lanes, &mut msgs, &mut fwd, &mut bwd, &mut sign, &syn);
            let tanh_rule = |x: &[f64]| x.iter().copied().reduce(exact_boxplus).unwrap();
            // Box-plus is 1-Lipschitz in each argument: the errors of the
            // deg − 2 pairwise steps add up at most.
            let steps = (deg - 2).max(1) as f64;
            assert_extrinsic(
                &t,
                &syn,
                &msgs,
                &lanes,
                z,
                tanh_rule,
                steps * (0.044 + 2.0 * UNIT),
            );
        }
    }

    /// One normalised min-sum layer: α times the smallest other magnitude,
    /// rounded down to the unit.
    #[test]
    fn min_sum_layer_sends_the_scaled_smallest_other_input() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (z, alpha) = (5, 0.75);
        for deg in 1..9 {
            let (t, syn) = layer_input(&mut rng, deg, z);
            let mut lanes = t.clone();
            let (mut msgs, mut min1, mut min2) = (vec![0; deg * z], vec![0; z], vec![0; z]);
            let mut sign = vec![0; z];
            min_sum(
                &mut lanes, &mut msgs, &mut min1, &mut min2, &mut sign, &syn, alpha,
            );
            let rule = |x: &[f64]| {
                let sg: f64 = x
                    .iter()
                    .map(|v| if *v < 0.0 { -1.0 } else { 1.0 })
                    .product();
                let m = x.iter().map(|v| v.abs()).fold(nats(LLR_MAX), f64::min);
                sg * (f64::from(alpha) * m).min(nats(MAX_MESSAGE))
            };
            assert_extrinsic(&t, &syn, &msgs, &lanes, z, rule, UNIT);
        }
    }

    /// Saturated inputs (known bits, or posteriors at the end of a long
    /// decode) get messages of at most [`MAX_MESSAGE`], with both rules, so
    /// the next pass's extrinsic input of a saturated posterior stays large.
    #[test]
    fn saturated_inputs_get_capped_messages() {
        let (z, deg) = (4, 6);
        let t: Vec<i16> = (0..deg * z)
            .map(|i| if i % 3 == 0 { -LLR_MAX } else { LLR_MAX })
            .collect();
        let syn = vec![0u8, 1, 0, 1];
        for spa in [true, false] {
            let mut lanes = t.clone();
            let mut msgs = vec![0; deg * z];
            let (mut a, mut b, mut sign) = (vec![0; deg * z], vec![0; z], vec![0; z]);
            if spa {
                sum_product(&mut lanes, &mut msgs, &mut a, &mut b, &mut sign, &syn);
            } else {
                min_sum(
                    &mut lanes,
                    &mut msgs,
                    &mut a[..z],
                    &mut b,
                    &mut sign,
                    &syn,
                    1.0,
                );
            }
            for (e, &q) in msgs.iter().enumerate() {
                assert_eq!(q.abs(), MAX_MESSAGE, "spa {spa}: entry {e}");
                assert_eq!(lanes[e], t[e].saturating_add(q));
            }
        }
    }

    /// One known bit that contradicts an otherwise clean frame (n = 16384,
    /// every other bit right at 3 nats) can never be resolved, so the
    /// decoder runs all its iterations with saturated posteriors; the
    /// contradiction must stay local (here: the pinned bit alone in 7 of 8
    /// seeds, 6 wrong bits in one). With messages as wide as the posteriors
    /// it spread to 9–1428 wrong bits on every one of these seeds.
    #[test]
    fn a_contradiction_stays_local_with_saturated_posteriors() {
        let code = super::super::plan::code_by_id(super::super::plan::LONG_ID0).unwrap();
        assert_eq!((code.n(), code.name()), (16384, "PEG n=16384 r050"));
        let mut dec = LayeredDecoder::with_rule(code.clone(), CheckRule::SumProduct);
        let (mut syn, mut word) = (vec![0u8; code.m()], vec![0u8; code.n()]);
        for seed in 0..8 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let alice: Vec<u8> = (0..code.n()).map(|_| rng.random::<bool>() as u8).collect();
            code.syndrome(&alice, &mut syn).unwrap();
            let mut llr: Vec<f32> = alice
                .iter()
                .map(|&b| if b == 0 { 3.0 } else { -3.0 })
                .collect();
            let pinned = rng.random_range(0..code.n());
            llr[pinned] = -llr[pinned].signum() * KNOWN_LLR;
            let st = dec.decode(&llr, &syn, 200, &mut word).unwrap();
            assert!(!st.converged);
            let wrong: Vec<usize> = (0..code.n()).filter(|&v| word[v] != alice[v]).collect();
            assert!(
                wrong.contains(&pinned) && wrong.len() <= 8,
                "seed {seed}: {} wrong bits",
                wrong.len()
            );
        }
    }
}
