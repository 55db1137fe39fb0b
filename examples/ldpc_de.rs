//! Density-evolution design of the long LDPC family's degree profiles.
//!
//! `cargo run --release --example ldpc_de [-- NAME ...]`: prints the BSC
//! threshold p* (discretised sum-product DE, `qwave::reconcile::ldpc::de`)
//! and the efficiency it implies, f* = (1 − R)/h2(p*), of the regular (3,6)
//! ensemble (check: p* ≈ 0.084, Richardson & Urbanke 2001) and of each named
//! stored long code's block profile; then, for the codes named (default
//! `r083 r075 r067`), a coordinate search over 64-column profiles
//! {2: n₂, 3: n₃, d: n_d} (n₂ ≤ rows − 1 for the staircase, d ≤ rows) that
//! maximises p*, checked at the end with a finer grid. Search grid Δ = 0.25,
//! final Δ = 0.125 (which gives (3,6) p* = 0.0839), saturation ±25.

use qwave::reconcile::ldpc::de::{threshold_efficiency, DensityEvolution, Ensemble};
use qwave::reconcile::ldpc::long::LONG_CODES;
use std::collections::HashMap;

type Profile = (usize, usize, usize, usize); // (n2, n3, nd, d)

fn profile_vec(p: Profile) -> Vec<(usize, usize)> {
    let (n2, n3, nd, d) = p;
    vec![(2, n2), (3, n3), (d, nd)]
}

fn main() {
    let names: Vec<String> = std::env::args().skip(1).collect();
    let names: Vec<String> = if names.is_empty() {
        vec!["r083".into(), "r075".into(), "r067".into()]
    } else {
        names
    };
    let mut fine = DensityEvolution::new(0.125, 25.0);
    let mut coarse = DensityEvolution::new(0.25, 25.0);
    let reg = Ensemble::from_nodes(&[(3, 2)], &[(6, 1)]);
    let p = fine.threshold(&reg, 1e-5);
    println!(
        "regular (3,6): p* = {p:.5} (literature 0.084), f* = {:.4}",
        threshold_efficiency(0.5, p)
    );
    for lc in LONG_CODES
        .iter()
        .filter(|c| names.iter().any(|n| n == c.name))
    {
        let ens = Ensemble::from_block_profile(lc.rows, lc.degrees);
        let p = fine.threshold(&ens, 5e-5);
        println!(
            "stored {}: profile {:?}, R = {:.4}, λ2ρ'(1) = {:.3}, p* = {:.5}, f* = {:.4}",
            lc.name,
            lc.degrees,
            ens.rate(),
            ens.stability_product(),
            p,
            threshold_efficiency(ens.rate(), p)
        );
    }
    for lc in LONG_CODES
        .iter()
        .filter(|c| names.iter().any(|n| n == c.name))
    {
        let rows = lc.rows;
        let cols: usize = lc.degrees.iter().map(|d| d.1).sum();
        let mut cache: HashMap<Profile, f64> = HashMap::new();
        let mut eval = |p: Profile, de: &mut DensityEvolution| -> f64 {
            *cache.entry(p).or_insert_with(|| {
                let ens = Ensemble::from_block_profile(rows, &profile_vec(p));
                de.threshold(&ens, 2e-5)
            })
        };
        // Start from the stored profile's shape.
        let n2 = lc.degrees.iter().find(|d| d.0 == 2).map_or(0, |d| d.1);
        let (d, nd) = lc
            .degrees
            .iter()
            .map(|&(d, c)| (d, c))
            .max()
            .unwrap_or((3, 0));
        let mut best: Profile = (n2, cols - n2 - nd, nd, d);
        let mut best_p = eval(best, &mut coarse);
        println!("{}: start {:?} p* = {:.5}", lc.name, best, best_p);
        loop {
            let (n2, n3, nd, d) = best;
            let mut cands: Vec<Profile> = Vec::new();
            let ok = |p: Profile| p.0 < rows && p.3 <= rows && p.3 > 3 && p.0 + p.1 + p.2 == cols;
            for (a, b) in [(1i64, -1i64), (-1, 1)] {
                // n2 ± 1 against n3; nd ± 1 against n3; n2 ± 1 against nd.
                let c1 = (n2 as i64 + a, n3 as i64 + b, nd as i64, d as i64);
                let c2 = (n2 as i64, n3 as i64 + b, nd as i64 + a, d as i64);
                let c3 = (n2 as i64 + a, n3 as i64, nd as i64 + b, d as i64);
                let c4 = (n2 as i64, n3 as i64, nd as i64, d as i64 + a);
                for c in [c1, c2, c3, c4] {
                    if c.0 >= 0 && c.1 >= 0 && c.2 >= 0 {
                        let p = (c.0 as usize, c.1 as usize, c.2 as usize, c.3 as usize);
                        if ok(p) {
                            cands.push(p);
                        }
                    }
                }
            }
            let mut improved = false;
            for c in cands {
                let p = eval(c, &mut coarse);
                if p > best_p + 1e-5 {
                    best = c;
                    best_p = p;
                    improved = true;
                }
            }
            println!("  {:?} p* = {:.5} (coarse)", best, best_p);
            if !improved {
                break;
            }
        }
        let ens = Ensemble::from_block_profile(rows, &profile_vec(best));
        let p = fine.threshold(&ens, 5e-5);
        println!(
            "{} best: profile {:?}, R = {:.4}, λ2ρ'(1) = {:.3}, p* = {:.5}, f* = {:.4}",
            lc.name,
            profile_vec(best),
            ens.rate(),
            ens.stability_product(),
            p,
            threshold_efficiency(ens.rate(), p)
        );
    }
}
