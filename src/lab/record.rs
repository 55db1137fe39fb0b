//! IQ recording of a lab run as SigMF (ARCHITECTURE.md, "SigMF IQ
//! recordings"): a [`RecordingRadio`] wraps the process's radio and streams
//!
//! - `DIR/<role>-tx.sigmf-{meta,data}`: every burst sent, one capture
//!   segment per burst (`core:global_index` = transmit tick) and one
//!   `"probe"` annotation per probe with `qwave:seq` and `qwave:direction`;
//! - `DIR/<role>-rx.sigmf-{meta,data}`: every receive window, one capture
//!   segment per window (`core:global_index` = window start tick,
//!   `qwave:seq`/`qwave:direction` of the probe expected in it,
//!   `qwave:damaged` when the radio reported lost samples), and a `"probe"`
//!   annotation where the 802.11 receiver found the probe.
//!
//! `qwave:direction` is `"alice->bob"` for Alice's probe and `"bob->alice"`
//! for Bob's. Eve never transmits and writes no tx recording. The exchange a
//! burst or window belongs to follows from its tick and the [`Schedule`].

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use num_complex::Complex32;
use qwave_dsp::lsig::LSig;
use qwave_dsp::preamble::PROBE_LEN;
use qwave_dsp::rx::{Frame, Receiver, RxConfig};

use super::{LabError, LabRole, Schedule, WINDOW_LEAD};
use crate::capture::{
    Annotation, CaptureError, CaptureSegment, SigmfDatatype, SigmfWriter, StreamHeader,
};
use crate::radio::{Radio, RadioConfig, RadioError, RadioEvent, Ticks, Timing};

/// `qwave:direction` of Alice's probe.
pub const ALICE_TO_BOB: &str = "alice->bob";
/// `qwave:direction` of Bob's probe.
pub const BOB_TO_ALICE: &str = "bob->alice";

/// Whether a frame found in the window of exchange `seq` is that exchange's
/// probe: its L-SIG decodes to [`LSig::for_probe`]`(seq)`, or does not decode
/// (noise on its one BPSK symbol still leaves a good L-LTF estimate). The
/// rule lab mode applies to live windows, and replay to recorded ones.
pub fn accepts(frame: &Frame, seq: u64) -> bool {
    frame.lsig.is_err() || frame.lsig == Ok(LSig::for_probe(seq))
}

/// The exchange and direction of a probe sent at `tick` by `by`, if the
/// schedule puts one exactly there.
pub fn probe_at(
    sched: &Schedule,
    fs: f64,
    by: LabRole,
    tick: Ticks,
) -> Option<(u64, &'static str)> {
    let (k, dir) = nearest_probe(sched, fs, by, tick)?;
    (tick_of(sched, fs, by, k) == tick).then_some((k, dir))
}

/// The exchange and direction of the probe expected in a receive window
/// starting at `start` (lab mode opens windows [`WINDOW_LEAD`] samples
/// before the probe, at tick 0 at the earliest).
pub fn window_at(sched: &Schedule, fs: f64, start: Ticks) -> Option<(u64, &'static str)> {
    [LabRole::Alice, LabRole::Bob].into_iter().find_map(|by| {
        let (k, dir) = nearest_probe(sched, fs, by, start + WINDOW_LEAD as Ticks)?;
        (tick_of(sched, fs, by, k).saturating_sub(WINDOW_LEAD as Ticks) == start)
            .then_some((k, dir))
    })
}

fn tick_of(sched: &Schedule, fs: f64, by: LabRole, k: u64) -> Ticks {
    match by {
        LabRole::Alice => sched.alice_tick(fs, k),
        _ => sched.bob_tick(fs, k),
    }
}

/// The exchange whose probe by `by` is scheduled nearest to `tick`.
fn nearest_probe(
    sched: &Schedule,
    fs: f64,
    by: LabRole,
    tick: Ticks,
) -> Option<(u64, &'static str)> {
    let (offset, dir) = match by {
        LabRole::Alice => (0.0, ALICE_TO_BOB),
        LabRole::Bob => ((sched.tdd_gap_s * fs).round(), BOB_TO_ALICE),
        LabRole::Eve => return None,
    };
    let k = ((tick as f64 - sched.start as f64 - offset) * sched.exchange_rate_hz / fs).round();
    (k >= 0.0 && k < sched.exchanges as f64).then_some((k as u64, dir))
}

/// The recording files of one process, shared by the [`RecordingRadio`] and
/// the [`IqRecorder`] handle that finishes them.
struct Files {
    role: LabRole,
    sched: Schedule,
    fs: f64,
    frequency: f64,
    tx: Option<SigmfWriter>,
    rx: SigmfWriter,
    receiver: Receiver,
    /// First recording failure; the run stops on it and `finish` reports it.
    failed: Option<String>,
}

/// Handle that closes the recording after the run (writes the `.sigmf-meta` files).
pub struct IqRecorder {
    files: Arc<Mutex<Option<Files>>>,
}

/// A [`Radio`] that records every burst it sends and every window it
/// receives (see the module docs); otherwise it is the wrapped radio.
pub struct RecordingRadio {
    radio: Box<dyn Radio>,
    files: Arc<Mutex<Option<Files>>>,
    events: VecDeque<RadioEvent>,
}

impl RecordingRadio {
    /// Wraps `radio` (already configured) for a run of `sched` as `role`,
    /// creating `DIR/<role>-rx` (and, but for Eve, `DIR/<role>-tx`) SigMF
    /// recordings in `cf32_le` (the samples exactly as the receiver saw them).
    ///
    /// # Errors
    /// [`LabError::Record`] if a file cannot be created.
    pub fn wrap(
        radio: Box<dyn Radio>,
        dir: &Path,
        role: LabRole,
        sched: &Schedule,
    ) -> Result<(Self, IqRecorder), LabError> {
        std::fs::create_dir_all(dir).map_err(|source| CaptureError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let cfg = radio.config().clone();
        let header = |stream: &str| StreamHeader {
            datatype: SigmfDatatype::Cf32Le,
            sample_rate: cfg.sample_rate_hz,
            description: Some(format!(
                "qwave lab: {} {stream} ({} exchanges at {} /s, TDD gap {} s)",
                role.name(),
                sched.exchanges,
                sched.exchange_rate_hz,
                sched.tdd_gap_s
            )),
            hw: Some(radio.describe()),
            role: Some(role.name().into()),
            stream: Some(stream.into()),
        };
        let name = |stream: &str| dir.join(format!("{}-{stream}", role.name()));
        let tx = match role {
            LabRole::Eve => None,
            _ => Some(SigmfWriter::create(&name("tx"), header("tx"))?),
        };
        let rx = SigmfWriter::create(&name("rx"), header("rx"))?;
        let files = Arc::new(Mutex::new(Some(Files {
            role,
            sched: sched.clone(),
            fs: cfg.sample_rate_hz,
            frequency: cfg.frequency_hz,
            tx,
            rx,
            receiver: Receiver::new(RxConfig {
                sample_rate_hz: cfg.sample_rate_hz,
                ..RxConfig::default()
            }),
            failed: None,
        })));
        Ok((
            Self {
                radio,
                files: Arc::clone(&files),
                events: VecDeque::new(),
            },
            IqRecorder { files },
        ))
    }

    fn record(
        &self,
        f: impl FnOnce(&mut Files) -> Result<(), CaptureError>,
    ) -> Result<(), RadioError> {
        let mut guard = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(files) = guard.as_mut() else {
            return Err(RadioError::Device(
                "the IQ recording was already closed".into(),
            ));
        };
        if let Some(why) = &files.failed {
            return Err(RadioError::Device(format!("IQ recording failed: {why}")));
        }
        f(files).map_err(|e| {
            let why = e.to_string();
            files.failed = Some(why.clone());
            RadioError::Device(format!("IQ recording failed: {why}"))
        })
    }
}

impl Files {
    fn sent(&mut self, at: Ticks, burst: &[Complex32]) -> Result<(), CaptureError> {
        let probe = probe_at(&self.sched, self.fs, self.role, at);
        let Some(tx) = self.tx.as_mut() else {
            return Ok(());
        };
        let start = tx.push_segment(
            CaptureSegment {
                global_index: Some(at),
                frequency: Some(self.frequency),
                seq: probe.map(|p| p.0),
                direction: probe.map(|p| p.1.into()),
                ..CaptureSegment::default()
            },
            burst,
        )?;
        if let Some((seq, dir)) = probe {
            tx.annotate(Annotation {
                sample_start: start,
                sample_count: burst.len() as u64,
                label: "probe".into(),
                seq: Some(seq),
                direction: Some(dir.into()),
            });
        }
        Ok(())
    }

    fn received(
        &mut self,
        at: Ticks,
        window: &[Complex32],
        damaged: bool,
    ) -> Result<(), CaptureError> {
        let probe = window_at(&self.sched, self.fs, at);
        let start = self.rx.push_segment(
            CaptureSegment {
                global_index: Some(at),
                frequency: Some(self.frequency),
                seq: probe.map(|p| p.0),
                direction: probe.map(|p| p.1.into()),
                damaged,
                ..CaptureSegment::default()
            },
            window,
        )?;
        let Some((seq, dir)) = probe.filter(|_| !damaged) else {
            return Ok(());
        };
        if let Ok(f) = self.receiver.receive(window) {
            if accepts(&f, seq) {
                let count = PROBE_LEN.min(window.len().saturating_sub(f.start));
                self.rx.annotate(Annotation {
                    sample_start: start + f.start as u64,
                    sample_count: count as u64,
                    label: "probe".into(),
                    seq: Some(seq),
                    direction: Some(dir.into()),
                });
            }
        }
        Ok(())
    }
}

impl IqRecorder {
    /// Writes the `.sigmf-meta` files and closes the recording (the radio
    /// refuses to record afterwards).
    ///
    /// # Errors
    /// [`LabError::Record`] on a write failure, or the failure that stopped the
    /// recording during the run.
    pub fn finish(self) -> Result<(), LabError> {
        let files = self
            .files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(files) = files else {
            return Ok(());
        };
        if let Some(why) = files.failed {
            return Err(LabError::Record(CaptureError::Invalid(format!(
                "IQ recording failed during the run: {why}"
            ))));
        }
        if let Some(tx) = files.tx {
            tx.finish()?;
        }
        files.rx.finish()?;
        Ok(())
    }
}

impl Radio for RecordingRadio {
    fn describe(&self) -> String {
        self.radio.describe()
    }

    fn serial(&self) -> String {
        self.radio.serial()
    }

    fn configure(&mut self, cfg: &RadioConfig) -> Result<(), RadioError> {
        if cfg.sample_rate_hz != self.radio.config().sample_rate_hz {
            return Err(RadioError::Unsupported(
                "changing the sample rate while recording".into(),
            ));
        }
        self.radio.configure(cfg)
    }

    fn config(&self) -> &RadioConfig {
        self.radio.config()
    }

    fn timing(&self) -> Timing {
        self.radio.timing()
    }

    fn time_now(&mut self) -> Result<Option<Ticks>, RadioError> {
        self.radio.time_now()
    }

    fn transmit_at(&mut self, at: Ticks, burst: &[Complex32]) -> Result<(), RadioError> {
        self.radio.transmit_at(at, burst)?;
        self.record(|f| f.sent(at, burst))
    }

    fn receive_at(&mut self, at: Ticks, out: &mut [Complex32]) -> Result<(), RadioError> {
        self.radio.receive_at(at, out)?;
        // Events the radio queued during this window mark it damaged; they
        // are passed on unchanged through `poll_event`.
        // (lab mode drops a window when any event is pending after it).
        while let Some(ev) = self.radio.poll_event() {
            self.events.push_back(ev);
        }
        let damaged = !self.events.is_empty();
        self.record(|f| f.received(at, out, damaged))
    }

    fn poll_event(&mut self) -> Option<RadioEvent> {
        self.events.pop_front().or_else(|| self.radio.poll_event())
    }
}
