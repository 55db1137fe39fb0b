//! A live refill across processes: `qwave air`, `qwave centre serve`, `qwave base-station`
//! (key generation as Alice, then relay) and `qwave refill` (key generation as Bob, then the
//! refill into its encrypted store); the peer's `dec_keys` copies equal the terminal's keys.

mod refill_procs;

use std::time::Duration;

use qwave::terminal::TerminalStore;
use refill_procs::*;

fn live(wrap: &str, bytes: &str, keys: usize) {
    let dir = tmpdir(&format!("live-{wrap}"));
    let cdir = dir.join("centre");
    centre_init(&cdir);
    let (centre, caddr) = centre_serve(&cdir);
    let (air, aaddr) = air("11");
    let (station, saddr) = base_station(&aaddr, &caddr, &cdir, &[]);
    let store = dir.join("terminal.db");
    let term = terminal(&aaddr, &saddr, &store, bytes, wrap);
    let limit = Duration::from_secs(600);
    let (t_ok, t_out, t_err) = term.finish(limit);
    assert!(t_ok, "terminal failed:\n{t_err}\n{t_out}");
    let (s_ok, s_out, s_err) = station.finish(limit);
    assert!(s_ok, "base station failed:\n{s_err}\n{s_out}");
    let t: serde_json::Value = serde_json::from_str(t_out.lines().last().unwrap()).unwrap();
    assert_eq!(t["refill"]["keys_stored"], keys, "{t}");
    assert_eq!(t["wrap"], wrap);
    let s: serde_json::Value = serde_json::from_str(s_out.lines().last().unwrap()).unwrap();
    assert_eq!(s["refills_confirmed"], 1, "{s}");
    // --status reads the store.
    let st = std::process::Command::new(BIN)
        .args([
            "refill",
            "--status",
            "--json",
            "--store",
            store.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(v["peers"][0]["peer"], "peer");
    assert_eq!(v["peers"][0]["keys"], keys);
    assert_eq!(v["unfinished_refills"], 0);
    let mut key_file = store.clone().into_os_string();
    key_file.push(".key");
    let ts = TerminalStore::open(&store, std::path::Path::new(&key_file)).unwrap();
    let mine = ts.peek_keys("peer").unwrap();
    assert_eq!(mine.len(), keys);
    peer_fetch_and_compare(&cdir, &caddr, &mine);
    assert_eq!(centre_leftovers(&cdir), (0, 0));
    centre.kill();
    air.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn live_refill_over_the_lab_session_matches_the_peer() {
    live("aes-kw", "64KiB", 2048);
}

/// The full 1 MiB operator volume; run by the full test script.
#[test]
#[ignore = "slow in debug builds; run by the full test script"]
fn live_refill_of_one_mebibyte() {
    live("aes-kw", "1MiB", 32768);
}
