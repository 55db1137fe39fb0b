//! The machine-readable run report (fixed interface, ARCHITECTURE.md
//! "Machine-readable report"; fields may be added, never changed) and the
//! human-readable summary.

use serde::Serialize;

use super::keygen::KeygenOutcome;
use crate::reconcile::binary_entropy;

/// Eve's view, when an eavesdropper ran.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EveReport {
    /// Eve's raw-bit disagreement with Alice before reconciliation.
    pub bit_disagreement: f64,
    /// Fraction of final-key bits Eve guessed right (0.5 = chance).
    pub final_key_bit_agreement: f64,
    /// Final-key bits compared.
    pub compared_key_bits: u64,
    /// Reconciled bits Eve fixed from the disclosed parities (her own
    /// measurement gives the rest).
    pub parity_determined_bits: u64,
    /// Reconciled bits of the blocks Eve followed.
    pub reconciled_bits: u64,
}

/// A refill carried out at the end of a run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RefillReport {
    /// Bytes of quantum key delivered.
    pub bytes: u64,
    /// Wrapping: "aes-kw" or "otp".
    pub wrap: String,
    /// The peer's copies equal the terminal's unwrapped keys.
    pub verified: bool,
}

/// One refused block, for the reader.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RefusalReport {
    /// Block number.
    pub block: u32,
    /// Reason code.
    pub reason: String,
    /// The numbers behind it.
    pub detail: String,
}

/// The report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// Probe exchanges attempted.
    pub probes: u64,
    /// Exchanges both Alice and Bob measured and used.
    pub pairs: u64,
    /// Air time the probing covered, seconds.
    pub channel_seconds: f64,
    /// Quantized bits (all blocks).
    pub raw_bits: u64,
    /// Alice–Bob disagreement of raw bits before reconciliation.
    pub bit_disagreement: f64,
    /// "cascade" or "ldpc".
    pub reconciler: String,
    /// Bits disclosed on the public channel.
    pub leaked_bits: u64,
    /// Frames on the public channel.
    pub messages: u64,
    /// leaked / (bits reconciled · h2(disagreement)) over reconciled blocks.
    pub efficiency: f64,
    /// SP 800-90B min-entropy per raw bit (weighted over blocks).
    pub min_entropy_per_bit: f64,
    /// Confirmed final key bits.
    pub final_key_bits: u64,
    /// final_key_bits / channel_seconds.
    pub key_rate_bps: f64,
    /// Every block's key is the same on both sides (true when no keys).
    pub keys_match: bool,
    /// At least one key, and every key was confirmed by both sides.
    pub confirmed: bool,
    /// Present when an eavesdropper ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eve: Option<EveReport>,
    /// Present when a refill ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refill: Option<RefillReport>,
    /// Wall-clock time of the run.
    pub wall_seconds: f64,
    /// Extension: the simulator's secret-key-capacity estimate, bit/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_bps: Option<f64>,
    /// Extension: blocks attempted.
    pub blocks: u64,
    /// Extension: why blocks gave no key.
    pub refusals: Vec<RefusalReport>,
    /// Extension: set when the session aborted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
    /// Extension: the scenario or trace the run used.
    pub source: String,
}

fn agreement(a: &[u8], b: &[u8]) -> (u64, u64) {
    let n = a.len().min(b.len());
    let same = a[..n].iter().zip(&b[..n]).filter(|(x, y)| x == y).count();
    (same as u64, n as u64)
}

/// Builds the report from a finished run. `bob_raw` maps block → Bob's raw
/// bits when the run kept them (simulation), for the true disagreement.
pub fn build(
    out: &KeygenOutcome,
    reconciler: &str,
    probes: u64,
    channel_seconds: f64,
    wall_seconds: f64,
    source: String,
) -> Report {
    let alice_stats: Vec<_> = out
        .alice
        .keys
        .iter()
        .map(|k| &k.stats)
        .chain(out.alice.refusals.iter().map(|r| &r.stats))
        .collect();
    let bob_stats: Vec<_> = out
        .bob
        .keys
        .iter()
        .map(|k| &k.stats)
        .chain(out.bob.refusals.iter().map(|r| &r.stats))
        .collect();
    let pairs = alice_stats.iter().map(|s| s.pairs as u64).sum();
    let raw_bits = alice_stats.iter().map(|s| s.raw_bits).sum();
    let leaked_bits = alice_stats.iter().map(|s| s.leaked_bits).sum();
    let messages = alice_stats.iter().map(|s| s.messages as u64).sum();
    // True disagreement from both sides' raw bits where kept, else from Bob's corrections.
    let (mut diff, mut total) = (0u64, 0u64);
    for a in &alice_stats {
        let b = bob_stats.iter().find(|b| b.block == a.block);
        if let (Some(ra), Some(rb)) = (&a.raw, b.and_then(|b| b.raw.as_ref())) {
            let (same, n) = agreement(ra, rb);
            diff += n - same;
            total += n;
        } else if a.reconciled_bits > 0 {
            diff += a.errors;
            total += a.reconciled_bits;
        }
    }
    let bit_disagreement = if total > 0 {
        diff as f64 / total as f64
    } else {
        0.0
    };
    let (mut rec_leak, mut ideal) = (0f64, 0f64);
    for s in alice_stats
        .iter()
        .filter(|s| s.reconciled_bits > 0 && s.errors > 0)
    {
        rec_leak += s.leaked_bits as f64;
        ideal +=
            s.reconciled_bits as f64 * binary_entropy(s.errors as f64 / s.reconciled_bits as f64);
    }
    let efficiency = if ideal > 0.0 { rec_leak / ideal } else { 0.0 };
    let (mut hw, mut hb) = (0f64, 0f64);
    for s in alice_stats.iter().filter(|s| s.min_entropy_per_bit > 0.0) {
        hw += s.min_entropy_per_bit * s.reconciled_bits as f64;
        hb += s.reconciled_bits as f64;
    }
    let final_key_bits: u64 = out.alice.keys.iter().map(|k| k.key.bit_len() as u64).sum();
    let keys_match = out.alice.keys.len() == out.bob.keys.len()
        && out.alice.keys.iter().zip(&out.bob.keys).all(|(a, b)| {
            a.stats.block == b.stats.block && crate::ct_eq(a.key.as_bytes(), b.key.as_bytes())
        });
    let confirmed = !out.alice.keys.is_empty() && keys_match;
    let eve = (!out.eve.is_empty()).then(|| {
        let (mut rs, mut rn, mut ks, mut kn) = (0, 0, 0, 0);
        for e in &out.eve {
            if let Some(a) = alice_stats.iter().find(|a| a.block == e.block) {
                if let Some(ra) = &a.raw {
                    let (s, n) = agreement(ra, &e.raw_bits);
                    rs += s;
                    rn += n;
                }
            }
            if let (Some(ek), Some(ak)) = (
                &e.key_bits,
                out.alice.keys.iter().find(|k| k.stats.block == e.block),
            ) {
                let (s, n) = agreement(&crate::session::party::key_bits(&ak.key), ek);
                ks += s;
                kn += n;
            }
        }
        EveReport {
            bit_disagreement: if rn > 0 {
                1.0 - rs as f64 / rn as f64
            } else {
                0.5
            },
            final_key_bit_agreement: if kn > 0 { ks as f64 / kn as f64 } else { 0.5 },
            compared_key_bits: kn,
            parity_determined_bits: out.eve.iter().map(|e| e.parity_determined_bits).sum(),
            reconciled_bits: out.eve.iter().map(|e| e.reconciled_bits).sum(),
        }
    });
    let mut refusals: Vec<RefusalReport> = out
        .alice
        .refusals
        .iter()
        .map(|r| RefusalReport {
            block: r.stats.block,
            reason: format!("{:?}", r.reason),
            detail: r.detail.clone(),
        })
        .collect();
    refusals.sort_by_key(|r| r.block);
    Report {
        probes,
        pairs,
        channel_seconds,
        raw_bits,
        bit_disagreement,
        reconciler: reconciler.to_string(),
        leaked_bits,
        messages,
        efficiency,
        min_entropy_per_bit: if hb > 0.0 { hw / hb } else { 0.0 },
        final_key_bits,
        key_rate_bps: if channel_seconds > 0.0 {
            final_key_bits as f64 / channel_seconds
        } else {
            0.0
        },
        keys_match,
        confirmed,
        eve,
        refill: None,
        wall_seconds,
        capacity_bps: None,
        blocks: alice_stats.len() as u64,
        refusals,
        aborted: out.alice.aborted.clone().or(out.bob.aborted.clone()),
        source,
    }
}

impl Report {
    /// Human-readable summary.
    pub fn summary(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "qwave run on {}", self.source);
        let _ = writeln!(
            s,
            "  probing        {} exchanges over {:.1} s of air time, {} paired",
            self.probes, self.channel_seconds, self.pairs
        );
        let _ = writeln!(
            s,
            "  raw bits       {} ({:.2}% Alice–Bob disagreement before reconciliation)",
            self.raw_bits,
            100.0 * self.bit_disagreement
        );
        let _ = writeln!(
            s,
            "  reconciliation {}: {} bits leaked in {} messages, efficiency {:.3}",
            self.reconciler, self.leaked_bits, self.messages, self.efficiency
        );
        let _ = writeln!(
            s,
            "  min-entropy    {:.3} bit per raw bit (SP 800-90B estimators, minimum)",
            self.min_entropy_per_bit
        );
        let _ = writeln!(
            s,
            "  final key      {} bits in {} of {} blocks → {:.1} bit/s",
            self.final_key_bits,
            self.blocks as usize - self.refusals.len(),
            self.blocks,
            self.key_rate_bps
        );
        if let Some(c) = self.capacity_bps {
            let _ = writeln!(
                s,
                "  capacity       {c:.1} bit/s secret-key capacity estimate of the channel ({:.1}% reached)",
                if c > 0.0 { 100.0 * self.key_rate_bps / c } else { 0.0 }
            );
        }
        let _ = writeln!(
            s,
            "  keys match     {}   confirmed {}",
            self.keys_match, self.confirmed
        );
        if let Some(e) = &self.eve {
            let _ = writeln!(
                s,
                "  eve            {:.1}% raw-bit disagreement; {} of {} reconciled bits fixed from the public parities; {:.1}% of {} final-key bits right (50% = chance)",
                100.0 * e.bit_disagreement,
                e.parity_determined_bits,
                e.reconciled_bits,
                100.0 * e.final_key_bit_agreement,
                e.compared_key_bits
            );
        }
        if let Some(r) = &self.refill {
            let _ = writeln!(
                s,
                "  refill         {} bytes wrapped with {}, verified {}",
                r.bytes, r.wrap, r.verified
            );
        }
        for r in &self.refusals {
            let _ = writeln!(s, "  no key: {}", r.detail);
        }
        if let Some(a) = &self.aborted {
            let _ = writeln!(s, "  ABORTED: {a}");
        }
        let _ = write!(s, "  wall time      {:.2} s", self.wall_seconds);
        s
    }
}
