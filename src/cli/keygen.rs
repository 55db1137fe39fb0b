//! `qwave demo` and `qwave replay`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use qwave_dsp::channel::Scenario;

use super::{existing, fresh_auth_key, KeygenOpts};
use crate::capture;
use crate::pipeline::{self, replay_iq, report::Report, SimOptions};

/// `qwave demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Channel scenario: walk, static or vehicle.
    #[arg(long, default_value = "walk")]
    pub scenario: String,
    /// Seconds of probing (air time).
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
    /// Seed of the channel simulator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Bytes of quantum key to refill at the end through an in-process key centre, wrapped
    /// under the run's physical-layer key (0: no refill).
    #[arg(long, default_value_t = 65_536)]
    pub refill: usize,
    /// Protection of the refill on the air.
    #[arg(long, value_enum, default_value = "aes-kw")]
    pub wrap: crate::refill::WrapKind,
    /// Key-generation options.
    #[command(flatten)]
    pub keygen: KeygenOpts,
}

/// Looks a scenario up by name, with the list in the error.
pub fn scenario(name: &str) -> Result<Scenario> {
    Scenario::by_name(name).with_context(|| {
        format!(
            "unknown scenario `{name}`; known: {}",
            Scenario::names().join(", ")
        )
    })
}

fn emit(report: &Report, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        println!("{}", report.summary());
    }
    if let Some(why) = &report.aborted {
        bail!("the session aborted: {why}");
    }
    Ok(())
}

/// Runs the demo.
pub fn demo(a: DemoArgs) -> Result<()> {
    if !(a.seconds > 0.0 && a.seconds <= 3600.0) {
        bail!("--seconds must be in (0, 3600], got {}", a.seconds);
    }
    let opts = SimOptions {
        scenario: scenario(&a.scenario)?,
        seconds: a.seconds,
        seed: a.seed,
        session: a.keygen.session_config()?,
        progress: true,
        refill: (a.refill > 0).then_some(pipeline::RefillPlan {
            bytes: a.refill,
            wrap: a.wrap,
        }),
    };
    let report = pipeline::simulate_keygen(&opts, &fresh_auth_key()?);
    emit(&report, a.keygen.json)
}

/// `qwave replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// An HDF5 CSI trace (qwave-csi-trace schema, with `alice` and `bob` rows;
    /// see `qwave trace merge`), or lab IQ recordings: a `--record` directory
    /// or its `<role>-rx.sigmf-meta` files (alice and bob, optionally eve),
    /// over which the receiver runs again.
    #[arg(required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// With IQ recordings: also write the CSI the receiver extracted as an HDF5 trace.
    #[arg(long)]
    pub csi_out: Option<PathBuf>,
    /// Key-generation options.
    #[command(flatten)]
    pub keygen: KeygenOpts,
}

fn is_sigmf(p: &std::path::Path) -> bool {
    let s = p.to_string_lossy();
    s.ends_with(".sigmf-meta") || s.ends_with(".sigmf-data")
}

/// Replays a trace, or re-runs the receiver over IQ recordings and replays their CSI.
pub fn replay(a: ReplayArgs) -> Result<()> {
    for p in &a.input {
        existing(p)?;
    }
    let cfg = a.keygen.session_config()?;
    let key = fresh_auth_key()?;
    let single = (a.input.len() == 1).then(|| &a.input[0]);
    let report = match single {
        Some(p) if !p.is_dir() && !is_sigmf(p) => {
            if a.csi_out.is_some() {
                bail!(
                    "--csi-out is for IQ recordings; {} is already a CSI trace",
                    p.display()
                );
            }
            pipeline::replay::replay_trace(p, &cfg, &key, true)?
        }
        _ => {
            let mut rx = Vec::new();
            for p in &a.input {
                if p.is_dir() {
                    rx.extend(replay_iq::rx_recordings_in(p)?);
                } else if is_sigmf(p) {
                    rx.push(capture::sigmf_paths(p).0);
                } else {
                    bail!(
                        "{}: give either one CSI trace or SigMF recordings",
                        p.display()
                    );
                }
            }
            let (trace, stats) = replay_iq::trace_from_rx_recordings(&rx)?;
            for (role, s) in &stats {
                eprintln!(
                    "{role}: receiver re-run on {} windows: {} probes found, {} damaged windows skipped",
                    s.windows, s.found, s.damaged
                );
            }
            if let Some(out) = &a.csi_out {
                capture::write_trace(out, &trace)
                    .with_context(|| format!("writing {}", out.display()))?;
                eprintln!("CSI trace written to {}", out.display());
            }
            let source = rx
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            pipeline::replay::replay(&trace, &cfg, &key, true, source)?
        }
    };
    emit(&report, a.keygen.json)
}
