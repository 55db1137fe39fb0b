//! Storage test suite for the key centre: the same checks against SQLite
//! (always) and PostgreSQL (when QWAVE_TEST_POSTGRES_URL is set, e.g. under
//! `scripts/with-postgres cargo test --test centre_store`).

use std::collections::HashSet;
use std::sync::Arc;

use qwave::centre::audit::{verify_chain, AuditEntry, AuditEvent, AuditFinding};
use qwave::centre::crypto::MasterKey;
use qwave::centre::etsi::KeyRequest;
use qwave::centre::service::CentreError;
use qwave::centre::store::{
    DeviceRecord, DeviceState, KeyStore, PendingKey, PoolUnit, PostgresStore, Redeemed,
    SqliteStore, StoreError,
};
use qwave::centre::{Centre, CentreConfig};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Runs raw SQL against the back end (to tamper with it as an attacker with database access would).
type Exec = Box<dyn Fn(&str)>;

fn unit(i: usize) -> PoolUnit {
    PoolUnit {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        sealed: vec![i as u8; 40],
    }
}

fn pend(id: &str, slave: &str, master: &str) -> PendingKey {
    PendingKey {
        key_id: id.into(),
        slave: slave.into(),
        master: master.into(),
        size_bits: 256,
        sealed: vec![1, 2, 3],
    }
}

fn check_pool_and_issue(s: &dyn KeyStore) {
    assert_eq!(s.pool_count().unwrap(), 0);
    s.pool_add(&(0..5).map(unit).collect::<Vec<_>>()).unwrap();
    assert_eq!(s.pool_count().unwrap(), 5);
    // Too many: nothing taken, make never called.
    let r = s.issue(6, &mut |_| panic!("make called on a short pool"));
    assert!(
        matches!(
            r,
            Err(StoreError::Insufficient {
                available: 5,
                needed: 6
            })
        ),
        "{r:?}"
    );
    assert_eq!(s.pool_count().unwrap(), 5);
    // Oldest first, removed once taken.
    let mut got = Vec::new();
    s.issue(2, &mut |u| {
        got = u.iter().map(|u| u.id.clone()).collect();
        Ok(vec![
            pend("k1", "bob", "alice"),
            pend("k1", "carol", "alice"),
            pend("k2", "bob", "alice"),
        ])
    })
    .unwrap();
    assert_eq!(got, vec![unit(0).id, unit(1).id]);
    assert_eq!(s.pool_count().unwrap(), 3);
    // A failing make rolls the take back.
    let r = s.issue(1, &mut |_| Err(StoreError::Corrupt("boom".into())));
    assert!(r.is_err());
    assert_eq!(s.pool_count().unwrap(), 3);
    assert_eq!(s.pending_count_for("alice").unwrap(), 3);

    // Redeem: wrong slave → NotYours, wrong master → Missing, partial → nothing removed.
    let r = s.redeem("alice", "mallory", &["k1".into()]).unwrap();
    assert!(matches!(&r[0], Redeemed::NotYours(id) if id == "k1"));
    let r = s.redeem("eve", "bob", &["k1".into()]).unwrap();
    assert!(matches!(&r[0], Redeemed::Missing(_)));
    let r = s
        .redeem("alice", "bob", &["k1".into(), "nope".into()])
        .unwrap();
    assert!(matches!(&r[0], Redeemed::Key(_)) && matches!(&r[1], Redeemed::Missing(_)));
    assert_eq!(
        s.pending_count_for("bob").unwrap(),
        2,
        "partial redeem must remove nothing"
    );
    let r = s
        .redeem("alice", "bob", &["k1".into(), "k2".into()])
        .unwrap();
    assert!(r.iter().all(|x| matches!(x, Redeemed::Key(_))));
    let r = s.redeem("alice", "bob", &["k1".into()]).unwrap();
    assert!(matches!(&r[0], Redeemed::Missing(_)), "delivered twice");
    // carol still has her copy of k1, once.
    assert!(matches!(
        &s.redeem("alice", "carol", &["k1".into()]).unwrap()[0],
        Redeemed::Key(_)
    ));
    assert!(matches!(
        &s.redeem("alice", "carol", &["k1".into()]).unwrap()[0],
        Redeemed::Missing(_)
    ));
    // Purge.
    s.issue(1, &mut |_| Ok(vec![pend("k3", "term", "alice")]))
        .unwrap();
    assert_eq!(s.purge_for("term").unwrap(), 1);
    assert_eq!(s.pending_count_for("term").unwrap(), 0);
}

fn check_concurrent_issue(s: Arc<dyn KeyStore>) {
    let n = 400;
    s.pool_add(&(1000..1000 + n).map(unit).collect::<Vec<_>>())
        .unwrap();
    let before = s.pool_count().unwrap() as usize;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..40 {
                    s.issue(1, &mut |u| {
                        mine.extend(u.iter().map(|u| u.id.clone()));
                        Ok(vec![pend(&format!("c{t}-{i}"), "bob", "alice")])
                    })
                    .unwrap();
                }
                mine
            })
        })
        .collect();
    let all: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let uniq: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 320);
    assert_eq!(uniq.len(), all.len(), "a pool unit was taken twice");
    assert_eq!(s.pool_count().unwrap() as usize, before - 320);
}

fn check_devices(s: &dyn KeyStore) {
    let mut d = DeviceRecord {
        serial: "T-1".into(),
        state: DeviceState::Initialised,
        user: None,
        pin_hash: None,
        credential: vec![9; 72],
        updated_ms: 1,
    };
    s.device_insert(&d).unwrap();
    assert!(matches!(
        s.device_insert(&d),
        Err(StoreError::DeviceExists(_))
    ));
    d.state = DeviceState::Frozen;
    d.user = Some("ann".into());
    s.device_update(&d).unwrap();
    let g = s.device_get("T-1").unwrap().unwrap();
    assert_eq!(
        (g.state, g.user.as_deref(), g.credential.len()),
        (DeviceState::Frozen, Some("ann"), 72)
    );
    assert!(s.device_get("T-2").unwrap().is_none());
    d.serial = "T-2".into();
    assert!(matches!(
        s.device_update(&d),
        Err(StoreError::DeviceNotFound(_))
    ));
}

fn check_audit(s: &dyn KeyStore, exec: &Exec) {
    for i in 0..6 {
        s.audit_append(
            &AuditEntry::new(AuditEvent::EncKeys, "alice", "bob", format!("n={i}")),
            i,
        )
        .unwrap();
    }
    let recs = s.audit_all().unwrap();
    assert_eq!(recs.len(), 6);
    assert!(verify_chain(&recs, Some((6, recs[5].hash))).is_empty());
    exec("UPDATE audit SET detail = 'n=99' WHERE seq = 3");
    assert_eq!(
        verify_chain(&s.audit_all().unwrap(), None),
        vec![AuditFinding::Edited { seq: 3 }]
    );
    exec("UPDATE audit SET detail = 'n=2' WHERE seq = 3");
    assert!(verify_chain(&s.audit_all().unwrap(), None).is_empty());
    exec("DELETE FROM audit WHERE seq = 4");
    assert_eq!(
        verify_chain(&s.audit_all().unwrap(), None)[0],
        AuditFinding::Gap {
            expected: 4,
            found: 5
        }
    );
}

fn check_centre(store: Box<dyn KeyStore>) {
    let cfg = CentreConfig {
        known_saes: ["alice", "bob", "carol"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..CentreConfig::default()
    };
    let c = Centre::new(cfg, store, MasterKey::from_bytes(&[3; 32]));
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut material = vec![0u8; 32 * 20];
    rng.fill_bytes(&mut material);
    assert_eq!(c.fill_pool(&material, "test").unwrap(), 20);
    let req = KeyRequest {
        number: 2,
        size: 512,
        additional_slaves: vec!["carol".into()],
    };
    let got = c.enc_keys("alice", "bob", &req).unwrap();
    assert_eq!(got.keys.len(), 2);
    // 512-bit keys are two 256-bit pool units: exactly the first four units.
    use base64::Engine as _;
    let k0 = base64::engine::general_purpose::STANDARD
        .decode(&got.keys[0].key)
        .unwrap();
    assert_eq!(k0, material[..64]);
    let ids: Vec<String> = got.keys.iter().map(|k| k.key_id.clone()).collect();
    let bob = c.dec_keys("bob", "alice", &ids).unwrap();
    assert_eq!(bob, got);
    assert!(matches!(
        c.dec_keys("bob", "alice", &ids),
        Err(CentreError::BadRequest(_))
    ));
    assert_eq!(c.dec_keys("carol", "alice", &ids).unwrap(), got);
    assert_eq!(c.status("alice", "bob").unwrap().stored_key_count, 16);
    assert!(matches!(
        c.status("mallory", "bob"),
        Err(CentreError::Unauthorized(_))
    ));
    // Lifecycle through the service.
    let cred = c.device_init("operator", "TERM-9").unwrap();
    assert!(matches!(
        c.device_init("operator", "TERM-9"),
        Err(CentreError::Conflict(_))
    ));
    assert!(matches!(
        c.device_init("alice", "TERM-8"),
        Err(CentreError::Unauthorized(_))
    ));
    assert!(matches!(
        c.device_activate("operator", "TERM-9", "1234"),
        Err(CentreError::Conflict(_))
    ));
    c.device_bind("operator", "TERM-9", "ann", "1234").unwrap();
    assert!(matches!(
        c.device_activate("operator", "TERM-9", "9999"),
        Err(CentreError::Unauthorized(_))
    ));
    c.device_activate("operator", "TERM-9", "1234").unwrap();
    assert_eq!(*c.device_credential("TERM-9").unwrap(), *cred);
    c.enc_keys(
        "alice",
        "TERM-9",
        &KeyRequest {
            number: 1,
            size: 256,
            additional_slaves: vec![],
        },
    )
    .unwrap();
    c.device_freeze("operator", "TERM-9").unwrap();
    assert!(matches!(
        c.device_credential("TERM-9"),
        Err(CentreError::Unauthorized(_))
    ));
    assert!(matches!(
        c.status("TERM-9", "alice"),
        Err(CentreError::Unauthorized(_))
    ));
    assert!(matches!(
        c.status("alice", "TERM-9"),
        Err(CentreError::BadRequest(_))
    ));
    c.device_unfreeze("operator", "TERM-9", "1234").unwrap();
    assert_eq!(c.device_info("operator", "TERM-9").unwrap().pending_keys, 1);
    let info = c.device_destroy("operator", "TERM-9").unwrap();
    assert_eq!((info.state.as_str(), info.pending_keys), ("destroyed", 0));
    assert!(matches!(
        c.status("TERM-9", "alice"),
        Err(CentreError::Unauthorized(_))
    ));
    let (n, findings) = c.audit_verify().unwrap();
    assert!(n >= 12 && findings.is_empty(), "{n} {findings:?}");
}

fn run_suite(label: &str, open: &dyn Fn() -> (Arc<dyn KeyStore>, Exec)) {
    let (s, _) = open();
    check_pool_and_issue(s.as_ref());
    let (s, _) = open();
    check_concurrent_issue(s);
    let (s, _) = open();
    check_devices(s.as_ref());
    let (s, exec) = open();
    check_audit(s.as_ref(), &exec);
    eprintln!("{label}: storage suite passed");
}

fn sqlite_open(dir: &std::path::Path) -> impl Fn() -> (Arc<dyn KeyStore>, Exec) + '_ {
    let n = std::cell::Cell::new(0);
    move || {
        n.set(n.get() + 1);
        let path = dir.join(format!("s{}.db", n.get()));
        let s: Arc<dyn KeyStore> = Arc::new(SqliteStore::open(&path).unwrap());
        let exec: Exec = Box::new(move |sql| {
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute_batch(sql)
                .unwrap();
        });
        (s, exec)
    }
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("qwave-centre-store-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn sqlite_storage_suite() {
    let d = tmpdir("suite");
    run_suite("sqlite", &sqlite_open(&d));
}

#[test]
fn sqlite_centre_semantics() {
    let d = tmpdir("centre");
    check_centre(Box::new(SqliteStore::open(&d.join("c.db")).unwrap()));
}

#[test]
fn keys_are_encrypted_at_rest() {
    let d = tmpdir("rest");
    let path = d.join("c.db");
    let cfg = CentreConfig {
        known_saes: ["alice", "bob"].iter().map(|s| s.to_string()).collect(),
        ..CentreConfig::default()
    };
    let c = Centre::new(
        cfg,
        Box::new(SqliteStore::open(&path).unwrap()),
        MasterKey::from_bytes(&[5; 32]),
    );
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut material = vec![0u8; 32 * 8];
    rng.fill_bytes(&mut material);
    c.fill_pool(&material, "test").unwrap();
    c.enc_keys(
        "alice",
        "bob",
        &KeyRequest {
            number: 2,
            size: 256,
            additional_slaves: vec![],
        },
    )
    .unwrap();
    drop(c);
    let mut raw = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(d.join("c.db-wal")) {
        raw.extend_from_slice(&wal);
    }
    for k in material.chunks(32) {
        assert!(
            !raw.windows(16).any(|w| w == &k[..16]),
            "plaintext key material found in the database file"
        );
    }
    // The same rows under another master key cannot be opened.
    let cfg = CentreConfig {
        known_saes: ["alice", "bob"].iter().map(|s| s.to_string()).collect(),
        ..CentreConfig::default()
    };
    let wrong = Centre::new(
        cfg,
        Box::new(SqliteStore::open(&path).unwrap()),
        MasterKey::from_bytes(&[6; 32]),
    );
    let r = wrong.enc_keys(
        "alice",
        "bob",
        &KeyRequest {
            number: 1,
            size: 256,
            additional_slaves: vec![],
        },
    );
    assert!(
        matches!(r, Err(CentreError::Store(StoreError::Crypto(_)))),
        "{r:?}"
    );
}

fn pg_url() -> Option<String> {
    match std::env::var("QWAVE_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("QWAVE_TEST_POSTGRES_URL not set: PostgreSQL storage suite skipped (run under scripts/with-postgres)");
            None
        }
    }
}

fn pg_reset(url: &str) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.batch_execute("DROP TABLE IF EXISTS pool, pending, devices, audit")
        .unwrap();
}

/// One test for all PostgreSQL checks: they share one database, so they run in sequence.
#[test]
fn postgres_storage_suite() {
    let Some(url) = pg_url() else { return };
    let open = || -> (Arc<dyn KeyStore>, Exec) {
        pg_reset(&url);
        let s: Arc<dyn KeyStore> = Arc::new(PostgresStore::connect(&url, 4).unwrap());
        let u = url.clone();
        let exec: Exec = Box::new(move |sql| {
            postgres::Client::connect(&u, postgres::NoTls)
                .unwrap()
                .batch_execute(sql)
                .unwrap();
        });
        (s, exec)
    };
    run_suite("postgres", &open);
    pg_reset(&url);
    check_centre(Box::new(PostgresStore::connect(&url, 2).unwrap()));
    eprintln!("postgres: centre semantics passed");
}
