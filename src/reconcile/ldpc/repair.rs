//! Repair of decoder stalls confined to degree-2 variables.
//!
//! The configuration-model layout ([`super::peg::Layout::Random`]) lets the
//! degree-2 columns form long chains. An error that runs along such a chain
//! leaves only its two end checks unsatisfied, and belief propagation,
//! whose messages cross a degree-2 node unchanged, may never correct it: on
//! 1M-r070 at Q = 5 % (1000 blocks), 10 of the 13 blocks that needed a blind
//! round had stopped at the iteration cap with 2–8 unsatisfied checks (3000
//! iterations did not help either); the other 3 converged to a wrong word
//! (`docs/ldpc-long-codes.md`, "Session 20").
//!
//! Checks as vertices and degree-2 variables as edges form a graph. Flipping
//! the variables of a path toggles exactly its two end checks, so a set of
//! flips confined to degree-2 variables that satisfies every check is a
//! T-join of that graph with T the unsatisfied checks, and the cheapest one
//! (cost of a flip: how sure the decoder was of the bit) is found by
//! shortest paths between the checks of T and a minimum-cost perfect
//! matching of them (J. Edmonds, E. L. Johnson, "Matching, Euler tours and
//! the Chinese postman", Math. Programming 5, 1973). With few unsatisfied
//! checks the matching is a small dynamic programme over subsets. Bob tries
//! the result once; the block hash still decides whether it is Alice's
//! word, so a wrong repair costs a blind round, never a wrong key.

use super::codes::QcCode;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// Most unsatisfied checks a repair is tried for (the matching's dynamic
/// programme has 2^T states).
pub const MAX_UNSATISFIED: usize = 12;

/// Most checks one shortest-path search visits before giving up on the
/// terminals it has not reached.
const MAX_VISITED: usize = 1 << 16;

/// The degree-2 variables of a code as edges between their two checks.
#[derive(Clone, Debug)]
pub struct Degree2Graph {
    /// Per check, the range of its entries in `adj`.
    start: Vec<u32>,
    /// (other check, variable) per incident degree-2 variable.
    adj: Vec<(u32, u32)>,
}

impl Degree2Graph {
    /// The graph of `code`'s degree-2 variables.
    pub fn new(code: &QcCode) -> Self {
        let z = code.z();
        let mut ends: Vec<(u32, u32, u32)> = Vec::new();
        for (j, entries) in code.column_entries().iter().enumerate() {
            if let [(i0, s0), (i1, s1)] = entries[..] {
                for t in 0..z {
                    let c0 = code.check_of(i0, s0, t);
                    let c1 = code.check_of(i1, s1, t);
                    ends.push((c0 as u32, c1 as u32, (j * z + t) as u32));
                }
            }
        }
        let mut degree = vec![0u32; code.m() + 1];
        for &(a, b, _) in &ends {
            degree[a as usize] += 1;
            degree[b as usize] += 1;
        }
        let mut start = vec![0u32; code.m() + 1];
        for c in 0..code.m() {
            start[c + 1] = start[c] + degree[c];
        }
        let mut fill = start.clone();
        let mut adj = vec![(0, 0); start[code.m()] as usize];
        for &(a, b, v) in &ends {
            adj[fill[a as usize] as usize] = (b, v);
            fill[a as usize] += 1;
            adj[fill[b as usize] as usize] = (a, v);
            fill[b as usize] += 1;
        }
        Degree2Graph { start, adj }
    }

    fn neighbours(&self, c: u32) -> &[(u32, u32)] {
        let c = c as usize;
        match (self.start.get(c), self.start.get(c + 1)) {
            (Some(&a), Some(&b)) => &self.adj[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The cheapest set of degree-2 variables whose flips toggle exactly the
    /// checks in `unsatisfied` (a minimum T-join), with `cost(v)` the price
    /// of flipping variable v; `None` if there are none or more than
    /// [`MAX_UNSATISFIED`] of them, an odd number, or some cannot be joined
    /// within the search bound. The variables come sorted.
    pub fn cheapest_flips(
        &self,
        unsatisfied: &[u32],
        cost: impl Fn(usize) -> u32,
    ) -> Option<Vec<u32>> {
        let t = unsatisfied.len();
        if t == 0 || t > MAX_UNSATISFIED || t % 2 == 1 {
            return None;
        }
        // Shortest paths from every terminal (Dijkstra, bounded).
        let mut dist = vec![vec![u64::MAX; t]; t];
        let mut trees = Vec::with_capacity(t);
        for (a, &src) in unsatisfied.iter().enumerate() {
            let tree = self.shortest_paths(src, unsatisfied, &cost);
            for (b, &dst) in unsatisfied.iter().enumerate() {
                if let Some(&(d, _, _)) = tree.get(&dst) {
                    dist[a][b] = d;
                }
            }
            trees.push(tree);
        }
        let pairs = min_cost_pairing(&dist)?;
        let mut flips: Vec<u32> = Vec::new();
        for (a, b) in pairs {
            let tree = &trees[a];
            let mut c = unsatisfied[b];
            while c != unsatisfied[a] {
                let &(_, prev, v) = tree.get(&c)?;
                flips.push(v);
                c = prev;
            }
        }
        // A variable on two paths is flipped twice: not at all.
        flips.sort_unstable();
        let mut out: Vec<u32> = Vec::with_capacity(flips.len());
        let mut i = 0;
        while i < flips.len() {
            let mut j = i;
            while j < flips.len() && flips[j] == flips[i] {
                j += 1;
            }
            if (j - i) % 2 == 1 {
                out.push(flips[i]);
            }
            i = j;
        }
        Some(out)
    }

    /// Dijkstra from `src` until every terminal is settled or
    /// [`MAX_VISITED`] checks are: check → (distance, previous check, the
    /// variable between them).
    fn shortest_paths(
        &self,
        src: u32,
        terminals: &[u32],
        cost: &impl Fn(usize) -> u32,
    ) -> HashMap<u32, (u64, u32, u32)> {
        let mut best: HashMap<u32, (u64, u32, u32)> = HashMap::new();
        let mut settled: HashSet<u32> = HashSet::new();
        let mut heap = BinaryHeap::new();
        best.insert(src, (0, src, u32::MAX));
        heap.push(Reverse((0u64, src)));
        let mut left = terminals.len();
        while let Some(Reverse((d, c))) = heap.pop() {
            if !settled.insert(c) {
                continue;
            }
            if terminals.contains(&c) {
                left -= 1;
                if left == 0 {
                    break;
                }
            }
            if settled.len() >= MAX_VISITED {
                break;
            }
            for &(o, v) in self.neighbours(c) {
                let nd = d + u64::from(cost(v as usize)) + 1;
                if best.get(&o).is_none_or(|&(od, _, _)| nd < od) {
                    best.insert(o, (nd, c, v));
                    heap.push(Reverse((nd, o)));
                }
            }
        }
        best.retain(|c, _| settled.contains(c));
        best
    }
}

/// Minimum-cost perfect matching of the terminals by the distances `dist`
/// (dynamic programme over subsets: pair the lowest unpaired terminal with
/// each other one); `None` if none has finite cost.
fn min_cost_pairing(dist: &[Vec<u64>]) -> Option<Vec<(usize, usize)>> {
    let t = dist.len();
    let full = (1usize << t) - 1;
    // best[mask] = cheapest pairing of the terminals in `mask`.
    let mut best = vec![u64::MAX; 1 << t];
    let mut choice = vec![(0usize, 0usize); 1 << t];
    best[0] = 0;
    for mask in 1..=full {
        if mask.count_ones() % 2 == 1 {
            continue;
        }
        let a = mask.trailing_zeros() as usize;
        for b in a + 1..t {
            if mask & (1 << b) == 0 || dist[a][b] == u64::MAX {
                continue;
            }
            let rest = best[mask & !(1 << a) & !(1 << b)];
            if rest == u64::MAX {
                continue;
            }
            let c = rest.saturating_add(dist[a][b]);
            if c < best[mask] {
                best[mask] = c;
                choice[mask] = (a, b);
            }
        }
    }
    if best[full] == u64::MAX {
        return None;
    }
    let mut pairs = Vec::with_capacity(t / 2);
    let mut mask = full;
    while mask != 0 {
        let (a, b) = choice[mask];
        pairs.push((a, b));
        mask &= !(1 << a) & !(1 << b);
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::ldpc::codes::{Length, Rate};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// IEEE 802.11n, n = 648, rate 1/2: its degree-2 parity columns form a
    /// staircase, so in every lane the degree-2 graph is one path through
    /// the 12 block rows and any two checks of a lane have one path.
    fn code() -> QcCode {
        QcCode::ieee80211n(Length::N648, Rate::R12)
    }

    /// Variables met walking `steps` degree-2 edges from check `c`, never
    /// back over the edge just taken.
    fn walk(g: &Degree2Graph, mut c: u32, steps: usize) -> Vec<u32> {
        let mut vars: Vec<u32> = Vec::new();
        for _ in 0..steps {
            let &(next, v) = g
                .neighbours(c)
                .iter()
                .find(|&&(_, v)| vars.last() != Some(&v))
                .expect("the path goes on");
            vars.push(v);
            c = next;
        }
        vars
    }

    /// Alice's random word and its syndrome; Bob's word is hers with
    /// `errors` flipped; returns (Alice, syndrome, Bob, Bob's unsatisfied checks).
    fn frame(code: &QcCode, errors: &[u32]) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let alice: Vec<u8> = (0..code.n()).map(|_| rng.random::<bool>() as u8).collect();
        let mut syn = vec![0; code.m()];
        code.syndrome(&alice, &mut syn).unwrap();
        let mut bob = alice.clone();
        for &v in errors {
            bob[v as usize] ^= 1;
        }
        let mut s = vec![0; code.m()];
        code.syndrome(&bob, &mut s).unwrap();
        let unsat = (0..code.m() as u32)
            .filter(|&c| s[c as usize] != syn[c as usize])
            .collect();
        (alice, syn, bob, unsat)
    }

    #[test]
    fn an_error_along_a_degree_two_chain_is_undone() {
        let code = code();
        let g = Degree2Graph::new(&code);
        // From lane 5 of block row 0 (the staircase's end), four degree-2
        // variables along it.
        let chain = walk(&g, 5, 4);
        let (alice, syn, mut bob, unsat) = frame(&code, &chain);
        assert_eq!(
            unsat.len(),
            2,
            "a chain leaves only its two ends unsatisfied"
        );
        let flips = g.cheapest_flips(&unsat, |_| 1).expect("joined");
        let mut sorted = chain.clone();
        sorted.sort_unstable();
        assert_eq!(flips, sorted);
        for v in flips {
            bob[v as usize] ^= 1;
        }
        assert!(code.is_codeword_for(&bob, &syn));
        assert_eq!(bob, alice);
    }

    #[test]
    fn two_chains_are_paired_end_to_end() {
        let code = code();
        let g = Degree2Graph::new(&code);
        let mut errors = walk(&g, 3, 3);
        errors.extend(walk(&g, 20, 2));
        let (alice, _, mut bob, unsat) = frame(&code, &errors);
        assert_eq!(unsat.len(), 4);
        for v in g.cheapest_flips(&unsat, |_| 1).expect("joined") {
            bob[v as usize] ^= 1;
        }
        assert_eq!(bob, alice);
    }

    #[test]
    fn flips_avoid_the_variables_the_decoder_is_sure_of() {
        // Z = 1, four degree-2 columns closing the cycle of checks
        // 0 –a– 1 –b– 2 –c– 3 –d– 0: checks 0 and 2 are joined by {a, b}
        // or by {c, d}.
        let rows: Vec<Vec<(u32, u32)>> = vec![
            vec![(0, 0), (3, 0)],
            vec![(0, 0), (1, 0)],
            vec![(1, 0), (2, 0)],
            vec![(2, 0), (3, 0)],
        ];
        let code = QcCode::from_rows("cycle", 1, 4, &rows).unwrap();
        let g = Degree2Graph::new(&code);
        let ab = g.cheapest_flips(&[0, 2], |v| if v == 3 { 50 } else { 1 });
        assert_eq!(ab, Some(vec![0, 1]));
        let cd = g.cheapest_flips(&[0, 2], |v| if v == 1 { 50 } else { 1 });
        assert_eq!(cd, Some(vec![2, 3]));
    }

    #[test]
    fn no_repair_without_a_join() {
        let code = code();
        let g = Degree2Graph::new(&code);
        assert_eq!(g.cheapest_flips(&[], |_| 1), None, "nothing to repair");
        assert_eq!(g.cheapest_flips(&[0, 1, 2], |_| 1), None, "odd count");
        let many: Vec<u32> = (0..MAX_UNSATISFIED as u32 + 2).collect();
        assert_eq!(g.cheapest_flips(&many, |_| 1), None, "too many");
        // Lanes 0 and 1 of block row 0: their staircase paths never meet.
        assert_eq!(g.cheapest_flips(&[0, 1], |_| 1), None, "no path");
        // Out-of-range checks have no edges.
        assert_eq!(g.cheapest_flips(&[0, u32::MAX], |_| 1), None);
    }

    #[test]
    fn pairing_takes_the_cheapest_perfect_matching() {
        let inf = u64::MAX;
        // (0,1)+(2,3) = 20, (0,2)+(1,3) = 11, (0,3)+(1,2) = inf.
        let d = vec![
            vec![0, 10, 5, inf],
            vec![10, 0, inf, 6],
            vec![5, inf, 0, 10],
            vec![inf, 6, 10, 0],
        ];
        let mut pairs = min_cost_pairing(&d).expect("matching");
        pairs.sort_unstable();
        assert_eq!(pairs, vec![(0, 2), (1, 3)]);
        let none = vec![vec![0, inf], vec![inf, 0]];
        assert_eq!(min_cost_pairing(&none), None);
    }
}
