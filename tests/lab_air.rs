//! The virtual air in process: simulated radios on loopback exchange probes
//! that the 802.11 receiver finds; the air is deterministic for a seed
//! whatever the request interleaving; late and forbidden requests are typed.

use std::time::Duration;

use num_complex::Complex32;
use qwave::radio::air::{Air, AirConfig};
use qwave::radio::sim::SimRadio;
use qwave::radio::wire::SimNode;
use qwave::radio::{Radio, RadioError, RadioEvent};
use qwave_dsp::channel::Scenario;
use qwave_dsp::lsig::LSig;
use qwave_dsp::preamble::probe_waveform;
use qwave_dsp::rx::{Receiver, RxConfig};

const GAP: u64 = 20_000; // 1 ms at 20 MS/s
const PERIOD: u64 = 200_000; // 100 exchanges/s
const LEAD: u64 = 80;
const WIN: usize = 720;

/// Every receive window of one radio, in order.
type Windows = Vec<Vec<Complex32>>;

fn start_air(seed: u64, expected: Vec<SimNode>) -> (String, std::thread::JoinHandle<()>) {
    let air = Air::bind(
        "127.0.0.1:0",
        AirConfig {
            scenario: Scenario::walk(),
            seed,
            seconds: 10.0,
            expected,
            idle_timeout: Duration::from_secs(20),
        },
    )
    .unwrap();
    let addr = air.local_addr().unwrap().to_string();
    let h = std::thread::spawn(move || {
        air.run().unwrap();
    });
    (addr, h)
}

/// Alice and Bob (and optionally Eve) run `n` exchanges; returns every window each received.
fn exchange(seed: u64, n: u64, with_eve: bool, bob_delay: Duration) -> (Windows, Windows, Windows) {
    let mut expected = vec![SimNode::Alice, SimNode::Bob];
    if with_eve {
        expected.push(SimNode::Eve(0));
    }
    let (addr, air) = start_air(seed, expected);
    let a_addr = addr.clone();
    let alice = std::thread::spawn(move || {
        let mut r = SimRadio::connect(&a_addr, SimNode::Alice).unwrap();
        let mut got = Vec::new();
        for k in 0..n {
            r.transmit_at(k * PERIOD, &probe_waveform(&LSig::for_probe(k)))
                .unwrap();
            let mut w = vec![Complex32::default(); WIN];
            r.receive_at(k * PERIOD + GAP - LEAD, &mut w).unwrap();
            got.push(w);
        }
        got
    });
    let b_addr = addr.clone();
    let bob = std::thread::spawn(move || {
        std::thread::sleep(bob_delay);
        let mut r = SimRadio::connect(&b_addr, SimNode::Bob).unwrap();
        let mut got = Vec::new();
        for k in 0..n {
            let mut w = vec![Complex32::default(); WIN];
            r.receive_at(k * PERIOD - LEAD.min(k * PERIOD), &mut w)
                .unwrap();
            got.push(w);
            r.transmit_at(k * PERIOD + GAP, &probe_waveform(&LSig::for_probe(k)))
                .unwrap();
        }
        got
    });
    let eve = with_eve.then(|| {
        std::thread::spawn(move || {
            let mut r = SimRadio::connect(&addr, SimNode::Eve(0)).unwrap();
            let mut got = Vec::new();
            for k in 0..n {
                let mut w = vec![Complex32::default(); WIN];
                r.receive_at(k * PERIOD - LEAD.min(k * PERIOD), &mut w)
                    .unwrap();
                got.push(w);
            }
            got
        })
    });
    let a = alice.join().unwrap();
    let b = bob.join().unwrap();
    let e = eve.map(|h| h.join().unwrap()).unwrap_or_default();
    air.join().unwrap();
    (a, b, e)
}

#[test]
fn probes_cross_the_virtual_air_and_are_found() {
    let n = 12;
    let (a, b, e) = exchange(3, n, true, Duration::ZERO);
    let mut rx = Receiver::new(RxConfig::default());
    for (who, windows) in [("alice", &a), ("bob", &b), ("eve", &e)] {
        assert_eq!(windows.len(), n as usize);
        for (k, w) in windows.iter().enumerate() {
            let f = rx
                .receive(w)
                .unwrap_or_else(|err| panic!("{who} exchange {k}: {err}"));
            assert_eq!(f.lsig, Ok(LSig::for_probe(k as u64)), "{who} exchange {k}");
            assert!(f.snr_db > 10.0, "{who} snr {}", f.snr_db);
        }
    }
}

#[test]
fn same_seed_same_samples_whatever_the_interleaving() {
    let (a1, b1, _) = exchange(9, 5, false, Duration::ZERO);
    let (a2, b2, _) = exchange(9, 5, false, Duration::from_millis(300));
    assert_eq!(a1, a2);
    assert_eq!(b1, b2);
    let (a3, _, _) = exchange(10, 5, false, Duration::ZERO);
    assert_ne!(a1, a3, "another seed gives another channel");
}

#[test]
fn late_and_forbidden_requests_are_typed() {
    let (addr, air) = start_air(1, vec![SimNode::Alice]);
    let mut alice = SimRadio::connect(&addr, SimNode::Alice).unwrap();
    // A second Alice is refused.
    assert!(matches!(
        SimRadio::connect(&addr, SimNode::Alice),
        Err(RadioError::Refused(_))
    ));
    // The walk scenario has one Eve.
    assert!(matches!(
        SimRadio::connect(&addr, SimNode::Eve(4)),
        Err(RadioError::Refused(_))
    ));
    let mut eve = SimRadio::connect(&addr, SimNode::Eve(0)).unwrap();
    let probe = probe_waveform(&LSig::for_probe(0));
    assert!(matches!(
        eve.transmit_at(0, &probe),
        Err(RadioError::Refused(m)) if m.contains("listen-only")
    ));
    alice.transmit_at(1000, &probe).unwrap();
    assert_eq!(alice.poll_event(), None);
    // Back in time: dropped and reported, not an error.
    alice.transmit_at(10, &probe).unwrap();
    assert!(matches!(
        alice.poll_event(),
        Some(RadioEvent::Late { requested: 10, .. })
    ));
    // Past the air's end (10 s).
    let mut w = vec![Complex32::default(); 100];
    assert!(matches!(
        alice.receive_at(10 * 20_000_000, &mut w),
        Err(RadioError::Refused(m)) if m.contains("ends")
    ));
    drop(alice);
    drop(eve);
    air.join().unwrap();
}
