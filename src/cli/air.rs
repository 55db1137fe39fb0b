//! `qwave air`: the virtual air simulated radios connect to.

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::keygen::scenario;
use crate::radio::air::{Air, AirConfig};
use crate::radio::wire::SimNode;

/// `qwave air`.
#[derive(Args, Debug)]
pub struct AirArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is
    /// printed on stdout as `air listening on ADDR`).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Channel scenario: walk, static or vehicle.
    #[arg(long, default_value = "walk")]
    pub scenario: String,
    /// Seed of the channel simulator (same seed, same samples).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Virtual seconds of air time served; later requests are refused.
    #[arg(long, default_value_t = 3600.0)]
    pub seconds: f64,
    /// Radios that must connect before any receive window is answered
    /// (comma-separated: alice, bob, eve, eveN).
    #[arg(long, default_value = "alice,bob", value_delimiter = ',')]
    pub nodes: Vec<String>,
    /// Longest wait (wall seconds) for a radio that holds the others back,
    /// and for the first connection.
    #[arg(long, default_value_t = 30.0)]
    pub idle_timeout: f64,
    /// Give every radio a receiver DC offset and IQ imbalance (off by
    /// default; what `qwave calibrate` measures and `qwave lab` corrects).
    #[arg(long)]
    pub iq_imbalance: bool,
}

/// Runs the air until every radio has left.
pub fn run(a: AirArgs) -> Result<()> {
    let expected = a
        .nodes
        .iter()
        .map(|n| {
            SimNode::parse(n).with_context(|| format!("--nodes: `{n}` is not alice, bob or eveN"))
        })
        .collect::<Result<Vec<_>>>()?;
    if !(a.idle_timeout > 0.0 && a.idle_timeout <= 3600.0) {
        bail!("--idle-timeout must be in (0, 3600] seconds");
    }
    let air = Air::bind(
        &a.listen,
        AirConfig {
            scenario: qwave_dsp::channel::Scenario {
                iq_imbalance: a.iq_imbalance,
                ..scenario(&a.scenario)?
            },
            seed: a.seed,
            seconds: a.seconds,
            expected,
            idle_timeout: Duration::from_secs_f64(a.idle_timeout),
        },
    )?;
    let addr = air.local_addr().context("reading the bound address")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "air listening on {addr}")?;
        out.flush()?;
    }
    let s = air.run()?;
    eprintln!(
        "air: done: {} radios, {} bursts, {} windows, {} late, {:.3} s of air time",
        s.radios, s.bursts, s.windows, s.late, s.virtual_seconds
    );
    Ok(())
}
