//! The terminal's key store: encrypted at rest, refills applied atomically and at most once,
//! remaining volume per peer, consumption history for the auto-refill policy.

use std::path::PathBuf;

use qwave::centre::crypto::MasterKey;
use qwave::refill::RefillKey;
use qwave::terminal::{
    consumption_rate, Applied, Decision, RefillPolicy, RefillState, StoreError, TerminalStore,
};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use zeroize::Zeroizing;

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qwave-terminal-store-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn keys(rng: &mut ChaCha20Rng, first: usize, n: usize) -> Vec<RefillKey> {
    (first..first + n)
        .map(|i| {
            let mut k = vec![0u8; 32];
            rng.fill_bytes(&mut k);
            RefillKey {
                key_id: format!("00000000-0000-4000-8000-{i:012}"),
                key: Zeroizing::new(k),
            }
        })
        .collect()
}

fn file_bytes(dir: &PathBuf) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("store.db")
        {
            all.extend(std::fs::read(&p).unwrap());
        }
    }
    all
}

#[test]
fn key_material_is_encrypted_at_rest() {
    let d = tmpdir("rest");
    let db = d.join("store.db");
    let kf = d.join("store.key");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let ks = keys(&mut rng, 0, 64);
    {
        let mut s = TerminalStore::open(&db, &kf).unwrap();
        assert_eq!(
            s.apply_refill(&[1u8; 16], "sae-peer", &ks).unwrap(),
            Applied::Stored(64)
        );
    }
    assert_eq!(
        std::fs::read(&kf).unwrap().len(),
        32,
        "key file holds the master key"
    );
    let raw = file_bytes(&d);
    assert!(raw.len() > 1000);
    for k in &ks {
        // No 16-byte window of any key appears in the database or its WAL.
        assert!(
            !raw.windows(16)
                .any(|w| w == &k.key[..16] || w == &k.key[16..]),
            "key {} found in the file",
            k.key_id
        );
    }
    // Reopening with the same key file reads the keys back; another key cannot.
    let s = TerminalStore::open(&db, &kf).unwrap();
    let back = s.peek_keys("sae-peer").unwrap();
    assert_eq!(back.len(), 64);
    for (a, b) in back.iter().zip(&ks) {
        assert_eq!(a.key_id, b.key_id);
        assert_eq!(a.key.as_slice(), b.key.as_slice());
    }
    drop(s);
    let wrong = TerminalStore::open_with_key(&db, MasterKey::from_bytes(&[3u8; 32])).unwrap();
    assert!(matches!(
        wrong.peek_keys("sae-peer"),
        Err(StoreError::Crypto(_))
    ));
}

#[test]
fn apply_is_idempotent_per_refill_id() {
    let d = tmpdir("idem");
    let mut s =
        TerminalStore::open_with_key(&d.join("store.db"), MasterKey::from_bytes(&[5u8; 32]))
            .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let rec = s.begin_refill("sae-peer", 10 * 32).unwrap();
    assert_eq!(rec.state, RefillState::Requested);
    // A second begin for the same peer reuses the unfinished refill.
    assert_eq!(s.begin_refill("sae-peer", 999).unwrap(), rec);
    let ks = keys(&mut rng, 0, 10);
    assert_eq!(
        s.apply_refill(&rec.refill_id, "sae-peer", &ks).unwrap(),
        Applied::Stored(10)
    );
    // The retry (even with other content) changes nothing.
    let again = keys(&mut rng, 100, 10);
    assert_eq!(
        s.apply_refill(&rec.refill_id, "sae-peer", &again).unwrap(),
        Applied::Already
    );
    assert_eq!(s.remaining("sae-peer").unwrap(), 320);
    assert_eq!(s.peek_keys("sae-peer").unwrap()[0].key_id, ks[0].key_id);
    // The same refill ID for another peer is refused.
    assert!(matches!(
        s.apply_refill(&rec.refill_id, "other", &again),
        Err(StoreError::RefillMismatch { .. })
    ));
    assert_eq!(
        s.refill(&rec.refill_id).unwrap().unwrap().state,
        RefillState::Committed
    );
    assert!(s.mark_confirmed(&rec.refill_id).unwrap());
    assert!(!s.mark_confirmed(&rec.refill_id).unwrap());
    assert!(s.unfinished().unwrap().is_empty());
    // Confirmed: a new begin gets a fresh ID.
    assert_ne!(
        s.begin_refill("sae-peer", 64).unwrap().refill_id,
        rec.refill_id
    );
}

#[test]
fn a_failing_refill_stores_nothing() {
    let d = tmpdir("atomic");
    let mut s =
        TerminalStore::open_with_key(&d.join("store.db"), MasterKey::from_bytes(&[6u8; 32]))
            .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    s.apply_refill(&[1u8; 16], "sae-peer", &keys(&mut rng, 0, 5))
        .unwrap();
    assert!(s.mark_confirmed(&[1u8; 16]).unwrap());
    // Second refill: 7 new keys, then one whose ID is already stored: the insert fails midway.
    let rec = s.begin_refill("sae-peer", 8 * 32).unwrap();
    let mut bad = keys(&mut rng, 50, 7);
    bad.extend(keys(&mut rng, 2, 1));
    assert!(matches!(
        s.apply_refill(&rec.refill_id, "sae-peer", &bad),
        Err(StoreError::Sqlite(_))
    ));
    assert_eq!(
        s.remaining("sae-peer").unwrap(),
        5 * 32,
        "nothing of the failed refill kept"
    );
    assert_eq!(
        s.refill(&rec.refill_id).unwrap().unwrap().state,
        RefillState::Requested,
        "still retryable"
    );
    // The retry with correct content lands whole.
    assert_eq!(
        s.apply_refill(&rec.refill_id, "sae-peer", &keys(&mut rng, 60, 8))
            .unwrap(),
        Applied::Stored(8)
    );
    assert_eq!(s.remaining("sae-peer").unwrap(), 13 * 32);
}

#[test]
fn remaining_volume_take_and_policy() {
    let d = tmpdir("remaining");
    let mut s =
        TerminalStore::open_with_key(&d.join("store.db"), MasterKey::from_bytes(&[7u8; 32]))
            .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let a = keys(&mut rng, 0, 4);
    s.apply_refill(&[1u8; 16], "alpha", &a).unwrap();
    s.apply_refill(&[2u8; 16], "beta", &keys(&mut rng, 10, 2))
        .unwrap();
    assert_eq!(s.remaining("alpha").unwrap(), 128);
    assert_eq!(s.remaining("beta").unwrap(), 64);
    assert_eq!(s.remaining("gamma").unwrap(), 0);
    let st = s.status().unwrap();
    assert_eq!(st.len(), 2);
    assert_eq!(
        (st[0].peer.as_str(), st[0].keys, st[0].bytes),
        ("alpha", 4, 128)
    );
    // Keys come out oldest first, once each.
    for k in &a {
        let t = s.take_key("alpha").unwrap().unwrap();
        assert_eq!(t.key_id, k.key_id);
        assert_eq!(t.key.as_slice(), k.key.as_slice());
    }
    assert!(s.take_key("alpha").unwrap().is_none());
    assert_eq!(s.remaining("alpha").unwrap(), 0);
    // The take history drives the policy: 128 bytes just now.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let takes = s.takes_since("alpha", now - 60_000).unwrap();
    assert_eq!(takes.len(), 4);
    let rate = consumption_rate(&takes, now + 1, 60.0);
    assert!((rate - 128.0 / 60.0).abs() < 1e-9, "rate {rate}");
    let p = RefillPolicy {
        refill_seconds: 20.0,
        window_seconds: 60.0,
        margin: 1.0,
    };
    assert!(matches!(
        p.decide(s.remaining("alpha").unwrap(), rate),
        Decision::Refill {
            bytes: 1_048_576,
            ..
        }
    ));
    assert!(matches!(
        p.decide(s.remaining("beta").unwrap(), rate),
        Decision::Sufficient { threshold: 43, .. }
    ));
}
