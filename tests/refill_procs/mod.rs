//! Process helpers for the live refill tests: `qwave air`, `qwave centre serve`,
//! `qwave base-station` and `qwave refill` as child processes on loopback.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use qwave::centre::client::CentreClient;
use qwave::centre::etsi::KeyContainer;
use qwave::refill::RefillKey;

#[path = "../procs/mod.rs"]
mod procs;
pub use procs::{Proc, BIN};

pub fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qwave-refill-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `qwave centre init` with the base station, the terminal and the peer as SAEs.
pub fn centre_init(dir: &Path) {
    let st = Command::new(BIN)
        .args(["centre", "init", dir.to_str().unwrap()])
        .args(["--sae", "station", "--sae", "terminal", "--sae", "peer"])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

/// `qwave centre serve` on a free port; returns it with its address.
pub fn centre_serve(dir: &Path) -> (Proc, String) {
    let mut p = Proc::spawn(&[
        "centre",
        "serve",
        "--dir",
        dir.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--max-key-count",
        "40000",
        "--fill-interval-ms",
        "100",
    ]);
    let line = p.first_line();
    let addr = line
        .split("https://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected centre banner {line:?}"))
        .to_string();
    (p, addr)
}

/// `qwave air` for alice and bob.
pub fn air(seed: &str) -> (Proc, String) {
    let mut p = Proc::spawn(&[
        "air",
        "--listen",
        "127.0.0.1:0",
        "--seed",
        seed,
        "--nodes",
        "alice,bob",
        "--idle-timeout",
        "60",
    ]);
    let line = p.first_line();
    let addr = line
        .trim()
        .strip_prefix("air listening on ")
        .unwrap_or_else(|| panic!("unexpected air banner {line:?}"))
        .to_string();
    (p, addr)
}

pub const SECONDS: &str = "10";

/// `qwave base-station`; returns it with the address the terminal connects to.
pub fn base_station(air: &str, centre: &str, dir: &Path, extra: &[&str]) -> (Proc, String) {
    let radio = format!("sim:air={air},node=alice");
    let mut args = vec![
        "base-station",
        "--radio",
        &radio,
        "--listen",
        "127.0.0.1:0",
        "--centre",
        centre,
        "--centre-dir",
        dir.to_str().unwrap(),
        "--sae",
        "station",
        "--terminal",
        "terminal",
        "--seconds",
        SECONDS,
        "--json",
    ];
    args.extend_from_slice(extra);
    let mut p = Proc::spawn(&args);
    let l = p.wait_stderr("alice: listening on ", Duration::from_secs(60));
    let addr = l.split("listening on ").nth(1).unwrap().trim().to_string();
    (p, addr)
}

/// `qwave refill` as the terminal.
pub fn terminal(air: &str, station: &str, store: &Path, bytes: &str, wrap: &str) -> Proc {
    let radio = format!("sim:air={air},node=bob");
    Proc::spawn(&[
        "refill",
        "--peer",
        "peer",
        "--bytes",
        bytes,
        "--wrap",
        wrap,
        "--radio",
        &radio,
        "--peer-addr",
        station,
        "--store",
        store.to_str().unwrap(),
        "--seconds",
        SECONDS,
        "--json",
    ])
}

/// The peer fetches `keys` with dec_keys over mutual TLS and checks them against the
/// terminal's copies; then a second fetch of the first key must fail (delivered once).
pub fn peer_fetch_and_compare(dir: &Path, centre: &str, keys: &[RefillKey]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = CentreClient::from_dir(dir, "peer", centre).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    rt.block_on(async {
        let mut conn = c.connect().await.unwrap();
        for chunk in keys.chunks(128) {
            let ids: Vec<serde_json::Value> = chunk
                .iter()
                .map(|k| serde_json::json!({ "key_ID": k.key_id }))
                .collect();
            let body = serde_json::json!({ "key_IDs": ids }).to_string();
            let r = conn
                .request(
                    "POST",
                    "/api/v1/keys/terminal/dec_keys",
                    Some(body.as_bytes()),
                )
                .await
                .unwrap();
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            let got: KeyContainer = r.json().unwrap();
            assert_eq!(got.keys.len(), chunk.len());
            for (m, t) in chunk.iter().zip(&got.keys) {
                assert_eq!(m.key_id, t.key_id);
                assert_eq!(m.key.as_slice(), b64.decode(&t.key).unwrap().as_slice());
            }
        }
        if let Some(k) = keys.first() {
            let body = serde_json::json!({ "key_IDs": [{ "key_ID": k.key_id }] }).to_string();
            let r = conn
                .request(
                    "POST",
                    "/api/v1/keys/terminal/dec_keys",
                    Some(body.as_bytes()),
                )
                .await
                .unwrap();
            assert_eq!(r.status, 400, "a key is delivered to the peer once");
        }
    });
}

/// Rows still held for the terminal in the centre's database: reservations and undelivered
/// copies.
pub fn centre_leftovers(dir: &Path) -> (i64, i64) {
    let c = rusqlite::Connection::open(dir.join("centre.db")).unwrap();
    let res: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM pending WHERE slave LIKE 'refill:%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let undelivered: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM pending WHERE master = 'terminal' AND delivered = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (res, undelivered)
}
