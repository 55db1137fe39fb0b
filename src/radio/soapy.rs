//! SoapySDR radios (cargo feature `soapy`; system library libsoapysdr-dev and
//! the device's module, e.g. soapysdr-module-uhd / soapysdr-module-hackrf).
//!
//! Device selection by the SoapySDR args string (`driver=uhd,serial=…`,
//! `driver=hackrf`). qwave's own keys, removed before the rest goes to
//! SoapySDR:
//! - `time=internal|pps|gpsdo` — time alignment of devices with hardware time:
//!   `pps` sets device time 0 at the next external PPS edge (both radios share
//!   one PPS), `gpsdo` sets it to the GPS time of the next PPS edge;
//! - `clock=internal|external|gpsdo` — the 10 MHz reference;
//! - `channel=N` — the channel used for TX and RX (default 0);
//! - `turnaround_us=N` — reply delay of radios without hardware time (default 1000).
//!
//! Timing: a device that reports hardware time (SoapySDR `hasHardwareTime`,
//! e.g. a USRP through SoapyUHD) gets [`Timing::Hardware`]: bursts carry
//! `HAS_TIME`, the receive stream runs continuously and windows are cut out
//! of it by the timestamps of each read. A device without (HackRF:
//! half-duplex, no timestamps) gets [`Timing::Relative`]: `at` is ignored,
//! bursts go out at once, windows are the next samples read.
//! Hardware-only paths are exercised by the lab procedure in `docs/lab.md`.

use std::collections::VecDeque;

use num_complex::Complex32;
use soapysdr::{Device, Direction, ErrorCode, RxStream, TxStream};

use super::{parse_kv, Radio, RadioConfig, RadioError, RadioEvent, Ticks, Timing};

/// Receive read timeout, µs.
const READ_TIMEOUT_US: i64 = 1_000_000;
/// Reads the receive path may take to reach a window before giving up.
const MAX_READS_PER_WINDOW: usize = 1 << 20;

/// A SoapySDR device with one TX and one RX stream.
pub struct SoapyRadio {
    args: String,
    driver: String,
    device: Device,
    channel: usize,
    cfg: RadioConfig,
    timing: Timing,
    rx: RxStream<Complex32>,
    tx: TxStream<Complex32>,
    /// Samples read but not yet used, starting at tick `buf_tick`.
    buf: VecDeque<Complex32>,
    buf_tick: Option<Ticks>,
    chunk: Vec<Complex32>,
    events: VecDeque<RadioEvent>,
}

fn dev(e: soapysdr::Error) -> RadioError {
    RadioError::Device(e.to_string())
}

impl SoapyRadio {
    /// Opens the device the args select and sets up its streams.
    ///
    /// # Errors
    /// [`RadioError::BadArgs`] for malformed args; [`RadioError::Device`] if
    /// no device matches or a setting is refused; [`RadioError::NoStream`]
    /// if the device cannot stream (SoapySDR's `driver=null`).
    pub fn open(args: &str) -> Result<Self, RadioError> {
        let mut pass = Vec::new();
        let (mut time, mut clock, mut channel, mut turnaround_us) = (None, None, 0usize, 1000u64);
        for (k, v) in parse_kv(args)? {
            let bad = |what: &str| RadioError::BadArgs {
                args: args.into(),
                reason: format!("{k}={v}: {what}"),
            };
            match k.as_str() {
                "time" => time = Some(v),
                "clock" => clock = Some(v),
                "channel" => channel = v.parse().map_err(|_| bad("not a channel number"))?,
                "turnaround_us" => {
                    turnaround_us = v.parse().map_err(|_| bad("not a whole number of µs"))?
                }
                _ => pass.push(format!("{k}={v}")),
            }
        }
        let device = Device::new(pass.join(",").as_str()).map_err(|e| {
            RadioError::Device(format!(
                "no SoapySDR device matches `{args}` ({e}); list devices with SoapySDRUtil --find"
            ))
        })?;
        let driver = device.driver_key().map_err(dev)?;
        if let Some(c) = &clock {
            device.set_clock_source(c.as_str()).map_err(dev)?;
        }
        let has_time = device.has_hardware_time(None).unwrap_or(false);
        match time.as_deref() {
            None | Some("internal") => {}
            Some("pps") if has_time => {
                device.set_time_source("external").map_err(dev)?;
                device.set_hardware_time(Some("pps"), 0).map_err(dev)?;
            }
            Some("gpsdo") if has_time => {
                device.set_time_source("gpsdo").map_err(dev)?;
                let gps: i64 = device
                    .read_sensor("gps_time")
                    .map_err(dev)?
                    .trim()
                    .parse()
                    .map_err(|_| RadioError::Device("unreadable gps_time sensor".into()))?;
                device
                    .set_hardware_time(Some("pps"), (gps + 1) * 1_000_000_000)
                    .map_err(dev)?;
            }
            Some(t) => {
                return Err(RadioError::Unsupported(format!(
                    "time={t} on `{driver}` (hardware time: {has_time}; use internal, pps or gpsdo)"
                )))
            }
        }
        let no_stream = |e: soapysdr::Error| RadioError::NoStream {
            driver: driver.clone(),
            reason: e.to_string(),
        };
        let nrx = device.num_channels(Direction::Rx).map_err(no_stream)?;
        let ntx = device.num_channels(Direction::Tx).map_err(no_stream)?;
        if channel >= nrx || channel >= ntx {
            return Err(RadioError::NoStream {
                driver,
                reason: format!(
                    "channel {channel} requested; the device has {nrx} RX and {ntx} TX channels"
                ),
            });
        }
        let rx = device
            .rx_stream::<Complex32>(&[channel])
            .map_err(no_stream)?;
        let tx = device
            .tx_stream::<Complex32>(&[channel])
            .map_err(no_stream)?;
        let cfg = RadioConfig::default();
        let timing = if has_time {
            Timing::Hardware
        } else {
            Timing::Relative {
                turnaround: cfg.ticks(turnaround_us as f64 * 1e-6),
            }
        };
        let mut r = Self {
            args: args.into(),
            driver,
            device,
            channel,
            cfg: cfg.clone(),
            timing,
            rx,
            tx,
            buf: VecDeque::new(),
            buf_tick: None,
            chunk: vec![Complex32::new(0.0, 0.0); 4096],
            events: VecDeque::new(),
        };
        r.configure(&cfg)?;
        Ok(r)
    }

    fn ns(&self, ticks: Ticks) -> i64 {
        (ticks as f64 * 1e9 / self.cfg.sample_rate_hz).round() as i64
    }

    fn ticks_of_ns(&self, ns: i64) -> Ticks {
        (ns.max(0) as f64 * self.cfg.sample_rate_hz / 1e9).round() as Ticks
    }

    fn ensure_rx_active(&mut self) -> Result<(), RadioError> {
        if !self.rx.active() {
            self.rx.activate(None).map_err(dev)?;
        }
        if !self.tx.active() {
            self.tx.activate(None).map_err(dev)?;
        }
        Ok(())
    }

    /// Reads one chunk into the buffer; returns false on a timeout.
    fn read_chunk(&mut self) -> Result<bool, RadioError> {
        let n = match self.rx.read(&mut [&mut self.chunk[..]], READ_TIMEOUT_US) {
            Ok(n) => n,
            Err(e) if e.code == ErrorCode::Timeout => return Ok(false),
            Err(e) if e.code == ErrorCode::Overflow => {
                self.events.push_back(RadioEvent::Overflow {
                    at: self.buf_tick.unwrap_or(0),
                });
                // Samples were lost: the next read's timestamp re-anchors the buffer.
                self.buf.clear();
                self.buf_tick = None;
                return Ok(true);
            }
            Err(e) => return Err(dev(e)),
        };
        let t = match self.timing {
            Timing::Hardware => self.ticks_of_ns(self.rx.time_ns()),
            Timing::Relative { .. } => self.buf_tick.unwrap_or(0) + self.buf.len() as Ticks,
        };
        match self.buf_tick {
            Some(bt) if bt + self.buf.len() as Ticks == t => {}
            _ => {
                self.buf.clear();
                self.buf_tick = Some(t);
            }
        }
        self.buf.extend(self.chunk[..n].iter().copied());
        Ok(true)
    }

    fn poll_tx_status(&mut self) {
        let (mut mask, mut flags, mut t) = (0usize, 0i32, 0i64);
        if let Err(e) = self.tx.read_status(&mut mask, &mut flags, &mut t, 0) {
            match e.code {
                ErrorCode::Underflow => self.events.push_back(RadioEvent::Underflow {
                    at: self.ticks_of_ns(t),
                }),
                ErrorCode::TimeError => self.events.push_back(RadioEvent::Late {
                    requested: self.ticks_of_ns(t),
                    now: self.ticks_of_ns(t),
                }),
                _ => {}
            }
        }
    }
}

impl Radio for SoapyRadio {
    fn describe(&self) -> String {
        format!("soapy:{} ({})", self.args, self.driver)
    }

    /// The `serial=` key of the device args (USRPs, HackRFs: give it to
    /// select the device), else `<driver>-<args>` made file-safe.
    fn serial(&self) -> String {
        let from_args = parse_kv(&self.args)
            .ok()
            .and_then(|kv| kv.into_iter().find(|(k, _)| k == "serial"))
            .map(|(_, v)| v);
        super::file_safe(&from_args.unwrap_or_else(|| format!("{}-{}", self.driver, self.args)))
    }

    fn configure(&mut self, cfg: &RadioConfig) -> Result<(), RadioError> {
        let c = self.channel;
        for dir in [Direction::Rx, Direction::Tx] {
            self.device
                .set_sample_rate(dir, c, cfg.sample_rate_hz)
                .map_err(dev)?;
            self.device
                .set_frequency(dir, c, cfg.frequency_hz, "")
                .map_err(dev)?;
            if let Some(bw) = cfg.bandwidth_hz {
                self.device.set_bandwidth(dir, c, bw).map_err(dev)?;
            }
        }
        self.device
            .set_gain(Direction::Tx, c, cfg.tx_gain_db)
            .map_err(dev)?;
        self.device
            .set_gain(Direction::Rx, c, cfg.rx_gain_db)
            .map_err(dev)?;
        let got = self.device.sample_rate(Direction::Rx, c).map_err(dev)?;
        if (got - cfg.sample_rate_hz).abs() > 1.0 {
            return Err(RadioError::Unsupported(format!(
                "{} runs at {got} S/s, not the requested {}",
                self.driver, cfg.sample_rate_hz
            )));
        }
        self.cfg = cfg.clone();
        self.buf.clear();
        self.buf_tick = None;
        Ok(())
    }

    fn config(&self) -> &RadioConfig {
        &self.cfg
    }

    fn timing(&self) -> Timing {
        self.timing
    }

    fn time_now(&mut self) -> Result<Option<Ticks>, RadioError> {
        match self.timing {
            Timing::Hardware => {
                let ns = self.device.get_hardware_time(None).map_err(dev)?;
                Ok(Some(self.ticks_of_ns(ns)))
            }
            Timing::Relative { .. } => Ok(None),
        }
    }

    fn transmit_at(&mut self, at: Ticks, burst: &[Complex32]) -> Result<(), RadioError> {
        self.ensure_rx_active()?;
        let when = match self.timing {
            Timing::Hardware => Some(self.ns(at)),
            Timing::Relative { .. } => None,
        };
        match self.tx.write_all(&[burst], when, true, READ_TIMEOUT_US) {
            Ok(()) => {}
            Err(e) if e.code == ErrorCode::TimeError => {
                let now = self.time_now()?.unwrap_or(0);
                self.events
                    .push_back(RadioEvent::Late { requested: at, now });
            }
            Err(e) => return Err(dev(e)),
        }
        self.poll_tx_status();
        Ok(())
    }

    fn receive_at(&mut self, at: Ticks, out: &mut [Complex32]) -> Result<(), RadioError> {
        self.ensure_rx_active()?;
        let n = out.len();
        let len = n as Ticks;
        for _ in 0..MAX_READS_PER_WINDOW {
            if let (Timing::Relative { .. }, Some(bt)) = (self.timing, self.buf_tick) {
                // No device time: the window is the next samples.
                if self.buf.len() >= out.len() {
                    for (o, s) in out.iter_mut().zip(self.buf.drain(..n)) {
                        *o = s;
                    }
                    self.buf_tick = Some(bt + len);
                    return Ok(());
                }
            } else if let Some(bt) = self.buf_tick {
                if bt > at {
                    out.fill(Complex32::new(0.0, 0.0));
                    self.events.push_back(RadioEvent::Late {
                        requested: at,
                        now: bt,
                    });
                    return Ok(());
                }
                let skip = (at - bt) as usize;
                if skip > 0 {
                    let drop = skip.min(self.buf.len());
                    self.buf.drain(..drop);
                    self.buf_tick = Some(bt + drop as Ticks);
                    if drop < skip {
                        if !self.read_chunk()? {
                            return Err(RadioError::Device("receive timed out".into()));
                        }
                        continue;
                    }
                }
                if self.buf.len() >= out.len() {
                    for (o, s) in out.iter_mut().zip(self.buf.drain(..n)) {
                        *o = s;
                    }
                    self.buf_tick = Some(at + len);
                    return Ok(());
                }
            }
            if !self.read_chunk()? {
                return Err(RadioError::Device("receive timed out".into()));
            }
        }
        Err(RadioError::Device(format!(
            "window at tick {at} not reached after {MAX_READS_PER_WINDOW} reads"
        )))
    }

    fn poll_event(&mut self) -> Option<RadioEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SoapySDR's built-in null device opens but has no channels to stream.
    #[test]
    fn null_device_is_a_clear_error() {
        match SoapyRadio::open("driver=null") {
            Err(RadioError::NoStream { driver, reason }) => {
                assert_eq!(driver, "null");
                assert!(reason.contains("0 RX"), "{reason}");
            }
            Err(e) => panic!("unexpected error kind: {e}"),
            Ok(_) => panic!("the null device must not give a streaming radio"),
        }
    }

    #[test]
    fn unknown_driver_is_a_clear_error() {
        match SoapyRadio::open("driver=no-such-radio-xyz") {
            Err(RadioError::Device(msg)) => {
                assert!(msg.contains("no SoapySDR device matches"), "{msg}")
            }
            Err(e) => panic!("unexpected error kind: {e}"),
            Ok(_) => panic!("no such device"),
        }
    }
}
