//! Where the slices go: `m` trusted-institution nodes and client nodes, each holding `i`
//! slices, checked before anything is distributed.

use super::BackupError;

/// A placement plan's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Total slices `n`.
    pub slices: usize,
    /// Slices needed to restore `k`.
    pub threshold: usize,
    /// Trusted-institution nodes `m`.
    pub trusted_nodes: usize,
    /// Slices per node `i`.
    pub per_node: usize,
}

/// One node's share of the slices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeShare {
    /// `trusted-1`, …, `client-1`, ….
    pub node: String,
    /// Slice indices it holds.
    pub slices: Vec<usize>,
}

impl Placement {
    /// Checks the constraints and assigns slices: trusted nodes first, `i` slices each, the rest
    /// to as many client nodes as needed.
    ///
    /// Constraints: `i ≥ 1`; no single node can restore alone (`i < k`); the trusted nodes
    /// together can (`m·i ≥ k`, the recovery path when the terminal is lost); the client nodes
    /// alone cannot (`n − m·i < k`).
    ///
    /// # Errors
    /// [`BackupError::BadPlacement`] naming the violated constraint.
    pub fn assign(&self) -> Result<Vec<NodeShare>, BackupError> {
        let Placement {
            slices: n,
            threshold: k,
            trusted_nodes: m,
            per_node: i,
        } = *self;
        let fail = |why: String| Err(BackupError::BadPlacement(why));
        if i == 0 || m == 0 {
            return fail("need at least one trusted node and one slice per node".into());
        }
        if i >= k {
            return fail(format!(
                "a node holding {i} slices could restore alone (threshold {k})"
            ));
        }
        if m * i < k {
            return fail(format!(
                "the {m} trusted nodes hold {} slices, fewer than the threshold {k}",
                m * i
            ));
        }
        let trusted_total = (m * i).min(n);
        if n - trusted_total >= k {
            return fail(format!(
                "the client nodes together would hold {} slices, enough to restore without a trusted node",
                n - trusted_total
            ));
        }
        let mut out = Vec::new();
        let mut next = 0;
        for t in 0..m {
            let take = i.min(n - next);
            out.push(NodeShare {
                node: format!("trusted-{}", t + 1),
                slices: (next..next + take).collect(),
            });
            next += take;
        }
        let mut c = 0;
        while next < n {
            let take = i.min(n - next);
            c += 1;
            out.push(NodeShare {
                node: format!("client-{c}"),
                slices: (next..next + take).collect(),
            });
            next += take;
        }
        Ok(out)
    }
}
