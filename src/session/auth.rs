//! Authenticated framing of the public channel.
//!
//! Frame layout (big-endian):
//! ```text
//! "QW" | version u8 | sender u8 | seq u64 | body_len u32 | body | tag[32]
//! tag = HMAC-SHA3-256(K, "qwave-frame-v1" ‖ sender ‖ seq ‖ body)      (RFC 2104, FIPS 202)
//! ```
//! `K` is derived from the pre-shared device authentication key: before both
//! nonces are known (the two `Hello` frames) `K = HMAC(auth, "hello")`; after,
//! `K = HMAC(auth, "session" ‖ nonce_alice ‖ nonce_bob)`, so frames of an older
//! session never verify in a new one. Each direction numbers its frames 0, 1,
//! 2, …; a frame whose number is not the next expected one (replayed, reordered
//! or lost before it) is rejected. Tags are compared in constant time.

use hmac::{Hmac, Mac};
use sha3::Sha3_256;
use thiserror::Error;
use zeroize::Zeroizing;

use super::wire::MAX_BODY;

type HmacSha3 = Hmac<Sha3_256>;

/// Frame format version.
pub const FRAME_VERSION: u8 = 1;
/// Bytes of framing around a body.
pub const FRAME_OVERHEAD: usize = 2 + 1 + 1 + 8 + 4 + 32;

/// Who sent a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// The base station (holds the reference bits).
    Alice = 0,
    /// The terminal.
    Bob = 1,
}

/// Why a frame was rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    /// Shorter than its header says, or than the minimum frame.
    #[error("frame truncated: {have} bytes, need {need}")]
    Truncated {
        /// Bytes present.
        have: usize,
        /// Bytes needed.
        need: usize,
    },
    /// Not a qwave frame, or a version this build does not speak.
    #[error("bad frame header")]
    BadHeader,
    /// The declared body is larger than any legitimate one.
    #[error("frame body of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// Sent by ourselves, or the sender byte is not a party.
    #[error("frame from the wrong sender")]
    WrongSender,
    /// The tag does not verify: tampered, or not from the key holder.
    #[error("authentication tag does not verify")]
    BadTag,
    /// Out-of-order sequence number: replayed, reordered or a frame was lost.
    #[error("frame number {got}, expected {expected} (replayed, reordered or lost frame)")]
    Sequence {
        /// Number expected next.
        expected: u64,
        /// Number received.
        got: u64,
    },
}

/// One direction's framing state plus the keys; owned by a session party.
pub struct FrameCodec {
    me: Sender,
    auth: Zeroizing<[u8; 32]>,
    key: Zeroizing<[u8; 32]>,
    send_seq: u64,
    recv_seq: u64,
}

impl std::fmt::Debug for FrameCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameCodec")
            .field("me", &self.me)
            .field("send_seq", &self.send_seq)
            .field("recv_seq", &self.recv_seq)
            .finish_non_exhaustive()
    }
}

fn prf(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <HmacSha3 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

impl FrameCodec {
    /// A codec for party `me` holding the pre-shared authentication key.
    pub fn new(me: Sender, auth_key: &[u8; 32]) -> Self {
        let auth = Zeroizing::new(*auth_key);
        let key = Zeroizing::new(prf(&auth[..], &[b"qwave-hello-v1"]));
        Self {
            me,
            auth,
            key,
            send_seq: 0,
            recv_seq: 0,
        }
    }

    /// Switches to the session key once both hello nonces are known.
    pub fn set_session_nonces(&mut self, nonce_alice: &[u8; 16], nonce_bob: &[u8; 16]) {
        *self.key = prf(
            &self.auth[..],
            &[b"qwave-session-v1", nonce_alice, nonce_bob],
        );
    }

    fn tag(&self, sender: u8, seq: u64, body: &[u8]) -> [u8; 32] {
        prf(
            &self.key[..],
            &[b"qwave-frame-v1", &[sender], &seq.to_be_bytes(), body],
        )
    }

    /// Frames `body` for sending and advances the send counter.
    pub fn seal(&mut self, body: &[u8]) -> Vec<u8> {
        let seq = self.send_seq;
        self.send_seq += 1;
        let mut out = Vec::with_capacity(body.len() + FRAME_OVERHEAD);
        out.extend_from_slice(b"QW");
        out.push(FRAME_VERSION);
        out.push(self.me as u8);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(body);
        let t = self.tag(self.me as u8, seq, body);
        out.extend_from_slice(&t);
        out
    }

    /// Verifies a received frame and returns its body.
    ///
    /// # Errors
    /// [`FrameError`] for anything but the next authentic frame of the peer.
    pub fn open<'a>(&mut self, frame: &'a [u8]) -> Result<&'a [u8], FrameError> {
        let ParsedFrame {
            sender,
            seq,
            body,
            tag,
        } = parse(frame)?;
        if sender == self.me as u8 {
            return Err(FrameError::WrongSender);
        }
        let expect = self.tag(sender, seq, body);
        if !crate::ct_eq(&expect, tag) {
            return Err(FrameError::BadTag);
        }
        if seq != self.recv_seq {
            return Err(FrameError::Sequence {
                expected: self.recv_seq,
                got: seq,
            });
        }
        self.recv_seq += 1;
        Ok(body)
    }
}

/// A frame split into its fields, tag not verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedFrame<'a> {
    /// Sender byte (0 Alice, 1 Bob).
    pub sender: u8,
    /// Frame number in the sender's direction.
    pub seq: u64,
    /// Message body.
    pub body: &'a [u8],
    /// Authentication tag.
    pub tag: &'a [u8],
}

/// Splits a frame into its fields without verifying the tag.
/// Eavesdroppers use this: the public channel is readable by anyone.
///
/// # Errors
/// [`FrameError`] for malformed frames.
pub fn parse(frame: &[u8]) -> Result<ParsedFrame<'_>, FrameError> {
    const HDR: usize = 2 + 1 + 1 + 8 + 4;
    if frame.len() < HDR + 32 {
        return Err(FrameError::Truncated {
            have: frame.len(),
            need: HDR + 32,
        });
    }
    if &frame[..2] != b"QW" || frame[2] != FRAME_VERSION {
        return Err(FrameError::BadHeader);
    }
    let sender = frame[3];
    if sender > 1 {
        return Err(FrameError::WrongSender);
    }
    let seq = u64::from_be_bytes(frame[4..12].try_into().expect("8 bytes"));
    let len = u32::from_be_bytes(frame[12..16].try_into().expect("4 bytes")) as usize;
    if len > MAX_BODY {
        return Err(FrameError::TooLarge(len));
    }
    let need = HDR + len + 32;
    if frame.len() != need {
        return Err(FrameError::Truncated {
            have: frame.len(),
            need,
        });
    }
    Ok(ParsedFrame {
        sender,
        seq,
        body: &frame[HDR..HDR + len],
        tag: &frame[HDR + len..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (FrameCodec, FrameCodec) {
        let k = [7u8; 32];
        (
            FrameCodec::new(Sender::Alice, &k),
            FrameCodec::new(Sender::Bob, &k),
        )
    }

    #[test]
    fn seal_open_round_trip_and_replay_rejected() {
        let (mut a, mut b) = pair();
        let f0 = a.seal(b"hello");
        let f1 = a.seal(b"world");
        assert_eq!(b.open(&f0).unwrap(), b"hello");
        assert_eq!(
            b.open(&f0),
            Err(FrameError::Sequence {
                expected: 1,
                got: 0
            })
        );
        assert_eq!(b.open(&f1).unwrap(), b"world");
    }

    #[test]
    fn reorder_rejected() {
        let (mut a, mut b) = pair();
        let _f0 = a.seal(b"one");
        let f1 = a.seal(b"two");
        assert!(matches!(b.open(&f1), Err(FrameError::Sequence { .. })));
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let (mut a, _) = pair();
        let f = a.seal(b"parity bits");
        for i in 0..f.len() * 8 {
            let mut g = f.clone();
            g[i / 8] ^= 1 << (i % 8);
            let (_, mut b) = pair();
            assert!(b.open(&g).is_err(), "flip of bit {i} accepted");
        }
    }

    #[test]
    fn truncation_detected() {
        let (mut a, _) = pair();
        let f = a.seal(b"abc");
        for cut in 0..f.len() {
            let (_, mut b) = pair();
            assert!(b.open(&f[..cut]).is_err());
        }
    }

    #[test]
    fn wrong_key_and_old_session_rejected() {
        let mut a = FrameCodec::new(Sender::Alice, &[1u8; 32]);
        let mut b = FrameCodec::new(Sender::Bob, &[2u8; 32]);
        assert_eq!(b.open(&a.seal(b"x")), Err(FrameError::BadTag));

        let (mut a, mut b) = pair();
        a.set_session_nonces(&[1; 16], &[2; 16]);
        b.set_session_nonces(&[1; 16], &[3; 16]);
        assert_eq!(b.open(&a.seal(b"x")), Err(FrameError::BadTag));
    }

    #[test]
    fn own_frames_rejected() {
        let (mut a, _) = pair();
        let f = a.seal(b"x");
        assert_eq!(a.open(&f), Err(FrameError::WrongSender));
    }
}
