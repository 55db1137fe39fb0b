//! Inputs of a report as an in-memory [`CsiTrace`]: a recorded HDF5 trace, or
//! a fresh IQ-level simulation (sounding through the 802.11 receiver) with
//! every observer's rows kept.

use std::path::Path;

use qwave_dsp::channel::{ChannelSim, Scenario};

use super::ReportError;
use crate::capture::{self, CsiTrace, PartyTrace, TraceKind};
use crate::pipeline::progress_bar;
use crate::pipeline::sounding::{self, CsiRow, Observer};

/// A trace plus what the simulator knows about it.
#[derive(Clone, Debug)]
pub struct Collected {
    /// Every observer's rows.
    pub trace: CsiTrace,
    /// Probe exchanges attempted.
    pub probes: u64,
    /// Air time covered, seconds.
    pub channel_seconds: f64,
    /// Exchanges per second.
    pub rate_hz: f64,
    /// Secret-key capacity estimate of the simulated channel, bit/s.
    pub capacity_bps: Option<f64>,
    /// Spatial correlation J0(2π d/λ) of each simulated Eve (in trace order
    /// `eve0`, `eve1`, … or `eve`).
    pub eve_rho: Vec<f64>,
    /// Eve distances in wavelengths (simulation only).
    pub eve_wavelengths: Vec<f64>,
    /// Where the data came from.
    pub source: String,
}

/// Reads an HDF5 CSI trace.
///
/// # Errors
/// [`ReportError::Trace`] for unreadable files or schema violations,
/// [`ReportError::Input`] without `alice` and `bob`.
pub fn from_file(path: &Path) -> Result<Collected, ReportError> {
    let trace = capture::read_trace(path)?;
    let (Some(a), Some(b)) = (trace.party("alice"), trace.party("bob")) else {
        return Err(ReportError::Input(format!(
            "{}: the trace needs both an `alice` and a `bob` group",
            path.display()
        )));
    };
    let probes = capture::pair_by_seq(a, b).len() as u64;
    let span = |p: &PartyTrace| {
        let lo = p.t.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = p.t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if hi > lo {
            hi - lo
        } else {
            0.0
        }
    };
    let seconds = span(a).max(span(b));
    let rate_hz = if seconds > 0.0 && probes > 1 {
        (probes - 1) as f64 / seconds
    } else {
        1.0
    };
    Ok(Collected {
        source: format!("trace {} ({})", path.display(), trace.source),
        probes,
        channel_seconds: seconds,
        rate_hz,
        capacity_bps: None,
        eve_rho: Vec::new(),
        eve_wavelengths: Vec::new(),
        trace,
    })
}

/// Sounds `seconds` of `scenario` at IQ level and keeps every observer's CSI.
///
/// # Errors
/// [`ReportError::Scenario`] for an invalid scenario or duration.
pub fn simulate(
    scenario: &Scenario,
    seconds: f64,
    seed: u64,
    progress: bool,
) -> Result<Collected, ReportError> {
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err(ReportError::Scenario(format!(
            "seconds must be in (0, 3600], got {seconds}"
        )));
    }
    let sim =
        ChannelSim::try_new(scenario, seed).map_err(|e| ReportError::Scenario(e.to_string()))?;
    let capacity = sim.capacity().bits_per_second;
    let eves = sim.eves();
    let eve_rho = (0..eves).filter_map(|i| sim.eve_correlation(i)).collect();
    drop(sim);
    let n = (seconds * scenario.exchange_rate_hz).round().max(1.0) as u64;
    let pb = progress_bar(n, "sounding", progress);
    let pbc = pb.clone();
    let snd = sounding::spawn(scenario, seed, n, false, move |k| pbc.set_position(k));
    let mut streams = vec![(Observer::Alice, snd.alice), (Observer::Bob, snd.bob)];
    streams.extend(
        snd.eves
            .into_iter()
            .enumerate()
            .map(|(i, r)| (Observer::Eve(i), r)),
    );
    // Drain every observer on its own thread so the air never blocks.
    let collectors: Vec<_> = streams
        .into_iter()
        .map(|(obs, rx)| std::thread::spawn(move || (obs, rx.iter().collect::<Vec<CsiRow>>())))
        .collect();
    let mut parties = Vec::new();
    for c in collectors {
        let Ok((obs, rows)) = c.join() else {
            return Err(ReportError::Input("a receiver thread panicked".into()));
        };
        let mut p = PartyTrace::new(&obs.trace_name(eves));
        p.subcarriers = qwave_dsp::ofdm::USED_SUBCARRIERS.to_vec();
        for r in rows {
            p.seq.push(r.seq);
            p.t.push(r.t);
            p.csi.extend_from_slice(&r.csi);
        }
        parties.push(p);
    }
    for t in snd.threads {
        let _ = t.join();
    }
    pb.finish_and_clear();
    let lambda = scenario.wavelength_m();
    Ok(Collected {
        trace: CsiTrace {
            kind: TraceKind::Csi,
            center_frequency_hz: scenario.carrier_hz,
            bandwidth_hz: Some(qwave_dsp::ofdm::SAMPLE_RATE_HZ),
            source: format!("simulated scenario `{}` (seed {seed})", scenario.name),
            parties,
        },
        probes: n,
        channel_seconds: n as f64 / scenario.exchange_rate_hz,
        rate_hz: scenario.exchange_rate_hz,
        capacity_bps: Some(capacity),
        eve_rho,
        eve_wavelengths: scenario
            .eve_distances_m
            .iter()
            .map(|d| d / lambda)
            .collect(),
        source: format!("simulated scenario `{}` (seed {seed})", scenario.name),
    })
}
