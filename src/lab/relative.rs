//! Relative ping-pong timing for radios without device time
//! ([`Timing::Relative`], e.g. a HackRF: half duplex, no timestamps).
//!
//! ```text
//!  Alice  ──probe k──►                         ◄──probe k── (found by scanning)
//!  Bob        scans … finds probe k ─ turnaround ─► replies with probe k
//! ```
//!
//! Neither side can place a burst at a time, so time is counted in samples
//! of each radio's own receive stream: Alice paces her probes by reading the
//! stream (exchange `k` at stream position `start + k / rate`), Bob scans
//! for Alice's probe and replies `turnaround` samples after its end (he reads
//! the stream up to that point, so the delay is fixed in samples, not in host
//! time), Alice scans for the reply. The gap between the two probes of an
//! exchange, which bounds reciprocity like the TDD gap of timed radios, is
//! measured by Alice on her own stream and reported
//! ([`ProbeStats::round_trip_mean_us`]); a reply that Bob could not send in
//! time (host slower than the turnaround) is counted in
//! [`ProbeStats::late_replies`]. Eve scans too: the first probe she finds
//! with a given sequence number is Alice's, the second Bob's.

use num_complex::Complex32;
use qwave_dsp::lsig::LSig;
use qwave_dsp::preamble::{write_probe, PROBE_LEN};
use qwave_dsp::rx::{Frame, Receiver, RxConfig};

use super::{count, LabError, LabRole, Observation, ProbeStats, Schedule, WINDOW_LEN};
use crate::radio::{Radio, RadioEvent, Ticks};

/// Samples read from the radio per request while scanning.
const CHUNK: usize = 4096;
/// Unscanned samples kept between reads: a probe cut by the end of one read
/// lies whole in the kept tail plus the next read.
const KEEP: usize = PROBE_LEN + 2 * WINDOW_LEN;
/// Exchanges without a probe after which Bob and Eve conclude the run is over.
const IDLE_EXCHANGES: f64 = 20.0;

/// One radio's receive stream with a position counter (samples since the
/// first read; transmissions advance it too, since a half-duplex radio
/// misses what it sends over).
struct Stream<'a> {
    radio: &'a mut dyn Radio,
    rx: Receiver,
    /// Position of the next sample the radio will deliver.
    pos: Ticks,
    /// Unscanned samples; `buf[0]` is at `buf_pos`.
    buf: Vec<Complex32>,
    buf_pos: Ticks,
    /// Frames before this position were already handed out.
    reported: Ticks,
    scratch: Vec<Complex32>,
    frames: Vec<Frame>,
    damaged: bool,
}

impl<'a> Stream<'a> {
    fn new(radio: &'a mut dyn Radio, fs: f64) -> Self {
        Self {
            radio,
            rx: Receiver::new(RxConfig {
                sample_rate_hz: fs,
                ..RxConfig::default()
            }),
            pos: 0,
            buf: Vec::with_capacity(KEEP + CHUNK),
            buf_pos: 0,
            reported: 0,
            scratch: vec![Complex32::new(0.0, 0.0); CHUNK],
            frames: Vec::new(),
            damaged: false,
        }
    }

    fn drain_events(&mut self, st: &mut ProbeStats) {
        while let Some(ev) = self.radio.poll_event() {
            if matches!(ev, RadioEvent::Overflow { .. } | RadioEvent::Late { .. }) {
                self.damaged = true;
            }
            count(st, &ev);
        }
    }

    /// Reads `n ≤ CHUNK` samples into the scan buffer.
    fn read(&mut self, n: usize, st: &mut ProbeStats) -> Result<(), LabError> {
        let out = &mut self.scratch[..n];
        self.radio.receive_at(self.pos, out)?;
        st.windows += 1;
        self.pos += n as Ticks;
        self.buf.extend_from_slice(out);
        self.drain_events(st);
        Ok(())
    }

    /// Reads and discards samples up to stream position `target`.
    fn skip_to(&mut self, target: Ticks, st: &mut ProbeStats) -> Result<(), LabError> {
        while self.pos < target {
            let n = (target - self.pos).min(CHUNK as Ticks) as usize;
            self.radio.receive_at(self.pos, &mut self.scratch[..n])?;
            self.pos += n as Ticks;
            self.drain_events(st);
        }
        self.buf.clear();
        self.buf_pos = self.pos;
        Ok(())
    }

    /// Sends `burst` now (at the stream position); the receiver misses it.
    fn transmit(&mut self, burst: &[Complex32], st: &mut ProbeStats) -> Result<(), LabError> {
        self.radio.transmit_at(self.pos, burst)?;
        st.sent += 1;
        self.pos += burst.len() as Ticks;
        self.buf.clear();
        self.buf_pos = self.pos;
        self.reported = self.reported.max(self.pos);
        self.drain_events(st);
        Ok(())
    }

    /// Scans until a probe frame starts at or after `self.reported`, or the
    /// stream passes `deadline`. Returns the frame and its stream position.
    fn next_frame(
        &mut self,
        deadline: Ticks,
        st: &mut ProbeStats,
    ) -> Result<Option<(Frame, Ticks)>, LabError> {
        loop {
            self.frames.clear();
            self.rx.scan(&self.buf, &mut self.frames);
            let found = self
                .frames
                .iter()
                .map(|f| (*f, self.buf_pos + f.start as Ticks))
                .find(|&(_, at)| at >= self.reported);
            if let Some((f, at)) = found {
                self.reported = at + PROBE_LEN as Ticks;
                // A window that lost samples gives no measurement (as with timed radios).
                let damaged = std::mem::take(&mut self.damaged);
                self.trim_to(self.reported);
                if damaged {
                    st.lost += 1;
                    continue;
                }
                return Ok(Some((f, at)));
            }
            let keep_from = (self.buf_pos + self.buf.len() as Ticks).saturating_sub(KEEP as Ticks);
            self.trim_to(keep_from);
            self.damaged = false;
            if self.pos >= deadline {
                return Ok(None);
            }
            let n = (deadline - self.pos).min(CHUNK as Ticks) as usize;
            self.read(n, st)?;
        }
    }

    /// Drops buffered samples before stream position `p`.
    fn trim_to(&mut self, p: Ticks) {
        let drop = p.saturating_sub(self.buf_pos).min(self.buf.len() as Ticks) as usize;
        self.buf.drain(..drop);
        self.buf_pos += drop as Ticks;
    }
}

/// Whether a decoded L-SIG is probe `seq`'s (an undecodable one is accepted
/// and counted, as with timed radios: the L-LTF estimate is still good).
fn is_probe(f: &Frame, seq: u64, st: &mut ProbeStats) -> bool {
    match f.lsig {
        Err(_) => {
            st.lsig_undecoded += 1;
            true
        }
        Ok(l) => l == LSig::for_probe(seq),
    }
}

/// The smallest exchange number `≥ next` whose probe carries `lsig`
/// (probes carry `seq mod 4096`); `next` when the L-SIG did not decode or
/// is not a probe's.
fn seq_of(f: &Frame, next: u64) -> u64 {
    match f.lsig {
        Ok(l) if l.rate_mbps == 6 => {
            let low = u64::from(l.length);
            next + (low + 4096 - next % 4096) % 4096
        }
        _ => next,
    }
}

/// [`super::run_probes`] for radios without device time: the ping-pong
/// protocol in the module documentation, with `turnaround` in samples.
///
/// # Errors
/// [`LabError::Radio`] on a radio failure.
pub fn run_probes_relative(
    radio: &mut dyn Radio,
    role: LabRole,
    sched: &Schedule,
    turnaround: Ticks,
    sink: &mut dyn FnMut(Observation) -> bool,
) -> Result<ProbeStats, LabError> {
    let fs = radio.config().sample_rate_hz;
    let period = fs / sched.exchange_rate_hz;
    if (PROBE_LEN as f64 * 2.0 + turnaround as f64 + 2.0 * CHUNK as f64) > period {
        return Err(LabError::Schedule(format!(
            "an exchange ({:.0} samples at {} /s) cannot hold two probes, the {turnaround}-sample \
             turnaround and the scan latency; lower --exchange-rate",
            period, sched.exchange_rate_hz
        )));
    }
    let mut st = ProbeStats {
        turnaround_us: Some(turnaround as f64 / fs * 1e6),
        ..ProbeStats::default()
    };
    let mut s = Stream::new(radio, fs);
    let mut probe = vec![Complex32::new(0.0, 0.0); PROBE_LEN];
    let obs = |of, seq, at: Ticks, f: &Frame| Observation {
        of,
        seq,
        t: at as f64 / fs,
        csi: f.csi,
    };
    let (mut rt_sum, mut rt_sq) = (0.0f64, 0.0f64);
    match role {
        LabRole::Alice => {
            for k in 0..sched.exchanges {
                s.skip_to(sched.alice_tick(fs, k), &mut st)?;
                write_probe(&LSig::for_probe(k), &mut probe);
                let sent_at = s.pos;
                s.transmit(&probe, &mut st)?;
                let deadline = s.pos + turnaround + (PROBE_LEN + 2 * CHUNK) as Ticks;
                let mut keep_going = true;
                loop {
                    match s.next_frame(deadline, &mut st)? {
                        None => {
                            st.lost += 1;
                            break;
                        }
                        Some((f, at)) if is_probe(&f, k, &mut st) => {
                            st.found += 1;
                            let rt = (at - sent_at) as f64 / fs * 1e6;
                            rt_sum += rt;
                            rt_sq += rt * rt;
                            keep_going = sink(obs(LabRole::Bob, k, at, &f));
                            break;
                        }
                        Some(_) => st.wrong_probe += 1,
                    }
                }
                st.exchanges = k + 1;
                if !keep_going {
                    break;
                }
            }
        }
        LabRole::Bob | LabRole::Eve => {
            let idle = (IDLE_EXCHANGES * period) as Ticks + turnaround;
            let mut next = 0u64; // Bob: next exchange expected
            let mut last: Option<(u64, u8)> = None; // Eve: (seq, probes seen of it)
            let mut deadline = sched.alice_tick(fs, 0) + idle;
            while next < sched.exchanges {
                let Some((f, at)) = s.next_frame(deadline, &mut st)? else {
                    break; // Alice stopped (or never started)
                };
                deadline = s.pos + idle;
                let seq = seq_of(&f, next);
                if seq >= sched.exchanges {
                    st.wrong_probe += 1;
                    continue;
                }
                let of = if role == LabRole::Bob {
                    LabRole::Alice
                } else {
                    match last {
                        Some((q, 1)) if q == seq => LabRole::Bob,
                        _ => LabRole::Alice,
                    }
                };
                st.found += 1;
                st.exchanges = seq + 1;
                if role == LabRole::Bob {
                    let reply_at = at + (PROBE_LEN as Ticks) + turnaround;
                    if s.pos > reply_at {
                        st.late_replies += 1;
                    } else {
                        s.skip_to(reply_at, &mut st)?;
                    }
                    write_probe(&LSig::for_probe(seq), &mut probe);
                    s.transmit(&probe, &mut st)?;
                    next = seq + 1;
                } else {
                    last = Some((seq, if of == LabRole::Alice { 1 } else { 2 }));
                    if of == LabRole::Bob {
                        next = seq + 1;
                    }
                }
                if !sink(obs(of, seq, at, &f)) {
                    break;
                }
            }
        }
    }
    if role == LabRole::Alice && st.found > 0 {
        let n = st.found as f64;
        let mean = rt_sum / n;
        st.round_trip_mean_us = Some(mean);
        st.round_trip_std_us = Some((rt_sq / n - mean * mean).max(0.0).sqrt());
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(lsig: Result<LSig, qwave_dsp::lsig::LSigError>) -> Frame {
        Frame {
            start: 0,
            ltf_start: 192,
            cfo_hz: 0.0,
            snr_db: 30.0,
            csi: [Complex32::new(1.0, 0.0); 52],
            lsig,
        }
    }

    #[test]
    fn sequence_numbers_unwrap_past_4096() {
        let f = frame(Ok(LSig::for_probe(4096 + 7)));
        assert_eq!(seq_of(&f, 0), 7);
        assert_eq!(seq_of(&f, 8), 4096 + 7);
        assert_eq!(seq_of(&f, 4096 + 7), 4096 + 7);
        let undecoded = frame(Err(qwave_dsp::lsig::LSigError::Parity));
        assert_eq!(seq_of(&undecoded, 42), 42);
    }
}
