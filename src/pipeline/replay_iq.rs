//! Replay of lab IQ recordings: the 802.11 receiver (`qwave_dsp::rx`) runs
//! again over every recorded receive window (`<role>-rx.sigmf-*`, one capture
//! segment per window, see `lab::record`), and the CSI it finds becomes an
//! in-memory trace (ARCHITECTURE.md, "HDF5 CSI trace") for key generation.
//!
//! Rows are paired by the probe-exchange number `qwave:seq` that each window's
//! capture segment carries (the TDD schedule's bookkeeping; the probe's L-SIG
//! holds only `seq mod 4096` and serves as a cross-check, as in lab mode).
//! Windows the radio marked `qwave:damaged` are skipped, as lab mode does.

use std::path::{Path, PathBuf};

use num_complex::Complex32;
use qwave_dsp::ofdm::USED_SUBCARRIERS;
use qwave_dsp::rx::{Receiver, RxConfig};

use crate::capture::{CaptureError, CsiTrace, PartyTrace, SigmfRecording, TraceKind};
use crate::lab::record::{accepts, BOB_TO_ALICE};

/// Errors of IQ replay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IqReplayError {
    /// A recording cannot be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// A recording is not a lab receive recording.
    #[error("{}: {what}", path.display())]
    NotRx {
        /// Recording concerned.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Two recordings of the same role were given.
    #[error("two receive recordings of {0}")]
    Duplicate(String),
    /// Alice's or Bob's receive recording is missing.
    #[error("no receive recording of {0} (give {0}-rx.sigmf-meta or its directory)")]
    Missing(&'static str),
    /// A directory holds no receive recordings.
    #[error("{}: no *-rx.sigmf-meta recordings in this directory", .0.display())]
    Empty(PathBuf),
    /// The recordings disagree on the carrier or sample rate.
    #[error("recordings disagree on {0}")]
    Mismatch(String),
}

/// What the receiver found in one recording.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IqReplayStats {
    /// Windows in the recording.
    pub windows: u64,
    /// Windows whose probe was found and accepted (CSI rows).
    pub found: u64,
    /// Windows skipped as damaged.
    pub damaged: u64,
}

/// The `<role>-rx.sigmf-meta` recordings in `dir`, sorted by name.
///
/// # Errors
/// [`IqReplayError::Capture`] if the directory cannot be listed,
/// [`IqReplayError::Empty`] if it holds none.
pub fn rx_recordings_in(dir: &Path) -> Result<Vec<PathBuf>, IqReplayError> {
    let rd = std::fs::read_dir(dir).map_err(|source| CaptureError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("-rx.sigmf-meta"))
        })
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(IqReplayError::Empty(dir.to_path_buf()));
    }
    Ok(out)
}

/// Runs the receiver over the receive recordings (Alice's and Bob's are
/// required, Eve's optional) and returns the CSI trace: `/alice` (Bob's
/// probes as Alice received them), `/bob`, and for Eve `/eve` (Alice's
/// probes) and `/eve1` (`observes` = `"bob"`). Row times are the window
/// start ticks over the sample rate, as lab mode records them.
///
/// # Errors
/// [`IqReplayError`] for unreadable, duplicate, missing or inconsistent recordings.
pub fn trace_from_rx_recordings(
    paths: &[PathBuf],
) -> Result<(CsiTrace, Vec<(String, IqReplayStats)>), IqReplayError> {
    let mut parties: Vec<PartyTrace> = Vec::new();
    let mut stats = Vec::new();
    let mut carrier: Option<f64> = None;
    let mut rate: Option<f64> = None;
    let mut sources = Vec::new();
    for path in paths {
        let mut rec = SigmfRecording::open(path)?;
        let not_rx = |what: String| IqReplayError::NotRx {
            path: path.clone(),
            what,
        };
        if rec.stream.as_deref() != Some("rx") {
            return Err(not_rx(
                "not a lab receive recording (global qwave:stream is not \"rx\")".into(),
            ));
        }
        let role = rec
            .role
            .clone()
            .ok_or_else(|| not_rx("global qwave:role is missing".into()))?;
        if !matches!(role.as_str(), "alice" | "bob" | "eve") {
            return Err(not_rx(format!("unknown qwave:role {role:?}")));
        }
        if parties.iter().any(|p| p.name == role) {
            return Err(IqReplayError::Duplicate(role));
        }
        let fs = rec.meta.sample_rate;
        match rate {
            Some(r) if r != fs => return Err(IqReplayError::Mismatch("sample rate".into())),
            _ => rate = Some(fs),
        }
        let f = rec
            .captures
            .first()
            .and_then(|c| c.frequency)
            .unwrap_or(f64::NAN);
        match carrier {
            Some(c) if !(c.is_nan() && f.is_nan()) && (c - f).abs() > 1.0 => {
                return Err(IqReplayError::Mismatch("carrier frequency".into()))
            }
            _ => carrier = Some(f),
        }
        let (rows, st) = measure(&mut rec)?;
        sources.push(path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        ));
        stats.push((role.clone(), st));
        if role == "eve" {
            let (of_bob, of_alice): (Vec<_>, Vec<_>) =
                rows.into_iter().partition(|r| r.dir_bob_to_alice);
            parties.push(party("eve", None, of_alice));
            parties.push(party("eve1", Some("bob"), of_bob));
        } else {
            parties.push(party(&role, None, rows));
        }
    }
    for need in ["alice", "bob"] {
        if !parties.iter().any(|p| p.name == need) {
            return Err(IqReplayError::Missing(need));
        }
    }
    // `alice`, `bob`, then the eavesdroppers (the order read_trace returns).
    parties.sort_by_key(|p| match p.name.as_str() {
        "alice" => 0,
        "bob" => 1,
        _ => 2,
    });
    let trace = CsiTrace {
        kind: TraceKind::Csi,
        center_frequency_hz: carrier.unwrap_or(f64::NAN),
        bandwidth_hz: rate,
        source: format!("qwave replay: receiver re-run on {}", sources.join(", ")),
        parties,
    };
    trace.validate()?;
    Ok((trace, stats))
}

struct Row {
    seq: u64,
    t: f64,
    csi: [Complex32; 52],
    dir_bob_to_alice: bool,
}

fn party(name: &str, observes: Option<&str>, mut rows: Vec<Row>) -> PartyTrace {
    rows.sort_by_key(|r| r.seq);
    rows.dedup_by_key(|r| r.seq);
    let mut p = PartyTrace {
        observes: observes.map(str::to_owned),
        subcarriers: USED_SUBCARRIERS.to_vec(),
        ..PartyTrace::new(name)
    };
    for r in rows {
        p.seq.push(r.seq);
        p.t.push(r.t);
        p.csi.extend_from_slice(&r.csi);
    }
    p
}

/// Runs the receiver over every window of one recording.
fn measure(rec: &mut SigmfRecording) -> Result<(Vec<Row>, IqReplayStats), IqReplayError> {
    let fs = rec.meta.sample_rate;
    let mut rx = Receiver::new(RxConfig {
        sample_rate_hz: fs,
        ..RxConfig::default()
    });
    let mut window: Vec<Complex32> = Vec::new();
    let mut rows = Vec::new();
    let mut st = IqReplayStats::default();
    for i in 0..rec.captures.len() {
        let c = rec.captures[i].clone();
        let Some((start, end)) = rec.segment_range(i) else {
            continue;
        };
        let Some(seq) = c.seq else {
            continue; // not a scheduled probe window
        };
        st.windows += 1;
        if c.damaged {
            st.damaged += 1;
            continue;
        }
        window.resize((end - start) as usize, Complex32::default());
        rec.read_range(start, &mut window)?;
        match rx.receive(&window) {
            Ok(f) if accepts(&f, seq) => {
                st.found += 1;
                rows.push(Row {
                    seq,
                    t: c.global_index.unwrap_or(start) as f64 / fs,
                    csi: f.csi,
                    dir_bob_to_alice: c.direction.as_deref() == Some(BOB_TO_ALICE),
                });
            }
            _ => {}
        }
    }
    Ok((rows, st))
}
