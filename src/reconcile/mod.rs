//! Information reconciliation: Alice and Bob hold strings that disagree in a
//! fraction `qber` of positions; after reconciliation Bob holds Alice's string
//! and both know how many bits the public discussion disclosed.
//!
//! Reconcilers are sans-IO state machines (cf. quinn-proto's `Connection`):
//! [`Reconciler::handle_message`] takes a message from the peer,
//! [`Reconciler::poll_message`] hands out the next one to send. No sockets,
//! no clocks; [`run_pair`] drives two of them in memory.
//!
//! ```text
//!  Alice (reference bits)                    Bob (noisy bits)
//!    Hello: top-level block parities  ──►
//!                                     ◄──  Query: parity ranges (one batch per round)
//!    Reply: one parity bit per range  ──►
//!                  …                  ◄──  Done
//! ```
//!
//! Implemented: [`ReconcilerKind::Cascade`] (Brassard & Salvail 1993 with the
//! block sizes of Martinez-Mateo et al., QIC 15 (2015), arXiv:1407.3257) and
//! [`ReconcilerKind::Ldpc`] (one-way syndrome decoding over the IEEE 802.11n
//! LDPC codes with rate adaptation and blind rounds, see [`ldpc`]).

mod bits;
mod cascade;
pub mod ldpc;
pub mod limit;
pub mod schedule;
pub mod wire;

pub use cascade::CascadeTranscript;
pub use wire::DecodeError;

/// Which party: Alice holds the reference bits; Bob corrects his towards Alice's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Holder of the reference string; answers parity queries.
    Alice,
    /// Holder of the noisy string; drives the search and corrects.
    Bob,
}

/// Run-time choice of reconciler, exposed on the CLI as `--reconciler`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReconcilerKind {
    /// Interactive Cascade (Brassard & Salvail 1993; Martinez-Mateo et al. 2015).
    Cascade,
    /// One-way LDPC syndrome decoding with blind rate adaptation
    /// (Martinez-Mateo, Elkouss, Martin, QIC 12 (2012)).
    Ldpc,
}

impl ReconcilerKind {
    /// Name as on the CLI and in the JSON report (`"cascade"`, `"ldpc"`).
    pub fn name(self) -> &'static str {
        match self {
            ReconcilerKind::Cascade => "cascade",
            ReconcilerKind::Ldpc => "ldpc",
        }
    }
}

impl std::fmt::Display for ReconcilerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Public parameters both sides agreed on before reconciling.
#[derive(Clone, Debug, PartialEq)]
pub struct ReconcileParams {
    /// Disagreement estimate both sides agreed on before starting (public).
    pub qber: f64,
    /// Public seed both sides share (drawn by Alice from the OS CSPRNG and sent) for the per-pass permutations.
    pub shuffle_seed: u64,
    /// LDPC only, both sides must agree: Bob holds soft values and opens the
    /// exchange with a `Hint` carrying his conditional-entropy estimate, which
    /// both sides then plan with instead of h2(q̂) (see [`ldpc`]). Cascade
    /// ignores it.
    pub soft_plan: bool,
}

/// Result of a finished reconciliation on one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Final bits, one byte (0 or 1) per bit: Alice's own, Bob's corrected.
    pub bits: Vec<u8>,
    /// Parity bits disclosed on the public channel (subtract in privacy amplification).
    pub leaked_bits: u64,
    /// Messages put on the wire by this exchange, both directions.
    pub messages: u32,
}

/// Protocol rule a peer's message broke (see [`ReconcileError::Protocol`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolViolation {
    /// The message kind is not expected in this role or state.
    UnexpectedMessage,
    /// A message arrived after this side had finished.
    AfterDone,
    /// A query names a pass that the schedule does not have.
    PassOutOfRange,
    /// A query range is empty or does not lie inside one block of its pass.
    RangeOutsideBlock,
    /// The number of parities does not match what the schedule or the queries require.
    ParityCountMismatch,
    /// The peer asked for (or sent) more parities than the string has bits.
    LeakageExceedsLength,
    /// Alice's parities contradict each other (Bob would flip bits without end).
    InconsistentParities,
    /// Neither side has anything to send but the exchange is not finished.
    Stalled,
    /// A requested reveal names a position outside the frame, a shortened
    /// one, or one already revealed.
    RevealPositionInvalid,
}

impl std::fmt::Display for ProtocolViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Self::UnexpectedMessage => "message not expected in this role or state",
            Self::AfterDone => "message after the exchange finished",
            Self::PassOutOfRange => "query names a pass outside the schedule",
            Self::RangeOutsideBlock => "query range is empty or crosses a block boundary",
            Self::ParityCountMismatch => "parity count does not match the schedule or queries",
            Self::LeakageExceedsLength => "more parities requested than the string has bits",
            Self::InconsistentParities => "peer parities contradict each other",
            Self::Stalled => "no side has a message to send but the exchange is unfinished",
            Self::RevealPositionInvalid => {
                "requested reveal position is out of range, shortened or already revealed"
            }
        };
        f.write_str(s)
    }
}

/// Errors of the reconciliation module.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A message from the peer could not be decoded.
    #[error("cannot decode reconciliation message: {0}")]
    Decode(#[from] DecodeError),
    /// A well-formed message broke the protocol.
    #[error("reconciliation protocol violation: {0}")]
    Protocol(ProtocolViolation),
    /// The peers hold strings of different lengths.
    #[error("string lengths differ: ours {ours}, peer's {theirs}")]
    LengthMismatch {
        /// Our length in bits.
        ours: u64,
        /// The peer's length in bits.
        theirs: u64,
    },
    /// An input bit was neither 0 nor 1.
    #[error("input bit {index} has value {value}, expected 0 or 1")]
    InvalidBit {
        /// Position of the offending byte.
        index: usize,
        /// Its value.
        value: u8,
    },
    /// Soft values were given but not one per bit.
    #[error("{soft} soft values for {bits} bits")]
    SoftLength {
        /// Number of bits.
        bits: usize,
        /// Number of soft values.
        soft: usize,
    },
    /// `finish` was called before the exchange was done.
    #[error("reconciliation is not finished")]
    NotDone,
    /// The reconciler knows it failed (e.g. an LDPC decoder did not converge);
    /// the disclosed bits are lost all the same. Cascade cannot detect residual
    /// errors itself and never returns this: key confirmation catches them.
    #[error("reconciliation failed after leaking {leaked_bits} bits")]
    Failed {
        /// Bits disclosed before failing.
        leaked_bits: u64,
    },
}

/// Sans-IO reconciler (cf. quinn-proto: handle input, poll output, no sockets, no clocks).
pub trait Reconciler: Send {
    /// Which algorithm this is.
    fn kind(&self) -> ReconcilerKind;
    /// Feeds one message received from the peer.
    ///
    /// # Errors
    /// [`ReconcileError::Decode`] for malformed bytes (state unchanged),
    /// [`ReconcileError::Protocol`] for a message that breaks the protocol,
    /// [`ReconcileError::LengthMismatch`]. After any error other than `Decode`
    /// the exchange must be abandoned (its leakage still counts).
    fn handle_message(&mut self, msg: &[u8]) -> Result<(), ReconcileError>;
    /// Next message to send to the peer, if any.
    fn poll_message(&mut self) -> Option<Vec<u8>>;
    /// True once this side has nothing more to send or receive.
    fn is_done(&self) -> bool;
    /// Parity bits (or syndrome bits) disclosed so far — the leakage to subtract in privacy amplification.
    fn leaked_bits(&self) -> u64;
    /// Final bits (one byte 0/1 per bit) and accounting.
    ///
    /// # Errors
    /// [`ReconcileError::NotDone`] if called before [`Reconciler::is_done`].
    fn finish(self: Box<Self>) -> Result<Outcome, ReconcileError>;
}

/// Creates a reconciler of `kind` for `role` over `bits` (one byte 0/1 per bit;
/// packed internally). A byte other than 0 or 1 makes every later call report
/// [`ReconcileError::InvalidBit`].
pub fn new_reconciler(
    kind: ReconcilerKind,
    role: Role,
    bits: Vec<u8>,
    params: &ReconcileParams,
) -> Box<dyn Reconciler> {
    new_reconciler_with_soft(kind, role, bits, None, params)
}

/// As [`new_reconciler`], with Bob's soft values (one per bit, the
/// quantizer's signed distance to the deciding edge, `extract::Quantized::soft`).
/// LDPC turns them into log-likelihood ratios (see [`ldpc::llr`]); Cascade and
/// Alice's side ignore them. Soft values whose count differs from the bits'
/// make every later call report [`ReconcileError::SoftLength`] (LDPC Bob).
pub fn new_reconciler_with_soft(
    kind: ReconcilerKind,
    role: Role,
    bits: Vec<u8>,
    soft: Option<Vec<f32>>,
    params: &ReconcileParams,
) -> Box<dyn Reconciler> {
    new_reconciler_calibrated(kind, role, bits, soft, None, params)
}

/// As [`new_reconciler_with_soft`], with Bob's calibration of his soft
/// values from earlier blocks ([`ldpc::llr::SoftCalibration`]): LDPC Bob takes
/// his LLRs and his hint Ĥ from the calibrated rates instead of the Gaussian
/// model. Nothing on the wire changes.
pub fn new_reconciler_calibrated(
    kind: ReconcilerKind,
    role: Role,
    bits: Vec<u8>,
    soft: Option<Vec<f32>>,
    calibration: Option<&ldpc::llr::SoftCalibration>,
    params: &ReconcileParams,
) -> Box<dyn Reconciler> {
    match kind {
        ReconcilerKind::Cascade => cascade::new_cascade(role, bits, params),
        ReconcilerKind::Ldpc => ldpc::new_ldpc(role, bits, soft, calibration, params),
    }
}

/// h2(p) = −p·log2 p − (1−p)·log2(1−p), binary entropy in bits (0 outside (0, 1)).
pub fn binary_entropy(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return 0.0;
    }
    -p * p.log2() - (1.0 - p) * (1.0 - p).log2()
}

/// Drives two reconcilers against each other in memory until both are done
/// (test/bench helper, also used by the demo); returns (alice, bob) outcomes.
/// `messages` in each outcome counts the messages of both directions.
///
/// # Errors
/// The first error either side reports (including a side's `finish` error if
/// it stopped early), or [`ProtocolViolation::Stalled`] if neither side has
/// anything to send while one is unfinished.
pub fn run_pair(
    mut alice: Box<dyn Reconciler>,
    mut bob: Box<dyn Reconciler>,
) -> Result<(Outcome, Outcome), ReconcileError> {
    while !(alice.is_done() && bob.is_done()) {
        let mut moved = false;
        while let Some(m) = alice.poll_message() {
            bob.handle_message(&m)?;
            moved = true;
        }
        while let Some(m) = bob.poll_message() {
            alice.handle_message(&m)?;
            moved = true;
        }
        let both_done = alice.is_done() && bob.is_done();
        if !moved && !both_done {
            // A side that gave up (e.g. on invalid input) reports why in `finish`.
            if alice.is_done() {
                alice.finish()?;
            } else if bob.is_done() {
                bob.finish()?;
            }
            return Err(ReconcileError::Protocol(ProtocolViolation::Stalled));
        }
    }
    Ok((alice.finish()?, bob.finish()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_match_clap() {
        use clap::ValueEnum;
        for k in ReconcilerKind::value_variants() {
            let v = k.to_possible_value().map(|v| v.get_name().to_owned());
            assert_eq!(v.as_deref(), Some(k.name()));
            assert_eq!(k.to_string(), k.name());
        }
    }

    #[test]
    fn binary_entropy_known_values() {
        assert_eq!(binary_entropy(0.0), 0.0);
        assert_eq!(binary_entropy(1.0), 0.0);
        assert!((binary_entropy(0.5) - 1.0).abs() < 1e-12);
        // h2(0.11) ≈ 0.4999 (the classic "half a bit" point).
        assert!((binary_entropy(0.11) - 0.499_915_958).abs() < 1e-6);
    }
}
