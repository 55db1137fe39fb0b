//! Pooled SP 800-90B assessment of the raw bits of a long simulated session,
//! next to fair coin flips of the same length: shows which preprocessing
//! leaves structure in the bits that per-block estimates cannot see.
//!
//! `cargo run --release --example entropy_survey -- [SECONDS] [SEED] [DCT_KEEP]`

use qwave::extract::{estimate_min_entropy, Decorrelate, EntropyReport};
use qwave::pipeline::{features_stream, keygen, sounding};
use qwave::session::party::SessionConfig;
use qwave_dsp::channel::Scenario;
use rand::{Rng, SeedableRng};

fn show(what: &str, r: &EntropyReport) {
    println!(
        "{what:<28} n {:>7}  mcv {:.3}  collision {:.3}  markov {:.3}  compression {}  t-tuple {:.3}  min {:.3}",
        r.samples,
        r.mcv,
        r.collision,
        r.markov,
        r.compression.map_or("   -".into(), |c| format!("{c:.3}")),
        r.t_tuple,
        r.min
    );
}

fn main() -> anyhow::Result<()> {
    let arg = |i: usize| std::env::args().nth(i);
    let seconds: f64 = arg(1).map_or(Ok(300.0), |s| s.parse())?;
    let seed: u64 = arg(2).map_or(Ok(3), |s| s.parse())?;
    let mut cfg = SessionConfig::default();
    if let Some(keep) = arg(3) {
        cfg.preprocess.decorrelate = Decorrelate::Dct {
            keep: keep.parse()?,
        };
    }
    let scenario = Scenario::by_name("walk").ok_or_else(|| anyhow::anyhow!("no walk"))?;
    let n = (seconds * scenario.exchange_rate_hz) as u64;
    let snd = sounding::spawn(&scenario, seed, n, false, |_| {});
    for e in snd.eves {
        std::thread::spawn(move || for _ in e {});
    }
    let out = keygen::run(
        &cfg,
        &[7u8; 32],
        features_stream(snd.alice),
        features_stream(snd.bob),
        None,
        true,
        &|_| {},
    );
    let raw: Vec<u8> = out
        .alice
        .keys
        .iter()
        .map(|k| &k.stats)
        .chain(out.alice.refusals.iter().map(|r| &r.stats))
        .filter_map(|s| s.raw.as_deref())
        .flatten()
        .copied()
        .collect();
    println!(
        "{:?}, {seconds} s of `walk`, seed {seed}",
        cfg.preprocess.decorrelate
    );
    show("raw quantized bits, pooled", &estimate_min_entropy(&raw)?);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let fair: Vec<u8> = (0..raw.len()).map(|_| rng.random_range(0..2u8)).collect();
    show("fair coin flips", &estimate_min_entropy(&fair)?);
    Ok(())
}
