//! Public-channel messages of the two-party key-generation session and their
//! binary codec.
//!
//! Every message is plain data (the public channel is authenticated, not
//! encrypted: an eavesdropper reads all of it). Decoding untrusted bytes never
//! panics; it fails with a [`DecodeError`] that names the problem (cf. quinn's
//! `coding.rs`, `UnexpectedEnd`).

use thiserror::Error;

/// Largest body a decoder accepts, in bytes (bounds every allocation made
/// while decoding hostile input).
pub const MAX_BODY: usize = 16 << 20;

/// Why a message could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended before the message did.
    #[error("message truncated: needed {needed} more bytes at offset {offset}")]
    UnexpectedEnd {
        /// Offset at which more bytes were needed.
        offset: usize,
        /// How many more bytes were needed.
        needed: usize,
    },
    /// Unknown message type byte.
    #[error("unknown message type 0x{0:02x}")]
    UnknownType(u8),
    /// A field holds a value outside its range.
    #[error("invalid field `{field}`: {why}")]
    Invalid {
        /// Field name.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Bytes left over after the message ended.
    #[error("{0} trailing bytes after message")]
    Trailing(usize),
}

/// Reason codes carried by [`Msg::NoKey`] and [`Msg::Abort`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    /// The block's min-entropy does not pay for leakage and security margin.
    InsufficientEntropy = 1,
    /// Reconciliation did not converge (residual disagreement too high).
    ReconciliationFailed = 2,
    /// Key confirmation tags differ: the two keys are not equal.
    ConfirmationFailed = 3,
    /// Too few usable channel samples in the block.
    TooFewSamples = 4,
    /// The peer broke the protocol (authentication, order, content).
    Protocol = 5,
    /// The operator or the peer stopped the session.
    Shutdown = 6,
    /// Disagreement is so high that no reconciliation can pay off.
    TooMuchDisagreement = 7,
}

impl Reason {
    fn from_u8(v: u8) -> Result<Self, DecodeError> {
        Ok(match v {
            1 => Self::InsufficientEntropy,
            2 => Self::ReconciliationFailed,
            3 => Self::ConfirmationFailed,
            4 => Self::TooFewSamples,
            5 => Self::Protocol,
            6 => Self::Shutdown,
            7 => Self::TooMuchDisagreement,
            _ => {
                return Err(DecodeError::Invalid {
                    field: "reason",
                    why: "unknown reason code",
                })
            }
        })
    }
}

/// One public message.
#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// Opens the session: protocol version, a fresh nonce, and a digest of the
    /// key-generation parameters (both sides must run the same ones).
    Hello {
        /// Protocol version.
        version: u16,
        /// Fresh random nonce of the sender.
        nonce: [u8; 16],
        /// SHA3-256 of the canonical parameter string.
        params_digest: [u8; 32],
    },
    /// Alice opens block `block` over exchanges `first_seq..first_seq+len`:
    /// which of them she holds, the time stride and bits per sample she chose.
    BlockPlan {
        /// Block number.
        block: u32,
        /// First exchange number of the block.
        first_seq: u64,
        /// Presence bitmap of Alice's rows (bit i = exchange first_seq + i).
        present: Vec<u8>,
        /// Number of exchanges the block spans.
        len: u32,
        /// Time decimation stride.
        stride: u16,
        /// Quantizer bits per sample.
        bits_per_sample: u8,
    },
    /// Bob's rows of the block (presence bitmap over the same range).
    BlockAck {
        /// Block number.
        block: u32,
        /// Presence bitmap of Bob's rows.
        present: Vec<u8>,
    },
    /// Sample positions the sender drops (guard bands); the union is dropped.
    Drops {
        /// Block number.
        block: u32,
        /// Sorted sample indices.
        indices: Vec<u32>,
    },
    /// Bob reveals his bits at `count` positions drawn from `seed` (see
    /// `party::sample_positions`); both discard them. Alice's disagreement
    /// estimate comes from it.
    Sample {
        /// Block number.
        block: u32,
        /// Public seed of the positions.
        seed: u64,
        /// Number of positions (see `party::Party::sample_size`).
        count: u32,
        /// Bob's bits at those positions, packed MSB first.
        bits: Vec<u8>,
    },
    /// Alice starts reconciliation of `n_bits` bits.
    ReconStart {
        /// Block number.
        block: u32,
        /// Reconciler kind code.
        kind: u8,
        /// Disagreement estimate in parts per million.
        qber_ppm: u32,
        /// Public seed of the reconciler's permutations.
        shuffle_seed: u64,
        /// Number of bits to reconcile.
        n_bits: u32,
    },
    /// A reconciler message, opaque to the session.
    Recon {
        /// Block number.
        block: u32,
        /// Reconciler payload.
        payload: Vec<u8>,
    },
    /// Bob's end-of-reconciliation statistics: errors he corrected in total and
    /// in the first (sign) bit of each sample. Counted as leakage.
    ReconDone {
        /// Block number.
        block: u32,
        /// Bits Bob flipped.
        errors: u32,
        /// Of those, bits in the most significant (sign) position.
        errors_msb: u32,
        /// Number of most significant bits.
        msb_bits: u32,
    },
    /// Alice's privacy-amplification parameters: final length and Toeplitz seed
    /// (packed bits), with her confirmation nonce.
    Amplify {
        /// Block number.
        block: u32,
        /// Final key length in bits.
        out_bits: u32,
        /// Toeplitz seed, packed MSB first.
        seed: Vec<u8>,
        /// Alice's confirmation nonce.
        nonce: [u8; 16],
    },
    /// Key confirmation tag of the sender; Bob's carries his nonce.
    Confirm {
        /// Block number.
        block: u32,
        /// Bob's confirmation nonce (zero in Alice's).
        nonce: [u8; 16],
        /// Confirmation tag.
        tag: [u8; 32],
    },
    /// This block yields no key (both sides discard it); the session goes on.
    NoKey {
        /// Block number.
        block: u32,
        /// Why.
        reason: Reason,
    },
    /// The session ends without any further key.
    Abort {
        /// Why.
        reason: Reason,
    },
}

mod tag {
    pub const HELLO: u8 = 1;
    pub const BLOCK_PLAN: u8 = 2;
    pub const BLOCK_ACK: u8 = 3;
    pub const DROPS: u8 = 4;
    pub const RECON_START: u8 = 5;
    pub const RECON: u8 = 6;
    pub const RECON_DONE: u8 = 7;
    pub const AMPLIFY: u8 = 8;
    pub const CONFIRM: u8 = 9;
    pub const NO_KEY: u8 = 10;
    pub const ABORT: u8 = 11;
    pub const SAMPLE: u8 = 12;
}

impl Msg {
    /// Short name for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Msg::Hello { .. } => "Hello",
            Msg::BlockPlan { .. } => "BlockPlan",
            Msg::BlockAck { .. } => "BlockAck",
            Msg::Drops { .. } => "Drops",
            Msg::Sample { .. } => "Sample",
            Msg::ReconStart { .. } => "ReconStart",
            Msg::Recon { .. } => "Recon",
            Msg::ReconDone { .. } => "ReconDone",
            Msg::Amplify { .. } => "Amplify",
            Msg::Confirm { .. } => "Confirm",
            Msg::NoKey { .. } => "NoKey",
            Msg::Abort { .. } => "Abort",
        }
    }

    /// Appends the encoding of this message to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Msg::Hello {
                version,
                nonce,
                params_digest,
            } => {
                out.push(tag::HELLO);
                out.extend_from_slice(&version.to_be_bytes());
                out.extend_from_slice(nonce);
                out.extend_from_slice(params_digest);
            }
            Msg::BlockPlan {
                block,
                first_seq,
                present,
                len,
                stride,
                bits_per_sample,
            } => {
                out.push(tag::BLOCK_PLAN);
                out.extend_from_slice(&block.to_be_bytes());
                out.extend_from_slice(&first_seq.to_be_bytes());
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&stride.to_be_bytes());
                out.push(*bits_per_sample);
                put_bytes(out, present);
            }
            Msg::BlockAck { block, present } => {
                out.push(tag::BLOCK_ACK);
                out.extend_from_slice(&block.to_be_bytes());
                put_bytes(out, present);
            }
            Msg::Drops { block, indices } => {
                out.push(tag::DROPS);
                out.extend_from_slice(&block.to_be_bytes());
                out.extend_from_slice(&(indices.len() as u32).to_be_bytes());
                for i in indices {
                    out.extend_from_slice(&i.to_be_bytes());
                }
            }
            Msg::Sample {
                block,
                seed,
                count,
                bits,
            } => {
                out.push(tag::SAMPLE);
                out.extend_from_slice(&block.to_be_bytes());
                out.extend_from_slice(&seed.to_be_bytes());
                out.extend_from_slice(&count.to_be_bytes());
                put_bytes(out, bits);
            }
            Msg::ReconStart {
                block,
                kind,
                qber_ppm,
                shuffle_seed,
                n_bits,
            } => {
                out.push(tag::RECON_START);
                out.extend_from_slice(&block.to_be_bytes());
                out.push(*kind);
                out.extend_from_slice(&qber_ppm.to_be_bytes());
                out.extend_from_slice(&shuffle_seed.to_be_bytes());
                out.extend_from_slice(&n_bits.to_be_bytes());
            }
            Msg::Recon { block, payload } => {
                out.push(tag::RECON);
                out.extend_from_slice(&block.to_be_bytes());
                put_bytes(out, payload);
            }
            Msg::ReconDone {
                block,
                errors,
                errors_msb,
                msb_bits,
            } => {
                out.push(tag::RECON_DONE);
                out.extend_from_slice(&block.to_be_bytes());
                out.extend_from_slice(&errors.to_be_bytes());
                out.extend_from_slice(&errors_msb.to_be_bytes());
                out.extend_from_slice(&msb_bits.to_be_bytes());
            }
            Msg::Amplify {
                block,
                out_bits,
                seed,
                nonce,
            } => {
                out.push(tag::AMPLIFY);
                out.extend_from_slice(&block.to_be_bytes());
                out.extend_from_slice(&out_bits.to_be_bytes());
                out.extend_from_slice(nonce);
                put_bytes(out, seed);
            }
            Msg::Confirm { block, nonce, tag } => {
                out.push(tag::CONFIRM);
                out.extend_from_slice(&block.to_be_bytes());
                out.extend_from_slice(nonce);
                out.extend_from_slice(tag);
            }
            Msg::NoKey { block, reason } => {
                out.push(tag::NO_KEY);
                out.extend_from_slice(&block.to_be_bytes());
                out.push(*reason as u8);
            }
            Msg::Abort { reason } => {
                out.push(tag::ABORT);
                out.push(*reason as u8);
            }
        }
    }

    /// Encodes into a fresh vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// Decodes exactly one message occupying all of `bytes`.
    ///
    /// # Errors
    /// [`DecodeError`] naming what is wrong; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader { buf: bytes, pos: 0 };
        let msg = match r.u8()? {
            tag::HELLO => Msg::Hello {
                version: r.u16()?,
                nonce: r.array()?,
                params_digest: r.array()?,
            },
            tag::BLOCK_PLAN => {
                let block = r.u32()?;
                let first_seq = r.u64()?;
                let len = r.u32()?;
                let stride = r.u16()?;
                let bits_per_sample = r.u8()?;
                let present = r.bytes()?;
                if present.len() != (len as usize).div_ceil(8) {
                    return Err(DecodeError::Invalid {
                        field: "present",
                        why: "bitmap length does not match block length",
                    });
                }
                if stride == 0 {
                    return Err(DecodeError::Invalid {
                        field: "stride",
                        why: "must be at least 1",
                    });
                }
                if !(1..=8).contains(&bits_per_sample) {
                    return Err(DecodeError::Invalid {
                        field: "bits_per_sample",
                        why: "must be 1..=8",
                    });
                }
                Msg::BlockPlan {
                    block,
                    first_seq,
                    present,
                    len,
                    stride,
                    bits_per_sample,
                }
            }
            tag::BLOCK_ACK => Msg::BlockAck {
                block: r.u32()?,
                present: r.bytes()?,
            },
            tag::DROPS => {
                let block = r.u32()?;
                let n = r.u32()? as usize;
                r.need(n.saturating_mul(4))?;
                let mut indices = Vec::with_capacity(n);
                for _ in 0..n {
                    indices.push(r.u32()?);
                }
                if indices.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(DecodeError::Invalid {
                        field: "indices",
                        why: "not strictly increasing",
                    });
                }
                Msg::Drops { block, indices }
            }
            tag::RECON_START => {
                let m = Msg::ReconStart {
                    block: r.u32()?,
                    kind: r.u8()?,
                    qber_ppm: r.u32()?,
                    shuffle_seed: r.u64()?,
                    n_bits: r.u32()?,
                };
                if let Msg::ReconStart { qber_ppm, .. } = m {
                    if qber_ppm > 500_000 {
                        return Err(DecodeError::Invalid {
                            field: "qber_ppm",
                            why: "above 50%",
                        });
                    }
                }
                m
            }
            tag::SAMPLE => Msg::Sample {
                block: r.u32()?,
                seed: r.u64()?,
                count: r.u32()?,
                bits: r.bytes()?,
            },
            tag::RECON => Msg::Recon {
                block: r.u32()?,
                payload: r.bytes()?,
            },
            tag::RECON_DONE => Msg::ReconDone {
                block: r.u32()?,
                errors: r.u32()?,
                errors_msb: r.u32()?,
                msb_bits: r.u32()?,
            },
            tag::AMPLIFY => Msg::Amplify {
                block: r.u32()?,
                out_bits: r.u32()?,
                nonce: r.array()?,
                seed: r.bytes()?,
            },
            tag::CONFIRM => Msg::Confirm {
                block: r.u32()?,
                nonce: r.array()?,
                tag: r.array()?,
            },
            tag::NO_KEY => Msg::NoKey {
                block: r.u32()?,
                reason: Reason::from_u8(r.u8()?)?,
            },
            tag::ABORT => Msg::Abort {
                reason: Reason::from_u8(r.u8()?)?,
            },
            t => return Err(DecodeError::UnknownType(t)),
        };
        if r.pos != bytes.len() {
            return Err(DecodeError::Trailing(bytes.len() - r.pos));
        }
        Ok(msg)
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

/// Bounds-checked big-endian reader over untrusted bytes.
pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn need(&self, n: usize) -> Result<(), DecodeError> {
        let have = self.buf.len() - self.pos;
        if n > have {
            Err(DecodeError::UnexpectedEnd {
                offset: self.pos,
                needed: n - have,
            })
        } else {
            Ok(())
        }
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        self.need(n)?;
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    pub(crate) fn bytes(&mut self) -> Result<Vec<u8>, DecodeError> {
        let n = self.u32()? as usize;
        if n > MAX_BODY {
            return Err(DecodeError::Invalid {
                field: "length",
                why: "exceeds the maximum body size",
            });
        }
        Ok(self.take(n)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_reason() -> impl Strategy<Value = Reason> {
        prop_oneof![
            Just(Reason::InsufficientEntropy),
            Just(Reason::ReconciliationFailed),
            Just(Reason::ConfirmationFailed),
            Just(Reason::TooFewSamples),
            Just(Reason::Protocol),
            Just(Reason::Shutdown),
            Just(Reason::TooMuchDisagreement),
        ]
    }

    fn arb_msg() -> impl Strategy<Value = Msg> {
        prop_oneof![
            (any::<u16>(), any::<[u8; 16]>(), any::<[u8; 32]>()).prop_map(|(v, n, d)| {
                Msg::Hello {
                    version: v,
                    nonce: n,
                    params_digest: d,
                }
            }),
            (any::<u32>(), any::<u64>(), 0u32..2000, 1u16..100, 1u8..=8).prop_flat_map(
                |(b, f, len, s, k)| {
                    proptest::collection::vec(any::<u8>(), (len as usize).div_ceil(8)).prop_map(
                        move |present| Msg::BlockPlan {
                            block: b,
                            first_seq: f,
                            present,
                            len,
                            stride: s,
                            bits_per_sample: k,
                        },
                    )
                }
            ),
            (any::<u32>(), proptest::collection::vec(any::<u8>(), 0..100))
                .prop_map(|(block, present)| Msg::BlockAck { block, present }),
            (
                any::<u32>(),
                proptest::collection::btree_set(any::<u32>(), 0..50)
            )
                .prop_map(|(block, s)| Msg::Drops {
                    block,
                    indices: s.into_iter().collect()
                }),
            (
                any::<u32>(),
                any::<u8>(),
                0u32..=500_000,
                any::<u64>(),
                any::<u32>()
            )
                .prop_map(|(block, kind, q, s, n)| Msg::ReconStart {
                    block,
                    kind,
                    qber_ppm: q,
                    shuffle_seed: s,
                    n_bits: n
                }),
            (any::<u32>(), proptest::collection::vec(any::<u8>(), 0..300))
                .prop_map(|(block, payload)| Msg::Recon { block, payload }),
            (
                any::<u32>(),
                any::<u64>(),
                any::<u32>(),
                proptest::collection::vec(any::<u8>(), 0..40)
            )
                .prop_map(|(block, seed, count, bits)| Msg::Sample {
                    block,
                    seed,
                    count,
                    bits
                }),
            (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(a, b, c, d)| {
                Msg::ReconDone {
                    block: a,
                    errors: b,
                    errors_msb: c,
                    msb_bits: d,
                }
            }),
            (
                any::<u32>(),
                any::<u32>(),
                proptest::collection::vec(any::<u8>(), 0..300),
                any::<[u8; 16]>()
            )
                .prop_map(|(block, out_bits, seed, nonce)| Msg::Amplify {
                    block,
                    out_bits,
                    seed,
                    nonce
                }),
            (any::<u32>(), any::<[u8; 16]>(), any::<[u8; 32]>())
                .prop_map(|(block, nonce, tag)| Msg::Confirm { block, nonce, tag }),
            (any::<u32>(), arb_reason()).prop_map(|(block, reason)| Msg::NoKey { block, reason }),
            arb_reason().prop_map(|reason| Msg::Abort { reason }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(m in arb_msg()) {
            let b = m.to_bytes();
            prop_assert_eq!(Msg::decode(&b).unwrap(), m);
        }

        #[test]
        fn every_strict_prefix_is_rejected(m in arb_msg()) {
            let b = m.to_bytes();
            for cut in 0..b.len() {
                prop_assert!(Msg::decode(&b[..cut]).is_err());
            }
        }

        #[test]
        fn garbage_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Msg::decode(&b);
        }
    }

    #[test]
    fn trailing_bytes_rejected() {
        let mut b = Msg::Abort {
            reason: Reason::Shutdown,
        }
        .to_bytes();
        b.push(0);
        assert_eq!(Msg::decode(&b), Err(DecodeError::Trailing(1)));
    }

    #[test]
    fn hostile_length_does_not_allocate() {
        // Drops claiming 2^32-1 indices with no data behind them.
        let mut b = vec![tag::DROPS];
        b.extend_from_slice(&7u32.to_be_bytes());
        b.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Msg::decode(&b),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
    }
}
