//! Key confirmation: both parties prove they hold the same key before it is used.
//!
//! Each party sends `tag = KMAC256(K = key bytes, X = encode_string(role label) ‖ nonce_alice ‖
//! nonce_bob ‖ key bit length (u64, big-endian), S = "qwave key confirmation", L = 256)`
//! (NIST SP 800-185 §4, KMAC via the `tiny-keccak` crate). The role label keeps Alice's tag from
//! being reflected as Bob's, the fresh nonces of both sides keep tags from being replayed across
//! sessions, and the length pins the key length. The receiver checks the peer's tag with
//! [`verify_tag`] (constant time).
//!
//! # What to feed as the key ([`CONFIRM_KEY_BITS`])
//! Recommended: hash the reconciled string to `ℓ + CONFIRM_KEY_BITS` bits (ℓ from
//! [`final_key_length`](super::final_key_length) with `confirm_bits = CONFIRM_KEY_BITS`), split
//! with [`split_confirmation`], compute the tags from the first `CONFIRM_KEY_BITS` bits (the
//! confirmation key) and keep the other ℓ bits as the key. Then
//! - secrecy stays information-theoretic: the leftover hash lemma covers the whole
//!   `ℓ + CONFIRM_KEY_BITS`-bit output, and the tags are functions of the discarded segment only,
//!   so the kept key is still ε-close to uniform given the tags;
//! - correctness: a difference in the reconciled strings leaves the two confirmation keys equal
//!   with probability 2⁻¹²⁸ over the seed (the first rows of a random Toeplitz matrix are again a
//!   universal family) — far below the secrecy parameter ε = 2⁻⁶⁴ — and equal confirmation keys
//!   with unequal tags or vice versa need a KMAC collision.
//!
//! Tagging the kept key itself also works but then the tags' secrecy argument is computational
//! only (KMAC as a PRF): a 256-bit public function of the key leaks at most 256 bits of it, but
//! subtracting 256 from ℓ does not make the rest uniform given the tags.

use std::fmt;

use subtle::ConstantTimeEq;
use tiny_keccak::{Hasher, Kmac};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::AmplifyError;

/// Bits of privacy-amplification output spent on key confirmation: the length of the
/// confirmation key segment (see the module docs). It is the `confirm_bits` to pass to
/// [`final_key_length`](super::final_key_length). 128 bits make an undetected key mismatch
/// (2⁻¹²⁸) and a tag forgery (guessing the segment) negligible next to the secrecy parameter
/// (2⁻⁶⁴ by default), and a tag, being a function of its segment, can leak at most those
/// 128 bits, which are discarded.
pub const CONFIRM_KEY_BITS: u32 = 128;

/// Length of a confirmation tag (KMAC256 output) in bits.
pub const CONFIRM_TAG_BITS: u32 = 256;

/// KMAC customization string for key confirmation (SP 800-185 `S`).
pub const CONFIRM_CUSTOMIZATION: &[u8] = b"qwave key confirmation";

/// Which party computes a confirmation tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfirmRole {
    /// The base station side.
    Alice,
    /// The terminal side.
    Bob,
}

impl ConfirmRole {
    /// ASCII label bound into the tag.
    pub fn label(self) -> &'static [u8] {
        match self {
            ConfirmRole::Alice => b"alice",
            ConfirmRole::Bob => b"bob",
        }
    }
}

/// KMAC256 (NIST SP 800-185 §4.3) of `data` under `key` with customization `custom`; the output
/// length `L` is `out.len()·8` bits.
pub fn kmac256(key: &[u8], data: &[u8], custom: &[u8], out: &mut [u8]) {
    let mut mac = Kmac::v256(key, custom);
    mac.update(data);
    mac.finalize(out);
}

/// Key confirmation tag (see the module docs for the exact input encoding): KMAC256 keyed with
/// the packed (MSB-first, [`pack_bits`]) `key_bits`, over the role label, both nonces and the key
/// bit length, customization [`CONFIRM_CUSTOMIZATION`], 256-bit output. `key_bits` is one `u8` per
/// bit; any nonzero byte counts as 1.
pub fn confirmation_tag(
    key_bits: &[u8],
    role: ConfirmRole,
    nonce_alice: &[u8; 16],
    nonce_bob: &[u8; 16],
) -> [u8; 32] {
    let key = Zeroizing::new(pack_bits(key_bits));
    let label = role.label();
    let mut data = Vec::with_capacity(10 + label.len() + 16 + 16 + 8);
    // encode_string(label) = left_encode(bit length) ‖ label (SP 800-185 §2.3.2): self-delimiting,
    // so the fixed-length fields after it make the encoding injective.
    left_encode((label.len() as u64) * 8, &mut data);
    data.extend_from_slice(label);
    data.extend_from_slice(nonce_alice);
    data.extend_from_slice(nonce_bob);
    data.extend_from_slice(&(key_bits.len() as u64).to_be_bytes());
    let mut tag = [0u8; 32];
    kmac256(&key, &data, CONFIRM_CUSTOMIZATION, &mut tag);
    tag
}

/// Compares a received tag with the expected one in constant time (`subtle`); any length other
/// than 32 bytes is rejected.
pub fn verify_tag(expected: &[u8; 32], got: &[u8]) -> bool {
    got.len() == expected.len() && bool::from(expected.as_slice().ct_eq(got))
}

/// Splits a privacy-amplification output of `ℓ + CONFIRM_KEY_BITS` bits into
/// `(confirmation key, final key)`: the first [`CONFIRM_KEY_BITS`] bits and the rest.
///
/// # Errors
/// [`AmplifyError::LengthMismatch`] if `hashed_bits` does not hold more than
/// `CONFIRM_KEY_BITS` bits.
pub fn split_confirmation(hashed_bits: &[u8]) -> Result<(&[u8], &[u8]), AmplifyError> {
    let c = CONFIRM_KEY_BITS as usize;
    if hashed_bits.len() <= c {
        return Err(AmplifyError::LengthMismatch {
            what: "hashed output (must exceed CONFIRM_KEY_BITS)",
            expected: c + 1,
            got: hashed_bits.len(),
        });
    }
    Ok(hashed_bits.split_at(c))
}

/// Packs one-bit-per-byte values into bytes, MSB first (bit `i` goes to byte `i / 8`, bit
/// `7 − i % 8`); a partial last byte is zero-padded at the low end. Any nonzero byte counts as 1.
pub fn pack_bits(bits: &[u8]) -> Vec<u8> {
    bits.chunks(8)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u8, |acc, (i, &b)| acc | (u8::from(b != 0) << (7 - i)))
        })
        .collect()
}

/// A final secret key: packed bytes (MSB-first) plus its length in bits. Zeroized on drop;
/// `Debug` shows only the length; equality is constant time via [`ConstantTimeEq`].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey {
    bytes: Vec<u8>,
    bit_len: usize,
}

impl SecretKey {
    /// Builds a key from one-bit-per-byte values (any nonzero byte counts as 1).
    pub fn from_bits(bits: &[u8]) -> Self {
        Self {
            bytes: pack_bits(bits),
            bit_len: bits.len(),
        }
    }

    /// Builds a key from packed bytes (MSB-first) holding `bit_len` bits.
    ///
    /// # Errors
    /// [`AmplifyError::LengthMismatch`] if `bytes.len() != ceil(bit_len / 8)`.
    pub fn from_packed(bytes: Vec<u8>, bit_len: usize) -> Result<Self, AmplifyError> {
        let expected = bit_len.div_ceil(8);
        if bytes.len() != expected {
            let got = bytes.len();
            let mut bytes = bytes;
            bytes.zeroize();
            return Err(AmplifyError::LengthMismatch {
                what: "packed key bytes",
                expected,
                got,
            });
        }
        let mut key = Self { bytes, bit_len };
        // Clear padding bits so equal keys have equal bytes.
        let pad = expected * 8 - bit_len;
        if let Some(last) = key.bytes.last_mut() {
            *last &= 0xFFu8 << pad;
        }
        Ok(key)
    }

    /// Packed key bytes, MSB-first; unused low bits of the last byte are zero.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Key length in bits.
    pub fn bit_len(&self) -> usize {
        self.bit_len
    }
}

impl ConstantTimeEq for SecretKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        // Lengths are public; only the contents are compared in constant time.
        if self.bit_len != other.bit_len {
            return subtle::Choice::from(0);
        }
        self.bytes.as_slice().ct_eq(other.bytes.as_slice())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("bit_len", &self.bit_len)
            .finish_non_exhaustive()
    }
}

/// SP 800-185 §2.3.1 `left_encode(x)`: byte count, then `x` big-endian in that many bytes.
fn left_encode(x: u64, out: &mut Vec<u8>) {
    let bytes = x.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    out.push((8 - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_encode_matches_sp800_185() {
        let mut v = Vec::new();
        left_encode(0, &mut v);
        assert_eq!(v, [1, 0]);
        v.clear();
        left_encode(40, &mut v);
        assert_eq!(v, [1, 40]);
        v.clear();
        left_encode(256, &mut v);
        assert_eq!(v, [2, 1, 0]);
    }
}
