//! Intentional puncturing: which positions of a frame to puncture.
//!
//! A punctured position starts with LLR 0 and must be recovered from its
//! checks. A degree-2 position that shares no check with another punctured
//! one is recovered in the first iteration from either of its two checks,
//! whose other neighbours all carry channel information ("untainted"
//! puncturing: D. Elkouss, J. Martinez-Mateo, V. Martin, "Untainted
//! puncturing for irregular low-density parity-check codes", IEEE Wireless
//! Commun. Lett. 1(6), 2012; degree-2 nodes as the preferred class: J. Ha,
//! J. Kim, S. W. McLaughlin, "Rate-compatible puncturing of low-density
//! parity-check codes", IEEE Trans. Inf. Theory 50(11), 2004).
//!
//! On 256k-r070 at Q = 5 % (frames of 249 036 key bits, 3602 punctured and
//! 9506 shortened, f = 1.055, sum-product, 150 iterations) random
//! puncturing failed 12 of 200 frames and untainted degree-2 puncturing 5;
//! at f = 1.05, 21 against 7 of 100 (`docs/ldpc-long-codes.md`,
//! "Session 18").

use super::codes::QcCode;

/// Reorders `slots` (a permutation of the code's positions) so that its
/// first `p` entries are, as far as they go, untainted degree-2 positions:
/// walking `slots` in order, a degree-2 position is taken when neither of
/// its checks already has a taken neighbour. Taken positions move to the
/// front in the order found; every other position keeps its relative order,
/// so when fewer than `p` qualify the rest of the first `p` are the leading
/// ones of the original order. Positions outside the code are left alone
/// (they sort after the taken ones like any other).
pub fn untainted_degree2_first(code: &QcCode, slots: &mut [u32], p: usize) {
    let z = code.z();
    let column = code.column_entries();
    let mut tainted = vec![false; code.m()];
    let mut taken = vec![false; slots.len()];
    let mut front = Vec::with_capacity(p);
    for (k, &v) in slots.iter().enumerate() {
        if front.len() == p {
            break;
        }
        let v = v as usize;
        let Some(entries) = column.get(v / z) else {
            continue;
        };
        if entries.len() != 2 {
            continue;
        }
        let t = v % z;
        let checks = entries.iter().map(|&(i, s)| code.check_of(i, s, t));
        if checks.clone().any(|c| tainted[c]) {
            continue;
        }
        checks.for_each(|c| tainted[c] = true);
        taken[k] = true;
        front.push(v as u32);
    }
    let rest: Vec<u32> = slots
        .iter()
        .zip(&taken)
        .filter(|&(_, &t)| !t)
        .map(|(&v, _)| v)
        .collect();
    let (head, tail) = slots.split_at_mut(front.len());
    head.copy_from_slice(&front);
    tail.copy_from_slice(&rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::ldpc::codes::{Length, Rate};
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Checks of position `v` (as the syndrome computes them).
    fn checks_of(code: &QcCode, v: usize) -> Vec<usize> {
        let z = code.z();
        let mut out = Vec::new();
        for i in 0..code.block_rows() {
            for (j, s) in code.row(i) {
                if j == v / z {
                    out.push(i * z + (v % z + z - s % z) % z);
                }
            }
        }
        out
    }

    fn shuffled(n: usize, seed: u64) -> Vec<u32> {
        let mut slots: Vec<u32> = (0..n as u32).collect();
        slots.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        slots
    }

    /// `after` is a permutation of `before` (all n positions) whose entries
    /// past the first `front` are the others in their original order.
    fn assert_front_then_rest_in_order(before: &[u32], after: &[u32], front: usize) {
        let mut sorted = after.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..before.len() as u32).collect::<Vec<_>>());
        let taken: std::collections::HashSet<u32> = after[..front].iter().copied().collect();
        let others: Vec<u32> = before
            .iter()
            .copied()
            .filter(|v| !taken.contains(v))
            .collect();
        assert_eq!(&after[front..], &others[..]);
    }

    #[test]
    fn front_positions_have_degree_two_and_share_no_check() {
        let code = QcCode::ieee80211n(Length::N1944, Rate::R12);
        let before = shuffled(code.n(), 5);
        let mut slots = before.clone();
        let p = 60;
        untainted_degree2_first(&code, &mut slots, p);
        let mut seen = vec![0u32; code.m()];
        for &v in &slots[..p] {
            let cs = checks_of(&code, v as usize);
            assert_eq!(cs.len(), 2, "position {v} has degree {}", cs.len());
            for c in cs {
                seen[c] += 1;
            }
        }
        assert!(
            seen.iter().all(|&k| k <= 1),
            "a check has two punctured neighbours"
        );
        assert_front_then_rest_in_order(&before, &slots, p);
    }

    #[test]
    fn falls_back_to_the_original_order_when_too_few_qualify() {
        // Rate 1/2, n = 648: 11 degree-2 block columns of 27 on a
        // staircase, so at most about half of them can be untainted.
        let code = QcCode::ieee80211n(Length::N648, Rate::R12);
        let before = shuffled(code.n(), 9);
        let mut slots = before.clone();
        let p = 300;
        untainted_degree2_first(&code, &mut slots, p);
        let untainted = slots
            .iter()
            .take_while(|&&v| checks_of(&code, v as usize).len() == 2)
            .count();
        assert!(untainted > 0 && untainted < p, "{untainted} untainted");
        assert_front_then_rest_in_order(&before, &slots, untainted);
    }

    #[test]
    fn nothing_to_puncture_leaves_the_order() {
        let code = QcCode::ieee80211n(Length::N648, Rate::R34);
        let before = shuffled(code.n(), 2);
        let mut slots = before.clone();
        untainted_degree2_first(&code, &mut slots, 0);
        assert_eq!(slots, before);
    }
}
