//! Routes over the node graph and their charge breakdown. The first node picks the path with
//! the fewest hops (breadth-first search, neighbours in name order, so the choice is
//! deterministic); every node on the path, first and far node included, charges its tariff.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::event::{Charge, MAX_HOPS};
use super::LedgerError;

/// A node graph: tariffs and undirected links.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    tariff: BTreeMap<String, u64>,
    links: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    /// Adds (or re-prices) a node.
    pub fn add_node(&mut self, id: &str, tariff: u64) {
        self.tariff.insert(id.to_owned(), tariff);
        self.links.entry(id.to_owned()).or_default();
    }

    /// Adds an undirected link between two nodes already added.
    ///
    /// # Errors
    /// [`LedgerError::Directory`] if either node is unknown.
    pub fn link(&mut self, a: &str, b: &str) -> Result<(), LedgerError> {
        for n in [a, b] {
            if !self.tariff.contains_key(n) {
                return Err(LedgerError::Directory(format!("unknown node {n}")));
            }
        }
        self.links
            .entry(a.to_owned())
            .or_default()
            .insert(b.to_owned());
        self.links
            .entry(b.to_owned())
            .or_default()
            .insert(a.to_owned());
        Ok(())
    }

    /// Shortest path `from` → `to` (both included) with each node's charge.
    ///
    /// # Errors
    /// [`LedgerError::NoRoute`] if unreachable, unknown, or longer than [`MAX_HOPS`].
    pub fn route(&self, from: &str, to: &str) -> Result<Vec<Charge>, LedgerError> {
        let no = || LedgerError::NoRoute {
            from: from.to_owned(),
            to: to.to_owned(),
        };
        if !self.tariff.contains_key(from) || !self.tariff.contains_key(to) {
            return Err(no());
        }
        let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
        let mut seen: BTreeSet<&str> = BTreeSet::from([from]);
        let mut q = VecDeque::from([from]);
        while let Some(n) = q.pop_front() {
            if n == to {
                break;
            }
            for m in self.links.get(n).into_iter().flatten() {
                if seen.insert(m.as_str()) {
                    prev.insert(m.as_str(), n);
                    q.push_back(m.as_str());
                }
            }
        }
        if !seen.contains(to) {
            return Err(no());
        }
        let mut path = vec![to];
        let mut cur = to;
        while cur != from {
            cur = prev.get(cur).copied().ok_or_else(no)?;
            path.push(cur);
        }
        path.reverse();
        if path.len() > MAX_HOPS {
            return Err(no());
        }
        Ok(path
            .into_iter()
            .map(|n| Charge {
                node: n.to_owned(),
                charge: self.tariff.get(n).copied().unwrap_or(0),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_route_with_charges() {
        let mut g = Graph::default();
        for (n, t) in [("n1", 1), ("n2", 2), ("n3", 3), ("n4", 4)] {
            g.add_node(n, t);
        }
        g.link("n1", "n2").expect("link");
        g.link("n2", "n3").expect("link");
        g.link("n1", "n4").expect("link");
        g.link("n4", "n3").expect("link");
        let r = g.route("n1", "n3").expect("route");
        let names: Vec<_> = r.iter().map(|c| c.node.as_str()).collect();
        assert_eq!(names, ["n1", "n2", "n3"]);
        assert_eq!(r.iter().map(|c| c.charge).sum::<u64>(), 6);
        g.add_node("n5", 1);
        assert!(matches!(
            g.route("n1", "n5"),
            Err(LedgerError::NoRoute { .. })
        ));
    }
}
