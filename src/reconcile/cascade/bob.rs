//! Bob: the noisy string; drives the binary searches and corrects.

use super::layout::{make_passes, Pass};
use super::{protocol, query_budget};
use crate::reconcile::bits;
use crate::reconcile::schedule::PassPlan;
use crate::reconcile::wire::{self, Decoded, Message, ParityRange};
use crate::reconcile::{
    Outcome, ProtocolViolation, ReconcileError, ReconcileParams, Reconciler, ReconcilerKind,
};
use std::collections::VecDeque;
use zeroize::Zeroize;

/// Passes whose searches may query in the same round (the lowest pass with
/// outstanding searches and the next ones): a trade between leakage and round
/// trips. Measured at n = 16384, Q = 1/2/5/10 %, 200 frames each
/// (`benches/cascade.rs`):
///
/// | window | efficiency f | messages per frame |
/// |---|---|---|
/// | 1 | 1.051 / 1.044 / 1.047 / 1.056 | 1245 / 2032 / 2726 / 5125 |
/// | 2 | 1.061 / 1.050 / 1.052 / 1.058 | 532 / 634 / 619 / 1103 |
/// | all | 1.085 / 1.063 / 1.058 / 1.066 | 484 / 600 / 586 / 1021 |
const PASS_WINDOW: u32 = 2;

/// Alice's parities Bob has learned below the block roots: one bisection tree
/// per block in heap order (node 1 = block, children 2v and 2v+1 = the lower
/// and upper halves, lower half = ⌊len/2⌋ bits). Allocated on first use.
struct NodeCache {
    stride: usize,
    known: Vec<u64>,
    val: Vec<u64>,
}

impl NodeCache {
    fn get(&self, b: usize, node: usize) -> Option<u8> {
        if self.known.is_empty() {
            return None;
        }
        let i = b * self.stride + node;
        (bits::get(&self.known, i) == 1).then(|| bits::get(&self.val, i))
    }

    fn set(&mut self, b: usize, node: usize, v: u8, blocks: usize) {
        if self.known.is_empty() {
            let words = bits::words_for(blocks * self.stride);
            self.known = vec![0; words];
            self.val = vec![0; words];
        }
        let i = b * self.stride + node;
        self.known[i / 64] |= 1 << (i % 64);
        self.val[i / 64] = (self.val[i / 64] & !(1 << (i % 64))) | (u64::from(v & 1) << (i % 64));
    }
}

/// One binary search in flight: block `block` of pass `pass`, currently at
/// bisection node `node` covering shuffled positions `s..e`, whose Alice
/// parity is `alice`.
#[derive(Clone, Copy, Debug)]
struct Search {
    pass: u32,
    block: u32,
    node: u32,
    s: u32,
    e: u32,
    alice: u8,
}

/// Bob's view of one pass.
struct BobPass {
    layout: Pass,
    /// Alice's parity of each block.
    root: Vec<u8>,
    /// Bob's current parity of each block (kept up to date once opened).
    mine: Vec<u8>,
    /// Whether a search on the block is in flight.
    active: Vec<bool>,
    cache: NodeCache,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BobState {
    AwaitHello,
    Running,
    Finished,
}

/// Bob: holds the noisy bits, drives the searches, corrects.
pub(super) struct Bob {
    n: usize,
    bits: Vec<u64>,
    passes: Vec<BobPass>,
    opened: usize,
    total_mine: u8,
    runnable: Vec<Search>,
    awaiting: Vec<Search>,
    parked: Vec<Search>,
    /// Reused buffers for message ranges and parities.
    ranges: Vec<ParityRange>,
    parities: Vec<u8>,
    state: BobState,
    out: VecDeque<Vec<u8>>,
    leaked: u64,
    queried: u64,
    flips: usize,
    messages: u32,
    invalid: Option<(usize, u8)>,
}

impl Bob {
    pub(super) fn new(input: Vec<u8>, params: &ReconcileParams) -> Self {
        let n = input.len();
        let (bits, invalid) = match bits::pack(&input) {
            Ok(w) => (w, None),
            Err(bad) => (Vec::new(), Some(bad)),
        };
        let mut input = input;
        let passes = if invalid.is_none() {
            make_passes(&input, params, true)
                .into_iter()
                .map(|layout| {
                    let blocks = layout.num_blocks(n);
                    let longest = (0..blocks)
                        .map(|b| {
                            let (s, e) = layout.bounds(b, n);
                            e - s
                        })
                        .max()
                        .unwrap_or(1);
                    BobPass {
                        layout,
                        root: vec![0; blocks],
                        mine: vec![0; blocks],
                        active: vec![false; blocks],
                        cache: NodeCache {
                            stride: 2 * longest.max(1).next_power_of_two(),
                            known: Vec::new(),
                            val: Vec::new(),
                        },
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        input.zeroize();
        Bob {
            n,
            total_mine: bits::parity(&bits),
            bits,
            passes,
            opened: 0,
            runnable: Vec::new(),
            awaiting: Vec::new(),
            parked: Vec::new(),
            ranges: Vec::new(),
            parities: Vec::new(),
            state: BobState::AwaitHello,
            out: VecDeque::new(),
            leaked: 0,
            queried: 0,
            flips: 0,
            messages: 0,
            invalid,
        }
    }

    fn on_hello(&mut self, n: u64, parities: &[u8]) -> Result<(), ReconcileError> {
        if n != self.n as u64 {
            return Err(ReconcileError::LengthMismatch {
                ours: self.n as u64,
                theirs: n,
            });
        }
        let n = self.n;
        let expected: usize = self
            .passes
            .iter()
            .enumerate()
            .map(|(p, bp)| {
                (0..bp.layout.num_blocks(n))
                    .filter(|&b| bp.layout.sends_root(p, b, n))
                    .count()
            })
            .sum();
        if parities.len() != expected {
            return Err(protocol(ProtocolViolation::ParityCountMismatch));
        }
        let mut it = parities.iter().copied();
        let mut total = 0u8;
        for (p, bp) in self.passes.iter_mut().enumerate() {
            let blocks = bp.root.len();
            let mut sum = 0u8;
            for b in 0..blocks {
                if bp.layout.sends_root(p, b, n) {
                    let v = it.next().unwrap_or(0);
                    bp.root[b] = v;
                    sum ^= v;
                } else {
                    bp.root[b] = total ^ sum;
                }
            }
            if p == 0 {
                total = sum;
            }
        }
        self.leaked = expected as u64;
        self.state = BobState::Running;
        self.advance()
    }

    fn on_reply(&mut self, parities: &[u8]) -> Result<(), ReconcileError> {
        if self.awaiting.is_empty() || parities.len() != self.awaiting.len() {
            return Err(protocol(ProtocolViolation::ParityCountMismatch));
        }
        self.leaked += parities.len() as u64;
        let mut awaiting = std::mem::take(&mut self.awaiting);
        for (s, &v) in awaiting.iter().zip(parities) {
            let bp = &mut self.passes[s.pass as usize];
            let blocks = bp.root.len();
            let (b, node) = (s.block as usize, 2 * s.node as usize);
            bp.cache.set(b, node, v, blocks);
            bp.cache.set(b, node + 1, v ^ s.alice, blocks);
        }
        self.runnable.append(&mut awaiting);
        self.awaiting = awaiting;
        self.advance()
    }

    /// Runs every search as far as known parities allow, then either queues
    /// the next `Query`, opens the next pass, or finishes.
    fn advance(&mut self) -> Result<(), ReconcileError> {
        loop {
            while let Some(s) = self.runnable.pop() {
                self.step(s)?;
            }
            if !self.awaiting.is_empty() {
                return self.send_query();
            }
            if !self.parked.is_empty() {
                self.runnable.append(&mut self.parked);
                continue;
            }
            if self.opened < self.passes.len() {
                self.open(self.opened);
                continue;
            }
            self.state = BobState::Finished;
            self.out.push_back(Message::Done.encode());
            return Ok(());
        }
    }

    fn send_query(&mut self) -> Result<(), ReconcileError> {
        // Concurrency limit: only searches of the two lowest passes with
        // work outstanding go out; the rest wait (and re-check their range
        // before asking) so that a correction found by a smaller block does
        // not kill a larger-block search that was already paid for.
        let lowest = self.awaiting.iter().map(|s| s.pass).min().unwrap_or(0);
        let mut i = 0;
        while i < self.awaiting.len() {
            if self.awaiting[i].pass > lowest + PASS_WINDOW - 1 {
                let s = self.awaiting.swap_remove(i);
                self.parked.push(s);
            } else {
                i += 1;
            }
        }
        self.queried += self.awaiting.len() as u64;
        if self.queried > query_budget(self.n) {
            return Err(protocol(ProtocolViolation::LeakageExceedsLength));
        }
        self.awaiting.sort_unstable_by_key(|s| (s.pass, s.s));
        self.ranges.clear();
        self.ranges
            .extend(self.awaiting.iter().map(|s| ParityRange {
                pass: s.pass,
                start: s.s,
                end: s.s + (s.e - s.s) / 2,
            }));
        self.out.push_back(wire::encode_query(&self.ranges));
        Ok(())
    }

    fn open(&mut self, p: usize) {
        let n = self.n;
        let bp = &mut self.passes[p];
        match bp.layout.plan {
            PassPlan::Blocks { .. } => {
                for b in 0..bp.mine.len() {
                    let (s, e) = bp.layout.bounds(b, n);
                    bp.mine[b] = bp.layout.parity(&self.bits, s, e);
                }
            }
            PassPlan::Biconf => {
                bp.mine[0] = bits::and_parity(&self.bits, &bp.layout.mask);
                bp.mine[1] = self.total_mine ^ bp.mine[0];
            }
        }
        self.opened = p + 1;
        for b in 0..self.passes[p].mine.len() {
            let bp = &self.passes[p];
            if bp.mine[b] != bp.root[b] {
                self.start_search(p, b);
            }
        }
    }

    fn start_search(&mut self, p: usize, b: usize) {
        let n = self.n;
        let bp = &mut self.passes[p];
        bp.active[b] = true;
        let (s, e) = bp.layout.bounds(b, n);
        self.runnable.push(Search {
            pass: p as u32,
            block: b as u32,
            node: 1,
            s: s as u32,
            e: e as u32,
            alice: bp.root[b],
        });
    }

    /// Advances one search until it needs a parity from Alice (→ `awaiting`),
    /// corrects a bit, or finds its range no longer disagrees.
    fn step(&mut self, mut s: Search) -> Result<(), ReconcileError> {
        let (p, b) = (s.pass as usize, s.block as usize);
        loop {
            let bp = &mut self.passes[p];
            let (lo, hi) = (s.s as usize, s.e as usize);
            if bp.layout.parity(&self.bits, lo, hi) == s.alice {
                // A correction elsewhere fixed this range: restart from the
                // block root if the block still disagrees, else stop.
                if bp.mine[b] != bp.root[b] && s.node != 1 {
                    let (bs, be) = bp.layout.bounds(b, self.n);
                    s = Search {
                        node: 1,
                        s: bs as u32,
                        e: be as u32,
                        alice: bp.root[b],
                        ..s
                    };
                    continue;
                }
                bp.active[b] = false;
                return Ok(());
            }
            if hi - lo == 1 {
                bp.active[b] = false;
                let i = bp.layout.index_at(lo);
                return self.flip(i);
            }
            let mid = lo + (hi - lo) / 2;
            let (left, right) = (2 * s.node as usize, 2 * s.node as usize + 1);
            let blocks = bp.root.len();
            let al = match (bp.cache.get(b, left), bp.cache.get(b, right)) {
                (Some(al), _) => al,
                (None, Some(ar)) => {
                    bp.cache.set(b, left, ar ^ s.alice, blocks);
                    ar ^ s.alice
                }
                (None, None) => {
                    self.awaiting.push(s);
                    return Ok(());
                }
            };
            if bp.layout.parity(&self.bits, lo, mid) != al {
                s.node = left as u32;
                s.e = mid as u32;
                s.alice = al;
            } else {
                s.node = right as u32;
                s.s = mid as u32;
                s.alice ^= al;
            }
        }
    }

    /// Corrects original bit `i` and applies the cascade effect.
    fn flip(&mut self, i: usize) -> Result<(), ReconcileError> {
        self.flips += 1;
        if self.flips > self.n {
            return Err(protocol(ProtocolViolation::InconsistentParities));
        }
        bits::flip(&mut self.bits, i);
        self.total_mine ^= 1;
        for p in 0..self.passes.len() {
            let bp = &mut self.passes[p];
            let b = match bp.layout.plan {
                // Shuffled copies are kept current from the start.
                PassPlan::Blocks { .. } => {
                    let j = bp.layout.inv[i] as usize;
                    bits::flip(&mut bp.layout.pbits, j);
                    bp.layout.block_at(j)
                }
                PassPlan::Biconf => usize::from(bits::get(&bp.layout.mask, i) == 0),
            };
            if p >= self.opened {
                continue;
            }
            bp.mine[b] ^= 1;
            if !bp.active[b] && bp.mine[b] != bp.root[b] {
                self.start_search(p, b);
            }
        }
        Ok(())
    }
}

impl Reconciler for Bob {
    fn kind(&self) -> ReconcilerKind {
        ReconcilerKind::Cascade
    }

    fn handle_message(&mut self, msg: &[u8]) -> Result<(), ReconcileError> {
        if let Some((index, value)) = self.invalid {
            return Err(ReconcileError::InvalidBit { index, value });
        }
        let mut parities = std::mem::take(&mut self.parities);
        let result = wire::decode_into(msg, &mut self.ranges, &mut parities)
            .map_err(ReconcileError::from)
            .and_then(|kind| match (self.state, kind) {
                (BobState::Finished, _) => Err(protocol(ProtocolViolation::AfterDone)),
                (BobState::AwaitHello, Decoded::Hello { n }) => self.on_hello(n, &parities),
                (BobState::Running, Decoded::Reply) => self.on_reply(&parities),
                _ => Err(protocol(ProtocolViolation::UnexpectedMessage)),
            });
        self.parities = parities;
        result?;
        self.messages += 1;
        Ok(())
    }

    fn poll_message(&mut self) -> Option<Vec<u8>> {
        if self.out.is_empty() {
            return None;
        }
        self.messages += 1;
        self.out.pop_front()
    }

    fn is_done(&self) -> bool {
        self.invalid.is_some() || (self.state == BobState::Finished && self.out.is_empty())
    }

    fn leaked_bits(&self) -> u64 {
        self.leaked
    }

    fn finish(self: Box<Self>) -> Result<Outcome, ReconcileError> {
        if let Some((index, value)) = self.invalid {
            return Err(ReconcileError::InvalidBit { index, value });
        }
        if !self.is_done() {
            return Err(ReconcileError::NotDone);
        }
        Ok(Outcome {
            bits: { bits::unpack(&self.bits, self.n) },
            leaked_bits: self.leaked,
            messages: self.messages,
        })
    }
}

impl Drop for Bob {
    fn drop(&mut self) {
        self.bits.zeroize();
        for p in &mut self.passes {
            p.layout.pbits.zeroize();
        }
    }
}
