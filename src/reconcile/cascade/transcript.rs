//! What a passive listener learns from a Cascade exchange.
//!
//! Every parity Alice discloses (the roots in `Hello`, the answers in each
//! `Reply` to Bob's `Query`) is a GF(2) equation over Alice's string. The
//! listener knows the public shuffle seed and schedule, so it maps each range
//! back to original indices. Bob bisects by asking for the left half of a
//! range whose parity is known; the right half's parity follows by XOR, so the
//! listener completes those siblings too, then peels: an equation with one
//! unknown bit fixes that bit, which may leave another equation with one
//! unknown, and so on. This is what an eavesdropper gets from the
//! reconciliation messages without any channel observation of her own.

use std::collections::{BTreeMap, VecDeque};

use super::layout::{make_passes, Pass};
use crate::reconcile::wire::{Message, ParityRange};
use crate::reconcile::ReconcileParams;

/// A passive observer of one Cascade exchange (both directions).
pub struct CascadeTranscript {
    n: usize,
    passes: Vec<Pass>,
    /// Known parities of Alice's string per pass: `(start, end) → parity`
    /// over positions in that pass's order.
    known: Vec<BTreeMap<(u32, u32), u8>>,
    /// Bob's query batches not yet answered, oldest first.
    queries: VecDeque<Vec<ParityRange>>,
}

impl std::fmt::Debug for CascadeTranscript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CascadeTranscript")
            .field("n", &self.n)
            .field("passes", &self.passes.len())
            .finish_non_exhaustive()
    }
}

impl CascadeTranscript {
    /// An observer of a Cascade exchange over `n` bits with the public `params`.
    pub fn new(n: usize, params: &ReconcileParams) -> Self {
        let passes = make_passes(&vec![0u8; n], params, true);
        let known = vec![BTreeMap::new(); passes.len()];
        Self {
            n,
            passes,
            known,
            queries: VecDeque::new(),
        }
    }

    /// Records a message Alice sent (malformed or unexpected ones are ignored).
    pub fn alice_message(&mut self, bytes: &[u8]) {
        match Message::decode(bytes) {
            Ok(Message::Hello { n, parities }) if n == self.n as u64 => self.on_hello(&parities),
            Ok(Message::Reply { parities }) => {
                if let Some(ranges) = self.queries.pop_front() {
                    for (r, &p) in ranges.iter().zip(&parities) {
                        if let Some(k) = self.known.get_mut(r.pass as usize) {
                            if r.start < r.end && r.end as usize <= self.n {
                                k.insert((r.start, r.end), p & 1);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Records a message Bob sent (malformed or unexpected ones are ignored).
    pub fn bob_message(&mut self, bytes: &[u8]) {
        if let Ok(Message::Query { ranges }) = Message::decode(bytes) {
            self.queries.push_back(ranges);
        }
    }

    fn on_hello(&mut self, parities: &[u8]) {
        let n = self.n;
        let mut it = parities.iter().copied();
        let mut total = 0u8;
        for (p, pass) in self.passes.iter().enumerate() {
            let mut sum = 0u8;
            for b in 0..pass.num_blocks(n) {
                let v = if pass.sends_root(p, b, n) {
                    let Some(v) = it.next() else { return };
                    sum ^= v & 1;
                    v & 1
                } else {
                    total ^ sum
                };
                let (s, e) = pass.bounds(b, n);
                if s < e {
                    self.known[p].insert((s as u32, e as u32), v);
                }
            }
            if p == 0 {
                total = sum;
            }
        }
    }

    /// Completes siblings: for known `[s, m)` inside a known `[s, e)`, the
    /// parity of `[m, e)` follows. Repeats until nothing new appears.
    fn complete_siblings(&mut self) {
        for known in &mut self.known {
            loop {
                let mut new = Vec::new();
                let ranges: Vec<((u32, u32), u8)> = known.iter().map(|(&r, &p)| (r, p)).collect();
                for (i, &((s, m), pl)) in ranges.iter().enumerate() {
                    // The next-longer known range with the same start, if any.
                    if let Some(&((_, e), pe)) =
                        ranges[i + 1..].iter().find(|((s2, _), _)| *s2 == s)
                    {
                        if !known.contains_key(&(m, e)) {
                            new.push(((m, e), pl ^ pe));
                        }
                    }
                }
                if new.is_empty() {
                    break;
                }
                known.extend(new);
            }
        }
    }

    /// Alice's bits that the disclosed parities determine: `Some(bit)` where
    /// fixed, `None` elsewhere (sibling completion, then peeling).
    pub fn determined_bits(&mut self) -> Vec<Option<u8>> {
        self.complete_siblings();
        // Equations over original indices.
        let mut eqs: Vec<(Vec<u32>, u8)> = Vec::new();
        for (pass, known) in self.passes.iter().zip(&self.known) {
            for (&(s, e), &p) in known {
                let idx: Vec<u32> = (s..e)
                    .map(|pos| pass.index_at(pos as usize) as u32)
                    .collect();
                eqs.push((idx, p));
            }
        }
        peel(self.n, &eqs)
    }
}

/// Peeling decoder over GF(2) equations `(indices, parity)` on `n` unknowns.
fn peel(n: usize, eqs: &[(Vec<u32>, u8)]) -> Vec<Option<u8>> {
    let mut value: Vec<Option<u8>> = vec![None; n];
    let mut unknown: Vec<usize> = eqs.iter().map(|(v, _)| v.len()).collect();
    let mut parity: Vec<u8> = eqs.iter().map(|(_, p)| *p).collect();
    let mut by_index: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (e, (idx, _)) in eqs.iter().enumerate() {
        for &i in idx {
            if let Some(list) = by_index.get_mut(i as usize) {
                list.push(e as u32);
            }
        }
    }
    let mut ready: Vec<usize> = (0..eqs.len()).filter(|&e| unknown[e] == 1).collect();
    while let Some(e) = ready.pop() {
        if unknown[e] != 1 {
            continue;
        }
        let Some(&i) = eqs[e].0.iter().find(|&&i| value[i as usize].is_none()) else {
            continue;
        };
        let bit = parity[e];
        value[i as usize] = Some(bit);
        for &f in &by_index[i as usize] {
            let f = f as usize;
            unknown[f] -= 1;
            parity[f] ^= bit;
            if unknown[f] == 1 {
                ready.push(f);
            }
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::{new_reconciler, ReconcilerKind, Role};
    use rand::{Rng, SeedableRng};

    #[test]
    fn peel_solves_chains() {
        // x0 = 1; x0 ^ x1 = 0; x1 ^ x2 ^ x3 = 1 (x3 stays unknown with x2).
        let eqs = vec![(vec![0], 1), (vec![0, 1], 0), (vec![1, 2, 3], 1)];
        assert_eq!(peel(4, &eqs), vec![Some(1), Some(1), None, None]);
    }

    /// A listener's determined bits always equal Alice's, and a Cascade run
    /// at 5 % disagreement determines a good share of them.
    #[test]
    fn listener_learns_only_true_bits() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let n = 4096;
        let alice: Vec<u8> = (0..n).map(|_| rng.random_range(0..2u8)).collect();
        let bob: Vec<u8> = alice
            .iter()
            .map(|&b| b ^ u8::from(rng.random_bool(0.05)))
            .collect();
        let params = ReconcileParams {
            qber: 0.05,
            shuffle_seed: 77,
            soft_plan: false,
        };
        let mut a = new_reconciler(ReconcilerKind::Cascade, Role::Alice, alice.clone(), &params);
        let mut b = new_reconciler(ReconcilerKind::Cascade, Role::Bob, bob, &params);
        let mut eve = CascadeTranscript::new(n, &params);
        while !(a.is_done() && b.is_done()) {
            let mut moved = false;
            while let Some(m) = a.poll_message() {
                eve.alice_message(&m);
                b.handle_message(&m).unwrap();
                moved = true;
            }
            while let Some(m) = b.poll_message() {
                eve.bob_message(&m);
                a.handle_message(&m).unwrap();
                moved = true;
            }
            assert!(moved);
        }
        let leaked = a.leaked_bits();
        let known = eve.determined_bits();
        let fixed = known.iter().filter(|v| v.is_some()).count();
        println!("listener determined {fixed} of {n} bits; {leaked} parities disclosed");
        for (i, v) in known.iter().enumerate() {
            if let Some(v) = v {
                assert_eq!(*v, alice[i], "bit {i}");
            }
        }
        assert!(
            fixed > 0 && fixed as u64 <= leaked,
            "fixed {fixed}, leaked {leaked}"
        );
        assert!(
            fixed > n / 20,
            "only {fixed} bits determined (leaked {leaked})"
        );
    }
}
