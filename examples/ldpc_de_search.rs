//! Density-evolution search for block profiles with four variable degrees
//! {2, 3, a, b} on a base matrix of `COLS` block columns and `ROWS` block
//! rows (the design of the n = 65536 family, `docs/ldpc-long-codes.md`).
//!
//! `cargo run --release --example ldpc_de_search -- COLS ROWS [ROWS ...]`
//! (`QWAVE_DE_START=n2,n3,na,nb,a,b` sets the start profile;
//! `QWAVE_DE_MAX_N2` and `QWAVE_DE_MAX_DEG` lift the caps below, DE only)
//!
//! Moves: one block column (or 4 while that still improves) from any degree
//! class to any other, and a or b ± 1 (3 < a < b ≤ ROWS; n₂ ≤ ROWS − 1 for
//! the staircase). Each candidate costs one DE run at p = 1.002·p*(best):
//! of those that converge there, the one converging in fewest iterations
//! (steepest ascent) is taken and its threshold found by bisection. Grid
//! Δ = 0.25 while searching, Δ = 0.125 for the final threshold; check
//! degrees as concentrated as QC-PEG makes them.

use qwave::reconcile::ldpc::de::{threshold_efficiency, DensityEvolution, Ensemble};

/// (n2, n3, na, nb, a, b)
type Profile = [usize; 6];

fn degrees(p: &Profile) -> Vec<(usize, usize)> {
    vec![(2, p[0]), (3, p[1]), (p[4], p[2]), (p[5], p[3])]
}

/// Most degree-2 columns allowed: the staircase's rows − 1, or
/// `QWAVE_DE_MAX_N2` (such profiles can only be built with
/// `peg::Layout::Random`).
fn max_degree2(rows: usize) -> usize {
    std::env::var("QWAVE_DE_MAX_N2")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(rows - 1)
}

fn valid(p: &Profile, cols: usize, rows: usize) -> bool {
    p[0] + p[1] + p[2] + p[3] == cols
        && p[0] <= max_degree2(rows)
        && 3 < p[4]
        && p[4] < p[5]
        && p[5] <= max_degree(rows)
}

/// Largest variable degree allowed: `ROWS` (one circulant per block row),
/// or `QWAVE_DE_MAX_DEG` (DE only; such columns need two circulants in
/// some block row).
fn max_degree(rows: usize) -> usize {
    std::env::var("QWAVE_DE_MAX_DEG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(rows)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let Some((&cols, rows_list)) = args.split_first() else {
        eprintln!("usage: ldpc_de_search COLS ROWS [ROWS ...]");
        std::process::exit(2);
    };
    let mut coarse = DensityEvolution::new(0.25, 25.0);
    let mut fine = DensityEvolution::new(0.125, 25.0);
    for &rows in rows_list {
        let n2 = rows - 1;
        let (a, b) = (8.min(rows - 1), 20.min(rows));
        let na = cols / 10;
        let nb = cols / 20;
        let mut best: Profile = [n2, cols - n2 - na - nb, na, nb, a, b];
        // QWAVE_DE_START="n2,n3,na,nb,a,b" overrides the start profile.
        if let Ok(v) = std::env::var("QWAVE_DE_START") {
            let v: Vec<usize> = v.split(',').filter_map(|x| x.trim().parse().ok()).collect();
            if let Ok(p) = <Profile>::try_from(v) {
                if valid(&p, cols, rows) {
                    best = p;
                }
            }
        }
        let ens = Ensemble::from_block_profile(rows, &degrees(&best));
        let mut best_p = coarse.threshold_between(&ens, 1e-4, 0.5, 2e-5);
        println!(
            "rows {rows}: R = {:.4}, start {:?} p* = {best_p:.5}",
            ens.rate(),
            degrees(&best)
        );
        let mut step = 4usize;
        loop {
            let mut cands: Vec<Profile> = Vec::new();
            for from in 0..4 {
                for to in 0..4 {
                    if from != to && best[from] >= step {
                        let mut c = best;
                        c[from] -= step;
                        c[to] += step;
                        cands.push(c);
                    }
                }
            }
            for (i, delta) in [(4, -1i64), (4, 1), (5, -1), (5, 1)] {
                let mut c = best;
                c[i] = (c[i] as i64 + delta) as usize;
                cands.push(c);
            }
            let test_p = best_p * 1.002 + 1e-5;
            let mut taken: Option<(usize, Profile, Ensemble)> = None;
            for c in cands.into_iter().filter(|c| valid(c, cols, rows)) {
                let ens = Ensemble::from_block_profile(rows, &degrees(&c));
                let run = coarse.run(&ens, test_p, 2000, 1e-7);
                if run.converged && taken.as_ref().is_none_or(|t| run.iterations < t.0) {
                    taken = Some((run.iterations, c, ens));
                }
            }
            match taken {
                Some((_, c, ens)) => {
                    best = c;
                    best_p = coarse.threshold_between(&ens, test_p, test_p + 0.02, 2e-5);
                    println!(
                        "  {:?} p* = {best_p:.5} λ2ρ'(1) = {:.3}",
                        degrees(&best),
                        ens.stability_product()
                    );
                }
                None if step > 1 => step = 1,
                None => break,
            }
        }
        let ens = Ensemble::from_block_profile(rows, &degrees(&best));
        let p = fine.threshold_between(&ens, 1e-4, 0.5, 2e-5);
        println!(
            "rows {rows} best: profile {:?}, R = {:.4}, λ2ρ'(1) = {:.3}, p* = {p:.5} (Δ 0.125), f* = {:.4}",
            degrees(&best),
            ens.rate(),
            ens.stability_product(),
            threshold_efficiency(ens.rate(), p)
        );
    }
}
