//! Diagnostic: frame error rate of every LDPC mother code at its native rate
//! (no puncturing, no shortening) on a binary symmetric channel BSC(p), with
//! the production layered min-sum decoder and a flooding sum-product
//! reference (tanh rule, f64; Gallager 1963 / MacKay 1999), next to the
//! efficiency f = (1 − R)/h2(p) each point corresponds to.
//!
//! `cargo run --release --example ldpc_native_fer -- [frames] [alpha|spa]`
//! (defaults 200 frames, the production factor `plan::decoder_alpha` of each
//! code; `spa`: the layered decoder with its sum-product check rule). Environment: `QWAVE_CODES`
//! (comma-separated name parts, e.g. `r050,R=5/6`), `QWAVE_F` (efficiencies),
//! `QWAVE_ITERS` (min-sum iterations), `QWAVE_SPA` (also run sum-product on
//! up to 50 frames). Seeded (ChaCha8).

use qwave::reconcile::binary_entropy;
use qwave::reconcile::ldpc::codes::{Length, QcCode, Rate};
use qwave::reconcile::ldpc::decoder::{CheckRule, LayeredDecoder};
use qwave::reconcile::ldpc::long::{long_code, LONG_CODES};
use qwave::reconcile::ldpc::plan::{decoder_alpha, LONG_ID0};
use qwave::reconcile::ldpc::{llr, MAX_ITERATIONS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Flooding sum-product decoder towards a target syndrome (reference only).
struct SumProduct {
    /// Per check: (variable, edge) list.
    checks: Vec<Vec<usize>>,
    /// Per edge: variable.
    var_of: Vec<usize>,
    n: usize,
}

impl SumProduct {
    fn new(code: &QcCode) -> Self {
        let z = code.z();
        let mut checks = Vec::with_capacity(code.m());
        let mut var_of = Vec::with_capacity(code.edges());
        for layer in 0..code.block_rows() {
            for r in 0..z {
                let mut c = Vec::new();
                for (col, s) in code.row(layer) {
                    c.push(var_of.len());
                    var_of.push(col * z + (r + s) % z);
                }
                checks.push(c);
            }
        }
        SumProduct {
            checks,
            var_of,
            n: code.n(),
        }
    }

    fn decode(&self, llr: &[f32], syn: &[u8], iters: u32, out: &mut [u8]) -> bool {
        let e = self.var_of.len();
        let mut c2v = vec![0f64; e];
        let mut v2c = vec![0f64; e];
        let mut post: Vec<f64> = llr.iter().map(|&l| f64::from(l)).collect();
        for _ in 0..iters {
            for (k, &v) in self.var_of.iter().enumerate() {
                v2c[k] = (post[v] - c2v[k]).clamp(-40.0, 40.0);
            }
            for (ci, c) in self.checks.iter().enumerate() {
                let mut prod = if syn[ci] & 1 == 1 { -1.0 } else { 1.0 };
                let mut zeros = 0;
                for &k in c {
                    let t = (v2c[k] / 2.0).tanh();
                    if t == 0.0 {
                        zeros += 1;
                    } else {
                        prod *= t;
                    }
                }
                for &k in c {
                    let t = (v2c[k] / 2.0).tanh();
                    let x = if t == 0.0 {
                        if zeros > 1 {
                            0.0
                        } else {
                            prod
                        }
                    } else if zeros > 0 {
                        0.0
                    } else {
                        prod / t
                    };
                    let x = x.clamp(-0.999_999_999_999, 0.999_999_999_999);
                    c2v[k] = 2.0 * x.atanh();
                }
            }
            post.iter_mut()
                .zip(llr)
                .for_each(|(p, &l)| *p = f64::from(l));
            for (k, &v) in self.var_of.iter().enumerate() {
                post[v] += c2v[k];
            }
            for (o, &p) in out.iter_mut().zip(&post) {
                *o = (p < 0.0) as u8;
            }
            let ok =
                self.checks.iter().enumerate().all(|(ci, c)| {
                    c.iter().fold(syn[ci] & 1, |a, &k| a ^ out[self.var_of[k]]) == 0
                });
            if ok {
                return true;
            }
        }
        let _ = self.n;
        false
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let frames: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let alpha_arg: Option<f32> = args.get(2).and_then(|s| s.parse().ok());
    let layered_spa = args.get(2).is_some_and(|s| s == "spa");
    let spa = std::env::var("QWAVE_SPA").is_ok();
    let n_long = LONG_CODES.len();
    let mut codes: Vec<QcCode> = (0..n_long).filter_map(|i| long_code(i).cloned()).collect();
    for l in Length::ALL {
        for r in Rate::ALL {
            codes.push(QcCode::ieee80211n(l, r));
        }
    }
    println!("code | R | p | f=(1-R)/h2(p) | FER min-sum (alpha) | iters | FER sum-product");
    let only = std::env::var("QWAVE_CODES").unwrap_or_default();
    let f_list: Vec<f64> = std::env::var("QWAVE_F")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![1.05, 1.1, 1.15, 1.2, 1.3, 1.45]);
    let iters_max: u32 = std::env::var("QWAVE_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MAX_ITERATIONS);
    for (i, code) in codes
        .iter()
        .enumerate()
        .filter(|(_, c)| only.split(',').any(|o| c.name().contains(o)))
    {
        // Wire ids: the long codes from LONG_ID0 on, the 802.11n codes 0..12.
        let id = if i < n_long {
            LONG_ID0 + i as u8
        } else {
            (i - n_long) as u8
        };
        let alpha = alpha_arg.unwrap_or_else(|| decoder_alpha(id));
        let rate = 1.0 - code.m() as f64 / code.n() as f64;
        let mut dec = if layered_spa {
            LayeredDecoder::with_rule(code.clone(), CheckRule::SumProduct)
        } else {
            LayeredDecoder::new(code.clone(), alpha)
        };
        let sp = SumProduct::new(code);
        // p from f = 1.0 (capacity) upwards to f ≈ 1.5.
        for &f_target in &f_list {
            // Solve h2(p) = (1 − R)/f for p in (0, 0.5).
            let h = (1.0 - rate) / f_target;
            let (mut lo, mut hi) = (1e-6f64, 0.5f64);
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if binary_entropy(mid) < h {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let p = 0.5 * (lo + hi);
            let mut rng = ChaCha8Rng::seed_from_u64(1000 + (p * 1e6) as u64);
            let (mut fail, mut fail_sp, mut iters) = (0usize, 0usize, 0u64);
            let mut out = vec![0u8; code.n()];
            let mut syn = vec![0u8; code.m()];
            let mut l = Vec::new();
            let sp_frames = if spa { frames.min(50) } else { 0 };
            for t in 0..frames {
                let x: Vec<u8> = (0..code.n()).map(|_| rng.random::<bool>() as u8).collect();
                code.syndrome(&x, &mut syn).expect("sizes");
                let y: Vec<u8> = x
                    .iter()
                    .map(|&b| b ^ (rng.random::<f64>() < p) as u8)
                    .collect();
                llr::hard_llrs(&y, p, &mut l);
                let st = dec.decode(&l, &syn, iters_max, &mut out).expect("sizes");
                iters += u64::from(st.iterations);
                if !(st.converged && out == x) {
                    fail += 1;
                }
                if t < sp_frames && !(sp.decode(&l, &syn, 100, &mut out) && out == x) {
                    fail_sp += 1;
                }
            }
            println!(
                "{} | {rate:.3} | {p:.4} | {f_target:.2} | {}/{frames} ({}) | {:.1} | {}",
                code.name(),
                fail,
                if layered_spa {
                    "spa".to_string()
                } else {
                    alpha.to_string()
                },
                iters as f64 / frames as f64,
                if spa {
                    format!("{fail_sp}/{sp_frames}")
                } else {
                    "-".into()
                }
            );
        }
    }
}
