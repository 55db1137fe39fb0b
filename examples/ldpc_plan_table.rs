//! Diagnostic: the mother code, puncturing and shortening the hard plan
//! picks for one frame of each long family at each Q, with the frame's
//! share of n and the efficiency its first attempt is sized for.
//!
//! `cargo run --release --example ldpc_plan_table -- [n ...]` (default:
//! 65536 262144 1048576 4194304).

use qwave::reconcile::binary_entropy;
use qwave::reconcile::ldpc::plan::Plan;

fn main() {
    let ns: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let ns = if ns.is_empty() {
        vec![1 << 16, 1 << 18, 1 << 20, 1 << 22]
    } else {
        ns
    };
    println!("n | Q | code | x/n | p/n | p/m | s/n | planned f");
    for len in ns {
        for q in (8..=40).map(|k| f64::from(k) * 0.0025) {
            // The largest block (at most 95 % of n) planned as one frame.
            let mut bits = len * 95 / 100;
            while Plan::new(bits, q, 0).frames.len() > 1 {
                bits -= len / 100;
            }
            let plan = Plan::new(bits, q, 0);
            let (fr, n, m) = (&plan.frames[0], plan.code.n(), plan.code.m());
            let x = fr.key.len();
            let f = plan.syndrome_leak() as f64 / (x as f64 * binary_entropy(q));
            println!(
                "{len} | {:.2} % | {} | {:.3} | {:.4} | {:.3} | {:.4} | {f:.4}",
                q * 100.0,
                plan.code.name(),
                x as f64 / n as f64,
                fr.p as f64 / n as f64,
                fr.p as f64 / m as f64,
                fr.s as f64 / n as f64,
            );
        }
    }
}
