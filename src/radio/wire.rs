//! Wire protocol between a simulated radio and `qwave air`: one request,
//! one reply, each a frame `u32 big-endian length ‖ body`, body = tag byte ‖
//! fields (integers big-endian, samples as little-endian `f32` pairs, the
//! SigMF `cf32_le` layout).
//!
//! | tag | message | fields |
//! |---|---|---|
//! | 0x01 | `Hello` (radio → air) | version u16, node u8 (0 Alice, 1 Bob, 2 Eve), eve index u8 |
//! | 0x02 | `Transmit` | at u64, n u32, n samples |
//! | 0x03 | `Receive` | at u64, len u32 |
//! | 0x81 | `Welcome` (air → radio) | sample rate f64, carrier f64, end tick u64 |
//! | 0x82 | `Sent` | — |
//! | 0x83 | `Samples` | at u64, n u32, n samples |
//! | 0x84 | `Late` | requested u64, earliest u64 |
//! | 0x85 | `Refused` | n u16, n bytes UTF-8 |
//!
//! Decoding never panics: every malformed input is a typed [`WireError`].

use std::io::{Read, Write};

use num_complex::Complex32;

/// Version spoken in `Hello`.
pub const AIR_PROTOCOL_VERSION: u16 = 1;
/// Most samples one message may carry (a burst or a receive window).
pub const MAX_SAMPLES: usize = 1 << 16;
/// Largest body accepted.
pub const MAX_MESSAGE: usize = 1 + 8 + 4 + 8 * MAX_SAMPLES;

/// Which radio of the scenario a connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SimNode {
    /// The base station.
    Alice,
    /// The terminal.
    Bob,
    /// Eavesdropper `i` (listen-only).
    Eve(u8),
}

impl SimNode {
    /// Parses `alice`, `bob`, `eve` (= `eve0`) or `eveN`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "alice" => Some(Self::Alice),
            "bob" => Some(Self::Bob),
            "eve" => Some(Self::Eve(0)),
            _ => s.strip_prefix("eve")?.parse().ok().map(Self::Eve),
        }
    }

    /// The simulator node.
    pub fn node(self) -> qwave_dsp::channel::Node {
        use qwave_dsp::channel::Node;
        match self {
            Self::Alice => Node::Alice,
            Self::Bob => Node::Bob,
            Self::Eve(i) => Node::Eve(usize::from(i)),
        }
    }

    /// Whether this node may transmit (Eves only listen).
    pub fn transmits(self) -> bool {
        !matches!(self, Self::Eve(_))
    }
}

impl std::fmt::Display for SimNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Alice => f.write_str("alice"),
            Self::Bob => f.write_str("bob"),
            Self::Eve(i) => write!(f, "eve{i}"),
        }
    }
}

/// One message.
#[derive(Clone, Debug, PartialEq)]
pub enum AirMsg {
    /// Radio → air: register as `node`.
    Hello {
        /// [`AIR_PROTOCOL_VERSION`].
        version: u16,
        /// Which radio.
        node: SimNode,
    },
    /// Radio → air: send `samples` starting at tick `at`.
    Transmit {
        /// Start tick.
        at: u64,
        /// Baseband burst.
        samples: Vec<Complex32>,
    },
    /// Radio → air: capture `[at, at + len)`.
    Receive {
        /// Start tick.
        at: u64,
        /// Window length, samples.
        len: u32,
    },
    /// Air → radio: registered.
    Welcome {
        /// Sample rate of the virtual air.
        sample_rate_hz: f64,
        /// Carrier of the scenario.
        carrier_hz: f64,
        /// The air answers nothing at or beyond this tick.
        end_tick: u64,
    },
    /// Air → radio: burst accepted.
    Sent,
    /// Air → radio: the window.
    Samples {
        /// Start tick.
        at: u64,
        /// Received baseband.
        samples: Vec<Complex32>,
    },
    /// Air → radio: the request was before the radio's own time line (dropped).
    Late {
        /// Requested tick.
        requested: u64,
        /// Earliest tick the radio may still use.
        earliest: u64,
    },
    /// Air → radio: refused, with the reason.
    Refused(String),
}

/// Decoding failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The body ends inside a field.
    #[error("message truncated")]
    Truncated,
    /// Bytes left after the last field.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// Unknown message tag.
    #[error("unknown message tag {0:#04x}")]
    UnknownTag(u8),
    /// Unknown node code.
    #[error("unknown node code {0}")]
    UnknownNode(u8),
    /// Too many samples or bytes.
    #[error("{what} of {got} exceeds the limit {limit}")]
    TooLong {
        /// Which field.
        what: &'static str,
        /// Declared size.
        got: usize,
        /// Limit.
        limit: usize,
    },
    /// Text is not UTF-8.
    #[error("text is not UTF-8")]
    BadText,
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.0.len() < n {
            return Err(WireError::Truncated);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(a))
    }
    fn u64(&mut self) -> Result<u64, WireError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    fn f64(&mut self) -> Result<f64, WireError> {
        Ok(f64::from_bits(self.u64()?))
    }
    fn samples(&mut self) -> Result<Vec<Complex32>, WireError> {
        let n = self.u32()? as usize;
        if n > MAX_SAMPLES {
            return Err(WireError::TooLong {
                what: "sample count",
                got: n,
                limit: MAX_SAMPLES,
            });
        }
        let raw = self.take(n * 8)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| {
                Complex32::new(
                    f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    f32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
            .collect())
    }
}

fn put_samples(out: &mut Vec<u8>, s: &[Complex32]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    for x in s {
        out.extend_from_slice(&x.re.to_le_bytes());
        out.extend_from_slice(&x.im.to_le_bytes());
    }
}

impl AirMsg {
    /// Encodes the body (without the length prefix) into `out` (cleared first).
    ///
    /// # Errors
    /// [`WireError::TooLong`] for more than [`MAX_SAMPLES`] samples or a
    /// reason text over 65535 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.clear();
        let check = |n: usize| {
            if n > MAX_SAMPLES {
                Err(WireError::TooLong {
                    what: "sample count",
                    got: n,
                    limit: MAX_SAMPLES,
                })
            } else {
                Ok(())
            }
        };
        match self {
            Self::Hello { version, node } => {
                out.push(0x01);
                out.extend_from_slice(&version.to_be_bytes());
                let (code, i) = match node {
                    SimNode::Alice => (0, 0),
                    SimNode::Bob => (1, 0),
                    SimNode::Eve(i) => (2, *i),
                };
                out.extend_from_slice(&[code, i]);
            }
            Self::Transmit { at, samples } => {
                check(samples.len())?;
                out.push(0x02);
                out.extend_from_slice(&at.to_be_bytes());
                put_samples(out, samples);
            }
            Self::Receive { at, len } => {
                check(*len as usize)?;
                out.push(0x03);
                out.extend_from_slice(&at.to_be_bytes());
                out.extend_from_slice(&len.to_be_bytes());
            }
            Self::Welcome {
                sample_rate_hz,
                carrier_hz,
                end_tick,
            } => {
                out.push(0x81);
                out.extend_from_slice(&sample_rate_hz.to_bits().to_be_bytes());
                out.extend_from_slice(&carrier_hz.to_bits().to_be_bytes());
                out.extend_from_slice(&end_tick.to_be_bytes());
            }
            Self::Sent => out.push(0x82),
            Self::Samples { at, samples } => {
                check(samples.len())?;
                out.push(0x83);
                out.extend_from_slice(&at.to_be_bytes());
                put_samples(out, samples);
            }
            Self::Late {
                requested,
                earliest,
            } => {
                out.push(0x84);
                out.extend_from_slice(&requested.to_be_bytes());
                out.extend_from_slice(&earliest.to_be_bytes());
            }
            Self::Refused(s) => {
                let n = u16::try_from(s.len()).map_err(|_| WireError::TooLong {
                    what: "reason text",
                    got: s.len(),
                    limit: u16::MAX as usize,
                })?;
                out.push(0x85);
                out.extend_from_slice(&n.to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
        Ok(())
    }

    /// Decodes one body.
    ///
    /// # Errors
    /// Any [`WireError`]; never panics.
    pub fn decode(body: &[u8]) -> Result<Self, WireError> {
        let mut c = Cursor(body);
        let msg = match c.u8()? {
            0x01 => {
                let version = c.u16()?;
                let code = c.u8()?;
                let i = c.u8()?;
                let node = match code {
                    0 => SimNode::Alice,
                    1 => SimNode::Bob,
                    2 => SimNode::Eve(i),
                    x => return Err(WireError::UnknownNode(x)),
                };
                Self::Hello { version, node }
            }
            0x02 => Self::Transmit {
                at: c.u64()?,
                samples: c.samples()?,
            },
            0x03 => {
                let at = c.u64()?;
                let len = c.u32()?;
                if len as usize > MAX_SAMPLES {
                    return Err(WireError::TooLong {
                        what: "window length",
                        got: len as usize,
                        limit: MAX_SAMPLES,
                    });
                }
                Self::Receive { at, len }
            }
            0x81 => Self::Welcome {
                sample_rate_hz: c.f64()?,
                carrier_hz: c.f64()?,
                end_tick: c.u64()?,
            },
            0x82 => Self::Sent,
            0x83 => Self::Samples {
                at: c.u64()?,
                samples: c.samples()?,
            },
            0x84 => Self::Late {
                requested: c.u64()?,
                earliest: c.u64()?,
            },
            0x85 => {
                let n = c.u16()? as usize;
                let s = std::str::from_utf8(c.take(n)?).map_err(|_| WireError::BadText)?;
                Self::Refused(s.to_owned())
            }
            t => return Err(WireError::UnknownTag(t)),
        };
        if !c.0.is_empty() {
            return Err(WireError::Trailing(c.0.len()));
        }
        Ok(msg)
    }
}

/// Writes one framed message; `buf` is reused scratch.
///
/// # Errors
/// Encoding limits (as `InvalidInput`) or I/O.
pub fn write_msg(w: &mut impl Write, msg: &AirMsg, buf: &mut Vec<u8>) -> std::io::Result<()> {
    msg.encode(buf)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    w.write_all(&(buf.len() as u32).to_be_bytes())?;
    w.write_all(buf)?;
    w.flush()
}

/// Reads one framed message; `Ok(None)` on a clean end of stream before a frame.
///
/// # Errors
/// I/O, a declared length over [`MAX_MESSAGE`], or an undecodable body (as `InvalidData`).
pub fn read_msg(r: &mut impl Read, buf: &mut Vec<u8>) -> std::io::Result<Option<AirMsg>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let n = u32::from_be_bytes(len) as usize;
    if n > MAX_MESSAGE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            WireError::TooLong {
                what: "message",
                got: n,
                limit: MAX_MESSAGE,
            },
        ));
    }
    buf.clear();
    buf.resize(n, 0);
    r.read_exact(buf)?;
    AirMsg::decode(buf)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn samples() -> impl Strategy<Value = Vec<Complex32>> {
        prop::collection::vec(
            (-1e3f32..1e3, -1e3f32..1e3).prop_map(|(a, b)| Complex32::new(a, b)),
            0..64,
        )
    }

    fn msg() -> impl Strategy<Value = AirMsg> {
        let node = prop_oneof![
            Just(SimNode::Alice),
            Just(SimNode::Bob),
            any::<u8>().prop_map(SimNode::Eve)
        ];
        prop_oneof![
            (any::<u16>(), node).prop_map(|(version, node)| AirMsg::Hello { version, node }),
            (any::<u64>(), samples()).prop_map(|(at, samples)| AirMsg::Transmit { at, samples }),
            (any::<u64>(), 0u32..=MAX_SAMPLES as u32)
                .prop_map(|(at, len)| AirMsg::Receive { at, len }),
            (1.0f64..1e9, 1.0f64..1e10, any::<u64>()).prop_map(|(a, b, c)| AirMsg::Welcome {
                sample_rate_hz: a,
                carrier_hz: b,
                end_tick: c
            }),
            Just(AirMsg::Sent),
            (any::<u64>(), samples()).prop_map(|(at, samples)| AirMsg::Samples { at, samples }),
            (any::<u64>(), any::<u64>()).prop_map(|(requested, earliest)| AirMsg::Late {
                requested,
                earliest
            }),
            ".{0,40}".prop_map(AirMsg::Refused),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(m in msg()) {
            let mut buf = Vec::new();
            m.encode(&mut buf).unwrap();
            prop_assert_eq!(AirMsg::decode(&buf), Ok(m.clone()));
            // Framed through a byte stream too.
            let mut stream = Vec::new();
            write_msg(&mut stream, &m, &mut buf).unwrap();
            let got = read_msg(&mut stream.as_slice(), &mut buf).unwrap();
            prop_assert_eq!(got, Some(m));
        }

        #[test]
        fn untrusted_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = AirMsg::decode(&data);
            let _ = read_msg(&mut data.as_slice(), &mut Vec::new());
        }

        #[test]
        fn every_strict_prefix_is_rejected(m in msg()) {
            let mut buf = Vec::new();
            m.encode(&mut buf).unwrap();
            for n in 0..buf.len() {
                prop_assert!(AirMsg::decode(&buf[..n]).is_err());
            }
        }
    }

    #[test]
    fn hostile_lengths_are_refused_before_allocation() {
        // A Transmit declaring 2^32−1 samples.
        let mut body = vec![0x02];
        body.extend_from_slice(&0u64.to_be_bytes());
        body.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            AirMsg::decode(&body),
            Err(WireError::TooLong { .. })
        ));
        let frame = [0xffu8, 0xff, 0xff, 0xff];
        let e = read_msg(&mut frame.as_slice(), &mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(AirMsg::decode(&[0x82, 0]), Err(WireError::Trailing(1)));
        assert_eq!(AirMsg::decode(&[0x7f]), Err(WireError::UnknownTag(0x7f)));
        assert_eq!(SimNode::parse("eve3"), Some(SimNode::Eve(3)));
        assert_eq!(SimNode::parse("mallory"), None);
    }
}
