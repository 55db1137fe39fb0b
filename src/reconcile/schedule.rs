//! Cascade pass schedule: block sizes per pass, from the public error estimate.
//!
//! Follows the optimised schedule of Martinez-Mateo, Pacher, Peev, Ciurana and
//! Martin, "Demystifying the information reconciliation protocol Cascade",
//! QIC 15 (2015), arXiv:1407.3257, §5:
//!
//! * α = log2(1/Q) − 1/2,
//! * pass 1: k1 = min(2^⌈α⌉, n/2),
//! * pass 2: k2 = min(2^⌈(α + 12)/2⌉, n/2) — their improvement over k2 = 4·k1
//!   (kept as [`K2Rule::FourTimesK1`] for comparison),
//! * pass 3: k3 = min(4096, n/2),
//! * passes i ≥ 4: k_i = n/2. A pass of two halves of which one parity is
//!   inferred from the total parity (known from pass 1) is exactly BICONF
//!   (Brassard & Salvail 1993, §5): Alice discloses the parity of one random
//!   subset, and an odd result is bisected on the subset and its complement.
//!   We draw the subset as n independent fair bits, as BICONF does.
//!
//! [`CASCADE_PASSES`] = 14 passes in all (3 block passes + 11 BICONF rounds),
//! the paper's "Cascade opt. (8)".

/// Total number of passes (3 block passes + 11 BICONF passes).
pub const CASCADE_PASSES: usize = 14;

/// Block length of pass 3 (capped at n/2).
pub const K3: usize = 4096;

/// How the second block size is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum K2Rule {
    /// k2 = 2^⌈(α + 12)/2⌉ (Martinez-Mateo et al. 2015, the default).
    Demystified,
    /// k2 = 4·k1 (the classic choice).
    FourTimesK1,
}

/// One pass of the schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassPlan {
    /// Shuffle, then split into consecutive blocks of `k` bits (the last may be shorter).
    Blocks {
        /// Block length in bits.
        k: usize,
    },
    /// BICONF: one random subset (each bit with probability 1/2) and its complement.
    Biconf,
}

/// α = log2(1/Q) − 1/2 with Q clamped to [1e-6, 0.5] (NaN counts as 0.5).
fn alpha(qber: f64) -> f64 {
    let q = if qber.is_nan() {
        0.5
    } else {
        qber.clamp(1e-6, 0.5)
    };
    (1.0 / q).log2() - 0.5
}

/// 2^⌈x⌉ capped to `cap` (and at least 1).
fn pow2_ceil_capped(x: f64, cap: usize) -> usize {
    let e = x.ceil().clamp(0.0, 40.0) as u32;
    (1usize << e).min(cap).max(1)
}

/// Block sizes (k1, k2) of the two block passes for `n` bits at error rate `qber`.
pub fn block_sizes(n: usize, qber: f64, rule: K2Rule) -> (usize, usize) {
    let a = alpha(qber);
    let cap = (n / 2).max(1);
    let k1 = pow2_ceil_capped(a, cap);
    let k2 = match rule {
        K2Rule::Demystified => pow2_ceil_capped((a + 12.0) / 2.0, cap),
        K2Rule::FourTimesK1 => (4 * k1).min(cap),
    };
    (k1, k2)
}

/// The full schedule: three block passes (k1, k2, [`K3`]), then BICONF
/// passes up to `passes` in all (at least 3).
pub fn plan(n: usize, qber: f64, rule: K2Rule, passes: usize) -> Vec<PassPlan> {
    let (k1, k2) = block_sizes(n, qber, rule);
    let k3 = K3.min(n / 2).max(1);
    let mut v = vec![
        PassPlan::Blocks { k: k1 },
        PassPlan::Blocks { k: k2 },
        PassPlan::Blocks { k: k3 },
    ];
    v.resize(passes.max(3), PassPlan::Biconf);
    v
}

/// The schedule Cascade uses: [`K2Rule::Demystified`], [`CASCADE_PASSES`] passes.
pub fn default_plan(n: usize, qber: f64) -> Vec<PassPlan> {
    plan(n, qber, K2Rule::Demystified, CASCADE_PASSES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_block_sizes() {
        // Q = 2 %: α = log2(50) − 0.5 ≈ 5.14 → k1 = 64, k2 = 2^⌈8.57⌉ = 512.
        assert_eq!(block_sizes(16384, 0.02, K2Rule::Demystified), (64, 512));
        assert_eq!(block_sizes(16384, 0.02, K2Rule::FourTimesK1), (64, 256));
        // Q = 10 %: α ≈ 2.82 → k1 = 8, k2 = 2^⌈7.41⌉ = 256.
        assert_eq!(block_sizes(16384, 0.10, K2Rule::Demystified), (8, 256));
        // Capped at n/2 for short strings and tiny Q.
        assert_eq!(block_sizes(100, 1e-9, K2Rule::Demystified), (50, 50));
        assert_eq!(block_sizes(1, 0.5, K2Rule::Demystified).0, 1);
    }

    #[test]
    fn plan_has_biconf_tail() {
        let p = default_plan(16384, 0.05);
        assert_eq!(p.len(), CASCADE_PASSES);
        assert_eq!(p[2], PassPlan::Blocks { k: 4096 });
        assert!(p[3..].iter().all(|x| *x == PassPlan::Biconf));
        assert_eq!(default_plan(100, 0.05)[2], PassPlan::Blocks { k: 50 });
    }
}
