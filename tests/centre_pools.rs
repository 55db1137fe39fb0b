//! Key-pool rebalancing wired into the centre (issue 7): per-peer spaces fed from the pool,
//! demand counted from ETSI `enc_keys`, S/I/F/T/M against an independent reference, one
//! journaled rebalancing step (amounts, conservation, no duplicate key, notices, audit), an
//! interrupted move that leaves nothing behind, and `qwave centre pools` on a real directory.
//! SQLite always; PostgreSQL too when QWAVE_TEST_POSTGRES_URL is set (scripts/with-postgres).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use qwave::centre::audit::{AuditEntry, AuditEvent};
use qwave::centre::crypto::MasterKey;
use qwave::centre::etsi::KeyRequest;
use qwave::centre::pki::CentreDir;
use qwave::centre::service::pools::{open_notice, HISTORY_S, RATE_TAU_S};
use qwave::centre::store::{KeyStore, PostgresStore, SqliteStore, StoreError};
use qwave::centre::{Centre, CentreConfig};
use qwave::pools::notice::NoticeBody;
use qwave::pools::{plan_transfers, SpaceState, SpaceStats, Transfer};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

const BIN: &str = env!("CARGO_BIN_EXE_qwave");
const MASTER: [u8; 32] = [7; 32];

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qwave-centre-pools-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn fill(c: &Centre, units: usize, seed: u64) {
    let mut b = vec![0u8; 32 * units];
    ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut b);
    assert_eq!(c.fill_pool(&b, "test").unwrap(), units as u64);
}

fn take(c: &Centre, master: &str, number: u32) {
    let req = KeyRequest {
        number,
        size: 256,
        additional_slaves: Vec::new(),
    };
    let slave = if master == "app" { "hot" } else { "app" };
    assert_eq!(
        c.enc_keys(master, slave, &req).unwrap().keys.len(),
        number as usize
    );
}

/// Reference for S and I, written from the definitions independently of
/// `DemandTracker`: per-second consumption from the first bucket through `now`, EWMA with
/// α = 1/τ seeded by the first second, a peak = a run of seconds above 1.5 × the mean in force.
fn reference(buckets: &[(i64, u64)], now: i64) -> (f64, f64) {
    let per: BTreeMap<i64, u64> = buckets.iter().copied().collect();
    let Some(&first) = per.keys().next() else {
        return (0.0, 1.0);
    };
    let mut rate = per[&first] as f64;
    let (mut run, mut peaks, mut peak_s) = (0u64, 0u64, 0u64);
    for t in first + 1..=now {
        let c = per.get(&t).copied().unwrap_or(0) as f64;
        if rate > 0.0 && c > 1.5 * rate {
            run += 1;
        } else if run > 0 {
            peaks += 1;
            peak_s += run;
            run = 0;
        }
        rate += (c - rate) / RATE_TAU_S;
    }
    let i = if peaks == 0 {
        1.0
    } else {
        peak_s as f64 / peaks as f64
    };
    (rate, i)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// The whole scenario over one store: three peers with skewed demand.
fn scenario(store: Box<dyn KeyStore>) {
    let cfg = CentreConfig {
        known_saes: ["hot", "warm", "cold", "app"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..CentreConfig::default()
    };
    let c = Centre::new(cfg, store, MasterKey::from_bytes(&MASTER));
    fill(&c, 1600, 1);
    for p in ["hot", "warm", "cold"] {
        c.space_configure(p, 30.0).unwrap();
    }
    assert!(c.space_configure("nobody", 30.0).is_err());
    assert!(c.space_configure("hot", f64::NAN).is_err());
    c.set_a_percent(50.0).unwrap();
    c.space_allocate("hot", 100).unwrap();
    c.space_allocate("warm", 400).unwrap();
    c.space_allocate("cold", 900).unwrap();
    assert_eq!(c.store().pool_count().unwrap(), 200);
    assert!(c.space_allocate("hot", 201).is_err());
    assert_eq!(
        c.store().pool_count().unwrap(),
        200,
        "a short allocation moves nothing"
    );

    // Recorded history (the last 200 s): hot 4/s with two 3 s peaks of 20/s, warm 2/s, cold 1/s.
    let start = now_s() - 200;
    for t in start..start + 190 {
        let k = t - start;
        let hot = if (50..53).contains(&k) || (120..123).contains(&k) {
            20
        } else {
            4
        };
        c.store().space_demand_add("hot", t, hot).unwrap();
        c.store().space_demand_add("warm", t, 2).unwrap();
        c.store().space_demand_add("cold", t, 1).unwrap();
    }
    // Live demand through ETSI enc_keys: hot takes 40 keys, warm 2; cold none.
    for _ in 0..10 {
        take(&c, "hot", 4);
    }
    take(&c, "warm", 2);
    // A master without a space still draws from the common pool.
    take(&c, "app", 1);
    assert_eq!(c.store().pool_count().unwrap(), 199);
    let eval = now_s() + 1;
    let eval_ms = eval * 1000;

    let report = c.pools_at(eval_ms).unwrap();
    assert_eq!(
        report.iter().map(|r| r.peer.as_str()).collect::<Vec<_>>(),
        ["cold", "hot", "warm"]
    );
    let hist = |p: &str| -> u64 {
        (start..start + 190)
            .map(|t| {
                let k = t - start;
                match p {
                    "hot" if (50..53).contains(&k) || (120..123).contains(&k) => 20,
                    "hot" => 4,
                    "warm" => 2,
                    _ => 1,
                }
            })
            .sum()
    };
    let live = |p: &str| match p {
        "hot" => 40,
        "warm" => 2,
        _ => 0,
    };
    let alloc = |p: &str| match p {
        "hot" => 100u64,
        "warm" => 400,
        _ => 900,
    };
    let mut expected = BTreeMap::new();
    for r in &report {
        let buckets = c.store().space_demand(&r.peer, eval - HISTORY_S).unwrap();
        let total: u64 = buckets.iter().map(|b| b.1).sum();
        assert_eq!(
            total,
            hist(&r.peer) + live(&r.peer),
            "{}: demand recorded",
            r.peer
        );
        let (s, i) = reference(&buckets, eval);
        assert_eq!(r.stored, alloc(&r.peer) - live(&r.peer), "{}", r.peer);
        assert!(close(r.s, s), "{}: S {} vs {s}", r.peer, r.s);
        assert!(close(r.i, i), "{}: I {} vs {i}", r.peer, r.i);
        assert_eq!(r.f, 30.0);
        assert!(close(r.t, s * i) && close(r.m, s * 30.0), "{r:?}");
        let st = r.stored as f64;
        let state = if st < s * 30.0 {
            SpaceState::Deficit
        } else if st > s * i {
            SpaceState::Surplus
        } else {
            SpaceState::Balanced
        };
        assert_eq!(r.state, state, "{r:?}");
        expected.insert(
            r.peer.clone(),
            SpaceStats {
                stored: r.stored,
                consumption_rate: s,
                peak_duration_s: i,
                replenish_s: 30.0,
            },
        );
    }
    // Hot had two finished 3 s peaks (its live burst may add a 1–2 s one): I > 1, and it is
    // short: a deficit. Warm and cold hold far more than a peak's worth: surplus.
    let hot = &report[1];
    assert!(hot.i >= 2.0, "{hot:?}");
    assert_eq!(hot.state, SpaceState::Deficit, "{hot:?}");
    assert_eq!(report[0].state, SpaceState::Surplus);
    assert_eq!(report[2].state, SpaceState::Surplus);

    let before: BTreeMap<String, Vec<String>> = ["hot", "warm", "cold"]
        .iter()
        .map(|p| (p.to_string(), c.store().space_ids(p).unwrap()))
        .collect();
    let total_before: u64 =
        c.store().pool_count().unwrap() + before.values().map(|v| v.len() as u64).sum::<u64>();

    let moves = c.rebalance_pools_at(eval_ms).unwrap();
    // The plan the rule gives for the hand-checked statistics: cold (largest excess) covers
    // hot's whole lack, ⌈M − stored⌉.
    let lack = (expected["hot"].lower() - expected["hot"].stored as f64).ceil() as u64;
    assert_eq!(
        plan_transfers(&expected, 50.0),
        vec![Transfer {
            from: "cold".into(),
            to: "hot".into(),
            amount: lack
        }]
    );
    assert_eq!(moves.len(), 1);
    assert_eq!(
        (moves[0].from.as_str(), moves[0].to.as_str()),
        ("cold", "hot")
    );
    assert_eq!(moves[0].amount, lack);

    let after: BTreeMap<String, Vec<String>> = ["hot", "warm", "cold"]
        .iter()
        .map(|p| (p.to_string(), c.store().space_ids(p).unwrap()))
        .collect();
    let n = lack as usize;
    assert_eq!(after["hot"].len(), before["hot"].len() + n);
    assert_eq!(after["cold"].len(), before["cold"].len() - n);
    assert_eq!(after["warm"], before["warm"]);
    let moved = &before["cold"][..n];
    assert_eq!(
        &after["cold"][..],
        &before["cold"][n..],
        "the oldest units emigrate"
    );
    let hot_after: HashSet<&String> = after["hot"].iter().collect();
    assert!(moved.iter().all(|id| hot_after.contains(id)));
    let mut seen = HashSet::new();
    for ids in after.values() {
        for id in ids {
            assert!(seen.insert(id.clone()), "key unit {id} in two spaces");
        }
    }
    let total_after =
        c.store().pool_count().unwrap() + after.values().map(|v| v.len() as u64).sum::<u64>();
    assert_eq!(total_after, total_before, "no unit lost or created");

    // Notices: one per peer, sealed, naming the count and the moved IDs.
    let out = c.store().outbox().unwrap();
    assert_eq!(out.len(), 2);
    let mk = MasterKey::from_bytes(&MASTER);
    for n in &out {
        assert_eq!(n.migration, moves[0].migration);
        match (n.kind.as_str(), open_notice(&mk, n).unwrap()) {
            ("discard", NoticeBody::Discard(ids)) => {
                assert_eq!(n.peer, "cold");
                assert_eq!(ids, moved);
            }
            ("keys", NoticeBody::Keys(units)) => {
                assert_eq!(n.peer, "hot");
                let ids: Vec<String> = units.iter().map(|u| u.id.clone()).collect();
                assert_eq!(ids, moved);
                assert!(units.iter().all(|u| u.key.len() == 32));
            }
            (k, b) => panic!("unexpected notice {k}: {b:?}"),
        }
    }
    // Audit: one migrate record, chain intact.
    let recs = c.store().audit_all().unwrap();
    assert_eq!(recs.iter().filter(|r| r.event == "migrate").count(), 1);
    let audit_before = recs.len();
    assert!(c.audit_verify().unwrap().1.is_empty());

    // Interrupted move (the notice step fails inside the transaction): nothing moved, no
    // notice, no audit record.
    let r = c
        .store()
        .space_move("warm", "hot", 10, eval_ms, &mut |_, _| {
            Err(StoreError::Corrupt("crash".into()))
        });
    assert!(r.is_err());
    assert_eq!(c.store().space_ids("warm").unwrap(), after["warm"]);
    assert_eq!(c.store().space_ids("hot").unwrap(), after["hot"]);
    assert_eq!(c.store().outbox().unwrap().len(), 2);
    assert_eq!(c.store().audit_all().unwrap().len(), audit_before);
    // A move larger than the space: refused, nothing moved.
    let r = c
        .store()
        .space_move("warm", "hot", 10_000, eval_ms, &mut |_, _| {
            Ok((
                Vec::new(),
                AuditEntry::new(AuditEvent::Migrate, "centre", "x", "y"),
            ))
        });
    assert!(matches!(r, Err(StoreError::Insufficient { .. })), "{r:?}");
    assert_eq!(c.store().space_ids("warm").unwrap(), after["warm"]);

    // No space is short any more (the givers kept their own M): a second step at the same
    // time has no deficit to serve.
    for r in c.pools_at(eval_ms).unwrap() {
        assert_ne!(r.state, SpaceState::Deficit, "{r:?}");
    }
    assert!(c.rebalance_pools_at(eval_ms).unwrap().is_empty());
}

#[test]
fn sqlite_skewed_demand_is_rebalanced() {
    let d = tmpdir("sqlite");
    std::fs::create_dir_all(&d).unwrap();
    scenario(Box::new(SqliteStore::open(&d.join("centre.db")).unwrap()));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn postgres_skewed_demand_is_rebalanced() {
    let url = match std::env::var("QWAVE_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            eprintln!("QWAVE_TEST_POSTGRES_URL not set: PostgreSQL pools test skipped");
            return;
        }
    };
    let mut pg = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    pg.batch_execute(
        "DROP TABLE IF EXISTS pool, pending, devices, audit, spaces, space_units, space_demand, migrations, outbox, settings, space_shared, space_inflight, space_consumed, outbox_wire",
    )
    .unwrap();
    scenario(Box::new(PostgresStore::connect(&url, 2).unwrap()));
}

fn qwave(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "qwave {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn open_dir_centre(dir: &Path) -> Centre {
    let d = CentreDir(dir.to_owned());
    let cfg = CentreConfig {
        known_saes: d.sae_ids().unwrap().into_iter().collect(),
        audit_head: Some(d.audit_head()),
        ..CentreConfig::default()
    };
    let store = SqliteStore::open(&dir.join("centre.db")).unwrap();
    Centre::new(
        cfg,
        Box::new(store),
        MasterKey::load(&d.master_key()).unwrap(),
    )
}

#[test]
fn cli_prints_the_table_and_rebalances() {
    let d = tmpdir("cli");
    let ds = d.to_str().unwrap();
    qwave(&[
        "centre", "init", ds, "--sae", "hot", "--sae", "cold", "--sae", "app",
    ]);
    {
        let c = open_dir_centre(&d);
        fill(&c, 300, 2);
    }
    // Spaces and allocation through the CLI; demand through enc_keys in process.
    qwave(&[
        "centre",
        "pools",
        ds,
        "--space",
        "hot=60",
        "--space",
        "cold=60",
        "--allocate",
        "hot=50",
        "--allocate",
        "cold=200",
        "--a-percent",
        "40",
    ]);
    {
        let c = open_dir_centre(&d);
        for _ in 0..5 {
            take(&c, "hot", 4);
        }
        take(&c, "cold", 1);
    }
    let v: serde_json::Value =
        serde_json::from_str(qwave(&["centre", "pools", ds, "--json"]).trim()).unwrap();
    assert_eq!(v["a_percent"], 40.0);
    let sp = v["spaces"].as_array().unwrap();
    assert_eq!(sp.len(), 2);
    let (cold, hot) = (&sp[0], &sp[1]);
    assert_eq!(
        (cold["peer"].as_str(), hot["peer"].as_str()),
        (Some("cold"), Some("hot"))
    );
    assert_eq!(
        (hot["stored"].as_u64(), cold["stored"].as_u64()),
        (Some(30), Some(199))
    );
    assert_eq!(hot["f"], 60.0);
    // 20 units in the first second(s): S ≈ 20 → M ≈ 1200 ≫ 30 stored. On a loaded machine the
    // takes can spread over several seconds and the EWMA is seeded by a smaller first second;
    // any S > 0.5 keys/s still puts M = 60·S above the 30 stored.
    assert!(hot["s"].as_f64().unwrap() > 0.5, "{hot}");
    assert_eq!(hot["state"], "deficit");
    assert!(close(
        hot["m"].as_f64().unwrap(),
        hot["s"].as_f64().unwrap() * 60.0
    ));
    assert_eq!(cold["state"], "surplus");

    let text = qwave(&["centre", "pools", ds, "--rebalance"]);
    assert!(
        text.contains("moved") && text.contains("cold -> hot"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("peer") && l.contains("S keys/s") && l.contains("state")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("hot ")), "{text}");
    assert!(qwave(&["centre", "audit", "verify", "--dir", ds]).contains("intact"));
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_api_shows_and_rebalances_pools() {
    let d = tmpdir("api");
    let saes: Vec<String> = ["hot", "cold", "app"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    qwave::centre::pki::init_dir(&d, &saes, &[]).unwrap();
    let c = std::sync::Arc::new(open_dir_centre(&d));
    fill(&c, 300, 3);
    c.space_configure("hot", 60.0).unwrap();
    c.space_configure("cold", 60.0).unwrap();
    c.space_allocate("hot", 50).unwrap();
    c.space_allocate("cold", 200).unwrap();
    for _ in 0..5 {
        take(&c, "hot", 4);
    }
    let tls = qwave::centre::pki::server_config(
        &d.join("centre.pem"),
        &d.join("centre.key"),
        &d.join("ca.pem"),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = qwave::centre::server::serve(c.clone(), tls, listener).unwrap();
    let addr = handle.addr.to_string();
    let get = |who: &str, method: &'static str, path: &'static str| {
        let cl = qwave::centre::client::CentreClient::from_dir(&d, who, &addr).unwrap();
        async move {
            let r = cl.request(method, path, None).await.unwrap();
            (
                r.status,
                serde_json::from_slice::<serde_json::Value>(&r.body).unwrap_or_default(),
            )
        }
    };
    let (code, v) = get("operator", "GET", "/api/qwave/v1/pools").await;
    assert_eq!(code, 200, "{v}");
    let hot = v["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["peer"] == "hot")
        .unwrap()
        .clone();
    assert_eq!(
        (hot["stored"].as_u64(), hot["state"].as_str()),
        (Some(30), Some("deficit"))
    );
    // Not for SAEs.
    assert_eq!(get("hot", "GET", "/api/qwave/v1/pools").await.0, 401);
    assert_eq!(
        get("hot", "POST", "/api/qwave/v1/pools/rebalance").await.0,
        401
    );
    let before = c.store().space_count("hot").unwrap();
    let (code, v) = get("operator", "POST", "/api/qwave/v1/pools/rebalance").await;
    assert_eq!(code, 200, "{v}");
    // Cold never consumed (S = 0, so T = 0): every step moves a % = 50 of what it holds, up
    // to 2 · spaces transfers, while hot stays short.
    let t = v["transfers"].as_array().unwrap();
    assert!(!t.is_empty(), "{v}");
    assert!(t
        .iter()
        .all(|t| (t["from"].as_str(), t["to"].as_str()) == (Some("cold"), Some("hot"))));
    let moved: u64 = t.iter().map(|t| t["amount"].as_u64().unwrap()).sum();
    assert_eq!(t[0]["amount"], 100, "half of cold's 200");
    assert_eq!(c.store().space_count("cold").unwrap(), 200 - moved);
    assert_eq!(c.store().space_count("hot").unwrap(), before + moved);
    handle.shutdown().await;
    let _ = std::fs::remove_dir_all(&d);
}
