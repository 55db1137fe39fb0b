//! Frame plan and rate adaptation, computed identically by both sides from
//! public data (string length, q̂, shared seed).
//!
//! The block of N bits is spread over F frames of one mother code of length
//! n (a seeded permutation of the block, so neighbouring, correlated bits land
//! in different frames). A frame carries x ≈ N/F key bits; its other
//! d = n − x positions are *punctured* (p positions filled by Alice with
//! private random bits, unknown to Bob: LLR 0) or *shortened* (s positions
//! filled with public pseudo-random bits: LLR ±∞). Alice discloses the m
//! syndrome bits; since the punctured bits are uniform and private, the
//! leakage about the key is m − p (Elkouss, Martinez-Mateo, Martin,
//! "Information reconciliation for QKD", QIC 11 (2011), arXiv:1007.1616).
//!
//! Rate choice: each mother code has a measured start efficiency f₀
//! ([`START_EFFICIENCIES`], the efficiency at which it decodes at its native
//! rate); the first attempt leaks m − p = f₀·x·h2(q̂), so p = m − f₀·x·h2(q̂),
//! s = d − p. The family is the 802.11n code of the largest length that fits
//! the block; within it the code of lowest f₀ for which some modulation
//! fraction δ = d/n in [5 %, 30 %] gives 0 ≤ p ≤ d, at the smallest such δ. Blocks of at
//! least [`LONG_MIN_BITS`] bits use the n = 16384 PEG family, blocks of at
//! least [`N64K_MIN_BITS`] the n = 65536 one, blocks of at least
//! [`N256K_MIN_BITS`] the n = 262144 one and blocks of at least
//! [`N1M_MIN_BITS`] the n = 2^20 one ([`super::long`]) instead, with the
//! same rule; from [`N4M_MIN_BITS`] the n = 2^22 codes join the n = 2^20
//! ones as candidates (the rule then compares planned efficiencies across
//! the two lengths).
//!
//! Which positions: each frame's slots are a seeded permutation of the n
//! positions, punctured first, then shortened, then key slots. On the
//! n = 262144, 2^20 and 2^22 codes the punctured ones are untainted degree-2 positions as
//! far as they go ([`untainted_degree2_first`]); elsewhere all are random.
//!
//! Blind rounds (Martinez-Mateo, Elkouss, Martin, "Blind reconciliation",
//! QIC 12 (2012), arXiv:1205.5729): when Bob's decoder fails on a frame,
//! Alice reveals the values of the next `step` punctured positions (after
//! those, key positions); every revealed value is one more leaked bit. Step:
//! 2.5 % of x·h2(q̂) per round (at least 4 bits), or a quarter of what the
//! frame has revealed so far once that is more; a frame that still fails
//! after revealing its punctured bits and a quarter of its key bits, or once
//! its leakage reaches [`MAX_EFFICIENCY`]·x·h2(q̂), fails the reconciliation.
//! Bob warm-starts the decoder of a failing frame from its previous attempt
//! ([`super::decoder::LayeredDecoder::resume`]) and decodes it cold when the
//! warm start fails (a warm start can stay caught where the previous
//! attempt stalled).

use super::codes::{Length, QcCode, Rate};
use super::long::{long_code, LongCode, LONG_CODES, LONG_N, N1M, N256K, N4M, N64K};
use super::puncture::untainted_degree2_first;
use crate::reconcile::binary_entropy;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Measured starting efficiency f₀ of the blind protocol per mother code
/// (index = wire id, see [`code_by_id`]): the smallest f = (1 − R)/h2(p) on
/// the grid 1.05, 1.1, …, 1.4, 1.5, 1.6, 1.8 at which the code decoded at
/// least 59 of 60 BSC(p) frames at its native rate with the production
/// decoder ([`super::CHECK_RULE`], sum-product, 50 iterations;
/// `cargo run --release --example ldpc_native_fer -- 60 spa`, tables in
/// `docs/ldpc-long-codes.md`), and at every grid point above it. Codes that
/// still failed more than 1 in 60 at f = 1.8 (the 802.11n rate-5/6 and
/// the short rate-3/4 codes) get 1.9. With min-sum (and r067's earlier
/// hand-picked profile) these were 1.2, 1.3, 1.4, 1.5 for the long codes
/// and 1.4 for n = 1944 rate 1/2.
pub const START_EFFICIENCIES: [f64; CODES] = by_wire_id(
    [
        // 802.11n n = 648: R = 1/2, 2/3, 3/4, 5/6
        1.4, 1.6, 1.9, 1.9, //
        // n = 1296
        1.4, 1.6, 1.8, 1.9, //
        // n = 1944
        1.25, 1.5, 1.8, 1.9, //
        // n = 16384 QC-PEG r050, r067, r075, r083 (r067, r075, r083: DE profiles)
        1.15, 1.2, 1.2, 1.25, //
    ],
    // n = 65536 QC-PEG 64k-r050, r060, r070, r080, r085, r078 (DE profiles)
    F64K,
    // n = 262144: the same base graphs lifted with Z = 1024
    F256K,
    // n = 2^20: lifted with Z = 4096
    F1M,
    // n = 2^20 only: 1M-r075, r066, r062, r055, r082
    F1M_MORE,
    // n = 2^22: 4M-r085, r082, r080, r078
    F4M,
    // 1M-r084, 4M-r084, 1M-r085w, 4M-r085w
    [F_R084[0], F_R084[1], F_R085W[0], F_R085W[1]],
);

/// One start efficiency per wire id: the 16 codes of ids 0..16, then the
/// n = 65536 family (ids 16..22), the n = 262144 one (ids 22..28), the
/// n = 2^20 one (ids 28..34), the n = 2^20 members added in session 23
/// (ids 34..39), the n = 2^22 family (ids 39..43) and the members appended
/// since (ids 43..47: 1M-r084 and 4M-r084 of session 25, the wide-base
/// 1M-r085w and 4M-r085w of session 26).
const fn by_wire_id(
    short: [f64; 16],
    n64k: [f64; 6],
    n256k: [f64; 6],
    n1m: [f64; 6],
    n1m_more: [f64; 5],
    n4m: [f64; 4],
    appended: [f64; 4],
) -> [f64; CODES] {
    let mut table = [0.0; CODES];
    let mut i = 0;
    while i < 16 {
        table[i] = short[i];
        i += 1;
    }
    let mut j = 0;
    while j < 6 {
        table[16 + j] = n64k[j];
        table[22 + j] = n256k[j];
        table[28 + j] = n1m[j];
        j += 1;
    }
    let mut k = 0;
    while k < 5 {
        table[34 + k] = n1m_more[k];
        k += 1;
    }
    let mut l = 0;
    while l < 4 {
        table[39 + l] = n4m[l];
        l += 1;
    }
    let mut a = 0;
    while a < 4 {
        table[43 + a] = appended[a];
        a += 1;
    }
    table
}

/// Mother codes with a wire id: the twelve 802.11n codes and [`LONG_CODES`].
const CODES: usize = LONG_ID0 as usize + LONG_CODES.len();

/// Start efficiencies of the n = 65536 codes (64k-r050, r060, r070, r080,
/// r085). Since session 14 four of them are laid out by the configuration
/// model ([`super::peg::Layout::Random`]) and decoded with up to
/// [`super::long::LONG_ITERATIONS`] iterations. At the native rate
/// (sum-product, 150 iterations, 200 BSC frames; `QWAVE_ITERS=150
/// QWAVE_CODES=64k ldpc_native_fer 200 spa`) r050 first decodes every frame at
/// f = 1.07 and r070 at 1.09 (1 failure of 200 at 1.10); 100 frames give r080
/// 1.12 and r085 1.2 (2 of 100 fail at 1.15). In the full blind protocol
/// (1000 frames, `n64k_bsc`), r080 at 1.12 served Q = 2 % at f = 1.154
/// with only 82.2 % of blocks within 3 messages; at 1.15, 1.178 with 97.4 %,
/// so it stays at 1.15. r060 (session 15: density-evolution profile, f* =
/// 1.022, [`super::peg::Layout::StaircaseRandom`]) decodes all 200 frames
/// from f = 1.08 (37 and 10 failures at 1.06 and 1.07). Entered at 1.08 it
/// serves Q = 7 % and 8 % (1000 frames: f = 1.092 and 1.085, FER 0, 99.8 %
/// and 99.4 % within 3 messages; the old staircase r060 entered at 1.15 left
/// them to r070 and r050 at 1.101 and 1.124, one failed frame each) and
/// leaves Q = 2, 5, 10 % unchanged. (The old r060 was entered at 1.15, not
/// its measured 1.10: at 1.10 the planner took it for Q = 10 % blocks, 23 %
/// shortened, and 37 % of those frames needed blind rounds.)
/// Session 16: since Bob asks for his least reliable positions in blind
/// rounds (hard input), a frame that fails its first attempt nearly always
/// decodes after one round, so r050 and r060 start lower. Full blind
/// protocol, 1000 frames each, FER 0: r050 at 1.04 serves Q = 10 % at
/// f = 1.057 with 98.3 % of blocks within 3 messages (at 1.05: 1.065,
/// 99.6 %; at 1.07: 1.081, 100 %); r060 at 1.07 serves Q = 7 % and 8 % at
/// 1.084 and 1.074 with 98.5 % and 95.3 % within 3. r070 stays: started
/// at 1.06, one Q = 5 % frame of 300 converged to another word with the
/// same syndrome (its hash failed). r080 stays: its punctured frames at
/// Q = 2 % need 1.15 (at 1.09: f = 1.144 with 3.87 messages per block,
/// 49.7 % within 3).
const F64K: [f64; 6] = [1.04, 1.07, 1.09, 1.15, 1.2, 1.12];

/// Start efficiencies of the n = 262144 codes (256k-r050, r060, r070, r080,
/// r085, r078; session 17). At the native rate (sum-product, 150
/// iterations, 200 BSC frames; `QWAVE_ITERS=150 QWAVE_CODES=256k
/// ldpc_native_fer 200 spa`) r050 fails 16 / 3 frames at f = 1.03 / 1.035,
/// r060 57 / 3 / 0 at 1.05 / 1.06 / 1.07, r070 7 / 2 / 0 at 1.05 / 1.06 /
/// 1.07, r080 16 / 1 / 0 at 1.06 / 1.08 / 1.10, r085 16 / 1 / 0 at 1.08 /
/// 1.10 / 1.12, r078 9 / 0 at 1.06 / 1.08. With targeted reveals a start
/// where a few per cent fail costs less than a safe one. Full blind
/// protocol with [`SHORTEN_PENALTY_LONGEST`] (`n256k_bsc`, 1000 frames, FER
/// 0): Q = 10 % at f = 1.045 with 99.9 % of blocks within 3 messages (r050
/// at 1.03: 1.050, 100 %); Q = 5 % at 1.063 (98.4 %); Q = 2 % at 1.100
/// (99.0 %). Since session 18 these plans puncture untainted degree-2
/// positions ([`untainted_degree2_first`]), and r070 starts at 1.045
/// instead of 1.05: Q = 5 % at 1.058 (99.0 %; 1.05 gave 1.063 with 99.5 %,
/// 1.04 gave 1.054 with 97.4 %); Q = 2 / 10 % unchanged in f (99.2 / 99.8 %).
const F256K: [f64; 6] = [1.025, 1.06, 1.045, 1.07, 1.09, 1.07];

/// Start efficiencies of the n = 2^20 codes (1M-r050, r060, r070, r080,
/// r085, r078; session 19). At the native rate (sum-product, 150
/// iterations, 100 BSC frames; `QWAVE_ITERS=150 QWAVE_CODES=1M-r070
/// ldpc_native_fer 100 spa`) r050 fails 100 / 90 / 11 / 0 frames at
/// f = 1.015 / 1.02 / 1.025 / 1.03, r070 49 / 9 / 1 at 1.035 / 1.04 / 1.045,
/// r085 31 / 14 / 6 / 0 at 1.06 / 1.065 / 1.07 / 1.075. Full blind protocol
/// (`n1m_bsc`, 1000 frames, FER 0): r070 at 1.04 / 1.035 served Q = 5 % at
/// f = 1.053 / 1.049 (98.7 % of blocks within 3 messages both); r085 at
/// 1.07 / 1.06 Q = 2 % at 1.080 (100 %) / 1.070 (98.7 %); r050 at
/// 1.03 / 1.025 Q = 10 % at 1.050 / 1.046 (98.9 % both). r060, r080 and
/// r078 were not measured: they start 0.01 below their n = 262144 values.
/// Session 22 rebuilt r050 (heavier degree-2 codewords), r070 and r085
/// (degree-2 forests) with the same starts: Q = 2 / 5 / 10 % at
/// f = 1.070 / 1.049 / 1.045, 99.8 / 100 / 100 % of blocks within 3.
/// r060, rebuilt as a forest, starts at 1.035 (was 1.05). Q = 7 % / 8 %:
/// the old staircase r060 at 1.05 gave f = 1.068 / 1.064 (1000 blocks,
/// all in 2 messages), at 1.03 Q = 7 % 1.069 with 23 % within 3 (300); the
/// forest at 1.035 gives 1.054 / 1.043 with all 1000 blocks in 2
/// messages, at 1.025 1.045 / 1.039 with 99.8 % (1000) / 81.6 % (500)
/// within 3. Q = 6 % stays on r070 (1.058, 99.9 %).
/// 64k-r060 and 256k-r060 became forests too; their starts above were not
/// measured again. Session 23: r080 became a forest and starts at 1.05
/// (Q = 3 %: f = 1.059, all 1000 blocks in 2 messages; at 1.06 the old
/// staircase hybrid gave 1.069); r078 starts at 1.05 (native rate, 40
/// frames: 40 / 13 / 0 failures at f = 1.03 / 1.04 / 1.05).
const F1M: [f64; 6] = [1.025, 1.035, 1.035, 1.05, 1.06, 1.05];

/// Start efficiencies of 1M-r075, r066, r062, r055 and r082 (session 23),
/// set near those of their neighbours r070, r050 and r080 and measured in the full
/// blind protocol (`n1m_bsc`, 1000 blocks each, FER 0): r075 serves
/// Q = 4 % at f = 1.051 from 1.04 and 1.049 from 1.0375 (all blocks in 2
/// messages; kept), 1.046 from 1.035 (99.9 % within 3); r066 Q = 6 % at
/// 1.048, r062 Q = 7 % at
/// 1.048, r055 Q = 9 % at 1.045 and Q = 10 % (8 % shortened; r050 before:
/// 1.045) at 1.046, r082 Q = 2.5 % at 1.060 (r085 20.7 % shortened:
/// 1.095, 500 blocks), all blocks in 2 messages.
const F1M_MORE: [f64; 5] = [1.0375, 1.035, 1.035, 1.03, 1.05];

/// Start efficiencies of the n = 2^22 codes 4M-r085, r082, r080 and r078
/// (session 24), about 0.01 below those of the n = 2^20 codes they cover.
/// Full blind protocol (`n4m_bsc`, blocks of 95 % of n, FER 0, every block
/// in 2 messages): r085 at 1.05 serves Q = 2 % at f = 1.060 (300 blocks);
/// r082 at 1.04 / 1.0375 Q = 2.5 % at 1.0506 / 1.0482 (500 each); r080 at
/// 1.04 Q = 3 % at 1.0498 (1000); r078 at 1.04 Q = 3.5 % at 1.0495 (500)
/// and Q = 3.25 % (1.6 % of n punctured) at 1.0536 (300). At the native rate (sum-product, 300
/// iterations, 40 frames) 4M-r085 fails every frame up to f = 1.045 and
/// 4M-r080 fails 32 / 14 at 1.035 / 1.04.
const F4M: [f64; 4] = [1.05, 1.0375, 1.04, 1.04];

/// Start efficiencies of 1M-r084 and 4M-r084 (session 25). At the native
/// rate (sum-product, 300 iterations, 40 BSC frames) 1M-r084 fails
/// 28 / 12 / 5 / 2 frames at f = 1.05 / 1.055 / 1.06 / 1.065, 4M-r084
/// 34 / 14 / 4 at 1.045 / 1.05 / 1.055. Full blind protocol at Q = 2.25 %
/// (blocks of 95 % of n, 100 blocks on 2^20, 25 on 2^22, FER 0): 1M-r084
/// from 1.06 / 1.055 / 1.05 gave f = 1.0691 / 1.0643 / 1.0598 (100 / 100 /
/// 99 % of blocks within 3 messages), 4M-r084 from 1.055 / 1.05 / 1.045
/// 1.0641 / 1.0594 / 1.0546 (all in 2 messages). Over more blocks, 1M-r084
/// from 1.05 gave 1.0604 with 96.7 % within 3 (300 blocks), from 1.055
/// 1.0645 with 99.3 % (300), so it starts at 1.055; 4M-r084 from 1.045
/// 1.0546 with every block in 2 messages (100).
const F_R084: [f64; 2] = [1.055, 1.045];

/// Start efficiencies of 1M-r085w and 4M-r085w (session 26). At the native
/// rate (sum-product, 300 iterations, 40 BSC frames) 1M-r085w fails 19 / 9
/// frames at f = 1.045 / 1.05, 4M-r085w 30 / 11 at 1.04 / 1.045. Full blind
/// protocol at Q = 2 % (blocks of 95 % of n, 100 blocks, FER 0): 1M-r085w
/// from 1.05 / 1.055 gave f = 1.0606 / 1.0647 with 96 / 99 % of blocks
/// within 3 messages; 4M-r085w from 1.045 / 1.0475 gave 1.0554 / 1.0570
/// with 97 / 100 % (from 1.04, 25 blocks: 1.0568, 72 %).
const F_R085W: [f64; 2] = [1.055, 1.0475];

/// The soft plan's start efficiencies of the n = 65536 codes, also used for
/// the n = 262144 and 2^20 ones: those of the hard plan before session 16. These
/// codes were not measured on soft input, where Bob keeps the fixed reveal
/// order.
const F64K_SOFT: [f64; 6] = [1.07, 1.08, 1.09, 1.15, 1.2, 1.12];

/// Start efficiencies of the soft plan ([`Plan::with_entropy`] with a
/// hint), which multiply Bob's entropy estimate instead of h2(q̂).
///
/// The 802.11n rows are the min-sum-era table. The n = 16384 rows
/// (1.2, 1.25, 1.3, 1.375; they were 1.2, 1.3, 1.4, 1.5) were chosen on the
/// simulated walk with Bob's calibrated hints ([`super::llr::SoftCalibration`]):
/// one run each (about 100 session-sized blocks), f / mean messages / blocks
/// within 3 messages were 1.019 / 3.48 / 80 of 95 with the old rows, 0.930 /
/// 3.14 / 101 of 102 with these, 0.957 / 7.58 / 7 of 89 with the hard
/// table's 1.15, 1.2, 1.2, 1.25 (`walk_soft_plan_on_long_code_blocks`,
/// `docs/ldpc-soft.md`). On short blocks, n = 1944 rate 1/2 at 1.4 / 1.35 /
/// 1.3 gave f = 1.044 / 1.014 / 0.990 with 296 / 229 / 135 of 357 blocks
/// within 3 messages; it stays at 1.4.
pub const SOFT_START_EFFICIENCIES: [f64; CODES] = by_wire_id(
    [
        1.5, 1.6, 1.9, 1.9, //
        1.4, 1.6, 1.8, 1.9, //
        1.4, 1.5, 1.8, 1.9, //
        1.2, 1.25, 1.3, 1.375, //
    ],
    F64K_SOFT,
    F64K_SOFT,
    F64K_SOFT,
    // 1M-r075, r066, r062, r055, r082: those of their neighbours r078,
    // r070, r060, r050 and r080.
    [1.12, 1.09, 1.08, 1.07, 1.15],
    // 4M-r085, r082, r080, r078: those of the base graphs' 2^20 lifts.
    [1.2, 1.15, 1.15, 1.12],
    // 1M-r084, 4M-r084: those of r082; 1M-r085w, 4M-r085w: those of r085.
    [1.15, 1.15, 1.2, 1.2],
);

/// Min-sum normalisation factor for mother code `id` (wire id): the long
/// code's own [`super::long::LongCode::alpha`], else [`super::ALPHA`].
pub fn decoder_alpha(id: u8) -> f32 {
    long_member(id).map_or(super::ALPHA, |c| c.alpha)
}

/// The [`LONG_CODES`] entry of wire id `id`, if it is a long code.
fn long_member(id: u8) -> Option<&'static LongCode> {
    LONG_CODES.get(usize::from(id.checked_sub(LONG_ID0)?))
}

/// Whether code `id` belongs to the n = 262144, 2^20 or 2^22 family, which
/// puncture untainted degree-2 positions and carry the shortening penalty.
fn is_n256k_or_longer(id: u8) -> bool {
    long_member(id).is_some_and(|c| c.n >= N256K)
}

/// Most decoder iterations per attempt on mother code `id` (wire id): the
/// long code's own [`super::long::LongCode::iterations`], else
/// [`super::MAX_ITERATIONS`].
pub fn decoder_iterations(id: u8) -> u32 {
    long_member(id).map_or(super::MAX_ITERATIONS, |c| c.iterations)
}

/// Puncturing penalty κ of the long codes: a frame with p of its n
/// positions punctured starts at f₀·(1 + κ·p/n) instead of f₀ (puncturing
/// moves the threshold away from the native-rate one that
/// [`START_EFFICIENCIES`] measured). Measured on the long codes (200 frames,
/// Q = 2/5/10 %): κ = 0.5 takes the frames finished in 2 messages from
/// 8.5/7.5/97.5 % to 71/100/98 % for f 1.40/1.28/1.21 → 1.44/1.31/1.21. On
/// the 802.11n codes it raised f at Q = 2 % (1.56 → 1.65 without the hash),
/// so they use κ = 0.
pub const PUNCTURE_PENALTY: f64 = 0.5;

/// Shortening penalty κₛ of the n = 262144 and 2^20 codes: a frame with s
/// of its n positions shortened starts at f₀·(1 + κ·p/n + κₛ·s/n). Without it the
/// planner sent Q = 4, 6, 7, 8 % to codes of higher rate shortened by
/// 14–30 %, whose first attempts mostly failed at f₀ (1000 BSC frames each:
/// 38.5 / 60.7 / 9.5 / 0.1 % of blocks within 3 messages); with κₛ = 0.15
/// (300 frames each) 91.3 / 99.3 / 100 / 100 %, f 1.083 / 1.077 / 1.077 /
/// 1.074 instead of 1.088 / 1.063 / 1.075 / 1.078. The shorter families
/// were tuned without it and keep κₛ = 0.
pub const SHORTEN_PENALTY_LONGEST: f64 = 0.15;

/// Most positions a long-code frame punctures, as a fraction of n, while
/// another candidate fits within it. The linear penalty above understates
/// heavy puncturing: at Q = 2 % it made 64k-r078 (f₀ 1.12) look better than
/// 64k-r080 (1.15) with 7.2 % of its positions punctured, and that choice
/// took 3.35 messages per frame with 55 % of frames within 3 (1000 frames,
/// f = 1.181), against 2.06 and 97.4 % for r080 at 4.5 % (f = 1.178).
pub const MAX_PUNCTURED_FRACTION: f64 = 0.06;

/// Most positions an n = 2^20 frame punctures, as a fraction of its m
/// parity checks, while another candidate fits within it. What
/// puncturing costs grows with the share of the checks it leaves without a
/// channel value, not of n: 1M-r050 frames 4 % of n (8 % of m) punctured
/// serve Q = 10 % with every block in 2 messages, but at Q = 3 % 1M-r075
/// frames 5.5 % of n (22 % of m) punctured took 3.76 messages per block,
/// 12.1 % within 3, f = 1.089 (1000 blocks, session 23), at Q = 3.5 %
/// 3 % of n (12 % of m) 2.53 messages, 73.6 % within 3, f = 1.063 (500),
/// and at Q = 4 % 1M-r070 frames 6.2 % of n (21 % of m) 94.1 % within 3
/// (session 22). Not applied to n = 262144, where it would move Q = 4 %
/// from 256k-r070 punctured by 18.6 % of m to 256k-r078 17.6 % shortened:
/// f = 1.101 with every block in 2 messages (1000 blocks) instead of
/// 1.083 with 91.3 % within 3 (300, session 17).
pub const MAX_PUNCTURED_OF_CHECKS_1M: f64 = 0.10;

/// Start efficiency and puncturing count (f, p) of a frame of code `id`
/// (f₀ from [`SOFT_START_EFFICIENCIES`] if `soft`, else [`START_EFFICIENCIES`];
/// m checks, length n) carrying x key bits at h = h2(q̂): the fixed point of
/// f = f₀·(1 + κ·p/n + κₛ·s/n), p = m − f·x·h, s = n − x − p
/// (κ = [`PUNCTURE_PENALTY`] for the long codes, 0 for the 802.11n ones;
/// κₛ = [`SHORTEN_PENALTY_LONGEST`] for the n = 262144 and 2^20 codes,
/// else 0) (a few iterations; p may come out outside [0, n − x], the caller checks).
fn start_point(id: u8, soft: bool, m: usize, n: usize, x: usize, h: f64) -> (f64, f64) {
    let f0 = if soft {
        SOFT_START_EFFICIENCIES
            .get(usize::from(id))
            .copied()
            .unwrap_or(1.9)
    } else {
        start_efficiency(id)
    };
    let kappa = if id >= LONG_ID0 {
        PUNCTURE_PENALTY
    } else {
        0.0
    };
    let xh = x as f64 * h;
    let mut f = f0;
    let mut p = m as f64 - f * xh;
    let kappa_s = if is_n256k_or_longer(id) {
        SHORTEN_PENALTY_LONGEST
    } else {
        0.0
    };
    let d = n.saturating_sub(x) as f64;
    for _ in 0..8 {
        let (p_n, s_n) = (p.max(0.0) / n as f64, (d - p.max(0.0)).max(0.0) / n as f64);
        f = f0 * (1.0 + kappa * p_n + kappa_s * s_n);
        p = m as f64 - f * xh;
    }
    (f, p)
}

/// Starting efficiency of code `id` ([`START_EFFICIENCIES`]; 1.9 for an unknown id).
pub fn start_efficiency(id: u8) -> f64 {
    START_EFFICIENCIES
        .get(usize::from(id))
        .copied()
        .unwrap_or(1.9)
}
/// Extra leakage per blind round, as a fraction of x·h2(q̂) (also with a soft hint).
pub const STEP_FRACTION: f64 = 0.025;
/// A blind round reveals at least 1/`STEP_GROWTH_DIVISOR` of what the frame
/// has revealed so far (see [`Frame::next_revealed`]).
pub const STEP_GROWTH_DIVISOR: usize = 4;
/// Most leakage a frame may reach, as a multiple of x·h2(q̂): a frame that
/// still fails there fails the reconciliation (q̂ was far too low).
pub const MAX_EFFICIENCY: f64 = 2.5;
/// Smallest q̂ used for planning (a sample with no errors still plans for some).
const MIN_PLAN_QBER: f64 = 0.003;
/// Domain separation of the plan's seed.
const PLAN_SEED_TAG: u64 = 0x6c64_7063_706c_616e;

/// Wire id of the first long code: ids `0..12` are the 802.11n codes
/// (4 · length index + rate index), ids `12..45` the PEG codes in the order
/// of [`super::long::LONG_CODES`] (n = 16384 at 12..16, n = 65536 at 16..22,
/// n = 262144 at 22..28, n = 2^20 at 28..34, 34..39 and 43, n = 2^22 at
/// 39..43 and 44).
pub const LONG_ID0: u8 = 12;

/// Shortest block that is planned on the long codes (70 % of n = 16384,
/// so a frame is never more than 30 % shortened or punctured).
pub const LONG_MIN_BITS: usize = LONG_N * 7 / 10;

/// Shortest block that is planned on the n = 65536 codes (70 % of n).
pub const N64K_MIN_BITS: usize = N64K * 7 / 10;

/// Shortest block that is planned on the n = 262144 codes (70 % of n).
pub const N256K_MIN_BITS: usize = N256K * 7 / 10;

/// Shortest block that is planned on the n = 2^20 codes (70 % of n).
pub const N1M_MIN_BITS: usize = N1M * 7 / 10;

/// Shortest block whose candidates include the n = 2^22 codes (70 % of n).
pub const N4M_MIN_BITS: usize = N4M * 7 / 10;

/// The code list the plan can pick from; the id travels on the wire.
pub fn code_by_id(id: u8) -> Option<QcCode> {
    if id >= LONG_ID0 {
        return long_code(usize::from(id - LONG_ID0)).cloned();
    }
    let l = *Length::ALL.get(usize::from(id / 4))?;
    let r = *Rate::ALL.get(usize::from(id % 4))?;
    Some(QcCode::ieee80211n(l, r))
}

/// Candidate mother codes for a block of `n_bits`: (wire id, n, m), lowest
/// rate first. The n = 2^20 family for blocks of at least [`N1M_MIN_BITS`]
/// bits (joined by the n = 2^22 one, whose members are all of high rate,
/// from [`N4M_MIN_BITS`]), the n = 262144 family from [`N256K_MIN_BITS`],
/// the n = 65536 family from [`N64K_MIN_BITS`], the n = 16384 family from
/// [`LONG_MIN_BITS`] (each only if all its members load), else the longest
/// 802.11n length that fits.
fn family(n_bits: usize) -> Vec<(u8, usize, usize)> {
    for (n, min_bits) in [
        (N1M, N1M_MIN_BITS),
        (N256K, N256K_MIN_BITS),
        (N64K, N64K_MIN_BITS),
        (LONG_N, LONG_MIN_BITS),
    ] {
        if n_bits < min_bits {
            continue;
        }
        if let Some(mut long) = members_of(n) {
            if n == N1M && n_bits >= N4M_MIN_BITS {
                long.extend(members_of(N4M).unwrap_or_default());
            }
            // Lowest rate first (largest m/n first).
            long.sort_by(|a, b| (b.2 * a.1).cmp(&(a.2 * b.1)));
            return long;
        }
    }
    let len_idx = match n_bits {
        b if b >= 1944 * 7 / 10 => 2,
        b if b >= 1296 * 7 / 10 => 1,
        _ => 0,
    };
    let n = Length::ALL[len_idx].bits();
    Rate::ALL
        .iter()
        .enumerate()
        .map(|(ri, r)| {
            let (a, b) = r.fraction();
            ((len_idx * 4 + ri) as u8, n, n - n * a / b)
        })
        .collect()
}

/// Frame counts a block of `n_bits` may be split into on a code of length
/// `n`: those whose frames carry 70–95 % of n key bits (fewest first), or
/// the fewest frames of at most 95 % if none does.
fn frame_counts(n_bits: usize, n: usize) -> std::ops::RangeInclusive<usize> {
    let fewest = n_bits.div_ceil(n * 95 / 100).max(1);
    let most = (n_bits / (n * 70 / 100).max(1)).max(fewest);
    fewest..=most
}

/// The long codes of length `n` as (wire id, n, m), `None` unless every
/// one of them loads.
fn members_of(n: usize) -> Option<Vec<(u8, usize, usize)>> {
    (0..LONG_CODES.len())
        .filter(|&i| LONG_CODES[i].n == n)
        .map(|i| long_code(i).map(|c| (LONG_ID0 + i as u8, c.n(), c.m())))
        .collect()
}

/// One frame of the plan.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Block positions carried by this frame's key slots, in slot order.
    pub key: Vec<u32>,
    /// Permutation of the n codeword positions: `[0, p)` punctured,
    /// `[p, p + s)` shortened, `[p + s, n)` key slots.
    pub slots: Vec<u32>,
    /// Punctured positions.
    pub p: usize,
    /// Shortened positions.
    pub s: usize,
    /// Values revealed per blind round.
    pub step: usize,
    /// Most values that may be revealed in all.
    pub max_reveal: usize,
}

impl Frame {
    /// Values revealed in all after the next blind round, given `revealed`
    /// so far: `step` more, or a quarter of `revealed` once that is more
    /// (the reveals grow by 25 % a round from the fifth round on), at most
    /// `max_reveal`. With a hint far too low (an uncalibrated first block
    /// whose q̂ came out low) fixed steps took 20–30 rounds; growing ones
    /// reach the same leakage in about half as many, overshooting it by at
    /// most a quarter of what was revealed.
    pub fn next_revealed(&self, revealed: usize) -> usize {
        (revealed + self.step.max(revealed / STEP_GROWTH_DIVISOR)).min(self.max_reveal)
    }

    /// Codeword position of the `t`-th revealed value (punctured first, then key slots).
    pub fn reveal_slot(&self, t: usize) -> Option<usize> {
        if t < self.p {
            Some(self.slots[t] as usize)
        } else {
            self.slots
                .get(self.p + self.s + (t - self.p))
                .map(|&v| v as usize)
        }
    }

    /// Codeword positions of the key slots (parallel to [`Frame::key`]).
    pub fn key_slots(&self) -> &[u32] {
        &self.slots[self.p + self.s..]
    }

    /// Codeword positions of the shortened slots.
    pub fn shortened_slots(&self) -> &[u32] {
        &self.slots[self.p..self.p + self.s]
    }

    /// Codeword positions of the punctured slots.
    pub fn punctured_slots(&self) -> &[u32] {
        &self.slots[..self.p]
    }
}

/// The whole plan of one reconciliation.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Wire id of the mother code (see [`code_by_id`]).
    pub code_id: u8,
    /// The mother code.
    pub code: QcCode,
    /// Frames, in order.
    pub frames: Vec<Frame>,
}

/// Lowest planning entropy a soft hint may set, as a fraction of h2(q̂):
/// hints below are raised to it (a Bob whose soft values claim almost no
/// uncertainty would otherwise make every frame fail into blind rounds).
pub const MIN_HINT_FRACTION: f64 = 0.3;

/// Factor c on Bob's hint: the soft plan sizes the first attempt for c·Ĥ.
/// Measured on the simulated walk (357 blocks of ≈ 3550 bits, Q = 7.4 %,
/// 802.11n n = 1944 codes, `walk_soft_input_leakage_for_fer_1e3`): c = 1.0 /
/// 1.15 / 1.3 gave f = 1.050 / 1.136 / 1.228 against n·h2(Q) with 19.9 / 13.1
/// / 9.3 messages per block (91 / 174 / 239 of 357 blocks in ≤ 3 messages);
/// the hard plan f = 1.44 with 8.5 messages (≈ 230 in ≤ 3). On
/// session-sized blocks (n = 16384 codes) c = 1.0 / 1.1 / 1.2 gave f = 0.953
/// / 0.986 / 1.057 with 12.9 / 8.0 / 4.9 messages per block (hard: 1.33,
/// ≈ 6). Leakage costs key bits, messages only latency, so c = 1.
pub const SOFT_START_FACTOR: f64 = 1.0;

/// q̂ as the plan uses it: NaN → ½, else clamped to [0.003, ½].
fn plan_qber(qber: f64) -> f64 {
    if qber.is_nan() {
        0.5
    } else {
        qber.clamp(MIN_PLAN_QBER, 0.5)
    }
}

/// The entropy per bit a plan uses for a soft hint `hint` (bits per bit) at
/// disagreement `qber`: [`SOFT_START_FACTOR`]·hint clamped to
/// the range from [`MIN_HINT_FRACTION`]·h2(q̂) to h2(q̂) (NaN → h2(q̂)).
pub fn plan_entropy(qber: f64, hint: f64) -> f64 {
    let h = binary_entropy(plan_qber(qber));
    if hint.is_nan() {
        h
    } else {
        (SOFT_START_FACTOR * hint).clamp(MIN_HINT_FRACTION * h, h)
    }
}

impl Plan {
    /// Plans the reconciliation of `n_bits` bits at disagreement `qber` with the public `seed`.
    pub fn new(n_bits: usize, qber: f64, seed: u64) -> Plan {
        Plan::with_entropy(n_bits, qber, f64::NAN, seed)
    }

    /// As [`Plan::new`], but the first attempt and the blind step are sized
    /// for `hint` bits of conditional entropy per bit (Bob's soft estimate,
    /// clamped by [`plan_entropy`]; NaN = h2(q̂)) instead of h2(q̂). The
    /// blind step ([`STEP_FRACTION`]·x·h2(q̂)) and the leakage cap
    /// ([`MAX_EFFICIENCY`]·x·h2(q̂)) stay sized by h2(q̂), so a hint that is
    /// too low costs the same number of blind rounds per unit of leakage as
    /// a hard plan, not failures.
    pub fn with_entropy(n_bits: usize, qber: f64, hint: f64, seed: u64) -> Plan {
        let q = plan_qber(qber);
        let h_q = binary_entropy(q);
        let h = plan_entropy(q, hint);
        let soft = !hint.is_nan();
        let fam = family(n_bits);
        // The code of lowest measured start efficiency that fits, with the
        // fewest frames (each carrying x = ⌈n_bits / frames⌉ key bits, 70–95 %
        // of n) for which its puncturing count lies in [0, n − x] (and, for
        // the long codes, within MAX_PUNCTURED_FRACTION of n, and on the
        // n ≥ 2^20 ones MAX_PUNCTURED_OF_CHECKS_1M of m, while any
        // candidate fits so). Each candidate is judged at the frame size it
        // would actually carry.
        let mut choice: Option<(usize, usize, f64)> = None;
        for capped in [true, false] {
            for (ci, &(id, n, m)) in fam.iter().enumerate().rev() {
                for frames in frame_counts(n_bits, n) {
                    let x = n_bits.div_ceil(frames);
                    let d = n - x;
                    let (f, p) = start_point(id, soft, m, n, x, h);
                    let better = choice.is_none_or(|(_, _, fc)| f < fc);
                    let cap_ok = !capped
                        || id < LONG_ID0
                        || (p <= MAX_PUNCTURED_FRACTION * n as f64
                            && (n < N1M || p <= MAX_PUNCTURED_OF_CHECKS_1M * m as f64));
                    if p >= 0.0 && p <= d as f64 && cap_ok && better {
                        choice = Some((frames, ci, f));
                    }
                }
            }
            if choice.is_some() {
                break;
            }
        }
        // Nothing fits (q̂ very high): the lowest rate, most modulation.
        let (frames_n, ci, _) = choice.unwrap_or_else(|| {
            let n = fam[0].1;
            (n_bits.div_ceil(n - n * 30 / 100).max(1), 0, 0.0)
        });
        // An empty block has no frame.
        let frames_n = if n_bits == 0 { 0 } else { frames_n };
        let (code_id, n) = (fam[ci].0, fam[ci].1);
        let code =
            code_by_id(code_id).unwrap_or_else(|| QcCode::ieee80211n(Length::N648, Rate::R12));
        let m = code.m();
        let untainted = is_n256k_or_longer(code_id);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ PLAN_SEED_TAG);
        let mut order: Vec<u32> = (0..n_bits as u32).collect();
        order.shuffle(&mut rng);
        let mut frames = Vec::with_capacity(frames_n);
        let mut start = 0;
        for j in 0..frames_n {
            let end = n_bits * (j + 1) / frames_n;
            let x = end - start;
            let d = n - x;
            let p = start_point(code_id, soft, m, n, x, h)
                .1
                .round()
                .clamp(0.0, d as f64) as usize;
            let step = ((STEP_FRACTION * x as f64 * h_q).ceil() as usize).max(4);
            let mut slots: Vec<u32> = (0..n as u32).collect();
            let mut frng = ChaCha8Rng::seed_from_u64(seed ^ PLAN_SEED_TAG);
            frng.set_stream(1 + j as u64);
            slots.shuffle(&mut frng);
            if untainted {
                untainted_degree2_first(&code, &mut slots, p);
            }
            frames.push(Frame {
                key: order[start..end].to_vec(),
                slots,
                p,
                s: d - p,
                step,
                max_reveal: (p + x / 4)
                    .min(
                        ((MAX_EFFICIENCY * x as f64 * h_q).floor() as usize)
                            .saturating_sub(m - p.min(m)),
                    )
                    .max(step),
            });
            start = end;
        }
        Plan {
            code_id,
            code,
            frames,
        }
    }

    /// Public pseudo-random values of frame `j`'s shortened slots (parallel to
    /// [`Frame::shortened_slots`]).
    pub fn shortened_values(&self, seed: u64, j: usize) -> Vec<u8> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ PLAN_SEED_TAG ^ 0x5348_4f52_5400_0000);
        rng.set_stream(1 + j as u64);
        (0..self.frames[j].s)
            .map(|_| rng.random::<bool>() as u8)
            .collect()
    }

    /// Leakage of the syndromes: Σ (m − p) over frames.
    pub fn syndrome_leak(&self) -> u64 {
        let m = self.code.m();
        self.frames.iter().map(|f| (m - f.p.min(m)) as u64).sum()
    }
}
