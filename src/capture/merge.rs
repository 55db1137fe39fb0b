//! Merging per-process lab recordings into one trace: each `qwave lab`
//! process records only its own measurements (`alice.h5` holds rows in
//! `/alice`, `bob.h5` in `/bob`, Eve's files in `/eve`); replay needs both
//! sides in one file (ARCHITECTURE.md, "HDF5 CSI trace": pairing by `seq`).

use super::trace::{CsiTrace, PartyTrace, TraceKind};
use super::CaptureError;

/// Carriers closer than this are the same frequency (Hz).
const FREQUENCY_TOLERANCE_HZ: f64 = 1.0;

/// Why traces cannot be merged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// A trace lacks the party it was given for (e.g. Bob's file as Alice's).
    #[error("{input}: no rows in group /{party} (inputs are ALICE BOB [EVE], in that order)")]
    MissingParty {
        /// Which input (`"alice"`, `"bob"`, `"eve"`).
        input: &'static str,
        /// The group that should hold its rows.
        party: String,
    },
    /// The traces are of different kinds (csi vs rssi).
    #[error("kind differs: {alice} in alice's trace, {other} in {input}'s")]
    Kind {
        /// Alice's kind.
        alice: &'static str,
        /// The other kind.
        other: &'static str,
        /// Which input differs.
        input: &'static str,
    },
    /// The CSI columns differ.
    #[error("subcarriers differ between alice's trace and {input}'s ({alice} vs {other} columns)")]
    Subcarriers {
        /// Which input differs.
        input: &'static str,
        /// Alice's column count.
        alice: usize,
        /// The other column count.
        other: usize,
    },
    /// The carriers differ.
    #[error("center frequency differs: {alice} Hz in alice's trace, {other} Hz in {input}'s")]
    Frequency {
        /// Alice's carrier.
        alice: f64,
        /// The other carrier.
        other: f64,
        /// Which input differs.
        input: &'static str,
    },
    /// Alice and Bob measured no common exchange.
    #[error("alice's and bob's rows share no seq: nothing to pair")]
    NoPairs,
    /// The merged trace breaks the schema.
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

/// What a merge kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeStats {
    /// Rows in Alice's input group.
    pub alice_rows: usize,
    /// Rows in Bob's input group.
    pub bob_rows: usize,
    /// Exchanges both measured (rows kept per side).
    pub pairs: usize,
    /// Eve's rows kept (those of paired exchanges).
    pub eve_rows: usize,
}

/// Merges `/alice` of `alice`, `/bob` of `bob` and (optionally) the first
/// non-empty `eve*` group of `eve` into one trace, keeping only the
/// exchanges both Alice and Bob measured, in `seq` order. Eve's `observes`
/// attribute is kept.
///
/// # Errors
/// [`MergeError`] naming the mismatch: a missing party, differing kind,
/// subcarriers or carrier, or no common `seq`.
pub fn merge_traces(
    alice: &CsiTrace,
    bob: &CsiTrace,
    eve: Option<&CsiTrace>,
) -> Result<(CsiTrace, MergeStats), MergeError> {
    let a = rows_of(alice, "alice", "alice")?;
    let b = rows_of(bob, "bob", "bob")?;
    let e = match eve {
        Some(t) => Some((
            t,
            t.parties
                .iter()
                .find(|p| p.name.starts_with("eve") && !p.is_empty())
                .ok_or(MergeError::MissingParty {
                    input: "eve",
                    party: "eve".into(),
                })?,
        )),
        None => None,
    };
    let mut others: Vec<(&'static str, &CsiTrace, &PartyTrace)> = vec![("bob", bob, b)];
    if let Some((t, p)) = e {
        others.push(("eve", t, p));
    }
    for (input, t, p) in &others {
        if t.kind != alice.kind {
            return Err(MergeError::Kind {
                alice: alice.kind.as_str(),
                other: t.kind.as_str(),
                input,
            });
        }
        if alice.kind == TraceKind::Csi && p.subcarriers != a.subcarriers {
            return Err(MergeError::Subcarriers {
                input,
                alice: a.subcarriers.len(),
                other: p.subcarriers.len(),
            });
        }
        let (fa, fo) = (alice.center_frequency_hz, t.center_frequency_hz);
        let same = (fa.is_nan() && fo.is_nan()) || (fa - fo).abs() <= FREQUENCY_TOLERANCE_HZ;
        if !same {
            return Err(MergeError::Frequency {
                alice: fa,
                other: fo,
                input,
            });
        }
    }
    let seq_b: std::collections::HashSet<u64> = b.seq.iter().copied().collect();
    let mut common: Vec<u64> = a
        .seq
        .iter()
        .copied()
        .filter(|s| seq_b.contains(s))
        .collect();
    common.sort_unstable();
    common.dedup();
    if common.is_empty() {
        return Err(MergeError::NoPairs);
    }
    let keep: std::collections::HashSet<u64> = common.iter().copied().collect();
    let mut parties = vec![select(alice.kind, a, &keep), select(alice.kind, b, &keep)];
    let mut eve_rows = 0;
    if let Some((_, p)) = e {
        let mut pe = select(alice.kind, p, &keep);
        eve_rows = pe.len();
        pe.name = "eve".into();
        parties.push(pe);
    }
    let merged = CsiTrace {
        kind: alice.kind,
        center_frequency_hz: alice.center_frequency_hz,
        bandwidth_hz: alice.bandwidth_hz,
        source: format!(
            "merged: alice from [{}]; bob from [{}]",
            alice.source, bob.source
        ),
        parties,
    };
    merged.validate()?;
    Ok((
        merged,
        MergeStats {
            alice_rows: a.len(),
            bob_rows: b.len(),
            pairs: common.len(),
            eve_rows,
        },
    ))
}

fn rows_of<'a>(
    t: &'a CsiTrace,
    input: &'static str,
    party: &str,
) -> Result<&'a PartyTrace, MergeError> {
    t.party(party)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| MergeError::MissingParty {
            input,
            party: party.into(),
        })
}

/// The rows of `p` whose `seq` is in `keep`, sorted by `seq`.
fn select(kind: TraceKind, p: &PartyTrace, keep: &std::collections::HashSet<u64>) -> PartyTrace {
    let mut rows: Vec<usize> = (0..p.len()).filter(|&i| keep.contains(&p.seq[i])).collect();
    rows.sort_by_key(|&i| p.seq[i]);
    let mut out = PartyTrace {
        observes: p.observes.clone(),
        subcarriers: p.subcarriers.clone(),
        ..PartyTrace::new(&p.name)
    };
    for i in rows {
        out.seq.push(p.seq[i]);
        out.t.push(p.t.get(i).copied().unwrap_or(f64::NAN));
        match kind {
            TraceKind::Csi => out.csi.extend_from_slice(p.csi_row(i).unwrap_or(&[])),
            TraceKind::Rssi => out.rssi.push(p.rssi.get(i).copied().unwrap_or(f32::NAN)),
        }
    }
    out
}
