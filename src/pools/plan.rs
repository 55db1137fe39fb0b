//! Per-peer key storage spaces and the rebalancing rule.
//!
//! A node keeps one key storage space per peer. For each it tracks the stored amount, the
//! consumption rate `S` (keys/s), the mean duration of consumption peaks `I` (s) and the time
//! `F` (s) needed to replenish. Upper threshold `T = S·I` (enough to ride out a peak), lower
//! threshold `M = S·F` (enough to last until a refill arrives). Above `T` a space has a
//! surplus (emigration space), below `M` a deficit (immigration space).
//!
//! Amount moved from a surplus space `s` to a deficit space `d`: if `(s − T_s) > (M_d − d)`, what
//! the deficit space lacks, `M_d − d`; otherwise `a %` of `(s − T_s)`, `a ∈ (0, 100]`. When
//! `T_s < M_s` the excess is taken above `max(T_s, M_s)` instead (see [`SpaceStats::excess`]).

use std::collections::BTreeMap;

/// Identifies a peer (and so a storage space).
pub type PeerId = String;

/// Demand statistics of one storage space.
#[derive(Clone, Debug, PartialEq)]
pub struct SpaceStats {
    /// Keys stored.
    pub stored: u64,
    /// Consumption rate `S`, keys per second.
    pub consumption_rate: f64,
    /// Mean duration of consumption peaks `I`, seconds.
    pub peak_duration_s: f64,
    /// Time needed to replenish `F`, seconds.
    pub replenish_s: f64,
}

/// Where a space stands against its thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpaceState {
    /// Above `T`: can give keys away.
    Surplus,
    /// Below `M`: needs keys.
    Deficit,
    /// Between `M` and `T`.
    Balanced,
}

impl SpaceStats {
    /// Upper threshold `T = S·I`.
    pub fn upper(&self) -> f64 {
        self.consumption_rate * self.peak_duration_s
    }

    /// Lower threshold `M = S·F`.
    pub fn lower(&self) -> f64 {
        self.consumption_rate * self.replenish_s
    }

    /// Surplus, deficit or balanced. When `T < M` (peaks shorter than a refill) a space can be
    /// above `T` and below `M` at once; it is then a deficit: it would run dry before its
    /// refill, so it must not give keys away.
    pub fn state(&self) -> SpaceState {
        let s = self.stored as f64;
        if s < self.lower() {
            SpaceState::Deficit
        } else if s > self.upper() {
            SpaceState::Surplus
        } else {
            SpaceState::Balanced
        }
    }
    /// Keys the space can give without falling below either threshold: `stored − max(T, M)`.
    /// With `T ≥ M` this is the issue's `s − T`; with `T < M` it also keeps a surplus space
    /// from dropping below its own `M` (which would make it a deficit space and the plan
    /// oscillate).
    pub fn excess(&self) -> f64 {
        self.stored as f64 - self.upper().max(self.lower())
    }

    /// Keys the space lacks to reach `M`: `M − stored`.
    pub fn lack(&self) -> f64 {
        self.lower() - self.stored as f64
    }
}

/// One planned move of keys between two spaces of the same node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// Emigration (surplus) space.
    pub from: PeerId,
    /// Immigration (deficit) space.
    pub to: PeerId,
    /// Keys to move.
    pub amount: u64,
}

/// Amount to move from a surplus space to a deficit space (the rule in the module docs);
/// `a_percent` is clamped to (0, 100].
pub fn transfer_amount(surplus: &SpaceStats, deficit: &SpaceStats, a_percent: f64) -> u64 {
    let excess = surplus.excess();
    let lack = deficit.lack();
    if excess <= 0.0 || lack <= 0.0 {
        return 0;
    }
    let a = a_percent.clamp(f64::MIN_POSITIVE, 100.0) / 100.0;
    let amount = if excess > lack { lack } else { a * excess };
    amount.ceil().min(excess.floor()).max(0.0) as u64
}

/// Plans transfers for one node: repeatedly pairs the space with the largest excess with the
/// one with the largest lack, until no surplus or no deficit is left (at most `2·spaces`
/// transfers).
pub fn plan_transfers(spaces: &BTreeMap<PeerId, SpaceStats>, a_percent: f64) -> Vec<Transfer> {
    let mut s = spaces.clone();
    let mut out: Vec<Transfer> = Vec::new();
    for _ in 0..2 * spaces.len() {
        let Some((from, _)) = s
            .iter()
            .filter(|(_, x)| x.state() == SpaceState::Surplus && x.excess() >= 1.0)
            .max_by(|a, b| a.1.excess().total_cmp(&b.1.excess()))
        else {
            break;
        };
        let Some((to, _)) = s
            .iter()
            .filter(|(_, x)| x.state() == SpaceState::Deficit)
            .max_by(|a, b| a.1.lack().total_cmp(&b.1.lack()))
        else {
            break;
        };
        let (from, to) = (from.clone(), to.clone());
        let amount = transfer_amount(&s[&from], &s[&to], a_percent);
        if amount == 0 {
            break;
        }
        if let Some(x) = s.get_mut(&from) {
            x.stored -= amount;
        }
        if let Some(x) = s.get_mut(&to) {
            x.stored += amount;
        }
        out.push(Transfer { from, to, amount });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(stored: u64, s: f64, i: f64, f: f64) -> SpaceStats {
        SpaceStats {
            stored,
            consumption_rate: s,
            peak_duration_s: i,
            replenish_s: f,
        }
    }

    #[test]
    fn thresholds_and_states() {
        let x = space(500, 10.0, 30.0, 20.0);
        assert_eq!((x.upper(), x.lower()), (300.0, 200.0));
        assert_eq!(x.state(), SpaceState::Surplus);
        assert_eq!(space(100, 10.0, 30.0, 20.0).state(), SpaceState::Deficit);
        assert_eq!(space(250, 10.0, 30.0, 20.0).state(), SpaceState::Balanced);
        // T = 10 < M = 200: above T but below M is a deficit, not a surplus.
        assert_eq!(space(100, 10.0, 1.0, 20.0).state(), SpaceState::Deficit);
        assert_eq!(space(300, 10.0, 1.0, 20.0).state(), SpaceState::Surplus);
    }

    #[test]
    fn amount_rule_both_branches() {
        // Excess 200 > lack 50: move the lack.
        let sur = space(500, 10.0, 30.0, 20.0);
        let def = space(150, 10.0, 30.0, 20.0);
        assert_eq!(transfer_amount(&sur, &def, 40.0), 50);
        // Excess 200 ≤ lack 250 (M = 400): move 40 % of the excess.
        let def = space(150, 20.0, 30.0, 20.0);
        assert_eq!(transfer_amount(&sur, &def, 40.0), 80);
        assert_eq!(transfer_amount(&sur, &def, 100.0), 200);
        // Nothing to move when either side is inside its band.
        assert_eq!(
            transfer_amount(&space(250, 10.0, 30.0, 20.0), &def, 50.0),
            0
        );
    }

    #[test]
    fn short_peaks_do_not_drain_a_surplus_space_below_its_own_m() {
        // T = 2 < M = 60 for the giver: it may give 398 − 60, not 398 − 2.
        let sur = space(398, 2.0, 1.0, 30.0);
        let def = space(60, 40.0, 1.0, 30.0); // lack 1140
        assert_eq!(transfer_amount(&sur, &def, 100.0), 338);
        let mut m = BTreeMap::new();
        m.insert("warm".to_owned(), sur);
        m.insert("hot".to_owned(), def);
        let plan = plan_transfers(&m, 50.0);
        assert!(
            plan.iter().all(|t| t.from == "warm" && t.to == "hot"),
            "{plan:?}"
        );
        let moved: u64 = plan.iter().map(|t| t.amount).sum();
        assert!(398 - moved >= 60, "{plan:?}");
    }

    #[test]
    fn plan_pairs_largest_excess_with_largest_lack() {
        let mut m = BTreeMap::new();
        m.insert("a".to_owned(), space(1000, 10.0, 30.0, 20.0)); // excess 700
        m.insert("b".to_owned(), space(10, 10.0, 30.0, 20.0)); // lack 190
        m.insert("c".to_owned(), space(100, 10.0, 30.0, 20.0)); // lack 100
        m.insert("d".to_owned(), space(250, 10.0, 30.0, 20.0));
        let plan = plan_transfers(&m, 50.0);
        assert_eq!(
            plan,
            vec![
                Transfer {
                    from: "a".into(),
                    to: "b".into(),
                    amount: 190
                },
                Transfer {
                    from: "a".into(),
                    to: "c".into(),
                    amount: 100
                },
            ]
        );
    }
}
