//! The key pipeline end to end: sounding (simulated air or recorded traces)
//! → per-party feature rows → two-party sessions → report.

pub mod keygen;
pub mod replay;
pub mod replay_iq;
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
    /// Refill to deliver at the end under the run's physical-layer key.
    pub refill: Option<RefillPlan>,
}

/// A refill at the end of a simulated run.
#[derive(Clone, Copy, Debug)]
pub struct RefillPlan {
    /// Bytes of quantum key to deliver.
    pub bytes: usize,
    /// How it is protected on the air.
    pub wrap: crate::refill::WrapKind,
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
    if let Some(plan) = opts.refill {
        r.refill = Some(demo_refill(&out, plan));
    }
    r
}

/// Delivers a refill through an in-process key centre under the run's confirmed keys (Alice is
/// the base station, Bob the terminal); a failure is reported as unverified with its reason on
/// stderr.
fn demo_refill(out: &keygen::KeygenOutcome, plan: RefillPlan) -> report::RefillReport {
    let concat = |keys: &[keygen::KeyBlock]| {
        zeroize::Zeroizing::new(
            keys.iter()
                .flat_map(|k| k.key.as_bytes().iter().copied())
                .collect::<Vec<u8>>(),
        )
    };
    let (station, terminal) = (concat(&out.alice.keys), concat(&out.bob.keys));
    let failed = |why: String| {
        eprintln!("refill: {why}");
        report::RefillReport {
            bytes: 0,
            wrap: plan.wrap.name().to_owned(),
            verified: false,
        }
    };
    if station.is_empty() {
        return failed("no confirmed physical-layer key to wrap under".into());
    }
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).expect("the OS CSPRNG is available");
    let dir = std::env::temp_dir().join(format!("qwave-demo-centre-{}", hex::encode(tag)));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return failed(format!("cannot create {}: {e}", dir.display()));
    }
    let result = crate::refill::relay::local_centre(&dir, &["terminal-1", "peer-1"], plan.bytes)
        .and_then(|centre| {
            crate::refill::relay_refill(
                &centre,
                "terminal-1",
                "peer-1",
                plan.bytes,
                plan.wrap,
                &station,
                &terminal,
            )
        });
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok((_keys, o)) => report::RefillReport {
            bytes: o.bytes,
            wrap: o.wrap.name().to_owned(),
            verified: o.verified,
        },
        Err(e) => failed(e.to_string()),
    }
}
