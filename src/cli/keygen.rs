//! `qwave demo` and `qwave replay`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use qwave_dsp::channel::Scenario;

use super::{existing, fresh_auth_key, KeygenOpts};
use crate::pipeline::{self, report::Report, SimOptions};

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
    if report.aborted.is_some() {
        bail!("the session aborted");
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
    /// HDF5 CSI trace (qwave-csi-trace schema).
    pub trace: PathBuf,
    /// Key-generation options.
    #[command(flatten)]
    pub keygen: KeygenOpts,
}

/// Replays a trace.
pub fn replay(a: ReplayArgs) -> Result<()> {
    existing(&a.trace)?;
    let cfg = a.keygen.session_config()?;
    let report = pipeline::replay::replay_trace(&a.trace, &cfg, &fresh_auth_key()?, true)?;
    emit(&report, a.keygen.json)
}
