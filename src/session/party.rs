//! One party's key-generation state machine, sans-IO (cf. quinn-proto's
//! `Connection`): channel rows go in with [`Party::push_row`], peer frames
//! with [`Party::handle_frame`]; frames to send come out of
//! [`Party::poll_transmit`], keys and refusals out of [`Party::poll_event`].
//! No sockets, no threads, no clocks.
//!
//! Per block of probe exchanges (Alice leads, Bob follows):
//! ```text
//!  Alice                                   Bob
//!  BlockPlan(rows held, stride, k) ──────►
//!                                  ◄────── BlockAck(rows held)
//!  Drops(guard-band indices)       ◄─────► Drops
//!                                  ◄────── Sample(seed, count, Bob's bits)  (sacrificed; QBER estimate)
//!  ReconStart(q̂, shuffle seed)     ──────►
//!  Recon …                         ◄─────► Recon …                           (reconciler's own messages)
//!                                  ◄────── ReconDone(errors corrected)
//!  Amplify(ℓ, Toeplitz seed, nonce_A) ───►
//!                                  ◄────── Confirm(nonce_B, tag_B)
//!  Confirm(tag_A)                  ──────►
//! ```
//! A key is released as an [`Event::Key`] only after the peer's confirmation
//! tag verified; any authentication or protocol failure aborts the session
//! and releases nothing further.

use std::collections::{BTreeMap, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha3::{Digest, Sha3_256};
use zeroize::{Zeroize, Zeroizing};

use super::auth::{FrameCodec, FrameError, Sender};
use super::wire::{DecodeError, Msg, Reason};
use crate::amplify::{self, ConfirmRole, LengthInputs, SecretKey, ToeplitzHasher};
use crate::extract::{self, FeatureBlock, PreprocessConfig, Quantizer, QuantizerKind};
use crate::reconcile::ldpc::llr::{SoftCalibration, CALIBRATION_MIN_BITS};
use crate::reconcile::{self, ReconcileParams, Reconciler, ReconcilerKind, Role};

/// Default number of DCT coefficients kept across the 52 subcarriers. On
/// `walk` (50 ns rms delay spread over 20 MHz) coefficients beyond the eighth
/// add bits that depend on the first ones: over 300 s (seed 3) the pooled raw
/// bits score 0.53 bit/bit on the SP 800-90B compression estimate and 0.73 on
/// t-tuple with 12 kept, 0.73 and 0.91 with 8 kept, against 0.82–0.83 and
/// 0.91–0.92 for fair coin flips of the same length (`examples/entropy_survey.rs`).
pub const DEFAULT_DCT_KEEP: usize = 8;
/// Reconciled bits Alice keeps for the pooled entropy assessment (2¹⁸).
pub const ENTROPY_POOL_BITS: usize = 1 << 18;
/// Default autocorrelation threshold for the time stride.
pub const DEFAULT_STRIDE_THRESHOLD: f64 = 0.4;

/// Correlation ρ at which `k`-bit Gray equiprobable quantization of a
/// Gaussian pair disagrees on a fraction `q` of bits (inverse of
/// [`extract::gray_disagreement`], by bisection; disagreement falls as ρ grows).
pub fn rho_for_disagreement(k: u8, q: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 0.99999f64);
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if extract::gray_disagreement(k, mid) > q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// `cfg` with DCT/PCA `keep` limited to `cols` columns.
pub fn clamp_preprocess(cfg: &PreprocessConfig, cols: usize) -> PreprocessConfig {
    let mut c = cfg.clone();
    c.decorrelate = match c.decorrelate {
        extract::Decorrelate::Dct { keep } if keep > cols => {
            extract::Decorrelate::Dct { keep: cols }
        }
        extract::Decorrelate::Pca { keep } if keep > cols => {
            extract::Decorrelate::Pca { keep: cols }
        }
        d => d,
    };
    c
}

/// Bits per sample that maximise the expected key per sample,
/// `k · (H − f·h2(p_k(ρ)))`, for correlation `rho`, min-entropy per bit `h`
/// and reconciliation efficiency `f` (Gray-coded equiprobable quantization;
/// `p_k` from [`extract::gray_disagreement`]).
pub fn best_bits_per_sample(rho: f64, h: f64, f: f64) -> u8 {
    sticky_bits_per_sample(rho, h, f, None)
}

/// A change of bits per sample must promise at least this fraction more
/// key per sample than staying (see [`sticky_bits_per_sample`]).
pub const K_SWITCH_MARGIN: f64 = 0.05;

/// As [`best_bits_per_sample`], but keeps `current` unless the best `k`
/// promises more than (1 + [`K_SWITCH_MARGIN`]) times its key per sample.
/// Near the crossover of two `k` the correlation measured on one block
/// decides by chance; every change restarts the disagreement history that
/// q̂ pools and Bob's soft calibration at that `k`.
pub fn sticky_bits_per_sample(rho: f64, h: f64, f: f64, current: Option<u8>) -> u8 {
    let rate = |k: u8| {
        let p = extract::gray_disagreement(k, rho);
        k as f64 * (h - f * reconcile::binary_entropy(p))
    };
    let best = (1..=4u8)
        .map(|k| (k, rate(k)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(1, |(k, _)| k);
    match current.filter(|k| (1..=4).contains(k)) {
        Some(k) if rate(best) <= rate(k) + K_SWITCH_MARGIN * rate(k).abs() => k,
        _ => best,
    }
}

/// Protocol version spoken in `Hello`.
pub const PROTOCOL_VERSION: u16 = 1;

/// Key-generation parameters. Both parties must use the same ones (their
/// digest is compared in `Hello`).
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Probe exchanges per key block.
    pub block_exchanges: u32,
    /// Fewest exchanges worth a block at the end of a run.
    pub min_block_exchanges: u32,
    /// Feature preprocessing.
    pub preprocess: PreprocessConfig,
    /// Quantizer strategy.
    pub quantizer: QuantizerKind,
    /// Guard band width (guard-band quantizers), in standard deviations.
    pub guard_fraction: f64,
    /// Fixed bits per sample, or `None` to choose from the measured
    /// Alice–Bob correlation of the previous block.
    pub bits_per_sample: Option<u8>,
    /// Reconciler strategy.
    pub reconciler: ReconcilerKind,
    /// Bits Bob reveals (and both discard) per block to estimate disagreement.
    pub sample_bits: u32,
    /// Fraction of a block's bits Bob reveals instead when q̂ has no exact
    /// count of a previous block at the same bits per sample to pool with
    /// (the session's first block, a change of `k`). At q = 5.7 % the
    /// standard deviation of q̂ is 2 points from 128 bits, 0.8 from 5 % of
    /// a 16 000-bit block.
    pub first_sample_fraction: f64,
    /// Blocks whose estimated disagreement exceeds this are refused.
    pub max_qber: f64,
    /// Security parameter: ε = 2^-security_log2.
    pub security_log2: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            block_exchanges: 500,
            min_block_exchanges: 100,
            preprocess: PreprocessConfig {
                normalize: true,
                decorrelate: extract::Decorrelate::Dct {
                    keep: DEFAULT_DCT_KEEP,
                },
                time_decimation: extract::TimeDecimation::Auto {
                    threshold: DEFAULT_STRIDE_THRESHOLD,
                },
            },
            quantizer: QuantizerKind::Equiprobable,
            guard_fraction: 0.0,
            bits_per_sample: None,
            reconciler: ReconcilerKind::Cascade,
            sample_bits: 128,
            first_sample_fraction: 0.05,
            max_qber: 0.2,
            security_log2: amplify::DEFAULT_SECURITY_LOG2,
        }
    }
}

impl SessionConfig {
    /// Probe exchanges per block when the user names none: 500 for Cascade
    /// (a key every few seconds), 2000 for LDPC. On `walk` (≈ 7–12 bits per
    /// exchange) 500 exchanges fill only the n = 1944 802.11n codes, 2000
    /// the n = 16384 ones, whose soft-input efficiency is ≈ 0.1 lower; whole
    /// 120 s demo runs, 6 seeds: f = 1.046 with 500, 0.936 with 2000.
    pub fn default_block_exchanges(reconciler: ReconcilerKind) -> u32 {
        match reconciler {
            ReconcilerKind::Cascade => 500,
            ReconcilerKind::Ldpc => 2000,
        }
    }

    /// SHA3-256 of the canonical description of the parameters.
    pub fn digest(&self) -> [u8; 32] {
        Sha3_256::digest(format!("{self:?}").as_bytes()).into()
    }
}

/// What one block cost and gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BlockStats {
    /// Block number.
    pub block: u32,
    /// Probe exchanges both parties held.
    pub pairs: u32,
    /// Bits quantized (after guard-band drops, before sampling).
    pub raw_bits: u64,
    /// Bits that entered reconciliation.
    pub reconciled_bits: u64,
    /// Bits Bob had to flip (true disagreement before reconciliation).
    pub errors: u64,
    /// Bits disclosed: sample, reconciliation, statistics.
    pub leaked_bits: u64,
    /// Frames this block put on the wire, both directions.
    pub messages: u32,
    /// Min-entropy per raw bit (SP 800-90B estimate, minimum of estimators).
    pub min_entropy_per_bit: f64,
    /// Final key bits (0 when refused).
    pub final_bits: u64,
    /// Bits per sample used.
    pub bits_per_sample: u8,
    /// Alice's raw quantized bits, kept only when observing for evaluation
    /// (see [`Party::keep_raw_bits`]).
    pub raw: Option<Vec<u8>>,
}

/// What a party reports.
#[derive(Debug)]
pub enum Event {
    /// A confirmed key for one block.
    Key {
        /// The key (zeroized on drop).
        key: SecretKey,
        /// Accounting.
        stats: BlockStats,
    },
    /// The block gave no key; the session goes on.
    NoKey {
        /// Why.
        reason: Reason,
        /// Human-readable detail with the numbers.
        detail: String,
        /// Accounting.
        stats: BlockStats,
    },
    /// The session ended without any further key.
    Aborted {
        /// Why.
        reason: Reason,
        /// Human-readable detail.
        detail: String,
    },
}

/// Everything that can go wrong inside a party; mapped to an abort.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Authentication or framing failure.
    #[error("frame rejected: {0}")]
    Frame(#[from] FrameError),
    /// Undecodable message.
    #[error("undecodable message: {0}")]
    Decode(#[from] DecodeError),
    /// The peer sent something the protocol does not allow now.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The reconciler failed.
    #[error("reconciliation: {0}")]
    Reconcile(#[from] reconcile::ReconcileError),
    /// Feature extraction failed.
    #[error("extraction: {0}")]
    Extract(#[from] extract::ExtractError),
    /// Privacy amplification failed.
    #[error("privacy amplification: {0}")]
    Amplify(#[from] amplify::AmplifyError),
}

fn protocol(s: impl Into<String>) -> SessionError {
    SessionError::Protocol(s.into())
}

enum Stage {
    /// Waiting for the peer's Hello.
    Hello,
    /// Between blocks.
    Idle,
    /// Bob holds Alice's plan until his rows for it have arrived.
    PlanPending(Plan),
    /// Rows agreed; waiting for the peer's drop list.
    AwaitDrops(Block),
    /// Alice: waiting for Bob's sample.
    AwaitSample(Block),
    /// Bob: waiting for ReconStart.
    AwaitReconStart(Block),
    /// Reconciling.
    Reconciling(Block, Box<dyn Reconciler>),
    /// Alice: reconciliation done, waiting for Bob's ReconDone.
    AwaitReconDone(Block, Zeroizing<Vec<u8>>),
    /// Bob: waiting for Amplify.
    AwaitAmplify(Block, Zeroizing<Vec<u8>>),
    /// Alice: sent Amplify, waiting for Bob's Confirm.
    AwaitConfirmBob(Block, SecretKey, [u8; 16]),
    /// Bob: sent Confirm, waiting for Alice's Confirm.
    AwaitConfirmAlice(Block, SecretKey, [u8; 16], [u8; 16]),
    /// Session over.
    Done,
}

#[derive(Clone)]
struct Plan {
    block: u32,
    first_seq: u64,
    len: u32,
    stride: u16,
    bits_per_sample: u8,
    alice_present: Vec<u8>,
}

struct Block {
    plan: Plan,
    samples: Vec<f64>,
    my_drops: Vec<u32>,
    peer_drops: Option<Vec<u32>>,
    bits: Vec<u8>,
    /// 1 where the bit at that position is a sample's first (sign) Gray bit.
    msb: Vec<u8>,
    /// Quantizer soft value per bit (filtered like `bits`); Bob passes it to the reconciler.
    soft: Vec<f32>,
    quantizer: Box<dyn Quantizer>,
    stats: BlockStats,
}

impl Drop for Block {
    fn drop(&mut self) {
        // Channel samples and key bits are secret material.
        self.samples.zeroize();
        self.bits.zeroize();
        self.soft.zeroize();
        if let Some(r) = self.stats.raw.as_mut() {
            r.zeroize();
        }
    }
}

impl Drop for Party {
    fn drop(&mut self) {
        for r in self.rows.values_mut() {
            r.zeroize();
        }
        let (a, b) = self.entropy_pool.as_mut_slices();
        a.zeroize();
        b.zeroize();
    }
}

/// One party of the session.
pub struct Party {
    role: Role,
    cfg: SessionConfig,
    codec: FrameCodec,
    nonce: [u8; 16],
    peer_nonce: Option<[u8; 16]>,
    rows: BTreeMap<u64, Vec<f32>>,
    cols: Option<usize>,
    input_done: bool,
    next_first_seq: Option<u64>,
    next_block: u32,
    stage: Stage,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    /// Previous block's (errors, reconciled bits, errors in msb, msb bits, k).
    history: Option<(u64, u64, u64, u64, u8)>,
    keep_raw: bool,
    /// Min-entropy per bit of the last block (for the choice of k).
    last_entropy: f64,
    /// The most recent reconciled bits of this session's confirmed blocks (at
    /// most [`ENTROPY_POOL_BITS`]), for the pooled entropy assessment. Only
    /// blocks both sides confirmed join it, so Alice's and Bob's pools hold
    /// the same bits and their estimates of a block agree.
    entropy_pool: VecDeque<u8>,
    /// The bits of the block being amplified: they join the pool when its key
    /// is confirmed and are dropped when the block gives no key.
    pending_pool: Zeroizing<Vec<u8>>,
    /// Alice: correlation implied by the last sample, when that block was
    /// refused before reconciliation.
    sample_rho: Option<f64>,
    /// Bob: his soft model calibrated on the blocks reconciled so far, per
    /// quantizer bits per sample (LDPC takes his LLRs and hint from it).
    calibration: BTreeMap<u8, SoftCalibration>,
}

fn os_random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS CSPRNG is available");
    b
}

fn bit(bitmap: &[u8], i: usize) -> bool {
    bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

/// The bits of a key, one 0/1 byte per bit, zeroized on drop.
pub fn key_bits(key: &SecretKey) -> zeroize::Zeroizing<Vec<u8>> {
    zeroize::Zeroizing::new(unpack_bits(key.as_bytes(), key.bit_len()))
}

/// Unpacks MSB-first packed bits into one 0/1 byte per bit.
pub fn unpack_bits(packed: &[u8], n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (packed.get(i / 8).copied().unwrap_or(0) >> (7 - i % 8)) & 1)
        .collect()
}

fn kind_code(k: ReconcilerKind) -> u8 {
    match k {
        ReconcilerKind::Cascade => 1,
        ReconcilerKind::Ldpc => 2,
    }
}

/// Sample positions Bob reveals: `m` distinct indices of `0..n` from a public seed.
pub fn sample_positions(seed: u64, n: usize, m: usize) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let m = m.min(n);
    // Floyd's algorithm for m distinct values.
    let mut set = std::collections::BTreeSet::new();
    for j in (n - m)..n {
        let t = rng.random_range(0..=j);
        if !set.insert(t as u32) {
            set.insert(j as u32);
        }
    }
    set.into_iter().collect()
}

fn remove_positions<T: Copy>(bits: &[T], sorted_positions: &[u32]) -> Vec<T> {
    let mut out = Vec::with_capacity(bits.len());
    let mut p = sorted_positions.iter().peekable();
    for (i, &b) in bits.iter().enumerate() {
        if p.peek().is_some_and(|&&x| x as usize == i) {
            p.next();
        } else {
            out.push(b);
        }
    }
    out
}

/// Privacy amplification of `bits` to an `l`-bit key with the packed
/// Toeplitz seed `seed` (n + l − 1 bits); intermediate bits are zeroized.
fn hash_to_key(bits: &[u8], l: usize, seed: &[u8]) -> Result<SecretKey, SessionError> {
    let mut hasher = ToeplitzHasher::new(bits.len(), l)?;
    let seed = unpack_bits(seed, hasher.seed_bits());
    let mut hashed = Zeroizing::new(Vec::with_capacity(l));
    hasher.hash(&seed, bits, &mut hashed)?;
    Ok(SecretKey::from_bits(&hashed))
}

/// Bits needed to state a count up to `n` (leakage of a disclosed count).
fn count_bits(n: u64) -> u64 {
    64 - n.leading_zeros() as u64
}

impl Party {
    /// A party with the pre-shared device authentication key.
    pub fn new(role: Role, cfg: SessionConfig, auth_key: &[u8; 32]) -> Self {
        let sender = match role {
            Role::Alice => Sender::Alice,
            Role::Bob => Sender::Bob,
        };
        let mut p = Self {
            role,
            codec: FrameCodec::new(sender, auth_key),
            nonce: os_random(),
            peer_nonce: None,
            rows: BTreeMap::new(),
            cols: None,
            input_done: false,
            next_first_seq: None,
            next_block: 0,
            stage: Stage::Hello,
            out: VecDeque::new(),
            events: VecDeque::new(),
            history: None,
            keep_raw: false,
            last_entropy: 0.0,
            entropy_pool: VecDeque::new(),
            pending_pool: Zeroizing::new(Vec::new()),
            sample_rho: None,
            calibration: BTreeMap::new(),
            cfg,
        };
        let hello = Msg::Hello {
            version: PROTOCOL_VERSION,
            nonce: p.nonce,
            params_digest: p.cfg.digest(),
        };
        p.send(&hello);
        p
    }

    /// Keep each block's raw bits in its stats (for evaluation against an
    /// eavesdropper; never enable in production).
    pub fn keep_raw_bits(&mut self, keep: bool) {
        self.keep_raw = keep;
    }

    /// This party's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Bits of reconciled blocks that Bob's soft calibration holds (after
    /// its memory's scaling; 0 for Alice).
    pub fn calibrated_bits(&self) -> f64 {
        self.calibration
            .values()
            .map(SoftCalibration::observed_bits)
            .sum()
    }

    /// Bits Bob samples from a block of `n` bits quantized with `k` bits per
    /// sample: [`SessionConfig::sample_bits`], or, when the previous block
    /// was not reconciled at `k` (so q̂ cannot pool its exact count), a
    /// fraction [`SessionConfig::first_sample_fraction`] of `n` if that is
    /// more; at most `n / 4`.
    fn sample_size(&self, k: u8, n: usize) -> usize {
        let base = self.cfg.sample_bits as usize;
        let pooled = self.history.is_some_and(|h| h.4 == k);
        let m = if pooled {
            base
        } else {
            base.max((self.cfg.first_sample_fraction * n as f64).ceil() as usize)
        };
        m.min(n / 4)
    }

    /// Bob's calibration for a block quantized with `k` bits per sample: the
    /// one learned at `k` once it holds [`CALIBRATION_MIN_BITS`], else all
    /// of them pooled. The soft values are distances to the edges of the
    /// normalised features, so the disagreement rate at a distance depends
    /// on the feature noise far more than on `k`; a session whose choice of
    /// `k` changes need not start its soft model over.
    fn calibration_for(&self, k: u8) -> Option<SoftCalibration> {
        if let Some(c) = self
            .calibration
            .get(&k)
            .filter(|c| c.observed_bits() >= CALIBRATION_MIN_BITS)
        {
            return Some(c.clone());
        }
        let mut pooled = SoftCalibration::default();
        for c in self.calibration.values() {
            pooled.absorb(c);
        }
        (pooled.observed_bits() > 0.0).then_some(pooled)
    }

    /// True once the session has ended (aborted, or all input consumed).
    pub fn is_done(&self) -> bool {
        matches!(self.stage, Stage::Done)
    }

    /// One channel observation: features of probe exchange `seq` (rows must
    /// arrive in increasing `seq`; gaps are lost probes).
    pub fn push_row(&mut self, seq: u64, features: &[f32]) {
        if self.is_done() || features.is_empty() {
            return;
        }
        if *self.cols.get_or_insert(features.len()) != features.len() {
            return; // a row of another width cannot be paired; drop it
        }
        // Alice starts the first block at her first row; Bob follows her plans,
        // so his own first row (he may have missed earlier probes) decides nothing.
        if self.next_first_seq.is_none() && self.role == Role::Alice {
            self.next_first_seq = Some(seq);
        }
        if self.next_first_seq.is_some_and(|f| seq < f) {
            return; // belongs to a block already planned
        }
        self.rows.insert(seq, features.to_vec());
        self.progress();
    }

    /// No more rows will come; finish the last block and end.
    pub fn finish_input(&mut self) {
        self.input_done = true;
        self.progress();
    }

    /// Next frame to send to the peer.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Stops the session now (operator request or lost peer): the block in
    /// progress yields nothing.
    pub fn abort(&mut self, detail: &str) {
        if !self.is_done() {
            self.send(&Msg::Abort {
                reason: Reason::Shutdown,
            });
            self.fail(Reason::Shutdown, detail.to_string());
        }
    }

    /// True while this side cannot progress without a frame from the peer
    /// (drivers arm their deadline only then).
    pub fn waiting_for_peer(&self) -> bool {
        match &self.stage {
            Stage::Done => false,
            Stage::Idle => self.role == Role::Bob && self.input_done,
            Stage::PlanPending(_) => self.role == Role::Alice,
            _ => true,
        }
    }

    /// The driver saw no frame from the peer for longer than its deadline
    /// while this side waits for one (lost frame, dead peer): abort with no key.
    pub fn on_timeout(&mut self) {
        if !self.waiting_for_peer() {
            return;
        }
        self.send(&Msg::Abort {
            reason: Reason::Protocol,
        });
        self.fail(
            Reason::Protocol,
            "no answer from the peer before the deadline (frame lost or peer gone)".into(),
        );
    }

    /// Handles one frame from the peer.
    pub fn handle_frame(&mut self, frame: &[u8]) {
        if self.is_done() {
            return;
        }
        let res = self
            .codec
            .open(frame)
            .map_err(SessionError::from)
            .and_then(|body| Msg::decode(body).map_err(SessionError::from))
            .and_then(|msg| self.on_msg(msg));
        if let Err(e) = res {
            let reason = match &e {
                SessionError::Frame(_) | SessionError::Decode(_) | SessionError::Protocol(_) => {
                    Reason::Protocol
                }
                _ => Reason::ReconciliationFailed,
            };
            self.send(&Msg::Abort { reason });
            self.fail(reason, e.to_string());
            return;
        }
        self.progress();
    }

    fn fail(&mut self, reason: Reason, detail: String) {
        self.stage = Stage::Done;
        self.events.push_back(Event::Aborted { reason, detail });
    }

    fn send(&mut self, msg: &Msg) {
        let f = self.codec.seal(&msg.to_bytes());
        self.count_message();
        self.out.push_back(f);
    }

    fn count_message(&mut self) {
        if let Some(b) = self.block_mut() {
            b.stats.messages += 1;
        }
    }

    fn block_mut(&mut self) -> Option<&mut Block> {
        match &mut self.stage {
            Stage::AwaitDrops(b)
            | Stage::AwaitSample(b)
            | Stage::AwaitReconStart(b)
            | Stage::Reconciling(b, _)
            | Stage::AwaitReconDone(b, _)
            | Stage::AwaitAmplify(b, _)
            | Stage::AwaitConfirmBob(b, _, _)
            | Stage::AwaitConfirmAlice(b, _, _, _) => Some(b),
            _ => None,
        }
    }

    /// The configured preprocessing, with decorrelation limited to the
    /// feature width actually observed (RSSI traces have one column).
    fn preprocess_config(&self) -> PreprocessConfig {
        clamp_preprocess(&self.cfg.preprocess, self.cols.unwrap_or(1))
    }

    fn last_seq(&self) -> Option<u64> {
        self.rows.keys().next_back().copied()
    }

    /// Drives local progress that needs no peer input.
    fn progress(&mut self) {
        loop {
            let stage = std::mem::replace(&mut self.stage, Stage::Done);
            let (next, again) = match stage {
                Stage::Idle if self.role == Role::Alice => self.maybe_plan(),
                Stage::PlanPending(plan) => self.maybe_ack(plan),
                other => (other, false),
            };
            if matches!(self.stage, Stage::Done) {
                // not overwritten by a failure inside the handlers
                self.stage = next;
            }
            if !again {
                break;
            }
        }
    }

    fn maybe_plan(&mut self) -> (Stage, bool) {
        let Some(first) = self.next_first_seq else {
            return if self.input_done {
                (Stage::Done, false)
            } else {
                (Stage::Idle, false)
            };
        };
        let full = self.cfg.block_exchanges as u64;
        let last = self.last_seq();
        let len = match last {
            Some(l) if l + 1 >= first + full => full,
            Some(l) if self.input_done && l + 1 - first >= self.cfg.min_block_exchanges as u64 => {
                l + 1 - first
            }
            _ if self.input_done => {
                self.send(&Msg::Abort {
                    reason: Reason::Shutdown,
                });
                return (Stage::Done, false);
            }
            _ => return (Stage::Idle, false),
        } as u32;
        let mut present = vec![0u8; (len as usize).div_ceil(8)];
        for (&s, _) in self.rows.range(first..first + len as u64) {
            let i = (s - first) as usize;
            present[i / 8] |= 1 << (i % 8);
        }
        let fb = self.feature_block(first, len, &present, &present);
        let stride = extract::stride_for(&fb, &self.preprocess_config())
            .unwrap_or(1)
            .clamp(1, u16::MAX as usize) as u16;
        let bits_per_sample = self.choose_bits_per_sample();
        let plan = Plan {
            block: self.next_block,
            first_seq: first,
            len,
            stride,
            bits_per_sample,
            alice_present: present.clone(),
        };
        self.send(&Msg::BlockPlan {
            block: plan.block,
            first_seq: first,
            present,
            len,
            stride,
            bits_per_sample,
        });
        // Alice waits for BlockAck in PlanPending-like state: reuse PlanPending
        // (Alice never acks; she leaves it when BlockAck arrives).
        (Stage::PlanPending(plan), false)
    }

    fn choose_bits_per_sample(&mut self) -> u8 {
        if let Some(k) = self.cfg.bits_per_sample {
            return k;
        }
        if let Some(rho) = self.sample_rho.take() {
            // The last block was refused before reconciliation: use the
            // correlation implied by its sampled disagreement.
            let h = if self.last_entropy > 0.0 {
                self.last_entropy
            } else {
                0.7
            };
            return best_bits_per_sample(rho, h, 1.1);
        }
        match self.history {
            // Sheppard: for jointly Gaussian samples, P(sign differs) = arccos(ρ)/π,
            // and the first Gray bit of an equiprobable quantizer is the sign.
            Some((_, _, e_msb, n_msb, k)) if n_msb > 0 => {
                let q = (e_msb as f64 / n_msb as f64).min(0.5);
                let h = if self.last_entropy > 0.0 {
                    self.last_entropy
                } else {
                    0.7
                };
                sticky_bits_per_sample((std::f64::consts::PI * q).cos(), h, 1.1, Some(k))
            }
            _ => 2,
        }
    }

    fn maybe_ack(&mut self, plan: Plan) -> (Stage, bool) {
        if self.role == Role::Alice {
            return (Stage::PlanPending(plan), false);
        }
        let end = plan.first_seq + plan.len as u64;
        let have_all = self.last_seq().is_some_and(|l| l + 1 >= end) || self.input_done;
        if !have_all {
            return (Stage::PlanPending(plan), false);
        }
        let mut present = vec![0u8; (plan.len as usize).div_ceil(8)];
        for (&s, _) in self.rows.range(plan.first_seq..end) {
            let i = (s - plan.first_seq) as usize;
            present[i / 8] |= 1 << (i % 8);
        }
        self.send(&Msg::BlockAck {
            block: plan.block,
            present: present.clone(),
        });
        let alice = plan.alice_present.clone();
        match self.start_block(plan, &alice, &present) {
            Ok(s) => (s, false),
            Err(e) => {
                self.send(&Msg::Abort {
                    reason: Reason::Protocol,
                });
                self.fail(Reason::Protocol, e.to_string());
                (Stage::Done, false)
            }
        }
    }

    /// Rows present in both bitmaps, in seq order, as a feature block.
    fn feature_block(&self, first: u64, len: u32, a: &[u8], b: &[u8]) -> FeatureBlock {
        let cols = self.cols.unwrap_or(1);
        let mut data = Vec::new();
        let mut rows = 0;
        for i in 0..len as usize {
            if bit(a, i) && bit(b, i) {
                if let Some(r) = self.rows.get(&(first + i as u64)) {
                    data.extend(r.iter().map(|&x| x as f64));
                    rows += 1;
                }
            }
        }
        FeatureBlock { rows, cols, data }
    }

    fn start_block(&mut self, plan: Plan, a: &[u8], b: &[u8]) -> Result<Stage, SessionError> {
        let fb = self.feature_block(plan.first_seq, plan.len, a, b);
        let end = plan.first_seq + plan.len as u64;
        // Rows of this block are consumed whatever happens next.
        self.rows = self.rows.split_off(&end);
        self.next_first_seq = Some(end);
        self.next_block = plan.block + 1;
        let stats = BlockStats {
            block: plan.block,
            pairs: fb.rows as u32,
            bits_per_sample: plan.bits_per_sample,
            messages: 2,
            ..Default::default()
        };
        let quantizer = extract::new_column_quantizer(
            self.cfg.quantizer,
            plan.bits_per_sample,
            self.cfg.guard_fraction,
            self.preprocess_config().output_columns(fb.cols),
        );
        let samples = if fb.rows >= 2 {
            extract::preprocess(&fb, &self.preprocess_config(), plan.stride as usize)?
        } else {
            Vec::new()
        };
        let my_drops = quantizer.drop_list(&samples);
        let block_no = plan.block;
        let mut block = Block {
            plan,
            samples,
            my_drops: my_drops.clone(),
            peer_drops: None,
            bits: Vec::new(),
            msb: Vec::new(),
            soft: Vec::new(),
            quantizer,
            stats,
        };
        self.send_counted(
            &mut block,
            &Msg::Drops {
                block: block_no,
                indices: my_drops,
            },
        );
        Ok(Stage::AwaitDrops(block))
    }

    fn on_msg(&mut self, msg: Msg) -> Result<(), SessionError> {
        self.count_message();
        let stage = std::mem::replace(&mut self.stage, Stage::Done);
        let next = match (stage, msg) {
            // A shutdown between blocks is the normal end of a run.
            (
                Stage::Idle,
                Msg::Abort {
                    reason: Reason::Shutdown,
                },
            ) => Stage::Done,
            (_, Msg::Abort { reason }) => {
                self.events.push_back(Event::Aborted {
                    reason,
                    detail: format!("peer aborted the session: {reason:?}"),
                });
                Stage::Done
            }
            (
                Stage::Hello,
                Msg::Hello {
                    version,
                    nonce,
                    params_digest,
                },
            ) => {
                if version != PROTOCOL_VERSION {
                    return Err(protocol(format!("peer speaks version {version}")));
                }
                if !crate::ct_eq(&params_digest, &self.cfg.digest()) {
                    return Err(protocol("peer runs different key-generation parameters"));
                }
                self.peer_nonce = Some(nonce);
                let (na, nb) = match self.role {
                    Role::Alice => (self.nonce, nonce),
                    Role::Bob => (nonce, self.nonce),
                };
                self.codec.set_session_nonces(&na, &nb);
                Stage::Idle
            }
            (
                Stage::Idle,
                Msg::BlockPlan {
                    block,
                    first_seq,
                    present,
                    len,
                    stride,
                    bits_per_sample,
                },
            ) if self.role == Role::Bob => {
                if block != self.next_block {
                    return Err(protocol(format!(
                        "block {block} planned, expected {}",
                        self.next_block
                    )));
                }
                if self.next_first_seq.is_some_and(|f| first_seq < f) {
                    return Err(protocol("block overlaps exchanges already used"));
                }
                if len > 1 << 20 {
                    return Err(protocol("block too long"));
                }
                // Rows before the block can never be used.
                self.rows = self.rows.split_off(&first_seq);
                self.next_first_seq = Some(first_seq);
                Stage::PlanPending(Plan {
                    block,
                    first_seq,
                    len,
                    stride,
                    bits_per_sample,
                    alice_present: present,
                })
            }
            (Stage::PlanPending(plan), Msg::BlockAck { block, present })
                if self.role == Role::Alice =>
            {
                if block != plan.block || present.len() != plan.alice_present.len() {
                    return Err(protocol("BlockAck does not match the plan"));
                }
                let alice = plan.alice_present.clone();
                self.start_block(plan, &alice, &present)?
            }
            (Stage::AwaitDrops(mut b), Msg::Drops { block, indices }) => {
                if block != b.plan.block {
                    return Err(protocol("Drops for another block"));
                }
                if indices
                    .last()
                    .is_some_and(|&i| i as usize >= b.samples.len())
                {
                    return Err(protocol("drop index out of range"));
                }
                b.peer_drops = Some(indices);
                self.quantize_block(b)?
            }
            (Stage::AwaitSample(b), Msg::Recon { .. }) => {
                return Err(protocol(format!(
                    "unexpected Recon in block {}",
                    b.plan.block
                )))
            }
            (Stage::AwaitSample(b), Msg::NoKey { block, reason }) if block == b.plan.block => {
                self.no_key(b, reason, "peer refused the block".into());
                Stage::Idle
            }
            (Stage::AwaitSample(b), Msg::ReconStart { .. }) => {
                return Err(protocol(format!(
                    "ReconStart before sample in block {}",
                    b.plan.block
                )))
            }
            (Stage::AwaitReconStart(b), Msg::NoKey { block, reason })
            | (Stage::AwaitReconDone(b, _), Msg::NoKey { block, reason })
            | (Stage::AwaitAmplify(b, _), Msg::NoKey { block, reason })
            | (Stage::AwaitConfirmBob(b, _, _), Msg::NoKey { block, reason })
            | (Stage::AwaitConfirmAlice(b, _, _, _), Msg::NoKey { block, reason })
            | (Stage::Reconciling(b, _), Msg::NoKey { block, reason })
                if block == b.plan.block =>
            {
                let detail = format!("peer refused block {block}: {reason:?}");
                self.no_key(b, reason, detail);
                Stage::Idle
            }
            (other, Msg::Recon { block, payload }) => self.on_recon(other, block, payload)?,
            (
                Stage::AwaitReconStart(b),
                Msg::ReconStart {
                    block,
                    kind,
                    qber_ppm,
                    shuffle_seed,
                    n_bits,
                },
            ) => {
                if block != b.plan.block || kind != kind_code(self.cfg.reconciler) {
                    return Err(protocol("ReconStart does not match the block"));
                }
                let mut b = b;
                if n_bits as usize != b.bits.len() {
                    return Err(protocol(format!(
                        "Alice reconciles {n_bits} bits, Bob holds {}",
                        b.bits.len()
                    )));
                }
                b.stats.reconciled_bits = n_bits as u64;
                // Bob always passes his quantizer's soft values, so an LDPC Bob opens
                // with a soft-entropy Hint (Cascade ignores the flag).
                let params = ReconcileParams {
                    qber: qber_ppm as f64 / 1e6,
                    shuffle_seed,
                    soft_plan: true,
                };
                let calibration = self.calibration_for(b.plan.bits_per_sample);
                let r = reconcile::new_reconciler_calibrated(
                    self.cfg.reconciler,
                    Role::Bob,
                    b.bits.clone(),
                    Some(b.soft.clone()),
                    calibration.as_ref(),
                    &params,
                );
                self.after_recon_step(b, r)?
            }
            (Stage::AwaitSample(b), m @ Msg::Confirm { .. }) => {
                return Err(protocol(format!(
                    "{} in block {} before sample",
                    m.name(),
                    b.plan.block
                )))
            }
            (
                Stage::AwaitReconDone(mut b, alice_bits),
                Msg::ReconDone {
                    block,
                    errors,
                    errors_msb,
                    msb_bits,
                },
            ) if block == b.plan.block => {
                b.stats.errors = errors as u64;
                b.stats.leaked_bits += 2 * count_bits(b.stats.reconciled_bits);
                self.history = Some((
                    errors as u64,
                    b.stats.reconciled_bits,
                    errors_msb as u64,
                    msb_bits as u64,
                    b.plan.bits_per_sample,
                ));
                self.amplify_alice(b, alice_bits)?
            }
            (
                Stage::AwaitAmplify(b, bob_bits),
                Msg::Amplify {
                    block,
                    out_bits,
                    seed,
                    nonce,
                },
            ) if block == b.plan.block => self.amplify_bob(b, bob_bits, out_bits, &seed, nonce)?,
            (Stage::AwaitConfirmBob(b, key, nonce_a), Msg::Confirm { block, nonce, tag })
                if block == b.plan.block =>
            {
                let expect =
                    amplify::confirmation_tag(&key_bits(&key), ConfirmRole::Bob, &nonce_a, &nonce);
                if amplify::verify_tag(&expect, &tag) {
                    let mine = amplify::confirmation_tag(
                        &key_bits(&key),
                        ConfirmRole::Alice,
                        &nonce_a,
                        &nonce,
                    );
                    let mut b = b;
                    self.send_counted(
                        &mut b,
                        &Msg::Confirm {
                            block,
                            nonce: [0; 16],
                            tag: mine,
                        },
                    );
                    self.release(b, key);
                } else {
                    let mut b = b;
                    self.send_counted(
                        &mut b,
                        &Msg::NoKey {
                            block,
                            reason: Reason::ConfirmationFailed,
                        },
                    );
                    self.no_key(
                        b,
                        Reason::ConfirmationFailed,
                        "Bob's confirmation tag does not match: keys differ".into(),
                    );
                }
                Stage::Idle
            }
            (
                Stage::AwaitConfirmAlice(b, key, nonce_a, nonce_b),
                Msg::Confirm { block, tag, .. },
            ) if block == b.plan.block => {
                let expect = amplify::confirmation_tag(
                    &key_bits(&key),
                    ConfirmRole::Alice,
                    &nonce_a,
                    &nonce_b,
                );
                if amplify::verify_tag(&expect, &tag) {
                    self.release(b, key);
                } else {
                    self.no_key(
                        b,
                        Reason::ConfirmationFailed,
                        "Alice's confirmation tag does not match: keys differ".into(),
                    );
                }
                Stage::Idle
            }
            (Stage::AwaitSample(b), m) if self.role == Role::Alice => self.on_sample(b, m)?,
            (_, m) => {
                return Err(protocol(format!("unexpected {} message", m.name())));
            }
        };
        if matches!(self.stage, Stage::Done) {
            self.stage = next;
        }
        Ok(())
    }

    fn send_counted(&mut self, b: &mut Block, msg: &Msg) {
        let f = self.codec.seal(&msg.to_bytes());
        b.stats.messages += 1;
        self.out.push_back(f);
    }

    fn quantize_block(&mut self, mut b: Block) -> Result<Stage, SessionError> {
        let mut dropped: Vec<u32> = b.my_drops.clone();
        dropped.extend(b.peer_drops.iter().flatten().copied());
        dropped.sort_unstable();
        dropped.dedup();
        let q = b.quantizer.quantize(&b.samples, &dropped);
        b.bits = q.bits;
        b.soft = q.soft;
        let k = q.bits_per_sample.max(1) as usize;
        b.msb = (0..b.bits.len()).map(|i| (i % k == 0) as u8).collect();
        b.stats.raw_bits = b.bits.len() as u64;
        if self.keep_raw {
            b.stats.raw = Some(b.bits.clone());
        }
        let m = self.cfg.sample_bits as usize;
        if b.bits.len() < 4 * m.max(64) {
            let detail = format!(
                "block {}: only {} usable bits from {} exchanges (need ≥ {})",
                b.plan.block,
                b.bits.len(),
                b.stats.pairs,
                4 * m.max(64)
            );
            if self.role == Role::Alice {
                return Ok(self.refuse(b, Reason::TooFewSamples, detail));
            }
            // Bob waits for Alice's NoKey.
            b.stats.final_bits = 0;
            return Ok(Stage::AwaitReconStart(b));
        }
        match self.role {
            Role::Alice => Ok(Stage::AwaitSample(b)),
            Role::Bob => {
                let seed = u64::from_be_bytes(os_random());
                let count = self.sample_size(b.plan.bits_per_sample, b.bits.len());
                let pos = sample_positions(seed, b.bits.len(), count);
                let revealed: Vec<u8> = pos.iter().map(|&i| b.bits[i as usize]).collect();
                let packed = amplify::pack_bits(&revealed);
                let block = b.plan.block;
                self.send_counted(
                    &mut b,
                    &Msg::Sample {
                        block,
                        seed,
                        count: count as u32,
                        bits: packed,
                    },
                );
                // Revealed bits are discarded by both sides, so they are not
                // counted as leakage of the bits that remain.
                b.bits = remove_positions(&b.bits, &pos);
                b.msb = remove_positions(&b.msb, &pos);
                b.soft = remove_positions(&b.soft, &pos);
                Ok(Stage::AwaitReconStart(b))
            }
        }
    }

    fn on_sample(&mut self, mut b: Block, m: Msg) -> Result<Stage, SessionError> {
        let Msg::Sample {
            block,
            seed,
            count,
            bits: packed,
        } = m
        else {
            return Err(protocol(format!("expected Bob's sample, got {}", m.name())));
        };
        if block != b.plan.block {
            return Err(protocol("sample for another block"));
        }
        let n = b.bits.len();
        let count = count as usize;
        // Bob's rule (`sample_size`): at least `sample_bits`, at most a quarter.
        if count < (self.cfg.sample_bits as usize).min(n / 4) || count > n / 4 {
            return Err(protocol(format!(
                "sample of {count} bits out of {n} (at least {}, at most a quarter)",
                self.cfg.sample_bits
            )));
        }
        let pos = sample_positions(seed, n, count);
        let bob = unpack_bits(&packed, pos.len());
        if packed.len() != pos.len().div_ceil(8) {
            return Err(protocol("sample has the wrong length"));
        }
        let sample_errors = pos
            .iter()
            .zip(&bob)
            .filter(|(&i, &x)| b.bits[i as usize] != x)
            .count() as u64;
        b.bits = remove_positions(&b.bits, &pos);
        b.msb = remove_positions(&b.msb, &pos);
        b.soft = remove_positions(&b.soft, &pos);
        // Pool the sample with the previous block's exact count at the same k.
        let (mut e, mut t) = (sample_errors, pos.len() as u64);
        if let Some((pe, pn, _, _, pk)) = self.history {
            if pk == b.plan.bits_per_sample {
                e += pe;
                t += pn;
            }
        }
        let q_hat = ((e as f64 + 0.5) / (t as f64 + 1.0)).min(0.5);
        let q_sample = sample_errors as f64 / pos.len().max(1) as f64;
        let block = b.plan.block;
        self.sample_rho = Some(rho_for_disagreement(b.plan.bits_per_sample, q_sample));
        if q_sample > self.cfg.max_qber {
            let detail = format!(
                "block {block}: Alice and Bob disagree on {:.1}% of sampled bits (limit {:.1}%): the channel gives too little agreement (static or too noisy)",
                100.0 * q_sample,
                100.0 * self.cfg.max_qber
            );
            return Ok(self.refuse(b, Reason::TooMuchDisagreement, detail));
        }
        let shuffle_seed = u64::from_be_bytes(os_random());
        let n_bits = b.bits.len() as u32;
        b.stats.reconciled_bits = n_bits as u64;
        // Both sides (and any listener) plan with the value on the wire.
        let qber_ppm = (q_hat * 1e6) as u32;
        self.send_counted(
            &mut b,
            &Msg::ReconStart {
                block,
                kind: kind_code(self.cfg.reconciler),
                qber_ppm,
                shuffle_seed,
                n_bits,
            },
        );
        // Bob reconciles with his soft values: an LDPC Bob opens with a Hint.
        let params = ReconcileParams {
            qber: f64::from(qber_ppm) / 1e6,
            shuffle_seed,
            soft_plan: true,
        };
        let r =
            reconcile::new_reconciler(self.cfg.reconciler, Role::Alice, b.bits.clone(), &params);
        self.after_recon_step(b, r)
    }

    fn on_recon(
        &mut self,
        stage: Stage,
        block: u32,
        payload: Vec<u8>,
    ) -> Result<Stage, SessionError> {
        match stage {
            Stage::Reconciling(b, mut r) if block == b.plan.block => {
                r.handle_message(&payload)?;
                self.after_recon_step(b, r)
            }
            _ => Err(protocol("Recon outside reconciliation")),
        }
    }

    fn after_recon_step(
        &mut self,
        mut b: Block,
        mut r: Box<dyn Reconciler>,
    ) -> Result<Stage, SessionError> {
        while let Some(p) = r.poll_message() {
            let block = b.plan.block;
            self.send_counted(&mut b, &Msg::Recon { block, payload: p });
        }
        if !r.is_done() {
            return Ok(Stage::Reconciling(b, r));
        }
        let out = match r.finish() {
            Ok(out) => out,
            // Both reconcilers see a failure (LDPC: Bob's `Done{ok: false}`), so each side
            // discards the block on its own and the session goes on with the next one.
            Err(reconcile::ReconcileError::Failed { leaked_bits }) => {
                b.stats.leaked_bits += leaked_bits;
                let detail = format!(
                    "block {}: reconciliation failed after disclosing {leaked_bits} bits; block discarded",
                    b.plan.block
                );
                self.no_key(b, Reason::ReconciliationFailed, detail);
                return Ok(Stage::Idle);
            }
            Err(e) => return Err(e.into()),
        };
        b.stats.leaked_bits += out.leaked_bits;
        match self.role {
            Role::Alice => Ok(Stage::AwaitReconDone(b, Zeroizing::new(out.bits))),
            Role::Bob => {
                // LDPC confirmed Alice's bits with its hash: calibrate the soft model on
                // them (only LDPC uses it; Cascade's Bob has no such check).
                if self.cfg.reconciler == ReconcilerKind::Ldpc {
                    self.calibration
                        .entry(b.plan.bits_per_sample)
                        .or_default()
                        .observe(&b.soft, &b.bits, &out.bits);
                }
                let errors = b.bits.iter().zip(&out.bits).filter(|(x, y)| x != y).count();
                // Sign-bit disagreement, for Alice's choice of bits per sample.
                let (mut e_msb, mut n_msb) = (0u32, 0u32);
                for ((x, y), &m) in b.bits.iter().zip(&out.bits).zip(&b.msb) {
                    n_msb += m as u32;
                    e_msb += (m == 1 && x != y) as u32;
                }
                b.stats.errors = errors as u64;
                b.stats.leaked_bits += 2 * count_bits(b.stats.reconciled_bits);
                self.history = Some((
                    errors as u64,
                    b.stats.reconciled_bits,
                    e_msb as u64,
                    n_msb as u64,
                    b.plan.bits_per_sample,
                ));
                let block = b.plan.block;
                self.send_counted(
                    &mut b,
                    &Msg::ReconDone {
                        block,
                        errors: errors as u32,
                        errors_msb: e_msb,
                        msb_bits: n_msb,
                    },
                );
                Ok(Stage::AwaitAmplify(b, Zeroizing::new(out.bits)))
            }
        }
    }

    /// Min-entropy per bit for a block: the minimum of the per-block SP 800-90B
    /// estimates (MCV, collision, Markov, t-tuple) and, once the session has
    /// pooled [`extract::POOLED_COMPRESSION_MIN_BITS`] reconciled bits, of every
    /// estimate (compression included) over the pool, this block included.
    fn assess_entropy(&mut self, bits: &[u8]) -> Result<f64, extract::ExtractError> {
        let mut h = extract::estimate_min_entropy(bits)?.min_without_compression();
        let keep = ENTROPY_POOL_BITS.saturating_sub(bits.len());
        let skip = self.entropy_pool.len().saturating_sub(keep);
        if self.entropy_pool.len() - skip + bits.len() >= extract::POOLED_COMPRESSION_MIN_BITS {
            let mut pooled = Zeroizing::new(Vec::with_capacity(ENTROPY_POOL_BITS));
            pooled.extend(self.entropy_pool.iter().skip(skip));
            pooled.extend_from_slice(bits);
            h = h.min(extract::estimate_min_entropy(&pooled)?.min);
        }
        self.pending_pool.zeroize();
        self.pending_pool.extend_from_slice(bits);
        Ok(h)
    }

    /// A confirmed block's bits join the entropy pool (oldest bits leave it).
    fn commit_pool(&mut self) {
        self.entropy_pool.extend(self.pending_pool.iter());
        self.pending_pool.zeroize(); // also empties it
        let excess = self.entropy_pool.len().saturating_sub(ENTROPY_POOL_BITS);
        for mut old in self.entropy_pool.drain(..excess) {
            old.zeroize();
        }
    }

    fn length_for(&mut self, b: &Block, bits: &[u8]) -> Result<(usize, f64), (Reason, String)> {
        let h = self
            .assess_entropy(bits)
            .map_err(|e| (Reason::TooFewSamples, format!("entropy estimate: {e}")))?;
        self.last_entropy = h;
        let inp = LengthInputs {
            n: bits.len(),
            min_entropy_per_bit: h,
            leaked_bits: b.stats.leaked_bits,
            confirm_bits: amplify::CONFIRM_KEY_BITS,
            security_log2: self.cfg.security_log2,
        };
        amplify::final_key_length(&inp)
            .map(|l| (l, h))
            .map_err(|e| {
                (
                    Reason::InsufficientEntropy,
                    format!(
                        "block {}: {} bits × {:.3} bit/bit min-entropy do not pay for {} leaked bits + {} confirmation + {} security bits ({e})",
                        b.plan.block,
                        bits.len(),
                        h,
                        b.stats.leaked_bits,
                        amplify::CONFIRM_KEY_BITS,
                        2 * self.cfg.security_log2
                    ),
                )
            })
    }

    fn amplify_alice(
        &mut self,
        mut b: Block,
        bits: Zeroizing<Vec<u8>>,
    ) -> Result<Stage, SessionError> {
        let block = b.plan.block;
        let (l, h) = match self.length_for(&b, &bits) {
            Ok(x) => x,
            Err((reason, detail)) => return Ok(self.refuse(b, reason, detail)),
        };
        b.stats.min_entropy_per_bit = h;
        let mut seed_bytes = vec![0u8; (bits.len() + l - 1).div_ceil(8)];
        getrandom::fill(&mut seed_bytes).expect("the OS CSPRNG is available");
        let key = hash_to_key(&bits, l, &seed_bytes)?;
        let nonce: [u8; 16] = os_random();
        self.send_counted(
            &mut b,
            &Msg::Amplify {
                block,
                out_bits: l as u32,
                seed: seed_bytes,
                nonce,
            },
        );
        Ok(Stage::AwaitConfirmBob(b, key, nonce))
    }

    fn amplify_bob(
        &mut self,
        mut b: Block,
        bits: Zeroizing<Vec<u8>>,
        out_bits: u32,
        seed: &[u8],
        nonce_a: [u8; 16],
    ) -> Result<Stage, SessionError> {
        let block = b.plan.block;
        let l = out_bits as usize;
        // Bob checks Alice's length against his own estimate of the same bits.
        let (max_l, h) = match self.length_for(&b, &bits) {
            Ok(x) => x,
            Err((reason, detail)) => return Ok(self.refuse(b, reason, detail)),
        };
        b.stats.min_entropy_per_bit = h;
        if l == 0 {
            return Err(protocol("Alice asks for an empty key"));
        }
        // Equal bits and equal pools give Bob Alice's own estimate, so a longer
        // request means their bits differ (errors Cascade left, which the
        // confirmation would catch) or Alice overreaches: no key from this block.
        if l > max_l + max_l / 50 + 8 {
            let detail = format!(
                "block {block}: Alice asks for a {l}-bit key; Bob's bound on his bits is {max_l} (their bits differ)"
            );
            return Ok(self.refuse(b, Reason::InsufficientEntropy, detail));
        }
        if seed.len() != (bits.len() + l - 1).div_ceil(8) {
            return Err(protocol("Toeplitz seed has the wrong length"));
        }
        let key = hash_to_key(&bits, l, seed)?;
        let nonce_b: [u8; 16] = os_random();
        let tag = amplify::confirmation_tag(&key_bits(&key), ConfirmRole::Bob, &nonce_a, &nonce_b);
        self.send_counted(
            &mut b,
            &Msg::Confirm {
                block,
                nonce: nonce_b,
                tag,
            },
        );
        Ok(Stage::AwaitConfirmAlice(b, key, nonce_a, nonce_b))
    }

    fn release(&mut self, mut b: Block, key: SecretKey) {
        self.commit_pool();
        b.stats.final_bits = key.bit_len() as u64;
        self.events.push_back(Event::Key {
            key,
            stats: std::mem::take(&mut b.stats),
        });
    }

    /// Tells the peer this block gives no key, records why, and goes idle.
    fn refuse(&mut self, mut b: Block, reason: Reason, detail: String) -> Stage {
        let block = b.plan.block;
        self.send_counted(&mut b, &Msg::NoKey { block, reason });
        self.no_key(b, reason, detail);
        Stage::Idle
    }

    fn no_key(&mut self, mut b: Block, reason: Reason, detail: String) {
        self.pending_pool.zeroize();
        let mut stats = std::mem::take(&mut b.stats);
        stats.final_bits = 0;
        self.events.push_back(Event::NoKey {
            reason,
            detail,
            stats,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(k: u8, rho: f64) -> f64 {
        let p = extract::gray_disagreement(k, rho);
        k as f64 * (0.8 - 1.1 * reconcile::binary_entropy(p))
    }

    #[test]
    fn bits_per_sample_change_only_for_a_clear_gain() {
        let (mut kept, mut switched) = (0, 0);
        for i in 0..400 {
            let rho = 0.5 + 0.4995 * f64::from(i) / 400.0;
            let best = best_bits_per_sample(rho, 0.8, 1.1);
            for cur in (1..=4u8).filter(|&k| k != best) {
                let got = sticky_bits_per_sample(rho, 0.8, 1.1, Some(cur));
                if rate(best, rho) <= (1.0 + K_SWITCH_MARGIN) * rate(cur, rho) {
                    assert_eq!(got, cur, "ρ = {rho}: stay at {cur}");
                    kept += 1;
                } else {
                    assert_eq!(got, best, "ρ = {rho}: move to {best}");
                    switched += 1;
                }
            }
            assert_eq!(sticky_bits_per_sample(rho, 0.8, 1.1, Some(best)), best);
            assert_eq!(sticky_bits_per_sample(rho, 0.8, 1.1, None), best);
        }
        // Both branches are exercised on the grid.
        assert!(kept > 0 && switched > 0, "kept {kept}, switched {switched}");
    }

    fn calibration_of(n: usize, seed: u64) -> SoftCalibration {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let soft: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
        let bob: Vec<u8> = (0..n).map(|_| rng.random::<bool>() as u8).collect();
        let alice: Vec<u8> = bob
            .iter()
            .zip(&soft)
            .map(|(&b, &d)| b ^ u8::from(rng.random::<f32>() < 0.3 * (1.0 - d.abs())))
            .collect();
        let mut c = SoftCalibration::default();
        assert!(c.observe(&soft, &bob, &alice));
        c
    }

    #[test]
    fn bob_uses_the_calibration_of_every_resolution_until_his_own_has_enough() {
        let mut bob = Party::new(Role::Bob, SessionConfig::default(), &[1; 32]);
        assert!(bob.calibration_for(2).is_none());
        bob.calibration.insert(2, calibration_of(3000, 1));
        bob.calibration.insert(3, calibration_of(500, 2));
        // k = 3 holds too few bits of its own: all resolutions pooled.
        let pooled = bob.calibration_for(3).expect("pooled");
        assert_eq!(pooled.observed_bits(), 3500.0);
        // k = 4 has none: pooled as well.
        assert_eq!(
            bob.calibration_for(4).map(|c| c.observed_bits()),
            Some(3500.0)
        );
        // k = 2 has enough: its own.
        assert_eq!(
            bob.calibration_for(2).map(|c| c.observed_bits()),
            Some(3000.0)
        );
    }

    /// Delivers frames both ways until both sides are quiet; `tamper` sees
    /// Bob after every frame he handles.
    fn exchange(
        alice: &mut Party,
        bob: &mut Party,
        events: &mut [Vec<Event>; 2],
        tamper: &mut impl FnMut(&mut Party),
    ) {
        loop {
            let mut moved = false;
            while let Some(f) = alice.poll_transmit() {
                bob.handle_frame(&f);
                tamper(bob);
                moved = true;
            }
            while let Some(f) = bob.poll_transmit() {
                alice.handle_frame(&f);
                moved = true;
            }
            events[0].extend(std::iter::from_fn(|| alice.poll_event()));
            events[1].extend(std::iter::from_fn(|| bob.poll_event()));
            if !moved {
                return;
            }
        }
    }

    /// Bits that differ after reconciliation (errors Cascade left) give Bob
    /// another entropy estimate than Alice's: he refuses that block, and the
    /// session goes on to key the next ones (it used to abort).
    #[test]
    fn bob_refuses_a_block_whose_bits_differ_from_alices_and_the_session_goes_on() {
        use rand_distr::{Distribution, Normal, StandardNormal};
        let cfg = SessionConfig::default();
        let mut alice = Party::new(Role::Alice, cfg.clone(), &[3; 32]);
        let mut bob = Party::new(Role::Bob, cfg.clone(), &[3; 32]);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let noise = Normal::new(0.0f32, 0.1).unwrap();
        let mut events = [Vec::new(), Vec::new()];
        let mut tampered = None;
        // Bob's reconciled bits lose some balance: every third becomes 0.
        let mut tamper = |bob: &mut Party| {
            if let (None, Stage::AwaitAmplify(b, bits)) = (tampered, &mut bob.stage) {
                bits.iter_mut().step_by(3).for_each(|x| *x = 0);
                tampered = Some(b.plan.block);
            }
        };
        for k in 0..1000u64 {
            let g: Vec<f32> = (0..16).map(|_| StandardNormal.sample(&mut rng)).collect();
            let ra: Vec<f32> = g.iter().map(|x| x + noise.sample(&mut rng)).collect();
            let rb: Vec<f32> = g.iter().map(|x| x + noise.sample(&mut rng)).collect();
            alice.push_row(k, &ra);
            bob.push_row(k, &rb);
            exchange(&mut alice, &mut bob, &mut events, &mut tamper);
        }
        alice.finish_input();
        bob.finish_input();
        exchange(&mut alice, &mut bob, &mut events, &mut tamper);
        let hit = tampered.expect("Bob reached amplification");
        let [ea, eb] = &events;
        for e in ea.iter().chain(eb) {
            assert!(!matches!(e, Event::Aborted { .. }), "{e:?}");
        }
        let refused = |ev: &[Event]| {
            ev.iter().find_map(|e| match e {
                Event::NoKey { stats, detail, .. } if stats.block == hit => Some(detail.clone()),
                _ => None,
            })
        };
        let d = refused(eb).expect("Bob gives no key for the tampered block");
        assert!(d.contains("Alice asks"), "{d}");
        refused(ea).expect("Alice gives no key for it either");
        let keys = |ev: &[Event]| -> Vec<(u32, Vec<u8>)> {
            ev.iter()
                .filter_map(|e| match e {
                    Event::Key { key, stats } => Some((stats.block, key.as_bytes().to_vec())),
                    _ => None,
                })
                .collect()
        };
        let (ka, kb) = (keys(ea), keys(eb));
        assert_eq!(ka, kb);
        assert!(
            ka.iter().any(|(blk, _)| *blk > hit),
            "later blocks key: {ka:?}"
        );
    }

    /// The pool only takes the bits of confirmed blocks: an assessment alone
    /// (a block that then gives no key on one side) leaves it as it was, so
    /// the two sides' pools never drift apart.
    #[test]
    fn only_confirmed_blocks_join_the_entropy_pool() {
        let mut p = Party::new(Role::Alice, SessionConfig::default(), &[1; 32]);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let bits: Vec<u8> = (0..4000).map(|_| rng.random::<bool>() as u8).collect();
        p.assess_entropy(&bits).unwrap();
        assert!(p.entropy_pool.is_empty());
        p.commit_pool();
        assert_eq!(p.entropy_pool.len(), 4000);
        assert!(p.pending_pool.is_empty());
        // The pool keeps the newest ENTROPY_POOL_BITS.
        for _ in 0..ENTROPY_POOL_BITS / 4000 + 1 {
            p.assess_entropy(&bits).unwrap();
            p.commit_pool();
        }
        assert_eq!(p.entropy_pool.len(), ENTROPY_POOL_BITS);
    }

    #[test]
    fn the_first_block_at_a_resolution_samples_more() {
        let cfg = SessionConfig::default();
        let mut p = Party::new(Role::Bob, cfg.clone(), &[1; 32]);
        // No history: 5 % of the block, at least `sample_bits`, at most a quarter.
        assert_eq!(p.sample_size(2, 16_000), 800);
        assert_eq!(p.sample_size(2, 1_000), cfg.sample_bits as usize);
        assert_eq!(p.sample_size(2, 400), 100);
        // After a block reconciled at k = 2: `sample_bits` at k = 2, 5 % at k = 3.
        p.history = Some((50, 15_000, 10, 7_500, 2));
        assert_eq!(p.sample_size(2, 16_000), cfg.sample_bits as usize);
        assert_eq!(p.sample_size(3, 16_000), 800);
    }
}
