//! Exact Toeplitz hashing over GF(2) on bit-packed 64-bit words: a Karatsuba-style split of the
//! Toeplitz matrix–vector product (TMVP) down to small blocks, whose middle products use a
//! carry-less multiply (x86_64 PCLMULQDQ, or a portable constant-time software multiply).
//!
//! # Split (Fan–Hasan, "A new approach to subquadratic space complexity parallel multipliers for
//! extended binary fields", IEEE Trans. Computers 56(2), 2007; the two-way Karatsuba–Ofman step)
//! A square Toeplitz matrix of even size `2m` splits into `m × m` Toeplitz blocks
//! `T = [[T1, T0], [T2, T1]]`, and with `P = T1·(x0 ⊕ x1)`:
//! `y0 = P ⊕ (T0 ⊕ T1)·x1`, `y1 = P ⊕ (T1 ⊕ T2)·x0` — three half-size products instead of four.
//! In the packed layout a Toeplitz block of `B` words is given by `2B` seed words, and the blocks
//! `T0, T1, T2` start at seed words `0, m, 2m`, so every step is word-aligned.
//!
//! A general `n_out × n_in` matrix is cut into a grid of square blocks of `B = c·2^j` words
//! (zero-padding the input and discarding surplus rows), `c ≤ 12`; each block takes `j`
//! Karatsuba steps down to a `c`-word base case, a schoolbook middle product on `c` input words.

use zeroize::Zeroize;

/// Largest base-case block, in 64-bit words (sizes 2..=12 have fixed-size, fully unrolled
/// PCLMULQDQ kernels; measured fastest at 8 words for power-of-two shapes).
const MAX_BASE: usize = 12;

/// Carry-less multiply used by the base case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    /// x86_64 PCLMULQDQ (detected at run time).
    #[cfg(target_arch = "x86_64")]
    Pclmul,
    /// Portable constant-time software multiply ([`clmul64_soft`]).
    Portable,
}

impl Backend {
    /// The hardware multiply if this CPU has one, else the portable one.
    pub(super) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("pclmulqdq") {
                return Backend::Pclmul;
            }
        }
        Backend::Portable
    }
}

/// Block grid for one `(n_in, n_out)` shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Grid {
    /// Base-case size `c` in words.
    base: usize,
    /// Karatsuba levels `j`: the block is `c·2^j` words.
    levels: u32,
    /// Block rows (output direction).
    rows: usize,
    /// Block columns (input direction).
    cols: usize,
}

impl Grid {
    fn block(&self) -> usize {
        self.base << self.levels
    }

    /// Picks `B = c·2^j` minimising a cost model: per block `3^j` base cases of `c·(c + 2)`
    /// word products plus the linear Karatsuba work, times `rows·cols` blocks.
    fn choose(in_words: usize, out_words: usize) -> Self {
        let longest = in_words.max(out_words);
        let mut best: Option<(f64, Grid)> = None;
        for levels in 0..usize::BITS {
            for base in 1..=MAX_BASE {
                let block = base << levels;
                if levels > 0 && block > 2 * longest {
                    continue;
                }
                let grid = Grid {
                    base,
                    levels,
                    rows: out_words.div_ceil(block),
                    cols: in_words.div_ceil(block),
                };
                let cost = (grid.rows * grid.cols) as f64 * block_cost(base, levels);
                if best.is_none_or(|(c, _)| cost < c) {
                    best = Some((cost, grid));
                }
            }
            if (1usize << levels) > 2 * longest {
                break;
            }
        }
        // `levels = 0, base = 1` is always a candidate, so `best` is set.
        best.map_or(
            Grid {
                base: 1,
                levels: 0,
                rows: out_words,
                cols: in_words,
            },
            |(_, g)| g,
        )
    }
}

/// Cost model of one block, in units of one 64×64 carry-less product.
fn block_cost(base: usize, levels: u32) -> f64 {
    // Base case: about c·(c + 2) products plus call overhead; each level adds ~5 word XORs per
    // word of its block size (counted as 0.25 product each).
    let mut cost = (base * (base + 2)) as f64 + 4.0;
    let mut size = base as f64;
    for _ in 0..levels {
        size *= 2.0;
        cost = 3.0 * cost + 1.25 * size;
    }
    cost
}

/// Exact carry-less Toeplitz hasher for one shape: packed buffers and the block grid.
pub(super) struct ClmulEngine {
    n_in: usize,
    n_out: usize,
    grid: Grid,
    backend: Backend,
    seed_words: Vec<u64>,
    x_words: Vec<u64>,
    y_words: Vec<u64>,
    scratch: Vec<u64>,
}

impl ClmulEngine {
    /// Buffers for `n_in → n_out` bits (any positive sizes; `n_out > n_in` works too).
    pub(super) fn new(n_in: usize, n_out: usize, backend: Backend) -> Self {
        let grid = Grid::choose(n_in.div_ceil(64), n_out.div_ceil(64));
        let block = grid.block();
        Self {
            n_in,
            n_out,
            grid,
            backend,
            seed_words: vec![0; (grid.rows + grid.cols) * block],
            x_words: vec![0; grid.cols * block],
            y_words: vec![0; grid.rows * block],
            // Level of size N uses 3N/2 words, so all levels together stay below 3N.
            scratch: vec![0; 3 * block],
        }
    }

    /// The carry-less multiply in use.
    pub(super) fn backend(&self) -> Backend {
        self.backend
    }

    /// `(block words, base words, rows, cols)` of the chosen grid.
    #[cfg(test)]
    pub(super) fn grid(&self) -> (usize, usize, usize, usize) {
        (
            self.grid.block(),
            self.grid.base,
            self.grid.rows,
            self.grid.cols,
        )
    }

    /// `out = T·input` with `T[i][j] = seed[i − j + n_in − 1]`. Lengths and 0/1 values must
    /// already be checked (`seed.len() = n_in + n_out − 1`, `input.len() = n_in`).
    pub(super) fn hash(&mut self, seed: &[u8], input: &[u8], out: &mut Vec<u8>) {
        let block = self.grid.block();
        let (rows, cols) = (self.grid.rows, self.grid.cols);
        let bits = 64 * block;
        // Packed seed bit p = seed[p − lead]: block (R, C) then starts at word (R − C + cols − 1)·B.
        let lead = cols * bits - self.n_in;
        pack_bits(seed, lead, &mut self.seed_words);
        pack_bits(input, 0, &mut self.x_words);
        self.y_words.fill(0);
        for r in 0..rows {
            let y = &mut self.y_words[r * block..(r + 1) * block];
            for c in 0..cols {
                let start = (r + cols - 1 - c) * block;
                tmvp_acc(
                    self.backend,
                    self.grid.base,
                    &self.seed_words[start..start + 2 * block],
                    &self.x_words[c * block..(c + 1) * block],
                    y,
                    &mut self.scratch,
                );
            }
        }
        unpack_bits(&self.y_words, self.n_out, out);
    }
}

impl Drop for ClmulEngine {
    fn drop(&mut self) {
        self.seed_words.zeroize();
        self.x_words.zeroize();
        self.y_words.zeroize();
        self.scratch.zeroize();
    }
}

/// `y ^= T·x` for the square Toeplitz matrix of `x.len()` words given by the `2·x.len()` words
/// `s` (bit `t` of `s` is `σ[t]`, `T[i][j] = σ[i − j + 64·x.len() − 1]`; the top bit is unused).
/// `x.len()` must be `base·2^j`; `scratch` needs `3·x.len()/2` words or more.
fn tmvp_acc(
    backend: Backend,
    base: usize,
    s: &[u64],
    x: &[u64],
    y: &mut [u64],
    scratch: &mut [u64],
) {
    let n = x.len();
    if n <= base {
        base_case(backend, s, x, y);
        return;
    }
    let m = n / 2;
    let (ss, rest) = scratch.split_at_mut(2 * m);
    let (xs, rest) = rest.split_at_mut(m);
    let (x0, x1) = x.split_at(m);
    let (y0, y1) = y.split_at_mut(m);
    // P = T1·(x0 ⊕ x1) is added to both halves: fold y0 into y1, add P to y0, unfold.
    xor3(xs, x0, x1);
    xor_acc(y1, y0);
    tmvp_acc(backend, base, &s[m..3 * m], xs, y0, rest);
    xor_acc(y1, y0);
    // y0 ^= (T0 ⊕ T1)·x1, y1 ^= (T1 ⊕ T2)·x0.
    xor3(ss, &s[..2 * m], &s[m..3 * m]);
    tmvp_acc(backend, base, ss, x1, y0, rest);
    xor3(ss, &s[m..3 * m], &s[2 * m..4 * m]);
    tmvp_acc(backend, base, ss, x0, y1, rest);
}

fn xor3(dst: &mut [u64], a: &[u64], b: &[u64]) {
    for ((d, &a), &b) in dst.iter_mut().zip(a).zip(b) {
        *d = a ^ b;
    }
}

fn xor_acc(dst: &mut [u64], a: &[u64]) {
    for (d, &a) in dst.iter_mut().zip(a) {
        *d ^= a;
    }
}

fn base_case(backend: Backend, s: &[u64], x: &[u64], y: &mut [u64]) {
    match backend {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Backend::Pclmul` is only constructed after `is_x86_feature_detected!("pclmulqdq")`
        // returned true, so the CPU supports the instructions `base_pclmul` is compiled for.
        Backend::Pclmul => unsafe {
            match x.len() {
                2 => base_pclmul_fixed::<2>(s, x, y),
                3 => base_pclmul_fixed::<3>(s, x, y),
                4 => base_pclmul_fixed::<4>(s, x, y),
                5 => base_pclmul_fixed::<5>(s, x, y),
                6 => base_pclmul_fixed::<6>(s, x, y),
                7 => base_pclmul_fixed::<7>(s, x, y),
                8 => base_pclmul_fixed::<8>(s, x, y),
                9 => base_pclmul_fixed::<9>(s, x, y),
                10 => base_pclmul_fixed::<10>(s, x, y),
                11 => base_pclmul_fixed::<11>(s, x, y),
                12 => base_pclmul_fixed::<12>(s, x, y),
                _ => base_pclmul(s, x, y),
            }
        },
        Backend::Portable => base_portable(s, x, y),
    }
}

/// Schoolbook middle product with the software multiply. Same contract as [`base_pclmul`].
fn base_portable(s: &[u64], x: &[u64], y: &mut [u64]) {
    let c = x.len();
    // r[q] is word q + c − 2 of the product s·x (words c − 2 ..= 2c are needed).
    let mut r = [0u64; MAX_BASE + 3];
    for (j, &xj) in x.iter().enumerate() {
        let w_lo = c.saturating_sub(j + 2);
        for (w, &sw) in s.iter().enumerate().take(2 * c - j).skip(w_lo) {
            let (lo, hi) = clmul64_soft(sw, xj);
            let q = w + j + 2 - c;
            r[q] ^= lo;
            r[q + 1] ^= hi;
        }
    }
    // y word i = product bits 64(c − 1 + i) + 63 ..: words c − 1 + i and c + i, shifted by 63.
    for (i, yi) in y.iter_mut().enumerate() {
        *yi ^= (r[i + 1] >> 63) | (r[i + 2] << 1);
    }
}

/// `y ^= T·x` for a square Toeplitz block of `c = x.len() ≤ MAX_BASE` words given by the `2c`
/// words `s`: the middle `c` words (from bit `64c − 1`) of the carry-less product `s·x`.
///
/// # Safety
/// The CPU must support PCLMULQDQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
unsafe fn base_pclmul(s: &[u64], x: &[u64], y: &mut [u64]) {
    use std::arch::x86_64::{
        __m128i, _mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_cvtsi64_si128, _mm_setzero_si128,
        _mm_unpackhi_epi64, _mm_xor_si128,
    };
    let c = x.len();
    let mut sv = [_mm_setzero_si128(); 2 * MAX_BASE];
    for (v, &w) in sv.iter_mut().zip(s) {
        *v = _mm_cvtsi64_si128(w as i64);
    }
    let mut xv = [_mm_setzero_si128(); MAX_BASE];
    for (v, &w) in xv.iter_mut().zip(x) {
        *v = _mm_cvtsi64_si128(w as i64);
    }
    let (sv, xv) = (&sv[..2 * c], &xv[..c]);
    // One accumulator per product word position p = w + j (c − 2 ..= 2c − 1): a single XOR chain
    // (1-cycle latency) over independent multiplies.
    let position = |p: usize| -> __m128i {
        let j_lo = p.saturating_sub(2 * c - 1);
        let j_hi = p.min(c - 1);
        let mut acc = _mm_setzero_si128();
        for (&sw, &xj) in sv[p - j_hi..=p - j_lo].iter().rev().zip(&xv[j_lo..=j_hi]) {
            acc = _mm_xor_si128(acc, _mm_clmulepi64_si128::<0x00>(sw, xj));
        }
        acc
    };
    let lo = |v: __m128i| _mm_cvtsi128_si64(v) as u64;
    let hi = |v: __m128i| _mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)) as u64;
    // Product word r is lo(A[r]) ^ hi(A[r − 1]); y word i takes words c − 1 + i and c + i
    // shifted by 63. Position c − 2 exists only for c ≥ 2 (for c = 1 its term is zero).
    let mut a_prev = if c >= 2 {
        position(c - 2)
    } else {
        _mm_setzero_si128()
    };
    let mut a_cur = position(c - 1);
    let mut word_prev = lo(a_cur) ^ hi(a_prev);
    for (i, yi) in y.iter_mut().enumerate() {
        a_prev = a_cur;
        a_cur = if c + i < 2 * c {
            position(c + i)
        } else {
            _mm_setzero_si128()
        };
        let word = lo(a_cur) ^ hi(a_prev);
        *yi ^= (word_prev >> 63) | (word << 1);
        word_prev = word;
    }
}

/// [`base_pclmul`] for a compile-time block size `C` (2 ≤ C ≤ MAX_BASE): every loop has
/// constant bounds, so it unrolls into straight-line code with the `C + 2` accumulators held in
/// registers.
///
/// # Safety
/// The CPU must support PCLMULQDQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
// Index loops over constant ranges: the form LLVM reliably unrolls into straight-line code.
#[allow(clippy::needless_range_loop)]
unsafe fn base_pclmul_fixed<const C: usize>(s: &[u64], x: &[u64], y: &mut [u64]) {
    use std::arch::x86_64::{
        __m128i, _mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_cvtsi64_si128, _mm_setzero_si128,
        _mm_unpackhi_epi64, _mm_xor_si128,
    };
    let (s, x, y) = (&s[..2 * C], &x[..C], &mut y[..C]);
    // acc[q]: partial products at word position q + C − 2.
    let mut acc: [__m128i; MAX_BASE + 2] = [_mm_setzero_si128(); MAX_BASE + 2];
    for j in 0..C {
        let xv = _mm_cvtsi64_si128(x[j] as i64);
        for w in 0..2 * C {
            if w + j + 2 >= C && w + j < 2 * C {
                let q = w + j + 2 - C;
                let sw = _mm_cvtsi64_si128(s[w] as i64);
                acc[q] = _mm_xor_si128(acc[q], _mm_clmulepi64_si128::<0x00>(sw, xv));
            }
        }
    }
    let lo = |v: __m128i| _mm_cvtsi128_si64(v) as u64;
    let hi = |v: __m128i| _mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)) as u64;
    for i in 0..C {
        // Product words C − 1 + i and C + i, i.e. acc indices i + 1 and i + 2.
        let w0 = lo(acc[i + 1]) ^ hi(acc[i]);
        let w1 = lo(acc[i + 2]) ^ hi(acc[i + 1]);
        y[i] ^= (w0 >> 63) | (w1 << 1);
    }
}

/// Portable constant-time 64×64 → 128-bit carry-less multiply, returned as `(low, high)` words.
///
/// Integer multiplication with "holes": the operands are split into five bit classes
/// `{k : k ≡ r (mod 5)}` of at most 13 bits, so in each integer partial product the coefficient
/// sums (≤ 13 < 2⁵) cannot carry into the next position of the same class; masking each class
/// keeps the carry-free parities (cf. Pornin, BearSSL `ghash_ctmul64.c`, which uses four classes
/// on 32-bit halves).
pub(super) fn clmul64_soft(a: u64, b: u64) -> (u64, u64) {
    const M64: [u64; 5] = [
        class_mask(0) as u64,
        class_mask(1) as u64,
        class_mask(2) as u64,
        class_mask(3) as u64,
        class_mask(4) as u64,
    ];
    const M128: [u128; 5] = [
        class_mask(0),
        class_mask(1),
        class_mask(2),
        class_mask(3),
        class_mask(4),
    ];
    let mut z = [0u128; 5];
    for (r, &ma) in M64.iter().enumerate() {
        let ar = u128::from(a & ma);
        for (s, &mb) in M64.iter().enumerate() {
            z[(r + s) % 5] ^= ar * u128::from(b & mb);
        }
    }
    let prod = z
        .iter()
        .zip(M128)
        .fold(0u128, |acc, (&zt, mt)| acc | (zt & mt));
    (prod as u64, (prod >> 64) as u64)
}

/// Bits `k < 128` with `k ≡ t (mod 5)`.
const fn class_mask(t: u32) -> u128 {
    let mut m = 0u128;
    let mut k = t;
    while k < 128 {
        m |= 1 << k;
        k += 5;
    }
    m
}

/// Packs 0/1 bytes into words: bit `p` of `words` is `bits[p − lead]` (0 outside `bits`).
fn pack_bits(bits: &[u8], lead: usize, words: &mut [u64]) {
    words.fill(0);
    // Whole leading zero words, then bit offset `lead % 64` inside the first word.
    let skip = lead / 64;
    let shift = lead % 64;
    let Some(dst) = words.get_mut(skip..) else {
        return;
    };
    let mut chunks = bits.chunks_exact(64);
    let mut w = 0;
    for chunk in &mut chunks {
        let v = pack64(chunk);
        // With shift = 0 the high part `v >> 64` is 0 (checked shift).
        dst[w] |= v << shift;
        if shift != 0 {
            dst[w + 1] |= v >> (64 - shift);
        }
        w += 1;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let v = tail
            .iter()
            .enumerate()
            .fold(0u64, |acc, (k, &b)| acc | (u64::from(b) << k));
        dst[w] |= v << shift;
        if shift != 0 && w + 1 < dst.len() {
            dst[w + 1] |= v >> (64 - shift);
        }
    }
}

/// 64 bytes of 0/1 → one word (byte k → bit k).
fn pack64(chunk: &[u8]) -> u64 {
    let mut v = 0u64;
    for (k, eight) in chunk.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(eight);
        // Big-endian load puts byte t at bits 8(7 − t); the multiply gathers bit 8(7 − t) to
        // bit 63 − (7 − t) = 56 + t without carries (all partial terms land on distinct bits).
        let gathered = u64::from_be_bytes(b).wrapping_mul(0x8040_2010_0804_0201) >> 56;
        v |= gathered << (8 * k);
    }
    v
}

/// Unpacks the first `n` bits of `words` into `out` (cleared first), one 0/1 byte per bit.
fn unpack_bits(words: &[u64], n: usize, out: &mut Vec<u8>) {
    out.clear();
    out.resize(n.div_ceil(8) * 8, 0);
    let bytes = words.iter().flat_map(|w| w.to_le_bytes());
    for (dst, byte) in out.chunks_exact_mut(8).zip(bytes) {
        // Spread bit k of `byte` to byte k: replicate, select bit k in byte k, normalise to 0/1.
        let t = (u64::from(byte) * 0x0101_0101_0101_0101) & 0x8040_2010_0804_0201;
        let spread = ((t + 0x7f7f_7f7f_7f7f_7f7f) >> 7) & 0x0101_0101_0101_0101;
        dst.copy_from_slice(&spread.to_le_bytes());
    }
    out.truncate(n);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn clmul_ref(a: u64, b: u64) -> u128 {
        (0..64)
            .filter(|k| (b >> k) & 1 == 1)
            .fold(0u128, |acc, k| acc ^ (u128::from(a) << k))
    }

    fn backends() -> Vec<Backend> {
        let mut v = vec![Backend::Portable];
        if Backend::detect() != Backend::Portable {
            v.push(Backend::detect());
        }
        v
    }

    /// Reference without the `n_out ≤ n_in` restriction of the public API.
    fn naive(seed: &[u8], x: &[u8], n_out: usize) -> Vec<u8> {
        let n_in = x.len();
        (0..n_out)
            .map(|i| (0..n_in).fold(0, |acc, j| acc ^ (seed[i + n_in - 1 - j] & x[j])))
            .collect()
    }

    #[test]
    fn soft_clmul_matches_shift_xor() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut cases = vec![
            (0, 0),
            (u64::MAX, u64::MAX),
            (1, u64::MAX),
            (1 << 63, 1 << 63),
        ];
        cases.extend((0..2000).map(|_| (rng.random(), rng.random())));
        for (a, b) in cases {
            let (lo, hi) = clmul64_soft(a, b);
            assert_eq!(
                u128::from(lo) | u128::from(hi) << 64,
                clmul_ref(a, b),
                "{a:x} {b:x}"
            );
        }
    }

    #[test]
    fn pack_and_unpack_round_trip_with_offsets() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for len in [0usize, 1, 7, 63, 64, 65, 200, 513] {
            let bits: Vec<u8> = (0..len).map(|_| rng.random_range(0..2u8)).collect();
            for lead in [0, 1, 37, 63, 64, 130] {
                let mut words = vec![u64::MAX; (len + lead).div_ceil(64) + 1];
                pack_bits(&bits, lead, &mut words);
                for p in 0..64 * words.len() {
                    let want = p
                        .checked_sub(lead)
                        .and_then(|i| bits.get(i))
                        .copied()
                        .unwrap_or(0);
                    assert_eq!(
                        (words[p / 64] >> (p % 64)) as u8 & 1,
                        want,
                        "len {len} lead {lead} p {p}"
                    );
                }
            }
            let mut words = vec![0u64; len.div_ceil(64)];
            pack_bits(&bits, 0, &mut words);
            let mut back = vec![9u8; 3];
            unpack_bits(&words, len, &mut back);
            assert_eq!(back, bits);
        }
    }

    /// Every base-case size (fixed-size and run-time-size PCLMULQDQ kernels) against the
    /// portable one, and the portable one against a bit-level reference at c = 1..=3.
    #[test]
    fn base_cases_agree_for_every_size() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xBA5E);
        for c in 1..=MAX_BASE {
            for _ in 0..20 {
                let s: Vec<u64> = (0..2 * c).map(|_| rng.random()).collect();
                let x: Vec<u64> = (0..c).map(|_| rng.random()).collect();
                let y0: Vec<u64> = (0..c).map(|_| rng.random()).collect();
                let mut want = y0.clone();
                base_portable(&s, &x, &mut want);
                if c <= 3 {
                    let bit = |v: &[u64], k: usize| ((v[k / 64] >> (k % 64)) & 1) as u8;
                    let n = 64 * c;
                    for i in 0..n {
                        let row =
                            (0..n).fold(0, |acc, j| acc ^ (bit(&s, i + n - 1 - j) & bit(&x, j)));
                        assert_eq!(bit(&want, i), bit(&y0, i) ^ row, "c = {c}, bit {i}");
                    }
                }
                for backend in backends() {
                    let mut got = y0.clone();
                    base_case(backend, &s, &x, &mut got);
                    assert_eq!(got, want, "{backend:?}, c = {c}");
                }
            }
        }
    }

    #[test]
    fn grid_covers_shape() {
        for (i, o) in [
            (1, 1),
            (1, 9),
            (9, 1),
            (16384, 8192),
            (47, 40),
            (1000, 3),
            (5, 5000),
        ] {
            let g = Grid::choose(i, o);
            assert!(g.base <= MAX_BASE);
            assert!(
                g.rows * g.block() >= o && g.cols * g.block() >= i,
                "{i} {o} {g:?}"
            );
        }
        // Powers of two split evenly into square power-of-two-sized blocks.
        let g = Grid::choose(16384, 8192);
        assert_eq!((g.block(), g.rows, g.cols), (8192, 1, 2));
    }

    /// Every backend against the reference, including shapes the public API rejects (ℓ > n).
    #[test]
    fn engine_matches_naive_on_many_shapes() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xC1C1);
        let shapes = [
            (1, 1),
            (1, 5),
            (2, 1),
            (63, 64),
            (64, 64),
            (65, 1),
            (100, 300),
            (129, 127),
            (640, 64),
            (1000, 999),
            (1500, 700),
            (2048, 1024),
            (3001, 2500),
            (4097, 1),
        ];
        for backend in backends() {
            for &(n_in, n_out) in &shapes {
                let mut e = ClmulEngine::new(n_in, n_out, backend);
                let mut out = Vec::new();
                for _ in 0..2 {
                    let seed: Vec<u8> = (0..n_in + n_out - 1)
                        .map(|_| rng.random_range(0..2u8))
                        .collect();
                    let x: Vec<u8> = (0..n_in).map(|_| rng.random_range(0..2u8)).collect();
                    e.hash(&seed, &x, &mut out);
                    assert_eq!(
                        out,
                        naive(&seed, &x, n_out),
                        "{backend:?} ({n_in}, {n_out}) grid {:?}",
                        e.grid()
                    );
                }
            }
        }
    }
}
