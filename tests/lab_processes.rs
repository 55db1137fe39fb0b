//! Lab mode as separate processes on loopback: `qwave air`, `qwave lab
//! --role alice` and `qwave lab --role bob` (and Eve), exactly as on a bench.
//! Both parties confirm the same keys (equal fingerprints in their `--json`
//! reports); killing Bob mid-run leaves Alice with a clear error and no key.

mod procs;

use std::time::Duration;

use procs::{air, alice_addr, json, lab, lab_radio};

fn run_pair(seconds: &str, with_eve: bool) {
    let nodes = if with_eve {
        "alice,bob,eve"
    } else {
        "alice,bob"
    };
    let (air, addr) = air("7", nodes);
    let dir = std::env::temp_dir().join(format!("qwave-lab-{seconds}-{}", std::process::id()));
    let rec = dir.to_str().unwrap().to_string();
    let mut alice = lab("alice", &addr, "127.0.0.1:0", seconds, &["--record", &rec]);
    let peer = alice_addr(&mut alice);
    let bob = lab("bob", &addr, &peer, seconds, &[]);
    let eve = with_eve.then(|| lab("eve", &addr, "-", seconds, &["--record", &rec]));
    let limit = Duration::from_secs(600);
    let (a_ok, a_out, a_err) = alice.finish(limit);
    let (b_ok, b_out, b_err) = bob.finish(limit);
    assert!(
        a_ok && b_ok,
        "alice ok {a_ok}, bob ok {b_ok}\nalice:\n{a_err}\n{a_out}\nbob:\n{b_err}\n{b_out}"
    );
    let (a, b) = (json(&a_out), json(&b_out));
    for (who, r) in [("alice", &a), ("bob", &b)] {
        assert_eq!(r["confirmed"], true, "{who}: {r}");
        assert!(r["aborted"].is_null(), "{who}: {r}");
        assert!(r["final_key_bits"].as_u64().unwrap() > 0, "{who}: {r}");
        assert!(
            r["probe_stats"]["found"].as_u64().unwrap() > 0,
            "{who}: {r}"
        );
        // The fixed report fields are all present.
        for f in [
            "probes",
            "pairs",
            "channel_seconds",
            "raw_bits",
            "bit_disagreement",
            "reconciler",
            "leaked_bits",
            "messages",
            "efficiency",
            "min_entropy_per_bit",
            "key_rate_bps",
            "keys_match",
            "wall_seconds",
        ] {
            assert!(r.get(f).is_some(), "{who} report lacks {f}");
        }
    }
    let fa = a["key_fingerprint"].as_str().expect("alice fingerprint");
    let fb = b["key_fingerprint"].as_str().expect("bob fingerprint");
    assert_eq!(fa.len(), 64);
    assert_eq!(fa, fb, "both sides hold the same keys");
    assert_eq!(a["final_key_bits"], b["final_key_bits"]);
    assert_eq!(a["keys"], b["keys"]);
    // Alice's recording holds one row per probe she measured.
    let t = qwave::capture::read_trace(&dir.join("alice.h5")).unwrap();
    let rows = t.party("alice").unwrap().len() as u64;
    assert_eq!(rows, a["probe_stats"]["found"].as_u64().unwrap());
    assert!(t.party("bob").unwrap().is_empty());
    if let Some(eve) = eve {
        let (e_ok, e_out, e_err) = eve.finish(limit);
        assert!(e_ok, "eve failed:\n{e_err}");
        let e = json(&e_out);
        assert!(e["probe_stats"]["found"].as_u64().unwrap() > 0, "{e}");
        let t = qwave::capture::read_trace(&dir.join("eve-of-bob.h5")).unwrap();
        let p = t.party("eve").unwrap();
        assert_eq!(p.observes.as_deref(), Some("bob"));
        assert!(!p.is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (air_ok, _, air_err) = air.finish(Duration::from_secs(30));
    assert!(air_ok, "air failed:\n{air_err}");
}

#[test]
fn three_processes_confirm_the_same_key() {
    run_pair("20", false);
}

/// Longer run with an eavesdropper recording; run by the full test script.
#[test]
#[ignore = "slow in debug builds; run by the full test script"]
fn long_run_with_eve_recording() {
    run_pair("60", true);
}

#[test]
fn killing_bob_mid_run_leaves_alice_with_no_key_and_a_clear_error() {
    let (air, addr) = air("11", "alice,bob");
    let mut alice = lab("alice", &addr, "127.0.0.1:0", "600", &[]);
    let peer = alice_addr(&mut alice);
    let mut bob = lab("bob", &addr, &peer, "600", &[]);
    // Mid-run: after the first confirmed block, with most of the schedule to go.
    alice.wait_stderr("block 0: key", Duration::from_secs(300));
    bob.child.kill().unwrap();
    bob.child.wait().unwrap();
    let (ok, out, err) = alice.finish(Duration::from_secs(120));
    assert!(!ok, "alice must fail when bob vanishes:\n{err}");
    assert!(
        err.contains("released no key") && err.contains("closed"),
        "unclear error:\n{err}"
    );
    let r = json(&out);
    assert!(r["key_fingerprint"].is_null(), "{r}");
    assert_eq!(r["keys"], 0);
    assert_eq!(r["final_key_bits"], 0);
    assert_eq!(r["confirmed"], false);
    assert!(r["aborted"].as_str().unwrap().contains("closed"), "{r}");
    let (_, _, air_err) = air.finish(Duration::from_secs(60));
    assert!(air_err.contains("bob left"), "{air_err}");
}

#[test]
fn losing_the_air_mid_run_fails_both_parties_without_keys() {
    let (mut air, addr) = air("13", "alice,bob");
    let mut alice = lab("alice", &addr, "127.0.0.1:0", "600", &[]);
    let peer = alice_addr(&mut alice);
    let bob = lab("bob", &addr, &peer, "600", &[]);
    alice.wait_stderr("block 0: key", Duration::from_secs(300));
    air.child.kill().unwrap();
    air.child.wait().unwrap();
    for (who, p) in [("alice", alice), ("bob", bob)] {
        let (ok, out, err) = p.finish(Duration::from_secs(120));
        assert!(!ok, "{who} must fail without its radio:\n{err}");
        assert!(err.contains("released no key"), "{who}:\n{err}");
        let r = json(&out);
        assert!(r["key_fingerprint"].is_null(), "{who}: {r}");
        assert_eq!(r["keys"], 0, "{who}: {r}");
        assert!(r["aborted"].is_string(), "{who}: {r}");
    }
}

/// Radios without device time (HackRF-like `timing=relative` sim radios):
/// Alice paces probes by her receive stream, Bob scans and replies after a
/// fixed turnaround, Eve tells the two probes of an exchange apart by order.
/// The keys agree, and the gap Alice measures is the turnaround plus one
/// probe (400 samples = 20 µs at 20 MS/s).
#[test]
fn relative_timing_ping_pong_confirms_the_same_key() {
    let (air, addr) = air("5", "alice,bob,eve");
    let radio =
        |node: &str| format!("sim:air={addr},node={node},timing=relative,turnaround_us=200");
    let extra = ["--exchange-rate", "500", "--block", "1500"];
    let mut alice = lab_radio("alice", &radio("alice"), "127.0.0.1:0", "3", &extra);
    let peer = alice_addr(&mut alice);
    let bob = lab_radio("bob", &radio("bob"), &peer, "3", &extra);
    let eve = lab_radio("eve", &radio("eve"), "-", "3", &extra);
    let limit = Duration::from_secs(300);
    let (a_ok, a_out, a_err) = alice.finish(limit);
    let (b_ok, b_out, b_err) = bob.finish(limit);
    let (e_ok, e_out, e_err) = eve.finish(limit);
    assert!(
        a_ok && b_ok && e_ok,
        "alice:\n{a_err}\nbob:\n{b_err}\neve:\n{e_err}"
    );
    let (a, b, e) = (json(&a_out), json(&b_out), json(&e_out));
    assert_eq!(a["confirmed"], true, "{a}");
    assert!(a["final_key_bits"].as_u64().unwrap() > 0, "{a}");
    assert_eq!(a["key_fingerprint"], b["key_fingerprint"]);
    let (pa, pb, pe) = (&a["probe_stats"], &b["probe_stats"], &e["probe_stats"]);
    assert_eq!(pa["exchanges"], 1500, "{pa}");
    // Nearly every probe found on both sides, every reply on time.
    assert!(pa["found"].as_u64().unwrap() >= 1485, "{pa}");
    assert!(pb["found"].as_u64().unwrap() >= 1485, "{pb}");
    assert_eq!(pb["late_replies"], 0, "{pb}");
    assert_eq!(pa["turnaround_us"], 200.0);
    let rt = pa["round_trip_mean_us"].as_f64().unwrap();
    assert!(
        (rt - 220.0).abs() < 2.0,
        "round trip {rt} µs, expected 200 + 20"
    );
    assert!(pa["round_trip_std_us"].as_f64().unwrap() < 1.0, "{pa}");
    // Eve sees both probes of nearly every exchange.
    assert!(pe["found"].as_u64().unwrap() >= 2970, "{pe}");
    let (air_ok, _, air_err) = air.finish(Duration::from_secs(30));
    assert!(air_ok, "air failed:\n{air_err}");
}
