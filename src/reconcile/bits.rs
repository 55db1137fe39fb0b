//! Packed bit strings (64 bits per `u64`, bit `i` at word `i / 64`, position
//! `i % 64`) and the seeded permutations Cascade shuffles with.

use rand::RngCore;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Words needed for `n` bits.
pub(crate) fn words_for(n: usize) -> usize {
    n.div_ceil(64)
}

/// Packs one-byte-per-bit input. Returns the index and value of the first byte
/// that is neither 0 nor 1 as the error.
pub(crate) fn pack(bits: &[u8]) -> Result<Vec<u64>, (usize, u8)> {
    let mut w = vec![0u64; words_for(bits.len())];
    for (wi, chunk) in bits.chunks(64).enumerate() {
        let mut word = 0u64;
        for (bi, eight) in chunk.chunks(8).enumerate() {
            let mut le = [0u8; 8];
            le[..eight.len()].copy_from_slice(eight);
            let x = u64::from_le_bytes(le);
            if x & 0xfefe_fefe_fefe_fefe != 0 {
                let j = eight.iter().position(|&b| b > 1).unwrap_or(0);
                return Err((wi * 64 + bi * 8 + j, eight[j]));
            }
            // Gather the low bit of each byte into one byte, byte 0 → bit 0.
            let byte = (x.wrapping_mul(0x8040_2010_0804_0201) >> 56) as u8;
            word |= u64::from(byte.reverse_bits()) << (bi * 8);
        }
        w[wi] = word;
    }
    Ok(w)
}

/// Unpacks `n` bits into one byte per bit.
pub(crate) fn unpack(w: &[u64], n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    for (chunk, &word) in out.chunks_mut(64).zip(w) {
        for (j, b) in chunk.iter_mut().enumerate() {
            *b = ((word >> j) & 1) as u8;
        }
    }
    out
}

/// Bit `i`.
#[inline]
pub(crate) fn get(w: &[u64], i: usize) -> u8 {
    ((w[i / 64] >> (i % 64)) & 1) as u8
}

/// Flips bit `i`.
#[inline]
pub(crate) fn flip(w: &mut [u64], i: usize) {
    w[i / 64] ^= 1 << (i % 64);
}

/// Parity of bits `s..e` (0 for an empty range).
#[inline]
pub(crate) fn range_parity(w: &[u64], s: usize, e: usize) -> u8 {
    if s >= e {
        return 0;
    }
    let (ws, we) = (s / 64, (e - 1) / 64);
    let lo = !0u64 << (s % 64);
    let hi = !0u64 >> (63 - (e - 1) % 64);
    if ws == we {
        return ((w[ws] & lo & hi).count_ones() & 1) as u8;
    }
    let mut acc = (w[ws] & lo) ^ (w[we] & hi);
    for x in &w[ws + 1..we] {
        acc ^= x;
    }
    (acc.count_ones() & 1) as u8
}

/// Parity of `own & sel` over bits `s..e`, where `sel` is `mask`, or `!mask`
/// if `invert` (0 for an empty range).
pub(crate) fn masked_range_parity(
    own: &[u64],
    mask: &[u64],
    invert: bool,
    s: usize,
    e: usize,
) -> u8 {
    if s >= e {
        return 0;
    }
    let flip = if invert { !0u64 } else { 0 };
    let (ws, we) = (s / 64, (e - 1) / 64);
    let lo = !0u64 << (s % 64);
    let hi = !0u64 >> (63 - (e - 1) % 64);
    let word = |w: usize| own[w] & (mask[w] ^ flip);
    if ws == we {
        return ((word(ws) & lo & hi).count_ones() & 1) as u8;
    }
    let mut acc = (word(ws) & lo) ^ (word(we) & hi);
    for w in ws + 1..we {
        acc ^= word(w);
    }
    (acc.count_ones() & 1) as u8
}

/// Position of the `r`-th (0-based) set bit of `w` (64 if there is none).
pub(crate) fn select(mut w: u64, r: usize) -> usize {
    for _ in 0..r {
        w &= w.wrapping_sub(1);
    }
    w.trailing_zeros() as usize
}

/// Parity of `a & b` over whole words (both zero-padded past the last bit).
pub(crate) fn and_parity(a: &[u64], b: &[u64]) -> u8 {
    let acc = a.iter().zip(b).fold(0u64, |acc, (x, y)| acc ^ (x & y));
    (acc.count_ones() & 1) as u8
}

/// Parity of all bits (zero-padded words).
pub(crate) fn parity(a: &[u64]) -> u8 {
    let acc = a.iter().fold(0u64, |acc, x| acc ^ x);
    (acc.count_ones() & 1) as u8
}

/// The ChaCha8 stream for one use of the shared seed: `stream` separates passes
/// and purposes so both sides regenerate any of them independently.
pub(crate) fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Fisher–Yates shuffle of `0..n` into `perm` (reused buffer). Draws use
/// Lemire's multiply-shift on 32 random bits without rejection: the bias is
/// below n/2^32, irrelevant for a public permutation, and keeps the stream
/// consumption fixed so both sides stay in lock step.
#[cfg(test)]
pub(crate) fn shuffle_into(perm: &mut Vec<u32>, n: usize, rng: &mut ChaCha8Rng) {
    perm.clear();
    perm.extend(0..n as u32);
    for i in (1..n).rev() {
        let j = ((u64::from(rng.next_u32()) * (i as u64 + 1)) >> 32) as usize;
        perm.swap(i, j);
    }
}

/// Shuffles the bytes `src` into `vals` with the same Fisher–Yates draws as
/// [`shuffle_into`], so `vals[j] = src[perm[j]]` for the permutation `perm`
/// that [`shuffle_into`] makes from the same stream. If `perm` is given it
/// receives that permutation too (shuffled alongside); otherwise only the
/// L1-resident byte array is touched.
pub(crate) fn shuffle_with(
    perm: Option<&mut Vec<u32>>,
    vals: &mut Vec<u8>,
    src: &[u8],
    rng: &mut ChaCha8Rng,
) {
    let n = src.len();
    vals.clear();
    vals.extend_from_slice(src);
    match perm {
        // Up to 2^16 bits the permutation is shuffled as u16 (half the cache
        // footprint of u32, which dominates the cost) and widened after.
        Some(perm) if n <= 1 << 16 => {
            let mut narrow: Vec<u16> = (0..n).map(|i| i as u16).collect();
            for i in (1..n).rev() {
                let j = ((u64::from(rng.next_u32()) * (i as u64 + 1)) >> 32) as usize;
                narrow.swap(i, j);
            }
            perm.clear();
            perm.extend(narrow.iter().map(|&x| u32::from(x)));
            for (v, &p) in vals.iter_mut().zip(&narrow) {
                *v = src[p as usize];
            }
        }
        Some(perm) => {
            perm.clear();
            perm.extend(0..n as u32);
            for i in (1..n).rev() {
                let j = ((u64::from(rng.next_u32()) * (i as u64 + 1)) >> 32) as usize;
                perm.swap(i, j);
                vals.swap(i, j);
            }
        }
        None => {
            for i in (1..n).rev() {
                let j = ((u64::from(rng.next_u32()) * (i as u64 + 1)) >> 32) as usize;
                vals.swap(i, j);
            }
        }
    }
}

/// Packs bytes already known to be 0 or 1.
pub(crate) fn pack_unchecked(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks(64)
        .map(|chunk| {
            chunk.chunks(8).enumerate().fold(0u64, |word, (bi, eight)| {
                let mut le = [0u8; 8];
                le[..eight.len()].copy_from_slice(eight);
                let x = u64::from_le_bytes(le) & 0x0101_0101_0101_0101;
                let byte = (x.wrapping_mul(0x8040_2010_0804_0201) >> 56) as u8;
                word | (u64::from(byte.reverse_bits()) << (bi * 8))
            })
        })
        .collect()
}

/// `n` independent fair random bits, zero-padded in the last word.
pub(crate) fn random_mask(n: usize, rng: &mut ChaCha8Rng) -> Vec<u64> {
    let mut m: Vec<u64> = (0..words_for(n)).map(|_| rng.next_u64()).collect();
    if !n.is_multiple_of(64) {
        if let Some(last) = m.last_mut() {
            *last &= (1u64 << (n % 64)) - 1;
        }
    }
    m
}

/// Inverse permutation: `inv[perm[j]] = j`.
pub(crate) fn invert_into(perm: &[u32], inv: &mut Vec<u32>) {
    inv.clear();
    inv.resize(perm.len(), 0);
    for (j, &p) in perm.iter().enumerate() {
        inv[p as usize] = j as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_parity_matches_naive() {
        let mut rng = stream_rng(7, 0);
        let n = 300;
        let w = random_mask(n, &mut rng);
        for s in 0..n {
            for e in s..=n.min(s + 140) {
                let naive = (s..e).fold(0u8, |a, i| a ^ get(&w, i));
                assert_eq!(range_parity(&w, s, e), naive, "{s}..{e}");
            }
        }
    }

    #[test]
    fn shuffle_is_a_permutation_and_seeded() {
        let (mut a, mut b, mut inv) = (Vec::new(), Vec::new(), Vec::new());
        shuffle_into(&mut a, 1000, &mut stream_rng(1, 3));
        shuffle_into(&mut b, 1000, &mut stream_rng(1, 3));
        assert_eq!(a, b);
        invert_into(&a, &mut inv);
        for (j, &p) in a.iter().enumerate() {
            assert_eq!(inv[p as usize] as usize, j);
        }
        shuffle_into(&mut b, 1000, &mut stream_rng(1, 4));
        assert_ne!(a, b);
    }

    #[test]
    fn shuffle_with_moves_values_along() {
        for n in [500usize, (1 << 16) + 3] {
            shuffle_with_case(n);
        }
    }

    fn shuffle_with_case(n: usize) {
        let src: Vec<u8> = (0..n).map(|i| (i % 7 == 0) as u8).collect();
        let (mut perm, mut vals, mut plain) = (Vec::new(), Vec::new(), Vec::new());
        shuffle_with(Some(&mut perm), &mut vals, &src, &mut stream_rng(9, 2));
        let mut vals_only = Vec::new();
        shuffle_with(None, &mut vals_only, &src, &mut stream_rng(9, 2));
        assert_eq!(vals_only, vals);
        shuffle_into(&mut plain, src.len(), &mut stream_rng(9, 2));
        assert_eq!(perm, plain);
        for (j, &p) in perm.iter().enumerate() {
            assert_eq!(vals[j], src[p as usize]);
        }
        assert_eq!(pack_unchecked(&vals), pack(&vals).unwrap());
    }

    #[test]
    fn pack_rejects_non_bits_and_round_trips() {
        assert_eq!(pack(&[0, 1, 2]), Err((2, 2)));
        let v: Vec<u8> = (0..130).map(|i| (i % 3 == 0) as u8).collect();
        assert_eq!(unpack(&pack(&v).unwrap(), v.len()), v);
    }
}
