//! Alice and Bob on separate threads joined by a real TCP connection on
//! loopback: equal confirmed keys; a peer that vanishes mid-run leaves the
//! other side with an error and no partial key.

use std::net::{TcpListener, TcpStream};

use crossbeam_channel::bounded;
use num_complex::Complex32;
use qwave::pipeline::sounding::amplitude_features;
use qwave::reconcile::Role;
use qwave::session::tcp::run_party;
use qwave::session::{Party, SessionConfig};
use qwave_dsp::channel::{ChannelSim, Node, Scenario};

fn rows(exchanges: u64) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let sc = Scenario::walk();
    let sim = ChannelSim::new(&sc, 21);
    let f = |h: [Complex32; 52]| amplitude_features(&h);
    (0..exchanges)
        .map(|k| {
            let t = k as f64 / sc.exchange_rate_hz;
            (
                f(sim.measured_response(Node::Bob, Node::Alice, t + sc.tdd_gap_s)),
                f(sim.measured_response(Node::Alice, Node::Bob, t)),
            )
        })
        .unzip()
}

fn feeder(rows: Vec<Vec<f32>>) -> crossbeam_channel::Receiver<(u64, Vec<f32>)> {
    let (tx, rx) = bounded(64);
    std::thread::spawn(move || {
        for (k, r) in rows.into_iter().enumerate() {
            if tx.send((k as u64, r)).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn alice_and_bob_over_tcp_confirm_equal_keys() {
    let (a, b) = rows(1500);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let cfg = SessionConfig::default();
    let cfg_b = cfg.clone();
    let bob = std::thread::spawn(move || {
        let s = TcpStream::connect(addr).unwrap();
        run_party(
            Party::new(Role::Bob, cfg_b, &[8; 32]),
            feeder(b),
            s,
            &|_| {},
        )
        .unwrap()
    });
    let (s, _) = listener.accept().unwrap();
    let alice = run_party(
        Party::new(Role::Alice, cfg, &[8; 32]),
        feeder(a),
        s,
        &|_| {},
    )
    .unwrap();
    let bob = bob.join().unwrap();
    assert!(
        alice.aborted.is_none() && bob.aborted.is_none(),
        "{:?} {:?}",
        alice.aborted,
        bob.aborted
    );
    assert!(!alice.keys.is_empty());
    assert_eq!(alice.keys.len(), bob.keys.len());
    for (x, y) in alice.keys.iter().zip(&bob.keys) {
        assert_eq!(x.stats.block, y.stats.block);
        assert_eq!(x.key.as_bytes(), y.key.as_bytes());
    }
}

#[test]
fn peer_vanishing_mid_run_leaves_no_partial_key() {
    let (a, _) = rows(1500);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // "Bob" sends his hello and disappears.
    let bob = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut p = Party::new(Role::Bob, SessionConfig::default(), &[8; 32]);
        let hello = p.poll_transmit().unwrap();
        qwave::session::tcp::write_frame(&mut s, &hello).unwrap();
        drop(s);
    });
    let (s, _) = listener.accept().unwrap();
    bob.join().unwrap();
    let alice = run_party(
        Party::new(Role::Alice, SessionConfig::default(), &[8; 32]),
        feeder(a),
        s,
        &|_| {},
    )
    .unwrap();
    assert!(alice.keys.is_empty(), "no key without a peer");
    let why = alice.aborted.expect("Alice must report why she stopped");
    assert!(why.contains("closed") || why.contains("answer"), "{why}");
}

#[test]
fn oversized_frame_announcement_is_rejected() {
    let mut data: &[u8] = &[0xff, 0xff, 0xff, 0xff];
    let e = qwave::session::tcp::read_frame(&mut data).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
}
