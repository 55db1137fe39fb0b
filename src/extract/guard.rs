//! Guard-band quantization.
//!
//! Samples close to a decision edge are the ones most likely to land on
//! different sides at Alice and Bob. Mathur et al. ("Radio-telepathy",
//! MobiCom 2008, §4.1) set thresholds at mean ± α·σ and drop what falls in
//! between; Jana et al. (MobiCom 2009, §4, adaptive secret bit generation)
//! extend this to several bits per sample with equiprobable intervals. Here
//! the guard bands are defined in probability: around each of the `2^k − 1`
//! quantile edges `i / 2^k`, the samples whose empirical CDF lies within
//! `± guard_fraction / 2^(k+1)` of the edge are dropped, i.e. a fraction
//! `guard_fraction` of every interior edge's neighbouring probability mass
//! `1 / 2^k`, and `guard_fraction · (2^k − 1) / 2^k` of all samples locally.
//! Each party sends its drop list; both drop the union.

use super::quantize::MAX_BITS_PER_SAMPLE;
use super::quantize::{emit, keep_mask, Quantized, Quantizer, QuantizerKind, Scale};

/// Largest accepted guard fraction.
const MAX_GUARD: f64 = 0.95;

/// Multi-bit quantizer with guard bands around equiprobable edges.
#[derive(Clone, Debug)]
pub struct GuardBandQuantizer {
    bits: u8,
    guard: f64,
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
        }
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
        let n = samples.len();
        if n == 0 || self.guard == 0.0 {
            return Vec::new();
        }
        let levels = (1usize << self.bits) as f64;
        let half_width = self.guard / (2.0 * levels);
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by(|&a, &b| samples[a as usize].total_cmp(&samples[b as usize]));
        let mut out: Vec<u32> = order
            .iter()
            .enumerate()
            .filter(|(rank, _)| {
                let u = (*rank as f64 + 0.5) / n as f64;
                let edge = (u * levels).round().clamp(1.0, levels - 1.0);
                (u - edge / levels).abs() < half_width
            })
            .map(|(_, &idx)| idx)
            .collect();
        out.sort_unstable();
        out
    }

    fn quantize(&self, samples: &[f64], dropped: &[u32]) -> Quantized {
        // Edges from the whole block, so they sit in the middle of this
        // party's guard bands.
        let scale = Scale::of(samples, self.bits);
        let keep = keep_mask(samples.len(), dropped);
        emit(samples, &keep, &scale, self.bits)
    }
}
