//! Exports an LDPC decoding workload for `scripts/ldpc-compare` and times
//! our decoder on it.
//!
//! Workload: IEEE 802.11n n = 1944, rate 1/2; binary symmetric channel with
//! Q = 5 %; per frame the error pattern e (Alice ⊕ Bob) and its syndrome
//! H·e. Decoding e from H·e with constant LLR ln((1 − Q)/Q) is exactly Bob's
//! problem (decode Alice's word from his bits and her syndrome), written in
//! the form the PyPI `ldpc` package's `BpDecoder` takes.
//!
//! Usage: `cargo run --release --example ldpc_export -- <dir> [frames]`
//! writes `<dir>/h.txt` ("m n" then one "row col" line per one of H),
//! `<dir>/frames.txt` (per frame: syndrome line, error line, as 0/1 strings)
//! and `<dir>/params.txt` (q, max_iter, alpha), and prints our throughput.

use qwave::reconcile::ldpc::codes::{Length, QcCode, Rate};
use qwave::reconcile::ldpc::decoder::LayeredDecoder;
use qwave::reconcile::ldpc::{llr, ALPHA, MAX_ITERATIONS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "target/ldpc-compare".into()));
    let frames: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    std::fs::create_dir_all(&dir)?;
    let q = 0.05;
    let code = QcCode::ieee80211n(Length::N1944, Rate::R12);
    let (n, m, z) = (code.n(), code.m(), code.z());
    let mut h = format!("{m} {n}\n");
    for i in 0..code.block_rows() {
        for (c, s) in code.row(i) {
            for r in 0..z {
                writeln!(h, "{} {}", i * z + r, c * z + (r + s) % z)?;
            }
        }
    }
    std::fs::write(dir.join("h.txt"), h)?;
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let mut errors = Vec::with_capacity(frames);
    let mut syndromes = Vec::with_capacity(frames);
    let mut text = String::new();
    for _ in 0..frames {
        let e: Vec<u8> = (0..n).map(|_| (rng.random::<f64>() < q) as u8).collect();
        let mut s = vec![0u8; m];
        code.syndrome(&e, &mut s)?;
        for v in [&s, &e] {
            text.extend(v.iter().map(|&b| if b == 1 { '1' } else { '0' }));
            text.push('\n');
        }
        errors.push(e);
        syndromes.push(s);
    }
    std::fs::write(dir.join("frames.txt"), text)?;
    std::fs::write(
        dir.join("params.txt"),
        format!("{q} {MAX_ITERATIONS} {ALPHA}\n"),
    )?;
    let l = vec![llr::bsc_llr(q); n];
    let mut dec = LayeredDecoder::new(code.clone(), ALPHA);
    let mut out = vec![0u8; n];
    let mut ok = 0;
    let t = Instant::now();
    for (s, e) in syndromes.iter().zip(&errors) {
        let st = dec.decode(&l, s, MAX_ITERATIONS, &mut out)?;
        ok += usize::from(st.converged && &out == e);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "rust layered normalised min-sum: {ok}/{frames} frames correct, {:.3} s, {:.2} Mbit/s",
        secs,
        (frames * n) as f64 / secs / 1e6
    );
    println!("RUST_SECONDS={secs}");
    Ok(())
}
