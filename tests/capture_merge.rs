//! `merge_traces`: per-process lab traces become one trace paired by seq;
//! mismatched inputs are refused with an error naming the mismatch.

use num_complex::Complex32;
use qwave::capture::{merge_traces, CsiTrace, MergeError, PartyTrace, TraceKind};

/// A lab-style trace: rows (seq, csi = seq + column) in `who`'s group, the
/// other groups empty.
fn lab_trace(who: &str, seqs: &[u64], freq: f64, subcarriers: &[i16]) -> CsiTrace {
    let k = subcarriers.len();
    let group = |name: &str, rows: &[u64]| PartyTrace {
        seq: rows.to_vec(),
        t: rows.iter().map(|&s| s as f64 * 0.01).collect(),
        subcarriers: subcarriers.to_vec(),
        csi: rows
            .iter()
            .flat_map(|&s| (0..k).map(move |c| Complex32::new(s as f32, c as f32)))
            .collect(),
        ..PartyTrace::new(name)
    };
    let mut parties = vec![group("alice", &[]), group("bob", &[])];
    match who {
        "alice" => parties[0] = group("alice", seqs),
        "bob" => parties[1] = group("bob", seqs),
        _ => parties.push(group(who, seqs)),
    }
    CsiTrace {
        kind: TraceKind::Csi,
        center_frequency_hz: freq,
        bandwidth_hz: Some(20e6),
        source: format!("{who} test"),
        parties,
    }
}

const SC: [i16; 3] = [-1, 1, 2];

#[test]
fn merge_pairs_rows_by_seq_and_keeps_eve_of_paired_exchanges() {
    let a = lab_trace("alice", &[3, 0, 1, 5], 2.4e9, &SC);
    let b = lab_trace("bob", &[1, 2, 3, 5], 2.4e9, &SC);
    let mut e = lab_trace("eve", &[1, 4, 5], 2.4e9, &SC);
    e.parties[2].observes = Some("bob".into());
    let (m, st) = merge_traces(&a, &b, Some(&e)).unwrap();
    assert_eq!(
        (st.alice_rows, st.bob_rows, st.pairs, st.eve_rows),
        (4, 4, 3, 2)
    );
    let alice = m.party("alice").unwrap();
    assert_eq!(alice.seq, [1, 3, 5]);
    assert_eq!(m.party("bob").unwrap().seq, [1, 3, 5]);
    // Rows keep their own values, reordered by seq.
    assert_eq!(alice.csi_row(1).unwrap()[2], Complex32::new(3.0, 2.0));
    assert_eq!(alice.t, [0.01, 0.03, 0.05]);
    let eve = m.party("eve").unwrap();
    assert_eq!(eve.seq, [1, 5]);
    assert_eq!(eve.observes.as_deref(), Some("bob"));
    m.validate().unwrap();
}

#[test]
fn mismatched_inputs_are_refused_with_the_reason() {
    let a = lab_trace("alice", &[0, 1], 2.4e9, &SC);
    let b = lab_trace("bob", &[0, 1], 2.4e9, &SC);
    // Wrong order: Bob's file as Alice's.
    assert!(matches!(
        merge_traces(&b, &a, None),
        Err(MergeError::MissingParty { input: "alice", .. })
    ));
    // Another carrier.
    let far = lab_trace("bob", &[0, 1], 5.18e9, &SC);
    let err = merge_traces(&a, &far, None).unwrap_err();
    assert!(matches!(err, MergeError::Frequency { input: "bob", .. }));
    assert!(
        err.to_string().contains("center frequency differs"),
        "{err}"
    );
    // Other subcarriers.
    let cols = lab_trace("bob", &[0, 1], 2.4e9, &[-1, 1]);
    assert!(matches!(
        merge_traces(&a, &cols, None),
        Err(MergeError::Subcarriers {
            alice: 3,
            other: 2,
            ..
        })
    ));
    // Another kind.
    let mut rssi = lab_trace("bob", &[], 2.4e9, &SC);
    rssi.kind = TraceKind::Rssi;
    for p in &mut rssi.parties {
        p.subcarriers.clear();
    }
    rssi.parties[1].seq = vec![0, 1];
    rssi.parties[1].t = vec![0.0, 0.01];
    rssi.parties[1].rssi = vec![-40.0, -41.0];
    assert!(matches!(
        merge_traces(&a, &rssi, None),
        Err(MergeError::Kind { other: "rssi", .. })
    ));
    // No common exchange.
    let late = lab_trace("bob", &[7, 8], 2.4e9, &SC);
    assert!(matches!(
        merge_traces(&a, &late, None),
        Err(MergeError::NoPairs)
    ));
    // An Eve file without Eve rows.
    assert!(matches!(
        merge_traces(&a, &b, Some(&a)),
        Err(MergeError::MissingParty { input: "eve", .. })
    ));
}
