//! Streaming key generation: Alice's and Bob's sessions on their own threads,
//! joined by bounded channels (the in-memory public channel), and a passive
//! Eve who hears every frame. Keys come out block by block while rows are
//! still arriving.

use crossbeam_channel::{bounded, never, select, Receiver as ChanRx, Sender as ChanTx};

use crate::amplify::SecretKey;
use crate::reconcile::Role;
use crate::session::eve::{Eavesdropper, EveBlock};
use crate::session::wire::Reason;
use crate::session::{BlockStats, Event, Party, SessionConfig};

/// How long a party waits for its peer's next frame before giving up.
pub const PEER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// One party's observation of one probe exchange.
pub type Row = (u64, Vec<f32>);

/// A block that gave a key on one side.
pub struct KeyBlock {
    /// Accounting.
    pub stats: BlockStats,
    /// The confirmed key.
    pub key: SecretKey,
}

/// A block that gave no key.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// Why.
    pub reason: Reason,
    /// The numbers behind it.
    pub detail: String,
    /// Accounting.
    pub stats: BlockStats,
}

/// What one party ended with.
#[derive(Default)]
pub struct PartyOutcome {
    /// Confirmed keys, in block order.
    pub keys: Vec<KeyBlock>,
    /// Refused blocks.
    pub refusals: Vec<Refusal>,
    /// Set when the session aborted.
    pub aborted: Option<String>,
}

/// The whole run.
pub struct KeygenOutcome {
    /// Alice's side.
    pub alice: PartyOutcome,
    /// Bob's side.
    pub bob: PartyOutcome,
    /// What Eve got, per block.
    pub eve: Vec<EveBlock>,
}

fn collect(events: &mut PartyOutcome, e: Event) {
    match e {
        Event::Key { key, stats } => events.keys.push(KeyBlock { stats, key }),
        Event::NoKey {
            reason,
            detail,
            stats,
        } => events.refusals.push(Refusal {
            reason,
            detail,
            stats,
        }),
        Event::Aborted { reason, detail } => {
            events.aborted = Some(format!("{reason:?}: {detail}"));
        }
    }
}

/// Runs one party over its row stream and the public channel until the
/// session ends. `on_key` sees each confirmed block as it appears.
pub fn party_loop(
    mut party: Party,
    rows: ChanRx<Row>,
    inbox: ChanRx<Vec<u8>>,
    outbox: ChanTx<Vec<u8>>,
    tap: Option<ChanTx<Vec<u8>>>,
    peer_deadline: std::time::Duration,
    on_key: &(dyn Fn(&BlockStats) + Sync),
) -> PartyOutcome {
    let mut out = PartyOutcome::default();
    let mut rows = rows;
    let mut inbox = inbox;
    let mut last_heard = std::time::Instant::now();
    loop {
        while let Some(f) = party.poll_transmit() {
            if let Some(t) = &tap {
                let _ = t.send(f.clone());
            }
            let _ = outbox.send(f);
        }
        while let Some(e) = party.poll_event() {
            if let Event::Key { stats, .. } = &e {
                on_key(stats);
            }
            collect(&mut out, e);
        }
        if party.is_done() {
            break;
        }
        if !party.waiting_for_peer() {
            last_heard = std::time::Instant::now();
        } else if last_heard.elapsed() > peer_deadline {
            party.on_timeout();
            continue;
        }
        select! {
            recv(rows) -> r => match r {
                Ok((seq, f)) => party.push_row(seq, &f),
                Err(_) => { party.finish_input(); rows = never(); }
            },
            recv(inbox) -> f => match f {
                Ok(f) => { last_heard = std::time::Instant::now(); party.handle_frame(&f) }
                Err(_) => { party.abort("the peer closed the public channel"); inbox = never(); }
            },
            default(peer_deadline / 4) => {}
        }
    }
    out
}

/// Runs Alice, Bob and (optionally) Eve to the end of their row streams.
pub fn run(
    cfg: &SessionConfig,
    auth_key: &[u8; 32],
    alice_rows: ChanRx<Row>,
    bob_rows: ChanRx<Row>,
    eve_rows: Option<ChanRx<Row>>,
    keep_raw: bool,
    on_key: &(dyn Fn(&BlockStats) + Sync),
) -> KeygenOutcome {
    const CAP: usize = 1024;
    let (a2b_tx, a2b_rx) = bounded(CAP);
    let (b2a_tx, b2a_rx) = bounded(CAP);
    let (tap_tx, tap_rx) = bounded::<Vec<u8>>(CAP);
    let with_eve = eve_rows.is_some();
    let mut alice = Party::new(Role::Alice, cfg.clone(), auth_key);
    alice.keep_raw_bits(keep_raw || with_eve);
    let mut bob = Party::new(Role::Bob, cfg.clone(), auth_key);
    bob.keep_raw_bits(keep_raw);
    std::thread::scope(|s| {
        let tap_a = with_eve.then(|| tap_tx.clone());
        let tap_b = with_eve.then(|| tap_tx.clone());
        drop(tap_tx);
        let ha = s.spawn(move || {
            party_loop(
                alice,
                alice_rows,
                b2a_rx,
                a2b_tx,
                tap_a,
                PEER_DEADLINE,
                on_key,
            )
        });
        let hb = s.spawn(move || {
            party_loop(bob, bob_rows, a2b_rx, b2a_tx, tap_b, PEER_DEADLINE, &|_| {})
        });
        let he = eve_rows.map(|er| {
            let cfg = cfg.clone();
            s.spawn(move || {
                let mut eve = Eavesdropper::new(cfg);
                let mut er = er;
                let mut tap = tap_rx;
                let mut open = 2;
                while open > 0 {
                    select! {
                        recv(er) -> r => match r {
                            Ok((seq, f)) => eve.push_row(seq, &f),
                            Err(_) => { er = never(); open -= 1; eve.close_rows(); }
                        },
                        recv(tap) -> f => match f {
                            Ok(f) => eve.observe(&f),
                            Err(_) => { tap = never(); open -= 1; }
                        },
                    }
                }
                eve.take_blocks()
            })
        });
        let alice = ha.join().expect("alice thread");
        let bob = hb.join().expect("bob thread");
        let eve = he
            .map(|h| h.join().expect("eve thread"))
            .unwrap_or_default();
        KeygenOutcome { alice, bob, eve }
    })
}
