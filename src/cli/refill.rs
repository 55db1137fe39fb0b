//! `qwave base-station` and `qwave refill`: live refills over the lab session.
//!
//! The base station runs key generation as Alice, keeps the confirmed physical-layer key and
//! serves the terminal's refill requests on the same listening address, relaying keys from the
//! centre (reserve → send → terminal acknowledges → confirm). The terminal runs key generation
//! as Bob, reconnects to the same address, and refills its encrypted store.

use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;

use super::lab::{self, KeptSession, LabArgs, RoleArg};
use super::KeygenOpts;
use crate::centre::client::CentreClient;
use crate::refill::station::{serve_refills, RefillCentre, RemoteCentre, StationError};
use crate::refill::WrapKind;
use crate::terminal::{
    self, consumption_rate, parse_volume, Decision, RefillPolicy, TerminalStore,
};

/// Radio and session options shared by the base station and the terminal.
#[derive(Args, Debug, Clone)]
pub struct LinkOpts {
    /// Radio: `sim:air=HOST:PORT,node=alice|bob` or SoapySDR args (see `qwave lab`).
    #[arg(long)]
    pub radio: String,
    /// Device authentication key shared with the other side (32 raw bytes or 64 hex digits).
    #[arg(long)]
    pub auth_key: Option<PathBuf>,
    /// Seconds of probing for the key generation that precedes the refill.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Probe exchanges per second.
    #[arg(long, default_value_t = 100.0)]
    pub exchange_rate: f64,
    /// Directory of per-radio calibration files (as for `qwave lab`).
    #[arg(long, default_value = "calibration")]
    pub calibration: PathBuf,
    /// Key-generation options.
    #[command(flatten)]
    pub keygen: KeygenOpts,
}

/// `qwave base-station`.
#[derive(Args, Debug)]
pub struct BaseStationArgs {
    /// Radio and key generation.
    #[command(flatten)]
    pub link: LinkOpts,
    /// Address to listen on for the terminal (port 0: any; logged as `listening on ADDR`).
    #[arg(long)]
    pub listen: String,
    /// Key centre address `host:port`.
    #[arg(long)]
    pub centre: String,
    /// Centre directory (from `qwave centre init`) holding the CA and this SAE's certificate.
    #[arg(long)]
    pub centre_dir: PathBuf,
    /// This base station's SAE ID (its certificate's CN).
    #[arg(long)]
    pub sae: String,
    /// The terminal's SAE ID (the master of the keys it receives).
    #[arg(long)]
    pub terminal: String,
    /// Key size of the centre, bits.
    #[arg(long, default_value_t = 256)]
    pub key_bits: u32,
    /// Seconds to wait for the terminal's refill connection after key generation.
    #[arg(long, default_value_t = 60.0)]
    pub refill_wait: f64,
    /// Fault injection for crash tests: stop sending (hang) after this many frames.
    #[arg(long, hide = true)]
    pub fault_hang_after_frames: Option<usize>,
    /// Fault injection for crash tests: hang instead of confirming an acknowledged refill.
    #[arg(long, hide = true)]
    pub fault_hang_before_confirm: bool,
}

/// Fault injection (hidden flags): a link that hangs after `frames` frames, as if the process
/// froze before it could be killed.
struct HangAfter {
    inner: TcpStream,
    frames: Option<usize>,
}

fn hang(what: &str) -> ! {
    eprintln!("base station: fault injection: hanging {what}");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

impl std::io::Read for HangAfter {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(b)
    }
}

impl std::io::Write for HangAfter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.frames == Some(0) {
            hang("mid-refill");
        }
        self.inner.write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(n) = self.frames.as_mut() {
            *n = n.saturating_sub(1);
        }
        self.inner.flush()
    }
}

/// Fault injection (hidden flag): a centre whose confirm hangs.
struct HangBeforeConfirm<C>(C, bool);

impl<C: RefillCentre> RefillCentre for HangBeforeConfirm<C> {
    fn key_bytes(&self) -> usize {
        self.0.key_bytes()
    }
    fn reserve(
        &self,
        terminal: &str,
        peer: &str,
        refill_id: &[u8; 16],
        number: u32,
    ) -> Result<Vec<crate::refill::RefillKey>, StationError> {
        self.0.reserve(terminal, peer, refill_id, number)
    }
    fn confirm(&self, refill_id: &[u8; 16]) -> Result<u64, StationError> {
        if self.1 {
            hang("before confirming to the centre");
        }
        self.0.confirm(refill_id)
    }
}

/// `qwave refill`.
#[derive(Args, Debug)]
pub struct RefillArgs {
    /// Terminal key store (SQLite; key material sealed under `--store-key`).
    #[arg(long)]
    pub store: PathBuf,
    /// Master key file of the store (32 bytes, created with mode 0600 if absent).
    /// Default: the store path with `.key` appended.
    #[arg(long)]
    pub store_key: Option<PathBuf>,
    /// Print the remaining volume per peer and exit.
    #[arg(long)]
    pub status: bool,
    /// Peer SAE the keys are shared with.
    #[arg(long, required_unless_present = "status")]
    pub peer: Option<String>,
    /// Volume: `1MiB` … `9MiB` as operators offer (also `KiB` or bytes for tests).
    #[arg(long, default_value = "1MiB")]
    pub bytes: String,
    /// Refill only if the auto-refill policy says so (remaining < rate × refill time); the
    /// volume is then the policy's.
    #[arg(long)]
    pub auto: bool,
    /// Auto-refill: expected seconds for one refill to land.
    #[arg(long, default_value_t = 60.0)]
    pub refill_seconds: f64,
    /// Auto-refill: seconds of consumption history for the rate.
    #[arg(long, default_value_t = 3600.0)]
    pub rate_window: f64,
    /// Protection on the air.
    #[arg(long, value_enum, default_value = "aes-kw")]
    pub wrap: WrapKind,
    /// The base station's address (key generation and then the refill link).
    #[arg(long)]
    pub peer_addr: Option<String>,
    /// Radio for the key generation (see `qwave lab`); required for a refill.
    #[arg(long)]
    pub radio: Option<String>,
    /// Device authentication key shared with the base station.
    #[arg(long)]
    pub auth_key: Option<PathBuf>,
    /// Seconds of probing for the key generation that precedes the refill.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Probe exchanges per second.
    #[arg(long, default_value_t = 100.0)]
    pub exchange_rate: f64,
    /// Directory of per-radio calibration files (as for `qwave lab`).
    #[arg(long, default_value = "calibration")]
    pub calibration: PathBuf,
    /// Key-generation options.
    #[command(flatten)]
    pub keygen: KeygenOpts,
}

fn lab_args(link: &LinkOpts, role: RoleArg, peer: &str) -> LabArgs {
    LabArgs {
        role,
        radio: link.radio.clone(),
        peer: Some(peer.to_owned()),
        auth_key: link.auth_key.clone(),
        record: None,
        calibration: link.calibration.clone(),
        seconds: link.seconds,
        exchange_rate: link.exchange_rate,
        tdd_gap: 1e-3,
        start_delay: 0.0,
        start_at: None,
        frequency: None,
        tx_gain: 0.0,
        rx_gain: 0.0,
        keygen: link.keygen.clone(),
    }
}

/// Runs `qwave base-station`.
pub fn base_station(a: BaseStationArgs) -> Result<()> {
    let client = CentreClient::from_dir(&a.centre_dir, &a.sae, &a.centre)
        .with_context(|| format!("centre client for SAE {}", a.sae))?;
    let centre = HangBeforeConfirm(
        RemoteCentre::new(client, (a.key_bits / 8) as usize)?,
        a.fault_hang_before_confirm,
    );
    let mut kept = KeptSession::default();
    lab::run_keeping(
        lab_args(&a.link, RoleArg::Alice, &a.listen),
        Some(&mut kept),
    )?;
    if kept.key.is_empty() {
        bail!("base station: key generation confirmed no key; no refill can be served");
    }
    let Some(listener) = kept.listener.take() else {
        bail!("base station: no listening socket after key generation");
    };
    eprintln!(
        "base station: {} bytes of physical-layer key confirmed; waiting for refills on {}",
        kept.key.len(),
        listener.local_addr()?
    );
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + Duration::from_secs_f64(a.refill_wait.max(0.0));
    let conn = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    bail!(
                        "base station: no refill connection within {} s",
                        a.refill_wait
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e).context("accepting the terminal's refill link"),
        }
    };
    conn.set_nonblocking(false)?;
    conn.set_nodelay(true)?;
    let mut conn = HangAfter {
        inner: conn,
        frames: a.fault_hang_after_frames,
    };
    let sum = serve_refills(&mut conn, &kept.key, &centre, &a.terminal, &|m| {
        eprintln!("base station: {m}")
    })?;
    let v = serde_json::json!({
        "role": "base-station",
        "refills_sent": sum.sent,
        "refills_confirmed": sum.confirmed,
        "refills_refused": sum.refused,
        "physical_key_bytes": kept.key.len(),
    });
    if a.link.keygen.json {
        println!("{v}");
    } else {
        println!(
            "base station: {} refills sent, {} confirmed, {} refused",
            sum.sent, sum.confirmed, sum.refused
        );
    }
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Runs `qwave refill`.
pub fn refill(a: RefillArgs) -> Result<()> {
    let key_file = a.store_key.clone().unwrap_or_else(|| {
        let mut p = a.store.clone().into_os_string();
        p.push(".key");
        PathBuf::from(p)
    });
    let mut store = TerminalStore::open(&a.store, &key_file)
        .with_context(|| format!("opening the key store {}", a.store.display()))?;
    let json = a.keygen.json;
    if a.status {
        let st = store.status()?;
        let unfinished = store.unfinished()?;
        if json {
            println!(
                "{}",
                serde_json::json!({ "peers": st, "unfinished_refills": unfinished.len() })
            );
        } else {
            for p in &st {
                println!("{}: {} keys, {} bytes", p.peer, p.keys, p.bytes);
            }
            if st.is_empty() {
                println!("no keys");
            }
            for r in &unfinished {
                println!(
                    "unfinished refill {} for {} ({} bytes, {:?}): retried by the next refill",
                    hex::encode(r.refill_id),
                    r.peer,
                    r.bytes,
                    r.state
                );
            }
        }
        return Ok(());
    }
    let Some(peer) = a.peer.clone() else {
        bail!("--peer SAE is required");
    };
    let mut bytes = parse_volume(&a.bytes).map_err(anyhow::Error::msg)?;
    if a.auto {
        let policy = RefillPolicy {
            refill_seconds: a.refill_seconds,
            window_seconds: a.rate_window,
            ..RefillPolicy::default()
        };
        let now = now_ms();
        let takes = store.takes_since(&peer, now - (a.rate_window * 1000.0) as i64)?;
        let rate = consumption_rate(&takes, now, a.rate_window);
        let remaining = store.remaining(&peer)?;
        let pending = store.unfinished()?.into_iter().any(|r| r.peer == peer);
        match policy.decide(remaining, rate) {
            Decision::Sufficient { threshold, .. } if !pending => {
                println!(
                    "{peer}: {remaining} bytes left, threshold {threshold} bytes at {rate:.1} B/s: no refill needed"
                );
                return Ok(());
            }
            Decision::Sufficient { .. } => {}
            Decision::Refill { bytes: b, .. } => bytes = b,
        }
    }
    let (Some(radio), Some(peer_addr)) = (a.radio.clone(), a.peer_addr.as_deref()) else {
        bail!("--radio and --peer-addr are required for a refill");
    };
    let link = &LinkOpts {
        radio,
        auth_key: a.auth_key.clone(),
        seconds: a.seconds,
        exchange_rate: a.exchange_rate,
        calibration: a.calibration.clone(),
        keygen: a.keygen.clone(),
    };
    let mut kept = KeptSession::default();
    lab::run_keeping(lab_args(link, RoleArg::Bob, peer_addr), Some(&mut kept))?;
    if kept.key.is_empty() {
        bail!("terminal: key generation confirmed no key; no refill possible");
    }
    eprintln!(
        "terminal: {} bytes of physical-layer key confirmed; refilling {bytes} bytes for {peer}",
        kept.key.len()
    );
    let mut conn: TcpStream = lab::connect_retry(peer_addr, Duration::from_secs(30))?;
    conn.set_nodelay(true)?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "refill {bar:40} {pos}/{len} chunks {elapsed_precise}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let rep = terminal::refill(
        &mut conn,
        &kept.key,
        &mut store,
        &peer,
        bytes,
        a.wrap,
        &mut |done, total| {
            bar.set_length(u64::from(total));
            bar.set_position(u64::from(done));
        },
    );
    bar.finish_and_clear();
    let rep = rep?;
    let remaining = store.remaining(&peer)?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "refill": rep,
                "wrap": a.wrap.name(),
                "remaining_bytes": remaining,
                "physical_key_bytes": kept.key.len(),
            })
        );
    } else {
        println!(
            "refill {}: {} keys stored{} for {peer}; {remaining} bytes remaining",
            rep.refill_id,
            rep.keys_stored,
            if rep.already_stored {
                " (retry of a stored refill)"
            } else {
                ""
            }
        );
    }
    Ok(())
}
