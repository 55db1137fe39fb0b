//! Lab recordings end to end: `qwave air` plus `qwave lab --record DIR` for
//! Alice, Bob and Eve as separate processes; then
//! - the SigMF IQ recordings hold one probe annotation per burst sent and per
//!   probe found, and capture segments per window;
//! - re-running the receiver over the recorded IQ gives the CSI recorded in
//!   the HDF5 traces at the same time (same rows, numerically equal);
//! - `qwave replay DIR` (SigMF) and `qwave replay` of the merged trace
//!   (`qwave trace merge alice.h5 bob.h5 eve-of-alice.h5`) both give a key;
//! - merging the files in the wrong order is refused with a clear error;
//! - with `QWAVE_PYTHON` set, the reference `sigmf` package validates every
//!   recorded SigMF file (scripts/check_sigmf.py).

mod procs;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use procs::{air, alice_addr, json, lab, BIN};

use qwave::capture::{read_sigmf, read_trace, CsiTrace, PartyTrace, SigmfRecording};
use qwave::pipeline::replay_iq::{rx_recordings_in, trace_from_rx_recordings};

/// 10 s at 100 exchanges/s.
const SECONDS: &str = "10";
const EXCHANGES: u64 = 1000;

fn qwave(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().expect("run qwave");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs air + alice + bob + eve, all recording into `dir`.
fn record_lab_run(dir: &Path) {
    let (air, addr) = air("5", "alice,bob,eve");
    let rec = dir.to_str().unwrap();
    let lab = |role: &str, peer: &str| {
        lab(
            role,
            &addr,
            peer,
            SECONDS,
            &["--block", "250", "--record", rec],
        )
    };
    let mut alice = lab("alice", "127.0.0.1:0");
    let peer = alice_addr(&mut alice);
    let bob = lab("bob", &peer);
    let eve = lab("eve", "-");
    let runs: Vec<_> = [("alice", alice), ("bob", bob), ("eve", eve)]
        .into_iter()
        .map(|(who, p)| (who, p.finish(Duration::from_secs(600))))
        .collect();
    let all: String = runs
        .iter()
        .map(|(who, (_, out, err))| format!("--- {who}\n{err}\n{out}\n"))
        .collect();
    for (who, (ok, out, _)) in &runs {
        assert!(ok, "{who} failed; all three parties:\n{all}");
        if *who != "eve" {
            assert!(
                json(out)["final_key_bits"].as_u64().unwrap() > 0,
                "{who}: {out}"
            );
        }
    }
    let (ok, _, err) = air.finish(Duration::from_secs(60));
    assert!(ok, "air failed:\n{err}");
}

/// Same rows (seq, t) and CSI equal to float precision.
fn assert_same_rows(what: &str, iq: &PartyTrace, h5: &PartyTrace) {
    assert!(!h5.is_empty(), "{what}: the HDF5 recording is empty");
    assert_eq!(iq.seq, h5.seq, "{what}: rows differ");
    assert_eq!(iq.subcarriers, h5.subcarriers, "{what}");
    for (a, b) in iq.t.iter().zip(&h5.t) {
        assert!((a - b).abs() < 1e-9, "{what}: t {a} vs {b}");
    }
    let worst = iq
        .csi
        .iter()
        .zip(&h5.csi)
        .map(|(a, b)| (a - b).norm())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "{what}: CSI differs by up to {worst}");
}

fn party<'a>(t: &'a CsiTrace, name: &str) -> &'a PartyTrace {
    t.party(name).unwrap_or_else(|| panic!("no /{name}"))
}

fn python_validates(dir: &Path) {
    let Ok(py) = std::env::var("QWAVE_PYTHON") else {
        eprintln!("python validation of lab recordings not run: QWAVE_PYTHON is unset");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_sigmf.py");
    for name in ["alice-tx", "alice-rx", "bob-tx", "bob-rx", "eve-rx"] {
        let out = Command::new(&py)
            .arg(&script)
            .arg(dir.join(format!("{name}.sigmf-meta")))
            .output()
            .expect("run python");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        assert!(
            out.status.success(),
            "{name}: sigmf validation failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn lab_recording_replays_from_sigmf_and_from_the_merged_trace() {
    let dir: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab_record");
    let _ = std::fs::remove_dir_all(&dir);
    record_lab_run(&dir);
    for name in ["alice-tx", "alice-rx", "bob-tx", "bob-rx", "eve-rx"] {
        for ext in ["sigmf-meta", "sigmf-data"] {
            assert!(dir.join(format!("{name}.{ext}")).exists(), "{name}.{ext}");
        }
    }
    assert!(
        !dir.join("eve-tx.sigmf-meta").exists(),
        "Eve never transmits"
    );

    // One probe annotation per burst sent, seq 0.. in order, with its direction.
    for (who, dir_name) in [("alice", "alice->bob"), ("bob", "bob->alice")] {
        let (meta, samples) = read_sigmf(&dir.join(format!("{who}-tx.sigmf-meta"))).unwrap();
        let seqs: Vec<u64> = meta.annotations.iter().filter_map(|a| a.seq).collect();
        assert_eq!(seqs, (0..EXCHANGES).collect::<Vec<_>>(), "{who}-tx");
        assert!(meta
            .annotations
            .iter()
            .all(|a| a.label == "probe" && a.direction.as_deref() == Some(dir_name)));
        assert_eq!(
            samples.len() as u64,
            EXCHANGES * 400,
            "{who}-tx: 400-sample probes"
        );
        let rec = SigmfRecording::open(&dir.join(format!("{who}-tx"))).unwrap();
        assert_eq!(rec.captures.len() as u64, EXCHANGES);
        assert!(rec
            .captures
            .windows(2)
            .all(|w| w[0].global_index < w[1].global_index));
    }
    let h5 = |name: &str| read_trace(&dir.join(name)).unwrap();
    let (ta, tb) = (h5("alice.h5"), h5("bob.h5"));
    let (tea, teb) = (h5("eve-of-alice.h5"), h5("eve-of-bob.h5"));

    // Receive recordings: one segment per window, an annotation per probe found.
    for (who, rows) in [
        ("alice", party(&ta, "alice").len()),
        ("bob", party(&tb, "bob").len()),
    ] {
        let rec = SigmfRecording::open(&dir.join(format!("{who}-rx"))).unwrap();
        assert_eq!(rec.captures.len() as u64, EXCHANGES, "{who}-rx windows");
        assert_eq!(rec.meta.annotations.len(), rows, "{who}-rx probes found");
        assert!(rec
            .captures
            .iter()
            .all(|c| c.seq.is_some() && c.global_index.is_some()));
    }
    let eve_rx = SigmfRecording::open(&dir.join("eve-rx")).unwrap();
    assert_eq!(
        eve_rx.captures.len() as u64,
        2 * EXCHANGES,
        "Eve hears both probes"
    );

    // The receiver re-run on the IQ gives the CSI recorded in HDF5.
    let (trace, stats) = trace_from_rx_recordings(&rx_recordings_in(&dir).unwrap()).unwrap();
    assert_eq!(stats.len(), 3);
    assert_same_rows("alice", party(&trace, "alice"), party(&ta, "alice"));
    assert_same_rows("bob", party(&trace, "bob"), party(&tb, "bob"));
    assert_same_rows("eve of alice", party(&trace, "eve"), party(&tea, "eve"));
    assert_same_rows("eve of bob", party(&trace, "eve1"), party(&teb, "eve"));
    assert_eq!(party(&trace, "eve1").observes.as_deref(), Some("bob"));

    // Replay from SigMF (CLI), keeping the extracted CSI.
    let csi_out = dir.join("from-iq.h5");
    let d = dir.to_str().unwrap();
    let (ok, out, err) = qwave(&[
        "replay",
        d,
        "--block",
        "250",
        "--json",
        "--csi-out",
        csi_out.to_str().unwrap(),
    ]);
    assert!(ok, "replay of SigMF failed:\n{err}\n{out}");
    let r = json(&out);
    assert!(r["final_key_bits"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["keys_match"], true, "{r}");
    assert!(r["eve"].is_object(), "Eve's recording is replayed: {r}");
    let kept = read_trace(&csi_out).unwrap();
    assert_same_rows("csi-out", party(&kept, "alice"), party(&ta, "alice"));

    // Merge the per-process HDF5 traces and replay them.
    let merged = dir.join("ab.h5");
    let m = merged.to_str().unwrap();
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let (ok, out, err) = qwave(&[
        "trace",
        "merge",
        &p("alice.h5"),
        &p("bob.h5"),
        &p("eve-of-alice.h5"),
        "--out",
        m,
    ]);
    assert!(ok, "merge failed:\n{err}");
    assert!(out.contains("paired exchanges"), "{out}");
    let mt = read_trace(&merged).unwrap();
    assert_eq!(
        party(&mt, "alice").seq,
        party(&mt, "bob").seq,
        "merged rows are paired"
    );
    let (ok, out, err) = qwave(&["replay", m, "--block", "250", "--json"]);
    assert!(ok, "replay of the merged trace failed:\n{err}\n{out}");
    let r2 = json(&out);
    assert!(r2["final_key_bits"].as_u64().unwrap() > 0, "{r2}");
    assert_eq!(r2["keys_match"], true, "{r2}");
    // The same exchanges are paired both ways (the key material itself varies
    // from run to run: the session draws fresh randomness).
    assert_eq!(r["pairs"], r2["pairs"], "{r}\n{r2}");

    // Wrong order: Bob's file given as Alice's.
    let (ok, _, err) = qwave(&["trace", "merge", &p("bob.h5"), &p("alice.h5"), "--out", m]);
    assert!(!ok);
    assert!(err.contains("no rows in group /alice"), "{err}");

    python_validates(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}
