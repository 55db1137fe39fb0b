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
//! algorithm for decoding LDPC codes", GLOBECOM 2001). Early termination:
//! after every iteration the hard decisions are checked against the target
//! syndrome.
//!
//! Layout: all Z checks of a layer are updated together. For each edge of
//! the layer the Z variable values are copied out of the rotated column block
//! into a contiguous lane buffer, so every inner loop runs over Z contiguous
//! `f32` lanes (vectorised by the compiler); check-to-variable messages are
//! stored per edge in one contiguous array. Nothing is allocated per call.

use super::codes::QcCode;

/// LLR magnitude used for positions whose value is known (shortened or revealed).
pub const KNOWN_LLR: f32 = 1.0e4;

const SIGN: u32 = 0x8000_0000;

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
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
    /// [`corr`]); measured 2.2 times the time of min-sum per frame
    /// (`benches/ldpc.rs`, n = 1944, rate 1/2, Q = 5 %).
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
    post: Vec<f32>,
    msgs: Vec<f32>,
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
    /// Posterior LLR per variable (`ln P(0)/P(1)`).
    post: Vec<f32>,
    /// Check-to-variable messages, `z` lanes per base-matrix entry, row-major.
    msgs: Vec<f32>,
    /// Lane buffer of the current layer: `z` lanes per entry.
    lanes: Vec<f32>,
    /// Sum-product forward partials t₀ ⊞ … ⊞ t_e: `z` lanes per entry.
    fwd: Vec<f32>,
    /// Sum-product backward partial.
    bwd: Vec<f32>,
    min1: Vec<f32>,
    min2: Vec<f32>,
    sign: Vec<u32>,
    hard: Vec<u8>,
    parity: Vec<u8>,
    /// AVX2 + FMA available at run time (x86-64): the layer update is then
    /// compiled for 8-lane vectors, otherwise for the baseline (SSE2).
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
        LayeredDecoder {
            rule,
            post: vec![0.0; code.n()],
            msgs: vec![0.0; code.edges()],
            lanes: vec![0.0; max_deg * z],
            fwd: vec![0.0; if spa { max_deg * z } else { 0 }],
            bwd: vec![0.0; if spa { z } else { 0 }],
            min1: vec![0.0; z],
            min2: vec![0.0; z],
            sign: vec![0; z],
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

    /// Decodes channel LLRs `llr` (n values, `ln P(0)/P(1)`, positive ⇒ 0)
    /// towards the word with syndrome `syndrome` (m bytes 0/1), running at
    /// most `max_iter` iterations. The hard decisions are left in `out`
    /// (n bytes 0/1) whether or not the decoder converged.
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
        self.post.copy_from_slice(llr);
        self.msgs.fill(0.0);
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

    /// Warm start (blind reconciliation, Martinez-Mateo, Elkouss, Martin,
    /// QIC 12 (2012)): continues decoding from the messages saved in `state`
    /// after the channel LLRs of some variables changed, e.g. punctured
    /// values that Alice revealed. `changes` lists (variable, old LLR, new
    /// LLR); each posterior is shifted by new − old, every check-to-variable
    /// message is kept, and at most `max_iter` further iterations run.
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
            (n, state.post.len()),
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
            let p = self
                .post
                .get_mut(v)
                .ok_or(super::codes::CodeError::Length { want: n, got: v })?;
            *p += new - old;
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
                    // SAFETY: AVX2 and FMA were detected at run time (`has_avx2`).
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

    /// [`Self::layer`] compiled with AVX2/FMA enabled.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn layer_avx2(&mut self, layer: usize, edge0: usize, syn: &[u8]) {
        self.layer(layer, edge0, syn);
    }

    /// One layer update (block row `layer`, whose first entry is `edge0`).
    #[inline(always)]
    fn layer(&mut self, layer: usize, edge0: usize, syn: &[u8]) {
        let z = self.code.z();
        let deg = self.code.row(layer).len();
        // Gather: lanes[e][r] = post[c·z + (r + s) mod z] − msgs[e][r].
        for (e, (c, s)) in self.code.row(layer).enumerate() {
            let col = &self.post[c * z..(c + 1) * z];
            let msg = &self.msgs[(edge0 + e) * z..(edge0 + e + 1) * z];
            let lane = &mut self.lanes[e * z..(e + 1) * z];
            let (head, tail) = col.split_at(s);
            let (l1, l2) = lane.split_at_mut(z - s);
            let (m1, m2) = msg.split_at(z - s);
            for ((l, &p), &q) in l1.iter_mut().zip(tail).zip(m1) {
                *l = p - q;
            }
            for ((l, &p), &q) in l2.iter_mut().zip(head).zip(m2) {
                *l = p - q;
            }
        }
        // New messages into msgs, lanes[e] += message (the new posteriors).
        let msgs = &mut self.msgs[edge0 * z..(edge0 + deg) * z];
        match self.rule {
            CheckRule::SumProduct if deg >= 2 => {
                let (lanes, fwd) = (&mut self.lanes[..deg * z], &mut self.fwd[..]);
                let (bwd, flip) = (&mut self.bwd[..], &mut self.sign[..]);
                #[cfg(target_arch = "x86_64")]
                if self.avx2 {
                    // SAFETY: AVX2 and FMA were detected at run time (`has_avx2`).
                    unsafe { sum_product_avx2(lanes, msgs, fwd, bwd, flip, syn) };
                } else {
                    sum_product(lanes, msgs, fwd, bwd, flip, syn);
                }
                #[cfg(not(target_arch = "x86_64"))]
                sum_product(lanes, msgs, fwd, bwd, flip, syn);
            }
            CheckRule::SumProduct => min_sum(self, edge0, deg, syn, 1.0),
            CheckRule::MinSum { alpha } => min_sum(self, edge0, deg, syn, alpha),
        }
        // Scatter the posteriors back to the columns.
        for (e, (c, s)) in self.code.row(layer).enumerate() {
            let lane = &self.lanes[e * z..(e + 1) * z];
            let col = &mut self.post[c * z..(c + 1) * z];
            let (head, tail) = col.split_at_mut(s);
            let (l1, l2) = lane.split_at(z - s);
            tail.copy_from_slice(l1);
            head.copy_from_slice(l2);
        }
    }

    /// Hard decisions from the posteriors; true if they meet the syndrome.
    fn check(&mut self, syndrome: &[u8]) -> bool {
        let z = self.code.z();
        for (h, &p) in self.hard.iter_mut().zip(&self.post) {
            *h = (p < 0.0) as u8;
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

/// Normalised min-sum check update of one layer (`deg` entries from `edge0`).
#[inline(always)]
fn min_sum(dec: &mut LayeredDecoder, edge0: usize, deg: usize, syn: &[u8], alpha: f32) {
    let z = dec.code.z();
    let LayeredDecoder {
        msgs,
        lanes,
        min1,
        min2,
        sign,
        ..
    } = dec;
    // Two smallest magnitudes and the sign product per check.
    min1.fill(f32::MAX);
    min2.fill(f32::MAX);
    for (sg, &b) in sign.iter_mut().zip(syn) {
        *sg = u32::from(b & 1) << 31;
    }
    for e in 0..deg {
        let lane = &lanes[e * z..(e + 1) * z];
        for (((&t, m1), m2), sg) in lane
            .iter()
            .zip(min1.iter_mut())
            .zip(min2.iter_mut())
            .zip(sign.iter_mut())
        {
            let a = t.abs();
            *sg ^= t.to_bits() & SIGN;
            *m2 = m2.min(m1.max(a));
            *m1 = m1.min(a);
        }
    }
    for e in 0..deg {
        let lane = &mut lanes[e * z..(e + 1) * z];
        let msg = &mut msgs[(edge0 + e) * z..(edge0 + e + 1) * z];
        for ((((t, q), &m1), &m2), &sg) in lane
            .iter_mut()
            .zip(msg.iter_mut())
            .zip(min1.iter())
            .zip(min2.iter())
            .zip(sign.iter())
        {
            let a = t.abs();
            let mag = alpha * if a == m1 { m2 } else { m1 };
            let r = f32::from_bits(mag.to_bits() | ((sg ^ t.to_bits()) & SIGN));
            *q = r;
            *t += r;
        }
    }
}

/// Sum-product check update of one layer: `lanes` holds the layer's
/// deg ≥ 2 entries of z lanes each (z = `bwd.len()`), `msgs` their messages.
/// The message to entry e is (t₀ ⊞ … ⊞ t_{e−1}) ⊞ (t_{e+1} ⊞ … ⊞ t_{deg−1}),
/// sign-flipped where the target syndrome bit is 1; forward partials are
/// stored in `fwd`, the backward partial is carried in `bwd`.
///
/// Not inlined into the layer loop: as a function of its own, its slice
/// arguments are known not to alias, so every loop vectorises over the lanes
/// (inlined, the compiler gave up on the alias checks and ran scalar code).
#[inline(never)]
fn sum_product(
    lanes: &mut [f32],
    msgs: &mut [f32],
    fwd: &mut [f32],
    bwd: &mut [f32],
    flip: &mut [u32],
    syn: &[u8],
) {
    sum_product_body(lanes, msgs, fwd, bwd, flip, syn);
}

/// [`sum_product`] compiled with AVX2/FMA enabled.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline(never)]
unsafe fn sum_product_avx2(
    lanes: &mut [f32],
    msgs: &mut [f32],
    fwd: &mut [f32],
    bwd: &mut [f32],
    flip: &mut [u32],
    syn: &[u8],
) {
    sum_product_body(lanes, msgs, fwd, bwd, flip, syn);
}

#[inline(always)]
#[allow(clippy::needless_range_loop)] // index loops over equal-length slices vectorise
fn sum_product_body(
    lanes: &mut [f32],
    msgs: &mut [f32],
    fwd: &mut [f32],
    bwd: &mut [f32],
    flip: &mut [u32],
    syn: &[u8],
) {
    let z = bwd.len();
    let deg = lanes.len() / z;
    let (flip, syn) = (&mut flip[..z], &syn[..z]);
    for r in 0..z {
        flip[r] = u32::from(syn[r] & 1) << 31;
    }
    fwd[..z].copy_from_slice(&lanes[..z]);
    for e in 1..deg - 1 {
        let (done, next) = fwd.split_at_mut(e * z);
        let (prev, cur, t) = (
            &done[(e - 1) * z..],
            &mut next[..z],
            &lanes[e * z..(e + 1) * z],
        );
        for r in 0..z {
            cur[r] = boxplus(prev[r], t[r]);
        }
    }
    // Last entry: the message is the forward partial of all the others.
    let last = deg - 1;
    {
        let before = &fwd[(last - 1) * z..last * z];
        let lane = &mut lanes[last * z..(last + 1) * z];
        let msg = &mut msgs[last * z..(last + 1) * z];
        bwd.copy_from_slice(lane);
        for r in 0..z {
            let q = f32::from_bits(before[r].to_bits() ^ flip[r]);
            msg[r] = q;
            lane[r] += q;
        }
    }
    for e in (1..last).rev() {
        let before = &fwd[(e - 1) * z..e * z];
        let lane = &mut lanes[e * z..(e + 1) * z];
        let msg = &mut msgs[e * z..(e + 1) * z];
        for r in 0..z {
            let t = lane[r];
            let q = f32::from_bits(boxplus(before[r], bwd[r]).to_bits() ^ flip[r]);
            msg[r] = q;
            bwd[r] = boxplus(bwd[r], t);
            lane[r] = t + q;
        }
    }
    // First entry: the message is the backward partial of all the others.
    let (lane, msg) = (&mut lanes[..z], &mut msgs[..z]);
    for r in 0..z {
        let q = f32::from_bits(bwd[r].to_bits() ^ flip[r]);
        msg[r] = q;
        lane[r] += q;
    }
}

/// a ⊞ b = 2 atanh(tanh(a/2)·tanh(b/2)), as sgn(a)sgn(b)·min(|a|, |b|) +
/// c(|a + b|) − c(|a − b|).
#[inline(always)]
fn boxplus(a: f32, b: f32) -> f32 {
    let (x, y) = (a.abs(), b.abs());
    let m = if x < y { x } else { y };
    let signed = f32::from_bits(m.to_bits() | ((a.to_bits() ^ b.to_bits()) & SIGN));
    signed + corr((a + b).abs()) - corr((a - b).abs())
}

/// c(x) = ln(1 + e^−x) for x ≥ 0 as the upper envelope of its tangents at
/// x = 0.2, 0.8, 1.5, 2.3, 3.3, 4.8 and of 0 (c is convex): never above c,
/// at most 0.0111 below it.
#[inline(always)]
pub(crate) fn corr(x: f32) -> f32 {
    let t0 = 0.688_172 - 0.450_166 * x;
    let t1 = 0.619_121 - 0.310_026 * x;
    let t2 = 0.475_052 - 0.182_426 * x;
    let t3 = 0.305_128 - 0.091_123 * x;
    let t4 = 0.153_604 - 0.035_571 * x;
    let t5 = 0.047_376 - 0.008_163 * x;
    fmax(fmax(fmax(t0, t1), fmax(t2, t3)), fmax(fmax(t4, t5), 0.0))
}

/// max(a, b) for non-NaN inputs as one compare-select (`maxps`); `f32::max`
/// adds NaN handling that costs two more instructions per call.
#[inline(always)]
fn fmax(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn exact_boxplus(a: f64, b: f64) -> f64 {
        2.0 * ((a / 2.0).tanh() * (b / 2.0).tanh()).atanh()
    }

    #[test]
    fn correction_is_a_lower_envelope_within_0_0115() {
        for i in 0..4000 {
            let x = i as f32 * 0.005;
            let c = (-f64::from(x)).exp().ln_1p();
            let got = f64::from(corr(x));
            assert!(got <= c + 1e-6, "x = {x}: {got} > {c}");
            assert!(c - got <= 0.0115, "x = {x}: {got} vs {c}");
        }
    }

    #[test]
    fn boxplus_follows_the_tanh_rule() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..10_000 {
            let (a, b) = (
                rng.random_range(-12.0f32..12.0),
                rng.random_range(-12.0f32..12.0),
            );
            let want = exact_boxplus(f64::from(a), f64::from(b));
            let got = f64::from(boxplus(a, b));
            assert!((got - want).abs() <= 0.025, "{a} ⊞ {b}: {got} vs {want}");
        }
        // A known value dominates: x ⊞ ±KNOWN = ±x.
        assert!((boxplus(2.5, KNOWN_LLR) - 2.5).abs() < 1e-3);
        assert!((boxplus(2.5, -KNOWN_LLR) + 2.5).abs() < 1e-3);
    }

    /// One sum-product layer against the tanh rule over all other inputs,
    /// with the syndrome bit flipping the sign; posteriors gain the message.
    #[test]
    fn sum_product_layer_sends_the_extrinsic_tanh_rule_message() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let z = 3;
        for deg in 2..9 {
            let t: Vec<f32> = (0..deg * z).map(|_| rng.random_range(-6.0..6.0)).collect();
            let syn: Vec<u8> = (0..z).map(|r| (r % 2) as u8).collect();
            let (mut lanes, mut fwd, mut bwd) = (t.clone(), vec![0.0; deg * z], vec![0.0; z]);
            let mut msgs = vec![0.0; deg * z];
            let mut flip = vec![0u32; z];
            sum_product(&mut lanes, &mut msgs, &mut fwd, &mut bwd, &mut flip, &syn);
            for r in 0..z {
                for e in 0..deg {
                    let mut want = (0..deg)
                        .filter(|&j| j != e)
                        .map(|j| f64::from(t[j * z + r]))
                        .reduce(exact_boxplus)
                        .unwrap();
                    if syn[r] == 1 {
                        want = -want;
                    }
                    let got = f64::from(msgs[e * z + r]);
                    assert!(
                        (got - want).abs() <= 0.06,
                        "deg {deg} e {e}: {got} vs {want}"
                    );
                    let post = f64::from(lanes[e * z + r]);
                    assert!((post - f64::from(t[e * z + r]) - got).abs() < 1e-5);
                }
            }
        }
    }
}
