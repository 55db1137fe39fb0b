//! Key-pool rebalancing: the migration protocol under loss and restarts, and a simulation with
//! skewed demand where rebalancing resolves shortages without duplicating any key.

use std::collections::{BTreeMap, BTreeSet};

use qwave::pools::{plan_transfers, DemandTracker, Envelope, Key, Node};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct World {
    centre: Node,
    peers: BTreeMap<String, Node>,
    next_id: u64,
    rng: ChaCha8Rng,
}

impl World {
    fn new(names: &[&str], seed: u64) -> Self {
        Self {
            centre: Node::new("X", names),
            peers: names
                .iter()
                .map(|n| ((*n).to_owned(), Node::new(n, &["X"])))
                .collect(),
            next_id: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The link to `peer` generates `n` keys (both ends store them).
    fn generate(&mut self, peer: &str, n: usize) {
        for _ in 0..n {
            let mut material = [0u8; 32];
            self.rng.fill(&mut material);
            let id = self.next_id;
            self.next_id += 1;
            self.centre.store(peer, Key { id, material }).unwrap();
            self.peers
                .get_mut(peer)
                .unwrap()
                .store("X", Key { id, material })
                .unwrap();
        }
    }

    /// Delivers the centre's pending messages and the replies, dropping each message with
    /// probability `loss`; returns how many rounds it took until no migration is in flight.
    fn settle(&mut self, loss: f64) -> usize {
        for round in 1..=1000 {
            if self.centre.migrations_in_flight() == 0 {
                return round - 1;
            }
            let out: Vec<Envelope> = self.centre.pending();
            for env in out {
                if self.rng.random_bool(loss) {
                    continue;
                }
                let peer = self.peers.get_mut(&env.to).unwrap();
                let reply = peer.handle(&env).unwrap().unwrap();
                if self.rng.random_bool(loss) {
                    continue;
                }
                assert_eq!(self.centre.handle(&reply).unwrap(), None);
            }
        }
        panic!("migrations did not settle");
    }

    fn assert_mirrors(&self) {
        for (name, peer) in &self.peers {
            let (ours, theirs) = (self.centre.id_set(name), peer.id_set("X"));
            let only_ours: Vec<_> = ours.difference(&theirs).take(5).collect();
            let only_theirs: Vec<_> = theirs.difference(&ours).take(5).collect();
            assert!(
                only_ours.is_empty() && only_theirs.is_empty(),
                "space for {name}: {} vs {} keys; only at X {only_ours:?}…, only at {name} {only_theirs:?}…",
                ours.len(),
                theirs.len()
            );
        }
        // No key in two spaces of the centre.
        let mut seen = BTreeSet::new();
        for name in self.peers.keys() {
            for id in self.centre.ids(name) {
                assert!(seen.insert(id), "key {id} in two spaces");
            }
        }
        for id in self.centre.journal_ids() {
            assert!(seen.insert(id), "key {id} in a space and in the journal");
        }
    }
}

#[test]
fn migration_survives_loss_and_keeps_both_sides_consistent() {
    let mut w = World::new(&["A", "B", "C"], 1);
    w.generate("A", 200);
    w.generate("B", 10);
    w.generate("C", 50);
    let moved: Vec<u64> = w.centre.ids("A")[..60].to_vec();
    w.centre.begin("A", "B", 60).unwrap();
    // While in flight the moved keys are in the journal only.
    assert_eq!(w.centre.journal_ids(), moved);
    assert!(w.centre.ids("A").iter().all(|id| !moved.contains(id)));
    assert!(w.centre.ids("B").iter().all(|id| !moved.contains(id)));
    let rounds = w.settle(0.4);
    assert!(rounds >= 1);
    w.assert_mirrors();
    // 200 − 60 moved − 1 wrap key; 10 + 60 − 1 wrap key.
    assert_eq!(w.centre.stored("A"), 139);
    assert_eq!(w.centre.stored("B"), 69);
    assert!(moved.iter().all(|id| w.centre.ids("B").contains(id)));
    assert!(moved.iter().all(|id| !w.peers["A"].ids("X").contains(id)));
    // A replayed request is acknowledged again but changes nothing.
    let mut w2 = World::new(&["A", "B"], 2);
    w2.generate("A", 30);
    w2.generate("B", 5);
    w2.centre.begin("A", "B", 10).unwrap();
    let msgs = w2.centre.pending();
    for env in &msgs {
        let p = w2.peers.get_mut(&env.to).unwrap();
        p.handle(env).unwrap();
        let before = p.id_set("X");
        p.handle(env).unwrap();
        assert_eq!(p.id_set("X"), before, "replay changed {}", env.to);
    }
}

#[test]
fn tampered_or_misaddressed_messages_change_nothing() {
    let mut w = World::new(&["A", "B"], 3);
    w.generate("A", 40);
    w.generate("B", 5);
    w.centre.begin("A", "B", 10).unwrap();
    for env in w.centre.pending() {
        let peer = w.peers.get_mut(&env.to).unwrap();
        let before = peer.id_set("X");
        let mut bad = env.clone();
        let last = bad.sealed.len() - 1;
        bad.sealed[last] ^= 1;
        assert!(peer.handle(&bad).is_err());
        let mut wrong_key = env.clone();
        wrong_key.wrap_key_id = 9999;
        assert!(peer.handle(&wrong_key).is_err());
        let mut elsewhere = env.clone();
        elsewhere.to = "Z".into();
        assert!(peer.handle(&elsewhere).is_err());
        assert_eq!(peer.id_set("X"), before);
    }
    assert_eq!(w.settle(0.0), 1);
    w.assert_mirrors();
}

/// Four peers, equal key generation per link, skewed and bursty demand. Without rebalancing
/// the busiest peer runs dry while others overflow; with it shortages fall, and no key is ever
/// handed out twice.
#[test]
fn rebalancing_resolves_shortages_without_duplicating_keys() {
    let run = |rebalance: bool| -> (u64, u64) {
        let names = ["p0", "p1", "p2", "p3"];
        let mean_demand = [32.0, 22.0, 8.0, 4.0];
        let mut w = World::new(&names, 7);
        let mut demand_rng = ChaCha8Rng::seed_from_u64(11);
        let mut trackers: BTreeMap<&str, DemandTracker> = names
            .iter()
            .map(|n| (*n, DemandTracker::new(20.0, 10.0)))
            .collect();
        let mut used = BTreeSet::new();
        let (mut shortage, mut served) = (0u64, 0u64);
        for n in names {
            w.generate(n, 200);
        }
        for second in 0..600 {
            for (i, n) in names.iter().enumerate() {
                w.generate(n, 22);
                // Bursts: every 60 s the busiest peer triples its demand for 10 s.
                let burst = if i == 0 && second % 60 < 10 { 3.0 } else { 1.0 };
                let want = (mean_demand[i] * burst * demand_rng.random_range(0.5..1.5)) as u64;
                let mut got = 0;
                for _ in 0..want {
                    match w.centre.consume(n) {
                        Some(k) => {
                            let mirror = w.peers.get_mut(*n).unwrap().take("X", k.id);
                            assert_eq!(mirror.map(|m| m.material), Some(k.material));
                            assert!(used.insert(k.id), "key {} used twice", k.id);
                            got += 1;
                        }
                        None => shortage += 1,
                    }
                }
                served += got;
                trackers.get_mut(n).unwrap().record_second(want);
            }
            if rebalance && second % 5 == 4 {
                let stats = names
                    .iter()
                    .map(|n| (n.to_string(), trackers[n].stats(w.centre.stored(n) as u64)))
                    .collect();
                for t in plan_transfers(&stats, 50.0) {
                    w.centre.begin(&t.from, &t.to, t.amount as usize).unwrap();
                    w.settle(0.1);
                }
                w.assert_mirrors();
            }
        }
        w.assert_mirrors();
        (shortage, served)
    };
    let (short_without, served_without) = run(false);
    let (short_with, served_with) = run(true);
    println!(
        "shortage without rebalancing {short_without} keys (served {served_without}), with {short_with} (served {served_with})"
    );
    assert!(
        short_without > 1000,
        "the skew should cause shortages: {short_without}"
    );
    assert!(
        short_with * 2 < short_without,
        "rebalancing should at least halve shortages: {short_with} vs {short_without}"
    );
}
