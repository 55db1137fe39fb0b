//! LDPC reconciliation wire messages and their codec.
//!
//! Layout (integers LEB128 varints, bit lists as a varint count then
//! ⌈count/8⌉ bytes, LSB first, zero padding):
//!
//! | message | bytes |
//! |---|---|
//! | `Syndromes` | `0x21`, n, code id (1 byte), hash (4 bytes), bit list |
//! | `Status`    | `0x22`, bit list (one bit per frame, 1 = still failing) |
//! | `Reveal`    | `0x23`, bit list (revealed values, frame by frame) |
//! | `Done`      | `0x24`, 0 (failed) or 1 (confirmed) |
//! | `Hint`      | `0x25`, Bob's entropy estimate, u16 little-endian (units of 2⁻¹⁶ bit per bit) |
//! | `Request`   | `0x26`, bit list (one bit per frame, 1 = still failing), count, positions (zigzag varint differences, the first from 0) |
//!
//! The decoder checks every count against the bytes left before allocating,
//! never panics, and rejects trailing bytes (cf. quinn's `Codec`).

use crate::reconcile::wire::{put_bits, put_varint, unzigzag, zigzag, Reader};
use crate::reconcile::DecodeError;

const TAG_SYNDROMES: u8 = 0x21;
const TAG_STATUS: u8 = 0x22;
const TAG_REVEAL: u8 = 0x23;
const TAG_DONE: u8 = 0x24;
const TAG_HINT: u8 = 0x25;
const TAG_REQUEST: u8 = 0x26;

/// One LDPC reconciliation message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Alice → Bob, first: block length, mother code, confirmation hash of
    /// her block and the syndromes of all frames (m bits each, frame order).
    Syndromes {
        /// Alice's block length in bits.
        n: u64,
        /// Mother code id (see `plan::code_by_id`).
        code: u8,
        /// Confirmation hash of Alice's block (32 bits).
        hash: [u8; 4],
        /// Syndrome bits, one byte 0/1 each.
        syndromes: Vec<u8>,
    },
    /// Bob → Alice: which frames still fail (one byte 0/1 per frame).
    Status {
        /// 1 for each frame that did not decode.
        failing: Vec<u8>,
    },
    /// Alice → Bob: the next revealed values of every failing frame.
    Reveal {
        /// Values, one byte 0/1 each.
        values: Vec<u8>,
    },
    /// Bob → Alice: finished; `ok` if every frame decoded and the hash matched.
    Done {
        /// Success.
        ok: bool,
    },
    /// Bob → Alice: which frames still fail and, for each failing frame in
    /// order, the codeword positions whose values he asks for next (his least
    /// reliable ones; hard-decision input only, see `super::bob`).
    Request {
        /// 1 for each frame that did not decode.
        failing: Vec<u8>,
        /// Positions, frame by frame.
        positions: Vec<u32>,
    },
    /// Bob → Alice, first (soft plan only, see `ReconcileParams::soft_plan`):
    /// Bob's estimate Ĥ of the conditional entropy per bit, rounded up to a
    /// multiple of 2⁻¹⁶ (see `super::hint_from_entropy`).
    Hint {
        /// Ĥ · 2¹⁶, rounded up, at most 65535.
        entropy: u16,
    },
}

impl Message {
    /// Appends the encoding of `self` to `out` (bit values are taken mod 2).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Message::Syndromes {
                n,
                code,
                hash,
                syndromes,
            } => {
                out.push(TAG_SYNDROMES);
                put_varint(out, *n);
                out.push(*code);
                out.extend_from_slice(hash);
                put_bits(out, syndromes);
            }
            Message::Status { failing } => {
                out.push(TAG_STATUS);
                put_bits(out, failing);
            }
            Message::Reveal { values } => {
                out.push(TAG_REVEAL);
                put_bits(out, values);
            }
            Message::Done { ok } => {
                out.push(TAG_DONE);
                out.push(u8::from(*ok));
            }
            Message::Hint { entropy } => {
                out.push(TAG_HINT);
                out.extend_from_slice(&entropy.to_le_bytes());
            }
            Message::Request { failing, positions } => {
                out.push(TAG_REQUEST);
                put_bits(out, failing);
                put_varint(out, positions.len() as u64);
                let mut prev = 0i64;
                for &p in positions {
                    put_varint(out, zigzag(i64::from(p) - prev));
                    prev = i64::from(p);
                }
            }
        }
    }

    /// The encoding of `self`.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_into(&mut v);
        v
    }

    /// Decodes one whole message.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the first problem; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut r = Reader { b: bytes };
        let m = match r.byte()? {
            TAG_SYNDROMES => {
                let n = r.varint()?;
                let code = r.byte()?;
                let hash = [r.byte()?, r.byte()?, r.byte()?, r.byte()?];
                Message::Syndromes {
                    n,
                    code,
                    hash,
                    syndromes: r.bits()?,
                }
            }
            TAG_STATUS => Message::Status { failing: r.bits()? },
            TAG_REVEAL => Message::Reveal { values: r.bits()? },
            TAG_DONE => match r.byte()? {
                0 => Message::Done { ok: false },
                1 => Message::Done { ok: true },
                _ => return Err(DecodeError::ValueOutOfRange),
            },
            TAG_HINT => Message::Hint {
                entropy: u16::from_le_bytes([r.byte()?, r.byte()?]),
            },
            TAG_REQUEST => {
                let failing = r.bits()?;
                let count = r.count(1)?;
                let mut positions = Vec::with_capacity(count);
                let mut prev = 0i64;
                for _ in 0..count {
                    prev = prev
                        .checked_add(unzigzag(r.varint()?))
                        .ok_or(DecodeError::ValueOutOfRange)?;
                    positions.push(u32::try_from(prev).map_err(|_| DecodeError::ValueOutOfRange)?);
                }
                Message::Request { failing, positions }
            }
            t => return Err(DecodeError::UnknownTag(t)),
        };
        if !r.b.is_empty() {
            return Err(DecodeError::TrailingBytes);
        }
        Ok(m)
    }
}

impl Reader<'_> {
    fn bits(&mut self) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::new();
        self.bits_into(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_input() {
        assert_eq!(Message::decode(&[]), Err(DecodeError::UnexpectedEnd));
        assert_eq!(Message::decode(&[0x99]), Err(DecodeError::UnknownTag(0x99)));
        assert_eq!(
            Message::decode(&[TAG_DONE, 2]),
            Err(DecodeError::ValueOutOfRange)
        );
        assert_eq!(
            Message::decode(&[TAG_STATUS, 0xff, 0x01]),
            Err(DecodeError::CountTooLarge)
        );
        assert_eq!(
            Message::decode(&[TAG_REVEAL, 3, 0b1000]),
            Err(DecodeError::NonZeroPadding)
        );
        assert_eq!(
            Message::decode(&[TAG_DONE, 1, 0]),
            Err(DecodeError::TrailingBytes)
        );
        assert_eq!(
            Message::decode(&[TAG_SYNDROMES, 5, 0, 1, 2]),
            Err(DecodeError::UnexpectedEnd)
        );
        assert_eq!(
            Message::decode(&[TAG_HINT, 1]),
            Err(DecodeError::UnexpectedEnd)
        );
        assert_eq!(
            Message::decode(&[TAG_HINT, 1, 2, 3]),
            Err(DecodeError::TrailingBytes)
        );
        assert_eq!(
            Message::decode(&[TAG_HINT, 0x34, 0x12]),
            Ok(Message::Hint { entropy: 0x1234 })
        );
        // Request: a count beyond the bytes left, a position below 0, one
        // above u32::MAX.
        assert_eq!(
            Message::decode(&[TAG_REQUEST, 1, 1, 5, 2]),
            Err(DecodeError::CountTooLarge)
        );
        assert_eq!(
            Message::decode(&[TAG_REQUEST, 1, 1, 1, 1]),
            Err(DecodeError::ValueOutOfRange)
        );
        let mut big = vec![TAG_REQUEST, 0, 1];
        put_varint(&mut big, zigzag(1 << 32));
        assert_eq!(Message::decode(&big), Err(DecodeError::ValueOutOfRange));
    }

    #[test]
    fn request_positions_round_trip_in_about_a_byte_each() {
        // Two frames' ascending positions: the restart is a negative step.
        let positions = vec![3, 90, 150, 65_535, 7, 8, 40_000];
        let m = Message::Request {
            failing: vec![1, 0, 1],
            positions: positions.clone(),
        };
        let enc = m.encode();
        assert_eq!(Message::decode(&enc), Ok(m));
        let spread: Vec<u32> = (0..600).map(|i| i * 100 + 17).collect();
        let enc = Message::Request {
            failing: vec![1],
            positions: spread,
        }
        .encode();
        assert!(enc.len() <= 4 + 2 * 600, "{} bytes", enc.len());
    }
}
