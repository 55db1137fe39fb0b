//! RSSI text logs: parsing rules, errors naming the line, the real USRP data set,
//! and conversion into an RSSI trace.

use std::path::{Path, PathBuf};

use qwave::capture::{
    pair_by_seq, parse_rssi_text, read_trace, rssi_pair_to_trace, write_trace, CaptureError,
    TraceKind,
};

fn parse_error(text: &str) -> (usize, String) {
    match parse_rssi_text(text) {
        Err(CaptureError::Parse { line, what }) => (line, what),
        other => panic!("expected Parse error for {text:?}, got {other:?}"),
    }
}

#[test]
fn one_column_with_decimal_comma_or_point() {
    let v = parse_rssi_text("-32,144\n-21,462\r\n\n# comment\n-18.686\n  -7  \n-1e1\n").unwrap();
    assert_eq!(v, [-32.144, -21.462, -18.686, -7.0, -10.0]);
    assert!(parse_rssi_text("").unwrap().is_empty());
}

#[test]
fn two_columns_take_the_second() {
    let tab = parse_rssi_text("0\t-32,5\n1\t-30,25\n").unwrap();
    let space = parse_rssi_text("0.000 -32.5\n0.010   -30.25\n").unwrap();
    let semi = parse_rssi_text("0;-32,5\n1;-30,25\n").unwrap();
    let csv = parse_rssi_text("0,-32.5\n1,-30.25\n").unwrap();
    let csv_int = parse_rssi_text("0,-32\n1,-30\n").unwrap(); // "0.-32" is no number: CSV
    for v in [&tab, &space, &semi, &csv] {
        assert_eq!(v, &[-32.5, -30.25]);
    }
    assert_eq!(csv_int, [-32.0, -30.0]);
}

#[test]
fn errors_name_the_line() {
    assert_eq!(parse_error("-1,0\n-2,0\nabc\n").0, 3);
    let (line, what) = parse_error("-1\n\n-2 -3\n");
    assert_eq!(line, 3);
    assert!(what.contains("first data line has 1"), "{what}");
    let (line, what) = parse_error("1 2 3\n");
    assert_eq!(line, 1);
    assert!(what.contains("3 columns"), "{what}");
    assert_eq!(parse_error("-1\nNaN\n").0, 2);
    assert_eq!(parse_error("inf\n").0, 1);
    let (line, what) = parse_error("-1\n1e39\n"); // overflows f32 too, but f64 is finite
    assert_eq!(line, 2);
    assert!(what.contains("finite"), "{what}");
    assert_eq!(parse_error("-1,2,3\n").0, 1);
    assert_eq!(parse_error("--5\n").0, 1);
}

fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/usrp-rssi")
}

fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().map(|x| f64::from(*x)).sum::<f64>() / n;
    let mb = b.iter().map(|x| f64::from(*x)).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (f64::from(*x) - ma, f64::from(*y) - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt()
}

/// Reads `../shared/data/usrp-rssi/RSSI_SDR{1,2}.txt` when present (CI has them).
#[test]
fn real_usrp_rssi_logs_are_reciprocal() {
    let dir = shared_data();
    let (Ok(t1), Ok(t2)) = (
        std::fs::read_to_string(dir.join("RSSI_SDR1.txt")),
        std::fs::read_to_string(dir.join("RSSI_SDR2.txt")),
    ) else {
        eprintln!("skipped: {} not present", dir.display());
        return;
    };
    let a = parse_rssi_text(&t1).unwrap();
    let b = parse_rssi_text(&t2).unwrap();
    assert_eq!(a.len(), b.len());
    assert!(a.len() > 1000);
    assert_eq!(a[0], -32.144);
    assert_eq!(b[0], -28.370);
    let r = pearson(&a, &b);
    println!("usrp-rssi: {} exchanges, Pearson r = {r:.4}", a.len());
    assert!((0.70..0.82).contains(&r), "Pearson {r} not ≈ 0.76");

    // Into a trace and through HDF5.
    let trace = rssi_pair_to_trace(&a, &b, "usrp-rssi RSSI_SDR1/2.txt");
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capture_rssi_usrp.h5");
    write_trace(&path, &trace).unwrap();
    let back = read_trace(&path).unwrap();
    let (alice, bob) = (back.party("alice").unwrap(), back.party("bob").unwrap());
    assert_eq!(alice.rssi, a);
    assert_eq!(bob.rssi, b);
    assert_eq!(pair_by_seq(alice, bob).len(), a.len());
}

#[test]
fn rssi_pair_to_trace_keeps_unpaired_rows() {
    let trace = rssi_pair_to_trace(&[-30.0, -31.0, -32.0], &[-29.0, -30.5], "t");
    trace.validate().unwrap();
    assert_eq!(trace.kind, TraceKind::Rssi);
    assert!(trace.center_frequency_hz.is_nan());
    let (alice, bob) = (trace.party("alice").unwrap(), trace.party("bob").unwrap());
    assert_eq!(alice.seq, [0, 1, 2]);
    assert_eq!(bob.seq, [0, 1]);
    assert!(alice.t.iter().all(|t| t.is_nan()));
    assert_eq!(pair_by_seq(alice, bob), [(0, 0), (1, 1)]);
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capture_rssi_pair.h5");
    write_trace(&path, &trace).unwrap();
    let back = read_trace(&path).unwrap();
    assert!(back.center_frequency_hz.is_nan());
    assert_eq!(back.party("alice").unwrap().rssi, alice.rssi);
    assert_eq!(back.party("bob").unwrap().seq, bob.seq);
}
