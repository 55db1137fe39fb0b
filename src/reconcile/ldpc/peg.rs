//! Quasi-cyclic progressive edge growth (QC-PEG) construction and girth.
//!
//! PEG (Hu, Eleftheriou, Arnold, "Regular and irregular progressive
//! edge-growth Tanner graphs", IEEE Trans. Inf. Theory 51(1), 2005) adds the
//! edges of one variable node at a time, each to a check node as far as
//! possible from that variable in the graph built so far (which maximises the
//! local girth), preferring the check of lowest degree. The quasi-cyclic
//! variant (Li & Kumar, "A class of quasi-cyclic LDPC codes from the PEG
//! algorithm", Asilomar 2004) grows the lifted graph Z edges at a time: an
//! edge of the base matrix at (block row i, block column j) with shift s
//! joins every variable j·Z + t to check i·Z + (t − s) mod Z, and all Z
//! variables of a block column see the same graph up to rotation, so one
//! breadth-first search from variable j·Z scores every (i, s) at once.
//!
//! Extras of this implementation:
//! * degree-2 columns form a staircase (column k joins block rows k and
//!   k + 1 with shift 0, as in the 802.11n/IRA parity part), so the degree-2
//!   variables contain no cycle and hence no low-weight codeword made only of
//!   degree-2 variables (the ACE concern of Tian, Jones, Villasenor, Wesel,
//!   IEEE Trans. Commun. 52(8), 2004, handled structurally);
//! * check degrees are kept concentrated: a block row is a candidate only
//!   while its degree is below ⌈edges / rows⌉;
//! * ties (equal distance, equal degree) are broken by a seeded RNG, so the
//!   construction is reproducible from its [`PegSpec`].

use super::codes::QcCode;
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Why a code cannot be built from a spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PegError {
    /// Sizes are zero, a degree exceeds the number of block rows, or there
    /// are more degree-2 columns than the staircase can hold (rows − 1).
    #[error("degree profile does not fit {rows} block rows and {cols} block columns")]
    Profile {
        /// Block rows.
        rows: usize,
        /// Block columns.
        cols: usize,
    },
}

/// What to build: circulant size, base-matrix size, variable degree profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PegSpec {
    /// Code name.
    pub name: String,
    /// Circulant size Z.
    pub z: usize,
    /// Block rows (m = rows · Z).
    pub rows: usize,
    /// Variable degree profile: (degree, number of block columns); the
    /// counts add up to the block columns (n = cols · Z).
    pub degrees: Vec<(usize, usize)>,
    /// Seed of the tie-breaking RNG.
    pub seed: u64,
}

impl PegSpec {
    /// Number of block columns.
    pub fn cols(&self) -> usize {
        self.degrees.iter().map(|d| d.1).sum()
    }
}

/// Lifted Tanner graph: variables `0..n`, checks `n..n + m`.
struct Graph {
    adj: Vec<Vec<u32>>,
    n: usize,
}

impl Graph {
    fn join(&mut self, z: usize, i: usize, j: usize, s: usize) {
        for t in 0..z {
            let v = j * z + t;
            let c = self.n + i * z + (t + z - s) % z;
            self.adj[v].push(c as u32);
            self.adj[c].push(v as u32);
        }
    }

    /// Breadth-first distances (in edges) from `root`; `u32::MAX` if unreachable.
    fn distances(&self, root: usize, dist: &mut [u32], queue: &mut VecDeque<u32>) {
        dist.fill(u32::MAX);
        dist[root] = 0;
        queue.clear();
        queue.push_back(root as u32);
        while let Some(u) = queue.pop_front() {
            let du = dist[u as usize];
            for &w in &self.adj[u as usize] {
                if dist[w as usize] == u32::MAX {
                    dist[w as usize] = du + 1;
                    queue.push_back(w);
                }
            }
        }
    }
}

/// Builds a QC-LDPC code by QC-PEG (module docs).
///
/// # Errors
/// [`PegError::Profile`] if the profile does not fit the base matrix.
pub fn build(spec: &PegSpec) -> Result<QcCode, PegError> {
    let (z, mb, nb) = (spec.z, spec.rows, spec.cols());
    let bad = PegError::Profile { rows: mb, cols: nb };
    let n2: usize = spec.degrees.iter().filter(|d| d.0 == 2).map(|d| d.1).sum();
    if z == 0
        || mb < 2
        || nb <= mb
        || n2 >= mb
        || spec.degrees.iter().any(|&(d, _)| d < 2 || d > mb)
    {
        return Err(bad);
    }
    let (n, m) = (nb * z, mb * z);
    let edges: usize = spec.degrees.iter().map(|&(d, c)| d * c).sum();
    let cap = edges.div_ceil(mb);
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut g = Graph {
        adj: vec![Vec::new(); n + m],
        n,
    };
    let mut base: Vec<Vec<(u32, u32)>> = vec![Vec::new(); mb];
    let add = |g: &mut Graph, base: &mut Vec<Vec<(u32, u32)>>, i: usize, j: usize, s: usize| {
        g.join(z, i, j, s);
        base[i].push((j as u32, s as u32));
    };
    // Column order: information columns by increasing degree, then the staircase.
    let mut degs: Vec<usize> = Vec::with_capacity(nb);
    let mut sorted = spec.degrees.clone();
    sorted.sort_unstable();
    for &(d, c) in &sorted {
        if d > 2 {
            degs.extend(std::iter::repeat_n(d, c));
        }
    }
    let info = degs.len();
    for k in 0..n2 {
        add(&mut g, &mut base, k, info + k, 0);
        add(&mut g, &mut base, k + 1, info + k, 0);
    }
    let mut dist = vec![0u32; n + m];
    let mut queue = VecDeque::with_capacity(n + m);
    for (j, &d) in degs.iter().enumerate() {
        let mut used = vec![false; mb];
        for _ in 0..d {
            g.distances(j * z, &mut dist, &mut queue);
            // Per block row: farthest distance reachable and the shifts reaching it.
            let mut best: Option<(u32, usize, usize)> = None; // (distance, -degree key, row)
            let mut ties: Vec<usize> = Vec::new();
            let open: Vec<usize> = (0..mb)
                .filter(|&i| !used[i] && base[i].len() < cap)
                .collect();
            let rows: Vec<usize> = if open.is_empty() {
                (0..mb).filter(|&i| !used[i]).collect()
            } else {
                open
            };
            for &i in &rows {
                let far = dist[n + i * z..n + (i + 1) * z]
                    .iter()
                    .copied()
                    .max()
                    .unwrap_or(0);
                let key = (far, usize::MAX - base[i].len());
                match best {
                    Some((bf, bk, _)) if (bf, bk) > key => {}
                    Some((bf, bk, _)) if (bf, bk) == key => ties.push(i),
                    _ => {
                        best = Some((key.0, key.1, i));
                        ties.clear();
                        ties.push(i);
                    }
                }
            }
            let Some(&i) = ties.choose(&mut rng) else {
                return Err(bad);
            };
            let far = dist[n + i * z..n + (i + 1) * z]
                .iter()
                .copied()
                .max()
                .unwrap_or(0);
            let shifts: Vec<usize> = (0..z)
                .filter(|&r| dist[n + i * z + r] == far)
                .map(|r| (z - r) % z)
                .collect();
            let Some(&s) = shifts.choose(&mut rng) else {
                return Err(bad);
            };
            used[i] = true;
            add(&mut g, &mut base, i, j, s);
        }
    }
    for row in &mut base {
        row.sort_unstable();
    }
    QcCode::from_rows(spec.name.clone(), z, nb, &base).map_err(|_| bad)
}

/// Girth (length of the shortest cycle) of the Tanner graph of a QC code;
/// `None` if the graph has no cycle. By the quasi-cyclic symmetry one
/// breadth-first search per block column suffices.
pub fn girth(code: &QcCode) -> Option<usize> {
    let (z, n, m) = (code.z(), code.n(), code.m());
    let mut g = Graph {
        adj: vec![Vec::new(); n + m],
        n,
    };
    for i in 0..code.block_rows() {
        for (c, s) in code.row(i) {
            g.join(z, i, c, s);
        }
    }
    let mut best = usize::MAX;
    let mut dist = vec![u32::MAX; n + m];
    let mut parent = vec![u32::MAX; n + m];
    let mut queue = VecDeque::new();
    for j in 0..code.block_cols() {
        let root = j * z;
        dist.fill(u32::MAX);
        dist[root] = 0;
        parent[root] = u32::MAX;
        queue.clear();
        queue.push_back(root as u32);
        'bfs: while let Some(u) = queue.pop_front() {
            let du = dist[u as usize] as usize;
            if 2 * du + 1 >= best {
                break;
            }
            for &w in &g.adj[u as usize] {
                if dist[w as usize] == u32::MAX {
                    dist[w as usize] = (du + 1) as u32;
                    parent[w as usize] = u;
                    queue.push_back(w);
                } else if w != parent[u as usize] {
                    best = best.min(du + dist[w as usize] as usize + 1);
                    if 2 * du + 1 >= best {
                        break 'bfs;
                    }
                }
            }
        }
    }
    (best != usize::MAX).then_some(best)
}
