//! Numbers behind the figures: per-party amplitude matrices, Alice–Bob and
//! Alice–Eve correlations (Pearson) per subcarrier and over time, and
//! per-block key-generation records.

use crate::capture::{pair_by_seq, CsiTrace, PartyTrace, TraceKind};
use crate::pipeline::keygen::KeygenOutcome;
use crate::reconcile::binary_entropy;
use crate::session::eve::EveBlock;
use crate::session::party::key_bits;

/// One party's channel amplitude per probe and subcarrier.
#[derive(Clone, Debug, Default)]
pub struct Amplitudes {
    /// Probe-exchange numbers, one per row.
    pub seq: Vec<u64>,
    /// Receive times, seconds.
    pub t: Vec<f64>,
    /// Column labels: subcarrier indices (CSI) or `[0]` (RSSI).
    pub columns: Vec<i16>,
    /// Row-major values: 20·log10|H| in dB (CSI) or RSSI in dBm.
    pub db: Vec<f32>,
}

impl Amplitudes {
    /// Rows.
    pub fn rows(&self) -> usize {
        self.seq.len()
    }

    /// One row.
    pub fn row(&self, i: usize) -> &[f32] {
        let k = self.columns.len();
        &self.db[i * k..(i + 1) * k]
    }
}

/// Amplitudes of one party of a trace.
pub fn amplitudes(trace: &CsiTrace, p: &PartyTrace) -> Amplitudes {
    match trace.kind {
        TraceKind::Rssi => Amplitudes {
            seq: p.seq.clone(),
            t: p.t.clone(),
            columns: vec![0],
            db: p.rssi.clone(),
        },
        TraceKind::Csi => Amplitudes {
            seq: p.seq.clone(),
            t: p.t.clone(),
            columns: p.subcarriers.clone(),
            db: p
                .csi
                .iter()
                .map(|h| 10.0 * h.norm_sqr().max(1e-12).log10())
                .collect(),
        },
    }
}

/// Pearson correlation of paired samples (None with fewer than 3 pairs or a
/// constant side).
pub fn pearson(pairs: impl Iterator<Item = (f64, f64)>) -> Option<f64> {
    let (mut n, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
    for (x, y) in pairs {
        if x.is_finite() && y.is_finite() {
            n += 1.0;
            sx += x;
            sy += y;
            sxx += x * x;
            syy += y * y;
            sxy += x * y;
        }
    }
    if n < 3.0 {
        return None;
    }
    let vx = sxx - sx * sx / n;
    let vy = syy - sy * sy / n;
    let c = sxy - sx * sy / n;
    (vx > 0.0 && vy > 0.0).then(|| (c / (vx * vy).sqrt()).clamp(-1.0, 1.0))
}

/// Rows of `a` and `b` measured in the same exchange (pairing by `seq`).
pub fn paired(a: &Amplitudes, b: &Amplitudes) -> Vec<(usize, usize)> {
    let pa = PartyTrace {
        seq: a.seq.clone(),
        ..PartyTrace::new("a")
    };
    let pb = PartyTrace {
        seq: b.seq.clone(),
        ..PartyTrace::new("b")
    };
    pair_by_seq(&pa, &pb)
}

/// Correlation over time of each column (subcarrier) between two parties.
pub fn correlation_per_column(a: &Amplitudes, b: &Amplitudes) -> Vec<Option<f64>> {
    let pairs = paired(a, b);
    let k = a.columns.len().min(b.columns.len());
    (0..k)
        .map(|j| {
            pearson(
                pairs
                    .iter()
                    .map(|&(i, m)| (f64::from(a.row(i)[j]), f64::from(b.row(m)[j]))),
            )
        })
        .collect()
}

/// Correlation in consecutive windows of `window` paired exchanges: each
/// column's window mean is removed, then all columns are pooled. Returns
/// (window mid time in seconds, correlation).
pub fn correlation_over_time(
    a: &Amplitudes,
    b: &Amplitudes,
    window: usize,
) -> Vec<(f64, Option<f64>)> {
    let pairs = paired(a, b);
    let k = a.columns.len().min(b.columns.len());
    let window = window.max(3);
    let t0 = a.t.first().copied().unwrap_or(0.0);
    pairs
        .chunks(window)
        .filter(|c| c.len() >= 3)
        .map(|c| {
            let mid = a.t[c[c.len() / 2].0] - t0;
            let mut ma = vec![0f64; k];
            let mut mb = vec![0f64; k];
            for &(i, m) in c {
                for j in 0..k {
                    ma[j] += f64::from(a.row(i)[j]);
                    mb[j] += f64::from(b.row(m)[j]);
                }
            }
            let n = c.len() as f64;
            let r = pearson(c.iter().flat_map(|&(i, m)| {
                let (ma, mb) = (&ma, &mb);
                (0..k).map(move |j| {
                    (
                        f64::from(a.row(i)[j]) - ma[j] / n,
                        f64::from(b.row(m)[j]) - mb[j] / n,
                    )
                })
            }));
            (mid, r)
        })
        .collect()
}

/// One key block as both parties (and Eve) saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockRecord {
    /// Block number.
    pub block: u32,
    /// Air time at the end of the block, seconds (cumulative paired
    /// exchanges over the exchange rate).
    pub end_time_s: f64,
    /// Exchanges both parties held.
    pub pairs: u32,
    /// Raw quantized bits.
    pub raw_bits: u64,
    /// Alice–Bob raw-bit disagreement before reconciliation (None when Bob's
    /// raw bits were not kept).
    pub disagreement: Option<f64>,
    /// Bits that entered reconciliation.
    pub reconciled_bits: u64,
    /// Bits Bob corrected.
    pub errors: u64,
    /// Bits disclosed (sample, reconciliation, statistics).
    pub leaked_bits: u64,
    /// Shannon limit n·h2(errors/n) of the reconciled string.
    pub ideal_leak_bits: f64,
    /// leaked / (n·h2(e)) (None when the block had no errors).
    pub efficiency: Option<f64>,
    /// Final key bits (0 when refused).
    pub final_bits: u64,
    /// Eve's raw-bit disagreement with Alice.
    pub eve_disagreement: Option<f64>,
    /// Fraction of the final key Eve guessed right.
    pub eve_key_agreement: Option<f64>,
}

/// Fraction of equal positions over the common length (None if empty).
pub fn agreement(a: &[u8], b: &[u8]) -> Option<(u64, u64)> {
    let n = a.len().min(b.len());
    (n > 0).then(|| {
        let same = a[..n].iter().zip(&b[..n]).filter(|(x, y)| x == y).count();
        (same as u64, n as u64)
    })
}

/// Per-block records of a run (Alice's accounting), with Eve's blocks where
/// given. `rate_hz` converts paired exchanges to air time.
pub fn block_records(out: &KeygenOutcome, eve: &[EveBlock], rate_hz: f64) -> Vec<BlockRecord> {
    let mut stats: Vec<_> = out
        .alice
        .keys
        .iter()
        .map(|k| (&k.stats, Some(&k.key)))
        .chain(out.alice.refusals.iter().map(|r| (&r.stats, None)))
        .collect();
    stats.sort_by_key(|(s, _)| s.block);
    let bob = |block| {
        out.bob
            .keys
            .iter()
            .map(|k| &k.stats)
            .chain(out.bob.refusals.iter().map(|r| &r.stats))
            .find(|s| s.block == block)
    };
    let mut pairs_so_far = 0u64;
    stats
        .into_iter()
        .map(|(s, key)| {
            pairs_so_far += u64::from(s.pairs);
            let disagreement = s
                .raw
                .as_deref()
                .zip(bob(s.block).and_then(|b| b.raw.as_deref()))
                .and_then(|(a, b)| agreement(a, b))
                .map(|(same, n)| 1.0 - same as f64 / n as f64);
            let e = eve.iter().find(|e| e.block == s.block);
            let eve_disagreement = e
                .zip(s.raw.as_deref())
                .and_then(|(e, a)| agreement(a, &e.raw_bits))
                .map(|(same, n)| 1.0 - same as f64 / n as f64);
            let eve_key_agreement = e
                .and_then(|e| e.key_bits.as_deref())
                .zip(key)
                .and_then(|(ek, k)| agreement(&key_bits(k), ek))
                .map(|(same, n)| same as f64 / n as f64);
            let ideal = if s.reconciled_bits > 0 {
                s.reconciled_bits as f64
                    * binary_entropy(s.errors as f64 / s.reconciled_bits as f64)
            } else {
                0.0
            };
            BlockRecord {
                block: s.block,
                end_time_s: if rate_hz > 0.0 {
                    pairs_so_far as f64 / rate_hz
                } else {
                    0.0
                },
                pairs: s.pairs,
                raw_bits: s.raw_bits,
                disagreement,
                reconciled_bits: s.reconciled_bits,
                errors: s.errors,
                leaked_bits: s.leaked_bits,
                ideal_leak_bits: ideal,
                efficiency: (ideal > 0.0).then(|| s.leaked_bits as f64 / ideal),
                final_bits: key.map_or(0, |k| k.bit_len() as u64),
                eve_disagreement,
                eve_key_agreement,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_known_values() {
        let r = pearson((0..10).map(|i| (i as f64, 2.0 * i as f64 + 1.0))).unwrap();
        assert!((r - 1.0).abs() < 1e-12);
        let r = pearson((0..10).map(|i| (i as f64, -(i as f64)))).unwrap();
        assert!((r + 1.0).abs() < 1e-12);
        assert!(pearson([(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)].into_iter()).is_none());
    }
}
