//! `qwave air`: the virtual air. Simulated radios connect over TCP
//! ([`super::wire`]), place bursts and ask for receive windows on one shared
//! virtual clock; the air answers each window with the sum of every other
//! radio's overlapping bursts through the channel simulator
//! ([`qwave_dsp::channel::ChannelSim`], the physics `qwave demo` uses) plus
//! receiver noise.
//!
//! Virtual time: each radio's requests move forward on its own time line
//! (its *horizon*: the end of its last window or burst); a request before the
//! horizon is late. A window `[a, b)` is answered once every other
//! transmitting radio's horizon has reached `b` (or it has left), so no burst
//! that could overlap the window can still arrive. Eves only listen and
//! never hold the others back.
//!
//! Determinism: channel taps are functions of time, bursts are propagated
//! noise-free, and each window's noise comes from its own generator seeded by
//! `(seed, node, window start)`; so for a given `--seed` every radio receives
//! the same samples whatever order the requests reach the air in.
//!
//! One thread per connection; the state sits behind one mutex with a condvar.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use num_complex::Complex32;
use qwave_dsp::channel::{ChannelSim, Scenario, SAMPLE_RATE_HZ};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use sha3::{Digest, Sha3_256};

use super::wire::{read_msg, write_msg, AirMsg, SimNode, AIR_PROTOCOL_VERSION};
use super::RadioError;

/// Bursts the air keeps for receivers that lag behind; beyond this a
/// transmitter is refused (a stuck receiver would otherwise grow memory).
pub const MAX_PENDING_BURSTS: usize = 1 << 14;

/// What the air simulates and how long it runs.
#[derive(Clone, Debug)]
pub struct AirConfig {
    /// Channel scenario.
    pub scenario: Scenario,
    /// Simulator seed.
    pub seed: u64,
    /// Virtual seconds the air answers (requests beyond are refused).
    pub seconds: f64,
    /// Radios that must register before any window is answered.
    pub expected: Vec<SimNode>,
    /// Longest wall-clock wait for another radio (and for the first connection).
    pub idle_timeout: Duration,
}

/// What a finished air run served.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AirSummary {
    /// Radios that connected.
    pub radios: usize,
    /// Bursts accepted.
    pub bursts: u64,
    /// Windows answered.
    pub windows: u64,
    /// Late requests.
    pub late: u64,
    /// Latest virtual time reached, seconds.
    pub virtual_seconds: f64,
}

struct NodeState {
    connected: bool,
    gone: bool,
    /// End of the radio's last request: it will send nothing before this.
    horizon: u64,
    /// End of what the radio has been served: it needs no burst ending before this.
    served: u64,
}

struct Burst {
    from: SimNode,
    at: u64,
    end: u64,
    samples: Vec<Complex32>,
}

struct State {
    /// Noise-free copy of the scenario's simulator.
    sim: ChannelSim,
    nodes: BTreeMap<SimNode, NodeState>,
    bursts: Vec<Burst>,
    scratch: Vec<Complex32>,
    summary: AirSummary,
    active: usize,
    last_activity: Instant,
}

struct Shared {
    cfg: AirConfig,
    end_tick: u64,
    state: Mutex<State>,
    changed: Condvar,
}

/// The bound air, ready to [`Air::run`].
pub struct Air {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Air {
    /// Binds the listening socket and builds the simulator.
    ///
    /// # Errors
    /// [`RadioError::Io`] if the address cannot be bound,
    /// [`RadioError::Invalid`] for an invalid scenario or duration.
    pub fn bind(addr: &str, cfg: AirConfig) -> Result<Self, RadioError> {
        if !(cfg.seconds > 0.0 && cfg.seconds.is_finite()) {
            return Err(RadioError::Invalid(format!(
                "air duration must be positive, got {} s",
                cfg.seconds
            )));
        }
        // Bursts propagate noise-free (infinite SNR: the simulator's noise
        // generator then adds exact zeros); the air adds per-window noise.
        let quiet = Scenario {
            snr_db: 1e300,
            eve_snr_db: 1e300,
            // Receiver DC/IQ impairments act once per window (in `render`), not per burst.
            iq_imbalance: false,
            ..cfg.scenario.clone()
        };
        let sim = ChannelSim::try_new(&quiet, cfg.seed)
            .map_err(|e| RadioError::Invalid(e.to_string()))?;
        for n in &cfg.expected {
            if let SimNode::Eve(i) = n {
                if usize::from(*i) >= sim.eves() {
                    return Err(RadioError::Invalid(format!(
                        "expected radio {n}, but scenario `{}` has {} eavesdropper(s)",
                        cfg.scenario.name,
                        sim.eves()
                    )));
                }
            }
        }
        let listener = TcpListener::bind(addr).map_err(|source| RadioError::Io {
            addr: addr.into(),
            source,
        })?;
        let nodes = cfg
            .expected
            .iter()
            .map(|&n| {
                (
                    n,
                    NodeState {
                        connected: false,
                        gone: false,
                        horizon: 0,
                        served: 0,
                    },
                )
            })
            .collect();
        let end_tick = (cfg.seconds * SAMPLE_RATE_HZ).round() as u64;
        Ok(Self {
            listener,
            shared: Arc::new(Shared {
                cfg,
                end_tick,
                state: Mutex::new(State {
                    sim,
                    nodes,
                    bursts: Vec::new(),
                    scratch: Vec::new(),
                    summary: AirSummary::default(),
                    active: 0,
                    last_activity: Instant::now(),
                }),
                changed: Condvar::new(),
            }),
        })
    }

    /// The bound address (useful with port 0).
    ///
    /// # Errors
    /// The socket's own error.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves radios until every radio that connected has left (after at
    /// least one connected), or no radio was active for the idle timeout.
    ///
    /// # Errors
    /// [`RadioError::Io`] on a listener failure; [`RadioError::Refused`] when
    /// no radio connected within the idle timeout.
    pub fn run(self) -> Result<AirSummary, RadioError> {
        let addr = self
            .listener
            .local_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string());
        let io = |source| RadioError::Io {
            addr: addr.clone(),
            source,
        };
        self.listener.set_nonblocking(true).map_err(io)?;
        let mut handles = Vec::new();
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).map_err(io)?;
                    let shared = Arc::clone(&self.shared);
                    {
                        let mut st = lock(&shared);
                        st.active += 1;
                        st.summary.radios += 1;
                        st.last_activity = Instant::now();
                    }
                    handles.push(std::thread::spawn(move || serve(&shared, stream)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let st = lock(&self.shared);
                    if st.summary.radios > 0 && st.active == 0 {
                        break;
                    }
                    if st.active == 0 && st.last_activity.elapsed() > self.shared.cfg.idle_timeout {
                        return Err(RadioError::Refused(format!(
                            "no radio connected within {:?}",
                            self.shared.cfg.idle_timeout
                        )));
                    }
                    drop(st);
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(io(e)),
            }
        }
        for h in handles {
            let _ = h.join();
        }
        let st = lock(&self.shared);
        Ok(st.summary.clone())
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // A panicking connection thread must not take the air down with it.
    shared
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One connection: Hello, then requests until the radio leaves.
fn serve(shared: &Shared, stream: TcpStream) {
    let mut node = None;
    if let Err(e) = serve_inner(shared, stream, &mut node) {
        eprintln!(
            "air: {} dropped: {e}",
            node.map_or("a radio".into(), |n: SimNode| n.to_string())
        );
    }
    let mut st = lock(shared);
    st.active -= 1;
    if let Some(n) = node {
        if let Some(s) = st.nodes.get_mut(&n) {
            s.gone = true;
        }
        eprintln!("air: {n} left");
    }
    st.last_activity = Instant::now();
    drop(st);
    shared.changed.notify_all();
}

fn serve_inner(
    shared: &Shared,
    stream: TcpStream,
    me: &mut Option<SimNode>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = std::io::BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let (mut rbuf, mut wbuf) = (Vec::new(), Vec::new());
    let node = match read_msg(&mut reader, &mut rbuf)? {
        None => return Ok(()),
        Some(AirMsg::Hello { version, node }) => {
            let refusal = register(shared, version, node);
            if let Some(why) = refusal {
                write_msg(&mut writer, &AirMsg::Refused(why), &mut wbuf)?;
                return Ok(());
            }
            *me = Some(node);
            eprintln!("air: {node} connected");
            node
        }
        Some(_) => {
            let m = AirMsg::Refused("the first message must be Hello".into());
            return write_msg(&mut writer, &m, &mut wbuf);
        }
    };
    write_msg(
        &mut writer,
        &AirMsg::Welcome {
            sample_rate_hz: SAMPLE_RATE_HZ,
            carrier_hz: shared.cfg.scenario.carrier_hz,
            end_tick: shared.end_tick,
        },
        &mut wbuf,
    )?;
    while let Some(msg) = read_msg(&mut reader, &mut rbuf)? {
        let reply = match msg {
            AirMsg::Transmit { at, samples } => transmit(shared, node, at, samples),
            AirMsg::Receive { at, len } => receive(shared, node, at, len as usize),
            other => AirMsg::Refused(format!("unexpected request {other:?}")),
        };
        write_msg(&mut writer, &reply, &mut wbuf)?;
    }
    Ok(())
}

fn register(shared: &Shared, version: u16, node: SimNode) -> Option<String> {
    if version != AIR_PROTOCOL_VERSION {
        return Some(format!(
            "air protocol version {version} not supported (this air speaks {AIR_PROTOCOL_VERSION})"
        ));
    }
    let mut st = lock(shared);
    if let SimNode::Eve(i) = node {
        if usize::from(i) >= st.sim.eves() {
            return Some(format!(
                "scenario `{}` has {} eavesdropper(s); no {node}",
                shared.cfg.scenario.name,
                st.sim.eves()
            ));
        }
    }
    let s = st.nodes.entry(node).or_insert(NodeState {
        connected: false,
        gone: false,
        horizon: 0,
        served: 0,
    });
    if s.connected {
        return Some(format!(
            "radio {node} is already {} this air",
            if s.gone { "gone from" } else { "connected to" }
        ));
    }
    s.connected = true;
    st.last_activity = Instant::now();
    drop(st);
    shared.changed.notify_all();
    None
}

fn check_span(shared: &Shared, at: u64, len: usize) -> Option<AirMsg> {
    let end = at.checked_add(len as u64);
    match end {
        Some(e) if e <= shared.end_tick => None,
        _ => Some(AirMsg::Refused(format!(
            "the air's run ends at {} s (tick {})",
            shared.cfg.seconds, shared.end_tick
        ))),
    }
}

fn transmit(shared: &Shared, node: SimNode, at: u64, samples: Vec<Complex32>) -> AirMsg {
    if !node.transmits() {
        return AirMsg::Refused(format!("{node} is a listen-only radio"));
    }
    if let Some(r) = check_span(shared, at, samples.len()) {
        return r;
    }
    let mut st = lock(shared);
    st.last_activity = Instant::now();
    let horizon = st.nodes.get(&node).map_or(0, |s| s.horizon);
    if at < horizon {
        st.summary.late += 1;
        return AirMsg::Late {
            requested: at,
            earliest: horizon,
        };
    }
    if st.bursts.len() >= MAX_PENDING_BURSTS {
        return AirMsg::Refused(format!(
            "{MAX_PENDING_BURSTS} bursts pending: a receiver lags too far behind"
        ));
    }
    let len = samples.len() as u64;
    let end = at + len + st.sim.channel_len() as u64;
    if !samples.is_empty() {
        st.bursts.push(Burst {
            from: node,
            at,
            end,
            samples,
        });
    }
    // The transmitter sends nothing before its burst ends, and (half duplex)
    // receives nothing of it; the channel tail after that is in `bursts`.
    if let Some(s) = st.nodes.get_mut(&node) {
        s.horizon = at + len;
        s.served = at + len;
    }
    st.summary.bursts += 1;
    st.summary.virtual_seconds = st.summary.virtual_seconds.max(end as f64 / SAMPLE_RATE_HZ);
    collect_garbage(&mut st);
    drop(st);
    shared.changed.notify_all();
    AirMsg::Sent
}

/// Radios `node` still waits for before `[.., end)` is complete.
fn blockers(st: &State, node: SimNode, end: u64) -> Vec<SimNode> {
    st.nodes
        .iter()
        .filter(|(&n, s)| n != node && n.transmits() && !s.gone && s.horizon < end)
        .map(|(&n, _)| n)
        .collect()
}

fn receive(shared: &Shared, node: SimNode, at: u64, len: usize) -> AirMsg {
    if let Some(r) = check_span(shared, at, len) {
        return r;
    }
    let end = at + len as u64;
    let mut st = lock(shared);
    st.last_activity = Instant::now();
    let horizon = st.nodes.get(&node).map_or(0, |s| s.horizon);
    if at < horizon {
        st.summary.late += 1;
        return AirMsg::Late {
            requested: at,
            earliest: horizon,
        };
    }
    if let Some(s) = st.nodes.get_mut(&node) {
        s.horizon = end;
    }
    shared.changed.notify_all();
    let deadline = Instant::now() + shared.cfg.idle_timeout;
    loop {
        let waiting = blockers(&st, node, end);
        if waiting.is_empty() {
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            let names: Vec<String> = waiting.iter().map(ToString::to_string).collect();
            return AirMsg::Refused(format!(
                "waited {:?} for {} to reach {:.6} s of air time",
                shared.cfg.idle_timeout,
                names.join(", "),
                end as f64 / SAMPLE_RATE_HZ
            ));
        }
        st = shared
            .changed
            .wait_timeout(st, deadline - now)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0;
    }
    let samples = render(&mut st, shared, node, at, len);
    if let Some(s) = st.nodes.get_mut(&node) {
        s.served = end;
    }
    st.summary.windows += 1;
    st.summary.virtual_seconds = st.summary.virtual_seconds.max(end as f64 / SAMPLE_RATE_HZ);
    collect_garbage(&mut st);
    AirMsg::Samples { at, samples }
}

/// The window `[at, at + len)` as `node` receives it.
fn render(st: &mut State, shared: &Shared, node: SimNode, at: u64, len: usize) -> Vec<Complex32> {
    let end = at + len as u64;
    let mut out = vec![Complex32::new(0.0, 0.0); len];
    let State {
        sim,
        bursts,
        scratch,
        ..
    } = st;
    for b in bursts
        .iter()
        .filter(|b| b.from != node && b.at < end && b.end > at)
    {
        let t = b.at as f64 / SAMPLE_RATE_HZ;
        if sim
            .try_propagate(b.from.node(), node.node(), t, &b.samples, 0, 0, scratch)
            .is_err()
        {
            // Links the model does not define (none between Alice, Bob and Eve_i) carry nothing.
            continue;
        }
        for (i, y) in scratch.iter().enumerate() {
            let tick = b.at + i as u64;
            if tick >= at && tick < end {
                out[(tick - at) as usize] += *y;
            }
        }
    }
    // Receiver noise relative to a unit-power transmitter (the probe's mean power).
    let snr_db = if matches!(node, SimNode::Eve(_)) {
        shared.cfg.scenario.eve_snr_db
    } else {
        shared.cfg.scenario.snr_db
    };
    let sigma = (10f64.powf(-snr_db / 10.0) / 2.0).sqrt();
    let mut rng = ChaCha8Rng::seed_from_u64(window_seed(shared.cfg.seed, node, at));
    for o in &mut out {
        let re: f64 = rng.sample(StandardNormal);
        let im: f64 = rng.sample(StandardNormal);
        *o += Complex32::new((re * sigma) as f32, (im * sigma) as f32);
    }
    if shared.cfg.scenario.iq_imbalance {
        if let Ok(iq) = st.sim.receiver_iq(node.node()) {
            iq.apply(&mut out);
        }
    }
    out
}

/// Seed of one window's noise: SHA3-256 of `(seed, node, start)`.
fn window_seed(seed: u64, node: SimNode, at: u64) -> u64 {
    let mut h = Sha3_256::new();
    h.update(b"qwave-air-noise");
    h.update(seed.to_be_bytes());
    h.update(node.to_string().as_bytes());
    h.update(at.to_be_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b)
}

/// Drops bursts every other remaining radio has been served past (the
/// sender does not count: it never hears itself).
fn collect_garbage(st: &mut State) {
    let State { nodes, bursts, .. } = st;
    bursts.retain(|b| {
        nodes
            .iter()
            .any(|(&n, s)| n != b.from && !s.gone && s.served < b.end)
    });
}
