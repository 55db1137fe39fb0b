//! Key-pool rebalancing end to end with the peers (issue 7): a mutual-TLS centre in process and
//! peer SAEs with their own encrypted stores. Peers sync their spaces, skewed `enc_keys` demand
//! triggers a rebalance, peers fetch, decrypt, apply and acknowledge their notices; every peer's
//! store then equals the centre's view of its space (IDs and material), no unit is in two places,
//! totals are conserved. Tampered and mis-addressed notices are refused with typed errors, a lost
//! acknowledgement leads to the same notice re-sent and applied once, a notice to a peer that
//! shares no unit yet waits until it syncs, and `qwave pool-peer` does the same from the CLI.
//! SQLite back end (the store queries are shared with PostgreSQL by `tests/centre_pools.rs`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use qwave::centre::client::CentreClient;
use qwave::centre::crypto::MasterKey;
use qwave::centre::etsi::KeyRequest;
use qwave::centre::pki::CentreDir;
use qwave::centre::store::{KeyStore, PostgresStore, SqliteStore};
use qwave::centre::{Centre, CentreConfig};
use qwave::pools::notice::{NoticeError, WireNotice};
use qwave::pools::peer::{
    ack_notice, fetch_notices, get_notices, sync, NoticeApplied, PeerError, PeerStore,
};
use qwave::pools::Transfer;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

const BIN: &str = env!("CARGO_BIN_EXE_qwave");
const PEERS: [&str; 3] = ["hot", "warm", "cold"];

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qwave-pools-peers-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn open_dir_centre(dir: &Path) -> Centre {
    let store = SqliteStore::open(&dir.join("centre.db")).unwrap();
    centre_over(dir, Box::new(store))
}

fn centre_over(dir: &Path, store: Box<dyn KeyStore>) -> Centre {
    let d = CentreDir(dir.to_owned());
    let cfg = CentreConfig {
        known_saes: d.sae_ids().unwrap().into_iter().collect(),
        audit_head: Some(d.audit_head()),
        ..CentreConfig::default()
    };
    Centre::new(cfg, store, MasterKey::load(&d.master_key()).unwrap())
}

fn take(c: &Centre, master: &str, number: u32) {
    let req = KeyRequest {
        number,
        size: 256,
        additional_slaves: Vec::new(),
    };
    assert_eq!(
        c.enc_keys(master, "app", &req).unwrap().keys.len(),
        number as usize
    );
}

/// The centre's view of `peer`'s space: ID → material.
fn centre_view(c: &Centre, mk: &MasterKey, peer: &str) -> BTreeMap<String, Vec<u8>> {
    c.store()
        .space_units(peer)
        .unwrap()
        .into_iter()
        .map(|u| {
            let k = mk
                .open(format!("pool:{}", u.id).as_bytes(), &u.sealed)
                .unwrap();
            (u.id, k.to_vec())
        })
        .collect()
}

fn peer_view(s: &PeerStore) -> BTreeMap<String, Vec<u8>> {
    s.units()
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u.key.to_vec()))
        .collect()
}

fn units_total(c: &Centre, peers: &[&str]) -> u64 {
    c.store().pool_count().unwrap()
        + peers
            .iter()
            .map(|p| c.store().space_count(p).unwrap())
            .sum::<u64>()
}

#[test]
fn peers_share_spaces_and_apply_notices_exactly_once() {
    let d = tmpdir("e2e");
    let saes: Vec<String> = ["hot", "warm", "cold", "lonely", "app"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    qwave::centre::pki::init_dir(&d, &saes, &[]).unwrap();
    let store = SqliteStore::open(&d.join("centre.db")).unwrap();
    scenario(&d, Box::new(store));
}

/// The same scenario over PostgreSQL (QWAVE_TEST_POSTGRES_URL, set by scripts/with-postgres).
#[test]
fn postgres_peers_share_spaces_and_apply_notices_exactly_once() {
    let url = match std::env::var("QWAVE_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            eprintln!("QWAVE_TEST_POSTGRES_URL not set: PostgreSQL peers test skipped");
            return;
        }
    };
    let mut pg = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    pg.batch_execute(
        "DROP TABLE IF EXISTS pool, pending, devices, audit, spaces, space_units, space_demand, migrations, outbox, settings, space_shared, space_inflight, space_consumed, outbox_wire",
    )
    .unwrap();
    let d = tmpdir("e2e-pg");
    let saes: Vec<String> = ["hot", "warm", "cold", "lonely", "app"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    qwave::centre::pki::init_dir(&d, &saes, &[]).unwrap();
    let store = PostgresStore::connect(&url, 4).unwrap();
    scenario(&d, Box::new(store));
}

/// The scenario runs on the test thread (the PostgreSQL client blocks, so not inside a runtime);
/// the server and the peers' requests run on `rt`.
fn scenario(d: &Path, store: Box<dyn KeyStore>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let d = d.to_owned();
    let c = Arc::new(centre_over(&d, store));
    let mk = MasterKey::load(&CentreDir(d.clone()).master_key()).unwrap();
    let mut b = vec![0u8; 32 * 1600];
    ChaCha20Rng::seed_from_u64(11).fill_bytes(&mut b);
    assert_eq!(c.fill_pool(&b, "test").unwrap(), 1600);
    for p in PEERS {
        c.space_configure(p, 30.0).unwrap();
    }
    c.space_allocate("hot", 100).unwrap();
    c.space_allocate("warm", 400).unwrap();
    c.space_allocate("cold", 900).unwrap();
    let initial = units_total(&c, &PEERS);

    let tls = qwave::centre::pki::server_config(
        &d.join("centre.pem"),
        &d.join("centre.key"),
        &d.join("ca.pem"),
    )
    .unwrap();
    let handle = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        qwave::centre::server::serve(c.clone(), tls, listener).unwrap()
    });
    let addr = handle.addr.to_string();
    let client = |who: &str| CentreClient::from_dir(&d, who, &addr).unwrap();
    let mut stores: BTreeMap<&str, PeerStore> = PEERS
        .iter()
        .map(|p| {
            (
                *p,
                PeerStore::open(&d.join(format!("peer-{p}")), p).unwrap(),
            )
        })
        .collect();

    // A lost sync reply changes nothing at the centre; the next sync delivers everything.
    c.space_sync("hot").unwrap();
    assert!(c.store().space_shared_ids("hot").unwrap().is_empty());
    // Peers sync their spaces: after the acknowledgement both sides hold the same units.
    for p in PEERS {
        let s = stores.get_mut(p).unwrap();
        let r = rt.block_on(sync(&client(p), s)).unwrap();
        assert_eq!(r.received as u64, c.store().space_count(p).unwrap());
        assert_eq!(r.stored, r.received);
        assert_eq!(
            c.store().space_shared_ids(p).unwrap(),
            c.store().space_ids(p).unwrap(),
            "{p}: every unit shared"
        );
        assert_eq!(peer_view(s), centre_view(&c, &mk, p), "{p}");
        // A repeated sync is empty and changes nothing.
        let again = rt.block_on(sync(&client(p), s)).unwrap();
        assert_eq!((again.received, again.dropped), (0, 0));
    }
    // Not for SAEs without a space, nor for the operator's certificate as a peer.
    let r = rt
        .block_on(client("app").request("POST", "/api/qwave/v1/pools/space/sync", None))
        .unwrap();
    assert_eq!(r.status, 400);

    // Skewed demand through ETSI enc_keys: hot takes 40 keys, warm 2, cold none. The peers drop
    // the consumed units at their next sync.
    for _ in 0..10 {
        take(&c, "hot", 4);
    }
    take(&c, "warm", 2);
    for p in ["hot", "warm"] {
        let s = stores.get_mut(p).unwrap();
        let r = rt.block_on(sync(&client(p), s)).unwrap();
        assert_eq!(r.dropped, if p == "hot" { 40 } else { 2 });
        assert_eq!(peer_view(s), centre_view(&c, &mk, p), "{p}");
    }
    let consumed = 42;

    // Rebalance: hot is a deficit space, cold and warm surplus.
    let moves = c.rebalance_pools().unwrap();
    eprintln!("rebalance: {moves:?}");
    assert!(!moves.is_empty());
    assert!(moves.iter().all(|m| m.to == "hot"), "{moves:?}");
    let moved: u64 = moves.iter().map(|m| m.amount).sum();
    assert!(moved > 0);
    // The migrate records are in the audit chain, which stays intact.
    let recs = c.store().audit_all().unwrap();
    assert_eq!(
        recs.iter().filter(|r| r.event == "migrate").count(),
        moves.len()
    );
    assert!(c.audit_verify().unwrap().1.is_empty());
    // Immigrated units are in flight: neither synced to hot nor movable until it acknowledges.
    let r = rt
        .block_on(sync(&client("hot"), stores.get_mut("hot").unwrap()))
        .unwrap();
    assert_eq!(
        r.received, 0,
        "in-flight units are delivered by the notice only"
    );

    // Fetch without applying: a lost reply (nothing applied) and a retry see identical notices.
    let (hot_n, hot_wait) = rt.block_on(get_notices(&client("hot"))).unwrap();
    assert_eq!((hot_n.len(), hot_wait), (moves.len(), 0));
    assert_eq!(rt.block_on(get_notices(&client("hot"))).unwrap().0, hot_n);
    let from_peers: BTreeSet<&str> = moves.iter().map(|m| m.from.as_str()).collect();
    let (from0_n, _) = rt
        .block_on(get_notices(&client(moves[0].from.as_str())))
        .unwrap();
    assert!(!from0_n.is_empty());

    // Tampered, mis-addressed and re-addressed notices are refused with typed errors and change
    // nothing.
    {
        let hot = stores.get_mut("hot").unwrap();
        let before = peer_view(hot);
        let mut t = hot_n[0].clone();
        let i = t.sealed.len() / 2;
        t.sealed[i] ^= 0x40;
        assert!(matches!(
            hot.apply_notice(&t),
            Err(PeerError::Notice(NoticeError::Auth(_)))
        ));
        let other: &WireNotice = &from0_n[0];
        assert!(matches!(
            hot.apply_notice(other),
            Err(PeerError::Misaddressed { .. })
        ));
        let mut readdressed = other.clone();
        readdressed.peer = "hot".into();
        assert!(matches!(
            hot.apply_notice(&readdressed),
            Err(PeerError::UnknownKey { .. })
        ));
        // Re-addressed and encrypted under a unit hot does hold: authentication fails.
        let mut forged = other.clone();
        forged.peer = "hot".into();
        forged.key_id = hot_n[0].key_id.clone();
        assert!(matches!(
            hot.apply_notice(&forged),
            Err(PeerError::Notice(NoticeError::Auth(_)))
        ));
        assert_eq!(peer_view(hot), before);
        assert!(hot.applied().unwrap().is_empty());
    }

    // Lost acknowledgement: hot applies its first notice but the ack never arrives; the centre
    // re-sends it identically, hot applies it once and acknowledges again.
    {
        let hot = stores.get_mut("hot").unwrap();
        let n0 = hot.ids().unwrap().len();
        assert!(matches!(
            hot.apply_notice(&hot_n[0]).unwrap(),
            NoticeApplied::Applied(k) if k as u64 == moves[0].amount
        ));
        let n1 = hot.ids().unwrap().len();
        assert_eq!(
            n1 as u64,
            n0 as u64 + moves[0].amount - 1,
            "keys in, notice key out"
        );
        let (resent, _) = rt.block_on(get_notices(&client("hot"))).unwrap();
        assert_eq!(resent[0], hot_n[0], "re-sent identically");
        assert_eq!(
            hot.apply_notice(&resent[0]).unwrap(),
            NoticeApplied::Already
        );
        assert_eq!(hot.ids().unwrap().len(), n1);
        assert!(rt
            .block_on(ack_notice(&client("hot"), &hot_n[0].id))
            .unwrap());
        assert!(!rt
            .block_on(ack_notice(&client("hot"), &hot_n[0].id))
            .unwrap());
    }

    // Every peer fetches, applies and acknowledges the rest.
    for p in PEERS {
        let s = stores.get_mut(p).unwrap();
        let r = rt.block_on(fetch_notices(&client(p), s)).unwrap();
        let expected = match p {
            "hot" => moves.len() - 1,
            _ => moves.iter().filter(|m| m.from == p).count(),
        };
        assert_eq!((r.applied, r.already, r.waiting), (expected, 0, 0), "{p}");
    }
    assert!(c.store().outbox().unwrap().is_empty(), "every notice acked");

    // Both sides consistent: each store equals the centre's space, IDs and material.
    let mut seen = HashSet::new();
    for p in PEERS {
        let s = &stores[p];
        assert_eq!(peer_view(s), centre_view(&c, &mk, p), "{p}");
        assert_eq!(
            c.store().space_shared_ids(p).unwrap(),
            c.store().space_ids(p).unwrap(),
            "{p}: all shared again"
        );
        for id in s.ids().unwrap() {
            assert!(seen.insert(id.clone()), "unit {id} in two peers' stores");
        }
    }
    // One notice key per notice (two per move) consumed; nothing else created or lost.
    assert_eq!(
        units_total(&c, &PEERS) + consumed + 2 * moves.len() as u64,
        initial
    );
    assert!(from_peers.iter().all(|p| PEERS.contains(p)));

    // A notice to a peer that shares no unit waits until it syncs.
    c.space_configure("lonely", 30.0).unwrap();
    c.space_allocate("lonely", 5).unwrap();
    let m = c
        .space_transfer(&Transfer {
            from: "warm".into(),
            to: "lonely".into(),
            amount: 10,
        })
        .unwrap();
    let mut lonely = PeerStore::open(&d.join("peer-lonely"), "lonely").unwrap();
    let (n, waiting) = rt.block_on(get_notices(&client("lonely"))).unwrap();
    assert_eq!(
        (n.len(), waiting),
        (0, 1),
        "no shared unit yet: the keys notice waits"
    );
    let r = rt
        .block_on(fetch_notices(
            &client("warm"),
            stores.get_mut("warm").unwrap(),
        ))
        .unwrap();
    assert_eq!(r.applied, 1, "the emigration peer's notice does not wait");
    let r = rt.block_on(sync(&client("lonely"), &mut lonely)).unwrap();
    assert_eq!(
        r.received, 5,
        "its own units; the 10 in flight come with the notice"
    );
    let r = rt
        .block_on(fetch_notices(&client("lonely"), &mut lonely))
        .unwrap();
    assert_eq!((r.applied, r.waiting), (1, 0));
    assert_eq!(lonely.ids().unwrap().len(), 5 - 1 + m.amount as usize);
    assert_eq!(peer_view(&lonely), centre_view(&c, &mk, "lonely"));
    assert_eq!(peer_view(&stores["warm"]), centre_view(&c, &mk, "warm"));

    // The CLI peer: `qwave pool-peer sync` on a fresh store for cold gets cold's whole space;
    // `show --json` lists it.
    let sae = d.join("sae");
    let store_dir = d.join("cli-cold");
    let (cert, key, ca) = (sae.join("cold.pem"), sae.join("cold.key"), d.join("ca.pem"));
    let args: Vec<String> = [
        "pool-peer",
        "sync",
        "--centre",
        &addr,
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--ca",
        ca.to_str().unwrap(),
        "--store",
        store_dir.to_str().unwrap(),
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = Command::new(BIN).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Cold's units are all shared already (with its other store), so a fresh store gets none:
    // one space, one store per peer.
    assert_eq!(v["peer"], "cold");
    assert_eq!(v["sync"]["received"], 0, "{v}");
    let out = Command::new(BIN)
        .args([
            "pool-peer",
            "show",
            "--store",
            store_dir.to_str().unwrap(),
            "--sae",
            "cold",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["units"].as_array().map(Vec::len), Some(0));
    assert!(c.audit_verify().unwrap().1.is_empty());
    rt.block_on(handle.shutdown());
    let _ = std::fs::remove_dir_all(&d);
}

/// `qwave pool-peer sync` against a centre whose peer never synced: the CLI stores the whole
/// space, applies nothing (no notices), and `show` lists exactly the centre's IDs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_peer_syncs_a_fresh_space() {
    let d = tmpdir("cli");
    let saes: Vec<String> = ["edge", "app"].iter().map(|s| s.to_string()).collect();
    qwave::centre::pki::init_dir(&d, &saes, &[]).unwrap();
    let c = Arc::new(open_dir_centre(&d));
    let mut b = vec![0u8; 32 * 50];
    ChaCha20Rng::seed_from_u64(12).fill_bytes(&mut b);
    c.fill_pool(&b, "test").unwrap();
    c.space_configure("edge", 10.0).unwrap();
    c.space_allocate("edge", 20).unwrap();
    let tls = qwave::centre::pki::server_config(
        &d.join("centre.pem"),
        &d.join("centre.key"),
        &d.join("ca.pem"),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = qwave::centre::server::serve(c.clone(), tls, listener).unwrap();
    let addr = handle.addr.to_string();
    let store_dir = d.join("edge-store");
    let sae = d.join("sae");
    let args: Vec<String> = vec![
        "pool-peer".into(),
        "sync".into(),
        "--centre".into(),
        addr.clone(),
        "--cert".into(),
        sae.join("edge.pem").to_str().unwrap().into(),
        "--key".into(),
        sae.join("edge.key").to_str().unwrap().into(),
        "--ca".into(),
        d.join("ca.pem").to_str().unwrap().into(),
        "--store".into(),
        store_dir.to_str().unwrap().into(),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new(BIN).args(&args).output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("received 20 units (20 new)"), "{text}");
    assert!(text.contains("20 units held"), "{text}");
    let out = Command::new(BIN)
        .args([
            "pool-peer",
            "show",
            "--store",
            store_dir.to_str().unwrap(),
            "--sae",
            "edge",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<String> = serde_json::from_value(v["units"].clone()).unwrap();
    assert_eq!(ids, c.store().space_ids("edge").unwrap());
    assert_eq!(
        c.store().space_shared_ids("edge").unwrap(),
        ids,
        "acknowledged"
    );
    // The store refuses another peer's identity.
    let out = Command::new(BIN)
        .args([
            "pool-peer",
            "show",
            "--store",
            store_dir.to_str().unwrap(),
            "--sae",
            "app",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    handle.shutdown().await;
    let _ = std::fs::remove_dir_all(&d);
}
