//! Radios: one object-safe [`Radio`] trait for timed transmit bursts and
//! receive windows, and its drivers.
//!
//! ```text
//!  lab schedule ─► Box<dyn Radio> ─┬─ sim:   SimRadio ──TCP──► qwave air (virtual air, ChannelSim)
//!                                  └─ soapy: SoapyRadio ─► SoapySDR ─► UHD / HackRF / …  (feature `soapy`)
//! ```
//!
//! Time is counted in ticks of the configured sample rate (`u64`). A radio
//! with hardware time ([`Timing::Hardware`], e.g. a USRP: SoapySDR
//! `HAS_TIME`) places bursts and windows at absolute ticks; a radio without
//! ([`Timing::Relative`], e.g. a HackRF) cannot, and the lab falls back to
//! relative ping-pong timing (see `docs/lab.md`). Overflows, underflows and
//! late commands are not errors: the operation returns and a typed
//! [`RadioEvent`] is queued for [`Radio::poll_event`].

pub mod air;
pub mod sim;
#[cfg(feature = "soapy")]
pub mod soapy;
pub mod wire;

use num_complex::Complex32;

/// Sample time in ticks of the radio's sample rate.
pub type Ticks = u64;

/// Front-end settings.
#[derive(Clone, Debug, PartialEq)]
pub struct RadioConfig {
    /// Carrier (centre) frequency, Hz.
    pub frequency_hz: f64,
    /// Sample rate, samples/s (the receiver needs the 802.11 20 MS/s grid).
    pub sample_rate_hz: f64,
    /// Transmit gain, dB (device-specific range).
    pub tx_gain_db: f64,
    /// Receive gain, dB (device-specific range).
    pub rx_gain_db: f64,
    /// Analog filter bandwidth, Hz (`None`: the device's default for the rate).
    pub bandwidth_hz: Option<f64>,
}

impl Default for RadioConfig {
    /// 2.4 GHz, 20 MS/s (IEEE 802.11-2020 §17 20 MHz channel), 0 dB gains.
    fn default() -> Self {
        Self {
            frequency_hz: 2.4e9,
            sample_rate_hz: qwave_dsp::channel::SAMPLE_RATE_HZ,
            tx_gain_db: 0.0,
            rx_gain_db: 0.0,
            bandwidth_hz: None,
        }
    }
}

impl RadioConfig {
    /// Converts seconds to ticks of the sample rate (rounded to nearest).
    pub fn ticks(&self, seconds: f64) -> Ticks {
        (seconds * self.sample_rate_hz).round().max(0.0) as Ticks
    }

    /// Converts ticks to seconds.
    pub fn seconds(&self, ticks: Ticks) -> f64 {
        ticks as f64 / self.sample_rate_hz
    }
}

/// How a radio places bursts in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// Bursts and windows at absolute device ticks (USRP `HAS_TIME`, the virtual air).
    Hardware,
    /// No device time: bursts go out as soon as possible and the peer's probe
    /// is found by scanning; `turnaround` is the fixed reply delay (ticks)
    /// accounted in the report (HackRF, half-duplex).
    Relative {
        /// Fixed delay between detecting the peer's probe and replying.
        turnaround: Ticks,
    },
}

/// Something the radio reports that is not a failure of the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RadioEvent {
    /// Receive samples were lost (host too slow); the window has gaps (zeros).
    Overflow {
        /// Window start of the affected receive.
        at: Ticks,
    },
    /// The transmitter ran dry inside a burst.
    Underflow {
        /// Burst start.
        at: Ticks,
    },
    /// A timed command arrived after its time: the burst was dropped or the
    /// window was not captured (zeros).
    Late {
        /// Requested time.
        requested: Ticks,
        /// Device time when the command arrived (or the earliest allowed time).
        now: Ticks,
    },
    /// The radio lost its time reference (PPS/GPSDO unlock).
    TimeLost,
}

/// Errors of the radio layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RadioError {
    /// The `--radio` argument string is malformed.
    #[error("radio arguments `{args}`: {reason}")]
    BadArgs {
        /// The string given.
        args: String,
        /// What is wrong.
        reason: String,
    },
    /// The device or driver cannot do what was asked.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The device could not be opened or refused a setting.
    #[error("device: {0}")]
    Device(String),
    /// The device cannot stream samples (e.g. SoapySDR's `driver=null`).
    #[error("device `{driver}` cannot stream: {reason}")]
    NoStream {
        /// Driver key.
        driver: String,
        /// What the driver said.
        reason: String,
    },
    /// Connection to the virtual air failed.
    #[error("virtual air at {addr}: {source}")]
    Io {
        /// Air address.
        addr: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The virtual air sent something undecodable.
    #[error("virtual air protocol: {0}")]
    Wire(#[from] wire::WireError),
    /// The virtual air refused a request.
    #[error("virtual air refused: {0}")]
    Refused(String),
    /// A buffer or time is out of range.
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// A software-defined radio: configure, place a transmit burst, capture a
/// receive window. Object-safe; every driver implements it.
pub trait Radio: Send {
    /// Short description (driver, node or serial) for logs and reports.
    fn describe(&self) -> String;

    /// Device identity that names its calibration file (`calibration/<serial>.toml`):
    /// the hardware serial where the driver has one. The default is [`Radio::describe`]
    /// with every character outside `A–Z a–z 0–9 . _ -` replaced by `_`.
    fn serial(&self) -> String {
        file_safe(&self.describe())
    }

    /// Applies front-end settings.
    ///
    /// # Errors
    /// [`RadioError::Unsupported`] for settings the device cannot take,
    /// [`RadioError::Device`] when the driver refuses one.
    fn configure(&mut self, cfg: &RadioConfig) -> Result<(), RadioError>;

    /// The settings in force.
    fn config(&self) -> &RadioConfig;

    /// How this radio places bursts in time.
    fn timing(&self) -> Timing;

    /// Current device time in ticks, where the device has a clock
    /// ([`Timing::Hardware`]); `None` otherwise.
    ///
    /// # Errors
    /// Device or connection failures.
    fn time_now(&mut self) -> Result<Option<Ticks>, RadioError>;

    /// Sends `burst` starting at tick `at` (with [`Timing::Relative`], `at`
    /// is ignored and the burst goes out now). A late burst is dropped and
    /// reported as [`RadioEvent::Late`], not as an error.
    ///
    /// # Errors
    /// Device or connection failures, an over-long burst.
    fn transmit_at(&mut self, at: Ticks, burst: &[Complex32]) -> Result<(), RadioError>;

    /// Captures the window `[at, at + out.len())` into `out`. Lost samples
    /// are zeros and reported as events.
    ///
    /// # Errors
    /// Device or connection failures, an over-long window.
    fn receive_at(&mut self, at: Ticks, out: &mut [Complex32]) -> Result<(), RadioError>;

    /// Next queued event, oldest first.
    fn poll_event(&mut self) -> Option<RadioEvent>;
}

/// Opens the radio an argument string names:
/// - `sim:air=HOST:PORT,node=alice|bob|eve|eveN` — a simulated radio on a `qwave air`;
/// - `soapy:ARGS` or bare SoapySDR args (`driver=uhd,serial=…`, `driver=hackrf`) — needs
///   the `soapy` feature.
///
/// # Errors
/// [`RadioError::BadArgs`], or whatever opening the device fails with.
pub fn open(args: &str) -> Result<Box<dyn Radio>, RadioError> {
    if let Some(rest) = args.strip_prefix("sim:") {
        return Ok(Box::new(sim::SimRadio::from_args(rest)?));
    }
    let soapy_args = args.strip_prefix("soapy:").unwrap_or(args);
    if !soapy_args.contains("driver=") {
        return Err(RadioError::BadArgs {
            args: args.into(),
            reason: "expected `sim:air=HOST:PORT,node=NAME` or SoapySDR args with `driver=…`"
                .into(),
        });
    }
    open_soapy(soapy_args)
}

#[cfg(feature = "soapy")]
fn open_soapy(args: &str) -> Result<Box<dyn Radio>, RadioError> {
    Ok(Box::new(soapy::SoapyRadio::open(args)?))
}

#[cfg(not(feature = "soapy"))]
fn open_soapy(args: &str) -> Result<Box<dyn Radio>, RadioError> {
    Err(RadioError::Unsupported(format!(
        "`{args}` needs a SoapySDR device, but this qwave was built without the `soapy` \
         feature (cargo build --features soapy; needs libsoapysdr-dev)"
    )))
}

/// `s` with every character outside `A–Z a–z 0–9 . _ -` replaced by `_`
/// (a radio identity usable as a file name), at most 64 characters.
pub fn file_safe(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Splits `k=v,k=v` into pairs.
///
/// # Errors
/// [`RadioError::BadArgs`] on an item without `=` or an empty key.
pub fn parse_kv(args: &str) -> Result<Vec<(String, String)>, RadioError> {
    args.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().into(), v.trim().into())),
            _ => Err(RadioError::BadArgs {
                args: args.into(),
                reason: format!("`{item}` is not key=value"),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_parsing() {
        let kv = parse_kv("driver=uhd, serial=31A5 ,").unwrap();
        assert_eq!(
            kv,
            vec![
                ("driver".into(), "uhd".into()),
                ("serial".into(), "31A5".into())
            ]
        );
        assert!(matches!(
            parse_kv("driver"),
            Err(RadioError::BadArgs { .. })
        ));
    }

    #[test]
    fn unknown_radio_strings_are_typed_errors() {
        assert!(matches!(open("hackrf"), Err(RadioError::BadArgs { .. })));
        assert!(matches!(
            open("sim:node=alice"),
            Err(RadioError::BadArgs { .. })
        ));
        #[cfg(not(feature = "soapy"))]
        assert!(matches!(
            open("driver=hackrf"),
            Err(RadioError::Unsupported(_))
        ));
    }

    #[test]
    fn tick_conversion() {
        let c = RadioConfig::default();
        assert_eq!(c.ticks(1e-3), 20_000);
        assert_eq!(c.seconds(20_000), 1e-3);
    }
}
