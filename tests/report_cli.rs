//! `qwave report` end to end through the binary: a simulated walk run and an
//! HDF5 trace written by `qwave sound`; every figure is a real PNG and every
//! CSV has the expected columns and rows.

use std::path::{Path, PathBuf};
use std::process::Command;

const RUN_FIGURES: [&str; 8] = [
    "amplitude_heatmaps",
    "feature_scatter",
    "correlation_subcarrier",
    "correlation_time",
    "block_disagreement",
    "block_leakage",
    "block_efficiency",
    "key_bits",
];

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qwave-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn qwave(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_qwave"))
        .args(args)
        .output()
        .expect("run qwave");
    assert!(
        out.status.success(),
        "qwave {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// PNG signature and an IHDR of at least `min_w` × `min_h`.
fn check_png(path: &Path, min_w: u32, min_h: u32) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(&b[12..16], b"IHDR");
    let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
    assert!(w >= min_w && h >= min_h, "{}: {w}×{h}", path.display());
    // A blank image compresses to almost nothing; a drawn chart does not.
    assert!(
        b.len() > 8_000,
        "{}: only {} bytes",
        path.display(),
        b.len()
    );
}

/// Header and rows of a CSV without quoted fields.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let s = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = s.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), header.len(), "{} row {i}", path.display());
    }
    (header, rows)
}

fn col(header: &[String], rows: &[Vec<String>], name: &str) -> Vec<Option<f64>> {
    let j = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    rows.iter().map(|r| r[j].parse::<f64>().ok()).collect()
}

fn mean(v: &[Option<f64>]) -> f64 {
    let x: Vec<f64> = v.iter().flatten().copied().collect();
    assert!(!x.is_empty());
    x.iter().sum::<f64>() / x.len() as f64
}

fn check_run_figures(dir: &Path, with_eve: bool) {
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    for f in RUN_FIGURES {
        check_png(&dir.join(format!("{f}.png")), 800, 500);
        assert!(dir.join(format!("{f}.csv")).exists(), "{f}.csv");
        assert!(
            html.contains(&format!("src=\"{f}.png\"")),
            "{f} not in index.html"
        );
        assert!(html.contains(&format!("href=\"{f}.csv\"")));
    }
    // One row per subcarrier; Bob's channel tracks Alice's better than Eve's.
    let (h, rows) = read_csv(&dir.join("correlation_subcarrier.csv"));
    assert_eq!(h, ["subcarrier", "alice_bob", "alice_eve"]);
    assert_eq!(rows.len(), 52);
    let sc = col(&h, &rows, "subcarrier");
    assert_eq!(sc.first(), Some(&Some(-26.0)));
    assert_eq!(sc.last(), Some(&Some(26.0)));
    let ab = mean(&col(&h, &rows, "alice_bob"));
    assert!(ab > 0.8, "Alice–Bob correlation {ab}");
    if with_eve {
        let ae = mean(&col(&h, &rows, "alice_eve"));
        assert!(ab > ae + 0.2, "Alice–Bob {ab} vs Alice–Eve {ae}");
    }
    // Per-block CSVs agree on the block count.
    let (h, blocks) = read_csv(&dir.join("block_disagreement.csv"));
    assert_eq!(h, ["block", "end_time_s", "alice_bob", "alice_eve"]);
    assert!(!blocks.is_empty());
    for d in col(&h, &blocks, "alice_bob") {
        let d = d.expect("Bob's raw bits are kept");
        assert!((0.0..0.3).contains(&d), "disagreement {d}");
    }
    for f in ["block_leakage", "block_efficiency", "key_bits"] {
        let (_, r) = read_csv(&dir.join(format!("{f}.csv")));
        assert_eq!(r.len(), blocks.len(), "{f}.csv rows");
    }
    let (h, r) = read_csv(&dir.join("key_bits.csv"));
    let cum = col(&h, &r, "cumulative_bits");
    assert!(cum.windows(2).all(|w| w[0] <= w[1]));
    // Heat map: every party × plotted probe × subcarrier.
    let (h, r) = read_csv(&dir.join("amplitude_heatmaps.csv"));
    assert_eq!(h, ["party", "seq", "t_s", "subcarrier", "amplitude_db"]);
    assert_eq!(r.len() % 52, 0);
    let parties: std::collections::BTreeSet<&str> = r.iter().map(|x| x[0].as_str()).collect();
    assert_eq!(parties.len(), if with_eve { 3 } else { 2 }, "{parties:?}");
}

#[test]
fn report_on_a_simulated_walk() {
    let dir = scratch("walk");
    let out = qwave(&[
        "report",
        "--scenario",
        "walk",
        "--seconds",
        "10",
        "--bsc-frames",
        "1",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["probes"], 1000);
    assert!(report["final_key_bits"].as_u64().unwrap() > 0);
    check_run_figures(&dir, true);
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("simulated scenario `walk`"));
    // BSC sweep: both reconcilers at every Q, efficiency above the Shannon limit.
    check_png(&dir.join("bsc_efficiency.png"), 800, 500);
    let (h, r) = read_csv(&dir.join("bsc_efficiency.csv"));
    assert_eq!(r.len(), 2 * 7);
    let kinds: Vec<&str> = r.iter().map(|x| x[0].as_str()).collect();
    assert!(kinds.contains(&"cascade") && kinds.contains(&"ldpc"));
    for f in col(&h, &r, "efficiency").into_iter().flatten() {
        assert!(f > 0.9 && f < 2.5, "efficiency {f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_on_a_sounded_hdf5_trace() {
    let dir = scratch("trace");
    let trace = dir.join("walk.h5");
    qwave(&[
        "sound",
        "--scenario",
        "walk",
        "--seconds",
        "8",
        "--seed",
        "4",
        "--out",
        trace.to_str().unwrap(),
    ]);
    let out_dir = dir.join("report");
    qwave(&[
        "report",
        trace.to_str().unwrap(),
        "--bsc-frames",
        "0",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    check_run_figures(&out_dir, true);
    assert!(!out_dir.join("bsc_efficiency.png").exists());
    let html = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert!(html.contains("walk.h5"), "the page names its trace");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_refuses_bad_input_with_a_reason() {
    let dir = scratch("bad");
    let junk = dir.join("junk.h5");
    std::fs::write(&junk, b"not an hdf5 file").unwrap();
    let run = |args: &[&str], env: Option<(&str, &str)>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_qwave"));
        c.args(args);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert!(!o.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let out = dir.join("o");
    let o = out.to_str().unwrap();
    let e = run(&["report", junk.to_str().unwrap(), "--out", o], None);
    assert!(e.contains("junk.h5"), "{e}");
    let e = run(&["report", "--out", o], None);
    assert!(e.contains("--scenario"), "{e}");
    let e = run(
        &["report", "--scenario", "walk", "--seconds", "1", "--out", o],
        Some(("QWAVE_REPORT_FONT", "/nonexistent/font.ttf")),
    );
    assert!(e.contains("fonts-dejavu-core"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
