//! Cascade wire messages and their compact codec.
//!
//! Layout (all integers LEB128 varints, `zz` = zigzag-coded signed varint):
//!
//! | message | bytes |
//! |---|---|
//! | `Hello` | `0x11`, n, count, ⌈count/8⌉ bytes of parities (LSB first, zero padding) |
//! | `Query` | `0x12`, groups, then per group: pass, count, count × (zz(start − previous end), len) |
//! | `Reply` | `0x13`, count, ⌈count/8⌉ bytes of parities |
//! | `Done`  | `0x14` |
//!
//! A `Query` batches every parity range Bob needs in one round; ranges of the
//! same pass form a group and their starts are coded as gaps, so a typical
//! range costs about three bytes. The decoder checks every count against the
//! bytes left before allocating and never panics (cf. quinn's `Codec`).

const TAG_HELLO: u8 = 0x11;
const TAG_QUERY: u8 = 0x12;
const TAG_REPLY: u8 = 0x13;
const TAG_DONE: u8 = 0x14;

/// Why bytes are not a valid message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The message ended in the middle of a field.
    #[error("message truncated")]
    UnexpectedEnd,
    /// The first byte names no message kind.
    #[error("unknown message tag {0:#04x}")]
    UnknownTag(u8),
    /// A varint is longer than 10 bytes or exceeds 64 bits.
    #[error("varint overflows 64 bits")]
    VarintOverflow,
    /// A count promises more items than the remaining bytes can hold.
    #[error("count larger than the message can hold")]
    CountTooLarge,
    /// A decoded index or length does not fit its field.
    #[error("value out of range")]
    ValueOutOfRange,
    /// Padding bits after the last parity are not zero.
    #[error("non-zero padding bits")]
    NonZeroPadding,
    /// Bytes remain after the message.
    #[error("trailing bytes after message")]
    TrailingBytes,
}

/// A parity query: positions `start..end` of the shuffled string of `pass`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParityRange {
    /// Pass index (0-based).
    pub pass: u32,
    /// First position (in the pass's shuffled order).
    pub start: u32,
    /// One past the last position.
    pub end: u32,
}

/// One Cascade message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Alice → Bob, first: string length and the top-level block parities of
    /// every pass (those not inferable from the total parity).
    Hello {
        /// Alice's string length in bits.
        n: u64,
        /// Parities, one byte 0/1 each.
        parities: Vec<u8>,
    },
    /// Bob → Alice: parity ranges wanted this round.
    Query {
        /// The ranges, answered in this order.
        ranges: Vec<ParityRange>,
    },
    /// Alice → Bob: one parity per queried range, in query order.
    Reply {
        /// Parities, one byte 0/1 each.
        parities: Vec<u8>,
    },
    /// Bob → Alice: Bob has finished; no more queries.
    Done,
}

/// Appends `v` as an LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Appends a bit count (varint) and the bits packed LSB first with zero padding.
pub(crate) fn put_bits(out: &mut Vec<u8>, bits: &[u8]) {
    put_varint(out, bits.len() as u64);
    for chunk in bits.chunks(8) {
        let byte = chunk
            .iter()
            .enumerate()
            .fold(0u8, |b, (i, &x)| b | ((x & 1) << i));
        out.push(byte);
    }
}

/// What [`decode_into`] found; the lists stay in the caller's buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// `Hello` with Alice's length; parities in the parity buffer.
    Hello { n: u64 },
    /// `Query`; ranges in the range buffer.
    Query,
    /// `Reply`; parities in the parity buffer.
    Reply,
    /// `Done`.
    Done,
}

fn put_query(out: &mut Vec<u8>, ranges: &[ParityRange]) {
    out.push(TAG_QUERY);
    let same_pass = |a: &ParityRange, b: &ParityRange| a.pass == b.pass;
    put_varint(out, ranges.chunk_by(same_pass).count() as u64);
    for g in ranges.chunk_by(same_pass) {
        put_varint(out, u64::from(g[0].pass));
        put_varint(out, g.len() as u64);
        let mut prev_end = 0i64;
        for r in g {
            put_varint(out, zigzag(i64::from(r.start) - prev_end));
            put_varint(out, u64::from(r.end.saturating_sub(r.start)));
            prev_end = i64::from(r.start.max(r.end));
        }
    }
}

/// Encodes a `Query` of `ranges` (as [`Message::encode`] would).
pub(crate) fn encode_query(ranges: &[ParityRange]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + 5 * ranges.len());
    put_query(&mut v, ranges);
    v
}

/// Encodes a `Reply` of `parities` (as [`Message::encode`] would).
pub(crate) fn encode_reply(parities: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(11 + parities.len() / 8 + 1);
    v.push(TAG_REPLY);
    put_bits(&mut v, parities);
    v
}

/// Decodes one whole message, leaving its ranges or parities in the given
/// buffers (cleared first) so a hot loop reuses them.
///
/// # Errors
/// A [`DecodeError`] naming the first problem; never panics.
pub(crate) fn decode_into(
    bytes: &[u8],
    ranges: &mut Vec<ParityRange>,
    parities: &mut Vec<u8>,
) -> Result<Decoded, DecodeError> {
    ranges.clear();
    parities.clear();
    let mut r = Reader { b: bytes };
    let kind = match r.byte()? {
        TAG_HELLO => {
            let n = r.varint()?;
            r.bits_into(parities)?;
            Decoded::Hello { n }
        }
        TAG_QUERY => {
            let groups = r.count(2)?;
            for _ in 0..groups {
                let pass = r.u32()?;
                let count = r.count(2)?;
                ranges.reserve(count);
                let mut prev_end = 0i64;
                for _ in 0..count {
                    let start = prev_end + unzigzag(r.varint()?);
                    let start = u32::try_from(start).map_err(|_| DecodeError::ValueOutOfRange)?;
                    let end = start
                        .checked_add(r.u32()?)
                        .ok_or(DecodeError::ValueOutOfRange)?;
                    ranges.push(ParityRange { pass, start, end });
                    prev_end = i64::from(end);
                }
            }
            Decoded::Query
        }
        TAG_REPLY => {
            r.bits_into(parities)?;
            Decoded::Reply
        }
        TAG_DONE => Decoded::Done,
        t => return Err(DecodeError::UnknownTag(t)),
    };
    if !r.b.is_empty() {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(kind)
}

impl Message {
    /// Appends the encoding of `self` to `out`. Ranges with `end < start`
    /// are encoded as empty (the receiver rejects empty ranges).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Message::Hello { n, parities } => {
                out.push(TAG_HELLO);
                put_varint(out, *n);
                put_bits(out, parities);
            }
            Message::Query { ranges } => put_query(out, ranges),
            Message::Reply { parities } => {
                out.push(TAG_REPLY);
                put_bits(out, parities);
            }
            Message::Done => out.push(TAG_DONE),
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
        let (mut ranges, mut parities) = (Vec::new(), Vec::new());
        Ok(match decode_into(bytes, &mut ranges, &mut parities)? {
            Decoded::Hello { n } => Message::Hello { n, parities },
            Decoded::Query => Message::Query { ranges },
            Decoded::Reply => Message::Reply { parities },
            Decoded::Done => Message::Done,
        })
    }
}

/// Cursor over untrusted message bytes; every read checks what is left.
pub(crate) struct Reader<'a> {
    /// Bytes not yet read.
    pub(crate) b: &'a [u8],
}

impl Reader<'_> {
    pub(crate) fn byte(&mut self) -> Result<u8, DecodeError> {
        let (&x, rest) = self.b.split_first().ok_or(DecodeError::UnexpectedEnd)?;
        self.b = rest;
        Ok(x)
    }

    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for i in 0..10 {
            let x = self.byte()?;
            let part = u64::from(x & 0x7f);
            if i == 9 && part > 1 {
                return Err(DecodeError::VarintOverflow);
            }
            v |= part << (7 * i);
            if x & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::VarintOverflow)
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.varint()?).map_err(|_| DecodeError::ValueOutOfRange)
    }

    /// A count of items each at least `min_bytes` long, checked against what is left.
    pub(crate) fn count(&mut self, min_bytes: usize) -> Result<usize, DecodeError> {
        let c = self.varint()?;
        if c > (self.b.len() / min_bytes) as u64 {
            return Err(DecodeError::CountTooLarge);
        }
        Ok(c as usize)
    }

    /// Reads what [`put_bits`] wrote, appending one byte 0/1 per bit to `out`.
    pub(crate) fn bits_into(&mut self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let c = self.varint()?;
        if c > (self.b.len() as u64).saturating_mul(8) {
            return Err(DecodeError::CountTooLarge);
        }
        let c = c as usize;
        let nbytes = c.div_ceil(8);
        let (bytes, rest) = self.b.split_at(nbytes);
        self.b = rest;
        if !c.is_multiple_of(8) && bytes[nbytes - 1] >> (c % 8) != 0 {
            return Err(DecodeError::NonZeroPadding);
        }
        out.extend((0..c).map(|i| (bytes[i / 8] >> (i % 8)) & 1));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_compact() {
        let ranges: Vec<ParityRange> = (0..100)
            .map(|i| ParityRange {
                pass: 0,
                start: i * 64,
                end: i * 64 + 32,
            })
            .collect();
        let enc = Message::Query {
            ranges: ranges.clone(),
        }
        .encode();
        // 100 ranges with 32-bit gaps: gap and length one byte each.
        assert!(enc.len() <= 4 + 2 * 100, "{} bytes", enc.len());
        assert_eq!(Message::decode(&enc), Ok(Message::Query { ranges }));
    }

    #[test]
    fn fast_paths_match_message_codec() {
        let ranges = vec![
            ParityRange {
                pass: 3,
                start: 10,
                end: 20,
            },
            ParityRange {
                pass: 3,
                start: 40,
                end: 41,
            },
            ParityRange {
                pass: 0,
                start: 7,
                end: 9,
            },
        ];
        let q = Message::Query {
            ranges: ranges.clone(),
        };
        assert_eq!(encode_query(&ranges), q.encode());
        let parities = vec![1, 0, 1, 1, 0, 0, 0, 1, 1];
        let r = Message::Reply {
            parities: parities.clone(),
        };
        assert_eq!(encode_reply(&parities), r.encode());
        // decode_into clears and refills the caller's buffers.
        let (mut rs, mut ps) = (vec![ranges[0]; 5], vec![1u8; 5]);
        assert_eq!(
            decode_into(&q.encode(), &mut rs, &mut ps),
            Ok(Decoded::Query)
        );
        assert_eq!((rs.as_slice(), ps.len()), (ranges.as_slice(), 0));
        assert_eq!(
            decode_into(&r.encode(), &mut rs, &mut ps),
            Ok(Decoded::Reply)
        );
        assert_eq!((rs.len(), ps), (0, parities));
    }

    #[test]
    fn hostile_varints_and_counts() {
        assert_eq!(Message::decode(&[]), Err(DecodeError::UnexpectedEnd));
        assert_eq!(Message::decode(&[0x99]), Err(DecodeError::UnknownTag(0x99)));
        let mut huge = vec![TAG_REPLY];
        huge.extend([0xff; 9]);
        huge.push(0x01);
        assert_eq!(Message::decode(&huge), Err(DecodeError::CountTooLarge));
        let mut over = vec![TAG_HELLO];
        over.extend([0xff; 10]);
        assert_eq!(Message::decode(&over), Err(DecodeError::VarintOverflow));
        assert_eq!(
            Message::decode(&[TAG_REPLY, 3, 0b1000]),
            Err(DecodeError::NonZeroPadding)
        );
        assert_eq!(
            Message::decode(&[TAG_DONE, 0]),
            Err(DecodeError::TrailingBytes)
        );
    }
}
