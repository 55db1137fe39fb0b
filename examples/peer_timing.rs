//! Writes the workloads of `scripts/compare-peers` and times our code on them, so the
//! peers (PyPI `ldpc`, numpy, `cryptomite`) run on the same inputs in the same run.
//!
//! `peer_timing ldpc <dir> <frames> <q>...`: for each IEEE 802.11n rate-1/2 code (n = 648,
//! n = 1944) and each crossover probability q, `frames` error patterns e (Alice ⊕ Bob, binary
//! symmetric channel) and their syndromes H·e. Decoding e from H·e with the channel LLR
//! ln((1 − q)/q) on every bit is Bob's problem in syndrome form, as `ldpc`'s `BpDecoder` takes
//! it. Writes `<dir>/<code>/h.txt` ("m n", then "row col" per one of H) and
//! `<dir>/<code>/q<q>.txt` (line 1: "q llr max_iter alpha"; then per frame a syndrome line and
//! an error line of 0/1 characters); times our layered decoder (Hocevar 2004) with both check
//! rules, normalised min-sum (Chen–Fossorier 2002) and sum-product, with the same iteration cap.
//!
//! `peer_timing toeplitz <dir> <reps> <log2n>...`: for each n = 2^log2n input bits, ℓ = n/2
//! output bits, a seeded input x and Toeplitz seed (n + ℓ − 1 bits) written to
//! `<dir>/toeplitz-<log2n>/{input,seed,out}.bits` (one 0/1 byte per bit; `out` is our hash) and
//! timed with [`Method::Auto`] and [`Method::Fft`] (median of `reps` calls after one warm-up);
//! the two outputs must agree.
//!
//! Each result is printed as one line `RESULT <json>`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use qwave::amplify::{Method, ToeplitzHasher};
use qwave::reconcile::ldpc::codes::{Length, QcCode, Rate};
use qwave::reconcile::ldpc::decoder::{CheckRule, LayeredDecoder};
use qwave::reconcile::ldpc::{llr, ALPHA, MAX_ITERATIONS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;

fn bits_line(out: &mut String, bits: &[u8]) {
    out.extend(bits.iter().map(|&b| if b == 1 { '1' } else { '0' }));
    out.push('\n');
}

fn ldpc(dir: &Path, frames: usize, qs: &[f64]) -> Result<()> {
    for length in [Length::N648, Length::N1944] {
        let code = QcCode::ieee80211n(length, Rate::R12);
        let (n, m, z) = (code.n(), code.m(), code.z());
        let cdir = dir.join(format!("n{n}-r12"));
        std::fs::create_dir_all(&cdir)?;
        let mut h = format!("{m} {n}\n");
        for i in 0..code.block_rows() {
            for (c, s) in code.row(i) {
                for r in 0..z {
                    writeln!(h, "{} {}", i * z + r, c * z + (r + s) % z)?;
                }
            }
        }
        std::fs::write(cdir.join("h.txt"), h)?;
        let mut min_sum = LayeredDecoder::new(code.clone(), ALPHA);
        let mut sum_product = LayeredDecoder::with_rule(code.clone(), CheckRule::SumProduct);
        for &q in qs {
            if !(q > 0.0 && q < 0.5) {
                bail!("q must be in (0, 0.5), got {q}");
            }
            let mut rng = ChaCha8Rng::seed_from_u64(2026 ^ q.to_bits());
            let channel_llr = llr::bsc_llr(q);
            let mut text = format!("{q} {channel_llr} {MAX_ITERATIONS} {ALPHA}\n");
            let mut work = Vec::with_capacity(frames);
            for _ in 0..frames {
                let e: Vec<u8> = (0..n).map(|_| u8::from(rng.random::<f64>() < q)).collect();
                let mut s = vec![0u8; m];
                code.syndrome(&e, &mut s)?;
                bits_line(&mut text, &s);
                bits_line(&mut text, &e);
                work.push((s, e));
            }
            std::fs::write(cdir.join(format!("q{q}.txt")), text)?;
            let l = vec![channel_llr; n];
            let mut out = vec![0u8; n];
            for (dec, name, label) in [
                (&mut min_sum, "min_sum", "qwave layered normalised min-sum"),
                (&mut sum_product, "sum_product", "qwave layered sum-product"),
            ] {
                let mut ok = 0usize;
                let mut iterations = 0u64;
                let t = Instant::now();
                for (s, e) in &work {
                    let st = dec.decode(&l, s, MAX_ITERATIONS, &mut out)?;
                    ok += usize::from(st.converged && &out == e);
                    iterations += u64::from(st.iterations);
                }
                let secs = t.elapsed().as_secs_f64();
                println!(
                    "RESULT {}",
                    serde_json::json!({
                        "kind": "ldpc", "code": format!("n{n}-r12"), "n": n, "q": q,
                        "frames": frames, "correct": ok, "seconds": secs,
                        "mean_iterations": iterations as f64 / frames as f64,
                        "rule": name, "decoder": label,
                    })
                );
            }
        }
    }
    Ok(())
}

fn median_time(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?; // warm-up (page faults, caches)
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64());
    }
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}

fn toeplitz(dir: &Path, reps: usize, log2ns: &[u32]) -> Result<()> {
    for &log2n in log2ns {
        if !(4..=24).contains(&log2n) {
            bail!("log2n must be in 4..=24, got {log2n}");
        }
        let n = 1usize << log2n;
        let l = n / 2;
        let mut rng = ChaCha8Rng::seed_from_u64(u64::from(log2n));
        let input: Vec<u8> = (0..n).map(|_| rng.random::<u8>() & 1).collect();
        let seed: Vec<u8> = (0..n + l - 1).map(|_| rng.random::<u8>() & 1).collect();
        let mut times = serde_json::Map::new();
        let mut outs = Vec::new();
        for (name, method) in [("auto", Method::Auto), ("fft", Method::Fft)] {
            let mut h = ToeplitzHasher::new_with(n, l, method)?;
            let mut out = Vec::with_capacity(l);
            let secs = median_time(reps, || Ok(h.hash(&seed, &input, &mut out)?))?;
            times.insert(name.into(), secs.into());
            times.insert(format!("{name}_method"), format!("{:?}", h.method()).into());
            outs.push(out);
        }
        if outs[0] != outs[1] {
            bail!("n = 2^{log2n}: carry-less and FFT hashes differ");
        }
        let tdir = dir.join(format!("toeplitz-{log2n}"));
        std::fs::create_dir_all(&tdir)?;
        std::fs::write(tdir.join("input.bits"), &input)?;
        std::fs::write(tdir.join("seed.bits"), &seed)?;
        std::fs::write(tdir.join("out.bits"), &outs[0])?;
        times.insert("kind".into(), "toeplitz".into());
        times.insert("log2n".into(), log2n.into());
        times.insert("n_out".into(), l.into());
        times.insert("reps".into(), reps.into());
        println!("RESULT {}", serde_json::Value::Object(times));
    }
    Ok(())
}

fn main() -> Result<()> {
    let usage = "usage: peer_timing ldpc <dir> <frames> <q>... | toeplitz <dir> <reps> <log2n>...";
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        bail!("{usage}");
    }
    let dir = PathBuf::from(&args[1]);
    let count: usize = args[2].parse().context(usage)?;
    if count == 0 {
        bail!("{usage}: frames/reps must be positive");
    }
    match args[0].as_str() {
        "ldpc" => {
            let qs = args[3..]
                .iter()
                .map(|s| s.parse::<f64>())
                .collect::<Result<Vec<_>, _>>()
                .context(usage)?;
            ldpc(&dir, count, &qs)
        }
        "toeplitz" => {
            let ns = args[3..]
                .iter()
                .map(|s| s.parse::<u32>())
                .collect::<Result<Vec<_>, _>>()
                .context(usage)?;
            toeplitz(&dir, count, &ns)
        }
        _ => bail!("{usage}"),
    }
}
