//! Bob: decodes every frame towards Alice's syndromes, asks for more revealed
//! values for the frames that fail, confirms with Alice's hash.

use super::decoder::{LayeredDecoder, WarmState, KNOWN_LLR};
use super::llr::{bob_llrs, SoftCalibration};
use super::plan::Plan;
use super::wire::Message;
use super::{
    confirm_hash, entropy_from_hint, first_invalid, hint_from_entropy, protocol, HASH_BITS,
    HINT_BITS,
};
use crate::reconcile::{
    Outcome, ProtocolViolation, ReconcileError, ReconcileParams, Reconciler, ReconcilerKind,
};
use std::collections::VecDeque;
use zeroize::Zeroize;

/// Why Bob cannot start (reported by every later call).
#[derive(Clone, Copy, Debug)]
enum Invalid {
    Bit(usize, u8),
    SoftLength(usize, usize),
}

/// Bob: noisy bits (and optionally soft values); drives the blind rounds.
pub(super) struct Bob {
    seed: u64,
    /// Leakage of the hint Bob opened with (0 without the soft plan).
    hint_bits: u64,
    plan: Plan,
    bits: Vec<u8>,
    decoder: LayeredDecoder,
    /// Most iterations per decoding attempt ([`super::plan::decoder_iterations`]).
    iterations: u32,
    /// Channel LLRs per frame, n each (updated as values are revealed).
    llr: Vec<f32>,
    /// Decoded words per frame, n each.
    words: Vec<u8>,
    syndromes: Vec<u8>,
    hash: [u8; 4],
    revealed: Vec<usize>,
    failing: Vec<bool>,
    /// Decoder state of each failing frame after its last attempt (warm start).
    warm: Vec<WarmState>,
    /// LLR changes (slot, old, new) of each frame since its last attempt.
    changes: Vec<Vec<(usize, f32, f32)>>,
    started: bool,
    out: VecDeque<Vec<u8>>,
    leaked: u64,
    messages: u32,
    done: bool,
    ok: bool,
    invalid: Option<Invalid>,
}

impl Bob {
    pub(super) fn new(
        bits: Vec<u8>,
        soft: Option<Vec<f32>>,
        calibration: Option<&SoftCalibration>,
        params: &ReconcileParams,
    ) -> Self {
        let mut invalid = first_invalid(&bits).map(|(i, v)| Invalid::Bit(i, v));
        if let Some(s) = soft.as_ref().filter(|s| s.len() != bits.len()) {
            invalid = invalid.or(Some(Invalid::SoftLength(bits.len(), s.len())));
        }
        let mut block_llr = Vec::new();
        let mut hint = None;
        if invalid.is_none() {
            // Soft LLRs (calibrated if Bob has a calibration) when soft values are
            // given and σ fits q̂, else hard ones.
            let h = bob_llrs(
                &bits,
                soft.as_deref(),
                params.qber,
                calibration,
                &mut block_llr,
            );
            if params.soft_plan {
                // Ĥ of the soft LLRs; without them 1 bit, which the plan clamps to h2(q̂).
                hint = Some(hint_from_entropy(h.unwrap_or(1.0)));
            }
        }
        let plan = Plan::with_entropy(
            if invalid.is_some() { 0 } else { bits.len() },
            params.qber,
            hint.map_or(f64::NAN, entropy_from_hint),
            params.shuffle_seed,
        );
        let (n, f) = (plan.code.n(), plan.frames.len());
        let mut llr = vec![0f32; n * f];
        for (j, fr) in plan.frames.iter().enumerate() {
            let l = &mut llr[j * n..(j + 1) * n];
            for (&slot, &pos) in fr.key_slots().iter().zip(&fr.key) {
                l[slot as usize] = block_llr[pos as usize];
            }
            let short = plan.shortened_values(params.shuffle_seed, j);
            for (&slot, &v) in fr.shortened_slots().iter().zip(&short) {
                l[slot as usize] = if v == 0 { KNOWN_LLR } else { -KNOWN_LLR };
            }
            // Punctured slots stay at LLR 0 (no information).
        }
        block_llr.zeroize();
        if let Some(mut s) = soft {
            s.zeroize();
        }
        let mut bob = Bob {
            seed: params.shuffle_seed,
            hint_bits: if hint.is_some() { HINT_BITS } else { 0 },
            decoder: LayeredDecoder::with_rule(plan.code.clone(), super::CHECK_RULE),
            iterations: super::plan::decoder_iterations(plan.code_id),
            llr,
            words: vec![0; n * f],
            syndromes: Vec::new(),
            hash: [0; 4],
            revealed: vec![0; f],
            failing: vec![true; f],
            warm: (0..f).map(|_| WarmState::default()).collect(),
            changes: vec![Vec::new(); f],
            started: false,
            out: VecDeque::new(),
            leaked: 0,
            messages: 0,
            done: false,
            ok: false,
            invalid,
            bits,
            plan,
        };
        if let Some(entropy) = hint {
            bob.leaked = HINT_BITS;
            bob.send(Message::Hint { entropy });
        }
        bob
    }

    fn send(&mut self, m: Message) {
        self.messages += 1;
        self.out.push_back(m.encode());
    }

    fn decode_failing(&mut self) {
        let (n, m) = (self.plan.code.n(), self.plan.code.m());
        for j in 0..self.plan.frames.len() {
            if !self.failing[j] {
                continue;
            }
            let (syn, word) = (
                &self.syndromes[j * m..(j + 1) * m],
                &mut self.words[j * n..(j + 1) * n],
            );
            // Warm start from the previous attempt when there is one. A warm
            // start can stay caught where the previous attempt stalled (two
            // of 1000 BSC frames at Q = 10 % never decoded, even with a
            // quarter of their key bits revealed), so a failed resume is
            // followed by a cold decode of the same LLRs.
            let llr = &self.llr[j * n..(j + 1) * n];
            let mut st = if self.warm[j].is_empty() {
                self.decoder.decode(llr, syn, self.iterations, word)
            } else {
                self.decoder
                    .resume(&self.warm[j], &self.changes[j], syn, self.iterations, word)
            };
            if !self.warm[j].is_empty() && !matches!(st, Ok(s) if s.converged) {
                st = self.decoder.decode(llr, syn, self.iterations, word);
            }
            self.changes[j].clear();
            self.failing[j] = !matches!(st, Ok(s) if s.converged);
            if self.failing[j] {
                self.decoder.save(&mut self.warm[j]);
            } else {
                self.warm[j] = WarmState::default();
            }
        }
    }

    /// After decoding: ask for more, give up, or confirm.
    fn respond(&mut self) {
        if self.failing.iter().any(|&f| f) {
            let exhausted = self
                .plan
                .frames
                .iter()
                .zip(&self.failing)
                .zip(&self.revealed)
                .any(|((fr, &f), &r)| f && r >= fr.max_reveal);
            if exhausted {
                self.finish_with(false);
            } else {
                let failing = self.failing.iter().map(|&f| f as u8).collect();
                self.send(Message::Status { failing });
            }
            return;
        }
        let n = self.plan.code.n();
        for (j, fr) in self.plan.frames.iter().enumerate() {
            let w = &self.words[j * n..(j + 1) * n];
            for (&slot, &pos) in fr.key_slots().iter().zip(&fr.key) {
                self.bits[pos as usize] = w[slot as usize];
            }
        }
        let ok = confirm_hash(self.seed, &self.bits) == self.hash;
        self.finish_with(ok);
    }

    fn finish_with(&mut self, ok: bool) {
        self.send(Message::Done { ok });
        self.ok = ok;
        self.done = true;
    }

    fn on_syndromes(
        &mut self,
        n_bits: u64,
        code: u8,
        hash: [u8; 4],
        syndromes: Vec<u8>,
    ) -> Result<(), ReconcileError> {
        if self.started {
            return Err(protocol(ProtocolViolation::UnexpectedMessage));
        }
        if n_bits != self.bits.len() as u64 {
            return Err(ReconcileError::LengthMismatch {
                ours: self.bits.len() as u64,
                theirs: n_bits,
            });
        }
        if code != self.plan.code_id {
            return Err(protocol(ProtocolViolation::UnexpectedMessage));
        }
        if syndromes.len() != self.plan.code.m() * self.plan.frames.len() {
            return Err(protocol(ProtocolViolation::ParityCountMismatch));
        }
        self.started = true;
        self.syndromes = syndromes;
        self.hash = hash;
        self.leaked = self.plan.syndrome_leak() + HASH_BITS + self.hint_bits;
        self.decode_failing();
        self.respond();
        Ok(())
    }

    fn on_reveal(&mut self, values: &[u8]) -> Result<(), ReconcileError> {
        if !self.started || self.done {
            return Err(protocol(ProtocolViolation::UnexpectedMessage));
        }
        let want: usize = self
            .plan
            .frames
            .iter()
            .zip(&self.failing)
            .zip(&self.revealed)
            .filter(|((_, &f), _)| f)
            .map(|((fr, _), &r)| fr.next_revealed(r) - r)
            .sum();
        if values.len() != want {
            return Err(protocol(ProtocolViolation::ParityCountMismatch));
        }
        let n = self.plan.code.n();
        let mut it = values.iter();
        for (j, fr) in self.plan.frames.iter().enumerate() {
            if !self.failing[j] {
                continue;
            }
            let t1 = fr.next_revealed(self.revealed[j]);
            for t in self.revealed[j]..t1 {
                let (Some(slot), Some(&v)) = (fr.reveal_slot(t), it.next()) else {
                    return Err(protocol(ProtocolViolation::ParityCountMismatch));
                };
                let new = if v == 0 { KNOWN_LLR } else { -KNOWN_LLR };
                self.changes[j].push((slot, self.llr[j * n + slot], new));
                self.llr[j * n + slot] = new;
            }
            self.revealed[j] = t1;
        }
        self.leaked += values.len() as u64;
        self.decode_failing();
        self.respond();
        Ok(())
    }
}

impl Reconciler for Bob {
    fn kind(&self) -> ReconcilerKind {
        ReconcilerKind::Ldpc
    }

    fn handle_message(&mut self, msg: &[u8]) -> Result<(), ReconcileError> {
        if let Some(e) = self.invalid {
            return Err(invalid_error(e));
        }
        let m = Message::decode(msg)?;
        if self.done {
            return Err(protocol(ProtocolViolation::AfterDone));
        }
        self.messages += 1;
        match m {
            Message::Syndromes {
                n,
                code,
                hash,
                syndromes,
            } => self.on_syndromes(n, code, hash, syndromes),
            Message::Reveal { values } => self.on_reveal(&values),
            Message::Status { .. } | Message::Done { .. } | Message::Hint { .. } => {
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
        if let Some(e) = self.invalid {
            return Err(invalid_error(e));
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

fn invalid_error(e: Invalid) -> ReconcileError {
    match e {
        Invalid::Bit(index, value) => ReconcileError::InvalidBit { index, value },
        Invalid::SoftLength(bits, soft) => ReconcileError::SoftLength { bits, soft },
    }
}

impl Drop for Bob {
    fn drop(&mut self) {
        self.bits.zeroize();
        self.words.zeroize();
        self.llr.zeroize();
    }
}
