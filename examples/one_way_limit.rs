//! Prints the finite-length limit of one-way reconciliation on BSC(Q)
//! (`qwave::reconcile::limit`): the best efficiency f* any one-message
//! reconciler can reach at a frame error rate, per block length, and the
//! shortest block on which f ≤ 1.05 is possible at all.
//!
//! `cargo run --release --example one_way_limit [FER]` (default 1e-3).

use qwave::reconcile::limit::{
    one_way_efficiency_limit, one_way_leak_normal_approximation, shortest_block_for_efficiency,
};

fn main() {
    let fer: f64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("FER must be a number, e.g. 1e-3"))
        .unwrap_or(1e-3);
    let lengths = [648u64, 1944, 16_384, 65_536, 262_144, 1 << 20];
    println!("one-way limit f*(n, Q, FER = {fer:e}) = m*/(n·h2(Q))");
    print!("{:>6}", "Q");
    for n in lengths {
        print!("{n:>10}");
    }
    println!("{:>22}", "shortest n for 1.05");
    for q in [0.01, 0.02, 0.03, 0.05, 0.07, 0.10] {
        print!("{:>5.0}%", q * 100.0);
        for n in lengths {
            print!("{:>10.4}", one_way_efficiency_limit(n, q, fer));
        }
        match shortest_block_for_efficiency(q, fer, 1.05) {
            Some(n) => println!("{n:>22}"),
            None => println!("{:>22}", "> 2^26"),
        }
    }
    if (fer - 1e-3).abs() < 1e-12 {
        let (n, q) = (65_536u64, 0.05);
        let approx = one_way_leak_normal_approximation(n, q, 3.090_232)
            / (n as f64 * qwave::reconcile::binary_entropy(q));
        println!("normal approximation at n = {n}, Q = 5 %: {approx:.4}");
    }
}
