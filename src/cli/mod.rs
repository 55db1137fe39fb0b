//! Command-line interface: parse, call the library, print. Logs and progress
//! go to stderr; `--json` prints exactly one JSON value on stdout.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::extract::QuantizerKind;
use crate::reconcile::ReconcilerKind;
use crate::session::SessionConfig;

mod air;
mod backup;
mod calibrate;
mod centre;
mod csi;
mod import;
mod keygen;
mod lab;
mod ledger;
mod pool_peer;
mod refill;
mod report;
mod sound;
mod trace;

/// qwave: secret keys from the wireless channel between two SDRs, and
/// quantum-key refills delivered over the air under them.
#[derive(Parser, Debug)]
#[command(name = "qwave", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Key generation end to end on the simulated channel (IQ level), with an eavesdropper.
    Demo(keygen::DemoArgs),
    /// Key generation on a recorded HDF5 CSI trace or on lab IQ recordings (SigMF).
    Replay(keygen::ReplayArgs),
    /// Probe exchanges through the simulator and receiver; writes an HDF5 CSI trace.
    Sound(sound::SoundArgs),
    /// Runs the 802.11 receiver over an IQ recording and lists every frame.
    Csi(csi::CsiArgs),
    /// Splits a key-store master key into Reed–Solomon slices for backup nodes, or restores it.
    Backup(backup::BackupArgs),
    /// Key centre: ETSI GS QKD 014 key delivery over mutual TLS, terminals, audit.
    Centre(centre::CentreArgs),
    /// Runs a virtual air on a loopback address for `sim:` radios.
    Air(air::AirArgs),
    /// One party (alice, bob or eve) per process with its own radio.
    Lab(lab::LabArgs),
    /// Figures (PNG + CSV) and an HTML page for a trace, a simulated run, or the eavesdropper sweep.
    Report(report::ReportArgs),
    /// Converts real-world recordings (Intel 5300, ESP32, RSSI logs, raw IQ) into qwave's formats.
    Import(import::ImportArgs),
    /// HDF5 CSI trace tools (merge per-process lab recordings).
    Trace(trace::TraceArgs),
    /// Reciprocity calibration of a radio against a reference radio; writes calibration/<serial>.toml.
    Calibrate(calibrate::CalibrateArgs),
    /// Base station: key generation as Alice, then relays the terminal's refills from the centre.
    BaseStation(refill::BaseStationArgs),
    /// Terminal: key generation as Bob, then a refill of its encrypted key store (or --status).
    Refill(refill::RefillArgs),
    /// Metered refills: denominated keys, routed key requests, settlement and audits.
    Ledger(ledger::LedgerArgs),
    /// Peer side of a centre's per-peer key space: sync it and apply migration notices.
    PoolPeer(pool_peer::PoolPeerArgs),
}

/// Key-generation options shared by demo, replay and lab.
#[derive(Args, Debug, Clone)]
pub struct KeygenOpts {
    /// Information reconciliation protocol.
    #[arg(long, value_enum, default_value = "cascade")]
    pub reconciler: ReconcilerKind,
    /// Quantizer.
    #[arg(long, value_enum, default_value = "equiprobable")]
    pub quantizer: QuantizerKind,
    /// Bits per sample (default: chosen from the measured Alice–Bob correlation).
    #[arg(long)]
    pub bits_per_sample: Option<u8>,
    /// Guard band half-width in standard deviations (guard-band quantizer).
    #[arg(long, default_value_t = 0.2)]
    pub guard: f64,
    /// Probe exchanges per key block (default: 500 with Cascade, 2000 with
    /// LDPC, whose long codes need blocks of about 14 000 bits or more).
    #[arg(long)]
    pub block: Option<u32>,
    /// Security parameter: the key is ε-close to uniform with ε = 2^-N.
    #[arg(long, default_value_t = crate::amplify::DEFAULT_SECURITY_LOG2)]
    pub security: u32,
    /// Print the machine-readable report (one JSON object) on stdout.
    #[arg(long)]
    pub json: bool,
}

impl KeygenOpts {
    /// The session parameters these options select.
    pub fn session_config(&self) -> Result<SessionConfig> {
        if let Some(k) = self.bits_per_sample {
            if !(1..=4).contains(&k) {
                bail!("--bits-per-sample must be between 1 and 4, got {k}");
            }
        }
        let block = self
            .block
            .unwrap_or_else(|| SessionConfig::default_block_exchanges(self.reconciler));
        if block < 50 {
            bail!("--block must be at least 50 exchanges, got {block}");
        }
        if !(0.0..=2.0).contains(&self.guard) {
            bail!("--guard must be between 0 and 2 standard deviations");
        }
        Ok(SessionConfig {
            block_exchanges: block,
            min_block_exchanges: (block / 5).max(50),
            quantizer: self.quantizer,
            guard_fraction: if self.quantizer == QuantizerKind::GuardBand {
                self.guard
            } else {
                0.0
            },
            bits_per_sample: self.bits_per_sample,
            reconciler: self.reconciler,
            security_log2: self.security,
            ..SessionConfig::default()
        })
    }
}

/// Parses a path argument that must exist.
pub fn existing(p: &PathBuf) -> Result<&PathBuf> {
    if !p.exists() {
        bail!("{}: no such file", p.display());
    }
    Ok(p)
}

/// A fresh device authentication key from the OS CSPRNG (simulated runs,
/// where both parties live in one process).
pub fn fresh_auth_key() -> Result<[u8; 32]> {
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).context("reading the OS random number generator")?;
    Ok(k)
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(a) => keygen::demo(a),
        Command::Replay(a) => keygen::replay(a),
        Command::Sound(a) => sound::run(a),
        Command::Csi(a) => csi::run(a),
        Command::Backup(a) => backup::run(a),
        Command::Centre(a) => centre::run(a),
        Command::Air(a) => air::run(a),
        Command::Lab(a) => lab::run(a),
        Command::Report(a) => report::run(a),
        Command::Import(a) => import::run(a),
        Command::Trace(a) => trace::run(a),
        Command::Calibrate(a) => calibrate::run(a),
        Command::BaseStation(a) => refill::base_station(a),
        Command::Refill(a) => refill::refill(a),
        Command::Ledger(a) => ledger::run(a),
        Command::PoolPeer(a) => pool_peer::run(a),
    }
}
