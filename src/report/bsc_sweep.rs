//! Reconciliation efficiency over a binary symmetric channel: Alice's
//! uniform bits, Bob's copy with each bit flipped with probability Q, both
//! reconcilers run through the full protocol. Efficiency
//! f = leaked / (n·h2(Q)) (Martinez-Mateo, Elkouss & Martin 2012); f = 1 is
//! the Shannon limit n·h2(Q).

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::csv::{self, Cell};
use super::plot::{self, palette, Axes, Mark, Series};
use super::{Figure, ReportError};
use crate::pipeline::progress_bar;
use crate::reconcile::{
    binary_entropy, new_reconciler, run_pair, ReconcileError, ReconcileParams, ReconcilerKind, Role,
};

/// Crossover probabilities of the default sweep.
pub const DEFAULT_QBERS: [f64; 7] = [0.01, 0.02, 0.03, 0.04, 0.05, 0.07, 0.10];
/// Bits per frame of the default sweep (three frames of the n = 1944
/// LDPC mother code's 1360-bit payload).
pub const DEFAULT_BITS: usize = 4080;

/// One point of the sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct BscPoint {
    /// Reconciler.
    pub reconciler: ReconcilerKind,
    /// Crossover probability Q.
    pub qber: f64,
    /// Bits per frame.
    pub bits: usize,
    /// Frames run.
    pub frames: u32,
    /// Frames that failed (no agreement) or left Bob's bits wrong.
    pub failures: u32,
    /// Bits leaked over the successful frames.
    pub leaked_bits: u64,
    /// f = leaked / (successful frames · n · h2(Q)) (None without success).
    pub efficiency: Option<f64>,
}

/// Runs `frames` frames of `bits` bits at every Q for Cascade and LDPC
/// (seeded: the same call gives the same numbers).
///
/// # Errors
/// [`ReportError::Reconcile`] when a reconciler breaks its protocol.
pub fn sweep(
    qbers: &[f64],
    bits: usize,
    frames: u32,
    progress: bool,
) -> Result<Vec<BscPoint>, ReportError> {
    let kinds = [ReconcilerKind::Cascade, ReconcilerKind::Ldpc];
    let pb = progress_bar(
        (kinds.len() * qbers.len()) as u64 * u64::from(frames),
        "BSC sweep",
        progress,
    );
    let mut out = Vec::new();
    for kind in kinds {
        for (qi, &q) in qbers.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(0xb5c0 + qi as u64);
            let (mut failures, mut leaked, mut ok) = (0u32, 0u64, 0u32);
            for f in 0..frames {
                let a: Vec<u8> = (0..bits).map(|_| rng.random::<bool>() as u8).collect();
                let b: Vec<u8> = a
                    .iter()
                    .map(|&x| x ^ u8::from(rng.random::<f64>() < q))
                    .collect();
                let p = ReconcileParams {
                    qber: q,
                    shuffle_seed: u64::from(f) << 8 | qi as u64,
                    soft_plan: false,
                };
                match run_pair(
                    new_reconciler(kind, Role::Alice, a.clone(), &p),
                    new_reconciler(kind, Role::Bob, b, &p),
                ) {
                    Ok((_, ob)) if ob.bits == a => {
                        ok += 1;
                        leaked += ob.leaked_bits;
                    }
                    Ok(_) | Err(ReconcileError::Failed { .. }) => failures += 1,
                    Err(e) => return Err(ReportError::Reconcile(e.to_string())),
                }
                pb.inc(1);
            }
            let ideal = f64::from(ok) * bits as f64 * binary_entropy(q);
            out.push(BscPoint {
                reconciler: kind,
                qber: q,
                bits,
                frames,
                failures,
                leaked_bits: leaked,
                efficiency: (ideal > 0.0).then(|| leaked as f64 / ideal),
            });
        }
    }
    pb.finish_and_clear();
    Ok(out)
}

/// Draws `bsc_efficiency.png` and writes `bsc_efficiency.csv`.
///
/// # Errors
/// Font, drawing or file errors.
pub fn figure(dir: &Path, points: &[BscPoint]) -> Result<Figure, ReportError> {
    let name = "bsc_efficiency";
    let series_of = |k: ReconcilerKind| -> Vec<(f64, f64)> {
        points
            .iter()
            .filter(|p| p.reconciler == k)
            .filter_map(|p| p.efficiency.map(|f| (100.0 * p.qber, f)))
            .collect()
    };
    let qmax = points.iter().map(|p| 100.0 * p.qber).fold(1.0, f64::max);
    let series = vec![
        Series::new(
            "Cascade",
            series_of(ReconcilerKind::Cascade),
            palette::BLUE,
            Mark::LineDots,
        ),
        Series::new(
            "LDPC (802.11n codes, blind)",
            series_of(ReconcilerKind::Ldpc),
            palette::ORANGE,
            Mark::LineDots,
        ),
        Series::new(
            "f = 1: n·h2(Q) bits (Shannon limit)",
            vec![(0.0, 1.0), (qmax + 0.5, 1.0)],
            palette::GREY,
            Mark::Reference,
        ),
    ];
    let ymax = points
        .iter()
        .filter_map(|p| p.efficiency)
        .fold(1.2f64, f64::max)
        * 1.05;
    let frames = points.first().map_or(0, |p| p.frames);
    let bits = points.first().map_or(0, |p| p.bits);
    plot::chart(
        &dir.join(format!("{name}.png")),
        &Axes {
            title: format!(
                "Reconciliation efficiency on a BSC ({frames} frames of {bits} bits per point)"
            ),
            x_label: "crossover probability Q (%)".into(),
            y_label: "f = leaked / (n·h2(Q))".into(),
            x_range: Some((0.0, qmax + 0.5)),
            y_range: Some((0.9, ymax)),
        },
        &series,
    )?;
    csv::write(
        &dir.join(format!("{name}.csv")),
        &[
            "reconciler",
            "qber",
            "bits",
            "frames",
            "failures",
            "leaked_bits",
            "efficiency",
        ],
        &points
            .iter()
            .map(|p| {
                vec![
                    Cell::from(p.reconciler.name()),
                    Cell::from(p.qber),
                    Cell::from(p.bits as u64),
                    Cell::from(u64::from(p.frames)),
                    Cell::from(u64::from(p.failures)),
                    Cell::from(p.leaked_bits),
                    Cell::from(p.efficiency),
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    Ok(Figure {
        name: name.into(),
        title: "Reconciler efficiency vs disagreement (BSC)".into(),
        caption: format!(
            "Bits each reconciler discloses to correct n = {bits} bits through a binary symmetric \
             channel with crossover Q, divided by the Shannon limit n·h2(Q) (grey line, f = 1). \
             Lower is better: every leaked bit is removed from the key in privacy amplification. \
             {frames} seeded frames per point (more with --bsc-frames); failed frames are counted \
             in the CSV and left out of f."
        ),
    })
}
