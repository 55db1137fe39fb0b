//! Key generation on a recorded HDF5 CSI trace: each party's rows are
//! streamed in `seq` order; the session pairs them by `seq`.

use std::path::Path;
use std::time::Instant;

use crossbeam_channel::bounded;

use super::keygen::{self, Row};
use super::report::{self, Report};
use super::sounding::amplitude_features;
use crate::capture::{self, CsiTrace, PartyTrace, TraceKind};
use crate::session::SessionConfig;

/// Feature rows of one party of a trace.
pub fn party_rows(trace: &CsiTrace, p: &PartyTrace) -> Vec<Row> {
    let mut rows: Vec<Row> = match trace.kind {
        TraceKind::Rssi => p
            .seq
            .iter()
            .zip(&p.rssi)
            .map(|(&s, &r)| (s, vec![r]))
            .collect(),
        TraceKind::Csi => {
            let k = p.subcarriers.len();
            p.seq
                .iter()
                .enumerate()
                .map(|(i, &s)| {
                    let row = &p.csi[i * k..(i + 1) * k];
                    let feats = if k == 52 {
                        let mut a = [num_complex::Complex32::default(); 52];
                        a.copy_from_slice(row);
                        amplitude_features(&a)
                    } else {
                        row.iter()
                            .map(|h| 10.0 * h.norm_sqr().max(1e-12).log10())
                            .collect()
                    };
                    (s, feats)
                })
                .collect()
        }
    };
    rows.sort_by_key(|r| r.0);
    rows.dedup_by_key(|r| r.0);
    rows
}

fn stream(rows: Vec<Row>) -> crossbeam_channel::Receiver<Row> {
    let (tx, rx) = bounded(256);
    std::thread::spawn(move || {
        for r in rows {
            if tx.send(r).is_err() {
                break;
            }
        }
    });
    rx
}

/// Replays a trace file.
///
/// # Errors
/// Unreadable file, schema violations, or a trace without `alice` and `bob`.
pub fn replay_trace(
    path: &Path,
    cfg: &SessionConfig,
    auth_key: &[u8; 32],
    with_eve: bool,
) -> anyhow::Result<Report> {
    let trace = capture::read_trace(path)?;
    replay(&trace, cfg, auth_key, with_eve, path.display().to_string())
}

/// Replays a trace in memory.
///
/// # Errors
/// A trace without `alice` and `bob` parties.
pub fn replay(
    trace: &CsiTrace,
    cfg: &SessionConfig,
    auth_key: &[u8; 32],
    with_eve: bool,
    source: String,
) -> anyhow::Result<Report> {
    let start = Instant::now();
    let (Some(a), Some(b)) = (trace.party("alice"), trace.party("bob")) else {
        anyhow::bail!("{source}: the trace needs both an `alice` and a `bob` group");
    };
    let eve = trace
        .parties
        .iter()
        .find(|p| p.name.starts_with("eve") && p.observes.as_deref() != Some("bob"))
        .filter(|_| with_eve);
    let probes = capture::pair_by_seq(a, b).len() as u64;
    let span = |p: &PartyTrace| {
        let (lo, hi) =
            p.t.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &t| {
                    (l.min(t), h.max(t))
                });
        if hi > lo {
            hi - lo
        } else {
            0.0
        }
    };
    let seconds = span(a).max(span(b));
    let out = keygen::run(
        cfg,
        auth_key,
        stream(party_rows(trace, a)),
        stream(party_rows(trace, b)),
        eve.map(|e| stream(party_rows(trace, e))),
        true,
        &|_| {},
    );
    Ok(report::build(
        &out,
        &format!("{:?}", cfg.reconciler).to_lowercase(),
        probes,
        seconds,
        start.elapsed().as_secs_f64(),
        format!("trace {source} ({})", trace.source),
    ))
}
