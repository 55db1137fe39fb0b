//! One run's report: key generation on a trace (recorded or simulated) with
//! every public frame recorded, every Eve replayed against them, then the
//! figures and `index.html`.

use std::path::{Path, PathBuf};

use crossbeam_channel::bounded;

use super::csv::{self, Cell};
use super::plot::{self, palette, Axes, HeatPanel, Mark, Series};
use super::sim::{self, Collected};
use super::stats::{self, Amplitudes, BlockRecord};
use super::{bsc_sweep, html, Figure, ReportError, SimSetup};
use crate::pipeline::keygen::{party_loop, KeygenOutcome, Row, PEER_DEADLINE};
use crate::pipeline::progress_bar;
use crate::pipeline::replay::party_rows;
use crate::pipeline::report::{self as run_report, Report};
use crate::reconcile::Role;
use crate::session::eve::{Eavesdropper, EveBlock};
use crate::session::{Party, SessionConfig};

/// What to report on.
#[derive(Clone, Debug)]
pub enum RunInput {
    /// An HDF5 CSI trace (qwave-csi-trace schema).
    Trace(PathBuf),
    /// A fresh simulated run.
    Simulated(Box<SimSetup>),
}

/// Options of [`report_run`].
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Key-generation parameters (for a simulated input, those of the setup are used).
    pub session: SessionConfig,
    /// Progress bar on stderr.
    pub progress: bool,
    /// Frames per point of the binary-symmetric-channel sweep (0: no sweep).
    pub bsc_frames: u32,
}

/// Key generation with both parties keeping raw bits; returns the outcome
/// (without Eve) and every public frame in the order it was sent.
pub fn keygen_recorded(
    cfg: &SessionConfig,
    auth_key: &[u8; 32],
    alice_rows: Vec<Row>,
    bob_rows: Vec<Row>,
) -> (KeygenOutcome, Vec<Vec<u8>>) {
    const CAP: usize = 1024;
    let (a2b_tx, a2b_rx) = bounded(CAP);
    let (b2a_tx, b2a_rx) = bounded(CAP);
    let (tap_tx, tap_rx) = bounded::<Vec<u8>>(CAP);
    let feed = |rows: Vec<Row>| {
        let (tx, rx) = bounded(256);
        std::thread::spawn(move || {
            for r in rows {
                if tx.send(r).is_err() {
                    break;
                }
            }
        });
        rx
    };
    let (ra, rb) = (feed(alice_rows), feed(bob_rows));
    let mut alice = Party::new(Role::Alice, cfg.clone(), auth_key);
    alice.keep_raw_bits(true);
    let mut bob = Party::new(Role::Bob, cfg.clone(), auth_key);
    bob.keep_raw_bits(true);
    std::thread::scope(|s| {
        let tap_a = tap_tx.clone();
        let tap_b = tap_tx;
        let ha = s.spawn(move || {
            party_loop(
                alice,
                ra,
                b2a_rx,
                a2b_tx,
                Some(tap_a),
                PEER_DEADLINE,
                &|_| {},
            )
        });
        let hb = s.spawn(move || {
            party_loop(bob, rb, a2b_rx, b2a_tx, Some(tap_b), PEER_DEADLINE, &|_| {})
        });
        let hf = s.spawn(move || tap_rx.iter().collect::<Vec<_>>());
        let alice = ha.join().unwrap_or_default();
        let bob = hb.join().unwrap_or_default();
        let frames = hf.join().unwrap_or_default();
        (
            KeygenOutcome {
                alice,
                bob,
                eve: Vec::new(),
            },
            frames,
        )
    })
}

/// A passive Eve replayed offline: all her rows, then every public frame.
pub fn eavesdrop(cfg: &SessionConfig, rows: &[Row], frames: &[Vec<u8>]) -> Vec<EveBlock> {
    let mut eve = Eavesdropper::new(cfg.clone());
    for (seq, f) in rows {
        eve.push_row(*seq, f);
    }
    eve.close_rows();
    for f in frames {
        eve.observe(f);
    }
    eve.take_blocks()
}

/// A finished run with every Eve's view.
pub struct Analysed {
    /// Input data.
    pub data: Collected,
    /// The fixed machine-readable report (Eve = the first eavesdropper).
    pub report: Report,
    /// Alice's and Bob's outcome.
    pub outcome: KeygenOutcome,
    /// Each eavesdropper's party name and blocks.
    pub eves: Vec<(String, Vec<EveBlock>)>,
}

/// Runs key generation on `data` and replays every Eve (parties named
/// `eve*` that observe Alice's probes).
///
/// # Errors
/// [`ReportError::Input`] without `alice`/`bob`, or when the OS random
/// generator fails.
pub fn analyse(
    data: Collected,
    cfg: &SessionConfig,
    progress: bool,
) -> Result<Analysed, ReportError> {
    let start = std::time::Instant::now();
    let t = &data.trace;
    let (Some(a), Some(b)) = (t.party("alice"), t.party("bob")) else {
        return Err(ReportError::Input(format!(
            "{}: needs `alice` and `bob`",
            data.source
        )));
    };
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|e| ReportError::Input(format!("OS random generator: {e}")))?;
    let pb = progress_bar(0, "key gen", progress);
    pb.set_length(1);
    let (mut outcome, frames) = keygen_recorded(cfg, &key, party_rows(t, a), party_rows(t, b));
    let eve_parties: Vec<_> = t
        .parties
        .iter()
        .filter(|p| p.name.starts_with("eve") && p.observes.as_deref() != Some("bob"))
        .collect();
    pb.set_length(1 + eve_parties.len() as u64);
    pb.set_position(1);
    pb.set_message("eavesdrop");
    let mut eves = Vec::new();
    for p in eve_parties {
        eves.push((p.name.clone(), eavesdrop(cfg, &party_rows(t, p), &frames)));
        pb.inc(1);
    }
    pb.finish_and_clear();
    outcome.eve = eves.first().map(|e| e.1.clone()).unwrap_or_default();
    let mut report = run_report::build(
        &outcome,
        &format!("{:?}", cfg.reconciler).to_lowercase(),
        data.probes,
        data.channel_seconds,
        start.elapsed().as_secs_f64(),
        data.source.clone(),
    );
    report.capacity_bps = data.capacity_bps;
    Ok(Analysed {
        data,
        report,
        outcome,
        eves,
    })
}

/// Every k-th row so that at most `max` rows remain.
fn decimate(a: &Amplitudes, max: usize) -> Vec<usize> {
    let step = a.rows().div_ceil(max.max(1)).max(1);
    (0..a.rows()).step_by(step).collect()
}

fn percentile(mut v: Vec<f32>, p: f64) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    f64::from(v[((v.len() - 1) as f64 * p).round() as usize])
}

fn heat_figure(dir: &Path, parties: &[(&str, &Amplitudes)]) -> Result<Figure, ReportError> {
    let name = "amplitude_heatmaps";
    let t0 = parties
        .iter()
        .filter_map(|(_, a)| a.t.first().copied())
        .fold(f64::INFINITY, f64::min);
    let t0 = if t0.is_finite() { t0 } else { 0.0 };
    let mut panels = Vec::new();
    let mut rows = Vec::new();
    let mut all = Vec::new();
    for (label, a) in parties {
        let idx = decimate(a, 300);
        let mut values = Vec::with_capacity(idx.len() * a.columns.len());
        for &i in &idx {
            for (j, &v) in a.row(i).iter().enumerate() {
                values.push(v);
                rows.push(vec![
                    Cell::from(*label),
                    Cell::from(a.seq[i]),
                    Cell::from(a.t[i] - t0),
                    Cell::from(i64::from(a.columns[j])),
                    Cell::from(f64::from(v)),
                ]);
            }
        }
        all.extend_from_slice(&values);
        panels.push(HeatPanel {
            title: label.to_string(),
            xs: idx.iter().map(|&i| a.t[i] - t0).collect(),
            ys: a.columns.iter().map(|&c| f64::from(c)).collect(),
            values,
        });
    }
    let range = (percentile(all.clone(), 0.01), percentile(all, 0.99));
    plot::heatmaps(
        &dir.join(format!("{name}.png")),
        "Channel amplitude per subcarrier over time",
        "time (s)",
        "subcarrier index",
        "amplitude 20·log10|H| (dB)",
        &panels,
        range,
    )?;
    csv::write(
        &dir.join(format!("{name}.csv")),
        &["party", "seq", "t_s", "subcarrier", "amplitude_db"],
        &rows,
    )?;
    Ok(Figure {
        name: name.into(),
        title: "Channel amplitude: Alice, Bob and Eve".into(),
        caption: "Each panel shows one observer's measured channel amplitude (colour, dB; shared \
                  colour scale on the right) per OFDM subcarrier (vertical) over time (horizontal, \
                  every k-th probe so at most 300 columns are drawn). Alice measures Bob→Alice, Bob \
                  Alice→Bob and Eve Alice→Eve. Reciprocity shows as Alice's and Bob's panels having \
                  the same fade pattern (dark streaks); Eve's pattern should differ when she is \
                  far enough away. A constant per-subcarrier offset between Alice and Bob comes \
                  from non-reciprocal radio chains and does not matter to the key (features are \
                  normalised per block)."
            .into(),
    })
}

fn scatter_figure(
    dir: &Path,
    a: &Amplitudes,
    b: &Amplitudes,
    e: Option<&Amplitudes>,
) -> Result<Figure, ReportError> {
    let name = "feature_scatter";
    let mut rows = Vec::new();
    let mut series = Vec::new();
    let mut pick = |other: &Amplitudes, label: &str, color| {
        let pairs = stats::paired(a, other);
        let k = a.columns.len().min(other.columns.len()).max(1);
        let step = (pairs.len() * k).div_ceil(3000).max(1);
        let mut pts = Vec::new();
        for (n, &(i, m)) in pairs.iter().enumerate() {
            for j in 0..k {
                if (n * k + j).is_multiple_of(step) {
                    let (x, y) = (f64::from(a.row(i)[j]), f64::from(other.row(m)[j]));
                    pts.push((x, y));
                    rows.push(vec![
                        Cell::from(label),
                        Cell::from(a.seq[i]),
                        Cell::from(i64::from(a.columns[j])),
                        Cell::from(x),
                        Cell::from(y),
                    ]);
                }
            }
        }
        series.push(Series::new(label, pts, color, Mark::Dots(2)));
    };
    if let Some(e) = e {
        pick(e, "Alice vs Eve", palette::RED);
    }
    pick(b, "Alice vs Bob", palette::BLUE);
    Figure::line_chart(
        dir,
        name,
        &Axes {
            title: "Feature scatter: amplitude per subcarrier and probe".into(),
            x_label: "Alice's amplitude (dB)".into(),
            y_label: "other party's amplitude (dB)".into(),
            x_range: None,
            y_range: None,
        },
        &series,
        (
            &["pair", "seq", "subcarrier", "alice_db", "other_db"],
            &rows,
        ),
        "Alice vs Bob (and Eve) features",
        "Each dot is one subcarrier of one probe exchange (a subsample of at most 3000 \
                  per pair): Alice's measured amplitude on x, the other party's on y. Reciprocal \
                  measurements lie along a diagonal line (its offset is the radio chains' gain \
                  difference); the thinner the cloud, the fewer bit disagreements. Eve's cloud is \
                  wider: her channel is only partly correlated with Alice's.",
    )
}

fn correlation_figures(
    dir: &Path,
    a: &Amplitudes,
    b: &Amplitudes,
    e: Option<&Amplitudes>,
    rate_hz: f64,
) -> Result<Vec<Figure>, ReportError> {
    let ab = stats::correlation_per_column(a, b);
    let ae = e.map(|e| stats::correlation_per_column(a, e));
    let cols: Vec<f64> = a.columns.iter().map(|&c| f64::from(c)).collect();
    let pts = |v: &[Option<f64>]| -> Vec<(f64, f64)> {
        cols.iter()
            .zip(v)
            .filter_map(|(&x, r)| r.map(|r| (x, r)))
            .collect()
    };
    let series = pair_series(pts(&ab), ae.as_deref().map(pts));
    let rows: Vec<Vec<Cell>> = cols
        .iter()
        .enumerate()
        .map(|(j, &c)| {
            vec![
                Cell::from(c as i64),
                Cell::from(ab.get(j).copied().flatten()),
                Cell::from(ae.as_ref().and_then(|v| v.get(j).copied().flatten())),
            ]
        })
        .collect();
    let f1 = Figure::line_chart(
        dir,
        "correlation_subcarrier",
        &Axes {
            title: "Amplitude correlation per subcarrier".into(),
            x_label: "subcarrier index".into(),
            y_label: "Pearson correlation over time".into(),
            x_range: None,
            y_range: Some((-0.2, 1.05)),
        },
        &series,
        (&["subcarrier", "alice_bob", "alice_eve"], &rows),
        "Correlation per subcarrier",
        "Pearson correlation of the amplitude (dB) between two observers over the whole \
         run, for each subcarrier. Alice–Bob near 1 means the reciprocal channel gives \
         both the same randomness; Alice–Eve should be clearly lower (it follows \
         J0(2π d/λ)² for Rayleigh fading at distance d). The gap between the two curves \
         is the parties' advantage over Eve.",
    )?;
    let window = rate_hz.round().max(3.0) as usize;
    let ab_t = stats::correlation_over_time(a, b, window);
    let ae_t = e.map(|e| stats::correlation_over_time(a, e, window));
    let tpts = |v: &[(f64, Option<f64>)]| -> Vec<(f64, f64)> {
        v.iter().filter_map(|&(t, r)| r.map(|r| (t, r))).collect()
    };
    let series = pair_series(tpts(&ab_t), ae_t.as_deref().map(tpts));
    let rows: Vec<Vec<Cell>> = ab_t
        .iter()
        .enumerate()
        .map(|(i, &(t, r))| {
            vec![
                Cell::from(t),
                Cell::from(r),
                Cell::from(ae_t.as_ref().and_then(|v| v.get(i)).and_then(|x| x.1)),
            ]
        })
        .collect();
    let f2 = Figure::line_chart(
        dir,
        "correlation_time",
        &Axes {
            title: format!("Amplitude correlation over time ({window}-exchange windows)"),
            x_label: "time (s)".into(),
            y_label: "Pearson correlation in window".into(),
            x_range: None,
            y_range: Some((-0.2, 1.05)),
        },
        &series,
        (&["t_s", "alice_bob", "alice_eve"], &rows),
        "Correlation over time",
        &format!(
            "Correlation of the amplitude (dB) in consecutive windows of {window} paired \
             exchanges (about one second); each subcarrier's window mean is removed and all \
             subcarriers are pooled. Dips show stretches where the channel barely changed (little \
             fresh randomness, noise dominates) or where reciprocity broke down."
        ),
    )?;
    Ok(vec![f1, f2])
}

/// The Alice–Bob curve (blue) and, when Eve was observed, the Alice–Eve curve (red).
fn pair_series(ab: Vec<(f64, f64)>, ae: Option<Vec<(f64, f64)>>) -> Vec<Series> {
    let mut series = vec![Series::new("Alice–Bob", ab, palette::BLUE, Mark::LineDots)];
    if let Some(ae) = ae {
        series.push(Series::new("Alice–Eve", ae, palette::RED, Mark::LineDots));
    }
    series
}

fn block_figures(
    dir: &Path,
    blocks: &[BlockRecord],
    capacity_bps: Option<f64>,
) -> Result<Vec<Figure>, ReportError> {
    let mut figs = Vec::new();
    let xy = |f: &dyn Fn(&BlockRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        blocks
            .iter()
            .filter_map(|b| f(b).map(|y| (b.end_time_s, y)))
            .collect()
    };
    let x_label = "air time at block end (s)";
    // Disagreement.
    let name = "block_disagreement";
    let ab = xy(&|b| b.disagreement);
    let ae = xy(&|b| b.eve_disagreement);
    let mut series = vec![Series::new("Alice–Bob", ab, palette::BLUE, Mark::LineDots)];
    if !ae.is_empty() {
        series.push(Series::new("Alice–Eve", ae, palette::RED, Mark::LineDots));
    }
    series.push(Series::new(
        "chance (0.5)",
        vec![
            (0.0, 0.5),
            (blocks.last().map_or(1.0, |b| b.end_time_s), 0.5),
        ],
        palette::GREY,
        Mark::Reference,
    ));
    figs.push(Figure::line_chart(
        dir,
        name,
        &Axes {
            title: "Raw-bit disagreement per block, before reconciliation".into(),
            x_label: x_label.into(),
            y_label: "fraction of raw bits that differ".into(),
            x_range: None,
            y_range: Some((0.0, 0.6)),
        },
        &series,
        (
            &["block", "end_time_s", "alice_bob", "alice_eve"],
            &blocks
                .iter()
                .map(|b| {
                    vec![
                        Cell::from(u64::from(b.block)),
                        Cell::from(b.end_time_s),
                        Cell::from(b.disagreement),
                        Cell::from(b.eve_disagreement),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        "Bit disagreement per block",
        "Fraction of quantized bits that differ from Alice's before any reconciliation, \
                  per key block, for Bob and for Eve (her own measurement quantized exactly like \
                  Bob's, with the same public drop lists). Reconciliation has to correct Bob's \
                  disagreement; Eve's should be near 0.5 (a coin toss).",
    )?);
    // Leakage.
    let name = "block_leakage";
    let series = vec![
        Series::new(
            "leaked bits (sample + reconciliation + statistics)",
            xy(&|b| Some(b.leaked_bits as f64)),
            palette::ORANGE,
            Mark::LineDots,
        ),
        Series::new(
            "Shannon limit n·h2(e)",
            xy(&|b| Some(b.ideal_leak_bits)),
            palette::GREY,
            Mark::LineDots,
        ),
        Series::new(
            "final key bits",
            xy(&|b| Some(b.final_bits as f64)),
            palette::GREEN,
            Mark::LineDots,
        ),
    ];
    figs.push(Figure::line_chart(
        dir,
        name,
        &Axes {
            title: "Leakage and key bits per block".into(),
            x_label: x_label.into(),
            y_label: "bits per block".into(),
            x_range: None,
            y_range: None,
        },
        &series,
        (
            &[
                "block",
                "end_time_s",
                "raw_bits",
                "reconciled_bits",
                "errors",
                "leaked_bits",
                "ideal_leak_bits",
                "final_bits",
            ],
            &blocks
                .iter()
                .map(|b| {
                    vec![
                        Cell::from(u64::from(b.block)),
                        Cell::from(b.end_time_s),
                        Cell::from(b.raw_bits),
                        Cell::from(b.reconciled_bits),
                        Cell::from(b.errors),
                        Cell::from(b.leaked_bits),
                        Cell::from(b.ideal_leak_bits),
                        Cell::from(b.final_bits),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        "Leakage per block",
        "Bits disclosed on the public channel per block (the random sample used to \
                  estimate the disagreement, the reconciliation messages and the statistics) \
                  against the Shannon limit n·h2(e) for the block's n reconciled bits and error \
                  fraction e, and the final key bits the block gave after privacy amplification \
                  (0 for refused blocks).",
    )?);
    // Efficiency.
    let name = "block_efficiency";
    let eff = xy(&|b| b.efficiency);
    let t_end = blocks.last().map_or(1.0, |b| b.end_time_s);
    let series = vec![
        Series::new("efficiency f", eff, palette::BLUE, Mark::LineDots),
        Series::new(
            "f = 1 (Shannon limit)",
            vec![(0.0, 1.0), (t_end, 1.0)],
            palette::GREY,
            Mark::Reference,
        ),
    ];
    figs.push(Figure::line_chart(
        dir,
        name,
        &Axes {
            title: "Reconciliation efficiency per block".into(),
            x_label: x_label.into(),
            y_label: "f = leaked / (n·h2(e))".into(),
            x_range: None,
            y_range: None,
        },
        &series,
        (
            &["block", "end_time_s", "efficiency"],
            &blocks
                .iter()
                .map(|b| {
                    vec![
                        Cell::from(u64::from(b.block)),
                        Cell::from(b.end_time_s),
                        Cell::from(b.efficiency),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        "Efficiency per block",
        "f = leaked bits / (n·h2(e)) per block with errors; f = 1 is the Shannon limit. \
                  The leaked count includes the disclosed sample, so short blocks with few \
                  errors show f well above the reconciler's own efficiency (see the BSC sweep).",
    )?);
    // Key bits over time.
    let name = "key_bits";
    let mut cum = 0u64;
    let mut key_pts = vec![(0.0, 0.0)];
    let mut rows = Vec::new();
    for b in blocks {
        cum += b.final_bits;
        key_pts.push((b.end_time_s, cum as f64));
        rows.push(vec![
            Cell::from(u64::from(b.block)),
            Cell::from(b.end_time_s),
            Cell::from(b.final_bits),
            Cell::from(cum),
            Cell::from(capacity_bps.map(|c| c * b.end_time_s)),
        ]);
    }
    let mut series = vec![Series::new(
        "final key bits (cumulative)",
        key_pts,
        palette::GREEN,
        Mark::LineDots,
    )];
    if let Some(c) = capacity_bps {
        series.push(Series::new(
            &format!("capacity estimate × time ({c:.0} bit/s)"),
            vec![(0.0, 0.0), (t_end, c * t_end)],
            palette::GREY,
            Mark::Reference,
        ));
    }
    plot::chart(
        &dir.join(format!("{name}.png")),
        &Axes {
            title: "Final key bits over time".into(),
            x_label: x_label.into(),
            y_label: "key bits (cumulative)".into(),
            x_range: None,
            y_range: None,
        },
        &series,
    )?;
    csv::write(
        &dir.join(format!("{name}.csv")),
        &[
            "block",
            "end_time_s",
            "final_bits",
            "cumulative_bits",
            "capacity_bits",
        ],
        &rows,
    )?;
    figs.push(Figure {
        name: name.into(),
        title: "Key rate".into(),
        caption: format!(
            "Cumulative confirmed key bits against air time; the slope is the key rate. {}",
            if capacity_bps.is_some() {
                "The grey line is the simulator's secret-key capacity estimate times time: the \
                 most any scheme could extract from this channel (given Eve's correlation)."
            } else {
                "A recorded trace gives no capacity estimate."
            }
        ),
    });
    Ok(figs)
}

/// Writes the report of one run into `dir`: PNG + CSV per figure and
/// `index.html`. Returns the run's machine-readable report.
///
/// # Errors
/// Input, font, drawing and file errors ([`ReportError`]).
pub fn report_run(input: &RunInput, opts: &RunOptions, dir: &Path) -> Result<Report, ReportError> {
    super::prepare_dir(dir)?;
    plot::ensure_font()?;
    let (data, cfg) = match input {
        RunInput::Trace(p) => (sim::from_file(p)?, opts.session.clone()),
        RunInput::Simulated(s) => (
            sim::simulate(&s.scenario, s.seconds, s.seed, opts.progress)?,
            s.session.clone(),
        ),
    };
    let an = analyse(data, &cfg, opts.progress)?;
    let t = &an.data.trace;
    let amp = |name: &str| t.party(name).map(|p| stats::amplitudes(t, p));
    let (Some(a), Some(b)) = (amp("alice"), amp("bob")) else {
        return Err(ReportError::Input("needs `alice` and `bob`".into()));
    };
    let e = an.eves.first().and_then(|(n, _)| amp(n));
    let mut figures = Vec::new();
    let mut parties = vec![("Alice", &a), ("Bob", &b)];
    if let Some(e) = &e {
        parties.push(("Eve", e));
    }
    figures.push(heat_figure(dir, &parties)?);
    figures.push(scatter_figure(dir, &a, &b, e.as_ref())?);
    figures.extend(correlation_figures(
        dir,
        &a,
        &b,
        e.as_ref(),
        an.data.rate_hz,
    )?);
    let eve_blocks = an.eves.first().map(|e| e.1.as_slice()).unwrap_or(&[]);
    let blocks = stats::block_records(&an.outcome, eve_blocks, an.data.rate_hz);
    figures.extend(block_figures(dir, &blocks, an.data.capacity_bps)?);
    if opts.bsc_frames > 0 {
        let points = bsc_sweep::sweep(
            &bsc_sweep::DEFAULT_QBERS,
            bsc_sweep::DEFAULT_BITS,
            opts.bsc_frames,
            opts.progress,
        )?;
        figures.push(bsc_sweep::figure(dir, &points)?);
    }
    let summary = an.report.summary();
    html::write_index(
        dir,
        "qwave key-generation report",
        &[html::Section {
            heading: "Run".into(),
            paragraphs: vec![format!(
                "Source: {}. Reconciler: {}. Figures are PNG; every figure's numbers are in the \
                 CSV file of the same name.",
                an.data.source, an.report.reconciler
            )],
            pre: Some(summary),
        }],
        &figures,
    )?;
    Ok(an.report)
}
