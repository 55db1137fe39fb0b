//! SigMF recordings and raw IQ files: round trips, annotations, typed errors.

use std::path::{Path, PathBuf};

use num_complex::Complex32;
use qwave::capture::{
    parse_sigmf_meta, read_raw_iq, read_sigmf, sigmf_paths, write_sigmf, Annotation, CaptureError,
    SigmfDatatype, SigmfMeta,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn base(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("capture_sigmf_{name}"))
}

fn probe(start: u64, seq: u64, dir: &str) -> Annotation {
    Annotation {
        sample_start: start,
        sample_count: 400,
        label: "probe".into(),
        seq: Some(seq),
        direction: Some(dir.into()),
    }
}

fn meta(datatype: SigmfDatatype) -> SigmfMeta {
    SigmfMeta {
        datatype,
        sample_rate: 20e6,
        frequency: Some(2.412e9),
        description: Some("qwave test recording".into()),
        hw: Some("simulated radio".into()),
        annotations: vec![
            probe(100, 0, "tx"),
            probe(1000, 0, "rx"),
            Annotation {
                sample_start: 1500,
                sample_count: 10,
                label: String::new(),
                seq: None,
                direction: None,
            },
            probe(2000, 1, "tx"),
        ],
    }
}

fn random_samples(seed: u64, n: usize, scale: f32) -> Vec<Complex32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            Complex32::new(
                scale * (2.0 * rng.random::<f32>() - 1.0),
                scale * (2.0 * rng.random::<f32>() - 1.0),
            )
        })
        .collect()
}

#[test]
fn cf32_round_trip_is_exact_with_annotations() {
    let m = meta(SigmfDatatype::Cf32Le);
    let samples = random_samples(1, 3000, 3.0); // cf32 keeps values beyond ±1
    let b = base("cf32");
    write_sigmf(&b, &m, &samples).unwrap();
    let (meta_path, data_path) = sigmf_paths(&b);
    assert_eq!(std::fs::metadata(&data_path).unwrap().len(), 3000 * 8);
    // Readable from base, meta path and data path alike.
    for p in [b.clone(), meta_path, data_path] {
        let (m2, s2) = read_sigmf(&p).unwrap();
        assert_eq!(m2, m);
        assert_eq!(s2, samples);
    }
}

#[test]
fn ci16_round_trip_quantizes_to_1_over_32768() {
    let m = meta(SigmfDatatype::Ci16Le);
    // Values on the int16 grid come back exactly.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let grid: Vec<Complex32> = (0..2000)
        .map(|_| {
            let i = rng.random::<i16>();
            let q = rng.random::<i16>();
            Complex32::new(f32::from(i) / 32768.0, f32::from(q) / 32768.0)
        })
        .collect();
    let b = base("ci16_grid");
    write_sigmf(&b, &m, &grid).unwrap();
    let (m2, s2) = read_sigmf(&b).unwrap();
    assert_eq!(m2, m);
    assert_eq!(s2, grid);
    assert_eq!(
        std::fs::metadata(sigmf_paths(&b).1).unwrap().len(),
        2000 * 4
    );

    // Arbitrary values within ±1: error at most half a step; beyond: saturate.
    let mut any = random_samples(3, 1000, 1.0);
    any.push(Complex32::new(1.5, -1.5));
    let b = base("ci16_any");
    write_sigmf(&b, &m, &any).unwrap();
    let (_, s3) = read_sigmf(&b).unwrap();
    for (x, y) in any.iter().zip(&s3).take(1000) {
        assert!((x - y).norm() <= 1.0 / 32768.0, "{x} vs {y}");
    }
    assert_eq!(s3[1000], Complex32::new(32767.0 / 32768.0, -1.0));
}

#[test]
fn annotations_are_written_sorted_and_keep_qwave_fields() {
    let mut m = meta(SigmfDatatype::Cf32Le);
    m.annotations.reverse();
    let json: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
    let starts: Vec<u64> = json["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["core:sample_start"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, [100, 1000, 1500, 2000]);
    assert_eq!(json["annotations"][1]["qwave:direction"], "rx");
    assert_eq!(json["annotations"][3]["qwave:seq"], 1);
    assert_eq!(json["annotations"][0]["core:label"], "probe");
    assert_eq!(json["global"]["core:datatype"], "cf32_le");
    assert_eq!(json["global"]["core:extensions"][0]["name"], "qwave");
    assert_eq!(json["captures"][0]["core:frequency"], 2.412e9);
    let back = parse_sigmf_meta(&m.to_json()).unwrap();
    m.annotations.reverse();
    assert_eq!(back, m);
}

#[test]
fn foreign_meta_with_extra_fields_is_read() {
    let text = r#"{
      "global": {"core:datatype": "ci16_le", "core:sample_rate": 20000000,
                 "core:version": "1.0.0", "core:num_channels": 1, "core:author": "x"},
      "captures": [{"core:sample_start": 0, "core:frequency": 5180000000,
                    "core:datetime": "2024-01-01T00:00:00Z"}],
      "annotations": [{"core:sample_start": 5, "core:sample_count": 7, "core:comment": "hi"}]
    }"#;
    let m = parse_sigmf_meta(text).unwrap();
    assert_eq!(m.datatype, SigmfDatatype::Ci16Le);
    assert_eq!(m.sample_rate, 20e6);
    assert_eq!(m.frequency, Some(5.18e9));
    assert_eq!(m.annotations[0].sample_count, 7);
    assert_eq!(m.annotations[0].label, "");
    assert_eq!(m.annotations[0].seq, None);
}

fn schema_what(r: Result<SigmfMeta, CaptureError>) -> String {
    match r {
        Err(CaptureError::Schema { what, .. }) => what,
        other => panic!("expected Schema, got {other:?}"),
    }
}

#[test]
fn bad_meta_gives_typed_errors() {
    assert!(matches!(
        parse_sigmf_meta(r#"{"global": {"core:datatype": "cf32_le""#),
        Err(CaptureError::Json { .. })
    ));
    assert!(matches!(
        parse_sigmf_meta(""),
        Err(CaptureError::Json { .. })
    ));
    let missing = schema_what(parse_sigmf_meta(r#"{"global": {"core:sample_rate": 1e6}}"#));
    assert!(missing.contains("core:datatype is missing"), "{missing}");
    for (dt, name) in [
        ("\"ri16_le\"", "ri16_le"),
        ("\"cf32_be\"", "cf32_be"),
        ("\"cu8\"", "cu8"),
    ] {
        let text = format!(r#"{{"global": {{"core:datatype": {dt}, "core:sample_rate": 1e6}}}}"#);
        match parse_sigmf_meta(&text) {
            Err(CaptureError::Datatype(d)) => assert_eq!(d, name),
            other => panic!("expected Datatype({name}), got {other:?}"),
        }
    }
    assert!(matches!(
        "cf64_le".parse::<SigmfDatatype>(),
        Err(CaptureError::Datatype(_))
    ));
    let cases = [
        (r#"[1, 2]"#, "not a JSON object"),
        (r#"{"captures": []}"#, "`global` is missing"),
        (
            r#"{"global": {"core:datatype": 5, "core:sample_rate": 1}}"#,
            "not a string",
        ),
        (
            r#"{"global": {"core:datatype": "cf32_le"}}"#,
            "core:sample_rate is missing",
        ),
        (
            r#"{"global": {"core:datatype": "cf32_le", "core:sample_rate": -1}}"#,
            "not a positive",
        ),
        (
            r#"{"global": {"core:datatype": "cf32_le", "core:sample_rate": 1}, "captures": {}}"#,
            "`captures` is not an array",
        ),
        (
            r#"{"global": {"core:datatype": "cf32_le", "core:sample_rate": 1},
                "captures": [{"core:frequency": "2.4G"}]}"#,
            "core:frequency",
        ),
        (
            r#"{"global": {"core:datatype": "cf32_le", "core:sample_rate": 1},
                "annotations": [{"core:sample_start": 0, "core:sample_count": 1},
                                {"core:sample_start": 4}]}"#,
            "annotations[1] core:sample_count is missing",
        ),
        (
            r#"{"global": {"core:datatype": "cf32_le", "core:sample_rate": 1},
                "annotations": [{"core:sample_start": -4, "core:sample_count": 1}]}"#,
            "annotations[0] core:sample_start -4 is not a non-negative integer",
        ),
        (
            r#"{"global": {"core:datatype": "cf32_le", "core:sample_rate": 1},
                "annotations": [{"core:sample_start": 0, "core:sample_count": 1, "qwave:seq": "x"}]}"#,
            "qwave:seq",
        ),
    ];
    for (text, want) in cases {
        let what = schema_what(parse_sigmf_meta(text));
        assert!(what.contains(want), "{want:?} not in {what:?}");
    }
}

#[test]
fn file_errors_are_typed_and_name_the_file() {
    let m = meta(SigmfDatatype::Ci16Le);
    let b = base("truncated");
    write_sigmf(&b, &m, &random_samples(4, 10, 0.5)).unwrap();
    let (meta_path, data_path) = sigmf_paths(&b);
    let mut bytes = std::fs::read(&data_path).unwrap();
    bytes.extend_from_slice(&[1, 2, 3]);
    std::fs::write(&data_path, &bytes).unwrap();
    match read_sigmf(&b) {
        Err(CaptureError::Truncated {
            path,
            len,
            sample_size,
        }) => {
            assert_eq!((path, len, sample_size), (data_path.clone(), 43, 4));
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert!(matches!(
        read_raw_iq(&data_path, SigmfDatatype::Ci16Le),
        Err(CaptureError::Truncated { .. })
    ));
    // 43 bytes is not a multiple of 8 either.
    assert!(matches!(
        read_raw_iq(&data_path, SigmfDatatype::Cf32Le),
        Err(CaptureError::Truncated { .. })
    ));

    std::fs::remove_file(&data_path).unwrap();
    match read_sigmf(&meta_path) {
        Err(CaptureError::Io { path, .. }) => assert_eq!(path, data_path),
        other => panic!("expected Io, got {other:?}"),
    }
    std::fs::write(&meta_path, "{ not json").unwrap();
    match read_sigmf(&b) {
        Err(CaptureError::Json { path, .. }) => assert_eq!(path, meta_path),
        other => panic!("expected Json, got {other:?}"),
    }
    assert!(matches!(
        read_sigmf(&base("never_written")),
        Err(CaptureError::Io { .. })
    ));
}

#[test]
fn raw_iq_decodes_little_endian() {
    let path = base("raw.dat");
    // I = 16384 (0.5), Q = -32768 (-1.0), then I = 1, Q = -1.
    std::fs::write(&path, [0x00, 0x40, 0x00, 0x80, 0x01, 0x00, 0xff, 0xff]).unwrap();
    let s = read_raw_iq(&path, SigmfDatatype::Ci16Le).unwrap();
    assert_eq!(
        s,
        [
            Complex32::new(0.5, -1.0),
            Complex32::new(1.0 / 32768.0, -1.0 / 32768.0)
        ]
    );
    let s = read_raw_iq(&path, SigmfDatatype::Cf32Le).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].re, f32::from_le_bytes([0x00, 0x40, 0x00, 0x80]));
    std::fs::write(&path, b"").unwrap();
    assert!(read_raw_iq(&path, SigmfDatatype::Cf32Le)
        .unwrap()
        .is_empty());
}

/// The openofdm recordings in `../shared/data/wifi-iq` (when present) are raw `ci16_le`.
#[test]
fn real_wifi_iq_files_read_as_ci16() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/wifi-iq");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} not present", dir.display());
        return;
    };
    let mut files = 0;
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "dat") {
            let len = std::fs::metadata(&p).unwrap().len();
            let s = read_raw_iq(&p, SigmfDatatype::Ci16Le).unwrap();
            assert_eq!(s.len() as u64, len / 4);
            let peak = s.iter().map(|c| c.norm()).fold(0.0f32, f32::max);
            assert!(peak > 0.0 && peak <= std::f32::consts::SQRT_2);
            println!(
                "{}: {} samples ({:.2} ms at 20 MS/s), peak {peak:.3}",
                p.display(),
                s.len(),
                s.len() as f64 / 20e3
            );
            files += 1;
        }
    }
    assert!(files > 0, "no .dat files in {}", dir.display());
}

/// serde_json needs `float_roundtrip` for this (found by the proptest).
#[test]
fn sample_rate_round_trips_bit_exactly() {
    let mut m = meta(SigmfDatatype::Cf32Le);
    m.sample_rate = 90676854.73304589;
    m.frequency = Some(2.4120000000000004e9);
    assert_eq!(parse_sigmf_meta(&m.to_json()).unwrap(), m);
}

#[test]
fn unwritable_meta_is_refused_before_writing() {
    for (rate, freq) in [
        (f64::NAN, None),
        (0.0, None),
        (-1.0, None),
        (1e6, Some(f64::INFINITY)),
    ] {
        let mut m = meta(SigmfDatatype::Cf32Le);
        m.sample_rate = rate;
        m.frequency = freq;
        let b = base("refused");
        assert!(
            matches!(write_sigmf(&b, &m, &[]), Err(CaptureError::Invalid(_))),
            "{rate} {freq:?}"
        );
        assert!(!sigmf_paths(&b).0.exists());
    }
}
