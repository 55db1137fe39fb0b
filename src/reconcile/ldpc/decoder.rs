//! Layered normalised min-sum decoder for quasi-cyclic LDPC codes with a
//! syndrome target (Slepian–Wolf decoding: find the word nearest the channel
//! observation whose syndrome equals Alice's).
//!
//! Schedule: one layer per block row (Hocevar, "A reduced complexity decoder
//! architecture via layered decoding of LDPC codes", SiPS 2004); check update
//! by normalised min-sum (Chen & Fossorier, "Near optimum universal belief
//! propagation based decoding of LDPC codes", IEEE Trans. Commun. 50(3),
//! 2002). Early termination: after every iteration the hard decisions are
//! checked against the target syndrome.
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
    alpha: f32,
    /// Posterior LLR per variable (`ln P(0)/P(1)`).
    post: Vec<f32>,
    /// Check-to-variable messages, `z` lanes per base-matrix entry, row-major.
    msgs: Vec<f32>,
    /// Lane buffer of the current layer: `z` lanes per entry.
    lanes: Vec<f32>,
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
    /// Decoder for `code` with normalisation factor `alpha` (check messages
    /// are scaled by `alpha`; 0.75–0.8 is typical).
    pub fn new(code: QcCode, alpha: f32) -> Self {
        let z = code.z();
        let max_deg = (0..code.block_rows())
            .map(|i| code.row(i).len())
            .max()
            .unwrap_or(0);
        LayeredDecoder {
            alpha,
            post: vec![0.0; code.n()],
            msgs: vec![0.0; code.edges()],
            lanes: vec![0.0; max_deg * z],
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
        let alpha = self.alpha;
        let Self {
            code,
            post,
            msgs,
            lanes,
            min1,
            min2,
            sign,
            ..
        } = self;
        // Gather: lanes[e][r] = post[c·z + (r + s) mod z] − msgs[e][r].
        for (e, (c, s)) in code.row(layer).enumerate() {
            let col = &post[c * z..(c + 1) * z];
            let msg = &msgs[(edge0 + e) * z..(edge0 + e + 1) * z];
            let lane = &mut lanes[e * z..(e + 1) * z];
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
        let deg = code.row(layer).len();
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
        // New messages and posteriors, scattered back to the columns.
        for (e, (c, s)) in code.row(layer).enumerate() {
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
            let col = &mut post[c * z..(c + 1) * z];
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
