//! Pass layouts shared by both roles: ChaCha8 shuffles for block passes,
//! ChaCha8 random subsets for BICONF passes.

use super::{mask_stream, perm_stream};
use crate::reconcile::bits;
use crate::reconcile::schedule::{default_plan, PassPlan};
use crate::reconcile::ReconcileParams;
use zeroize::Zeroize;

/// The layout of one pass, identical on both sides.
///
/// Block passes: a ChaCha8 Fisher–Yates shuffle, blocks are consecutive runs
/// of the shuffled order. BICONF passes: block 0 is a ChaCha8 random subset,
/// block 1 its complement, each bisected in index order (the subset is what
/// must be random; the order inside a half only decides where a search
/// splits), so position `j` of block 0 is the `j`-th member of the subset and
/// no shuffled copy is needed: parities come straight from the packed string.
pub(super) struct Pass {
    pub(super) plan: PassPlan,
    /// BICONF subset over original indices (empty for block passes).
    pub(super) mask: Vec<u64>,
    /// BICONF: members of the subset in the words before word `w` (`n/64 + 1` entries).
    pub(super) rank: Vec<u32>,
    /// BICONF: subset size, i.e. the boundary between its two blocks.
    pub(super) m: usize,
    /// Block pass, Bob only: `perm[j]` is the original index at shuffled position `j`.
    pub(super) perm: Vec<u32>,
    /// Block pass, Bob only: `inv[i]` is the shuffled position of original index `i`.
    pub(super) inv: Vec<u32>,
    /// Block pass: the owner's bits in shuffled order.
    pub(super) pbits: Vec<u64>,
}

impl Pass {
    /// Lays out pass `p` over `src` (one byte 0/1 per bit, already checked).
    pub(super) fn new(plan: PassPlan, p: usize, src: &[u8], seed: u64, bob: bool) -> Self {
        let n = src.len();
        let mut pass = Pass {
            plan,
            mask: Vec::new(),
            rank: Vec::new(),
            m: 0,
            perm: Vec::new(),
            inv: Vec::new(),
            pbits: Vec::new(),
        };
        match plan {
            PassPlan::Blocks { .. } => {
                let mut rng = bits::stream_rng(seed, perm_stream(p));
                // Alice needs only the shuffled bits; Bob also the permutation
                // (leaf → original index) and its inverse (for corrections).
                let mut shuffled = Vec::new();
                let perm = bob.then_some(&mut pass.perm);
                bits::shuffle_with(perm, &mut shuffled, src, &mut rng);
                pass.pbits = bits::pack_unchecked(&shuffled);
                shuffled.zeroize();
                if bob {
                    bits::invert_into(&pass.perm, &mut pass.inv);
                }
            }
            PassPlan::Biconf => {
                pass.mask = bits::random_mask(n, &mut bits::stream_rng(seed, mask_stream(p)));
                pass.rank.reserve(pass.mask.len() + 1);
                let mut acc = 0u32;
                pass.rank.push(0);
                for w in &pass.mask {
                    acc += w.count_ones();
                    pass.rank.push(acc);
                }
                pass.m = acc as usize;
            }
        }
        pass
    }

    pub(super) fn num_blocks(&self, n: usize) -> usize {
        match self.plan {
            PassPlan::Blocks { k } => n.div_ceil(k),
            PassPlan::Biconf => 2,
        }
    }

    pub(super) fn bounds(&self, b: usize, n: usize) -> (usize, usize) {
        match self.plan {
            PassPlan::Blocks { k } => (b * k, ((b + 1) * k).min(n)),
            PassPlan::Biconf if b == 0 => (0, self.m),
            PassPlan::Biconf => (self.m, n),
        }
    }

    /// Block holding position `pos`.
    pub(super) fn block_at(&self, pos: usize) -> usize {
        match self.plan {
            PassPlan::Blocks { k } => pos / k,
            PassPlan::Biconf => usize::from(pos >= self.m),
        }
    }

    /// BICONF: original index of position `pos` (`pos < n`).
    pub(super) fn biconf_index(&self, pos: usize) -> usize {
        let inside = pos < self.m;
        let r = if inside { pos } else { pos - self.m };
        // Members (or non-members) before word w: rank[w] (or 64·w − rank[w]).
        let before = |w: usize| {
            if inside {
                self.rank[w] as usize
            } else {
                64 * w - self.rank[w] as usize
            }
        };
        // The last word w with before(w) <= r holds the wanted bit.
        let (mut w, mut hi) = (0usize, self.mask.len());
        while hi - w > 1 {
            let mid = (w + hi) / 2;
            if before(mid) <= r {
                w = mid;
            } else {
                hi = mid;
            }
        }
        let word = if inside { self.mask[w] } else { !self.mask[w] };
        64 * w + bits::select(word, r - before(w))
    }

    /// Parity of the owner's bits at positions `s..e` (inside one block);
    /// `own` is the owner's string in original order.
    pub(super) fn parity(&self, own: &[u64], s: usize, e: usize) -> u8 {
        match self.plan {
            PassPlan::Blocks { .. } => bits::range_parity(&self.pbits, s, e),
            PassPlan::Biconf => {
                if s >= e {
                    return 0;
                }
                let (a, z) = (self.biconf_index(s), self.biconf_index(e - 1));
                bits::masked_range_parity(own, &self.mask, s >= self.m, a, z + 1)
            }
        }
    }

    /// Original index at position `pos`.
    pub(super) fn index_at(&self, pos: usize) -> usize {
        match self.plan {
            PassPlan::Blocks { .. } => self.perm[pos] as usize,
            PassPlan::Biconf => self.biconf_index(pos),
        }
    }

    /// Whether the first message carries block `b`'s parity (the others follow
    /// from the total parity, known once pass 1's parities are).
    pub(super) fn sends_root(&self, p: usize, b: usize, n: usize) -> bool {
        p == 0 || b + 1 < self.num_blocks(n)
    }
}

/// The passes for `n` bits (none for an empty string: nothing to disclose).
pub(super) fn make_passes(src: &[u8], params: &ReconcileParams, bob: bool) -> Vec<Pass> {
    if src.is_empty() {
        return Vec::new();
    }
    default_plan(src.len(), params.qber)
        .into_iter()
        .enumerate()
        .map(|(p, plan)| Pass::new(plan, p, src, params.shuffle_seed, bob))
        .collect()
}
