//! `qwave report`: figures and an HTML page for a trace, a simulated run, or
//! the eavesdropper-distance sweep.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use super::keygen::scenario;
use super::{existing, KeygenOpts};
use crate::report::{self, eve_sweep, RunInput, RunOptions, SimSetup};

/// `qwave report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// HDF5 CSI trace to report on (omit with --scenario or --eve-sweep).
    pub trace: Option<PathBuf>,
    /// Simulate a fresh run on this scenario (walk, static or vehicle) instead of reading a trace.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Eavesdropper sweep: Eves from 0.05 λ to 2 λ on the scenario (default walk).
    #[arg(long)]
    pub eve_sweep: bool,
    /// Eve distances for --eve-sweep, wavelengths, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub distances: Option<Vec<f64>>,
    /// Seconds of probing for simulated runs.
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Frames per point of the Cascade/LDPC binary-symmetric-channel sweep (0: skip it).
    #[arg(long, default_value_t = 3)]
    pub bsc_frames: u32,
    /// Output folder (index.html, PNG and CSV files).
    #[arg(long)]
    pub out: PathBuf,
    /// Key-generation options.
    #[command(flatten)]
    pub keygen: KeygenOpts,
}

/// Writes the report.
pub fn run(a: ReportArgs) -> Result<()> {
    let session = a.keygen.session_config()?;
    let sim = |name: &str| -> Result<SimSetup> {
        if !(a.seconds > 0.0 && a.seconds <= 3600.0) {
            bail!("--seconds must be in (0, 3600], got {}", a.seconds);
        }
        Ok(SimSetup {
            scenario: scenario(name)?,
            seconds: a.seconds,
            seed: a.seed,
            session: session.clone(),
        })
    };
    if a.eve_sweep {
        if a.trace.is_some() {
            bail!("--eve-sweep simulates its own run; give no trace");
        }
        let setup = sim(a.scenario.as_deref().unwrap_or("walk"))?;
        let opts = report::EveSweepOptions {
            distances: a
                .distances
                .clone()
                .unwrap_or_else(|| eve_sweep::DEFAULT_DISTANCES.to_vec()),
            progress: true,
        };
        let s = report::report_eve_sweep(&setup, &opts, &a.out)?;
        if a.keygen.json {
            println!("{}", serde_json::to_string(&sweep_json(&s))?);
        }
        for p in &s.points {
            eprintln!(
                "d = {:.3} λ: Eve raw disagreement {}, final-key agreement {} over {} bits",
                p.distance_wavelengths,
                p.raw_disagreement
                    .map_or("n/a".into(), |v| format!("{v:.3}")),
                p.key_agreement.map_or("n/a".into(), |v| format!("{v:.3}")),
                p.compared_key_bits
            );
        }
        eprintln!("wrote {}", a.out.join("index.html").display());
        return Ok(());
    }
    let input = match (&a.trace, &a.scenario) {
        (Some(_), Some(_)) => bail!("give either a trace or --scenario, not both"),
        (Some(t), None) => RunInput::Trace(existing(t)?.clone()),
        (None, Some(s)) => RunInput::Simulated(Box::new(sim(s)?)),
        (None, None) => bail!("give a trace file, --scenario NAME or --eve-sweep"),
    };
    let opts = RunOptions {
        session,
        progress: true,
        bsc_frames: a.bsc_frames,
    };
    let r = report::report_run(&input, &opts, &a.out)?;
    if a.keygen.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        eprintln!("{}", r.summary());
    }
    eprintln!("wrote {}", a.out.join("index.html").display());
    Ok(())
}

fn sweep_json(s: &eve_sweep::EveSweep) -> serde_json::Value {
    serde_json::json!({
        "bob_disagreement": s.bob_disagreement,
        "final_key_bits": s.final_key_bits,
        "channel_seconds": s.channel_seconds,
        "points": s.points.iter().map(|p| serde_json::json!({
            "distance_wavelengths": p.distance_wavelengths,
            "rho_theory": p.rho_theory,
            "amplitude_correlation": p.amplitude_correlation,
            "eve_raw_disagreement": p.raw_disagreement,
            "eve_key_agreement": p.key_agreement,
            "compared_key_bits": p.compared_key_bits,
            "parity_determined_bits": p.parity_determined_bits,
            "reconciled_bits": p.reconciled_bits,
        })).collect::<Vec<_>>(),
    })
}
