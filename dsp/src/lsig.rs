//! The legacy SIGNAL field (L-SIG), IEEE 802.11-2020 §17.3.4: RATE (4 bits), a reserved bit,
//! LENGTH (12 bits, LSB first), even parity over bits 0–16 and six zero tail bits, coded at
//! rate 1/2 (§17.3.5.6), interleaved (§17.3.5.7) and sent as one BPSK symbol (not scrambled).

use crate::convcode;

/// Errors when building or decoding an L-SIG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LSigError {
    /// The even parity bit (bit 17) does not match bits 0–16.
    #[error("L-SIG parity check failed")]
    Parity,
    /// The RATE bits R1..R4 (R1 in bit 3 of the value) name no rate of Table 17-6.
    #[error("L-SIG RATE bits {0:#06b} are not a valid rate")]
    Rate(u8),
    /// The six tail bits are not all zero.
    #[error("L-SIG tail bits are not zero")]
    Tail,
    /// Encoding: the rate in Mb/s is not one of 6, 9, 12, 18, 24, 36, 48, 54.
    #[error("unsupported rate {0} Mb/s")]
    UnsupportedRate(u8),
    /// Encoding: LENGTH does not fit in 12 bits.
    #[error("LENGTH {0} exceeds 4095")]
    Length(u16),
}

/// Content of an L-SIG: data rate and PSDU length in octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LSig {
    /// Data rate in Mb/s: 6, 9, 12, 18, 24, 36, 48 or 54.
    pub rate_mbps: u8,
    /// LENGTH field, 0..=4095.
    pub length: u16,
}

/// (rate in Mb/s, R1..R4 with R1 in bit 3), IEEE 802.11-2020 Table 17-6.
const RATE_TABLE: [(u8, u8); 8] = [
    (6, 0b1101),
    (9, 0b1111),
    (12, 0b0101),
    (18, 0b0111),
    (24, 0b1001),
    (36, 0b1011),
    (48, 0b0001),
    (54, 0b0011),
];

impl LSig {
    /// Validated constructor.
    ///
    /// # Errors
    /// [`LSigError::UnsupportedRate`] or [`LSigError::Length`].
    pub fn new(rate_mbps: u8, length: u16) -> Result<Self, LSigError> {
        let s = LSig { rate_mbps, length };
        s.rate_bits()?;
        if length > 4095 {
            return Err(LSigError::Length(length));
        }
        Ok(s)
    }

    /// The L-SIG a qwave probe carries: 6 Mb/s, LENGTH = the low 12 bits of the probe-exchange
    /// number `seq` (`seq % 4096`). The full number is bookkept by the TDD schedule; the LENGTH
    /// field only lets a receiver cross-check which exchange a probe belongs to.
    pub fn for_probe(seq: u64) -> Self {
        LSig {
            rate_mbps: 6,
            length: (seq % 4096) as u16,
        }
    }

    fn rate_bits(&self) -> Result<u8, LSigError> {
        RATE_TABLE
            .iter()
            .find(|(r, _)| *r == self.rate_mbps)
            .map(|&(_, b)| b)
            .ok_or(LSigError::UnsupportedRate(self.rate_mbps))
    }

    /// The 24 SIGNAL bits in transmit order (§17.3.4.1, Figure 17-5).
    ///
    /// # Errors
    /// [`LSigError::UnsupportedRate`] or [`LSigError::Length`] for an invalid `LSig`.
    pub fn to_bits(&self) -> Result<[u8; 24], LSigError> {
        let r = self.rate_bits()?;
        if self.length > 4095 {
            return Err(LSigError::Length(self.length));
        }
        let mut b = [0u8; 24];
        for (i, bit) in b.iter_mut().take(4).enumerate() {
            *bit = (r >> (3 - i)) & 1;
        }
        for i in 0..12 {
            b[5 + i] = ((self.length >> i) & 1) as u8;
        }
        b[17] = b[..17].iter().fold(0, |acc, &x| acc ^ x);
        Ok(b)
    }

    /// Parses 24 decoded SIGNAL bits, checking parity, tail and RATE (in that order).
    /// The reserved bit is ignored, as §17.3.4.3 allows.
    ///
    /// # Errors
    /// [`LSigError::Parity`], [`LSigError::Tail`] or [`LSigError::Rate`].
    #[inline]
    pub fn from_bits(b: &[u8; 24]) -> Result<Self, LSigError> {
        let w = b
            .iter()
            .enumerate()
            .fold(0u32, |w, (i, &x)| w | (u32::from(x & 1) << i));
        Self::from_word(w)
    }

    /// [`LSig::from_bits`] on the 24 bits packed into a word, bit `i` of `w` being bit `i` of
    /// the field (bits above 23 are ignored).
    ///
    /// # Errors
    /// As [`LSig::from_bits`].
    pub fn from_word(w: u32) -> Result<Self, LSigError> {
        if !(w & 0x3_FFFF).count_ones().is_multiple_of(2) {
            return Err(LSigError::Parity);
        }
        if (w >> 18) & 0x3F != 0 {
            return Err(LSigError::Tail);
        }
        // RATE: R1 (bit 0) is the most significant bit of the table's code
        let r = (0..4).fold(0u8, |acc, i| (acc << 1) | ((w >> i) & 1) as u8);
        let rate_mbps = RATE_TABLE
            .iter()
            .find(|(_, bits)| *bits == r)
            .map(|&(m, _)| m)
            .ok_or(LSigError::Rate(r))?;
        let length = ((w >> 5) & 0xFFF) as u16;
        Ok(LSig { rate_mbps, length })
    }

    /// The 48 coded and interleaved bits, in data-subcarrier order (§17.3.5.6–7).
    ///
    /// # Errors
    /// As [`LSig::to_bits`].
    pub fn coded_bits(&self) -> Result<[u8; 48], LSigError> {
        let bits = self.to_bits()?;
        let mut coded = [0u8; 48];
        // lengths are fixed and matching: encode cannot fail
        if convcode::encode(&bits, &mut coded).is_err() {
            return Err(LSigError::Length(self.length));
        }
        Ok(convcode::interleave_bpsk48(&coded))
    }

    /// Decodes an L-SIG from 48 equalised BPSK soft values in data-subcarrier order
    /// (positive = bit 1; weighting by channel gain, e.g. `Re(Y·conj(H))`, is welcome):
    /// deinterleave, soft Viterbi (traced back from the best state so that the tail check means
    /// something; error-free hard decisions take the exact shortcut of
    /// [`convcode::codeword_info_48`]), then [`LSig::from_bits`]. No allocation.
    ///
    /// # Errors
    /// [`LSigError::Parity`], [`LSigError::Tail`] or [`LSigError::Rate`].
    #[inline(always)]
    pub fn decode(soft: &[f32; 48]) -> Result<Self, LSigError> {
        let d = convcode::deinterleave_bpsk48(soft);
        match convcode::codeword_info_48(&d) {
            Some(w) => Self::from_word(w),
            None => Self::from_bits(&convcode::viterbi_decode_48(&d)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_roundtrip_all_rates() {
        for &(r, _) in RATE_TABLE.iter() {
            for len in [0u16, 1, 100, 4095] {
                let s = LSig::new(r, len).unwrap();
                assert_eq!(LSig::from_bits(&s.to_bits().unwrap()), Ok(s));
            }
        }
        assert_eq!(LSig::new(7, 1), Err(LSigError::UnsupportedRate(7)));
        assert_eq!(LSig::new(6, 4096), Err(LSigError::Length(4096)));
    }

    /// Field-by-field reading of the 24 bits (§17.3.4.2), independent of the word parser.
    fn reference_parse(b: &[u8; 24]) -> Result<LSig, LSigError> {
        if b[..18].iter().fold(0, |acc, &x| acc ^ (x & 1)) != 0 {
            return Err(LSigError::Parity);
        }
        if b[18..].iter().any(|&x| x & 1 != 0) {
            return Err(LSigError::Tail);
        }
        let r = b[..4].iter().fold(0u8, |acc, &x| (acc << 1) | (x & 1));
        let rate_mbps = RATE_TABLE
            .iter()
            .find(|(_, bits)| *bits == r)
            .map(|&(m, _)| m)
            .ok_or(LSigError::Rate(r))?;
        let length = (0..12).fold(0u16, |acc, i| acc | (u16::from(b[5 + i] & 1) << i));
        Ok(LSig { rate_mbps, length })
    }

    /// The packed-word parser agrees with a field-by-field reading on every error class and on
    /// valid fields (a stride through all 2^24 words, plus every valid rate/length sample).
    #[test]
    fn from_word_matches_reference_parse() {
        let unpack = |w: u32| -> [u8; 24] { core::array::from_fn(|i| ((w >> i) & 1) as u8) };
        for w in (0..1u32 << 24).step_by(997) {
            assert_eq!(
                LSig::from_word(w),
                reference_parse(&unpack(w)),
                "word {w:#08x}"
            );
        }
        for &(r, _) in RATE_TABLE.iter() {
            for len in [0u16, 1, 77, 4095] {
                let b = LSig::new(r, len).unwrap().to_bits().unwrap();
                let w = b
                    .iter()
                    .enumerate()
                    .fold(0u32, |w, (i, &x)| w | (u32::from(x) << i));
                assert_eq!(LSig::from_word(w), Ok(LSig::new(r, len).unwrap()));
                assert_eq!(
                    LSig::from_word(w | 0xFF00_0000),
                    LSig::from_word(w),
                    "high bits"
                );
            }
        }
    }

    #[test]
    fn detects_bad_fields() {
        let mut b = LSig::new(24, 77).unwrap().to_bits().unwrap();
        b[7] ^= 1;
        assert_eq!(LSig::from_bits(&b), Err(LSigError::Parity));
        let mut b = LSig::new(24, 77).unwrap().to_bits().unwrap();
        b[20] = 1;
        assert_eq!(LSig::from_bits(&b), Err(LSigError::Tail));
        let mut b = LSig::new(24, 77).unwrap().to_bits().unwrap();
        // RATE 0b0000 is invalid; clear R1 (1) and R4 (1): parity unchanged
        b[0] = 0;
        b[3] = 0;
        assert_eq!(LSig::from_bits(&b), Err(LSigError::Rate(0)));
    }

    #[test]
    fn probe_carries_low_bits_of_seq() {
        assert_eq!(
            LSig::for_probe(4096 + 5),
            LSig {
                rate_mbps: 6,
                length: 5
            }
        );
    }
}
