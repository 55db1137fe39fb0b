//! Lab mode: one party per process with its own radio, as on a bench.
//!
//! ```text
//!  radio thread: TDD probe schedule ─► Receiver ─► CSI ─► features ─┐ (bounded)
//!                                                 └─► HDF5 trace     ▼
//!  session:      Party ◄──── authenticated public channel (TCP) ────► peer
//! ```
//!
//! Schedule (radios with hardware time, [`Timing::Hardware`]): exchange `k`
//! starts at `t_k = start + k / exchange_rate`; Alice transmits probe `k` at
//! `t_k` while Bob (and Eve) listen in a window around it; Bob transmits his
//! probe `k` at `t_k + tdd_gap` while Alice (and Eve) listen. Each window goes
//! through the 802.11 receiver (`qwave_dsp::rx`); the CSI's amplitude
//! features feed the sans-IO [`Party`] as row `k`. Keys come out block by
//! block; they are released (fingerprinted in the report) only when the run
//! ends cleanly: an aborted run, a radio failure or a lost peer releases none.

pub mod record;
pub mod relative;
pub mod report;

use std::net::TcpStream;

use crossbeam_channel::bounded;
use num_complex::Complex32;
use qwave_dsp::lsig::LSig;
use qwave_dsp::ofdm::USED_SUBCARRIERS;
use qwave_dsp::preamble::{write_probe, PROBE_LEN};
use qwave_dsp::rx::{Receiver, RxConfig};
use serde::Serialize;

use crate::capture::CaptureError;
use crate::capture::{TraceKind, TraceWriter};
use crate::pipeline::keygen::PartyOutcome;
use crate::pipeline::sounding::amplitude_features;
use crate::radio::{Radio, RadioError, RadioEvent, Ticks, Timing};
use crate::reconcile::Role;
use crate::session::{BlockStats, Party, SessionConfig};

/// Receive-window samples before the expected probe start.
pub const WINDOW_LEAD: usize = 80;
/// Receive-window length: lead, probe, channel spread and margin.
pub const WINDOW_LEN: usize = WINDOW_LEAD + PROBE_LEN + 240;

/// Errors of lab mode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// The radio failed.
    #[error("radio: {0}")]
    Radio(#[from] RadioError),
    /// Recording failed.
    #[error("recording: {0}")]
    Record(#[from] CaptureError),
    /// The public channel failed.
    #[error("public channel: {0}")]
    Peer(#[from] std::io::Error),
    /// A schedule parameter is out of range.
    #[error("schedule: {0}")]
    Schedule(String),
}

/// Which side this process plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LabRole {
    /// Base station: probes first, leads the session.
    Alice,
    /// Terminal: answers Alice's probes.
    Bob,
    /// Passive eavesdropper: listens to both probes, never transmits.
    Eve,
}

impl LabRole {
    /// `"alice"`, `"bob"` or `"eve"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Alice => "alice",
            Self::Bob => "bob",
            Self::Eve => "eve",
        }
    }
}

/// The TDD probe schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// Probe exchanges per second.
    pub exchange_rate_hz: f64,
    /// Delay of Bob's probe after Alice's, seconds.
    pub tdd_gap_s: f64,
    /// Exchanges in the run.
    pub exchanges: u64,
    /// Tick of exchange 0.
    pub start: Ticks,
}

impl Schedule {
    /// Checks the schedule fits the sample rate: the gap must leave room for
    /// a window, and one exchange for two.
    ///
    /// # Errors
    /// [`LabError::Schedule`] naming the problem.
    pub fn validate(&self, sample_rate_hz: f64) -> Result<(), LabError> {
        let win = WINDOW_LEN as f64 / sample_rate_hz;
        if !(self.exchange_rate_hz.is_finite() && self.exchange_rate_hz > 0.0) {
            return Err(LabError::Schedule("exchange rate must be > 0".into()));
        }
        if !(self.tdd_gap_s.is_finite() && self.tdd_gap_s >= win) {
            return Err(LabError::Schedule(format!(
                "TDD gap {} s is shorter than a receive window ({win:.2e} s)",
                self.tdd_gap_s
            )));
        }
        if self.tdd_gap_s + 2.0 * win > 1.0 / self.exchange_rate_hz {
            return Err(LabError::Schedule(format!(
                "an exchange ({} s at {} /s) cannot hold the gap and two windows",
                1.0 / self.exchange_rate_hz,
                self.exchange_rate_hz
            )));
        }
        Ok(())
    }

    /// Tick at which Alice sends probe `k`.
    pub fn alice_tick(&self, sample_rate_hz: f64, k: u64) -> Ticks {
        self.start + (k as f64 * sample_rate_hz / self.exchange_rate_hz).round() as Ticks
    }

    /// Tick at which Bob sends probe `k`.
    pub fn bob_tick(&self, sample_rate_hz: f64, k: u64) -> Ticks {
        self.alice_tick(sample_rate_hz, k) + (self.tdd_gap_s * sample_rate_hz).round() as Ticks
    }

    /// Air time the schedule covers, seconds.
    pub fn channel_seconds(&self) -> f64 {
        self.exchanges as f64 / self.exchange_rate_hz
    }
}

/// What the radio side of a run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProbeStats {
    /// Exchanges scheduled and run.
    pub exchanges: u64,
    /// Probes sent.
    pub sent: u64,
    /// Receive windows captured.
    pub windows: u64,
    /// Windows in which the expected probe was found (CSI rows).
    pub found: u64,
    /// Windows with no probe (lost probes).
    pub lost: u64,
    /// Frames found whose L-SIG decodes to another probe's (not used).
    pub wrong_probe: u64,
    /// Probes used although their L-SIG did not decode (counted in `found`).
    pub lsig_undecoded: u64,
    /// Late bursts or windows (dropped).
    pub late: u64,
    /// Receive overflows.
    pub overflows: u64,
    /// Transmit underflows.
    pub underflows: u64,
    /// Time-reference losses.
    pub time_lost: u64,
    /// Relative timing only: Bob's fixed reply delay after the end of
    /// Alice's probe, µs.
    pub turnaround_us: Option<f64>,
    /// Relative timing only (Alice): mean start-to-start gap between her
    /// probe and Bob's reply, µs, measured on her receive stream.
    pub round_trip_mean_us: Option<f64>,
    /// Relative timing only (Alice): standard deviation of that gap, µs.
    pub round_trip_std_us: Option<f64>,
    /// Relative timing only (Bob): replies sent later than the turnaround
    /// because the host was too slow.
    pub late_replies: u64,
}

/// One channel measurement.
#[derive(Clone, Debug)]
pub struct Observation {
    /// Whose probe was measured.
    pub of: LabRole,
    /// Exchange number.
    pub seq: u64,
    /// Window start, seconds of radio time.
    pub t: f64,
    /// LS channel estimate on the 52 used subcarriers.
    pub csi: [Complex32; 52],
}

/// Runs the probe schedule on `radio` as `role`, handing every CSI
/// measurement to `sink` (which returns `false` to stop early).
///
/// # Errors
/// [`LabError::Radio`] on a radio failure; [`LabError::Schedule`] for an
/// invalid schedule. A radio without hardware time runs the relative
/// ping-pong protocol of [`relative`] instead of the timed schedule.
pub fn run_probes(
    radio: &mut dyn Radio,
    role: LabRole,
    sched: &Schedule,
    sink: &mut dyn FnMut(Observation) -> bool,
) -> Result<ProbeStats, LabError> {
    let fs = radio.config().sample_rate_hz;
    sched.validate(fs)?;
    if let Timing::Relative { turnaround } = radio.timing() {
        return relative::run_probes_relative(radio, role, sched, turnaround, sink);
    }
    let mut rx = Receiver::new(RxConfig {
        sample_rate_hz: fs,
        ..RxConfig::default()
    });
    let mut probe = vec![Complex32::new(0.0, 0.0); PROBE_LEN];
    let mut window = vec![Complex32::new(0.0, 0.0); WINDOW_LEN];
    let mut st = ProbeStats::default();
    for k in 0..sched.exchanges {
        let (ta, tb) = (sched.alice_tick(fs, k), sched.bob_tick(fs, k));
        write_probe(&LSig::for_probe(k), &mut probe);
        let mut w = Window {
            rx: &mut rx,
            buf: &mut window,
            st: &mut st,
            seq: k,
            fs,
        };
        let mut keep_going = true;
        match role {
            LabRole::Alice => {
                radio.transmit_at(ta, &probe)?;
                w.st.sent += 1;
                if let Some(o) = w.listen(radio, LabRole::Bob, tb)? {
                    keep_going = sink(o);
                }
            }
            LabRole::Bob => {
                let o = w.listen(radio, LabRole::Alice, ta)?;
                radio.transmit_at(tb, &probe)?;
                w.st.sent += 1;
                if let Some(o) = o {
                    keep_going = sink(o);
                }
            }
            LabRole::Eve => {
                for (of, at) in [(LabRole::Alice, ta), (LabRole::Bob, tb)] {
                    if let Some(o) = w.listen(radio, of, at)? {
                        keep_going &= sink(o);
                    }
                }
            }
        }
        while let Some(ev) = radio.poll_event() {
            count(&mut st, &ev);
        }
        st.exchanges = k + 1;
        if !keep_going {
            break;
        }
    }
    Ok(st)
}

/// One exchange's receive state.
struct Window<'a> {
    rx: &'a mut Receiver,
    buf: &'a mut [Complex32],
    st: &'a mut ProbeStats,
    seq: u64,
    fs: f64,
}

impl Window<'_> {
    /// Captures the window around `at` (the expected start of `of`'s probe)
    /// and measures the probe in it.
    fn listen(
        &mut self,
        radio: &mut dyn Radio,
        of: LabRole,
        at: Ticks,
    ) -> Result<Option<Observation>, LabError> {
        let start = at.saturating_sub(WINDOW_LEAD as Ticks);
        radio.receive_at(start, self.buf)?;
        self.st.windows += 1;
        let mut damaged = false;
        while let Some(ev) = radio.poll_event() {
            damaged = true;
            count(self.st, &ev);
        }
        if damaged {
            self.st.lost += 1;
            return Ok(None);
        }
        match self.rx.receive(self.buf) {
            // An undecodable L-SIG (noise on its one BPSK symbol) still leaves a good L-LTF estimate.
            Ok(f) if f.lsig.is_err() || f.lsig == Ok(LSig::for_probe(self.seq)) => {
                self.st.found += 1;
                self.st.lsig_undecoded += u64::from(f.lsig.is_err());
                Ok(Some(Observation {
                    of,
                    seq: self.seq,
                    t: start as f64 / self.fs,
                    csi: f.csi,
                }))
            }
            Ok(_) => {
                self.st.wrong_probe += 1;
                Ok(None)
            }
            Err(_) => {
                self.st.lost += 1;
                Ok(None)
            }
        }
    }
}

fn count(st: &mut ProbeStats, ev: &RadioEvent) {
    match ev {
        RadioEvent::Late { .. } => st.late += 1,
        RadioEvent::Overflow { .. } => st.overflows += 1,
        RadioEvent::Underflow { .. } => st.underflows += 1,
        RadioEvent::TimeLost => st.time_lost += 1,
    }
}

/// CSI recorder: one HDF5 trace (qwave-csi-trace schema) per observed party.
pub struct Recorder {
    writers: Vec<(LabRole, String, TraceWriter)>,
}

impl Recorder {
    /// Creates `<dir>/<role>.h5` (Alice, Bob: their own measurements in their
    /// group; the other party's group is empty) or, for Eve,
    /// `<dir>/eve-of-alice.h5` and `<dir>/eve-of-bob.h5` (rows in group `eve`,
    /// attribute `observes` = whose probe she measured; `alice`/`bob` empty).
    ///
    /// # Errors
    /// [`LabError::Record`] if a file cannot be created.
    pub fn create(
        dir: &std::path::Path,
        role: LabRole,
        carrier_hz: f64,
        source: &str,
    ) -> Result<Self, LabError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            LabError::Record(CaptureError::Invalid(format!("{}: {e}", dir.display())))
        })?;
        // The schema wants /alice and /bob in every trace: the other party's group stays empty.
        let mk = |file: &str, with_eve: bool| -> Result<TraceWriter, LabError> {
            let parties: &[&str] = if with_eve {
                &["alice", "bob", "eve"]
            } else {
                &["alice", "bob"]
            };
            let mut w = TraceWriter::create(
                &dir.join(file),
                TraceKind::Csi,
                carrier_hz,
                Some(20e6),
                source,
                parties,
            )?;
            w.set_subcarriers(&USED_SUBCARRIERS)?;
            Ok(w)
        };
        let writers = match role {
            LabRole::Alice => vec![(LabRole::Bob, "alice".into(), mk("alice.h5", false)?)],
            LabRole::Bob => vec![(LabRole::Alice, "bob".into(), mk("bob.h5", false)?)],
            LabRole::Eve => {
                let a = mk("eve-of-alice.h5", true)?;
                let mut b = mk("eve-of-bob.h5", true)?;
                b.set_observes("eve", "bob")?;
                vec![
                    (LabRole::Alice, "eve".into(), a),
                    (LabRole::Bob, "eve".into(), b),
                ]
            }
        };
        Ok(Self { writers })
    }

    /// Appends one observation.
    ///
    /// # Errors
    /// [`LabError::Record`] on a write failure.
    pub fn append(&mut self, o: &Observation) -> Result<(), LabError> {
        for (of, group, w) in &mut self.writers {
            if *of == o.of {
                w.append_csi(group, o.seq, o.t, &o.csi)?;
            }
        }
        Ok(())
    }

    /// Closes the files.
    ///
    /// # Errors
    /// [`LabError::Record`] on a write failure.
    pub fn finish(self) -> Result<(), LabError> {
        for (_, _, w) in self.writers {
            w.finish()?;
        }
        Ok(())
    }
}

/// What one Alice or Bob process ended with.
pub struct LabOutcome {
    /// The session's outcome (keys, refusals, abort).
    pub party: PartyOutcome,
    /// The radio side.
    pub probes: ProbeStats,
    /// Set when the radio or the recorder failed.
    pub radio_error: Option<String>,
}

/// Runs Alice or Bob: the probe schedule on `radio` (its own thread) and
/// the session over `peer`, until the schedule ends and the last block is
/// settled, or either side fails.
///
/// With `calibration`, every CSI estimate is multiplied by the radio's
/// reciprocity coefficient before feature extraction
/// ([`crate::calibrate::Calibration::correct_csi`]; recordings keep the raw
/// estimate).
///
/// # Errors
/// [`LabError::Schedule`] for role Eve; [`LabError::Peer`] if the socket
/// cannot be set up. Failures during the run are in the outcome.
#[allow(clippy::too_many_arguments)]
pub fn run_party(
    role: LabRole,
    mut radio: Box<dyn Radio>,
    sched: &Schedule,
    peer: TcpStream,
    cfg: SessionConfig,
    auth_key: &[u8; 32],
    mut recorder: Option<Recorder>,
    calibration: Option<crate::calibrate::Calibration>,
    on_key: &(dyn Fn(&BlockStats) + Sync),
) -> Result<LabOutcome, LabError> {
    let session_role = match role {
        LabRole::Alice => Role::Alice,
        LabRole::Bob => Role::Bob,
        LabRole::Eve => {
            return Err(LabError::Schedule(
                "Eve runs no session; use run_probes".into(),
            ))
        }
    };
    let party = Party::new(session_role, cfg, auth_key);
    let (rows_tx, rows_rx) = bounded::<(u64, Vec<f32>)>(256);
    let sched = sched.clone();
    let radio_thread = std::thread::Builder::new()
        .name(format!("radio-{}", role.name()))
        .spawn(move || {
            let mut rec_err = None;
            let res = run_probes(radio.as_mut(), role, &sched, &mut |o| {
                if let Some(r) = recorder.as_mut() {
                    if let Err(e) = r.append(&o) {
                        rec_err = Some(e);
                        return false;
                    }
                }
                let mut csi = o.csi;
                if let Some(c) = &calibration {
                    c.correct_csi(&mut csi);
                }
                rows_tx.send((o.seq, amplitude_features(&csi))).is_ok()
            });
            drop(rows_tx);
            let fin = recorder.map_or(Ok(()), Recorder::finish);
            match (res, rec_err, fin) {
                (Err(e), _, _) | (Ok(_), Some(e), _) | (Ok(_), None, Err(e)) => {
                    (ProbeStats::default(), Some(e.to_string()))
                }
                (Ok(s), None, Ok(())) => (s, None),
            }
        })
        .map_err(LabError::Peer)?;
    let party = crate::session::tcp::run_party(party, rows_rx, peer, on_key)?;
    let (probes, radio_error) = radio_thread
        .join()
        .unwrap_or_else(|_| (ProbeStats::default(), Some("radio thread panicked".into())));
    Ok(LabOutcome {
        party,
        probes,
        radio_error,
    })
}
