//! Cascade (Brassard & Salvail, "Secret-key reconciliation by public
//! discussion", EUROCRYPT '93) with the schedule of Martinez-Mateo et al.,
//! QIC 15 (2015), arXiv:1407.3257 (see [`super::schedule`]).
//!
//! Roles: Alice is a parity oracle; Bob drives every binary search.
//!
//! * Alice's first message carries the top-level parity of every block of
//!   every pass, except those inferable from the total parity (the last block
//!   of every later block pass, the complement half of each BICONF pass).
//!   These are exactly the parities the original protocol discloses at the
//!   start of each pass;
//!   sending them at once saves round trips and discloses nothing more.
//! * Bob opens the passes in order. In every block whose parity disagrees he
//!   bisects (BINARY); all searches of one round are batched into one `Query`
//!   of parity ranges, answered by one `Reply`. Each disclosed parity is one
//!   bit of leakage; the sibling of a queried half is inferred, never asked.
//! * Cascade effect: a corrected bit toggles the parity of its block in every
//!   opened pass; blocks that become odd are searched again. Bob remembers
//!   every Alice parity he has learned (a bisection tree per block), so a
//!   re-search walks down known nodes without asking and queries only the new
//!   ones.
//! * Searches run concurrently, so a bit may be corrected under a search that
//!   is still in flight. Before every step Bob re-checks that the current range
//!   still disagrees; if not he restarts from the block root (or drops the
//!   search if the block now agrees). Bob only ever flips a bit whose value
//!   Alice disclosed as different, so every flip is a correction.
//! * To keep such wasted searches rare, only the searches of the two lowest
//!   passes with outstanding work query in a round; the others wait and
//!   re-check before asking (see `PASS_WINDOW` in `bob.rs`).
//!
//! Files: `layout.rs` (shuffles and BICONF subsets, both roles), `alice.rs`,
//! `bob.rs`.

mod alice;
mod bob;
mod layout;
mod transcript;

pub use transcript::CascadeTranscript;

use super::{ProtocolViolation, ReconcileError, ReconcileParams, Reconciler, Role};

/// Creates the Cascade state machine for `role`.
pub(crate) fn new_cascade(
    role: Role,
    bits: Vec<u8>,
    params: &ReconcileParams,
) -> Box<dyn Reconciler> {
    match role {
        Role::Alice => Box::new(alice::Alice::new(bits, params)),
        Role::Bob => Box::new(bob::Bob::new(bits, params)),
    }
}

fn protocol(v: ProtocolViolation) -> ReconcileError {
    ReconcileError::Protocol(v)
}

/// ChaCha stream of pass `p`'s permutation (BICONF subsets use the odd streams).
fn perm_stream(p: usize) -> u64 {
    2 * p as u64
}

fn mask_stream(p: usize) -> u64 {
    2 * p as u64 + 1
}

/// Most query parities a reconciliation may disclose beyond the first message:
/// more than twice the string length means something is wrong.
fn query_budget(n: usize) -> u64 {
    2 * n as u64 + 64
}
