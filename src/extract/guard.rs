//! Guard-band quantization.
//!
//! Samples close to a decision edge are the ones most likely to land on
//! different sides at Alice and Bob. Mathur et al. ("Radio-telepathy",
//! MobiCom 2008, §4.1) set thresholds at mean ± α·σ and drop what falls in
//! between; Jana et al. (MobiCom 2009, §4, adaptive secret bit generation)
//! extend this to several bits per sample with equiprobable intervals.
//!
//! Here guard bands are defined in probability, so that every level keeps the
//! same mass and the Gray-coded bits stay unbiased: each of the `2^k`
//! equiprobable levels gives up the fraction `guard_fraction` of its own
//! samples at the end(s) facing a decision edge — inner levels half of it at
//! each end, the two outer levels all of it at their single inner end. So a
//! party drops exactly `guard_fraction` of its samples, every interior edge
//! is surrounded by a guard of at least `guard_fraction / 2^(k+1)` of
//! probability on each side (twice that on the outer side of the first and
//! last edge), and the kept levels remain equiprobable. (A symmetric guard
//! around each edge would drop only one side of the outer levels, making
//! them more frequent than inner ones and biasing the bits.) For `k = 1` this
//! is Mathur's rule with `α = Φ⁻¹(½ + guard_fraction/2)` for Gaussian
//! samples. Each party sends its drop list; both drop the union.

use super::quantize::MAX_BITS_PER_SAMPLE;
use super::quantize::{column_scales, emit, keep_mask, Quantized, Quantizer, QuantizerKind};

/// Largest accepted guard fraction.
const MAX_GUARD: f64 = 0.95;

/// Multi-bit quantizer with guard bands around equiprobable edges.
#[derive(Clone, Debug)]
pub struct GuardBandQuantizer {
    bits: u8,
    guard: f64,
    columns: usize,
}

impl GuardBandQuantizer {
    /// `bits_per_sample` is clamped to `1..=`[`MAX_BITS_PER_SAMPLE`],
    /// `guard_fraction` to `[0, 0.95]` (NaN → 0).
    pub fn new(bits_per_sample: u8, guard_fraction: f64) -> Self {
        let guard = if guard_fraction.is_nan() {
            0.0
        } else {
            guard_fraction.clamp(0.0, MAX_GUARD)
        };
        Self {
            bits: bits_per_sample.clamp(1, MAX_BITS_PER_SAMPLE),
            guard,
            columns: 1,
        }
    }

    /// Separate edges and guard bands per column of a row-major layout with
    /// `columns` columns (0 counts as 1).
    pub fn with_columns(mut self, columns: usize) -> Self {
        self.columns = columns.max(1);
        self
    }

    /// The guard fraction in use (after clamping).
    pub fn guard_fraction(&self) -> f64 {
        self.guard
    }
}

impl Quantizer for GuardBandQuantizer {
    fn kind(&self) -> QuantizerKind {
        QuantizerKind::GuardBand
    }

    fn drop_list(&self, samples: &[f64]) -> Vec<u32> {
        if samples.is_empty() || self.guard == 0.0 {
            return Vec::new();
        }
        let mut out: Vec<u32> = (0..self.columns)
            .flat_map(|c| self.column_drops(samples, c))
            .collect();
        out.sort_unstable();
        out
    }

    fn quantize(&self, samples: &[f64], dropped: &[u32]) -> Quantized {
        // Edges from the whole column, so they sit in the middle of this
        // party's guard bands.
        let scales = column_scales(samples, None, self.columns, self.bits);
        let keep = keep_mask(samples.len(), dropped);
        emit(samples, &keep, &scales, self.bits)
    }
}

impl GuardBandQuantizer {
    /// Indices (into the whole block) of column `c`'s samples that fall in a guard band.
    fn column_drops(&self, samples: &[f64], c: usize) -> Vec<u32> {
        let order_all: Vec<u32> = (c..samples.len())
            .step_by(self.columns)
            .map(|i| i as u32)
            .collect();
        let n = order_all.len();
        if n == 0 {
            return Vec::new();
        }
        let levels = 1usize << self.bits;
        let (alpha, half) = (self.guard, 0.5 * self.guard);
        let mut order = order_all;
        order.sort_by(|&a, &b| samples[a as usize].total_cmp(&samples[b as usize]));
        order
            .iter()
            .enumerate()
            .filter(|(rank, _)| {
                // Position in the empirical CDF, split into level and
                // position within the level.
                let u = (*rank as f64 + 0.5) / n as f64 * levels as f64;
                let level = (u.floor() as usize).min(levels - 1);
                let f = u - level as f64;
                if level == 0 {
                    f > 1.0 - alpha
                } else if level == levels - 1 {
                    f < alpha
                } else {
                    f < half || f > 1.0 - half
                }
            })
            .map(|(_, &idx)| idx)
            .collect()
    }
}
