//! `qwave lab`: one party per process with its own radio.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use super::KeygenOpts;
use crate::lab::record::{IqRecorder, RecordingRadio};
use crate::lab::{self, report::LabReport, LabRole, Recorder, Schedule};
use crate::radio::{self, RadioConfig};

/// Role on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Base station: listens on --peer for Bob's public-channel connection.
    Alice,
    /// Terminal: connects to Alice at --peer.
    Bob,
    /// Passive eavesdropper: records what she measures, no session.
    Eve,
}

/// `qwave lab`.
#[derive(Args, Debug)]
pub struct LabArgs {
    /// Role of this process.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Radio: `sim:air=HOST:PORT,node=alice|bob|eve` (a `qwave air`), or
    /// SoapySDR args such as `driver=uhd,serial=…` / `driver=hackrf`
    /// (needs the `soapy` build feature).
    #[arg(long)]
    pub radio: String,
    /// Public channel. Alice LISTENS on this address (port 0: any free
    /// port; the bound address is logged on stderr as `listening on ADDR`);
    /// Bob CONNECTS to it (retrying for 30 s). Eve ignores it.
    #[arg(long)]
    pub peer: Option<String>,
    /// Device authentication key shared by Alice and Bob: 32 raw bytes or 64
    /// hex digits. Required with real radios; with `sim:` radios a fixed,
    /// public test key is used when absent (NOT authenticated).
    #[arg(long)]
    pub auth_key: Option<PathBuf>,
    /// Directory for this process's recordings: HDF5 CSI traces of what it
    /// measured (`<role>.h5`; Eve: `eve-of-alice.h5`, `eve-of-bob.h5`) and
    /// SigMF IQ of what its radio sent and received (`<role>-tx`, `<role>-rx`).
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Directory of per-radio calibration files: `<serial>.toml` is loaded
    /// when present and applied (DC/IQ correction of received IQ, reciprocity
    /// coefficient on every CSI estimate); see docs/calibration.md.
    #[arg(long, default_value = "calibration")]
    pub calibration: PathBuf,
    /// Seconds of probing (air time).
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Probe exchanges per second.
    #[arg(long, default_value_t = 100.0)]
    pub exchange_rate: f64,
    /// Delay of Bob's probe after Alice's, seconds.
    #[arg(long, default_value_t = 1e-3)]
    pub tdd_gap: f64,
    /// Start of exchange 0, seconds after the radio's current time (hardware
    /// radios: leave time to set up; the virtual air starts at 0).
    #[arg(long, default_value_t = 0.0, conflicts_with = "start_at")]
    pub start_delay: f64,
    /// Start of exchange 0 at this absolute device time, seconds: both
    /// parties give the same value when their clocks are aligned (PPS/GPSDO).
    #[arg(long)]
    pub start_at: Option<f64>,
    /// Carrier frequency, Hz (sim radios: the air's carrier).
    #[arg(long)]
    pub frequency: Option<f64>,
    /// Transmit gain, dB.
    #[arg(long, default_value_t = 0.0)]
    pub tx_gain: f64,
    /// Receive gain, dB.
    #[arg(long, default_value_t = 0.0)]
    pub rx_gain: f64,
    /// Key-generation options.
    #[command(flatten)]
    pub keygen: KeygenOpts,
}

/// The fixed public key used by `sim:` runs without --auth-key.
const SIM_TEST_KEY: [u8; 32] = *b"qwave-sim-lab-unauthenticated-k!";

fn read_auth_key(path: &PathBuf) -> Result<[u8; 32]> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if raw.len() == 32 {
        let mut k = [0u8; 32];
        k.copy_from_slice(&raw);
        return Ok(k);
    }
    let text = std::str::from_utf8(&raw).unwrap_or("").trim();
    let bytes = hex::decode(text).ok().filter(|b| b.len() == 32);
    let Some(b) = bytes else {
        bail!(
            "{}: an auth key is 32 raw bytes or 64 hex digits (got {} bytes)",
            path.display(),
            raw.len()
        );
    };
    let mut k = [0u8; 32];
    k.copy_from_slice(&b);
    Ok(k)
}

pub(crate) fn connect_retry(addr: &str, within: Duration) -> Result<TcpStream> {
    let start = Instant::now();
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => return Ok(s),
            Err(e) if start.elapsed() < within => {
                if e.kind() != std::io::ErrorKind::ConnectionRefused {
                    return Err(e).with_context(|| format!("connecting to Alice at {addr}"));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e).with_context(|| format!("connecting to Alice at {addr}")),
        }
    }
}

/// What a lab run hands to a caller that goes on using the session (`qwave base-station`,
/// `qwave refill`): the confirmed key, Alice's listener, and the report.
#[derive(Default)]
pub(crate) struct KeptSession {
    /// All confirmed key blocks of the run, concatenated (zeroized on drop).
    pub key: zeroize::Zeroizing<Vec<u8>>,
    /// Alice's listening socket, kept open for the refill link.
    pub listener: Option<TcpListener>,
    /// The run's report.
    pub report: Option<LabReport>,
}

/// Runs one lab party.
pub fn run(a: LabArgs) -> Result<()> {
    run_keeping(a, None)
}

/// Runs one lab party; with `keep`, the confirmed key, Alice's listener and the report are
/// handed back instead of the report being printed.
pub(crate) fn run_keeping(a: LabArgs, mut keep: Option<&mut KeptSession>) -> Result<()> {
    let start = Instant::now();
    let role = match a.role {
        RoleArg::Alice => LabRole::Alice,
        RoleArg::Bob => LabRole::Bob,
        RoleArg::Eve => LabRole::Eve,
    };
    let who = role.name();
    if !(a.seconds > 0.0 && a.seconds <= 86_400.0) {
        bail!("--seconds must be in (0, 86400], got {}", a.seconds);
    }
    if !(a.start_delay >= 0.0 && a.start_delay <= 3600.0) {
        bail!("--start-delay must be in [0, 3600] seconds");
    }
    let sim = a.radio.starts_with("sim:");
    let auth_key = match (&a.auth_key, sim) {
        (Some(p), _) => read_auth_key(p)?,
        (None, true) => {
            if role != LabRole::Eve {
                eprintln!(
                    "{who}: warning: no --auth-key; using the fixed public test key \
                     (the public channel is NOT authenticated)"
                );
            }
            SIM_TEST_KEY
        }
        (None, false) if role == LabRole::Eve => SIM_TEST_KEY,
        (None, false) => bail!("--auth-key FILE is required with real radios"),
    };
    let cfg = a.keygen.session_config()?;
    let mut radio =
        radio::open(&a.radio).with_context(|| format!("opening radio `{}`", a.radio))?;
    let mut rc = RadioConfig {
        tx_gain_db: a.tx_gain,
        rx_gain_db: a.rx_gain,
        ..radio.config().clone()
    };
    if let Some(f) = a.frequency {
        rc.frequency_hz = f;
    }
    radio.configure(&rc).context("configuring the radio")?;
    let serial = radio.serial();
    let calibration = crate::calibrate::Calibration::load(&a.calibration, &serial)
        .with_context(|| format!("loading the calibration of radio `{serial}`"))?;
    let calibration_file = match calibration {
        Some((path, cal)) => {
            eprintln!(
                "{who}: calibration: applying {} (reference {}, measured {})",
                path.display(),
                cal.reference_serial,
                cal.created_utc
            );
            radio = crate::calibrate::apply_to_radio(radio, &cal);
            Some((path.display().to_string(), cal))
        }
        None => {
            eprintln!(
                "{who}: calibration: none found for serial `{serial}` in {} (running uncalibrated)",
                a.calibration.display()
            );
            None
        }
    };
    let fs = rc.sample_rate_hz;
    let now = radio.time_now()?.unwrap_or(0);
    let first_tick = match a.start_at {
        Some(t) => {
            let at = (t.max(0.0) * fs).round() as u64;
            if !(t.is_finite() && at > now) {
                bail!(
                    "--start-at {t} s is not after the radio's current time {} s",
                    now as f64 / fs
                );
            }
            at
        }
        None => now + (a.start_delay * fs).round() as u64,
    };
    let sched = Schedule {
        exchange_rate_hz: a.exchange_rate,
        tdd_gap_s: a.tdd_gap,
        exchanges: (a.seconds * a.exchange_rate).round() as u64,
        start: first_tick,
    };
    sched.validate(fs)?;
    let describe = radio.describe();
    let (mut radio, iq) = match &a.record {
        Some(dir) => {
            let (r, iq) = RecordingRadio::wrap(radio, dir, role, &sched)?;
            (Box::new(r) as Box<dyn radio::Radio>, Some(iq))
        }
        None => (radio, None),
    };
    let recorder = match &a.record {
        Some(dir) => Some(Recorder::create(
            dir,
            role,
            rc.frequency_hz,
            &format!("qwave lab --role {who} on {describe}"),
        )?),
        None => None,
    };
    eprintln!(
        "{who}: radio {describe}, {} exchanges at {} /s, TDD gap {} s",
        sched.exchanges, sched.exchange_rate_hz, sched.tdd_gap_s
    );

    if role == LabRole::Eve {
        let mut recorder = recorder;
        let mut rec_err = None;
        let stats = lab::run_probes(radio.as_mut(), role, &sched, &mut |o| {
            if let Some(r) = recorder.as_mut() {
                if let Err(e) = r.append(&o) {
                    rec_err = Some(e);
                    return false;
                }
            }
            true
        })?;
        if let Some(e) = rec_err {
            return Err(e.into());
        }
        if let Some(r) = recorder {
            r.finish()?;
        }
        if let Some(iq) = iq {
            iq.finish()?;
        }
        let v = serde_json::json!({
            "role": "eve",
            "radio": describe,
            "probes": sched.exchanges,
            "channel_seconds": sched.channel_seconds(),
            "probe_stats": stats,
            "wall_seconds": start.elapsed().as_secs_f64(),
        });
        if a.keygen.json {
            println!("{v}");
        } else {
            println!(
                "eve: {} exchanges, {} probes measured, {} lost",
                stats.exchanges, stats.found, stats.lost
            );
        }
        return Ok(());
    }

    let Some(peer) = &a.peer else {
        bail!("--peer HOST:PORT is required for alice (listen) and bob (connect)");
    };
    let stream = if role == LabRole::Alice {
        let l = TcpListener::bind(peer).with_context(|| format!("listening on {peer}"))?;
        eprintln!("alice: listening on {}", l.local_addr()?);
        let (s, from) = l.accept().context("accepting Bob")?;
        if let Some(k) = keep.as_deref_mut() {
            k.listener = Some(l);
        }
        eprintln!("alice: public channel up with {from}");
        s
    } else {
        let s = connect_retry(peer, Duration::from_secs(30))?;
        eprintln!("bob: public channel up with {peer}");
        s
    };
    let out = lab::run_party(
        role,
        radio,
        &sched,
        stream,
        cfg.clone(),
        &auth_key,
        recorder,
        calibration_file.as_ref().map(|(_, c)| c.clone()),
        &|s| eprintln!("{who}: block {}: key of {} bits", s.block, s.final_bits),
    )?;
    if let Some(k) = keep.as_deref_mut() {
        if out.party.aborted.is_none() && out.radio_error.is_none() {
            for b in &out.party.keys {
                k.key.extend_from_slice(b.key.as_bytes());
            }
        }
    }
    let iq_done = iq.map_or(Ok(()), IqRecorder::finish);
    let mut report: LabReport = lab::report::build(
        role,
        describe,
        out,
        &sched,
        start.elapsed().as_secs_f64(),
        &format!("{:?}", cfg.reconciler).to_lowercase(),
    );
    report.calibration = calibration_file.map(|(p, _)| p);
    if let Some(k) = keep {
        if let Some(why) = &report.report.aborted {
            bail!("{who}: the run failed and released no key: {why}");
        }
        k.report = Some(report);
        return Ok(());
    }
    if a.keygen.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.report.summary());
        if let Some(f) = &report.key_fingerprint {
            println!("key fingerprint (SHA3-256 of the keys): {f}");
        }
    }
    if let Some(why) = &report.report.aborted {
        bail!("{who}: the run failed and released no key: {why}");
    }
    iq_done.context("closing the IQ recording")?;
    Ok(())
}
