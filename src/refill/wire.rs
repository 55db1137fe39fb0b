//! Messages of the refill protocol between a terminal and its base station, and their
//! authenticated framing under the confirmed physical-layer key.
//!
//! ```text
//!  terminal                                   base station                 centre
//!  Request{id, peer, bytes, wrap} ──────────►  reserve(id) ───────────────► keys reserved for id
//!                                 ◄──────────  Chunk{id, i, n, sealed} × n
//!  store (one transaction) ; Ack{id} ────────►  confirm(id) ───────────────► reservation dropped
//!                                 ◄──────────  Confirmed{id}
//! ```
//!
//! Each frame is `body ‖ tag` with `tag = KMAC256(K_f, direction ‖ seq ‖ body, "qwave refill
//! frame", 256)` (NIST SP 800-185 §4) and `K_f = KMAC256(physical-layer key, "", "qwave refill
//! frame key")`: a frame that is forged, replayed, reordered or dropped fails the tag check of
//! the next one. Integers are big-endian.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::wrap::WrapKind;
use crate::amplify::kmac256;

/// Largest body accepted: one chunk of keys plus headers.
pub const MAX_REFILL_BODY: usize = 1 << 20;
/// Bytes of the frame tag.
pub const TAG_BYTES: usize = 32;
/// Largest peer SAE name.
pub const MAX_NAME: usize = 256;

/// Errors of the refill codec and framing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// The message ends early.
    #[error("refill message truncated")]
    Truncated,
    /// Unknown message type or wrap byte.
    #[error("refill message: unknown {what} {value}")]
    Unknown {
        /// What was unknown.
        what: &'static str,
        /// Its value.
        value: u8,
    },
    /// Bytes after the end of the message.
    #[error("refill message: {0} trailing bytes")]
    Trailing(usize),
    /// A text field is not UTF-8 or too long.
    #[error("refill message: bad text field")]
    BadText,
    /// A body above [`MAX_REFILL_BODY`].
    #[error("refill frame of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// The frame tag does not verify (forged, replayed, reordered or wrong key).
    #[error("refill frame failed authentication")]
    BadTag,
}

/// One refill protocol message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefillMsg {
    /// Terminal → base station: deliver `bytes` bytes of keys shared with `peer` as refill `id`.
    Request {
        /// Refill ID chosen by the terminal (reused on retry).
        id: [u8; 16],
        /// Peer SAE (the keys' slave).
        peer: String,
        /// Requested volume in bytes.
        bytes: u64,
        /// Protection on the air.
        wrap: WrapKind,
    },
    /// Base station → terminal: part `index` of `total` of the sealed refill.
    Chunk {
        /// Refill ID.
        id: [u8; 16],
        /// Part number from 0.
        index: u32,
        /// Number of parts.
        total: u32,
        /// Sealed payload part (see [`super::relay::seal`]).
        sealed: Vec<u8>,
    },
    /// Terminal → base station: refill `id` is stored (also sent alone to finish a retry).
    Ack {
        /// Refill ID.
        id: [u8; 16],
    },
    /// Base station → terminal: the centre dropped its reservation of `id`; nothing to retry.
    Confirmed {
        /// Refill ID.
        id: [u8; 16],
    },
    /// Base station → terminal: refill `id` cannot be served now (retry later with the same ID).
    Refused {
        /// Refill ID.
        id: [u8; 16],
        /// Why.
        reason: String,
    },
}

fn wrap_byte(w: WrapKind) -> u8 {
    match w {
        WrapKind::AesKw => 1,
        WrapKind::Otp => 2,
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
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
    fn id(&mut self) -> Result<[u8; 16], WireError> {
        let mut id = [0u8; 16];
        id.copy_from_slice(self.take(16)?);
        Ok(id)
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(b))
    }
    fn u64(&mut self) -> Result<u64, WireError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }
    fn text(&mut self) -> Result<String, WireError> {
        let mut b = [0u8; 2];
        b.copy_from_slice(self.take(2)?);
        let n = u16::from_be_bytes(b) as usize;
        if n > MAX_NAME {
            return Err(WireError::BadText);
        }
        let s = std::str::from_utf8(self.take(n)?).map_err(|_| WireError::BadText)?;
        Ok(s.to_owned())
    }
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    let b = &s.as_bytes()[..s.len().min(MAX_NAME)];
    out.extend_from_slice(&(b.len() as u16).to_be_bytes());
    out.extend_from_slice(b);
}

impl RefillMsg {
    /// Appends the encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Request {
                id,
                peer,
                bytes,
                wrap,
            } => {
                out.push(1);
                out.extend_from_slice(id);
                out.push(wrap_byte(*wrap));
                out.extend_from_slice(&bytes.to_be_bytes());
                put_text(out, peer);
            }
            Self::Chunk {
                id,
                index,
                total,
                sealed,
            } => {
                out.push(2);
                out.extend_from_slice(id);
                out.extend_from_slice(&index.to_be_bytes());
                out.extend_from_slice(&total.to_be_bytes());
                out.extend_from_slice(&(sealed.len() as u32).to_be_bytes());
                out.extend_from_slice(sealed);
            }
            Self::Ack { id } => {
                out.push(3);
                out.extend_from_slice(id);
            }
            Self::Confirmed { id } => {
                out.push(4);
                out.extend_from_slice(id);
            }
            Self::Refused { id, reason } => {
                out.push(5);
                out.extend_from_slice(id);
                put_text(out, reason);
            }
        }
    }

    /// Decodes one message occupying all of `bytes`.
    ///
    /// # Errors
    /// [`WireError`] naming the problem; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader(bytes);
        let msg = match r.u8()? {
            1 => {
                let id = r.id()?;
                let wrap = match r.u8()? {
                    1 => WrapKind::AesKw,
                    2 => WrapKind::Otp,
                    value => {
                        return Err(WireError::Unknown {
                            what: "wrap",
                            value,
                        })
                    }
                };
                let bytes = r.u64()?;
                let peer = r.text()?;
                Self::Request {
                    id,
                    peer,
                    bytes,
                    wrap,
                }
            }
            2 => {
                let id = r.id()?;
                let index = r.u32()?;
                let total = r.u32()?;
                let n = r.u32()? as usize;
                if n > MAX_REFILL_BODY {
                    return Err(WireError::TooLarge(n));
                }
                let sealed = r.take(n)?.to_vec();
                Self::Chunk {
                    id,
                    index,
                    total,
                    sealed,
                }
            }
            3 => Self::Ack { id: r.id()? },
            4 => Self::Confirmed { id: r.id()? },
            5 => {
                let id = r.id()?;
                let reason = r.text()?;
                Self::Refused { id, reason }
            }
            value => {
                return Err(WireError::Unknown {
                    what: "message type",
                    value,
                })
            }
        };
        if !r.0.is_empty() {
            return Err(WireError::Trailing(r.0.len()));
        }
        Ok(msg)
    }
}

/// Which end of the link a [`FrameAuth`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The terminal (Bob).
    Terminal,
    /// The base station (Alice).
    Station,
}

/// Authenticates frames in both directions with per-direction sequence numbers.
pub struct FrameAuth {
    key: Zeroizing<[u8; 32]>,
    me: End,
    sent: u64,
    received: u64,
}

impl FrameAuth {
    /// Frame authentication for `me` under the confirmed `physical_key`.
    pub fn new(physical_key: &[u8], me: End) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        kmac256(
            physical_key,
            b"",
            b"qwave refill frame key",
            key.as_mut_slice(),
        );
        Self {
            key,
            me,
            sent: 0,
            received: 0,
        }
    }

    fn tag(&self, from: End, seq: u64, body: &[u8]) -> [u8; TAG_BYTES] {
        let mut data = Vec::with_capacity(9 + body.len());
        data.push(match from {
            End::Terminal => b'T',
            End::Station => b'S',
        });
        data.extend_from_slice(&seq.to_be_bytes());
        data.extend_from_slice(body);
        let mut t = [0u8; TAG_BYTES];
        kmac256(self.key.as_slice(), &data, b"qwave refill frame", &mut t);
        t
    }

    /// Encodes and tags `msg` as the next frame from this end.
    pub fn seal(&mut self, msg: &RefillMsg) -> Vec<u8> {
        let mut body = Vec::new();
        msg.encode(&mut body);
        let t = self.tag(self.me, self.sent, &body);
        self.sent += 1;
        body.extend_from_slice(&t);
        body
    }

    /// Verifies and decodes the next frame from the other end.
    ///
    /// # Errors
    /// [`WireError::BadTag`] for a forged, replayed, reordered or wrongly keyed frame; decode
    /// errors for a well-tagged but malformed body.
    pub fn open(&mut self, frame: &[u8]) -> Result<RefillMsg, WireError> {
        if frame.len() < TAG_BYTES {
            return Err(WireError::BadTag);
        }
        let (body, tag) = frame.split_at(frame.len() - TAG_BYTES);
        let from = match self.me {
            End::Terminal => End::Station,
            End::Station => End::Terminal,
        };
        let want = self.tag(from, self.received, body);
        if !bool::from(want.ct_eq(tag)) {
            return Err(WireError::BadTag);
        }
        self.received += 1;
        RefillMsg::decode(body)
    }
}

/// Reads one length-prefixed (u32 big-endian) refill frame; `Ok(None)` at a clean end.
///
/// # Errors
/// I/O errors, or a declared length above the limit.
pub fn read_frame(r: &mut impl std::io::Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let n = u32::from_be_bytes(len) as usize;
    if n > MAX_REFILL_BODY + 64 + TAG_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            WireError::TooLarge(n),
        ));
    }
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf)?;
    Ok(Some(buf))
}

/// Writes one length-prefixed refill frame.
///
/// # Errors
/// I/O errors.
pub fn write_frame(w: &mut impl std::io::Write, frame: &[u8]) -> std::io::Result<()> {
    w.write_all(&(frame.len() as u32).to_be_bytes())?;
    w.write_all(frame)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<RefillMsg> {
        let id = [7u8; 16];
        vec![
            RefillMsg::Request {
                id,
                peer: "sae-peer".into(),
                bytes: 1 << 20,
                wrap: WrapKind::Otp,
            },
            RefillMsg::Chunk {
                id,
                index: 3,
                total: 32,
                sealed: vec![1, 2, 3, 4, 5],
            },
            RefillMsg::Ack { id },
            RefillMsg::Confirmed { id },
            RefillMsg::Refused {
                id,
                reason: "pool short".into(),
            },
        ]
    }

    #[test]
    fn round_trip_and_truncation() {
        for m in all() {
            let mut b = Vec::new();
            m.encode(&mut b);
            assert_eq!(RefillMsg::decode(&b).unwrap(), m);
            for cut in 0..b.len() {
                assert!(RefillMsg::decode(&b[..cut]).is_err(), "{m:?} cut {cut}");
            }
            b.push(0);
            assert_eq!(RefillMsg::decode(&b), Err(WireError::Trailing(1)));
        }
    }

    #[test]
    fn frames_reject_forgery_replay_and_reorder() {
        let k = [9u8; 40];
        let mut t = FrameAuth::new(&k, End::Terminal);
        let mut s = FrameAuth::new(&k, End::Station);
        let msgs = all();
        let f0 = t.seal(&msgs[0]);
        let f1 = t.seal(&msgs[2]);
        // Reordered: frame 1 first fails.
        assert_eq!(s.open(&f1), Err(WireError::BadTag));
        assert_eq!(s.open(&f0).unwrap(), msgs[0]);
        // Replay of frame 0 fails.
        assert_eq!(s.open(&f0), Err(WireError::BadTag));
        let mut bad = f1.clone();
        bad[3] ^= 1;
        assert_eq!(s.open(&bad), Err(WireError::BadTag));
        assert_eq!(s.open(&f1).unwrap(), msgs[2]);
        // A station frame does not verify as a terminal frame (direction binding).
        let mut s2 = FrameAuth::new(&k, End::Station);
        let back = s2.seal(&msgs[0]);
        let mut s3 = FrameAuth::new(&k, End::Station);
        assert_eq!(s3.open(&back), Err(WireError::BadTag));
        let mut t2 = FrameAuth::new(&k, End::Terminal);
        assert_eq!(t2.open(&back).unwrap(), msgs[0]);
        // Wrong key.
        let mut other = FrameAuth::new(&[8u8; 40], End::Station);
        assert_eq!(other.open(&f0), Err(WireError::BadTag));
    }
}
