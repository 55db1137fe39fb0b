//! All-or-nothing transform (Rivest, "All-or-nothing encryption and the package transform",
//! FSE 1997), instantiated with SHA-3: a fresh package key `K'` from the OS CSPRNG encrypts
//! `m ‖ check` with the SHAKE256 keystream of `K'`, and the package ends with
//! `K' ⊕ SHA3-256(ciphertext)`. Without every byte of the package `K'` stays hidden, so any
//! strict subset of it says nothing useful about `m`.

use sha3::digest::{ExtendableOutput, Update, XofReader};
use sha3::{Digest, Sha3_256, Shake256};
use zeroize::Zeroizing;

/// Bytes the transform adds: the 16-byte check value and the 32-byte masked package key.
pub const AONT_OVERHEAD: usize = 16 + 32;
const CHECK_LEN: usize = 16;
const KEY_LEN: usize = 32;
const STREAM_LABEL: &[u8] = b"qwave backup aont stream";
const CHECK_LABEL: &[u8] = b"qwave backup aont check";

fn keystream_xor(key: &[u8], data: &mut [u8]) {
    let mut xof = Shake256::default();
    xof.update(STREAM_LABEL);
    xof.update(key);
    let mut reader = xof.finalize_xof();
    let mut block = [0u8; 64];
    for chunk in data.chunks_mut(64) {
        reader.read(&mut block[..chunk.len()]);
        for (d, k) in chunk.iter_mut().zip(&block) {
            *d ^= k;
        }
    }
}

fn check_value(m: &[u8]) -> [u8; CHECK_LEN] {
    let mut h = Sha3_256::new();
    Digest::update(&mut h, CHECK_LABEL);
    Digest::update(&mut h, m);
    let d = h.finalize();
    let mut c = [0u8; CHECK_LEN];
    c.copy_from_slice(&d[..CHECK_LEN]);
    c
}

/// Package transform of `secret` with package key `key` (draw it from the OS CSPRNG).
pub fn package(secret: &[u8], key: &[u8; 32]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(secret.len() + AONT_OVERHEAD));
    out.extend_from_slice(secret);
    out.extend_from_slice(&check_value(secret));
    keystream_xor(key, &mut out);
    let h = Sha3_256::digest(out.as_slice());
    out.extend(key.iter().zip(h.iter()).map(|(k, h)| k ^ h));
    out
}

/// Inverse of [`package`]; `None` if the package is too short or its check value does not
/// match (a wrong or corrupted package).
pub fn unpackage(pkg: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if pkg.len() < AONT_OVERHEAD {
        return None;
    }
    let (body, masked) = pkg.split_at(pkg.len() - KEY_LEN);
    let h = Sha3_256::digest(body);
    let key: Zeroizing<Vec<u8>> =
        Zeroizing::new(masked.iter().zip(h.iter()).map(|(m, h)| m ^ h).collect());
    let mut plain = Zeroizing::new(body.to_vec());
    keystream_xor(&key, &mut plain);
    let (m, check) = plain.split_at(plain.len() - CHECK_LEN);
    use subtle::ConstantTimeEq;
    if !bool::from(check.ct_eq(&check_value(m))) {
        return None;
    }
    Some(Zeroizing::new(m.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_any_change_is_detected() {
        let secret = b"terminal key-store master key, 32B".to_vec();
        let key = [9u8; 32];
        let p = package(&secret, &key);
        assert_eq!(p.len(), secret.len() + AONT_OVERHEAD);
        assert_eq!(unpackage(&p).unwrap().as_slice(), secret.as_slice());
        // The secret does not appear in the package.
        assert!(!p.windows(8).any(|w| w == &secret[..8]));
        for i in 0..p.len() {
            let mut bad = p.to_vec();
            bad[i] ^= 0x40;
            assert!(unpackage(&bad).is_none(), "byte {i}");
        }
        assert!(unpackage(&p[..AONT_OVERHEAD - 1]).is_none());
    }
}
