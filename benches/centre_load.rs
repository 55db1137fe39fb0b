//! Bounded load test of the key centre on loopback: 64 concurrent SAEs over
//! mutual TLS (one keep-alive connection each), a fixed number of ETSI 014
//! `enc_keys` requests per SAE, then every slave redeems its keys with
//! `dec_keys`. Invariants: no key ID is ever returned twice, and every slave
//! gets exactly the key its master got. Prints requests/s and latency
//! percentiles; stops by itself.
//!
//! `cargo bench --bench centre_load` (SQLite); set QWAVE_BENCH_DB=postgres://…
//! to run against PostgreSQL. QWAVE_BENCH_SAES / QWAVE_BENCH_REQUESTS override
//! 64 SAEs × 40 requests.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use qwave::centre::client::CentreClient;
use qwave::centre::crypto::MasterKey;
use qwave::centre::etsi::KeyContainer;
use qwave::centre::pki::{self, CentreDir};
use qwave::centre::server;
use qwave::centre::store::open_store;
use qwave::centre::{Centre, CentreConfig};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(phase: &str, lat: &mut [Duration], wall: Duration) {
    lat.sort();
    println!(
        "{phase:<9} {:>6} requests in {:>6.2} s: {:>7.1} requests/s, latency p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.2} ms",
        lat.len(),
        wall.as_secs_f64(),
        lat.len() as f64 / wall.as_secs_f64(),
        pct(lat, 0.50).as_secs_f64() * 1e3,
        pct(lat, 0.99).as_secs_f64() * 1e3,
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
    );
}

fn main() {
    // `cargo test --benches` runs bench binaries with --bench absent: do a tiny run then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let saes = env_usize("QWAVE_BENCH_SAES", if quick { 4 } else { 64 });
    let per = env_usize("QWAVE_BENCH_REQUESTS", if quick { 2 } else { 40 });
    let dir = std::env::temp_dir().join(format!("qwave-centre-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let names: Vec<String> = (0..saes).map(|i| format!("sae{i:03}")).collect();
    pki::init_dir(&dir, &names, &[]).expect("centre init");
    let d = CentreDir(dir.clone());
    let url = std::env::var("QWAVE_BENCH_DB").unwrap_or_else(|_| d.default_db());
    let store = open_store(&url).expect("store");
    let cfg = CentreConfig {
        max_key_count: (saes * per) as u64 + 16,
        audit_head: Some(d.audit_head()),
        known_saes: names.iter().cloned().collect(),
        ..CentreConfig::default()
    };
    let centre = Arc::new(Centre::new(
        cfg,
        store,
        MasterKey::load(&d.master_key()).expect("master key"),
    ));
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut m = vec![0u8; 32 * saes * per];
    rng.fill_bytes(&mut m);
    centre.fill_pool(&m, "bench").expect("fill");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let tls = pki::server_config(&dir.join("centre.pem"), &dir.join("centre.key"), &dir.join("ca.pem")).expect("tls");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let handle = server::serve(centre.clone(), tls, listener).expect("serve");
        let addr = handle.addr.to_string();
        println!(
            "centre_load: {saes} SAEs x {per} enc_keys (256-bit keys) + as many dec_keys, store {}, mutual TLS on loopback",
            centre.store().backend()
        );

        // Phase 1: every SAE i asks for keys shared with SAE i+1, concurrently.
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..saes {
            let c = CentreClient::from_dir(&dir, &names[i], &addr).expect("client");
            let slave = names[(i + 1) % saes].clone();
            tasks.push(tokio::spawn(async move {
                let mut conn = c.connect().await.expect("connect");
                let mut lat = Vec::with_capacity(per);
                let mut keys = Vec::with_capacity(per);
                for _ in 0..per {
                    let t = Instant::now();
                    let r = conn
                        .request("POST", &format!("/api/v1/keys/{slave}/enc_keys"), Some(br#"{"number":1}"#))
                        .await
                        .expect("enc_keys");
                    lat.push(t.elapsed());
                    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
                    let k: KeyContainer = r.json().expect("container");
                    keys.extend(k.keys);
                }
                (lat, keys)
            }));
        }
        let mut lat = Vec::new();
        let mut issued: Vec<Vec<qwave::centre::etsi::KeyItem>> = Vec::new();
        for t in tasks {
            let (l, k) = t.await.expect("task");
            lat.extend(l);
            issued.push(k);
        }
        let wall = t0.elapsed();
        report("enc_keys", &mut lat, wall);
        let all: Vec<&str> = issued.iter().flatten().map(|k| k.key_id.as_str()).collect();
        let uniq: HashSet<&str> = all.iter().copied().collect();
        assert_eq!(uniq.len(), all.len(), "a key ID was returned twice");
        let values: HashSet<&str> = issued.iter().flatten().map(|k| k.key.as_str()).collect();
        assert_eq!(values.len(), all.len(), "a key value was returned twice");

        // Phase 2: every slave redeems the keys its master got, one request per key.
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for (i, keys) in issued.iter().enumerate() {
            let slave = (i + 1) % saes;
            let c = CentreClient::from_dir(&dir, &names[slave], &addr).expect("client");
            let master = names[i].clone();
            let keys = keys.clone();
            tasks.push(tokio::spawn(async move {
                let mut conn = c.connect().await.expect("connect");
                let mut lat = Vec::with_capacity(keys.len());
                let mut got = HashMap::new();
                for k in &keys {
                    let t = Instant::now();
                    let r = conn
                        .request("GET", &format!("/api/v1/keys/{master}/dec_keys?key_ID={}", k.key_id), None)
                        .await
                        .expect("dec_keys");
                    lat.push(t.elapsed());
                    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
                    let kc: KeyContainer = r.json().expect("container");
                    for x in kc.keys {
                        assert!(got.insert(x.key_id, x.key).is_none(), "key delivered twice");
                    }
                }
                for k in &keys {
                    assert_eq!(got.get(&k.key_id), Some(&k.key), "slave got a different key");
                }
                lat
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.expect("task"));
        }
        report("dec_keys", &mut lat, t0.elapsed());
        println!("invariants held: {} distinct key IDs, each delivered once to its master and once to its slave", all.len());
        handle.shutdown().await;
    });
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("qwave-centre-load-{}", std::process::id())),
    );
}
