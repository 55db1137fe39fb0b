//! The lab report: the fixed machine-readable [`Report`] of one party plus
//! lab extensions (role, radio, probe statistics, key fingerprint).

use serde::Serialize;
use sha3::{Digest, Sha3_256};

use super::{LabOutcome, LabRole, ProbeStats, Schedule};
use crate::pipeline::keygen::{KeyBlock, KeygenOutcome, PartyOutcome};
use crate::pipeline::report::{self, Report};

/// Domain separator of [`key_fingerprint`].
pub const FINGERPRINT_DOMAIN: &[u8] = b"qwave-lab-key-fingerprint-v1";

/// One party's lab report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LabReport {
    /// The fixed report fields (ARCHITECTURE.md "Machine-readable report").
    #[serde(flatten)]
    pub report: Report,
    /// Extension: this process's role.
    pub role: LabRole,
    /// Extension: the radio used.
    pub radio: String,
    /// Extension: keys released (confirmed blocks of a clean run).
    pub keys: u64,
    /// Extension: SHA3-256 fingerprint (hex) of the released keys — a hash,
    /// never the key; equal on both sides when they hold the same keys.
    /// `null` when no key was released.
    pub key_fingerprint: Option<String>,
    /// Extension: the radio side of the run.
    pub probe_stats: ProbeStats,
    /// Extension: the calibration file applied (`calibration/<serial>.toml`),
    /// `null` when none was found.
    pub calibration: Option<String>,
}

/// SHA3-256 over the domain separator and, per key, block number, bit
/// length and bytes. Reveals nothing usable about the keys beyond equality.
pub fn key_fingerprint(keys: &[KeyBlock]) -> String {
    let mut h = Sha3_256::new();
    h.update(FINGERPRINT_DOMAIN);
    for k in keys {
        h.update(k.stats.block.to_be_bytes());
        h.update((k.key.bit_len() as u64).to_be_bytes());
        h.update(k.key.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Builds the report of one party. A key counts as matching when it passed
/// key confirmation with the peer (the session emits no other key). When the
/// session aborted or the radio failed, no key is released: `keys` is 0, the
/// fingerprint `null`, `confirmed` false, and `aborted` says why.
pub fn build(
    role: LabRole,
    radio: String,
    out: LabOutcome,
    sched: &Schedule,
    wall_seconds: f64,
    reconciler: &str,
) -> LabReport {
    let LabOutcome {
        party,
        probes,
        radio_error,
    } = out;
    let aborted = party.aborted.clone().or(radio_error);
    let keygen = KeygenOutcome {
        alice: party,
        bob: PartyOutcome::default(),
        eve: Vec::new(),
    };
    let mut r = report::build(
        &keygen,
        reconciler,
        sched.exchanges,
        sched.channel_seconds(),
        wall_seconds,
        format!("lab run as {} on {radio}", role.name()),
    );
    let keys = &keygen.alice.keys;
    let clean = aborted.is_none();
    r.keys_match = true;
    r.confirmed = clean && !keys.is_empty();
    r.aborted = aborted;
    if !clean {
        r.final_key_bits = 0;
        r.key_rate_bps = 0.0;
    }
    LabReport {
        report: r,
        role,
        radio,
        keys: if clean { keys.len() as u64 } else { 0 },
        key_fingerprint: (clean && !keys.is_empty()).then(|| key_fingerprint(keys)),
        probe_stats: probes,
        calibration: None,
    }
}
