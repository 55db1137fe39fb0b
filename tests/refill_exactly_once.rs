//! Exactly-once refills over a loopback link, in process: the base station's link dies after
//! some chunks, after the acknowledgement, or the terminal's acknowledgement is lost; the centre
//! is reopened from its database between attempts (a restart). Invariants: each key ID lands once
//! in the terminal's store, the centre issues each refill's keys once, every stored key is
//! retrievable by the peer with `dec_keys` and equals the terminal's copy.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use qwave::centre::crypto::MasterKey;
use qwave::centre::store::open_store;
use qwave::centre::{Centre, CentreConfig};
use qwave::refill::station::{serve_refills, LocalCentre, RefillCentre};
use qwave::refill::WrapKind;
use qwave::terminal::{refill, ClientError, RefillState, TerminalStore};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

const STATION: &str = "station";
const TERMINAL: &str = "terminal";
const PEER: &str = "peer";
const MASTER: [u8; 32] = [0x42; 32];

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qwave-refill-once-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Opens (or reopens, as after a restart) the centre in `dir`.
fn centre(dir: &Path) -> Centre {
    let store = open_store(&format!("sqlite://{}", dir.join("centre.db").display())).unwrap();
    let cfg = CentreConfig {
        known_saes: [STATION, TERMINAL, PEER].map(String::from).into(),
        ..CentreConfig::default()
    };
    Centre::new(cfg, store, MasterKey::from_bytes(&MASTER))
}

/// A stream that dies after `frames` flushes (one flush per frame written): the process at
/// this end crashed.
struct Dies<S> {
    inner: S,
    frames: usize,
}

impl<S: Read> Read for Dies<S> {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(b)
    }
}

impl Write for Dies<TcpStream> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.frames == 0 {
            let _ = self.inner.shutdown(std::net::Shutdown::Both);
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        self.inner.write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.frames = self.frames.saturating_sub(1);
        self.inner.flush()
    }
}

/// One session: the station serves on a thread (its link dying after `station_frames` frames),
/// the terminal refills (its link dying after `terminal_frames`).
fn session(
    dir: &Path,
    key: &[u8],
    store: &mut TerminalStore,
    bytes: u64,
    wrap: WrapKind,
    station_frames: usize,
    terminal_frames: usize,
) -> Result<qwave::terminal::RefillReport, ClientError> {
    let c = centre(dir);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::scope(|s| {
        let c = &c;
        s.spawn(move || {
            let (conn, _) = l.accept().unwrap();
            let mut conn = Dies {
                inner: conn,
                frames: station_frames,
            };
            let lc = LocalCentre {
                centre: c,
                station: STATION.into(),
            };
            let _ = serve_refills(&mut conn, key, &lc, TERMINAL, &|_| {});
        });
        let mut conn = Dies {
            inner: TcpStream::connect(addr).unwrap(),
            frames: terminal_frames,
        };
        let r = refill(&mut conn, key, store, PEER, bytes, wrap, &mut |_, _| {});
        let _ = conn.inner.shutdown(std::net::Shutdown::Both);
        r
    })
}

fn pool(dir: &Path) -> u64 {
    centre(dir).store().pool_count().unwrap()
}

/// The peer fetches every stored key with dec_keys; they must equal the terminal's, once.
fn check_peer_gets_stored_keys(dir: &Path, store: &TerminalStore) -> usize {
    let c = centre(dir);
    let mine = store.peek_keys(PEER).unwrap();
    let ids: HashSet<&str> = mine.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(ids.len(), mine.len(), "a key ID is stored twice");
    let b64 = base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    for chunk in mine.chunks(128) {
        let req: Vec<String> = chunk.iter().map(|k| k.key_id.clone()).collect();
        let got = c.dec_keys(PEER, TERMINAL, &req).unwrap();
        for (m, t) in chunk.iter().zip(&got.keys) {
            assert_eq!(m.key_id, t.key_id);
            assert_eq!(m.key.as_slice(), b64.decode(&t.key).unwrap().as_slice());
        }
        // Delivered once: a second fetch fails.
        assert!(c.dec_keys(PEER, TERMINAL, &req[..1]).is_err());
    }
    // Nothing of the terminal's is left in the centre: no reservation, no undelivered copy.
    assert_eq!(c.store().pending_count_for(TERMINAL).unwrap(), 0);
    mine.len()
}

fn setup(tag: &str, units: usize) -> (PathBuf, Vec<u8>, TerminalStore) {
    let dir = tmpdir(tag);
    let mut rng = ChaCha20Rng::seed_from_u64(tag.len() as u64);
    let mut pool = vec![0u8; 32 * units];
    rng.fill_bytes(&mut pool);
    centre(&dir).fill_pool(&pool, "test").unwrap();
    let mut key = vec![0u8; 128 * 1024];
    rng.fill_bytes(&mut key);
    let store = TerminalStore::open(&dir.join("terminal.db"), &dir.join("terminal.key")).unwrap();
    (dir, key, store)
}

#[test]
fn clean_refill_lands_whole_and_peer_matches() {
    let (dir, key, mut store) = setup("clean", 3000);
    let lc_pool = pool(&dir);
    let r = session(&dir, &key, &mut store, 2500 * 32, WrapKind::AesKw, 99, 99).unwrap();
    assert_eq!(r.keys_stored, 2500);
    assert!(!r.already_stored);
    assert_eq!(store.remaining(PEER).unwrap(), 2500 * 32);
    assert!(store.unfinished().unwrap().is_empty());
    assert_eq!(pool(&dir), lc_pool - 2500);
    assert_eq!(check_peer_gets_stored_keys(&dir, &store), 2500);
}

#[test]
fn otp_refill_consumes_pad_per_chunk() {
    let (dir, key, mut store) = setup("otp", 1500);
    // 1200 keys = 2 chunks ≈ 82 KiB of pad: fits the 128 KiB physical-layer key.
    let r = session(&dir, &key, &mut store, 1200 * 32, WrapKind::Otp, 99, 99).unwrap();
    assert_eq!(r.keys_stored, 1200);
    assert_eq!(check_peer_gets_stored_keys(&dir, &store), 1200);
    // Too little pad: refused, nothing stored, the refill is forgotten; the next one works.
    let e = session(
        &dir,
        &key[..1000],
        &mut store,
        64 * 32,
        WrapKind::Otp,
        99,
        99,
    );
    assert!(matches!(e, Err(ClientError::Refused { .. })), "{e:?}");
    assert!(store.unfinished().unwrap().is_empty());
}

#[test]
fn station_dies_mid_refill_then_retry_is_exactly_once() {
    let (dir, key, mut store) = setup("midway", 4000);
    let before = pool(&dir);
    // 3000 keys = 3 chunks; the station's link dies after 2 chunk frames.
    let e = session(&dir, &key, &mut store, 3000 * 32, WrapKind::AesKw, 2, 99);
    assert!(e.is_err());
    assert_eq!(
        store.remaining(PEER).unwrap(),
        0,
        "nothing stored from a broken refill"
    );
    let pending = store.unfinished().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].state, RefillState::Requested);
    assert_eq!(pool(&dir), before - 3000, "reserved once");
    // Retry against a restarted centre (reopened from its database), asking for another volume:
    // the unfinished refill is retried with its own ID and volume, and the same keys come back.
    let r = session(&dir, &key, &mut store, 64, WrapKind::AesKw, 99, 99).unwrap();
    assert_eq!(r.refill_id, hex::encode(pending[0].refill_id));
    assert_eq!(r.keys_stored, 3000);
    assert_eq!(pool(&dir), before - 3000, "the retry issued nothing new");
    assert_eq!(check_peer_gets_stored_keys(&dir, &store), 3000);
}

#[test]
fn lost_acknowledgement_and_lost_confirmation_neither_duplicate_nor_lose() {
    let (dir, key, mut store) = setup("lostack", 2000);
    let before = pool(&dir);
    // The terminal's Ack never leaves (its link dies after the Request).
    let e = session(&dir, &key, &mut store, 700 * 32, WrapKind::AesKw, 99, 1);
    assert!(e.is_err());
    assert_eq!(
        store.remaining(PEER).unwrap(),
        700 * 32,
        "stored before acknowledging"
    );
    assert_eq!(store.unfinished().unwrap()[0].state, RefillState::Committed);
    let r = session(&dir, &key, &mut store, 700 * 32, WrapKind::AesKw, 99, 99).unwrap();
    assert!(r.already_stored);
    assert_eq!(r.keys_stored, 0);
    assert!(store.unfinished().unwrap().is_empty());
    // Next refill: the station's Confirmed is lost (its link dies after the single chunk).
    let e = session(&dir, &key, &mut store, 300 * 32, WrapKind::AesKw, 1, 99);
    assert!(e.is_err());
    assert_eq!(store.remaining(PEER).unwrap(), 1000 * 32);
    let r = session(&dir, &key, &mut store, 300 * 32, WrapKind::AesKw, 99, 99).unwrap();
    assert!(r.already_stored);
    assert_eq!(pool(&dir), before - 1000, "each refill issued once");
    assert_eq!(check_peer_gets_stored_keys(&dir, &store), 1000);
}

#[test]
fn only_a_base_station_may_reserve_and_retries_must_match() {
    let (dir, _key, _store) = setup("authz", 100);
    let c = centre(&dir);
    let lc = LocalCentre {
        centre: &c,
        station: STATION.into(),
    };
    let id = [9u8; 16];
    let a = lc.reserve(TERMINAL, PEER, &id, 10).unwrap();
    let b = lc.reserve(TERMINAL, PEER, &id, 10).unwrap();
    assert_eq!(
        a.iter().map(|k| &k.key_id).collect::<Vec<_>>(),
        b.iter().map(|k| &k.key_id).collect::<Vec<_>>()
    );
    assert!(lc.reserve(TERMINAL, PEER, &id, 11).is_err());
    assert!(lc.reserve(PEER, TERMINAL, &id, 10).is_err());
    assert!(c
        .refill_reserve("stranger", TERMINAL, PEER, &hex::encode([1u8; 16]), 1)
        .is_err());
    assert!(c.refill_reserve(STATION, TERMINAL, PEER, "xyz", 1).is_err());
    assert_eq!(lc.confirm(&id).unwrap(), 10);
    assert_eq!(lc.confirm(&id).unwrap(), 0);
}
