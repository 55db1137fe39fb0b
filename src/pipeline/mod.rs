//! The key pipeline end to end: sounding (simulated air or recorded traces)
//! → per-party feature rows → two-party sessions → report.

pub mod keygen;
pub mod replay;
pub mod report;
pub mod sounding;

use std::time::Instant;

use crossbeam_channel::{bounded, Receiver as ChanRx};
use indicatif::{ProgressBar, ProgressStyle};
use qwave_dsp::channel::{ChannelSim, Scenario};

use crate::session::SessionConfig;
use keygen::Row;
use report::Report;
use sounding::{amplitude_features, CsiRow};

/// A simulated run.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Channel scenario.
    pub scenario: Scenario,
    /// Seconds of probing.
    pub seconds: f64,
    /// Simulator seed.
    pub seed: u64,
    /// Key-generation parameters.
    pub session: SessionConfig,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

impl SimOptions {
    /// Probe exchanges the run makes.
    pub fn exchanges(&self) -> u64 {
        (self.seconds * self.scenario.exchange_rate_hz)
            .round()
            .max(0.0) as u64
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal or when
/// `show` is false).
pub fn progress_bar(len: u64, what: &str, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:12} [{bar:30}] {pos}/{len} {per_sec} eta {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Converts a stream of CSI rows into key-generation feature rows on its own
/// thread.
pub fn features_stream(rows: ChanRx<CsiRow>) -> ChanRx<Row> {
    let (tx, rx) = bounded(256);
    std::thread::spawn(move || {
        for r in rows {
            if tx.send((r.seq, amplitude_features(&r.csi))).is_err() {
                break;
            }
        }
    });
    rx
}

/// Simulated key generation at IQ level with Alice, Bob and the scenario's
/// eavesdroppers (the first Eve runs the attack pipeline).
pub fn simulate_keygen(opts: &SimOptions, auth_key: &[u8; 32]) -> Report {
    let start = Instant::now();
    let n = opts.exchanges();
    let pb = progress_bar(n, "probing", opts.progress);
    let pbc = pb.clone();
    let snd = sounding::spawn(&opts.scenario, opts.seed, n, false, move |k| {
        pbc.set_position(k)
    });
    let mut eves = snd.eves.into_iter();
    let eve_rows = eves.next().map(features_stream);
    // Further Eves are sounded but not attacked: drain them.
    for e in eves {
        std::thread::spawn(move || for _ in e {});
    }
    let out = keygen::run(
        &opts.session,
        auth_key,
        features_stream(snd.alice),
        features_stream(snd.bob),
        eve_rows,
        true,
        &|_| {},
    );
    for t in snd.threads {
        let _ = t.join();
    }
    pb.finish_and_clear();
    let channel_seconds = n as f64 / opts.scenario.exchange_rate_hz;
    let mut r = report::build(
        &out,
        &format!("{:?}", opts.session.reconciler).to_lowercase(),
        n,
        channel_seconds,
        start.elapsed().as_secs_f64(),
        format!(
            "simulated scenario `{}` (seed {})",
            opts.scenario.name, opts.seed
        ),
    );
    r.capacity_bps = Some(
        ChannelSim::new(&opts.scenario, opts.seed)
            .capacity()
            .bits_per_second,
    );
    r
}
