//! Alice: frames her bits, sends the syndromes (at once, or after Bob's
//! soft-plan hint), reveals punctured values on request.

use super::plan::Plan;
use super::wire::Message;
use super::{confirm_hash, entropy_from_hint, first_invalid, protocol, HASH_BITS, HINT_BITS};
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
    params: ReconcileParams,
    bits: Vec<u8>,
    /// Frame codewords (key, shortened and private punctured values), n each.
    words: Vec<u8>,
    revealed: Vec<usize>,
    /// Per frame and codeword position: shortened or already revealed.
    closed: Vec<bool>,
    /// Whether Bob chooses the revealed positions (`Request`) or takes
    /// the fixed order (`Status`); set by his first such message.
    targeted: Option<bool>,
    failing: Vec<bool>,
    out: VecDeque<Vec<u8>>,
    leaked: u64,
    messages: u32,
    /// Syndromes sent (at once, or after Bob's hint in the soft plan).
    started: bool,
    done: bool,
    ok: bool,
    invalid: Option<(usize, u8)>,
}

impl Alice {
    pub(super) fn new(bits: Vec<u8>, params: &ReconcileParams) -> Self {
        let invalid = first_invalid(&bits);
        let mut a = Alice {
            // Placeholder until `start` (no frames).
            plan: Plan::new(0, params.qber, params.shuffle_seed),
            params: params.clone(),
            words: Vec::new(),
            revealed: Vec::new(),
            closed: Vec::new(),
            targeted: None,
            failing: Vec::new(),
            out: VecDeque::new(),
            leaked: 0,
            messages: 0,
            started: false,
            done: false,
            ok: false,
            invalid,
            bits,
        };
        if a.invalid.is_none() && !params.soft_plan {
            a.start(f64::NAN);
        }
        a
    }

    /// Plans with entropy `hint` (NaN = h2(q̂)), frames the bits and sends
    /// the syndromes.
    fn start(&mut self, hint: f64) {
        let seed = self.params.shuffle_seed;
        self.plan = Plan::with_entropy(self.bits.len(), self.params.qber, hint, seed);
        self.started = true;
        let (n, m, f) = (
            self.plan.code.n(),
            self.plan.code.m(),
            self.plan.frames.len(),
        );
        self.words = vec![0; n * f];
        self.revealed = vec![0; f];
        self.closed = vec![false; n * f];
        self.failing = vec![true; f];
        // Punctured values are private randomness (never derived from public data).
        let mut rng = ChaCha20Rng::from_os_rng();
        let mut syndromes = vec![0u8; m * f];
        for (j, fr) in self.plan.frames.iter().enumerate() {
            let w = &mut self.words[j * n..(j + 1) * n];
            for (&slot, &pos) in fr.key_slots().iter().zip(&fr.key) {
                w[slot as usize] = self.bits[pos as usize];
            }
            let short = self.plan.shortened_values(seed, j);
            for (&slot, &v) in fr.shortened_slots().iter().zip(&short) {
                w[slot as usize] = v;
                self.closed[j * n + slot as usize] = true;
            }
            for &slot in fr.punctured_slots() {
                w[slot as usize] = rng.random::<bool>() as u8;
            }
            // Lengths match the code by construction.
            let _ = self
                .plan
                .code
                .syndrome(w, &mut syndromes[j * m..(j + 1) * m]);
        }
        self.leaked += self.plan.syndrome_leak() + HASH_BITS;
        let hash = confirm_hash(seed, &self.bits);
        self.send(Message::Syndromes {
            n: self.bits.len() as u64,
            code: self.plan.code_id,
            hash,
            syndromes,
        });
    }

    /// Bob's soft-plan hint: expected exactly once, first, and only when
    /// both sides agreed on the soft plan.
    fn on_hint(&mut self, entropy: u16) -> Result<(), ReconcileError> {
        if !self.params.soft_plan || self.started {
            return Err(protocol(ProtocolViolation::UnexpectedMessage));
        }
        self.leaked += HINT_BITS;
        self.start(entropy_from_hint(entropy));
        Ok(())
    }

    fn send(&mut self, m: Message) {
        self.messages += 1;
        self.out.push_back(m.encode());
    }

    /// Answers Bob's `Status` (`asked` = None: the next values in the
    /// frame's fixed order, punctured first) or `Request` (`asked`: the
    /// positions Bob chose, frame by frame) with a `Reveal`. One reconciliation
    /// uses one of the two kinds throughout; every position asked for must lie
    /// in the frame and be neither shortened nor revealed before.
    fn on_reveal_request(
        &mut self,
        failing: &[u8],
        asked: Option<&[u32]>,
    ) -> Result<(), ReconcileError> {
        if !self.started || self.targeted.is_some_and(|t| t != asked.is_some()) {
            return Err(protocol(ProtocolViolation::UnexpectedMessage));
        }
        self.targeted = Some(asked.is_some());
        if failing.len() != self.plan.frames.len() {
            return Err(protocol(ProtocolViolation::ParityCountMismatch));
        }
        let n = self.plan.code.n();
        let mut asked = asked.map(|a| a.iter());
        let mut values = Vec::new();
        for (j, (&now, was)) in failing.iter().zip(self.failing.iter_mut()).enumerate() {
            if now == 1 && !*was && asked.is_none() {
                // In the fixed order a frame reported decoded cannot fail
                // again; a targeted request may reopen it (Bob's hash check
                // failed: a frame converged to another word with the same
                // syndrome).
                return Err(protocol(ProtocolViolation::UnexpectedMessage));
            }
            *was = now == 1;
            if now == 0 {
                continue;
            }
            let fr = &self.plan.frames[j];
            let t0 = self.revealed[j];
            let t1 = fr.next_revealed(t0);
            if t1 <= t0 {
                return Err(protocol(ProtocolViolation::LeakageExceedsLength));
            }
            let closed = &mut self.closed[j * n..(j + 1) * n];
            for t in t0..t1 {
                let slot = match asked.as_mut() {
                    None => fr
                        .reveal_slot(t)
                        .ok_or(protocol(ProtocolViolation::LeakageExceedsLength))?,
                    Some(it) => {
                        let &p = it
                            .next()
                            .ok_or(protocol(ProtocolViolation::ParityCountMismatch))?;
                        p as usize
                    }
                };
                match closed.get_mut(slot) {
                    Some(c) if !*c => *c = true,
                    _ => return Err(protocol(ProtocolViolation::RevealPositionInvalid)),
                }
                values.push(self.words[j * n + slot]);
            }
            self.revealed[j] = t1;
        }
        if values.is_empty() {
            return Err(protocol(ProtocolViolation::UnexpectedMessage));
        }
        if asked.is_some_and(|mut it| it.next().is_some()) {
            return Err(protocol(ProtocolViolation::ParityCountMismatch));
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
            Message::Status { failing } => self.on_reveal_request(&failing, None),
            Message::Request { failing, positions } => {
                self.on_reveal_request(&failing, Some(&positions))
            }
            Message::Hint { entropy } => self.on_hint(entropy),
            Message::Done { .. } if !self.started => {
                Err(protocol(ProtocolViolation::UnexpectedMessage))
            }
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
