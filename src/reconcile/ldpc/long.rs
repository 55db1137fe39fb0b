//! The long code families, quasi-cyclic LDPC codes with Z = 256, 1024, 4096 or 16384 built by
//! QC-PEG ([`super::peg`]; regenerate with
//! `cargo run --release --example peg_codes`; the construction is
//! documented in `docs/ldpc-long-codes.md`):
//! * n = 16384 (64 block columns), stored as alist files in
//!   `src/reconcile/ldpc/alist/`;
//! * n = 65536 (256 block columns), stored as base matrices of circulant
//!   shifts in [`super::long_bases`] (an alist file of one of them would be
//!   about 4 MB; `peg_codes` writes those too, for other tools);
//! * n = 262144 (session 17): the six n = 65536 base graphs (same profiles,
//!   layouts and seeds; 256k-r080 with its degree-2 columns in a staircase)
//!   lifted with Z = 1024, whose shifts PEG chooses anew. Four times the
//!   length brings the waterfall of the configuration-model layout close to
//!   the density-evolution threshold: 256k-r050 fails 3 of 200 BSC frames at
//!   f = 1.035, 64k-r050 28 of 200 at 1.04;
//! * n = 1048576 (session 19): the same six base graphs lifted with Z = 4096,
//!   for blocks of at least 734 003 bits (batches of key, benchmarks;
//!   a radio session's block is far shorter). Their waterfall sits another
//!   0.01–0.015 in efficiency lower (`docs/ldpc-long-codes.md`).
//!   Session 23 added five members of this length only, at rates 0.824,
//!   0.750, 0.660, 0.621 and 0.547, so that Q = 2.5, 4, 6, 7 and 9 % each
//!   find a code near the rate they need;
//! * n = 2^22 (session 24): 1M-r085, r082, r080 and r078 covered 4 times
//!   (Z = 16384, [`super::peg::cover`]), for blocks of at least 2 936 012
//!   bits at Q ≈ 2–3.5 %. Their waterfall sits only about 0.01 lower than
//!   that of the codes they cover: a cover keeps its base matrix, and the
//!   threshold of the base matrix (protograph), not the length, holds these
//!   high-rate codes back (`docs/ldpc-long-codes.md`, "Session 24").
//! * Session 26: r085 on a base graph of 1024 block columns (1M-r085w,
//!   Z = 1024, and its 2^22 cover with Z = 4096), whose waterfall sits about
//!   0.005–0.01 lower than that of 1M-r085 and 4M-r085; Q = 2 % takes it.
//!
//! Degree profiles: variable degrees {2, 3, d_max} with the degree-2 share
//! near (1 − R) and check degrees concentrated on two consecutive values —
//! the shape of the BSC-optimised ensembles used for QKD reconciliation by
//! Elkouss, Leverrier, Alléaume, Boutros ("Efficient reconciliation
//! protocol for discrete-variable quantum key distribution", ISIT 2009,
//! arXiv:0901.2140) and of the irregular ensembles of Richardson,
//! Shokrollahi, Urbanke (IEEE Trans. Inf. Theory 47(2), 2001), rounded to 64
//! block columns. r050 keeps hand-picked coefficients; r067, r075 and
//! r083 use profiles optimised by density evolution ([`super::de`],
//! `examples/ldpc_de.rs`; thresholds in `docs/ldpc-long-codes.md`), whose
//! heavy columns (degree 11–12) and check degrees 13–29 cost the lifted
//! graph its girth 8 (girth 6) and need a min-sum factor of 0.7 (the
//! reconciler decodes them with sum-product, [`super::CHECK_RULE`]).
//! The n = 65536 codes have four variable degrees found by the
//! density-evolution search of `examples/ldpc_de_search.rs`: {2, 3, 9–10,
//! 38–60} (f* 1.018–1.037 for r050, r060, r070, r078, r080, r085); all
//! girth 6.
//! r050, r070, r080 and r085 are laid out by the configuration model
//! ([`super::peg::Layout::Random`]): with the staircase layout the same
//! profiles decoded only 0.04–0.05 in efficiency above their thresholds, at
//! n = 65536 and n = 262144 alike. r060 and r078 keep their degree-2
//! columns in a staircase and lay out the rest at random
//! ([`super::peg::Layout::StaircaseRandom`]): wholly random, its degree-2
//! columns closed cycles and 7 of 100 frames failed with 3–10 wrong bits at
//! f = 1.12.
//! Since session 22 r070 and r085 draw their degree-2 columns as a random
//! forest and the rest at random ([`super::peg::Layout::RandomForest`]):
//! wholly random, their degree-2 columns closed 15 and 5 independent
//! cycles in one connected piece, which no shifts lift to heavy codewords
//! (1M-r070 had codewords of 14 degree-2 variables, 1M-r085 of 16); as a
//! forest they decoded as well (100 frames at the native rate: 256k-r070
//! 4 against 5 failures at f = 1.05, 256k-r085 15 against 13 at 1.08).
//! r050 stays random: as a forest it failed more frames near the threshold
//! (256k-r050 25 against 7 of 100 at f = 1.03), and its 4 cycles lift to
//! codewords of at least 36 degree-2 variables (22 before session 22).
//! r060 left its staircase for a forest too: 256k-r060 failed 10 / 0 / 1
//! of 100 frames at f = 1.04 / 1.05 / 1.06 as a forest, 90 / 32 / 2 with
//! the staircase. r078 keeps its staircase (as a forest 35 / 12 / 4 against
//! 26 / 4 / 1 at 1.05 / 1.06 / 1.07).

use super::alist::{Alist, AlistError};
use super::codes::QcCode;
use super::long_bases;
use super::peg::{self, Layout, PegError, PegSpec};
use std::sync::OnceLock;

/// Codeword length of the shorter long family.
pub const LONG_N: usize = 16384;
/// Codeword length of the n = 65536 family.
pub const N64K: usize = 65536;
/// Codeword length of the longest family, the n = 65536 base matrices
/// lifted with [`Z_256K`].
pub const N256K: usize = 262_144;
/// Circulant size of the n = 262144 family.
pub const Z_256K: usize = 1024;
/// Codeword length of the n = 2^20 family, the n = 65536 base matrices
/// lifted with [`Z_1M`].
pub const N1M: usize = 1 << 20;
/// Circulant size of the n = 2^20 family.
pub const Z_1M: usize = 4096;
/// Codeword length of the n = 2^22 family (session 24): four high-rate
/// n = 2^20 members covered 4 times ([`Cover`], circulants of [`Z_4M`]), for
/// blocks of key at Q ≈ 2–3.5 %, where a 2^20-bit frame decodes about 0.03
/// in efficiency above the density-evolution threshold.
pub const N4M: usize = 1 << 22;
/// Circulant size of the n = 2^22 family.
pub const Z_4M: usize = 16384;
/// Circulant size of 1M-r085w (session 26), whose base graph has 1024
/// block columns; its 2^22 cover has circulants 4 times as large.
pub const Z_1M_WIDE: usize = 1024;
/// Most decoder iterations per attempt on the n = 65536 and n = 262144
/// codes: near their
/// thresholds frames need more than [`super::MAX_ITERATIONS`] (64k-r050 at
/// f = 1.06, 100 BSC frames: 3 failures with 50 iterations, none with
/// 150; `QWAVE_ITERS=150 ldpc_native_fer 100 spa`), and a frame that
/// converges stops early.
pub const LONG_ITERATIONS: u32 = 150;
/// Most decoder iterations per attempt on the n = 2^20 codes. With
/// [`LONG_ITERATIONS`], 5 of 1000 BSC frames at Q = 10 % (1M-r050, 3.9 %
/// of n punctured) failed their first attempt on the iteration cap and took
/// 8–16 messages.
pub const ITERATIONS_1M: u32 = 300;
/// Circulant size of the n = 16384 and n = 65536 families.
pub const LONG_Z: usize = 256;

/// How a long code is stored in the binary.
#[derive(Clone, Copy, Debug)]
pub enum Stored {
    /// Alist text (D. J. C. MacKay's format).
    Alist(&'static str),
    /// Base matrix: per block row, its (block column, shift) entries.
    Base(&'static [&'static [(u16, u16)]]),
}

/// One member of a long family: how it was built and how it is stored.
#[derive(Clone, Copy, Debug)]
pub struct LongCode {
    /// Short name, also the alist file stem.
    pub name: &'static str,
    /// Codeword length n ([`LONG_N`], [`N64K`], [`N256K`], [`N1M`] or [`N4M`]).
    pub n: usize,
    /// Circulant size Z ([`LONG_Z`], [`Z_256K`], [`Z_1M`] or [`Z_4M`]).
    pub z: usize,
    /// Block rows (m = rows · Z).
    pub rows: usize,
    /// Variable degree profile (degree, block columns).
    pub degrees: &'static [(usize, usize)],
    /// Seed of the PEG tie-breaking RNG.
    pub seed: u64,
    /// Base-matrix layout of the construction.
    pub layout: Layout,
    /// Girth the stored graph has at least (checked by the tests).
    pub girth: usize,
    /// Least weight of a codeword made only of degree-2 variables
    /// ([`super::peg::degree2_girth`]) the stored code has at least; `None`:
    /// the degree-2 columns close no cycle, so there is no such codeword
    /// (checked by the tests).
    pub degree2_girth: Option<usize>,
    /// Most decoder iterations per attempt on this code.
    pub iterations: u32,
    /// Min-sum normalisation factor the decoder uses for this code
    /// (measured, `examples/ldpc_native_fer.rs`; high check degrees need a
    /// smaller factor).
    pub alpha: f32,
    /// The stored code.
    pub stored: Stored,
    /// `Some`: built as a cyclic cover of another member ([`Cover`]), not
    /// by QC-PEG from [`LongCode::spec`], which then only describes the
    /// profile and layout the cover inherits.
    pub cover: Option<Cover>,
}

/// How a member is built as a random cyclic cover ([`super::peg::cover`])
/// of another, stored, member with a smaller circulant.
#[derive(Clone, Copy, Debug)]
pub struct Cover {
    /// Name of the covered member.
    pub of: &'static str,
    /// Seed of the cover's RNG.
    pub seed: u64,
}

/// Why a member cannot be rebuilt.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The QC-PEG construction or the cover failed.
    #[error(transparent)]
    Peg(#[from] PegError),
    /// The member a cover is built on is missing or does not parse.
    #[error("covered member {0} is missing or does not parse")]
    Covered(&'static str),
}

impl LongCode {
    /// The construction spec that reproduces the stored code.
    pub fn spec(&self) -> PegSpec {
        PegSpec {
            name: self.full_name(),
            z: self.z,
            rows: self.rows,
            degrees: self.degrees.to_vec(),
            seed: self.seed,
            layout: self.layout,
        }
    }

    /// Rebuilds the code: QC-PEG from [`LongCode::spec`], or the cover of
    /// the stored member it names.
    ///
    /// # Errors
    /// [`BuildError`] if the construction fails or the covered member is
    /// missing or does not parse.
    pub fn build(&self) -> Result<QcCode, BuildError> {
        let Some(cover) = self.cover else {
            return Ok(peg::build(&self.spec())?);
        };
        let base = LONG_CODES
            .iter()
            .position(|c| c.name == cover.of)
            .and_then(long_code)
            .ok_or(BuildError::Covered(cover.of))?;
        let factor = self.z / base.z();
        Ok(peg::cover(base, &self.full_name(), factor, cover.seed)?)
    }

    /// The code's name as [`QcCode::name`] reports it.
    pub fn full_name(&self) -> String {
        format!("PEG n={} {}", self.n, self.name)
    }

    /// Design rate 1 − m/n.
    pub fn rate(&self) -> f64 {
        1.0 - (self.rows * self.z) as f64 / self.n as f64
    }

    /// Parses the stored code.
    ///
    /// # Errors
    /// An [`AlistError`] if the stored text is malformed or not QC with
    /// the member's Z, or a stored base matrix has an entry out of range.
    pub fn parse(&self) -> Result<QcCode, AlistError> {
        match self.stored {
            Stored::Alist(text) => Alist::parse(text)?.to_qc(&self.full_name(), self.z),
            Stored::Base(rows) => {
                let rows: Vec<Vec<(u32, u32)>> = rows
                    .iter()
                    .map(|r| {
                        r.iter()
                            .map(|&(c, s)| (u32::from(c), u32::from(s)))
                            .collect()
                    })
                    .collect();
                QcCode::from_rows(self.full_name(), self.z, self.n / self.z, &rows)
                    .map_err(|_| AlistError::NotQuasiCyclic { z: self.z })
            }
        }
    }
}

const C_64K_R050: LongCode = LongCode {
    name: "64k-r050",
    n: N64K,
    z: LONG_Z,
    rows: 128,
    degrees: &[(2, 107), (3, 90), (9, 50), (60, 9)],
    seed: 11,
    girth: 6,
    degree2_girth: Some(36),
    layout: Layout::Random,
    iterations: LONG_ITERATIONS,
    alpha: super::ALPHA,
    cover: None,
    stored: Stored::Base(long_bases::R_64K_R050),
};

const C_64K_R060: LongCode = LongCode {
    name: "64k-r060",
    n: N64K,
    z: LONG_Z,
    rows: 102,
    degrees: &[(2, 98), (3, 91), (9, 57), (60, 10)],
    seed: 12,
    girth: 6,
    degree2_girth: None,
    layout: Layout::RandomForest,
    iterations: LONG_ITERATIONS,
    alpha: 0.7,
    cover: None,
    stored: Stored::Base(long_bases::R_64K_R060),
};

const C_64K_R070: LongCode = LongCode {
    name: "64k-r070",
    n: N64K,
    z: LONG_Z,
    rows: 77,
    degrees: &[(2, 76), (3, 109), (9, 58), (60, 13)],
    seed: 13,
    girth: 6,
    degree2_girth: None,
    layout: Layout::RandomForest,
    iterations: LONG_ITERATIONS,
    alpha: 0.7,
    cover: None,
    stored: Stored::Base(long_bases::R_64K_R070),
};

const C_64K_R080: LongCode = LongCode {
    name: "64k-r080",
    n: N64K,
    z: LONG_Z,
    rows: 51,
    degrees: &[(2, 50), (3, 130), (10, 62), (51, 14)],
    seed: 14,
    girth: 6,
    degree2_girth: Some(14),
    layout: Layout::Random,
    iterations: LONG_ITERATIONS,
    alpha: 0.7,
    cover: None,
    stored: Stored::Base(long_bases::R_64K_R080),
};

const C_64K_R085: LongCode = LongCode {
    name: "64k-r085",
    n: N64K,
    z: LONG_Z,
    rows: 38,
    degrees: &[(2, 37), (3, 139), (10, 64), (38, 16)],
    seed: 15,
    girth: 6,
    degree2_girth: None,
    layout: Layout::RandomForest,
    iterations: LONG_ITERATIONS,
    alpha: 0.7,
    cover: None,
    stored: Stored::Base(long_bases::R_64K_R085),
};

// Added in session 15 for Q ≈ 3 %, between r070 and r080; last, so the
// other members keep their wire ids.
const C_64K_R078: LongCode = LongCode {
    name: "64k-r078",
    n: N64K,
    z: LONG_Z,
    rows: 57,
    degrees: &[(2, 56), (3, 125), (10, 62), (57, 13)],
    seed: 16,
    girth: 6,
    degree2_girth: None,
    layout: Layout::StaircaseRandom,
    iterations: LONG_ITERATIONS,
    alpha: 0.7,
    cover: None,
    stored: Stored::Base(long_bases::R_64K_R078),
};

/// An n = 2^20-only member (session 23): `rows` block rows, variable
/// degrees `degrees`, PEG seed `seed`, degree-2 columns as a random forest,
/// girth 6, min-sum factor 0.7, up to [`ITERATIONS_1M`] iterations, stored
/// as `matrix`.
const fn forest_1m(
    name: &'static str,
    rows: usize,
    degrees: &'static [(usize, usize)],
    seed: u64,
    matrix: &'static [&'static [(u16, u16)]],
) -> LongCode {
    LongCode {
        name,
        n: N1M,
        z: Z_1M,
        rows,
        degrees,
        seed,
        girth: 6,
        degree2_girth: None,
        layout: Layout::RandomForest,
        iterations: ITERATIONS_1M,
        alpha: 0.7,
        stored: Stored::Base(matrix),
        cover: None,
    }
}

/// Session 23: five members of the n = 2^20 family only, at the rates that
/// Q ≈ 2.5, 4, 6, 7 and 9 % need at f ≈ 1.04 (1 − R ≈ 1.04·h2(Q)). With the
/// six shared rates those blocks were frames of r070 6 % punctured or
/// 12 % shortened, or of r060 punctured or 15 % shortened (f = 1.067,
/// 1.058, 1.054, 1.060); Q = 2.5 % blocks were frames of r085 20.7 %
/// shortened (f = 1.095, 500 blocks). Profiles from the density-evolution search
/// (`examples/ldpc_de_search.rs`), degree-2 columns as a random forest.
/// This one: rate 3/4, for Q ≈ 4 %.
const C_1M_R075: LongCode = forest_1m(
    "1M-r075",
    64,
    &[(2, 63), (3, 121), (10, 60), (60, 12)],
    17,
    long_bases::R_1M_R075,
);

/// See [`C_1M_R075`]: rate 169/256 ≈ 0.660, for Q ≈ 6 %.
const C_1M_R066: LongCode = forest_1m(
    "1M-r066",
    87,
    &[(2, 86), (3, 101), (9, 57), (60, 12)],
    18,
    long_bases::R_1M_R066,
);

/// See [`C_1M_R075`]: rate 159/256 ≈ 0.621, for Q ≈ 7 %.
const C_1M_R062: LongCode = forest_1m(
    "1M-r062",
    97,
    &[(2, 94), (3, 94), (9, 57), (60, 11)],
    19,
    long_bases::R_1M_R062,
);

/// See [`C_1M_R075`]: rate 140/256 ≈ 0.547, for Q ≈ 9 %.
const C_1M_R055: LongCode = forest_1m(
    "1M-r055",
    116,
    &[(2, 103), (3, 90), (9, 54), (60, 9)],
    20,
    long_bases::R_1M_R055,
);

/// See [`C_1M_R075`]: rate 211/256 ≈ 0.824, for Q ≈ 2.5 %.
const C_1M_R082: LongCode = forest_1m(
    "1M-r082",
    45,
    &[(2, 44), (3, 134), (10, 63), (45, 15)],
    21,
    long_bases::R_1M_R082,
);

/// Session 25: rate 215/256 ≈ 0.840, for Q ≈ 2.25 %, between r085 and r082
/// (a block of 95 % of n at Q = 2.25 % was 1M-r082 punctured by 10.7 % of
/// its checks, f = 1.070 with 82 % of blocks within 3 messages). Profile
/// from the density-evolution search (f* = 1.033).
const C_1M_R084: LongCode = forest_1m(
    "1M-r084",
    41,
    &[(2, 40), (3, 137), (10, 63), (41, 16)],
    22,
    long_bases::R_1M_R084,
);

/// Session 26: the r085 design on a wide base graph, 1024 block columns
/// of Z = 1024 (n = 2^20), rate 874/1024 ≈ 0.854, for Q ≈ 2 %. Session 24
/// found that a lift or cover converges to the threshold of its base
/// graph, and that 256 block columns with check degrees near 40 hold r085
/// near f = 1.05. Profile from the density-evolution search
/// (`ldpc_de_search 1024 150`, f* = 1.037), degree-2 columns as a forest.
const C_1M_R085W: LongCode = LongCode {
    name: "1M-r085w",
    n: N1M,
    z: Z_1M_WIDE,
    rows: 150,
    degrees: &[(2, 149), (3, 550), (10, 264), (60, 61)],
    seed: 23,
    girth: 6,
    degree2_girth: None,
    layout: Layout::RandomForest,
    iterations: ITERATIONS_1M,
    alpha: 0.7,
    stored: Stored::Base(long_bases::R_1M_R085W),
    cover: None,
};

/// `base`'s profile, seed and layout lifted to n = 262144 with Z = 1024,
/// stored as `rows`.
const fn lift_256k(
    base: LongCode,
    name: &'static str,
    rows: &'static [&'static [(u16, u16)]],
) -> LongCode {
    lift(base, name, Z_256K, rows)
}

/// `base` lifted to n = 2^20 with Z = 4096, stored as `rows`, decoded
/// with up to [`ITERATIONS_1M`] iterations.
const fn lift_1m(
    base: LongCode,
    name: &'static str,
    rows: &'static [&'static [(u16, u16)]],
) -> LongCode {
    LongCode {
        iterations: ITERATIONS_1M,
        ..lift(base, name, Z_1M, rows)
    }
}

/// The member `of` (n = 2^20, whose spec is `base`'s lifted, with its
/// degree-2 columns laid out as `layout`) covered 4 times to n = 2^22 with
/// Z = 16384 ([`Cover`], seeded with `base`'s seed), stored as `rows`,
/// decoded with up to [`ITERATIONS_1M`] iterations.
const fn cover_4m(
    base: LongCode,
    name: &'static str,
    of: &'static str,
    layout: Layout,
    rows: &'static [&'static [(u16, u16)]],
) -> LongCode {
    LongCode {
        iterations: ITERATIONS_1M,
        layout,
        degree2_girth: None,
        cover: Some(Cover {
            of,
            seed: base.seed,
        }),
        ..lift(base, name, Z_4M, rows)
    }
}

/// `base`'s profile, seed and layout with circulants of size `z`.
const fn lift(
    base: LongCode,
    name: &'static str,
    z: usize,
    rows: &'static [&'static [(u16, u16)]],
) -> LongCode {
    LongCode {
        name,
        n: base.n / base.z * z,
        z,
        stored: Stored::Base(rows),
        ..base
    }
}

/// The four families, shorter first, each lowest rate first except the
/// last member: n = 16384 at rates 1/2, 43/64 ≈ 0.672, 3/4, 53/64 ≈ 0.828;
/// n = 65536 at rates 1/2, 154/256 ≈ 0.602, 179/256 ≈ 0.699,
/// 205/256 ≈ 0.801, 218/256 ≈ 0.852, then 199/256 ≈ 0.777 (appended so that
/// wire ids stay; the planner sorts a family by rate); n = 262144 with the
/// same six rates and base graphs in the same order, and so has n = 2^20.
pub const LONG_CODES: [LongCode; 35] = [
    LongCode {
        name: "r050",
        n: LONG_N,
        z: LONG_Z,
        rows: 32,
        degrees: &[(2, 31), (3, 21), (8, 12)],
        seed: 1,
        girth: 8,
        degree2_girth: None,
        layout: Layout::Staircase,
        iterations: super::MAX_ITERATIONS,
        alpha: super::ALPHA,
        cover: None,
        stored: Stored::Alist(include_str!("alist/peg16384_r050.alist")),
    },
    LongCode {
        name: "r067",
        n: LONG_N,
        z: LONG_Z,
        rows: 21,
        degrees: &[(2, 20), (3, 30), (11, 14)],
        seed: 2,
        girth: 6,
        degree2_girth: None,
        layout: Layout::Staircase,
        iterations: super::MAX_ITERATIONS,
        alpha: 0.7,
        cover: None,
        stored: Stored::Alist(include_str!("alist/peg16384_r067.alist")),
    },
    LongCode {
        name: "r075",
        n: LONG_N,
        z: LONG_Z,
        rows: 16,
        degrees: &[(2, 15), (3, 34), (12, 15)],
        seed: 3,
        girth: 6,
        degree2_girth: None,
        layout: Layout::Staircase,
        iterations: super::MAX_ITERATIONS,
        alpha: 0.7,
        cover: None,
        stored: Stored::Alist(include_str!("alist/peg16384_r075.alist")),
    },
    LongCode {
        name: "r083",
        n: LONG_N,
        z: LONG_Z,
        rows: 11,
        degrees: &[(2, 8), (3, 40), (11, 16)],
        seed: 4,
        girth: 6,
        degree2_girth: None,
        layout: Layout::Staircase,
        iterations: super::MAX_ITERATIONS,
        alpha: 0.7,
        cover: None,
        stored: Stored::Alist(include_str!("alist/peg16384_r083.alist")),
    },
    C_64K_R050,
    C_64K_R060,
    C_64K_R070,
    C_64K_R080,
    C_64K_R085,
    C_64K_R078,
    // Session 17: the same six base graphs lifted with Z = 1024.
    lift_256k(C_64K_R050, "256k-r050", long_bases::R_256K_R050),
    lift_256k(C_64K_R060, "256k-r060", long_bases::R_256K_R060),
    lift_256k(C_64K_R070, "256k-r070", long_bases::R_256K_R070),
    // Laid out wholly at random, 256k-r080 showed a floor (5 of 200 BSC
    // frames failed at f = 1.12, 3 at 1.10); with its degree-2 columns in a
    // staircase none did (0 of 200 at 1.10 and 1.12).
    LongCode {
        layout: Layout::StaircaseRandom,
        degree2_girth: None,
        ..lift_256k(C_64K_R080, "256k-r080", long_bases::R_256K_R080)
    },
    lift_256k(C_64K_R085, "256k-r085", long_bases::R_256K_R085),
    lift_256k(C_64K_R078, "256k-r078", long_bases::R_256K_R078),
    // Session 19: the same base graphs (and layouts) lifted with Z = 4096.
    lift_1m(C_64K_R050, "1M-r050", long_bases::R_1M_R050),
    lift_1m(C_64K_R060, "1M-r060", long_bases::R_1M_R060),
    lift_1m(C_64K_R070, "1M-r070", long_bases::R_1M_R070),
    // Session 23: a degree-2 forest (was the staircase hybrid of 256k-r080).
    // Native-rate failures, sum-product, 300 iterations, forest vs hybrid:
    // 19 / 1 / 0 vs 24 / 2 / 0 of 40 BSC frames at f = 1.04 / 1.05 / 1.06,
    // 21 vs 26 of 100 at 1.045.
    LongCode {
        layout: Layout::RandomForest,
        degree2_girth: None,
        ..lift_1m(C_64K_R080, "1M-r080", long_bases::R_1M_R080)
    },
    lift_1m(C_64K_R085, "1M-r085", long_bases::R_1M_R085),
    lift_1m(C_64K_R078, "1M-r078", long_bases::R_1M_R078),
    // Session 23: n = 2^20 only, appended so that wire ids stay.
    C_1M_R075,
    C_1M_R066,
    C_1M_R062,
    C_1M_R055,
    C_1M_R082,
    // Session 24: 1M-r085, r082, r080 and r078 covered 4 times (Z = 16384),
    // appended so that wire ids stay.
    cover_4m(
        C_64K_R085,
        "4M-r085",
        "1M-r085",
        Layout::RandomForest,
        long_bases::R_4M_R085,
    ),
    cover_4m(
        C_1M_R082,
        "4M-r082",
        "1M-r082",
        Layout::RandomForest,
        long_bases::R_4M_R082,
    ),
    cover_4m(
        C_64K_R080,
        "4M-r080",
        "1M-r080",
        Layout::RandomForest,
        long_bases::R_4M_R080,
    ),
    cover_4m(
        C_64K_R078,
        "4M-r078",
        "1M-r078",
        Layout::StaircaseRandom,
        long_bases::R_4M_R078,
    ),
    // Session 25: appended so that wire ids stay.
    C_1M_R084,
    cover_4m(
        C_1M_R084,
        "4M-r084",
        "1M-r084",
        Layout::RandomForest,
        long_bases::R_4M_R084,
    ),
    // Session 26: appended so that wire ids stay.
    C_1M_R085W,
    LongCode {
        name: "4M-r085w",
        n: N4M,
        z: 4 * Z_1M_WIDE,
        iterations: ITERATIONS_1M,
        cover: Some(Cover {
            of: "1M-r085w",
            seed: C_1M_R085W.seed,
        }),
        stored: Stored::Base(long_bases::R_4M_R085W),
        ..C_1M_R085W
    },
];

/// The parsed member `i` of [`LONG_CODES`] (parsed once); `None` if `i` is
/// out of range or the stored file does not parse.
pub fn long_code(i: usize) -> Option<&'static QcCode> {
    static CODES: OnceLock<Vec<Option<QcCode>>> = OnceLock::new();
    CODES
        .get_or_init(|| LONG_CODES.iter().map(|c| c.parse().ok()).collect())
        .get(i)?
        .as_ref()
}
