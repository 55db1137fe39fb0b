//! Interoperability with the Python reference tools: h5py reads our traces and
//! writes traces we read; the `sigmf` package validates our recordings.
//!
//! Each test runs when the interpreter (`QWAVE_PYTHON`, default `python3`) has
//! the module it needs and otherwise prints that it skipped. These tests live in
//! their own binary and one at a time: a child process inherits open HDF5 file
//! descriptors (and their locks), which would disturb HDF5 tests running in
//! parallel threads.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use num_complex::Complex32;
use qwave::capture::{
    read_trace, write_sigmf, write_trace, Annotation, CsiTrace, PartyTrace, SigmfDatatype,
    SigmfMeta, TraceKind,
};

/// Serializes the tests of this binary (see the module comment on inherited descriptors).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn python_with(module: &str) -> Option<String> {
    let python = std::env::var("QWAVE_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(python)
    } else {
        eprintln!("skipped: {python} has no {module} (set QWAVE_PYTHON to a python with it)");
        None
    }
}

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("capture_python_{name}"))
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

fn run(python: &str, args: &[&Path]) -> Output {
    let out = Command::new(python).args(args).output().unwrap();
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn small_trace(kind: TraceKind) -> CsiTrace {
    let sc: Vec<i16> = vec![-2, -1, 1, 2];
    let party = |name: &str, seq: Vec<u64>| {
        let n = seq.len();
        let mut p = PartyTrace {
            t: seq.iter().map(|s| *s as f64 / 100.0).collect(),
            seq,
            ..PartyTrace::new(name)
        };
        match kind {
            TraceKind::Csi => {
                p.subcarriers = sc.clone();
                p.csi = (0..n * 4)
                    .map(|i| Complex32::new(i as f32, -(i as f32) / 2.0))
                    .collect();
            }
            TraceKind::Rssi => p.rssi = (0..n).map(|i| -40.0 - i as f32).collect(),
        }
        p
    };
    let mut eve = party("eve", vec![0, 2, 3]);
    eve.observes = Some("bob".into());
    CsiTrace {
        kind,
        center_frequency_hz: 2.412e9,
        bandwidth_hz: Some(20e6),
        source: "capture_python test".into(),
        parties: vec![
            party("alice", vec![0, 1, 3]),
            party("bob", vec![0, 1, 2]),
            eve,
        ],
    }
}

#[test]
fn h5py_check_script_accepts_written_traces_and_rejects_broken_ones() {
    let _serial = serial();
    let Some(py) = python_with("h5py") else {
        return;
    };
    for kind in [TraceKind::Csi, TraceKind::Rssi] {
        let path = tmp(&format!("{}.h5", kind.as_str()));
        write_trace(&path, &small_trace(kind)).unwrap();
        assert!(run(&py, &[&script("check-trace.py"), &path])
            .status
            .success());
    }
    let bad = tmp("bad.h5");
    write_trace(&bad, &small_trace(TraceKind::Csi)).unwrap();
    {
        let f = hdf5::File::open_rw(&bad).unwrap();
        f.unlink("bob/subcarriers").unwrap();
        f.close().unwrap();
    }
    assert!(!run(&py, &[&script("check-trace.py"), &bad])
        .status
        .success());
}

#[test]
fn trace_written_by_h5py_is_read() {
    let _serial = serial();
    let Some(py) = python_with("h5py") else {
        return;
    };
    let path = tmp("from_h5py.h5");
    let code = r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["format"] = "qwave-csi-trace"
    f.attrs["version"] = 1
    f.attrs["kind"] = "csi"
    f.attrs["center_frequency_hz"] = 5.18e9
    f.attrs["source"] = "h5py"
    for name, seq in (("alice", [0, 1, 2]), ("bob", [1, 2]), ("eve", [2])):
        g = f.create_group(name)
        g["seq"] = np.array(seq, dtype=np.uint64)
        g["t"] = np.array(seq, dtype=np.float64) * 0.5
        g["subcarriers"] = np.array([-1, 1, 2], dtype=np.int16)
        g["csi"] = (np.arange(len(seq) * 3).reshape(len(seq), 3) * (1 + 2j)).astype(np.complex64)
    f["eve"].attrs["observes"] = "bob"
"#;
    let out = Command::new(&py)
        .args(["-c", code])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = read_trace(&path).unwrap();
    assert_eq!(t.kind, TraceKind::Csi);
    assert_eq!(t.center_frequency_hz, 5.18e9);
    assert_eq!(t.bandwidth_hz, None);
    assert_eq!(t.source, "h5py");
    let bob = t.party("bob").unwrap();
    assert_eq!(bob.seq, [1, 2]);
    assert_eq!(bob.t, [0.5, 1.0]);
    assert_eq!(bob.subcarriers, [-1, 1, 2]);
    assert_eq!(bob.csi[4], Complex32::new(4.0, 8.0));
    assert_eq!(t.party("eve").unwrap().observes.as_deref(), Some("bob"));
}

#[test]
fn sigmf_package_validates_written_recordings() {
    let _serial = serial();
    let Some(py) = python_with("sigmf") else {
        return;
    };
    for dt in [SigmfDatatype::Ci16Le, SigmfDatatype::Cf32Le] {
        let meta = SigmfMeta {
            datatype: dt,
            sample_rate: 20e6,
            frequency: Some(2.412e9),
            description: Some("qwave probe exchange".into()),
            hw: Some("sim".into()),
            annotations: (0..4)
                .map(|i| Annotation {
                    sample_start: 100 + 500 * i,
                    sample_count: 320,
                    label: "probe".into(),
                    seq: Some(i / 2),
                    direction: Some(if i % 2 == 0 { "tx" } else { "rx" }.into()),
                })
                .collect(),
        };
        let samples: Vec<Complex32> = (0..2400)
            .map(|i| Complex32::from_polar(0.5, i as f32 * 0.1))
            .collect();
        let base = tmp(&format!("rec_{dt}"));
        write_sigmf(&base, &meta, &samples).unwrap();
        assert!(run(&py, &[&script("check_sigmf.py"), &base])
            .status
            .success());
    }
    // An annotation past the end of the data is refused by the script.
    let base = tmp("rec_bad");
    let meta = SigmfMeta {
        datatype: SigmfDatatype::Cf32Le,
        sample_rate: 1e6,
        frequency: None,
        description: None,
        hw: None,
        annotations: vec![Annotation {
            sample_start: 90,
            sample_count: 20,
            label: "probe".into(),
            seq: Some(0),
            direction: None,
        }],
    };
    write_sigmf(&base, &meta, &[Complex32::new(0.0, 0.0); 100]).unwrap();
    assert!(!run(&py, &[&script("check_sigmf.py"), &base])
        .status
        .success());
    // And the SigMF JSON schema itself is applied: a numeric label is refused.
    let (meta_path, _) = qwave::capture::sigmf_paths(&tmp("rec_cf32_le"));
    let text = std::fs::read_to_string(&meta_path).unwrap();
    let broken = text.replacen("\"core:label\": \"probe\"", "\"core:label\": 7", 1);
    assert_ne!(broken, text);
    std::fs::write(&meta_path, broken).unwrap();
    let out = run(&py, &[&script("check_sigmf.py"), &meta_path]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ValidationError"));
}

#[test]
fn usrp_rssi_to_h5_output_is_read() {
    let _serial = serial();
    let Some(py) = python_with("h5py") else {
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/usrp-rssi");
    let (s1, s2) = (dir.join("RSSI_SDR1.txt"), dir.join("RSSI_SDR2.txt"));
    if !s1.exists() || !s2.exists() {
        eprintln!("skipped: {} not present", dir.display());
        return;
    }
    let out = tmp("usrp.h5");
    assert!(run(&py, &[&script("usrp-rssi-to-h5"), &s1, &s2, &out])
        .status
        .success());
    let t = read_trace(&out).unwrap();
    let a = qwave::capture::parse_rssi_text(&std::fs::read_to_string(&s1).unwrap()).unwrap();
    assert_eq!(t.kind, TraceKind::Rssi);
    assert_eq!(t.party("alice").unwrap().rssi, a);
    assert_eq!(t.party("bob").unwrap().len(), a.len());
    assert!(run(&py, &[&script("check-trace.py"), &out])
        .status
        .success());
}
