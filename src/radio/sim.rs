//! `sim:` radios: a [`Radio`] that lives on a `qwave air` (see
//! [`super::air`]), so Alice, Bob and Eve can be separate processes exactly
//! as in a lab. Timing is [`Timing::Hardware`] (the air's virtual clock) by
//! default; `timing=relative` makes the radio behave like a HackRF (no device
//! time: every window is the next samples of the stream, every burst goes out
//! at the stream position, half duplex), so the lab's relative ping-pong
//! protocol can be run without hardware.

use std::collections::VecDeque;
use std::io::BufReader;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use num_complex::Complex32;

use super::wire::{read_msg, write_msg, AirMsg, SimNode, AIR_PROTOCOL_VERSION};
use super::{parse_kv, Radio, RadioConfig, RadioError, RadioEvent, Ticks, Timing};

/// How long [`SimRadio::connect`] retries a refused connection (the air may
/// still be starting).
pub const CONNECT_RETRY: Duration = Duration::from_secs(10);

/// A simulated radio connected to a virtual air.
pub struct SimRadio {
    addr: String,
    node: SimNode,
    serial: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    cfg: RadioConfig,
    carrier_hz: f64,
    end_tick: u64,
    now: Ticks,
    timing: Timing,
    events: VecDeque<RadioEvent>,
}

impl std::fmt::Debug for SimRadio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimRadio")
            .field("air", &self.addr)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl SimRadio {
    /// Parses `air=HOST:PORT,node=NAME[,serial=ID][,timing=hardware|relative][,turnaround_us=N]`
    /// (the part after `sim:`) and connects. The serial names the radio's
    /// calibration file; it defaults to `sim-<node>` (a sim radio's hardware
    /// is drawn from the air's seed, so a calibration holds for airs with the
    /// same seed). `turnaround_us` (default 1000, as for a HackRF) is the
    /// reply delay of a relative-timing radio.
    ///
    /// # Errors
    /// [`RadioError::BadArgs`] for a missing or unknown key or node name;
    /// connection errors as in [`SimRadio::connect`].
    pub fn from_args(args: &str) -> Result<Self, RadioError> {
        let bad = |reason: String| RadioError::BadArgs {
            args: format!("sim:{args}"),
            reason,
        };
        let (mut air, mut node, mut serial) = (None, None, None);
        let (mut relative, mut turnaround_us) = (false, 1000u64);
        for (k, v) in parse_kv(args)? {
            match k.as_str() {
                "timing" => {
                    relative = match v.as_str() {
                        "hardware" => false,
                        "relative" => true,
                        _ => {
                            return Err(bad(format!("timing `{v}`: expected hardware or relative")))
                        }
                    }
                }
                "turnaround_us" => {
                    turnaround_us = v
                        .parse()
                        .map_err(|_| bad(format!("turnaround_us `{v}`: not a whole number")))?
                }
                "air" => air = Some(v),
                "node" => {
                    node = Some(SimNode::parse(&v).ok_or_else(|| {
                        bad(format!("node `{v}`: expected alice, bob, eve or eveN"))
                    })?)
                }
                "serial" => serial = Some(v),
                _ => {
                    return Err(bad(format!(
                        "unknown key `{k}` (keys: air, node, serial, timing, turnaround_us)"
                    )))
                }
            }
        }
        let air = air.ok_or_else(|| bad("missing air=HOST:PORT".into()))?;
        let node = node.ok_or_else(|| bad("missing node=alice|bob|eve".into()))?;
        let mut radio = Self::connect(&air, node)?;
        if let Some(s) = serial {
            radio.serial = s;
        }
        if relative {
            radio.timing = Timing::Relative {
                turnaround: radio.cfg.ticks(turnaround_us as f64 * 1e-6),
            };
        }
        Ok(radio)
    }

    /// Connects to the air at `addr` as `node` (retrying refused connections
    /// for [`CONNECT_RETRY`]).
    ///
    /// # Errors
    /// [`RadioError::Io`] when the air cannot be reached,
    /// [`RadioError::Refused`] when it refuses the node.
    pub fn connect(addr: &str, node: SimNode) -> Result<Self, RadioError> {
        let io = |source| RadioError::Io {
            addr: addr.into(),
            source,
        };
        let start = Instant::now();
        let stream = loop {
            match TcpStream::connect(addr) {
                Ok(s) => break s,
                Err(e)
                    if e.kind() == std::io::ErrorKind::ConnectionRefused
                        && start.elapsed() < CONNECT_RETRY =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(io(e)),
            }
        };
        stream.set_nodelay(true).map_err(io)?;
        let reader = BufReader::new(stream.try_clone().map_err(io)?);
        let mut radio = Self {
            addr: addr.into(),
            node,
            serial: format!("sim-{node}"),
            reader,
            writer: stream,
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            cfg: RadioConfig::default(),
            carrier_hz: 0.0,
            end_tick: 0,
            now: 0,
            timing: Timing::Hardware,
            events: VecDeque::new(),
        };
        match radio.request(&AirMsg::Hello {
            version: AIR_PROTOCOL_VERSION,
            node,
        })? {
            AirMsg::Welcome {
                sample_rate_hz,
                carrier_hz,
                end_tick,
            } => {
                radio.cfg.sample_rate_hz = sample_rate_hz;
                radio.cfg.frequency_hz = carrier_hz;
                radio.carrier_hz = carrier_hz;
                radio.end_tick = end_tick;
                Ok(radio)
            }
            other => Err(unexpected(other)),
        }
    }

    /// Which radio of the scenario this is.
    pub fn node(&self) -> SimNode {
        self.node
    }

    /// The tick at which the air stops answering.
    pub fn end_tick(&self) -> Ticks {
        self.end_tick
    }

    fn request(&mut self, msg: &AirMsg) -> Result<AirMsg, RadioError> {
        let io = |source| RadioError::Io {
            addr: self.addr.clone(),
            source,
        };
        write_msg(&mut self.writer, msg, &mut self.wbuf).map_err(io)?;
        match read_msg(&mut self.reader, &mut self.rbuf) {
            Ok(Some(AirMsg::Refused(why))) => Err(RadioError::Refused(why)),
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(closed(&self.addr)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(closed(&self.addr)),
            Err(e) => Err(RadioError::Io {
                addr: self.addr.clone(),
                source: e,
            }),
        }
    }
}

fn closed(addr: &str) -> RadioError {
    RadioError::Io {
        addr: addr.into(),
        source: std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the air closed the connection",
        ),
    }
}

fn unexpected(m: AirMsg) -> RadioError {
    RadioError::Refused(format!("unexpected reply {m:?}"))
}

impl Radio for SimRadio {
    fn describe(&self) -> String {
        format!("sim:{}@{}", self.node, self.addr)
    }

    fn serial(&self) -> String {
        self.serial.clone()
    }

    /// The air simulates one 20 MS/s channel at the scenario's carrier:
    /// any other rate or frequency is [`RadioError::Unsupported`]. Gains and
    /// bandwidth are recorded; the air's SNR is fixed by the scenario.
    fn configure(&mut self, cfg: &RadioConfig) -> Result<(), RadioError> {
        if cfg.sample_rate_hz != self.cfg.sample_rate_hz {
            return Err(RadioError::Unsupported(format!(
                "the virtual air runs at {} S/s, not {}",
                self.cfg.sample_rate_hz, cfg.sample_rate_hz
            )));
        }
        if (cfg.frequency_hz - self.carrier_hz).abs() > 1.0 {
            return Err(RadioError::Unsupported(format!(
                "the virtual air simulates a carrier of {} Hz, not {}",
                self.carrier_hz, cfg.frequency_hz
            )));
        }
        self.cfg = cfg.clone();
        Ok(())
    }

    fn config(&self) -> &RadioConfig {
        &self.cfg
    }

    fn timing(&self) -> Timing {
        self.timing
    }

    fn time_now(&mut self) -> Result<Option<Ticks>, RadioError> {
        Ok(match self.timing {
            Timing::Hardware => Some(self.now),
            Timing::Relative { .. } => None,
        })
    }

    fn transmit_at(&mut self, at: Ticks, burst: &[Complex32]) -> Result<(), RadioError> {
        // Relative timing: the burst goes out at the stream position, and the
        // (half-duplex) receiver misses the samples it covers.
        let at = match self.timing {
            Timing::Hardware => at,
            Timing::Relative { .. } => self.now,
        };
        match self.request(&AirMsg::Transmit {
            at,
            samples: burst.to_vec(),
        })? {
            AirMsg::Sent => {
                self.now = self.now.max(at + burst.len() as u64);
                Ok(())
            }
            AirMsg::Late {
                requested,
                earliest,
            } => {
                self.events.push_back(RadioEvent::Late {
                    requested,
                    now: earliest,
                });
                Ok(())
            }
            other => Err(unexpected(other)),
        }
    }

    fn receive_at(&mut self, at: Ticks, out: &mut [Complex32]) -> Result<(), RadioError> {
        let len = u32::try_from(out.len())
            .map_err(|_| RadioError::Invalid(format!("window of {} samples", out.len())))?;
        // Relative timing: the window is the next samples of the stream.
        let at = match self.timing {
            Timing::Hardware => at,
            Timing::Relative { .. } => self.now,
        };
        match self.request(&AirMsg::Receive { at, len })? {
            AirMsg::Samples { at: got, samples } if got == at && samples.len() == out.len() => {
                out.copy_from_slice(&samples);
                self.now = self.now.max(at + out.len() as u64);
                Ok(())
            }
            AirMsg::Late {
                requested,
                earliest,
            } => {
                out.fill(Complex32::new(0.0, 0.0));
                self.events.push_back(RadioEvent::Late {
                    requested,
                    now: earliest,
                });
                Ok(())
            }
            other => Err(unexpected(other)),
        }
    }

    fn poll_event(&mut self) -> Option<RadioEvent> {
        self.events.pop_front()
    }
}
