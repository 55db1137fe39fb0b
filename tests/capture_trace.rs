//! HDF5 CSI trace: round trips, pairing by seq, incremental writer, schema violations.

use std::path::{Path, PathBuf};

use hdf5::types::{FixedAscii, VarLenUnicode};
use num_complex::Complex32;
use qwave::capture::{
    pair_by_seq, read_trace, write_trace, CaptureError, CsiTrace, PartyTrace, TraceKind,
    TraceWriter,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("capture_trace_{name}.h5"))
}

/// 802.11 L-LTF used subcarriers: −26…−1, 1…26.
fn lltf_subcarriers() -> Vec<i16> {
    (-26..=26).filter(|k| *k != 0).collect()
}

fn seqs_without(n: u64, missing: &[u64]) -> Vec<u64> {
    (0..n).filter(|s| !missing.contains(s)).collect()
}

fn csi_party(rng: &mut ChaCha8Rng, name: &str, seq: Vec<u64>, sc: &[i16]) -> PartyTrace {
    let n = seq.len();
    PartyTrace {
        t: seq
            .iter()
            .map(|s| *s as f64 * 0.01 + rng.random::<f64>() * 1e-4)
            .collect(),
        seq,
        subcarriers: sc.to_vec(),
        csi: (0..n * sc.len())
            .map(|_| Complex32::new(rng.random::<f32>() - 0.5, rng.random::<f32>() - 0.5))
            .collect(),
        ..PartyTrace::new(name)
    }
}

fn rssi_party(rng: &mut ChaCha8Rng, name: &str, seq: Vec<u64>) -> PartyTrace {
    PartyTrace {
        t: seq.iter().map(|s| *s as f64 * 0.5).collect(),
        rssi: seq
            .iter()
            .map(|_| -60.0 + 30.0 * rng.random::<f32>())
            .collect(),
        seq,
        ..PartyTrace::new(name)
    }
}

fn csi_trace(seed: u64) -> CsiTrace {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sc = lltf_subcarriers();
    let alice = csi_party(&mut rng, "alice", seqs_without(40, &[3, 17, 18]), &sc);
    let bob = csi_party(&mut rng, "bob", seqs_without(40, &[5, 39]), &sc);
    let mut eve = csi_party(&mut rng, "eve", seqs_without(40, &[0, 1, 2, 20]), &sc);
    eve.observes = Some("bob".into());
    CsiTrace {
        kind: TraceKind::Csi,
        center_frequency_hz: 2.412e9,
        bandwidth_hz: Some(20e6),
        source: "test: seeded synthetic CSI, ünïcode ok".into(),
        parties: vec![alice, bob, eve],
    }
}

fn rssi_trace(seed: u64) -> CsiTrace {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let alice = rssi_party(&mut rng, "alice", seqs_without(100, &[0, 50]));
    let bob = rssi_party(&mut rng, "bob", seqs_without(100, &[99]));
    let eve0 = rssi_party(&mut rng, "eve0", seqs_without(100, &[]));
    let mut eve1 = rssi_party(&mut rng, "eve1", seqs_without(60, &[7]));
    eve1.observes = Some("alice".into());
    CsiTrace {
        kind: TraceKind::Rssi,
        center_frequency_hz: 915e6,
        bandwidth_hz: None,
        source: "test: seeded synthetic RSSI".into(),
        parties: vec![alice, bob, eve0, eve1],
    }
}

#[test]
fn csi_round_trip_with_eve_and_missing_rows() {
    let trace = csi_trace(1);
    let path = tmp("csi_round_trip");
    write_trace(&path, &trace).unwrap();
    let back = read_trace(&path).unwrap();
    assert_eq!(back, trace);
    let eve = back.party("eve").unwrap();
    assert_eq!(eve.observes.as_deref(), Some("bob"));
    assert_eq!(eve.csi_row(1).unwrap(), &trace.parties[2].csi[52..104]);
    // Pairs exist exactly for seq present on both sides.
    let pairs = pair_by_seq(back.party("alice").unwrap(), back.party("bob").unwrap());
    assert_eq!(pairs.len(), 40 - 5);
}

#[test]
fn rssi_round_trip_with_two_eves() {
    let trace = rssi_trace(2);
    let path = tmp("rssi_round_trip");
    write_trace(&path, &trace).unwrap();
    let back = read_trace(&path).unwrap();
    assert_eq!(back, trace);
    assert_eq!(back.bandwidth_hz, None);
    assert_eq!(back.party("eve0").unwrap().observes, None);
}

#[test]
fn read_returns_alice_bob_then_others_by_name() {
    let mut trace = rssi_trace(3);
    trace.parties.reverse(); // eve1, eve0, bob, alice
    let path = tmp("order");
    write_trace(&path, &trace).unwrap();
    let back = read_trace(&path).unwrap();
    let names: Vec<&str> = back.parties.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "eve0", "eve1"]);
    trace.parties.reverse();
    assert_eq!(back, trace);
}

#[test]
fn pair_by_seq_with_gaps_and_unsorted_rows() {
    let mut a = PartyTrace::new("alice");
    a.seq = vec![0, 1, 2, 4, 5, 9];
    let mut b = PartyTrace::new("bob");
    b.seq = vec![9, 1, 3, 4, 6, 0];
    assert_eq!(pair_by_seq(&a, &b), vec![(0, 5), (1, 1), (3, 3), (5, 0)]);
    assert_eq!(pair_by_seq(&b, &a), vec![(0, 5), (1, 1), (3, 3), (5, 0)]);
    let empty = PartyTrace::new("eve");
    assert!(pair_by_seq(&a, &empty).is_empty());
}

#[test]
fn validate_rejects_broken_traces() {
    let good = csi_trace(4);
    good.validate().unwrap();
    type Breaker = Box<dyn Fn(&mut CsiTrace)>;
    let cases: Vec<(&str, Breaker)> = vec![
        (
            "bob is missing",
            Box::new(|t| {
                t.parties.remove(1);
            }),
        ),
        (
            "appears twice",
            Box::new(|t| t.parties[2].name = "bob".into()),
        ),
        (
            "csi has",
            Box::new(|t| {
                t.parties[0].csi.pop();
            }),
        ),
        ("t has", Box::new(|t| t.parties[1].t.push(0.0))),
        ("seq 6 appears", Box::new(|t| t.parties[1].seq[7] = 6)),
        (
            "observes",
            Box::new(|t| t.parties[2].observes = Some("carol".into())),
        ),
        (
            "observes",
            Box::new(|t| t.parties[0].observes = Some("bob".into())),
        ),
        (
            "not a valid group name",
            Box::new(|t| t.parties[2].name = "e/ve".into()),
        ),
        (
            "subcarrier",
            Box::new(|t| t.parties[0].subcarriers[1] = -26),
        ),
        ("no rssi", Box::new(|t| t.parties[0].rssi = vec![1.0])),
        ("bandwidth_hz", Box::new(|t| t.bandwidth_hz = Some(0.0))),
        ("NUL", Box::new(|t| t.source.push('\0'))),
        (
            "center_frequency_hz",
            Box::new(|t| t.center_frequency_hz = f64::INFINITY),
        ),
    ];
    for (want, break_it) in cases {
        let mut t = good.clone();
        break_it(&mut t);
        match t.validate() {
            Err(CaptureError::Invalid(what)) => {
                assert!(what.contains(want), "{want:?} not in {what:?}")
            }
            other => panic!("expected Invalid({want}), got {other:?}"),
        }
        // write_trace refuses it too, before touching the file system.
        assert!(matches!(
            write_trace(&tmp("never_written"), &t),
            Err(CaptureError::Invalid(_))
        ));
    }
    assert!(!tmp("never_written").exists());
}

#[test]
fn trace_writer_matches_in_memory_trace_across_chunks() {
    // 2500 rows crosses two 1024-row flushes; rows are missing on every side.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let sc: Vec<i16> = (-28..=28).filter(|k| *k != 0).collect();
    let mut expected = CsiTrace {
        kind: TraceKind::Csi,
        center_frequency_hz: 5.18e9,
        bandwidth_hz: Some(20e6),
        source: "TraceWriter test".into(),
        parties: ["alice", "bob", "eve"]
            .iter()
            .map(|n| PartyTrace {
                subcarriers: sc.clone(),
                ..PartyTrace::new(n)
            })
            .collect(),
    };
    expected.parties[2].observes = Some("alice".into());
    let path = tmp("writer_csi");
    let mut w = TraceWriter::create(
        &path,
        TraceKind::Csi,
        5.18e9,
        Some(20e6),
        "TraceWriter test",
        &["alice", "bob", "eve"],
    )
    .unwrap();
    assert!(matches!(
        w.append_csi("alice", 0, 0.0, &[Complex32::new(0.0, 0.0); 56]),
        Err(CaptureError::Invalid(_))
    ));
    w.set_subcarriers(&sc).unwrap();
    w.set_observes("eve", "alice").unwrap();
    let mut row = vec![Complex32::new(0.0, 0.0); sc.len()];
    for seq in 0..2500u64 {
        for (pi, name) in ["alice", "bob", "eve"].iter().enumerate() {
            if rng.random::<f32>() < 0.05 {
                continue; // lost probe
            }
            for v in row.iter_mut() {
                *v = Complex32::new(rng.random(), rng.random());
            }
            let t = seq as f64 * 1e-3;
            w.append_csi(name, seq, t, &row).unwrap();
            let p = &mut expected.parties[pi];
            p.seq.push(seq);
            p.t.push(t);
            p.csi.extend_from_slice(&row);
        }
    }
    // Typed errors, and the failed calls add nothing.
    assert!(matches!(
        w.append_csi("alice", 1, 0.0, &row[1..]),
        Err(CaptureError::Invalid(_))
    ));
    let dup = expected.parties[1].seq[0];
    assert!(matches!(
        w.append_csi("bob", dup, 0.0, &row),
        Err(CaptureError::Invalid(_))
    ));
    assert!(matches!(
        w.append_csi("mallory", 1, 0.0, &row),
        Err(CaptureError::Invalid(_))
    ));
    let last = *expected.parties[0].seq.last().unwrap();
    assert!(matches!(
        w.append_csi("alice", last - 1, 0.0, &row),
        Err(CaptureError::Invalid(_))
    ));
    assert!(matches!(
        w.append_rssi("alice", 1, 0.0, -40.0),
        Err(CaptureError::Invalid(_))
    ));
    w.finish().unwrap();
    let back = read_trace(&path).unwrap();
    assert!(back.parties[0].len() > 2048, "test must cross two flushes");
    assert_eq!(back, expected);
}

#[test]
fn trace_writer_rssi_and_csi_without_subcarriers() {
    let path = tmp("writer_rssi");
    let mut w =
        TraceWriter::create(&path, TraceKind::Rssi, 915e6, None, "w", &["alice", "bob"]).unwrap();
    assert!(w.set_subcarriers(&[1, 2]).is_err());
    for seq in 0..10u64 {
        w.append_rssi("alice", seq, seq as f64, -(seq as f32))
            .unwrap();
        if seq % 3 != 0 {
            w.append_rssi("bob", seq, seq as f64 + 0.5, -(seq as f32) - 0.25)
                .unwrap();
        }
    }
    w.finish().unwrap();
    let back = read_trace(&path).unwrap();
    assert_eq!(back.kind, TraceKind::Rssi);
    assert_eq!(back.party("alice").unwrap().rssi.len(), 10);
    assert_eq!(back.party("bob").unwrap().seq, vec![1, 2, 4, 5, 7, 8]);
    assert_eq!(back.party("bob").unwrap().rssi[2], -4.25);

    // Kind csi: finish without subcarriers is an error; missing alice/bob refused at create.
    let w = TraceWriter::create(
        &tmp("writer_nosc"),
        TraceKind::Csi,
        1e9,
        None,
        "w",
        &["alice", "bob"],
    )
    .unwrap();
    assert!(matches!(w.finish(), Err(CaptureError::Invalid(_))));
    assert!(matches!(
        TraceWriter::create(
            &tmp("writer_noalice"),
            TraceKind::Csi,
            1e9,
            None,
            "w",
            &["bob"]
        ),
        Err(CaptureError::Invalid(_))
    ));
}

// ---------------------------------------------------------------- schema violations

/// Writes a good trace, lets `mutate` damage it with the hdf5 crate, reads it back.
fn damaged(name: &str, kind: TraceKind, mutate: impl FnOnce(&hdf5::File)) -> CaptureError {
    let path = tmp(&format!("bad_{name}"));
    let trace = match kind {
        TraceKind::Csi => csi_trace(6),
        TraceKind::Rssi => rssi_trace(6),
    };
    write_trace(&path, &trace).unwrap();
    {
        let f = hdf5::File::open_rw(&path).unwrap();
        mutate(&f);
        f.close().unwrap();
    }
    read_trace(&path).expect_err(name)
}

fn assert_schema(err: CaptureError, want: &str) {
    match err {
        CaptureError::Schema { what, .. } => {
            assert!(what.contains(want), "{want:?} not in {what:?}")
        }
        other => panic!("expected Schema({want}), got {other:?}"),
    }
}

fn set_str(loc: &hdf5::Location, name: &str, value: &str) {
    let _ = loc.delete_attr(name);
    let v: VarLenUnicode = value.parse().unwrap();
    loc.new_attr::<VarLenUnicode>()
        .shape(())
        .create(name)
        .unwrap()
        .write_scalar(&v)
        .unwrap();
}

#[test]
fn schema_violations_are_typed_errors() {
    use TraceKind::{Csi, Rssi};
    assert_schema(
        damaged("no_format", Csi, |f| f.delete_attr("format").unwrap()),
        "/format is missing",
    );
    assert_schema(
        damaged("wrong_format", Csi, |f| set_str(f, "format", "other")),
        "\"other\"",
    );
    assert_schema(
        damaged("version2", Csi, |f| {
            f.delete_attr("version").unwrap();
            f.new_attr::<i32>()
                .shape(())
                .create("version")
                .unwrap()
                .write_scalar(&2)
                .unwrap();
        }),
        "/version is 2",
    );
    assert_schema(
        damaged("version_str", Csi, |f| set_str(f, "version", "1")),
        "expected an integer",
    );
    assert_schema(
        damaged("no_version", Rssi, |f| f.delete_attr("version").unwrap()),
        "/version is missing",
    );
    assert_schema(
        damaged("kind", Csi, |f| set_str(f, "kind", "iq")),
        "/kind is \"iq\"",
    );
    assert_schema(
        damaged("no_kind", Csi, |f| f.delete_attr("kind").unwrap()),
        "/kind is missing",
    );
    assert_schema(
        damaged("no_source", Csi, |f| f.delete_attr("source").unwrap()),
        "/source is missing",
    );
    assert_schema(
        damaged("no_cf", Rssi, |f| {
            f.delete_attr("center_frequency_hz").unwrap()
        }),
        "center_frequency_hz is missing",
    );
    assert_schema(
        damaged("cf_str", Rssi, |f| {
            set_str(f, "center_frequency_hz", "2.4 GHz")
        }),
        "expected a number",
    );
    assert_schema(
        damaged("no_bob", Csi, |f| f.unlink("bob").unwrap()),
        "/bob is missing",
    );
    assert_schema(
        damaged("no_seq", Csi, |f| f.unlink("alice/seq").unwrap()),
        "/alice/seq is missing",
    );
    assert_schema(
        damaged("no_t", Rssi, |f| f.unlink("bob/t").unwrap()),
        "/bob/t is missing",
    );
    assert_schema(
        damaged("no_csi", Csi, |f| f.unlink("eve/csi").unwrap()),
        "/eve/csi is missing",
    );
    assert_schema(
        damaged("no_sc", Csi, |f| f.unlink("bob/subcarriers").unwrap()),
        "/bob/subcarriers is missing",
    );
    assert_schema(
        damaged("no_rssi", Rssi, |f| f.unlink("eve1/rssi").unwrap()),
        "/eve1/rssi is missing",
    );
    // csi column count ≠ subcarriers
    assert_schema(
        damaged("sc_count", Csi, |f| {
            f.unlink("alice/subcarriers").unwrap();
            f.new_dataset::<i16>()
                .shape(10)
                .create("alice/subcarriers")
                .unwrap();
        }),
        "52 columns but subcarriers has 10",
    );
    // csi rows ≠ seq rows
    assert_schema(
        damaged("csi_rows", Csi, |f| {
            f.unlink("bob/csi").unwrap();
            f.new_dataset::<Complex32>()
                .shape((3, 52))
                .create("bob/csi")
                .unwrap();
        }),
        "/bob/csi has 3 rows",
    );
    assert_schema(
        damaged("csi_rank", Csi, |f| {
            f.unlink("bob/csi").unwrap();
            f.new_dataset::<Complex32>()
                .shape(38 * 52)
                .create("bob/csi")
                .unwrap();
        }),
        "/bob/csi has rank 1",
    );
    // csi stored as plain floats instead of complex
    assert_schema(
        damaged("csi_float", Csi, |f| {
            f.unlink("bob/csi").unwrap();
            f.new_dataset::<f32>()
                .shape((38, 52))
                .create("bob/csi")
                .unwrap();
        }),
        "expected the compound {r, i}",
    );
    assert_schema(
        damaged("t_rows", Rssi, |f| {
            f.unlink("alice/t").unwrap();
            f.new_dataset::<f64>().shape(5).create("alice/t").unwrap();
        }),
        "/alice/t has 5 rows",
    );
    assert_schema(
        damaged("seq_float", Rssi, |f| {
            let n = f.dataset("bob/seq").unwrap().shape()[0];
            f.unlink("bob/seq").unwrap();
            f.new_dataset::<f64>().shape(n).create("bob/seq").unwrap();
        }),
        "/bob/seq has datatype float64, expected an integer",
    );
    assert_schema(
        damaged("seq_dup", Rssi, |f| {
            let ds = f.dataset("alice/seq").unwrap();
            ds.write_slice(&[1u64, 1], 0..2).unwrap();
        }),
        "seq 1 appears more than once",
    );
    assert_schema(
        damaged("seq_negative", Rssi, |f| {
            let n = f.dataset("bob/seq").unwrap().shape()[0];
            f.unlink("bob/seq").unwrap();
            let mut v: Vec<i64> = (0..n as i64).collect();
            v[3] = -1;
            let ds = f.new_dataset::<i64>().shape(n).create("bob/seq").unwrap();
            ds.write_raw(&v).unwrap();
        }),
        "/bob/seq holds -1 < 0",
    );
    // A few bytes of HDF5 can declare a huge dataset: refused, not allocated.
    assert_schema(
        damaged("huge", Rssi, |f| {
            f.unlink("bob/seq").unwrap();
            f.new_dataset::<u64>()
                .shape(1usize << 31)
                .create("bob/seq")
                .unwrap();
        }),
        "more than this reader loads",
    );
    assert_schema(
        damaged("observes", Rssi, |f| {
            set_str(&f.group("eve1").unwrap(), "observes", "carol")
        }),
        "carol",
    );
}

#[test]
fn not_hdf5_or_missing_file_is_hdf5_error() {
    let path = tmp("not_hdf5");
    std::fs::write(&path, b"this is not an HDF5 file").unwrap();
    assert!(matches!(read_trace(&path), Err(CaptureError::Hdf5 { .. })));
    assert!(matches!(
        read_trace(&tmp("does_not_exist")),
        Err(CaptureError::Hdf5 { .. })
    ));
}

#[test]
fn signed_seq_without_negatives_is_read() {
    // h5py stores Python ints as int64; that is accepted when no value is negative.
    let trace = rssi_trace(10);
    let path = tmp("seq_i64");
    write_trace(&path, &trace).unwrap();
    {
        let f = hdf5::File::open_rw(&path).unwrap();
        let seq: Vec<i64> = trace.parties[1].seq.iter().map(|s| *s as i64).collect();
        f.unlink("bob/seq").unwrap();
        f.new_dataset::<i64>()
            .shape(seq.len())
            .create("bob/seq")
            .unwrap()
            .write_raw(&seq)
            .unwrap();
        f.close().unwrap();
    }
    assert_eq!(read_trace(&path).unwrap(), trace);
}

#[test]
fn fixed_length_ascii_attributes_are_read() {
    // h5py writes numpy bytes_ attributes as fixed-length ASCII strings.
    let trace = rssi_trace(7);
    let path = tmp("fixed_ascii");
    write_trace(&path, &trace).unwrap();
    {
        let f = hdf5::File::open_rw(&path).unwrap();
        f.delete_attr("source").unwrap();
        let v = FixedAscii::<32>::from_ascii(b"fixed ascii source").unwrap();
        f.new_attr::<FixedAscii<32>>()
            .shape(())
            .create("source")
            .unwrap()
            .write_scalar(&v)
            .unwrap();
        f.close().unwrap();
    }
    assert_eq!(read_trace(&path).unwrap().source, "fixed ascii source");
}

/// A child process spawned while a trace is open must not inherit the file
/// (HDF5's `flock` lock would then outlive our close and the next open would
/// fail with "unable to lock file" until the child exits). This is what made
/// tests that spawn `qwave` next to HDF5 round trips fail now and then.
#[test]
fn a_child_spawned_while_a_trace_is_open_does_not_hold_it() {
    let path = tmp("child_inherits");
    let mut w =
        TraceWriter::create(&path, TraceKind::Rssi, 915e6, None, "w", &["alice", "bob"]).unwrap();
    w.append_rssi("alice", 0, 0.0, -40.0).unwrap();
    w.append_rssi("bob", 0, 0.001, -41.0).unwrap();
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("spawn sleep");
    w.finish().unwrap();
    let reread = read_trace(&path);
    let rewritten = write_trace(&path, &reread.as_ref().unwrap().clone());
    child.kill().unwrap();
    child.wait().unwrap();
    let back = reread.unwrap();
    assert_eq!(back.parties[1].rssi, vec![-41.0]);
    rewritten.unwrap();
}

/// A trace still being written is refused to readers with a clear error
/// (after the short wait for a lock held only by a child being spawned).
#[test]
fn a_trace_being_written_is_refused_to_readers() {
    let path = tmp("being_written");
    let mut w =
        TraceWriter::create(&path, TraceKind::Rssi, 915e6, None, "w", &["alice", "bob"]).unwrap();
    w.append_rssi("alice", 0, 0.0, -40.0).unwrap();
    let err = read_trace(&path).unwrap_err().to_string();
    assert!(err.contains("file is in use"), "{err}");
    w.finish().unwrap();
    assert_eq!(read_trace(&path).unwrap().parties[0].rssi, vec![-40.0]);
}
