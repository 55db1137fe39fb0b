//! Alice: the reference string and a parity oracle.

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

/// Alice: holds the reference bits, answers parity queries.
pub(super) struct Alice {
    n: usize,
    input: Vec<u8>,
    bits: Vec<u64>,
    passes: Vec<Pass>,
    out: VecDeque<Vec<u8>>,
    leaked: u64,
    queried: u64,
    messages: u32,
    done: bool,
    invalid: Option<(usize, u8)>,
    /// Reused buffers for message ranges and parities.
    ranges: Vec<ParityRange>,
    parities: Vec<u8>,
}

impl Alice {
    pub(super) fn new(input: Vec<u8>, params: &ReconcileParams) -> Self {
        let n = input.len();
        let (bits, invalid) = match bits::pack(&input) {
            Ok(w) => (w, None),
            Err(bad) => (Vec::new(), Some(bad)),
        };
        let mut a = Alice {
            n,
            input,
            bits,
            passes: Vec::new(),
            out: VecDeque::new(),
            leaked: 0,
            queried: 0,
            messages: 0,
            done: false,
            invalid,
            ranges: Vec::new(),
            parities: Vec::new(),
        };
        if a.invalid.is_none() {
            a.passes = make_passes(&a.input, params, false);
            let hello = a.hello_parities();
            a.leaked = hello.len() as u64;
            a.out.push_back(
                Message::Hello {
                    n: n as u64,
                    parities: hello,
                }
                .encode(),
            );
        }
        a
    }

    fn hello_parities(&mut self) -> Vec<u8> {
        let n = self.n;
        let mut v = Vec::new();
        for (p, pass) in self.passes.iter_mut().enumerate() {
            match pass.plan {
                PassPlan::Blocks { .. } => {
                    for b in 0..pass.num_blocks(n) {
                        if pass.sends_root(p, b, n) {
                            let (s, e) = pass.bounds(b, n);
                            v.push(pass.parity(&self.bits, s, e));
                        }
                    }
                }
                PassPlan::Biconf => v.push(bits::and_parity(&self.bits, &pass.mask)),
            }
        }
        v
    }

    fn check_range(&self, r: &ParityRange) -> Result<(), ReconcileError> {
        let pass = self
            .passes
            .get(r.pass as usize)
            .ok_or(protocol(ProtocolViolation::PassOutOfRange))?;
        let (s, e) = (r.start as usize, r.end as usize);
        if s >= e || e > self.n || pass.block_at(s) != pass.block_at(e - 1) {
            return Err(protocol(ProtocolViolation::RangeOutsideBlock));
        }
        Ok(())
    }
}

impl Reconciler for Alice {
    fn kind(&self) -> ReconcilerKind {
        ReconcilerKind::Cascade
    }

    fn handle_message(&mut self, msg: &[u8]) -> Result<(), ReconcileError> {
        if let Some((index, value)) = self.invalid {
            return Err(ReconcileError::InvalidBit { index, value });
        }
        let kind = wire::decode_into(msg, &mut self.ranges, &mut self.parities)?;
        if self.done {
            return Err(protocol(ProtocolViolation::AfterDone));
        }
        match kind {
            Decoded::Query => {
                for r in &self.ranges {
                    self.check_range(r)?;
                }
                let queried = self.queried + self.ranges.len() as u64;
                if queried > query_budget(self.n) {
                    return Err(protocol(ProtocolViolation::LeakageExceedsLength));
                }
                self.parities.clear();
                for r in &self.ranges {
                    let pass = &self.passes[r.pass as usize];
                    let v = pass.parity(&self.bits, r.start as usize, r.end as usize);
                    self.parities.push(v);
                }
                self.queried = queried;
                self.leaked += self.parities.len() as u64;
                self.out.push_back(wire::encode_reply(&self.parities));
            }
            Decoded::Done => self.done = true,
            Decoded::Hello { .. } | Decoded::Reply => {
                return Err(protocol(ProtocolViolation::UnexpectedMessage))
            }
        }
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
        self.invalid.is_some() || (self.done && self.out.is_empty())
    }

    fn leaked_bits(&self) -> u64 {
        self.leaked
    }

    fn finish(mut self: Box<Self>) -> Result<Outcome, ReconcileError> {
        if let Some((index, value)) = self.invalid {
            return Err(ReconcileError::InvalidBit { index, value });
        }
        if !self.is_done() {
            return Err(ReconcileError::NotDone);
        }
        Ok(Outcome {
            bits: std::mem::take(&mut self.input),
            leaked_bits: self.leaked,
            messages: self.messages,
        })
    }
}

impl Drop for Alice {
    fn drop(&mut self) {
        self.input.zeroize();
        self.bits.zeroize();
        for p in &mut self.passes {
            p.pbits.zeroize();
        }
    }
}
