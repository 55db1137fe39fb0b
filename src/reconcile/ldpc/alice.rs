//! Alice: frames her bits, sends the syndromes, reveals punctured values on request.

use super::plan::Plan;
use super::wire::Message;
use super::{confirm_hash, first_invalid, protocol, HASH_BITS};
use crate::reconcile::{
    Outcome, ProtocolViolation, ReconcileError, ReconcileParams, Reconciler, ReconcilerKind,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::collections::VecDeque;
use zeroize::Zeroize;

/// Alice: reference bits; answers Bob's status reports with revealed values.
pub(super) struct Alice {
    plan: Plan,
    bits: Vec<u8>,
    /// Frame codewords (key, shortened and private punctured values), n each.
    words: Vec<u8>,
    revealed: Vec<usize>,
    failing: Vec<bool>,
    out: VecDeque<Vec<u8>>,
    leaked: u64,
    messages: u32,
    done: bool,
    ok: bool,
    invalid: Option<(usize, u8)>,
}

impl Alice {
    pub(super) fn new(bits: Vec<u8>, params: &ReconcileParams) -> Self {
        let invalid = first_invalid(&bits);
        let plan = Plan::new(
            if invalid.is_some() { 0 } else { bits.len() },
            params.qber,
            params.shuffle_seed,
        );
        let (n, m, f) = (plan.code.n(), plan.code.m(), plan.frames.len());
        let mut a = Alice {
            words: vec![0; n * f],
            revealed: vec![0; f],
            failing: vec![true; f],
            out: VecDeque::new(),
            leaked: 0,
            messages: 0,
            done: false,
            ok: false,
            invalid,
            bits,
            plan,
        };
        if a.invalid.is_some() {
            return a;
        }
        // Punctured values are private randomness (never derived from public data).
        let mut rng = ChaCha20Rng::from_os_rng();
        let mut syndromes = vec![0u8; m * f];
        for (j, fr) in a.plan.frames.iter().enumerate() {
            let w = &mut a.words[j * n..(j + 1) * n];
            for (&slot, &pos) in fr.key_slots().iter().zip(&fr.key) {
                w[slot as usize] = a.bits[pos as usize];
            }
            let short = a.plan.shortened_values(params.shuffle_seed, j);
            for (&slot, &v) in fr.shortened_slots().iter().zip(&short) {
                w[slot as usize] = v;
            }
            for &slot in fr.punctured_slots() {
                w[slot as usize] = rng.random::<bool>() as u8;
            }
            // Lengths match the code by construction.
            let _ = a.plan.code.syndrome(w, &mut syndromes[j * m..(j + 1) * m]);
        }
        a.leaked = a.plan.syndrome_leak() + HASH_BITS;
        a.send(Message::Syndromes {
            n: a.bits.len() as u64,
            code: a.plan.code_id,
            hash: confirm_hash(params.shuffle_seed, &a.bits),
            syndromes,
        });
        a
    }

    fn send(&mut self, m: Message) {
        self.messages += 1;
        self.out.push_back(m.encode());
    }

    fn on_status(&mut self, failing: &[u8]) -> Result<(), ReconcileError> {
        if failing.len() != self.plan.frames.len() {
            return Err(protocol(ProtocolViolation::ParityCountMismatch));
        }
        let n = self.plan.code.n();
        let mut values = Vec::new();
        for (j, (&now, was)) in failing.iter().zip(self.failing.iter_mut()).enumerate() {
            if now == 1 && !*was {
                // A frame reported decoded cannot fail again.
                return Err(protocol(ProtocolViolation::UnexpectedMessage));
            }
            *was = now == 1;
            if now == 0 {
                continue;
            }
            let fr = &self.plan.frames[j];
            let t0 = self.revealed[j];
            let t1 = (t0 + fr.step).min(fr.max_reveal);
            if t1 <= t0 {
                return Err(protocol(ProtocolViolation::LeakageExceedsLength));
            }
            for t in t0..t1 {
                let slot = fr
                    .reveal_slot(t)
                    .ok_or(protocol(ProtocolViolation::LeakageExceedsLength))?;
                values.push(self.words[j * n + slot]);
            }
            self.revealed[j] = t1;
        }
        if values.is_empty() {
            return Err(protocol(ProtocolViolation::UnexpectedMessage));
        }
        self.leaked += values.len() as u64;
        self.send(Message::Reveal { values });
        Ok(())
    }
}

impl Reconciler for Alice {
    fn kind(&self) -> ReconcilerKind {
        ReconcilerKind::Ldpc
    }

    fn handle_message(&mut self, msg: &[u8]) -> Result<(), ReconcileError> {
        if let Some((index, value)) = self.invalid {
            return Err(ReconcileError::InvalidBit { index, value });
        }
        let m = Message::decode(msg)?;
        if self.done {
            return Err(protocol(ProtocolViolation::AfterDone));
        }
        self.messages += 1;
        match m {
            Message::Status { failing } => self.on_status(&failing),
            Message::Done { ok } => {
                self.done = true;
                self.ok = ok;
                Ok(())
            }
            Message::Syndromes { .. } | Message::Reveal { .. } => {
                Err(protocol(ProtocolViolation::UnexpectedMessage))
            }
        }
    }

    fn poll_message(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    fn is_done(&self) -> bool {
        self.done || self.invalid.is_some()
    }

    fn leaked_bits(&self) -> u64 {
        self.leaked
    }

    fn finish(mut self: Box<Self>) -> Result<Outcome, ReconcileError> {
        if let Some((index, value)) = self.invalid {
            return Err(ReconcileError::InvalidBit { index, value });
        }
        if !self.done {
            return Err(ReconcileError::NotDone);
        }
        if !self.ok {
            return Err(ReconcileError::Failed {
                leaked_bits: self.leaked,
            });
        }
        Ok(Outcome {
            bits: std::mem::take(&mut self.bits),
            leaked_bits: self.leaked,
            messages: self.messages,
        })
    }
}

impl Drop for Alice {
    fn drop(&mut self) {
        self.bits.zeroize();
        self.words.zeroize();
    }
}
