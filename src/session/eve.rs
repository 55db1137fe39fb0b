//! A passive eavesdropper: her own channel measurements plus every public
//! frame (readable by anyone; she cannot forge them). She mirrors Bob's
//! processing: same rows, stride, quantizer, dropped and sampled positions, and
//! the published Toeplitz seed. From the Cascade messages she learns every
//! parity Alice disclosed ([`CascadeTranscript`]) and fixes the bits those
//! parities determine before hashing, so her final key is her best guess of
//! the parties' key from everything public plus her own channel.

use std::collections::{BTreeMap, VecDeque};

use super::auth::{self, Sender};
use super::party::{clamp_preprocess, sample_positions, unpack_bits, SessionConfig};
use super::wire::Msg;
use crate::amplify::ToeplitzHasher;
use crate::extract::{self, FeatureBlock};
use crate::reconcile::ReconcilerKind;
use crate::reconcile::{CascadeTranscript, ReconcileParams};

/// What Eve obtained for one block.
#[derive(Clone, Debug, Default)]
pub struct EveBlock {
    /// Block number.
    pub block: u32,
    /// Her quantized bits over the same positions as Alice's raw bits.
    pub raw_bits: Vec<u8>,
    /// Her guess of the final key (when the block produced one).
    pub key_bits: Option<Vec<u8>>,
    /// Bits of the reconciled string she fixed from the disclosed parities.
    pub parity_determined_bits: u64,
    /// Length of the reconciled string.
    pub reconciled_bits: u64,
}

#[derive(Default)]
struct Pending {
    block: u32,
    first_seq: u64,
    len: u32,
    stride: u16,
    k: u8,
    alice_present: Vec<u8>,
    bob_present: Option<Vec<u8>>,
    drops_alice: Option<Vec<u32>>,
    drops_bob: Option<Vec<u32>>,
    bits: Vec<u8>,
    sampled: Vec<u8>,
    transcript: Option<CascadeTranscript>,
}

/// The eavesdropper.
pub struct Eavesdropper {
    cfg: SessionConfig,
    rows: BTreeMap<u64, Vec<f32>>,
    pending: Option<Pending>,
    done: Vec<EveBlock>,
    frames: VecDeque<Vec<u8>>,
    last_row: Option<u64>,
    rows_closed: bool,
}

impl Eavesdropper {
    /// Eve knows the public parameters.
    pub fn new(cfg: SessionConfig) -> Self {
        Self {
            cfg,
            rows: BTreeMap::new(),
            pending: None,
            done: Vec::new(),
            frames: VecDeque::new(),
            last_row: None,
            rows_closed: false,
        }
    }

    /// No more rows of Eve's will come.
    pub fn close_rows(&mut self) {
        self.rows_closed = true;
        self.pump();
    }

    /// One of Eve's own channel observations.
    pub fn push_row(&mut self, seq: u64, features: &[f32]) {
        self.rows.insert(seq, features.to_vec());
        self.last_row = Some(seq);
        self.pump();
    }

    /// Blocks finished so far.
    pub fn take_blocks(&mut self) -> Vec<EveBlock> {
        std::mem::take(&mut self.done)
    }

    /// Observes one frame of the public channel (malformed ones are ignored).
    /// Frames wait until Eve's own rows for the block they concern are in.
    pub fn observe(&mut self, frame: &[u8]) {
        self.frames.push_back(frame.to_vec());
        self.pump();
    }

    fn pump(&mut self) {
        while let Some(f) = self.frames.front() {
            let waiting = self.pending.as_ref().is_some_and(|p| {
                !self.rows_closed
                    && self
                        .last_row
                        .is_none_or(|l| l + 1 < p.first_seq + p.len as u64)
            });
            if waiting && is_drops(f) {
                return;
            }
            let f = self.frames.pop_front().expect("front exists");
            self.process(&f);
        }
    }

    fn process(&mut self, frame: &[u8]) {
        let Ok(auth::ParsedFrame { sender, body, .. }) = auth::parse(frame) else {
            return;
        };
        let Ok(msg) = Msg::decode(body) else { return };
        let from = if sender == Sender::Alice as u8 {
            Sender::Alice
        } else {
            Sender::Bob
        };
        match msg {
            Msg::BlockPlan {
                block,
                first_seq,
                present,
                len,
                stride,
                bits_per_sample,
            } => {
                self.pending = Some(Pending {
                    block,
                    first_seq,
                    len,
                    stride,
                    k: bits_per_sample,
                    alice_present: present,
                    ..Default::default()
                });
            }
            Msg::BlockAck { block, present } => {
                if let Some(p) = self.pending.as_mut().filter(|p| p.block == block) {
                    p.bob_present = Some(present);
                }
            }
            Msg::Drops { block, indices } => {
                if let Some(p) = self.pending.as_mut().filter(|p| p.block == block) {
                    match from {
                        Sender::Alice => p.drops_alice = Some(indices),
                        Sender::Bob => p.drops_bob = Some(indices),
                    }
                }
                self.try_quantize();
            }
            Msg::Sample {
                block, seed, count, ..
            } => {
                if let Some(p) = self.pending.as_mut().filter(|p| p.block == block) {
                    let pos = sample_positions(seed, p.bits.len(), count as usize);
                    let mut keep = vec![1u8; p.bits.len()];
                    for &i in &pos {
                        keep[i as usize] = 0;
                    }
                    p.sampled = p
                        .bits
                        .iter()
                        .zip(&keep)
                        .filter(|(_, &k)| k == 1)
                        .map(|(&b, _)| b)
                        .collect();
                }
            }
            Msg::ReconStart {
                block,
                qber_ppm,
                shuffle_seed,
                n_bits,
                ..
            } => {
                if let Some(p) = self.pending.as_mut().filter(|p| p.block == block) {
                    if self.cfg.reconciler == ReconcilerKind::Cascade
                        && n_bits as usize == p.sampled.len()
                    {
                        let params = ReconcileParams {
                            qber: f64::from(qber_ppm) / 1e6,
                            shuffle_seed,
                            soft_plan: false,
                        };
                        p.transcript = Some(CascadeTranscript::new(n_bits as usize, &params));
                    }
                }
            }
            Msg::Recon { block, payload } => {
                if let Some(t) = self
                    .pending
                    .as_mut()
                    .filter(|p| p.block == block)
                    .and_then(|p| p.transcript.as_mut())
                {
                    match from {
                        Sender::Alice => t.alice_message(&payload),
                        Sender::Bob => t.bob_message(&payload),
                    }
                }
            }
            Msg::Amplify {
                block,
                out_bits,
                seed,
                ..
            } => {
                if let Some(mut p) = self.pending.take().filter(|p| p.block == block) {
                    let mut determined = 0;
                    if let Some(t) = p.transcript.as_mut() {
                        for (mine, known) in p.sampled.iter_mut().zip(t.determined_bits()) {
                            if let Some(bit) = known {
                                *mine = bit;
                                determined += 1;
                            }
                        }
                    }
                    let key = ToeplitzHasher::new(p.sampled.len(), out_bits as usize)
                        .ok()
                        .and_then(|mut h| {
                            let s = unpack_bits(&seed, h.seed_bits());
                            let mut out = Vec::new();
                            h.hash(&s, &p.sampled, &mut out).ok().map(|_| out)
                        });
                    self.done.push(EveBlock {
                        block,
                        raw_bits: p.bits,
                        key_bits: key,
                        parity_determined_bits: determined,
                        reconciled_bits: p.sampled.len() as u64,
                    });
                }
            }
            Msg::NoKey { block, .. } => {
                if let Some(p) = self.pending.take().filter(|p| p.block == block) {
                    self.done.push(EveBlock {
                        block,
                        raw_bits: p.bits,
                        key_bits: None,
                        ..Default::default()
                    });
                }
            }
            _ => {}
        }
    }

    fn try_quantize(&mut self) {
        // (rows for the block are in: see pump)
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        let (Some(bp), Some(da), Some(db)) = (&p.bob_present, &p.drops_alice, &p.drops_bob) else {
            return;
        };
        let cols = self.rows.values().next().map_or(1, |r| r.len());
        let mut data = Vec::new();
        let mut rows = 0;
        let mut last: Option<&Vec<f32>> = None;
        for i in 0..p.len as usize {
            let both = |m: &[u8]| m.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
            if both(&p.alice_present) && both(bp) {
                // A probe Eve missed: she repeats her previous observation.
                let r = self.rows.get(&(p.first_seq + i as u64)).or(last);
                if let Some(r) = r {
                    data.extend(r.iter().map(|&x| x as f64));
                    last = Some(r);
                } else {
                    data.extend(std::iter::repeat_n(0.0, cols));
                }
                rows += 1;
            }
        }
        let fb = FeatureBlock { rows, cols, data };
        let pre = clamp_preprocess(&self.cfg.preprocess, cols);
        let samples = extract::preprocess(&fb, &pre, p.stride as usize).unwrap_or_default();
        let mut dropped: Vec<u32> = da.iter().chain(db.iter()).copied().collect();
        dropped.sort_unstable();
        dropped.dedup();
        let q = extract::new_column_quantizer(
            self.cfg.quantizer,
            p.k,
            self.cfg.guard_fraction,
            pre.output_columns(cols),
        );
        p.bits = q.quantize(&samples, &dropped).bits;
        p.sampled = p.bits.clone();
        let end = p.first_seq + p.len as u64;
        self.rows = self.rows.split_off(&end);
    }
}

fn is_drops(frame: &[u8]) -> bool {
    auth::parse(frame).is_ok_and(|f| matches!(Msg::decode(f.body), Ok(Msg::Drops { .. })))
}
