//! `qwave sound`: probe exchanges at IQ level through the simulator and the
//! receiver, written as an HDF5 CSI trace (and optionally SigMF IQ).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::keygen::scenario;
use crate::capture::{self, Annotation, SigmfDatatype, SigmfMeta, TraceKind, TraceWriter};
use crate::pipeline::progress_bar;
use crate::pipeline::sounding::{self, Observer};

/// `qwave sound`.
#[derive(Args, Debug)]
pub struct SoundArgs {
    /// Channel scenario: walk, static or vehicle.
    #[arg(long, default_value = "walk")]
    pub scenario: String,
    /// Seconds of probing.
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output HDF5 CSI trace.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write each receiver's IQ as a SigMF recording into this folder.
    #[arg(long)]
    pub sigmf: Option<PathBuf>,
}

/// Runs the sounding.
pub fn run(a: SoundArgs) -> Result<()> {
    if !(a.seconds > 0.0 && a.seconds <= 3600.0) {
        bail!("--seconds must be in (0, 3600], got {}", a.seconds);
    }
    let sc = scenario(&a.scenario)?;
    let n = (a.seconds * sc.exchange_rate_hz).round() as u64;
    let eves = sc.eve_distances_m.len();
    let pb = progress_bar(n, "sounding", true);
    let pbc = pb.clone();
    let snd = sounding::spawn(&sc, a.seed, n, a.sigmf.is_some(), move |k| {
        pbc.set_position(k)
    });
    let mut names = vec!["alice".to_string(), "bob".to_string()];
    names.extend((0..eves).map(|i| Observer::Eve(i).trace_name(eves)));
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let source = format!(
        "qwave sound: simulated scenario `{}` (seed {}), IQ-level 802.11 L-LTF probes through the qwave receiver",
        sc.name, a.seed
    );
    let mut w = TraceWriter::create(
        &a.out,
        TraceKind::Csi,
        sc.carrier_hz,
        Some(qwave_dsp::ofdm::SAMPLE_RATE_HZ),
        &source,
        &name_refs,
    )?;
    w.set_subcarriers(&qwave_dsp::ofdm::USED_SUBCARRIERS)?;
    let mut iq: Vec<(Vec<num_complex::Complex32>, Vec<Annotation>)> =
        vec![(Vec::new(), Vec::new()); names.len()];
    let idx = |o: Observer| match o {
        Observer::Alice => 0,
        Observer::Bob => 1,
        Observer::Eve(i) => 2 + i,
    };
    let mut chans: Vec<_> = std::iter::once((Observer::Alice, snd.alice))
        .chain(std::iter::once((Observer::Bob, snd.bob)))
        .chain(
            snd.eves
                .into_iter()
                .enumerate()
                .map(|(i, r)| (Observer::Eve(i), r)),
        )
        .collect();
    let mut tap = snd.iq_tap;
    loop {
        let mut sel = crossbeam_channel::Select::new();
        for (_, r) in &chans {
            sel.recv(r);
        }
        let tap_idx = tap.as_ref().map(|t| sel.recv(t));
        if chans.is_empty() && tap.is_none() {
            break;
        }
        let op = sel.select();
        if Some(op.index()) == tap_idx {
            match op.recv(tap.as_ref().expect("tap present")) {
                Ok((obs, seq, burst)) => {
                    let (samples, ann) = &mut iq[idx(obs)];
                    ann.push(Annotation {
                        sample_start: samples.len() as u64 + sounding::LEAD as u64,
                        sample_count: qwave_dsp::preamble::PROBE_LEN as u64,
                        label: "probe".into(),
                        seq: Some(seq),
                        direction: Some("rx".into()),
                    });
                    samples.extend_from_slice(&burst);
                }
                Err(_) => tap = None,
            }
            continue;
        }
        let i = op.index();
        let (obs, r) = &chans[i];
        match op.recv(r) {
            Ok(row) => w.append_csi(&names[idx(*obs)], row.seq, row.t, &row.csi)?,
            Err(_) => {
                chans.remove(i);
            }
        }
    }
    let mut lost = 0;
    for t in snd.threads {
        lost += t.join().unwrap_or(0);
    }
    pb.finish_and_clear();
    w.finish()?;
    eprintln!(
        "wrote {} ({} exchanges, {} parties, {} probes not detected)",
        a.out.display(),
        n,
        names.len(),
        lost
    );
    if let Some(dir) = a.sigmf {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, (samples, annotations)) in names.iter().zip(iq) {
            let meta = SigmfMeta {
                datatype: SigmfDatatype::Cf32Le,
                sample_rate: qwave_dsp::ofdm::SAMPLE_RATE_HZ,
                frequency: Some(sc.carrier_hz),
                description: Some(format!("{name} receive windows, {source}")),
                hw: Some("qwave simulated radio".into()),
                annotations,
            };
            let base = dir.join(format!("{name}-rx"));
            capture::write_sigmf(&base, &meta, &samples)?;
            eprintln!("wrote {}.sigmf-meta/.sigmf-data", base.display());
        }
    }
    Ok(())
}
