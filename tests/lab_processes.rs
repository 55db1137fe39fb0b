//! Lab mode as separate processes on loopback: `qwave air`, `qwave lab
//! --role alice` and `qwave lab --role bob` (and Eve), exactly as on a bench.
//! Both parties confirm the same keys (equal fingerprints in their `--json`
//! reports); killing Bob mid-run leaves Alice with a clear error and no key.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_qwave");

/// A child process whose stderr is collected by a thread.
struct Proc {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn qwave");
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Self { child, stderr }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr contains `needle`; returns the line holding it.
    fn wait_stderr(&mut self, needle: &str, within: Duration) -> String {
        let start = Instant::now();
        loop {
            if let Some(l) = self.stderr().lines().find(|l| l.contains(needle)) {
                return l.to_string();
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "process exited ({st}) before `{needle}`:\n{}",
                    self.stderr()
                );
            }
            assert!(
                start.elapsed() < within,
                "no `{needle}` within {within:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for exit (killing on timeout); returns (success, stdout).
    fn finish(mut self, within: Duration) -> (bool, String, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if start.elapsed() > within {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "process did not finish within {within:?}:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        std::thread::sleep(Duration::from_millis(50)); // let the stderr thread drain
        (status.success(), out, self.stderr())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `qwave air` and returns it with its address.
fn air(seed: &str, nodes: &str) -> (Proc, String) {
    air_scenario(seed, nodes, "walk")
}

fn air_scenario(seed: &str, nodes: &str, scenario: &str) -> (Proc, String) {
    let mut p = Proc::spawn(&[
        "air",
        "--scenario",
        scenario,
        "--listen",
        "127.0.0.1:0",
        "--seed",
        seed,
        "--nodes",
        nodes,
        "--idle-timeout",
        "60",
    ]);
    let mut line = String::new();
    BufReader::new(p.child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("air listening on ")
        .unwrap_or_else(|| panic!("unexpected air banner {line:?}"))
        .to_string();
    (p, addr)
}

fn lab(role: &str, air: &str, peer: &str, seconds: &str, extra: &[&str]) -> Proc {
    lab_radio(
        role,
        &format!("sim:air={air},node={role}"),
        peer,
        seconds,
        extra,
    )
}

fn lab_radio(role: &str, radio: &str, peer: &str, seconds: &str, extra: &[&str]) -> Proc {
    let mut args = vec![
        "lab",
        "--role",
        role,
        "--radio",
        radio,
        "--peer",
        peer,
        "--seconds",
        seconds,
        "--json",
    ];
    args.extend_from_slice(extra);
    Proc::spawn(&args)
}

/// Alice listens on port 0; her log names the bound address.
fn alice_addr(alice: &mut Proc) -> String {
    let l = alice.wait_stderr("alice: listening on ", Duration::from_secs(60));
    l.split("listening on ").nth(1).unwrap().trim().to_string()
}

fn json(s: &str) -> serde_json::Value {
    let line = s.lines().last().unwrap_or_else(|| panic!("no stdout"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON ({e}): {s}"))
}

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
    assert!(a_ok, "alice failed:\n{a_err}\n{a_out}");
    assert!(b_ok, "bob failed:\n{b_err}\n{b_out}");
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
    let extra = ["--exchange-rate", "500", "--block", "750"];
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
