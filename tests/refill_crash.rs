//! Exactly once across crashes: the centre and the base station are SIGKILLed mid-refill
//! (once while chunks are on the air, once after the terminal acknowledged but before the
//! centre heard), restarted, and the terminal retries. Invariants: no key ID is delivered to two
//! parties (each stored once, each fetched by the peer once), every acknowledged key is
//! retrievable by the peer, no reservation is left.

mod refill_procs;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use qwave::terminal::{RefillState, TerminalStore};
use refill_procs::*;

fn open_store(store: &Path) -> TerminalStore {
    let mut key_file = store.to_path_buf().into_os_string();
    key_file.push(".key");
    TerminalStore::open(store, Path::new(&key_file)).unwrap()
}

/// One session in which the base station hangs (`fault`) and is SIGKILLed with the centre.
fn crashed_session(cdir: &Path, store: &Path, fault: &[&str], needle: &str) {
    let (centre, caddr) = centre_serve(cdir);
    let (air, aaddr) = air("5");
    let (mut station, saddr) = base_station(&aaddr, &caddr, cdir, fault);
    let term = terminal(&aaddr, &saddr, store, "96KiB", "aes-kw");
    station.wait_stderr(needle, Duration::from_secs(600));
    centre.kill();
    station.kill();
    let (t_ok, _, t_err) = term.finish(Duration::from_secs(120));
    assert!(
        !t_ok,
        "the terminal cannot finish without its base station:\n{t_err}"
    );
    air.kill();
}

fn clean_session(cdir: &Path, store: &Path) -> serde_json::Value {
    let (centre, caddr) = centre_serve(cdir);
    let (air, aaddr) = air("6");
    let (station, saddr) = base_station(&aaddr, &caddr, cdir, &[]);
    let term = terminal(&aaddr, &saddr, store, "96KiB", "aes-kw");
    let (t_ok, t_out, t_err) = term.finish(Duration::from_secs(600));
    assert!(t_ok, "terminal failed:\n{t_err}");
    let (s_ok, _, s_err) = station.finish(Duration::from_secs(60));
    assert!(s_ok, "base station failed:\n{s_err}");
    centre.kill();
    air.kill();
    serde_json::from_str(t_out.lines().last().unwrap()).unwrap()
}

#[test]
fn sigkill_centre_and_base_station_mid_refill_then_retry() {
    let dir = tmpdir("crash");
    let cdir = dir.join("centre");
    centre_init(&cdir);
    let store = dir.join("terminal.db");

    // 1. Killed while chunks are on the air (3 chunks; the station hangs after the 2nd frame).
    crashed_session(
        &cdir,
        &store,
        &["--fault-hang-after-frames", "2"],
        "hanging mid-refill",
    );
    let s = open_store(&store);
    assert_eq!(
        s.remaining("peer").unwrap(),
        0,
        "nothing of a broken refill stored"
    );
    let first = s.unfinished().unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].state, RefillState::Requested);
    drop(s);
    // Restarted: the retry reuses the refill ID and gets the reserved keys.
    let r = clean_session(&cdir, &store);
    assert_eq!(
        r["refill"]["refill_id"],
        hex::encode(first[0].refill_id),
        "{r}"
    );
    assert_eq!(r["refill"]["keys_stored"], 3072, "{r}");

    // 2. Killed after the terminal stored and acknowledged, before the centre confirmed.
    crashed_session(
        &cdir,
        &store,
        &["--fault-hang-before-confirm"],
        "hanging before confirming",
    );
    let s = open_store(&store);
    let second = s.unfinished().unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(
        second[0].state,
        RefillState::Committed,
        "acknowledged = stored"
    );
    assert_eq!(s.remaining("peer").unwrap(), 2 * 3072 * 32);
    drop(s);
    let r = clean_session(&cdir, &store);
    assert_eq!(r["refill"]["already_stored"], true, "{r}");
    assert_eq!(r["refill"]["keys_stored"], 0, "{r}");

    // Invariants.
    let s = open_store(&store);
    assert!(s.unfinished().unwrap().is_empty());
    let mine = s.peek_keys("peer").unwrap();
    assert_eq!(mine.len(), 2 * 3072);
    let ids: HashSet<&str> = mine.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(ids.len(), mine.len(), "each key stored once");
    assert_eq!(centre_leftovers(&cdir).0, 0, "no reservation left");
    let (centre, caddr) = centre_serve(&cdir);
    peer_fetch_and_compare(&cdir, &caddr, &mine);
    assert_eq!(
        centre_leftovers(&cdir),
        (0, 0),
        "every copy delivered, once"
    );
    centre.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
