//! Writes confirmed final-key bits and Alice's raw quantized bits from seeded
//! simulated key-generation runs, for the statistical tests of
//! `scripts/randomness` (NIST SP 800-22, SP 800-90B).
//!
//! Each run is the IQ-level simulated session of `qwave demo` (scenario, by
//! default `walk`, with its eavesdroppers removed to save CPU, default
//! session parameters, Cascade): sounding → features → Alice and Bob on their
//! own threads. Runs with seeds `seed0, seed0 + 1, …` go on in `threads`
//! worker threads until the confirmed final key reaches the requested length.
//!
//! A block counts when both parties confirmed it; its key must be the same on
//! both sides (the example fails otherwise). Output, in seed then block order:
//! - `<dir>/final.bits`: final key, one byte (0 or 1) per bit;
//! - `<dir>/raw.bits`: Alice's quantizer output before reconciliation (after
//!   guard-band drops, before the QBER sample is revealed), one byte per bit,
//!   of every block, keyed or not;
//! - `<dir>/keystream.json`: counts and timings.
//!
//! Evaluation only: writing key material to disk is what this example is for.
//!
//! Usage: `cargo run --release --example keystream -- <dir> <final_bits>
//! [threads] [seconds_per_run] [seed0] [scenario]`

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use qwave::pipeline::{features_stream, keygen, sounding};
use qwave::session::party::key_bits;
use qwave::session::SessionConfig;
use qwave_dsp::channel::Scenario;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Runs give up after this many seeds (guards against a zero key rate).
const MAX_RUNS: u64 = 10_000;

/// What one seeded run produced.
#[derive(Default)]
struct RunOutput {
    final_bits: Vec<u8>,
    raw_bits: Vec<u8>,
    blocks: usize,
    keyed_blocks: usize,
    channel_seconds: f64,
    /// (raw bits, min-entropy per bit the session used) per keyed block.
    pa_entropy: Vec<(u64, f64)>,
}

fn one_run(scenario: &Scenario, seconds: f64, seed: u64) -> Result<RunOutput> {
    let cfg = SessionConfig::default();
    let mut auth_key = [0u8; 32];
    ChaCha20Rng::seed_from_u64(seed ^ 0x6b65_7973_7472_6561).fill_bytes(&mut auth_key);
    let exchanges = (seconds * scenario.exchange_rate_hz).round() as u64;
    let snd = sounding::spawn(scenario, seed, exchanges, false, |_| {});
    for e in snd.eves {
        std::thread::spawn(move || for _ in e {});
    }
    let out = keygen::run(
        &cfg,
        &auth_key,
        features_stream(snd.alice),
        features_stream(snd.bob),
        None,
        true,
        &|_| {},
    );
    for t in snd.threads {
        let _ = t.join();
    }
    if let Some(why) = out.alice.aborted.as_ref().or(out.bob.aborted.as_ref()) {
        bail!("seed {seed}: the session aborted: {why}");
    }
    let mut r = RunOutput {
        channel_seconds: exchanges as f64 / scenario.exchange_rate_hz,
        ..RunOutput::default()
    };
    // Raw bits of every block Alice quantized, in block order.
    let mut raw: BTreeMap<u32, &[u8]> = BTreeMap::new();
    for s in out
        .alice
        .keys
        .iter()
        .map(|k| &k.stats)
        .chain(out.alice.refusals.iter().map(|x| &x.stats))
    {
        let bits = s
            .raw
            .as_deref()
            .with_context(|| format!("seed {seed}: block {} kept no raw bits", s.block))?;
        raw.insert(s.block, bits);
    }
    r.blocks = raw.len();
    for bits in raw.values() {
        r.raw_bits.extend_from_slice(bits);
    }
    let bob: BTreeMap<u32, _> = out.bob.keys.iter().map(|k| (k.stats.block, k)).collect();
    for a in &out.alice.keys {
        let Some(b) = bob.get(&a.stats.block) else {
            continue;
        };
        if a.key.as_bytes() != b.key.as_bytes() || a.key.bit_len() != b.key.bit_len() {
            bail!(
                "seed {seed}: block {} confirmed with different keys",
                a.stats.block
            );
        }
        r.final_bits.extend_from_slice(&key_bits(&a.key));
        r.keyed_blocks += 1;
        r.pa_entropy
            .push((a.stats.raw_bits, a.stats.min_entropy_per_bit));
    }
    Ok(r)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let usage =
        "usage: keystream <dir> <final_bits> [threads] [seconds_per_run] [seed0] [scenario]";
    let dir = PathBuf::from(args.next().context(usage)?);
    let target: usize = args.next().context(usage)?.parse().context(usage)?;
    let threads: usize = match args.next() {
        Some(s) => s.parse().context(usage)?,
        None => std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let seconds: f64 = args.next().map_or(Ok(300.0), |s| s.parse())?;
    let seed0: u64 = args.next().map_or(Ok(1), |s| s.parse())?;
    let name = args.next().unwrap_or_else(|| "walk".to_owned());
    let mut scenario = Scenario::by_name(&name)
        .with_context(|| format!("unknown scenario `{name}`; known: {:?}", Scenario::names()))?;
    scenario.eve_distances_m.clear();
    if threads == 0 || seconds.is_nan() || seconds <= 0.0 {
        bail!("{usage}: threads and seconds must be positive");
    }
    std::fs::create_dir_all(&dir)?;

    let start = Instant::now();
    let next = AtomicU64::new(0);
    let got = AtomicU64::new(0);
    let results: Mutex<BTreeMap<u64, RunOutput>> = Mutex::new(BTreeMap::new());
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                if got.load(Ordering::SeqCst) >= target as u64
                    || failure.lock().map_or(true, |f| f.is_some())
                {
                    break;
                }
                let k = next.fetch_add(1, Ordering::SeqCst);
                if k >= MAX_RUNS {
                    break;
                }
                let seed = seed0 + k;
                match one_run(&scenario, seconds, seed) {
                    Ok(r) => {
                        let total = got.fetch_add(r.final_bits.len() as u64, Ordering::SeqCst)
                            + r.final_bits.len() as u64;
                        eprintln!(
                            "seed {seed}: {} final bits ({}/{} blocks keyed), {} raw bits; \
                             total {total}/{target} after {:.0} s",
                            r.final_bits.len(),
                            r.keyed_blocks,
                            r.blocks,
                            r.raw_bits.len(),
                            start.elapsed().as_secs_f64()
                        );
                        if let Ok(mut m) = results.lock() {
                            m.insert(seed, r);
                        }
                    }
                    Err(e) => {
                        if let Ok(mut f) = failure.lock() {
                            f.get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    let results = results
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a worker panicked"))?;
    let wall = start.elapsed().as_secs_f64();
    let final_bits: Vec<u8> = results
        .values()
        .flat_map(|r| r.final_bits.clone())
        .collect();
    let raw_bits: Vec<u8> = results.values().flat_map(|r| r.raw_bits.clone()).collect();
    if final_bits.len() < target {
        bail!(
            "only {} final bits after {} runs (target {target})",
            final_bits.len(),
            results.len()
        );
    }
    std::fs::write(dir.join("final.bits"), &final_bits)?;
    std::fs::write(dir.join("raw.bits"), &raw_bits)?;
    let channel_seconds: f64 = results.values().map(|r| r.channel_seconds).sum();
    let pa: Vec<(u64, f64)> = results
        .values()
        .flat_map(|r| r.pa_entropy.iter().copied())
        .collect();
    let pa_bits: u64 = pa.iter().map(|p| p.0).sum();
    let pa_mean = pa.iter().map(|&(n, h)| n as f64 * h).sum::<f64>() / pa_bits.max(1) as f64;
    let pa_min = pa.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let summary = serde_json::json!({
        "scenario": name,
        "runs": results.len(),
        "seeds": results.keys().collect::<Vec<_>>(),
        "seconds_per_run": seconds,
        "threads": threads,
        "channel_seconds": channel_seconds,
        "blocks": results.values().map(|r| r.blocks).sum::<usize>(),
        "keyed_blocks": results.values().map(|r| r.keyed_blocks).sum::<usize>(),
        "final_bits": final_bits.len(),
        "raw_bits": raw_bits.len(),
        "key_rate_bps": final_bits.len() as f64 / channel_seconds,
        "session_min_entropy_per_bit": { "weighted_mean": pa_mean, "min": pa_min },
        "wall_seconds": wall,
    });
    std::fs::write(dir.join("keystream.json"), summary.to_string())?;
    println!("{summary}");
    Ok(())
}
