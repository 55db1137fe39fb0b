//! The long code family: n = 16384 quasi-cyclic LDPC codes (64 block
//! columns, Z = 256) built by QC-PEG ([`super::peg`]) and stored as alist
//! files in `src/reconcile/ldpc/alist/` (regenerate with
//! `cargo run --release --example peg_codes`; the construction is
//! documented in `docs/ldpc-long-codes.md`).
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

use super::alist::{Alist, AlistError};
use super::codes::QcCode;
use super::peg::PegSpec;
use std::sync::OnceLock;

/// Codeword length of the long family.
pub const LONG_N: usize = 16384;
/// Circulant size of the long family.
pub const LONG_Z: usize = 256;

/// One member of the long family: how it was built and its stored alist text.
#[derive(Clone, Copy, Debug)]
pub struct LongCode {
    /// Short name, also the alist file stem.
    pub name: &'static str,
    /// Block rows (m = rows · 256).
    pub rows: usize,
    /// Variable degree profile (degree, block columns).
    pub degrees: &'static [(usize, usize)],
    /// Seed of the PEG tie-breaking RNG.
    pub seed: u64,
    /// Girth the stored graph has at least (checked by the tests).
    pub girth: usize,
    /// Min-sum normalisation factor the decoder uses for this code
    /// (measured, `examples/ldpc_native_fer.rs`; high check degrees need a
    /// smaller factor).
    pub alpha: f32,
    /// The stored alist text.
    pub alist: &'static str,
}

impl LongCode {
    /// The construction spec that reproduces the stored file.
    pub fn spec(&self) -> PegSpec {
        PegSpec {
            name: format!("PEG n={LONG_N} {}", self.name),
            z: LONG_Z,
            rows: self.rows,
            degrees: self.degrees.to_vec(),
            seed: self.seed,
        }
    }

    /// Design rate 1 − m/n.
    pub fn rate(&self) -> f64 {
        1.0 - (self.rows * LONG_Z) as f64 / LONG_N as f64
    }

    /// Parses the stored alist into a QC code.
    ///
    /// # Errors
    /// An [`AlistError`] if the stored text is malformed or not QC with Z = 256.
    pub fn parse(&self) -> Result<QcCode, AlistError> {
        Alist::parse(self.alist)?.to_qc(&format!("PEG n={LONG_N} {}", self.name), LONG_Z)
    }
}

/// The family, lowest rate first (rates 1/2, 43/64 ≈ 0.672, 3/4, 53/64 ≈ 0.828).
pub const LONG_CODES: [LongCode; 4] = [
    LongCode {
        name: "r050",
        rows: 32,
        degrees: &[(2, 31), (3, 21), (8, 12)],
        seed: 1,
        girth: 8,
        alpha: super::ALPHA,
        alist: include_str!("alist/peg16384_r050.alist"),
    },
    LongCode {
        name: "r067",
        rows: 21,
        degrees: &[(2, 20), (3, 30), (11, 14)],
        seed: 2,
        girth: 6,
        alpha: 0.7,
        alist: include_str!("alist/peg16384_r067.alist"),
    },
    LongCode {
        name: "r075",
        rows: 16,
        degrees: &[(2, 15), (3, 34), (12, 15)],
        seed: 3,
        girth: 6,
        alpha: 0.7,
        alist: include_str!("alist/peg16384_r075.alist"),
    },
    LongCode {
        name: "r083",
        rows: 11,
        degrees: &[(2, 8), (3, 40), (11, 16)],
        seed: 4,
        girth: 6,
        alpha: 0.7,
        alist: include_str!("alist/peg16384_r083.alist"),
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
