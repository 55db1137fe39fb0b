//! ETSI GS QKD 014 behaviour of the key centre end to end over real mutual
//! TLS on loopback: the standard's fields, defaults, status codes and error
//! bodies; certificate checks; device lifecycle; audit; upstream and file
//! key sources.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use qwave::centre::client::CentreClient;
use qwave::centre::crypto::MasterKey;
use qwave::centre::etsi::{ErrorBody, KeyContainer, Status};
use qwave::centre::pki::{self, CentreDir};
use qwave::centre::server::{self, ServerHandle};
use qwave::centre::source::{EtsiUpstream, FileSource, PoolFiller};
use qwave::centre::store::SqliteStore;
use qwave::centre::{Centre, CentreConfig};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};

struct Lab {
    dir: PathBuf,
    centre: Arc<Centre>,
    handle: ServerHandle,
    addr: String,
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qwave-centre-api-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn open_centre(dir: &std::path::Path, max_key_count: u64) -> Arc<Centre> {
    let d = CentreDir(dir.to_owned());
    let cfg = CentreConfig {
        max_key_count,
        audit_head: Some(d.audit_head()),
        known_saes: d.sae_ids().unwrap().into_iter().collect(),
        ..CentreConfig::default()
    };
    let store = SqliteStore::open(&dir.join("centre.db")).unwrap();
    Arc::new(Centre::new(
        cfg,
        Box::new(store),
        MasterKey::load(&d.master_key()).unwrap(),
    ))
}

async fn start(dir: PathBuf, centre: Arc<Centre>) -> Lab {
    let tls = pki::server_config(
        &dir.join("centre.pem"),
        &dir.join("centre.key"),
        &dir.join("ca.pem"),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = server::serve(centre.clone(), tls, listener).unwrap();
    let addr = handle.addr.to_string();
    Lab {
        dir,
        centre,
        handle,
        addr,
    }
}

async fn lab(tag: &str, saes: &[&str], pool_units: usize) -> Lab {
    let dir = tmpdir(tag);
    let saes: Vec<String> = saes.iter().map(|s| s.to_string()).collect();
    pki::init_dir(&dir, &saes, &[]).unwrap();
    let centre = open_centre(&dir, 10_000);
    if pool_units > 0 {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        let mut m = vec![0u8; 32 * pool_units];
        rng.fill_bytes(&mut m);
        centre.fill_pool(&m, "test").unwrap();
    }
    start(dir, centre).await
}

impl Lab {
    fn client(&self, who: &str) -> CentreClient {
        CentreClient::from_dir(&self.dir, who, &self.addr).unwrap()
    }
}

async fn call(c: &CentreClient, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let b = body.map(|v| v.to_string());
    let r = c
        .request(method, path, b.as_deref().map(str::as_bytes))
        .await
        .unwrap();
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

/// Asserts a §6.5 error body with the given status and message.
async fn expect_err(
    c: &CentreClient,
    method: &str,
    path: &str,
    body: Option<&str>,
    status: u16,
    message: &str,
) -> ErrorBody {
    let r = c
        .request(method, path, body.map(str::as_bytes))
        .await
        .unwrap();
    let e: ErrorBody = serde_json::from_slice(&r.body).unwrap_or_else(|_| {
        panic!(
            "{method} {path}: not an ETSI error body: {:?}",
            String::from_utf8_lossy(&r.body)
        )
    });
    assert_eq!(r.status, status, "{method} {path} {body:?}: {e:?}");
    assert!(
        e.message.contains(message),
        "{method} {path}: message {:?} lacks {message:?}",
        e.message
    );
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_enc_dec_round_trip_over_mutual_tls() {
    let lab = lab("roundtrip", &["alice", "bob", "carol"], 64).await;
    let alice = lab.client("alice");
    let bob = lab.client("bob");
    let (code, v) = call(&alice, "GET", "/api/v1/keys/bob/status", None).await;
    assert_eq!(code, 200);
    for f in [
        "source_KME_ID",
        "target_KME_ID",
        "master_SAE_ID",
        "slave_SAE_ID",
        "key_size",
        "stored_key_count",
        "max_key_count",
        "max_key_per_request",
        "max_key_size",
        "min_key_size",
        "max_SAE_ID_count",
    ] {
        assert!(v.get(f).is_some(), "status lacks {f}");
    }
    let st: Status = serde_json::from_value(v).unwrap();
    assert_eq!(
        (st.master_sae_id.as_str(), st.slave_sae_id.as_str()),
        ("alice", "bob")
    );
    assert_eq!((st.key_size, st.stored_key_count), (256, 64));

    // GET enc_keys with defaults: one key of key_size bits.
    let (code, v) = call(&alice, "GET", "/api/v1/keys/bob/enc_keys", None).await;
    assert_eq!(code, 200);
    let one: KeyContainer = serde_json::from_value(v).unwrap();
    assert_eq!(one.keys.len(), 1);
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&one.keys[0].key)
            .unwrap()
            .len(),
        32
    );
    // GET with query parameters.
    let (code, v) = call(
        &alice,
        "GET",
        "/api/v1/keys/bob/enc_keys?number=2&size=128",
        None,
    )
    .await;
    assert_eq!(code, 200);
    let two: KeyContainer = serde_json::from_value(v).unwrap();
    assert!(two
        .keys
        .iter()
        .all(|k| base64::engine::general_purpose::STANDARD
            .decode(&k.key)
            .unwrap()
            .len()
            == 16));
    // POST with number and size.
    let (code, v) = call(
        &alice,
        "POST",
        "/api/v1/keys/bob/enc_keys",
        Some(json!({"number": 3, "size": 512})),
    )
    .await;
    assert_eq!(code, 200);
    let three: KeyContainer = serde_json::from_value(v).unwrap();
    assert_eq!(three.keys.len(), 3);

    // Slave gets them once: POST with key_IDs, GET with key_ID.
    let ids: Vec<Value> = three
        .keys
        .iter()
        .map(|k| json!({"key_ID": k.key_id}))
        .collect();
    let (code, v) = call(
        &bob,
        "POST",
        "/api/v1/keys/alice/dec_keys",
        Some(json!({ "key_IDs": ids })),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(serde_json::from_value::<KeyContainer>(v).unwrap(), three);
    let (code, v) = call(
        &bob,
        "GET",
        &format!("/api/v1/keys/alice/dec_keys?key_ID={}", one.keys[0].key_id),
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(serde_json::from_value::<KeyContainer>(v).unwrap(), one);
    // Then gone.
    let e = expect_err(
        &bob,
        "POST",
        "/api/v1/keys/alice/dec_keys",
        Some(&json!({ "key_IDs": ids }).to_string()),
        400,
        "key not found",
    )
    .await;
    assert_eq!(e.details.len(), 3);
    // Carol is not the named slave: 401, and bob can still fetch the other two.
    let q = format!("/api/v1/keys/alice/dec_keys?key_ID={}", two.keys[0].key_id);
    expect_err(&lab.client("carol"), "GET", &q, None, 401, "not a slave").await;
    let (code, _) = call(&bob, "GET", &q, None).await;
    assert_eq!(code, 200);
    // Multicast: carol as additional slave gets the same key.
    let (code, v) = call(
        &alice,
        "POST",
        "/api/v1/keys/bob/enc_keys",
        Some(json!({"additional_slave_SAE_IDs": ["carol"]})),
    )
    .await;
    assert_eq!(code, 200);
    let m: KeyContainer = serde_json::from_value(v).unwrap();
    let q = format!("/api/v1/keys/alice/dec_keys?key_ID={}", m.keys[0].key_id);
    for who in ["bob", "carol"] {
        let (code, v) = call(&lab.client(who), "GET", &q, None).await;
        assert_eq!(code, 200, "{who}");
        assert_eq!(serde_json::from_value::<KeyContainer>(v).unwrap(), m);
    }
    let (n, f) = lab.centre.audit_verify().unwrap();
    assert!(f.is_empty() && n >= 8, "{n} {f:?}");
    lab.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_standards_errors_never_500() {
    let lab = lab("errors", &["alice", "bob"], 4).await;
    let a = lab.client("alice");
    let enc = "/api/v1/keys/bob/enc_keys";
    let cases: &[(&str, &str, Option<&str>, u16, &str)] = &[
        ("POST", enc, Some("{\"number\": 1,"), 400, "not valid JSON"),
        ("POST", enc, Some("[1,2]"), 400, "JSON object"),
        (
            "POST",
            enc,
            Some(r#"{"size": 100}"#),
            400,
            "size shall be a multiple of 8",
        ),
        (
            "POST",
            enc,
            Some(r#"{"size": -8}"#),
            400,
            "size shall be a positive integer",
        ),
        (
            "POST",
            enc,
            Some(r#"{"size": 1e400}"#),
            400,
            "not valid JSON",
        ),
        (
            "POST",
            enc,
            Some(r#"{"size": 99999999999999999999999999}"#),
            400,
            "max_key_size",
        ),
        ("POST", enc, Some(r#"{"size": 16}"#), 400, "min_key_size"),
        (
            "POST",
            enc,
            Some(r#"{"number": 340282366920938463463374607431768211456}"#),
            400,
            "max_key_per_request",
        ),
        (
            "POST",
            enc,
            Some(r#"{"number": 0}"#),
            400,
            "number shall be a positive integer",
        ),
        (
            "POST",
            enc,
            Some(r#"{"number": -3}"#),
            400,
            "number shall be a positive integer",
        ),
        (
            "POST",
            enc,
            Some(r#"{"number": 1.5}"#),
            400,
            "number shall be an integer",
        ),
        (
            "POST",
            enc,
            Some(r#"{"number": "3"}"#),
            400,
            "number shall be an integer",
        ),
        (
            "POST",
            enc,
            Some(r#"{"extension_mandatory": [{"abc": 1}]}"#),
            400,
            "extension_mandatory",
        ),
        (
            "POST",
            enc,
            Some(r#"{"additional_slave_SAE_IDs": ["nobody"]}"#),
            400,
            "unknown",
        ),
        (
            "POST",
            enc,
            Some(r#"{"additional_slave_SAE_IDs": "bob"}"#),
            400,
            "array",
        ),
        (
            "GET",
            "/api/v1/keys/bob/enc_keys?size=12",
            None,
            400,
            "size shall be a multiple of 8",
        ),
        (
            "GET",
            "/api/v1/keys/bob/enc_keys?number=abc",
            None,
            400,
            "number shall be an integer",
        ),
        (
            "GET",
            "/api/v1/keys/bob/enc_keys?number=100000000000000000000000000000000000000000",
            None,
            400,
            "number shall be an integer",
        ),
        (
            "GET",
            "/api/v1/keys/nobody/status",
            None,
            400,
            "slave_SAE_ID is unknown",
        ),
        (
            "GET",
            "/api/v1/keys/nobody/enc_keys",
            None,
            400,
            "slave_SAE_ID is unknown",
        ),
        ("GET", "/api/v1/keys/alice/enc_keys", None, 400, "differ"),
        (
            "POST",
            enc,
            Some(r#"{"number": 5}"#),
            503,
            "not enough keys",
        ),
        (
            "GET",
            "/api/v1/keys/bob/dec_keys?key_ID=not-a-uuid",
            None,
            400,
            "key_ID shall be a UUID",
        ),
        (
            "GET",
            "/api/v1/keys/bob/dec_keys",
            None,
            400,
            "at least one key_ID",
        ),
        (
            "GET",
            "/api/v1/keys/bob/dec_keys?key_ID=9d1b7e5c-2f6a-4c3e-8b1a-0c2d3e4f5a6b",
            None,
            400,
            "key not found",
        ),
        (
            "GET",
            "/api/v1/keys/nobody/dec_keys?key_ID=9d1b7e5c-2f6a-4c3e-8b1a-0c2d3e4f5a6b",
            None,
            400,
            "master_SAE_ID is unknown",
        ),
        (
            "POST",
            "/api/v1/keys/bob/dec_keys",
            Some("{}"),
            400,
            "key_IDs shall be an array",
        ),
        (
            "POST",
            "/api/v1/keys/bob/dec_keys",
            Some(r#"{"key_IDs": [{"key": 1}]}"#),
            400,
            "key_ID string",
        ),
        (
            "POST",
            "/api/v1/keys/bob/dec_keys",
            Some("\u{0}\u{1}garbage"),
            400,
            "not valid JSON",
        ),
    ];
    for (m, p, b, code, msg) in cases {
        expect_err(&a, m, p, *b, *code, msg).await;
    }
    // The failed requests took nothing: the pool still has its 4 keys.
    let (_, v) = call(&a, "GET", "/api/v1/keys/bob/status", None).await;
    assert_eq!(v["stored_key_count"], 4);
    lab.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_client_certificate_is_rejected() {
    let lab = lab("certs", &["alice", "bob"], 4).await;
    // No client certificate.
    let anon = CentreClient::new(&lab.dir.join("ca.pem"), None, &lab.addr, "127.0.0.1").unwrap();
    assert!(anon
        .request("GET", "/api/v1/keys/bob/status", None)
        .await
        .is_err());
    // A certificate from another CA, with a registered name.
    let other = tmpdir("certs-other");
    pki::init_dir(&other, &["alice".to_owned()], &[]).unwrap();
    let (c, k) = CentreDir(other.clone()).client("alice");
    let forged = CentreClient::new(
        &lab.dir.join("ca.pem"),
        Some((&c, &k)),
        &lab.addr,
        "127.0.0.1",
    )
    .unwrap();
    assert!(forged
        .request("GET", "/api/v1/keys/bob/status", None)
        .await
        .is_err());
    // A valid certificate for an SAE this centre does not serve: 401.
    pki::add_sae(&lab.dir, "mallory").unwrap();
    expect_err(
        &lab.client("mallory"),
        "GET",
        "/api/v1/keys/bob/status",
        None,
        401,
        "not registered",
    )
    .await;
    // An SAE on the operator API: 401.
    expect_err(
        &lab.client("alice"),
        "POST",
        "/api/qwave/v1/devices",
        Some(r#"{"serial":"X1"}"#),
        401,
        "not an operator",
    )
    .await;
    // The refused handshakes were audited (they are logged from a background task).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let recs = lab.centre.store().audit_all().unwrap();
    let fails = recs.iter().filter(|r| r.event == "auth_failed").count();
    assert!(fails >= 4, "expected ≥4 auth_failed records, got {fails}");
    lab.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_lifecycle_and_refusals() {
    let lab = lab("devices", &["alice"], 16).await;
    let op = lab.client("operator");
    let (code, v) = call(
        &op,
        "POST",
        "/api/qwave/v1/devices",
        Some(json!({"serial": "TERM-1"})),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    let cred = base64::engine::general_purpose::STANDARD
        .decode(v["credential"].as_str().unwrap())
        .unwrap();
    assert_eq!(cred.len(), 32);
    expect_err(
        &op,
        "POST",
        "/api/qwave/v1/devices",
        Some(r#"{"serial":"TERM-1"}"#),
        409,
        "already exists",
    )
    .await;
    expect_err(
        &op,
        "POST",
        "/api/qwave/v1/devices",
        Some(r#"{"serial":"bad serial!"}"#),
        400,
        "serial",
    )
    .await;
    expect_err(
        &op,
        "GET",
        "/api/qwave/v1/devices/NOPE",
        None,
        404,
        "not found",
    )
    .await;
    // The terminal has a certificate too (it is an SAE), but is refused until active.
    pki::add_sae(&lab.dir, "TERM-1").unwrap();
    let term = lab.client("TERM-1");
    expect_err(
        &term,
        "GET",
        "/api/v1/keys/alice/status",
        None,
        401,
        "initialised",
    )
    .await;
    let alice = lab.client("alice");
    expect_err(
        &alice,
        "GET",
        "/api/v1/keys/TERM-1/enc_keys",
        None,
        400,
        "initialised",
    )
    .await;
    let (code, _) = call(
        &op,
        "POST",
        "/api/qwave/v1/devices/TERM-1/bind",
        Some(json!({"user": "ann", "pin": "4711"})),
    )
    .await;
    assert_eq!(code, 200);
    expect_err(
        &op,
        "POST",
        "/api/qwave/v1/devices/TERM-1/activate",
        Some(r#"{"pin":"0000"}"#),
        401,
        "wrong PIN",
    )
    .await;
    let (code, v) = call(
        &op,
        "POST",
        "/api/qwave/v1/devices/TERM-1/activate",
        Some(json!({"pin": "4711"})),
    )
    .await;
    assert_eq!((code, v["state"].as_str()), (200, Some("active")));
    let (code, _) = call(&term, "GET", "/api/v1/keys/alice/status", None).await;
    assert_eq!(code, 200);
    // A key waiting for the terminal.
    let (code, v) = call(&alice, "GET", "/api/v1/keys/TERM-1/enc_keys", None).await;
    assert_eq!(code, 200);
    let kid = v["keys"][0]["key_ID"].as_str().unwrap().to_owned();
    // Freeze: refused both ways.
    call(&op, "POST", "/api/qwave/v1/devices/TERM-1/freeze", None).await;
    expect_err(
        &term,
        "GET",
        &format!("/api/v1/keys/alice/dec_keys?key_ID={kid}"),
        None,
        401,
        "frozen",
    )
    .await;
    expect_err(
        &alice,
        "GET",
        "/api/v1/keys/TERM-1/enc_keys",
        None,
        400,
        "frozen",
    )
    .await;
    expect_err(
        &op,
        "POST",
        "/api/qwave/v1/devices/TERM-1/unfreeze",
        Some(r#"{"pin":"1"}"#),
        401,
        "wrong PIN",
    )
    .await;
    let (code, _) = call(
        &op,
        "POST",
        "/api/qwave/v1/devices/TERM-1/unfreeze",
        Some(json!({"pin": "4711"})),
    )
    .await;
    assert_eq!(code, 200);
    let (_, v) = call(&op, "GET", "/api/qwave/v1/devices/TERM-1", None).await;
    assert_eq!(
        (
            v["state"].as_str(),
            v["user"].as_str(),
            v["pending_keys"].as_u64()
        ),
        (Some("active"), Some("ann"), Some(1))
    );
    // Lost: refused for good, waiting keys destroyed.
    let (_, v) = call(&op, "POST", "/api/qwave/v1/devices/TERM-1/lost", None).await;
    assert_eq!(
        (v["state"].as_str(), v["pending_keys"].as_u64()),
        (Some("lost"), Some(0))
    );
    expect_err(&term, "GET", "/api/v1/keys/alice/status", None, 401, "lost").await;
    expect_err(
        &op,
        "POST",
        "/api/qwave/v1/devices/TERM-1/unfreeze",
        Some(r#"{"pin":"4711"}"#),
        409,
        "cannot unfreeze",
    )
    .await;
    let (_, v) = call(&op, "POST", "/api/qwave/v1/devices/TERM-1/destroy", None).await;
    assert_eq!(v["state"].as_str(), Some("destroyed"));
    expect_err(
        &term,
        "GET",
        "/api/v1/keys/alice/status",
        None,
        401,
        "destroyed",
    )
    .await;
    let events: Vec<String> = lab
        .centre
        .store()
        .audit_all()
        .unwrap()
        .into_iter()
        .map(|r| r.event)
        .collect();
    for e in [
        "initialise",
        "bind",
        "activate",
        "freeze",
        "unfreeze",
        "lost",
        "destroy",
        "enc_keys",
        "auth_failed",
        "refill",
    ] {
        assert!(
            events.iter().any(|x| x == e),
            "no {e} audit record in {events:?}"
        );
    }
    let (code, v) = call(&op, "GET", "/api/qwave/v1/audit/verify", None).await;
    assert_eq!(
        (code, v["findings"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    lab.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_tampering_is_located() {
    let lab = lab("audit", &["alice", "bob"], 16).await;
    let a = lab.client("alice");
    for _ in 0..4 {
        assert_eq!(
            call(&a, "GET", "/api/v1/keys/bob/enc_keys", None).await.0,
            200
        );
    }
    lab.handle.shutdown().await;
    let db = lab.dir.join("centre.db");
    let verify = || open_centre(&lab.dir, 10).audit_verify().unwrap();
    assert!(verify().1.is_empty());
    let sql = |s: &str| {
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(s)
            .unwrap()
    };
    sql("UPDATE audit SET actor = 'bob' WHERE seq = 3");
    assert_eq!(
        verify().1[0].to_string(),
        "record 3 was edited or reordered"
    );
    sql("UPDATE audit SET actor = 'alice' WHERE seq = 3");
    assert!(verify().1.is_empty());
    // Remove the newest record: only the head anchor can tell.
    sql("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)");
    assert!(
        verify().1[0].to_string().contains("head anchor"),
        "{:?}",
        verify().1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_etsi_and_file_sources_fill_the_pool() {
    // Upstream KME A with keys; centre B pulls from it as SAE "centre-b".
    let a = lab("upstream-a", &["centre-b", "peer"], 32).await;
    let bdir = tmpdir("upstream-b");
    pki::init_dir(&bdir, &["x".to_owned(), "y".to_owned()], &[]).unwrap();
    let b = open_centre(&bdir, 8);
    let client = CentreClient::from_dir(&a.dir, "centre-b", &a.addr).unwrap();
    let mut filler = PoolFiller::new(
        b.clone(),
        Box::new(EtsiUpstream::new(client, "peer".into(), 256, 128)),
        1024,
    );
    assert_eq!(filler.step().await.unwrap(), 8);
    assert_eq!(filler.step().await.unwrap(), 0, "pool is at max_key_count");
    assert_eq!(b.store().pool_count().unwrap(), 8);
    assert_eq!(a.centre.store().pool_count().unwrap(), 24);
    a.handle.shutdown().await;

    // File source: a QRNG drops files into a spool directory; each byte is used once.
    let spool = tmpdir("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for i in 0..3 {
        let mut f = vec![0u8; 40];
        rng.fill_bytes(&mut f);
        std::fs::write(spool.join(format!("qrng-{i}.bin")), f).unwrap();
    }
    std::fs::write(spool.join("partial.tmp"), [1u8; 64]).unwrap();
    let cdir = tmpdir("file-c");
    pki::init_dir(&cdir, &[], &[]).unwrap();
    let c = open_centre(&cdir, 100);
    let mut f = PoolFiller::new(c.clone(), Box::new(FileSource::new(spool.clone())), 1024);
    // 120 bytes: three 32-byte units, 24 bytes carried for later.
    assert_eq!(f.step().await.unwrap(), 3);
    assert_eq!(f.step().await.unwrap(), 0);
    let left: Vec<_> = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("partial.tmp")]);
    std::fs::write(spool.join("qrng-9.bin"), [7u8; 8]).unwrap();
    assert_eq!(
        f.step().await.unwrap(),
        1,
        "carried 24 + new 8 bytes make one unit"
    );
}
