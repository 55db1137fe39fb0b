//! Multi-bit equiprobable quantization with Gray coding.
//!
//! Each party estimates `2^k − 1` quantile edges from its own block, so every
//! level is (nearly) equally likely and the output bits are unbiased
//! (equiprobable quantization as in Jana et al., MobiCom 2009, §4). Levels are
//! Gray-coded (`g = l ⊕ (l ≫ 1)`; Gray, US patent 2,632,058), so a sample
//! that lands one level off at the peer — the common error for correlated
//! measurements — costs exactly one bit disagreement.

use super::guard::GuardBandQuantizer;

/// Largest supported bits per sample.
pub const MAX_BITS_PER_SAMPLE: u8 = 8;

/// Quantizer strategy, chosen at run time.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum QuantizerKind {
    /// Quantile edges per block, no samples dropped ([`EquiprobableQuantizer`]).
    Equiprobable,
    /// Quantile edges with guard bands around them; samples in a guard band at
    /// either party are dropped ([`GuardBandQuantizer`]).
    GuardBand,
}

/// Result of quantizing one block.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Quantized {
    /// One bit per byte (0 or 1): `bits_per_sample` bits for each kept sample
    /// (samples in sequence order, dropped ones skipped), MSB first.
    pub bits: Vec<u8>,
    /// Per bit: signed distance from the sample to the nearest decision edge
    /// at which this bit flips, in units of the block's sample standard
    /// deviation. Sign convention: `soft > 0` ⇔ bit = 1, `soft < 0` ⇔ bit = 0
    /// (so an LDPC log-likelihood ratio `ln P(0)/P(1)` is proportional to
    /// `−soft`). Magnitude 0 means the sample sits on the edge.
    pub soft: Vec<f32>,
    /// Bits per kept sample.
    pub bits_per_sample: u8,
}

/// A quantizer strategy (object safe, chosen at run time with
/// [`new_quantizer`]).
///
/// Protocol: each party calls [`drop_list`](Quantizer::drop_list) on its own
/// samples and sends the list; both call [`quantize`](Quantizer::quantize)
/// with the union ([`merge_drop_lists`]).
pub trait Quantizer: Send {
    /// Which strategy this is.
    fn kind(&self) -> QuantizerKind;
    /// Phase 1 (local): sorted indices of the samples this party wants to
    /// drop. The list is sent in the clear; it reveals positions only.
    fn drop_list(&self, samples: &[f64]) -> Vec<u32>;
    /// Phase 2: quantize the samples whose indices are not in `dropped` to
    /// Gray-coded bits (MSB first) with edges estimated from this party's own
    /// samples. Indices in `dropped` beyond the sample count are ignored.
    fn quantize(&self, samples: &[f64], dropped: &[u32]) -> Quantized;
}

/// Creates a quantizer with one set of edges for all samples (see
/// [`new_column_quantizer`]). `bits_per_sample` is clamped to
/// `1..=`[`MAX_BITS_PER_SAMPLE`]; `guard_fraction` (only used by
/// [`QuantizerKind::GuardBand`]) is clamped to `[0, 0.95]`, NaN meaning 0.
pub fn new_quantizer(
    kind: QuantizerKind,
    bits_per_sample: u8,
    guard_fraction: f64,
) -> Box<dyn Quantizer> {
    new_column_quantizer(kind, bits_per_sample, guard_fraction, 1)
}

/// Creates a quantizer for samples laid out row-major in `columns` columns
/// (sample `i` belongs to column `i % columns`; 0 counts as 1). Each column
/// gets its own quantile edges, so every column's bits are unbiased even when
/// the columns' distributions differ in shape (e.g. the DCT coefficients of
/// log-amplitudes): one set of edges for all would bias the bits of every
/// column whose distribution is not the pooled one.
pub fn new_column_quantizer(
    kind: QuantizerKind,
    bits_per_sample: u8,
    guard_fraction: f64,
    columns: usize,
) -> Box<dyn Quantizer> {
    let columns = columns.max(1);
    match kind {
        QuantizerKind::Equiprobable => {
            Box::new(EquiprobableQuantizer::new(bits_per_sample).with_columns(columns))
        }
        QuantizerKind::GuardBand => {
            Box::new(GuardBandQuantizer::new(bits_per_sample, guard_fraction).with_columns(columns))
        }
    }
}

/// Equiprobable k-bit quantizer: `2^k − 1` edges at the empirical quantiles
/// `i / 2^k` of the kept samples; nothing dropped.
#[derive(Clone, Debug)]
pub struct EquiprobableQuantizer {
    bits: u8,
    columns: usize,
}

impl EquiprobableQuantizer {
    /// `bits_per_sample` is clamped to `1..=`[`MAX_BITS_PER_SAMPLE`].
    pub fn new(bits_per_sample: u8) -> Self {
        Self {
            bits: bits_per_sample.clamp(1, MAX_BITS_PER_SAMPLE),
            columns: 1,
        }
    }

    /// Separate edges per column of a row-major layout with `columns` columns (0 counts as 1).
    pub fn with_columns(mut self, columns: usize) -> Self {
        self.columns = columns.max(1);
        self
    }
}

impl Quantizer for EquiprobableQuantizer {
    fn kind(&self) -> QuantizerKind {
        QuantizerKind::Equiprobable
    }

    fn drop_list(&self, _samples: &[f64]) -> Vec<u32> {
        Vec::new()
    }

    fn quantize(&self, samples: &[f64], dropped: &[u32]) -> Quantized {
        let keep = keep_mask(samples.len(), dropped);
        let scales = column_scales(samples, Some(&keep), self.columns, self.bits);
        emit(samples, &keep, &scales, self.bits)
    }
}

/// Sorted union of two drop lists, without duplicates.
pub fn merge_drop_lists(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = a.iter().chain(b).copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Gray code of a level: `l ⊕ (l ≫ 1)`.
pub fn gray_encode(level: u32) -> u32 {
    level ^ (level >> 1)
}

/// Level of a Gray code (inverse of [`gray_encode`]).
pub fn gray_decode(mut code: u32) -> u32 {
    let mut shift = code >> 1;
    while shift != 0 {
        code ^= shift;
        shift >>= 1;
    }
    code
}

/// `true` for samples that are kept.
pub(crate) fn keep_mask(n: usize, dropped: &[u32]) -> Vec<bool> {
    let mut keep = vec![true; n];
    for &d in dropped {
        if let Some(k) = keep.get_mut(d as usize) {
            *k = false;
        }
    }
    keep
}

/// Decision edges and the standard deviation used for soft values.
pub(crate) struct Scale {
    pub(crate) edges: Vec<f64>,
    pub(crate) sigma: f64,
}

impl Scale {
    /// Quantile edges `i / 2^bits` (midpoint between the neighbouring order
    /// statistics) and the population standard deviation of `values`.
    pub(crate) fn of(values: &[f64], bits: u8) -> Self {
        let levels = 1usize << bits;
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let edges = (1..levels)
            .map(|i| {
                if n < 2 {
                    return sorted.first().copied().unwrap_or(0.0);
                }
                let j = ((i * n + levels / 2) / levels).clamp(1, n - 1);
                0.5 * (sorted[j - 1] + sorted[j])
            })
            .collect();
        let sigma = if n == 0 {
            1.0
        } else {
            let mean = sorted.iter().sum::<f64>() / n as f64;
            let var = sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
            if var > 0.0 && var.is_finite() {
                var.sqrt()
            } else {
                1.0
            }
        };
        Self { edges, sigma }
    }

    /// Level of a value: number of edges strictly below it.
    pub(crate) fn level(&self, x: f64) -> usize {
        self.edges.partition_point(|e| *e < x)
    }
}

/// One [`Scale`] per column of a row-major layout (`scales.len()` columns),
/// each estimated from that column's samples (only the kept ones when `keep`
/// is given).
pub(crate) fn column_scales(
    samples: &[f64],
    keep: Option<&[bool]>,
    columns: usize,
    bits: u8,
) -> Vec<Scale> {
    let columns = columns.max(1);
    (0..columns)
        .map(|c| {
            let values: Vec<f64> = samples
                .iter()
                .enumerate()
                .skip(c)
                .step_by(columns)
                .filter(|(i, _)| keep.is_none_or(|k| k[*i]))
                .map(|(_, v)| *v)
                .collect();
            Scale::of(&values, bits)
        })
        .collect()
}

/// Gray-coded bits and soft values of the kept samples; sample `i` is
/// quantized with `scales[i % scales.len()]`.
pub(crate) fn emit(samples: &[f64], keep: &[bool], scales: &[Scale], bits: u8) -> Quantized {
    let kept = keep.iter().filter(|k| **k).count();
    let mut out = Quantized {
        bits: Vec::with_capacity(kept * bits as usize),
        soft: Vec::with_capacity(kept * bits as usize),
        bits_per_sample: bits,
    };
    let columns = scales.len().max(1);
    for (i, (&x, _)) in samples
        .iter()
        .zip(keep)
        .enumerate()
        .filter(|(_, (_, k))| **k)
    {
        let scale = &scales[i % columns];
        let inv_sigma = 1.0 / scale.sigma;
        let level = scale.level(x);
        let code = gray_encode(level as u32);
        for p in (0..bits as u32).rev() {
            let bit = ((code >> p) & 1) as u8;
            let dist = edge_distance(scale, level, x, p) * inv_sigma;
            let sign = if bit == 1 { 1.0 } else { -1.0 };
            out.bits.push(bit);
            out.soft.push((sign * dist) as f32);
        }
    }
    out
}

/// Distance from `x` (at `level`) to the nearest edge at which Gray bit `p`
/// (counted from the LSB) flips. Edge `i` (between levels `i−1` and `i`)
/// flips bit `trailing_zeros(i)`.
fn edge_distance(scale: &Scale, level: usize, x: f64, p: u32) -> f64 {
    let m = scale.edges.len(); // edges are numbered 1..=m
    let below = (1..=level.min(m))
        .rev()
        .find(|i| i.trailing_zeros() == p)
        .map(|i| x - scale.edges[i - 1]);
    let above = (level + 1..=m)
        .find(|i| i.trailing_zeros() == p)
        .map(|i| scale.edges[i - 1] - x);
    match (below, above) {
        (Some(a), Some(b)) => a.abs().min(b.abs()),
        (Some(a), None) | (None, Some(a)) => a.abs(),
        (None, None) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_roundtrip() {
        for l in 0..256 {
            assert_eq!(gray_decode(gray_encode(l)), l);
        }
    }

    #[test]
    fn soft_distance_uses_deciding_edge() {
        // 2 bits, edges at -1, 0, 1; sigma forced to 1.
        let scale = Scale {
            edges: vec![-1.0, 0.0, 1.0],
            sigma: 1.0,
        };
        let q = emit(&[0.25], &[true], std::slice::from_ref(&scale), 2);
        // Level 2 → Gray 11. MSB flips only at edge 2 (x=0): distance 0.25.
        // LSB flips at edges 1 and 3 (x=-1, x=1): nearest is 1 → 0.75.
        assert_eq!(q.bits, vec![1, 1]);
        assert!((q.soft[0] - 0.25).abs() < 1e-6);
        assert!((q.soft[1] - 0.75).abs() < 1e-6);
        let q = emit(&[-1.5], &[true], std::slice::from_ref(&scale), 2);
        // Level 0 → Gray 00: MSB edge at 0 (1.5 away), LSB edge at -1 (0.5).
        assert_eq!(q.bits, vec![0, 0]);
        assert!((q.soft[0] + 1.5).abs() < 1e-6);
        assert!((q.soft[1] + 0.5).abs() < 1e-6);
    }
}
