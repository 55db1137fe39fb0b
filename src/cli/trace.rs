//! `qwave trace`: operations on HDF5 CSI traces.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use super::existing;
use crate::capture::{self, merge_traces};

/// `qwave trace`.
#[derive(Args, Debug)]
pub struct TraceArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TraceCommand,
}

/// Trace subcommands.
#[derive(Subcommand, Debug)]
pub enum TraceCommand {
    /// Merges per-process lab recordings (alice.h5, bob.h5, optionally one of
    /// Eve's) into one trace that `qwave replay` runs on. Keeps the exchanges
    /// both Alice and Bob measured (paired by seq).
    Merge(MergeArgs),
}

/// `qwave trace merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Alice's trace (rows in /alice), e.g. DIR/alice.h5.
    pub alice: PathBuf,
    /// Bob's trace (rows in /bob), e.g. DIR/bob.h5.
    pub bob: PathBuf,
    /// Eve's trace (rows in /eve), e.g. DIR/eve-of-alice.h5.
    pub eve: Option<PathBuf>,
    /// Output trace.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs a trace command.
pub fn run(a: TraceArgs) -> Result<()> {
    match a.command {
        TraceCommand::Merge(m) => merge(m),
    }
}

fn merge(m: MergeArgs) -> Result<()> {
    let read = |p: &PathBuf| -> Result<capture::CsiTrace> {
        existing(p)?;
        capture::read_trace(p).with_context(|| format!("reading {}", p.display()))
    };
    let (alice, bob) = (read(&m.alice)?, read(&m.bob)?);
    let eve = m.eve.as_ref().map(read).transpose()?;
    let (merged, st) = merge_traces(&alice, &bob, eve.as_ref()).context("merging")?;
    capture::write_trace(&m.out, &merged)
        .with_context(|| format!("writing {}", m.out.display()))?;
    println!(
        "{}: {} paired exchanges (alice {} rows, bob {} rows{})",
        m.out.display(),
        st.pairs,
        st.alice_rows,
        st.bob_rows,
        if m.eve.is_some() {
            format!(", eve {} rows kept", st.eve_rows)
        } else {
            String::new()
        }
    );
    Ok(())
}
