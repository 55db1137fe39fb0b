//! Channel sounding at IQ level on the simulated air: every exchange, Alice's
//! probe goes to Bob and to every Eve, Bob's probe goes back to Alice a TDD gap
//! later; each receiver runs the full 802.11 receive chain and emits CSI.
//!
//! Threads: one air thread (channel simulator) → one receiver thread per
//! observer → bounded channels of [`CsiRow`]s.

use crossbeam_channel::{bounded, Receiver as ChanRx, Sender as ChanTx};
use num_complex::Complex32;
use qwave_dsp::channel::{ChannelSim, Node, Scenario};
use qwave_dsp::lsig::LSig;
use qwave_dsp::preamble::probe_waveform;
use qwave_dsp::rx::{Receiver, RxConfig};

/// Who observed a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Observer {
    /// Alice (measures Bob→Alice).
    Alice,
    /// Bob (measures Alice→Bob).
    Bob,
    /// Eavesdropper i (measures Alice→Eve).
    Eve(usize),
}

impl Observer {
    /// Group name in the HDF5 trace.
    pub fn trace_name(&self, eves: usize) -> String {
        match self {
            Observer::Alice => "alice".into(),
            Observer::Bob => "bob".into(),
            Observer::Eve(_) if eves == 1 => "eve".into(),
            Observer::Eve(i) => format!("eve{i}"),
        }
    }
}

/// One channel estimate.
#[derive(Clone, Debug)]
pub struct CsiRow {
    /// Probe exchange number.
    pub seq: u64,
    /// Receive time, seconds.
    pub t: f64,
    /// LS channel estimate on the 52 used subcarriers.
    pub csi: [Complex32; 52],
    /// Estimated SNR, dB.
    pub snr_db: f32,
    /// Estimated carrier offset, Hz.
    pub cfo_hz: f64,
}

/// IQ handed from the air to a receiver thread.
struct Burst {
    seq: u64,
    t: f64,
    iq: Vec<Complex32>,
}

/// Streams of rows, one per observer, plus the count of probes the receivers
/// failed to find (lost probes).
pub struct Sounding {
    /// Alice's rows.
    pub alice: ChanRx<CsiRow>,
    /// Bob's rows.
    pub bob: ChanRx<CsiRow>,
    /// Eves' rows.
    pub eves: Vec<ChanRx<CsiRow>>,
    /// Threads to join (they end when their channels close). Each returns the
    /// number of bursts in which no probe was found.
    pub threads: Vec<std::thread::JoinHandle<u64>>,
    /// Optional raw IQ taps (observer, seq, burst) for SigMF recording.
    pub iq_tap: Option<ChanRx<(Observer, u64, Vec<Complex32>)>>,
}

/// Noise samples before and after each burst in the receive window.
pub const LEAD: usize = 40;
/// Noise samples after each burst.
pub const TRAIL: usize = 40;

/// Starts sounding `exchanges` probe exchanges on `scenario` with `seed`.
/// `progress` is called by the air thread with the number of exchanges done.
pub fn spawn(
    scenario: &Scenario,
    seed: u64,
    exchanges: u64,
    record_iq: bool,
    progress: impl Fn(u64) + Send + 'static,
) -> Sounding {
    let mut sim = ChannelSim::new(scenario, seed);
    let eves = sim.eves();
    let rate = scenario.exchange_rate_hz;
    let gap = scenario.tdd_gap_s;
    const CAP: usize = 256;
    let mut threads = Vec::new();
    let mut spawn_rx = |name: String| -> (ChanTx<Burst>, ChanRx<CsiRow>) {
        let (btx, brx) = bounded::<Burst>(CAP);
        let (rtx, rrx) = bounded::<CsiRow>(CAP);
        threads.push(
            std::thread::Builder::new()
                .name(name)
                .spawn(move || {
                    let mut rx = Receiver::new(RxConfig::default());
                    let mut lost = 0;
                    for b in brx {
                        match rx.receive(&b.iq) {
                            Ok(f) => {
                                let row = CsiRow {
                                    seq: b.seq,
                                    t: b.t,
                                    csi: f.csi,
                                    snr_db: f.snr_db,
                                    cfo_hz: f.cfo_hz,
                                };
                                if rtx.send(row).is_err() {
                                    break;
                                }
                            }
                            Err(_) => lost += 1,
                        }
                    }
                    lost
                })
                .expect("spawn receiver thread"),
        );
        (btx, rrx)
    };
    let (to_alice, alice) = spawn_rx("rx-alice".into());
    let (to_bob, bob) = spawn_rx("rx-bob".into());
    let (to_eves, eve_rows): (Vec<_>, Vec<_>) =
        (0..eves).map(|i| spawn_rx(format!("rx-eve{i}"))).unzip();
    let (iq_tx, iq_rx) = if record_iq {
        let (a, b) = bounded(CAP);
        (Some(a), Some(b))
    } else {
        (None, None)
    };
    threads.push(
        std::thread::Builder::new()
            .name("air".into())
            .spawn(move || {
                let mut buf = Vec::new();
                for k in 0..exchanges {
                    let t = k as f64 / rate;
                    let tx_a = probe_waveform(&LSig::for_probe(k));
                    let mut deliver = |from: Node,
                                       to: Node,
                                       t: f64,
                                       obs: Observer,
                                       ch: &ChanTx<Burst>,
                                       tx: &[Complex32]| {
                        sim.propagate(from, to, t, tx, LEAD, TRAIL, &mut buf);
                        if let Some(iq) = &iq_tx {
                            let _ = iq.send((obs, k, buf.clone()));
                        }
                        let _ = ch.send(Burst {
                            seq: k,
                            t,
                            iq: buf.clone(),
                        });
                    };
                    deliver(Node::Alice, Node::Bob, t, Observer::Bob, &to_bob, &tx_a);
                    for (i, ch) in to_eves.iter().enumerate() {
                        deliver(Node::Alice, Node::Eve(i), t, Observer::Eve(i), ch, &tx_a);
                    }
                    let tx_b = probe_waveform(&LSig::for_probe(k));
                    deliver(
                        Node::Bob,
                        Node::Alice,
                        t + gap,
                        Observer::Alice,
                        &to_alice,
                        &tx_b,
                    );
                    if k % 64 == 63 || k + 1 == exchanges {
                        progress(k + 1);
                    }
                }
                0
            })
            .expect("spawn air thread"),
    );
    Sounding {
        alice,
        bob,
        eves: eve_rows,
        threads,
        iq_tap: iq_rx,
    }
}

/// Key-generation features of one CSI estimate: amplitude in dB per
/// subcarrier (log amplitude is closer to Gaussian than Rayleigh amplitude).
pub fn amplitude_features(csi: &[Complex32; 52]) -> Vec<f32> {
    csi.iter()
        .map(|h| 10.0 * (h.norm_sqr().max(1e-12)).log10())
        .collect()
}
