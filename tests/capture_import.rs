//! `qwave import`: generated Intel 5300 logs, ESP32-CSI-Tool CSV, RSSI logs and
//! raw IQ go in, the HDF5 trace / SigMF recording read back holds exactly the
//! generated values; malformed inputs give errors naming the line or byte; no
//! input panics; the CLI's trace is accepted by `qwave replay`.

use std::path::{Path, PathBuf};
use std::process::Command;

use num_complex::Complex32;
use proptest::prelude::*;
use qwave::capture::import::{
    decode_raw_iq, import_esp32, import_intel5300, import_raw_iq, import_rssi,
    intel5300_subcarriers, parse_esp32_csv, parse_intel5300_log, parse_rssi_log, DecimalMark,
    ImportError, Intel5300Options, RawIqFormat, ESP32_LLTF_SUBCARRIERS,
};
use qwave::capture::{pair_by_seq, read_sigmf, read_trace, SigmfDatatype, TraceKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A scratch path private to this test process (concurrent runs of the
/// suite must not overwrite each other's inputs).
fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("capture_import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

// ---------------------------------------------------------------- Intel 5300

/// One generated beamforming record: header fields and CSI `[group][chain][tx]` as (re, im).
#[derive(Clone)]
struct Rec {
    timestamp_low: u32,
    bfee_count: u16,
    nrx: u8,
    ntx: u8,
    antenna_sel: u8,
    rate: u16,
    csi: Vec<(i8, i8)>,
}

fn put_bits(buf: &mut [u8], bit: usize, v: i8) {
    for k in 0..8 {
        if (v as u8 >> k) & 1 == 1 {
            buf[(bit + k) / 8] |= 1 << ((bit + k) % 8);
        }
    }
}

/// Encodes a record as `log_to_file` writes it: BE u16 length, code 0xBB, payload.
fn encode_bfee(r: &Rec) -> Vec<u8> {
    let streams = usize::from(r.nrx) * usize::from(r.ntx);
    let len = (30 * (streams * 16 + 3)).div_ceil(8);
    let mut p = vec![0u8; 20 + len];
    p[0..4].copy_from_slice(&r.timestamp_low.to_le_bytes());
    p[4..6].copy_from_slice(&r.bfee_count.to_le_bytes());
    p[8] = r.nrx;
    p[9] = r.ntx;
    p[10..13].copy_from_slice(&[40, 38, 35]);
    p[13] = (-92i8) as u8;
    p[14] = 30;
    p[15] = r.antenna_sel;
    p[16..18].copy_from_slice(&(len as u16).to_le_bytes());
    p[18..20].copy_from_slice(&r.rate.to_le_bytes());
    let mut bit = 0;
    let mut k = 0;
    for _ in 0..30 {
        bit += 3;
        for _ in 0..streams {
            let (re, im) = r.csi[k];
            put_bits(&mut p[20..], bit, re);
            put_bits(&mut p[20..], bit + 8, im);
            k += 1;
            bit += 16;
        }
    }
    record(0xBB, &p)
}

fn record(code: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = ((payload.len() + 1) as u16).to_be_bytes().to_vec();
    out.push(code);
    out.extend_from_slice(payload);
    out
}

fn random_rec(rng: &mut ChaCha8Rng, nrx: u8, ntx: u8, antenna_sel: u8, count: u16, ts: u32) -> Rec {
    let n = 30 * usize::from(nrx) * usize::from(ntx);
    Rec {
        timestamp_low: ts,
        bfee_count: count,
        nrx,
        ntx,
        antenna_sel,
        rate: 0x4101,
        csi: (0..n)
            .map(|_| (rng.random::<i8>(), rng.random::<i8>()))
            .collect(),
    }
}

/// The values of physical antenna `ant`, stream `tx`: chain c holds antenna perm[c].
fn expected_row(r: &Rec, ant: u8, tx: u8) -> Vec<Complex32> {
    let perm: Vec<u8> = (0..r.nrx).map(|c| (r.antenna_sel >> (2 * c)) & 3).collect();
    let chain = usize::from(perm.iter().position(|p| *p == ant).unwrap() as u8);
    let (nrx, ntx) = (usize::from(r.nrx), usize::from(r.ntx));
    (0..30)
        .map(|g| {
            let (re, im) = r.csi[(g * nrx + chain) * ntx + usize::from(tx)];
            Complex32::new(f32::from(re), f32::from(im))
        })
        .collect()
}

#[test]
fn intel5300_logs_import_exactly() {
    let mut rng = ChaCha8Rng::seed_from_u64(5300);
    // Alice: 3 chains permuted (chain 0 = antenna C, 1 = A, 2 = B), 2 streams;
    // bfee_count wraps 65533 → 2, timestamp_low wraps too; exchange 3 lost.
    // Bob: 2 chains (1 = A, 0 = B), 1 stream, counter starting at 100.
    let alice_sel = 0b01_00_10; // chain 2 → 1, chain 1 → 0, chain 0 → 2
    let bob_sel = 1;
    let exchanges: Vec<u16> = vec![0, 1, 2, 4, 5, 6, 7, 8];
    let alice: Vec<Rec> = exchanges
        .iter()
        .map(|&e| {
            let ts = (u32::MAX - 15_000).wrapping_add(u32::from(e) * 10_000);
            random_rec(&mut rng, 3, 2, alice_sel, 65533u16.wrapping_add(e), ts)
        })
        .collect();
    let bob: Vec<Rec> = (0..9u16)
        .map(|e| {
            random_rec(
                &mut rng,
                2,
                1,
                bob_sel,
                100 + e,
                7_000 + u32::from(e) * 10_000,
            )
        })
        .collect();
    let mut a_bytes = record(0xC1, b"other record, skipped");
    for r in &alice {
        a_bytes.extend(encode_bfee(r));
    }
    let b_bytes: Vec<u8> = bob.iter().flat_map(encode_bfee).collect();
    let (pa, pb, out) = (tmp("a.dat"), tmp("b.dat"), tmp("intel.h5"));
    std::fs::write(&pa, &a_bytes).unwrap();
    std::fs::write(&pb, &b_bytes).unwrap();
    let opts = Intel5300Options {
        rx_antenna: 1,
        center_frequency_hz: 2.437e9,
        ..Intel5300Options::default()
    };
    let summary = import_intel5300(&pa, &pb, &out, &opts).unwrap();
    assert_eq!(
        (summary.alice_rows, summary.bob_rows, summary.pairs),
        (8, 9, 8)
    );

    let t = read_trace(&out).unwrap();
    assert_eq!(t.kind, TraceKind::Csi);
    assert_eq!(t.bandwidth_hz, Some(20e6));
    assert_eq!(t.center_frequency_hz, 2.437e9);
    let (ta, tb) = (t.party("alice").unwrap(), t.party("bob").unwrap());
    assert_eq!(ta.subcarriers, intel5300_subcarriers(false).to_vec());
    assert_eq!(
        ta.seq,
        exchanges.iter().map(|e| u64::from(*e)).collect::<Vec<_>>()
    );
    assert_eq!(tb.seq, (0..9).collect::<Vec<u64>>());
    for (i, r) in alice.iter().enumerate() {
        assert_eq!(
            ta.csi_row(i).unwrap(),
            expected_row(r, 1, 0).as_slice(),
            "alice row {i}"
        );
        let us = u64::from(u32::MAX - 15_000) + u64::from(exchanges[i]) * 10_000;
        assert_eq!(ta.t[i], us as f64 * 1e-6);
    }
    for (i, r) in bob.iter().enumerate() {
        assert_eq!(
            tb.csi_row(i).unwrap(),
            expected_row(r, 1, 0).as_slice(),
            "bob row {i}"
        );
        assert_eq!(tb.t[i], (7_000 + i as u64 * 10_000) as f64 * 1e-6);
    }
    // Absolute counts: Alice's wrap is extended past 65535.
    let opts_abs = Intel5300Options {
        absolute_count: true,
        ..opts.clone()
    };
    // Re-written at the same path, right after reading it.
    import_intel5300(&pa, &pb, &out, &opts_abs).unwrap();
    let t = read_trace(&out).unwrap();
    assert_eq!(t.party("alice").unwrap().seq[3], 65533 + 4);
    assert_eq!(t.party("bob").unwrap().seq[0], 100);
    assert_eq!(
        pair_by_seq(t.party("alice").unwrap(), t.party("bob").unwrap()).len(),
        0
    );
    // Antenna C is absent from Bob's two chains: an error at his first record.
    let e = import_intel5300(
        &pa,
        &pb,
        &out,
        &Intel5300Options {
            rx_antenna: 2,
            ..opts
        },
    )
    .unwrap_err();
    assert_eq!(e.byte(), Some(0), "{e}");
    assert!(e.to_string().contains("b.dat"), "{e}");
}

#[test]
fn intel5300_ht40_uses_the_40_mhz_grouping() {
    let mut rng = ChaCha8Rng::seed_from_u64(40);
    let mut r = random_rec(&mut rng, 1, 1, 0, 7, 1);
    r.rate |= 0x800;
    let recs = parse_intel5300_log(&encode_bfee(&r)).unwrap();
    assert!(recs[0].is_ht40());
    assert_eq!(recs[0].bfee_count, 7);
    assert_eq!(recs[0].stream(0, 0).unwrap(), expected_row(&r, 0, 0));
    assert_eq!(intel5300_subcarriers(true)[0], -58);
    assert_eq!(intel5300_subcarriers(true)[29], 58);
    assert_eq!(intel5300_subcarriers(false)[14..16], [-1, 1]);
}

fn byte_error(bytes: &[u8]) -> (u64, String) {
    match parse_intel5300_log(bytes) {
        Err(ImportError::Byte { offset, what }) => (offset, what),
        other => panic!("expected a byte error, got {other:?}"),
    }
}

#[test]
fn intel5300_malformed_records_name_the_byte() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let good = encode_bfee(&random_rec(&mut rng, 2, 2, 0b0100, 1, 1));
    let n = good.len() as u64;
    // Truncated record: the second record is cut off.
    let mut cut = good.clone();
    cut.extend_from_slice(&good[..good.len() - 5]);
    let (at, what) = byte_error(&cut);
    assert_eq!(at, n);
    assert!(what.contains("past the end"), "{what}");
    // Header cut off after 2 bytes.
    let mut short = good.clone();
    short.extend_from_slice(&[0, 5]);
    assert_eq!(byte_error(&short).0, n);
    // Zero length.
    assert_eq!(byte_error(&[0, 0, 0xBB]).0, 0);
    // Wrong CSI length field.
    let mut bad_len = good.clone();
    bad_len[3 + 16] ^= 1;
    let (at, what) = byte_error(&bad_len);
    assert_eq!(at, 19);
    assert!(what.contains("CSI matrix length"), "{what}");
    // Nrx out of range.
    let mut bad_nrx = good.clone();
    bad_nrx[3 + 8] = 4;
    assert_eq!(byte_error(&bad_nrx).0, 11);
    // A 0xBB record shorter than its header.
    assert_eq!(byte_error(&record(0xBB, &[1, 2, 3])).0, 0);
    // Other codes of any length are skipped.
    assert!(parse_intel5300_log(&record(0x42, &[9; 7]))
        .unwrap()
        .is_empty());
}

// ---------------------------------------------------------------- ESP32

const ESP32_HEADER: &str = "type,role,mac,rssi,rate,sig_mode,mcs,bandwidth,smoothing,not_sounding,aggregation,stbc,fec_coding,sgi,noise_floor,ampdu_cnt,channel,secondary_channel,local_timestamp,ant,sig_len,rx_state,real_time_set,real_timestamp,len,CSI_DATA";

fn esp32_row(values: &[i8], ts: u32, channel: u8) -> String {
    let csi: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!(
        "CSI_DATA,STA,24:0A:C4:00:00:01,-45,11,1,7,1,1,1,1,0,0,0,-93,0,{channel},0,{ts},0,84,0,0,0.0,{},[{} ]",
        values.len(),
        csi.join(" ")
    )
}

#[test]
fn esp32_csv_imports_exactly() {
    let mut rng = ChaCha8Rng::seed_from_u64(32);
    let rows: Vec<Vec<i8>> = (0..6)
        .map(|_| (0..384).map(|_| rng.random()).collect())
        .collect();
    let mut a = String::from("I (312) wifi: boot noise line\n");
    a.push_str(ESP32_HEADER);
    a.push('\n');
    for (i, r) in rows.iter().enumerate() {
        a.push_str(&esp32_row(r, (u32::MAX - 5).wrapping_add(i as u32 * 3), 6));
        a.push('\n');
    }
    let mut b = format!("{ESP32_HEADER}\r\n");
    for r in rows.iter().take(4) {
        b.push_str(&esp32_row(r, 1000, 6));
        b.push_str("\r\n");
    }
    let (pa, pb, out) = (tmp("a.csv"), tmp("b.csv"), tmp("esp32.h5"));
    std::fs::write(&pa, &a).unwrap();
    std::fs::write(&pb, &b).unwrap();
    let s = import_esp32(&pa, &pb, &out, f64::NAN).unwrap();
    assert_eq!((s.alice_rows, s.bob_rows, s.pairs), (6, 4, 4));
    let t = read_trace(&out).unwrap();
    assert_eq!(t.center_frequency_hz, 2.437e9, "channel 6");
    let ta = t.party("alice").unwrap();
    assert_eq!(ta.subcarriers, ESP32_LLTF_SUBCARRIERS.to_vec());
    assert_eq!(ta.seq, (0..6).collect::<Vec<u64>>());
    for (i, r) in rows.iter().enumerate() {
        let want: Vec<Complex32> = ESP32_LLTF_SUBCARRIERS
            .iter()
            .map(|&k| {
                let pair = if k >= 0 {
                    k as usize
                } else {
                    (64 + i32::from(k)) as usize
                };
                Complex32::new(f32::from(r[2 * pair + 1]), f32::from(r[2 * pair]))
            })
            .collect();
        assert_eq!(ta.csi_row(i).unwrap(), want.as_slice());
        let us = u64::from(u32::MAX - 5) + i as u64 * 3;
        assert_eq!(
            ta.t[i],
            us as f64 * 1e-6,
            "local_timestamp extended over its wrap"
        );
    }
    // Subcarrier 1 is pair 1, subcarrier -1 is pair 63 (imaginary first).
    assert_eq!(
        ta.csi_row(0).unwrap()[26],
        Complex32::new(f32::from(rows[0][3]), f32::from(rows[0][2]))
    );
    assert_eq!(
        ta.csi_row(0).unwrap()[25],
        Complex32::new(f32::from(rows[0][127]), f32::from(rows[0][126]))
    );
}

#[test]
fn esp32_pairs_by_a_seq_column_when_both_have_one() {
    let body = |seqs: &[u64]| {
        let mut s = String::from("type,seq,mac,rssi,local_timestamp,len,CSI_DATA\n");
        for q in seqs {
            let vals: Vec<String> = (0..128)
                .map(|v| ((v + *q as i32) % 100).to_string())
                .collect();
            s.push_str(&format!(
                "CSI_DATA,{q},aa,-40,{},128,[{}]\n",
                q * 10,
                vals.join(" ")
            ));
        }
        s
    };
    let (pa, pb, out) = (tmp("sa.csv"), tmp("sb.csv"), tmp("esp32seq.h5"));
    std::fs::write(&pa, body(&[3, 4, 6, 9])).unwrap();
    std::fs::write(&pb, body(&[4, 5, 6, 7, 9])).unwrap();
    let s = import_esp32(&pa, &pb, &out, 5.18e9).unwrap();
    assert_eq!(s.pairs, 3);
    let t = read_trace(&out).unwrap();
    assert_eq!(t.party("alice").unwrap().seq, [3, 4, 6, 9]);
    assert_eq!(t.party("bob").unwrap().seq, [4, 5, 6, 7, 9]);
    assert_eq!(t.center_frequency_hz, 5.18e9);
}

fn line_error_esp32(text: &str) -> (usize, String) {
    match parse_esp32_csv(text) {
        Err(ImportError::Line { line, what }) => (line, what),
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn esp32_malformed_rows_name_the_line() {
    let ok: Vec<i8> = vec![1; 128];
    let good = esp32_row(&ok, 5, 1);
    // Wrong column count (a field dropped).
    let dropped = good.replacen(",STA", "", 1);
    let (line, what) = line_error_esp32(&format!("{ESP32_HEADER}\n{good}\n{dropped}\n"));
    assert_eq!(line, 3);
    assert!(what.contains("columns"), "{what}");
    // Non-numeric CSI value.
    let bad = good.replacen("[1 ", "[x ", 1);
    let (line, what) = line_error_esp32(&format!("{ESP32_HEADER}\n{bad}\n"));
    assert_eq!(line, 2);
    assert!(what.contains("\"x\""), "{what}");
    // Out of int8 range.
    let big = good.replacen("[1 ", "[200 ", 1);
    assert_eq!(line_error_esp32(&format!("{ESP32_HEADER}\n{big}\n")).0, 2);
    // Non-numeric local_timestamp.
    let ts = good.replacen(",1,0,5,", ",1,0,five,", 1);
    let (line, what) = line_error_esp32(&format!("# c\n{ESP32_HEADER}\n{ts}\n"));
    assert_eq!(line, 3);
    assert!(what.contains("local_timestamp"), "{what}");
    // len disagrees with the buffer; buffer too short; unclosed buffer; no header.
    let len = good.replacen(",128,[", ",130,[", 1);
    assert!(line_error_esp32(&format!("{ESP32_HEADER}\n{len}\n"))
        .1
        .contains("len = 130"));
    let short = esp32_row(&[1; 64], 5, 1);
    assert_eq!(
        line_error_esp32(&format!("{ESP32_HEADER}\n\n{short}\n")).0,
        3
    );
    let open = good.trim_end_matches(']').to_owned();
    assert_eq!(line_error_esp32(&format!("{ESP32_HEADER}\n{open}\n")).0, 2);
    assert_eq!(line_error_esp32(&format!("{good}\n")).0, 1);
    // A secondary channel is refused.
    let sc = good.replacen(",1,0,5,", ",1,1,5,", 1);
    assert!(line_error_esp32(&format!("{ESP32_HEADER}\n{sc}\n"))
        .1
        .contains("secondary_channel"));
}

// ---------------------------------------------------------------- RSSI

fn line_error_rssi(text: &str, mark: DecimalMark) -> (usize, String) {
    match parse_rssi_log(text, mark) {
        Err(ImportError::Line { line, what }) => (line, what),
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn rssi_csv_with_header_time_column_and_decimal_comma() {
    let a = "t,rssi\n0.00,-40.5\n0.01,-41.25\n0.02,-39\n";
    let b = "# Bob\ntime;rssi_dbm\n0,005;-40,75\n0,015;-41,5\n";
    let (pa, pb, out) = (tmp("ra.csv"), tmp("rb.txt"), tmp("rssi.h5"));
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    // Bob's decimal commas read per line in Auto mode, and with --decimal-comma.
    for mark in [DecimalMark::Auto, DecimalMark::Comma] {
        let bl = parse_rssi_log(b, mark).unwrap();
        assert_eq!(bl.rssi, [-40.75, -41.5]);
        assert_eq!(bl.t, Some(vec![0.005, 0.015]));
    }
    let s = import_rssi(&pa, &pb, &out, DecimalMark::Auto, 2.4e9).unwrap();
    assert_eq!((s.alice_rows, s.bob_rows, s.pairs), (3, 2, 2));
    let t = read_trace(&out).unwrap();
    assert_eq!(t.kind, TraceKind::Rssi);
    assert_eq!(t.center_frequency_hz, 2.4e9);
    let ta = t.party("alice").unwrap();
    assert_eq!(ta.rssi, [-40.5, -41.25, -39.0]);
    assert_eq!(ta.t, [0.0, 0.01, 0.02]);
    assert_eq!(ta.seq, [0, 1, 2]);
    assert_eq!(t.party("bob").unwrap().t, [0.005, 0.015]);
}

#[test]
fn rssi_sequence_columns_pair_by_number() {
    let a = parse_rssi_log("seq rssi\n1 -40\n2 -41\n5 -42\n", DecimalMark::Point).unwrap();
    let b = parse_rssi_log("2\t-40,5\n3\t-41,5\n5\t-43,5\n", DecimalMark::Comma).unwrap();
    assert_eq!(a.seq, Some(vec![1, 2, 5]));
    assert_eq!(
        b.seq,
        Some(vec![2, 3, 5]),
        "increasing integers without a header"
    );
    let (pa, pb, out) = (tmp("sqa.txt"), tmp("sqb.txt"), tmp("rssiseq.h5"));
    std::fs::write(&pa, "seq rssi\n1 -40\n2 -41\n5 -42\n").unwrap();
    std::fs::write(&pb, "2\t-40,5\n3\t-41,5\n5\t-43,5\n").unwrap();
    let s = import_rssi(&pa, &pb, &out, DecimalMark::Comma, f64::NAN).unwrap();
    assert_eq!(s.pairs, 2);
    let t = read_trace(&out).unwrap();
    let pairs = pair_by_seq(t.party("alice").unwrap(), t.party("bob").unwrap());
    assert_eq!(pairs, [(1, 0), (2, 2)]);
    // Decreasing integers are times, not sequence numbers.
    let d = parse_rssi_log("3 -1\n2 -2\n", DecimalMark::Auto).unwrap();
    assert_eq!((d.seq, d.t), (None, Some(vec![3.0, 2.0])));
}

#[test]
fn rssi_malformed_lines_are_named() {
    let (line, what) = line_error_rssi("t,rssi\n0,-40\n0.1,abc\n", DecimalMark::Point);
    assert_eq!(line, 3);
    assert!(what.contains("abc"), "{what}");
    let (line, what) = line_error_rssi("-40\n-41\n1 -42\n", DecimalMark::Auto);
    assert_eq!(line, 3);
    assert!(what.contains("2 columns"), "{what}");
    assert_eq!(
        line_error_rssi("seq,rssi\n1,-40\n1.5,-41\n", DecimalMark::Point).0,
        3
    );
    assert_eq!(
        line_error_rssi("seq,rssi\n1,-40\n1,-41\n", DecimalMark::Point).0,
        3
    );
    assert_eq!(
        line_error_rssi("foo,rssi\n1,-40\n", DecimalMark::Point).0,
        1
    );
    assert_eq!(line_error_rssi("a,b,c\n", DecimalMark::Point).0, 1);
    // With --decimal-comma a comma never separates: "0,-40" is no number.
    assert_eq!(line_error_rssi("-40,5\n0,-40\n", DecimalMark::Comma).0, 2);
    // Through a file: the error names the file and the line.
    let (pa, out) = (tmp("bad.txt"), tmp("bad.h5"));
    std::fs::write(&pa, "-40\n\n-4x1\n").unwrap();
    let e = import_rssi(&pa, &pa, &out, DecimalMark::Auto, f64::NAN).unwrap_err();
    assert_eq!(e.line(), Some(3));
    assert!(e.to_string().contains("bad.txt: line 3"), "{e}");
}

/// The real USRP set, when `../shared/data/usrp-rssi` is present.
#[test]
fn real_usrp_rssi_set_imports() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/usrp-rssi");
    let (a, b) = (dir.join("RSSI_SDR1.txt"), dir.join("RSSI_SDR2.txt"));
    if !a.exists() || !b.exists() {
        eprintln!("skipped: {} not present", dir.display());
        return;
    }
    let out = tmp("usrp.h5");
    let s = import_rssi(&a, &b, &out, DecimalMark::Comma, f64::NAN).unwrap();
    assert_eq!(s.alice_rows, s.bob_rows);
    assert_eq!(s.pairs, s.alice_rows);
    let t = read_trace(&out).unwrap();
    assert_eq!(t.party("alice").unwrap().rssi[0], -32.144);
    assert_eq!(t.party("bob").unwrap().rssi[0], -28.370);
}

// ---------------------------------------------------------------- raw IQ

#[test]
fn raw_iq_becomes_sigmf_exactly() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let ci8: Vec<u8> = (0..200).map(|_| rng.random()).collect();
    let ci16: Vec<u8> = (0..400).map(|_| rng.random()).collect();
    let cf32: Vec<u8> = (0..50)
        .flat_map(|_| rng.random_range(-2.0f32..2.0).to_le_bytes())
        .collect();
    for (name, format, bytes, datatype) in [
        ("ci8", RawIqFormat::Ci8, &ci8, SigmfDatatype::Ci16Le),
        ("ci16", RawIqFormat::Ci16, &ci16, SigmfDatatype::Ci16Le),
        ("cf32", RawIqFormat::Cf32, &cf32, SigmfDatatype::Cf32Le),
    ] {
        let (input, base) = (tmp(&format!("{name}.raw")), tmp(&format!("{name}-out")));
        std::fs::write(&input, bytes).unwrap();
        let n = import_raw_iq(&input, format, 20e6, Some(2.412e9), &base).unwrap();
        assert_eq!(n, bytes.len() / format.sample_size());
        let (meta, samples) = read_sigmf(&base).unwrap();
        assert_eq!(meta.datatype, datatype);
        assert_eq!(meta.sample_rate, 20e6);
        assert_eq!(meta.frequency, Some(2.412e9));
        assert_eq!(samples, decode_raw_iq(bytes, format).unwrap(), "{name}");
        if name == "ci8" {
            assert_eq!(samples[0].re, f32::from(bytes[0] as i8) / 128.0);
        }
        if name == "ci16" {
            // ci16 is copied bit for bit.
            let data = std::fs::read(base.with_extension("sigmf-data")).unwrap();
            assert_eq!(&data, bytes);
        }
    }
}

#[test]
fn raw_iq_errors_name_the_byte() {
    match decode_raw_iq(&[1, 2, 3, 4, 5], RawIqFormat::Ci16) {
        Err(ImportError::Byte { offset: 4, what }) => {
            assert!(what.contains("inside a sample"), "{what}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        decode_raw_iq(&[1, 2, 3], RawIqFormat::Ci8)
            .unwrap_err()
            .byte(),
        Some(2)
    );
    let mut nan = 1.0f32.to_le_bytes().to_vec();
    nan.extend(1.0f32.to_le_bytes());
    nan.extend(0.5f32.to_le_bytes());
    nan.extend(f32::NAN.to_le_bytes());
    assert_eq!(
        decode_raw_iq(&nan, RawIqFormat::Cf32).unwrap_err().byte(),
        Some(12)
    );
    let input = tmp("odd.raw");
    std::fs::write(&input, [0u8; 7]).unwrap();
    let e = import_raw_iq(&input, RawIqFormat::Ci16, 1e6, None, &tmp("odd-out")).unwrap_err();
    assert_eq!(e.byte(), Some(4));
    assert!(e.to_string().contains("odd.raw: byte 4"), "{e}");
    assert!(import_raw_iq(&input, RawIqFormat::Ci8, 0.0, None, &tmp("odd-out")).is_err());
}

// ---------------------------------------------------------------- no panics

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        match parse_intel5300_log(&bytes) {
            Ok(_) => {}
            Err(e) => prop_assert!(e.byte().is_some_and(|b| b < bytes.len() as u64), "{e}"),
        }
        let text = String::from_utf8_lossy(&bytes);
        for r in [parse_esp32_csv(&text).err(), parse_rssi_log(&text, DecimalMark::Auto).err(),
                  parse_rssi_log(&text, DecimalMark::Comma).err(), parse_rssi_log(&text, DecimalMark::Point).err()]
            .into_iter()
            .flatten()
        {
            prop_assert!(r.line().is_some_and(|l| l >= 1 && l <= text.lines().count()), "{r}");
        }
        for f in [RawIqFormat::Ci8, RawIqFormat::Ci16, RawIqFormat::Cf32] {
            if let Err(e) = decode_raw_iq(&bytes, f) {
                prop_assert!(e.byte().is_some_and(|b| b < bytes.len() as u64), "{e}");
            }
        }
    }

    /// Valid-looking records with random headers: parse or a byte error, never a panic.
    #[test]
    fn bfee_like_records_never_panic(head in prop::collection::vec(any::<u8>(), 20), extra in 0usize..300, cut in 0usize..400) {
        let mut p = head;
        p.extend(std::iter::repeat_n(0x5A, extra));
        let mut bytes = record(0xBB, &p);
        bytes.truncate(cut.max(1));
        let _ = parse_intel5300_log(&bytes);
    }

    /// ESP32-like rows built from pieces: rows or a line error, never a panic.
    #[test]
    fn esp32_like_text_never_panics(rows in prop::collection::vec("CSI_DATA,[-0-9a-z,\\[\\] ]{0,60}", 0..5)) {
        let text = format!("{ESP32_HEADER}\n{}", rows.join("\n"));
        let _ = parse_esp32_csv(&text);
    }
}

// ---------------------------------------------------------------- CLI → replay

/// A fading channel both sides see (plus independent noise), as int8 CSI.
fn correlated_esp32_csvs(n: usize, seed: u64) -> (String, String) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut h = vec![(0.0f64, 0.0f64); 64];
    let (mut a, mut b) = (format!("{ESP32_HEADER}\n"), format!("{ESP32_HEADER}\n"));
    for i in 0..n {
        for x in h.iter_mut() {
            // Block fading: a fresh channel per exchange, smooth across subcarriers below.
            *x = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
        }
        let smooth: Vec<(f64, f64)> = (0..64)
            .map(|k| {
                let (p, q) = (h[k], h[(k + 1) % 64]);
                ((p.0 + q.0) * 25.0, (p.1 + q.1) * 25.0)
            })
            .collect();
        for out in [&mut a, &mut b] {
            let vals: Vec<i8> = smooth
                .iter()
                .flat_map(|(re, im)| {
                    let noise = |rng: &mut ChaCha8Rng| rng.random_range(-2.0..2.0);
                    let im = (im + noise(&mut rng)).round().clamp(-127.0, 127.0) as i8;
                    let re = (re + noise(&mut rng)).round().clamp(-127.0, 127.0) as i8;
                    [im, re]
                })
                .collect();
            out.push_str(&esp32_row(&vals, i as u32 * 2000, 11));
            out.push('\n');
        }
    }
    (a, b)
}

#[test]
fn cli_import_esp32_then_replay() {
    let (a, b) = correlated_esp32_csvs(400, 77);
    let (pa, pb, out) = (tmp("cli-a.csv"), tmp("cli-b.csv"), tmp("cli.h5"));
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    let bin = env!("CARGO_BIN_EXE_qwave");
    let o = Command::new(bin)
        .args(["import", "esp32", "--alice"])
        .arg(&pa)
        .arg("--bob")
        .arg(&pb)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("400 paired"));
    let o = Command::new(bin)
        .arg("replay")
        .arg(&out)
        .args(["--block", "100", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["pairs"], 400, "{report}");
    assert_eq!(report["keys_match"], true, "{report}");
    // A malformed input: the CLI fails and names the file and line.
    let bad = tmp("cli-bad.csv");
    std::fs::write(&bad, format!("{ESP32_HEADER}\nCSI_DATA,1,2\n")).unwrap();
    let o = Command::new(bin)
        .args(["import", "esp32", "--alice"])
        .arg(&pa)
        .arg("--bob")
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cli-bad.csv: line 2"), "{err}");
}

#[test]
fn cli_import_intel5300_rssi_raw_iq() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let bin = env!("CARGO_BIN_EXE_qwave");
    let recs: Vec<u8> = (0..5u16)
        .flat_map(|i| encode_bfee(&random_rec(&mut rng, 3, 1, 0b100100, i, u32::from(i))))
        .collect();
    let (pa, out) = (tmp("cli.dat"), tmp("cli-intel.h5"));
    std::fs::write(&pa, &recs).unwrap();
    let o = Command::new(bin)
        .args([
            "import",
            "intel5300",
            "--rx-antenna",
            "2",
            "--tx-antenna",
            "0",
            "--alice",
        ])
        .arg(&pa)
        .arg("--bob")
        .arg(&pa)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read_trace(&out).unwrap().party("bob").unwrap().len(), 5);

    let (ra, rout) = (tmp("cli-r.txt"), tmp("cli-rssi.h5"));
    std::fs::write(&ra, "-40,5\n-41,25\n").unwrap();
    let o = Command::new(bin)
        .args(["import", "rssi", "--decimal-comma", "--alice"])
        .arg(&ra)
        .arg("--bob")
        .arg(&ra)
        .arg("--out")
        .arg(&rout)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        read_trace(&rout).unwrap().party("alice").unwrap().rssi,
        [-40.5, -41.25]
    );

    let (iq, base) = (tmp("cli.iq"), tmp("cli-iq"));
    std::fs::write(&iq, [1u8, 0, 255, 255, 0, 128, 0, 0]).unwrap();
    let o = Command::new(bin)
        .args(["import", "raw-iq"])
        .arg(&iq)
        .args([
            "--format", "ci16", "--rate", "20e6", "--freq", "2.412e9", "--out",
        ])
        .arg(&base)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (meta, samples) = read_sigmf(&base).unwrap();
    assert_eq!(meta.sample_rate, 20e6);
    assert_eq!(samples[0], Complex32::new(1.0 / 32768.0, -1.0 / 32768.0));
    assert_eq!(samples[1], Complex32::new(-1.0, 0.0));
}
