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

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_bits(out: &mut Vec<u8>, bits: &[u8]) {
    put_varint(out, bits.len() as u64);
    for chunk in bits.chunks(8) {
        let byte = chunk
            .iter()
            .enumerate()
            .fold(0u8, |b, (i, &x)| b | ((x & 1) << i));
        out.push(byte);
    }
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
            Message::Query { ranges } => {
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
        let mut r = Reader { b: bytes };
        let msg = match r.byte()? {
            TAG_HELLO => {
                let n = r.varint()?;
                let parities = r.bits()?;
                Message::Hello { n, parities }
            }
            TAG_QUERY => {
                let groups = r.count(2)?;
                let mut ranges = Vec::new();
                for _ in 0..groups {
                    let pass = r.u32()?;
                    let count = r.count(2)?;
                    ranges.reserve(count);
                    let mut prev_end = 0i64;
                    for _ in 0..count {
                        let start = prev_end + unzigzag(r.varint()?);
                        let start =
                            u32::try_from(start).map_err(|_| DecodeError::ValueOutOfRange)?;
                        let end = start
                            .checked_add(r.u32()?)
                            .ok_or(DecodeError::ValueOutOfRange)?;
                        ranges.push(ParityRange { pass, start, end });
                        prev_end = i64::from(end);
                    }
                }
                Message::Query { ranges }
            }
            TAG_REPLY => Message::Reply {
                parities: r.bits()?,
            },
            TAG_DONE => Message::Done,
            t => return Err(DecodeError::UnknownTag(t)),
        };
        if !r.b.is_empty() {
            return Err(DecodeError::TrailingBytes);
        }
        Ok(msg)
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let (&x, rest) = self.b.split_first().ok_or(DecodeError::UnexpectedEnd)?;
        self.b = rest;
        Ok(x)
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
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
    fn count(&mut self, min_bytes: usize) -> Result<usize, DecodeError> {
        let c = self.varint()?;
        if c > (self.b.len() / min_bytes) as u64 {
            return Err(DecodeError::CountTooLarge);
        }
        Ok(c as usize)
    }

    fn bits(&mut self) -> Result<Vec<u8>, DecodeError> {
        let c = self.varint()?;
        if c > (self.b.len() as u64).saturating_mul(8) {
            return Err(DecodeError::CountTooLarge);
        }
        let c = c as usize;
        let nbytes = c.div_ceil(8);
        let (bytes, rest) = self.b.split_at(nbytes);
        self.b = rest;
        if c % 8 != 0 && bytes[nbytes - 1] >> (c % 8) != 0 {
            return Err(DecodeError::NonZeroPadding);
        }
        Ok((0..c).map(|i| (bytes[i / 8] >> (i % 8)) & 1).collect())
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
