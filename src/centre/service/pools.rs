//! Key-pool rebalancing between the centre's per-peer spaces (issue 7).
//!
//! A space is the set of key units the centre has set aside for one peer SAE: when that SAE
//! requests keys as a master (ETSI 014 "Get key"), they come from its space, and the units it
//! consumed are counted in one-second buckets. From those buckets [`DemandTracker`] derives the
//! consumption rate `S` and peak duration `I`; `F` is configured per space. Thresholds
//! `T = S·I`, `M = S·F` and the transfer rule are those of [`crate::pools::plan`].
//! [`Centre::rebalance_pools`] plans with [`plan_transfers`] and performs each move as one store
//! transaction that also writes both peers' notices to the outbox (the transaction is the
//! journal: after a crash a move is either complete or absent, so no unit is in two spaces and
//! none is lost), then appends a `migrate` audit record.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use super::{now_ms, Centre, CentreError};
use crate::centre::audit::{AuditEntry, AuditEvent};
use crate::centre::etsi::BadRequest;
use crate::centre::store::{Notice, StoreError};
use crate::pools::{plan_transfers, DemandTracker, SpaceState, SpaceStats};

/// Time constant of the consumption-rate EWMA, seconds.
pub const RATE_TAU_S: f64 = 60.0;
/// How much consumption history is replayed for the statistics, seconds.
pub const HISTORY_S: i64 = 3600;
/// The `a %` used when none is configured.
pub const DEFAULT_A_PERCENT: f64 = 50.0;
/// Setting name of `a %`.
pub const A_PERCENT: &str = "a_percent";

/// One space as `qwave centre pools` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpaceReport {
    /// Peer SAE ID.
    pub peer: String,
    /// Units stored.
    pub stored: u64,
    /// Consumption rate `S`, units per second.
    pub s: f64,
    /// Mean consumption-peak duration `I`, seconds.
    pub i: f64,
    /// Replenishment time `F`, seconds.
    pub f: f64,
    /// Upper threshold `T = S·I`.
    pub t: f64,
    /// Lower threshold `M = S·F`.
    pub m: f64,
    /// Surplus, deficit or balanced.
    pub state: SpaceState,
}

/// One completed move between spaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoveReport {
    /// Migration number (outbox key).
    pub migration: i64,
    /// Emigration (surplus) space.
    pub from: String,
    /// Immigration (deficit) space.
    pub to: String,
    /// Units moved.
    pub amount: u64,
}

fn notice_aad(migration: i64, peer: &str, kind: &str) -> Vec<u8> {
    format!("notice:{migration}:{peer}:{kind}").into_bytes()
}

impl Centre {
    /// Creates the space of `peer` (a registered SAE or active terminal) or changes its
    /// replenishment time `F` (seconds, finite, ≥ 0).
    ///
    /// # Errors
    /// 400 for an unknown peer or a bad `F`; storage errors.
    pub fn space_configure(&self, peer: &str, replenish_s: f64) -> Result<(), CentreError> {
        self.check_peer("peer", peer)?;
        if !replenish_s.is_finite() || replenish_s < 0.0 {
            return Err(BadRequest::new("F shall be a finite number of seconds ≥ 0").into());
        }
        self.store.space_configure(peer, replenish_s)?;
        Ok(())
    }

    /// Sets `a %` (in (0, 100]) of the transfer rule.
    ///
    /// # Errors
    /// 400 outside (0, 100]; storage errors.
    pub fn set_a_percent(&self, a: f64) -> Result<(), CentreError> {
        if !(a > 0.0 && a <= 100.0) {
            return Err(BadRequest::new("a % shall be in (0, 100]").into());
        }
        self.store.setting_set(A_PERCENT, a)?;
        Ok(())
    }

    /// The configured `a %` ([`DEFAULT_A_PERCENT`] when unset).
    ///
    /// # Errors
    /// Storage errors.
    pub fn a_percent(&self) -> Result<f64, CentreError> {
        Ok(self
            .store
            .setting_get(A_PERCENT)?
            .unwrap_or(DEFAULT_A_PERCENT))
    }

    /// Moves `units` common-pool units (from the key source) into `peer`'s space: the per-link
    /// key generation that feeds a space.
    ///
    /// # Errors
    /// 400 when `peer` has no space; 503 when the pool is short; storage or audit errors.
    pub fn space_allocate(&self, peer: &str, units: u64) -> Result<(), CentreError> {
        if !self.store.spaces()?.iter().any(|s| s.peer == peer) {
            return Err(BadRequest::new(format!("no space configured for {peer}")).into());
        }
        match self.store.space_allocate(peer, units) {
            Ok(()) => {}
            Err(StoreError::Insufficient { available, needed }) => {
                return Err(CentreError::Unavailable(format!(
                    "not enough keys: {available} of {needed} key units available"
                )))
            }
            Err(e) => return Err(e.into()),
        }
        self.audit(AuditEntry::new(
            AuditEvent::Refill,
            "centre",
            &format!("space:{peer}"),
            format!("units={units}"),
        ))
    }

    /// Records that `peer` consumed `units` now (called by the issuing paths).
    pub(super) fn record_consumption(&self, peer: &str, units: u64) -> Result<(), CentreError> {
        self.store
            .space_demand_add(peer, now_ms().div_euclid(1000), units)?;
        Ok(())
    }

    /// Every space with its statistics as of `now_ms` (Unix ms): the last [`HISTORY_S`] seconds
    /// of buckets, from the first recorded one through the second of `now_ms` (silent seconds
    /// count as zero), are replayed through a [`DemandTracker`] with `τ` = [`RATE_TAU_S`].
    ///
    /// # Errors
    /// Storage errors.
    pub fn pools_at(&self, now_ms: i64) -> Result<Vec<SpaceReport>, CentreError> {
        let now_s = now_ms.div_euclid(1000);
        let mut out = Vec::new();
        for row in self.store.spaces()? {
            let buckets = self.store.space_demand(&row.peer, now_s - HISTORY_S)?;
            let mut tracker = DemandTracker::new(RATE_TAU_S, row.replenish_s);
            if let Some(&(first, _)) = buckets.first() {
                let mut it = buckets.iter().peekable();
                for second in first..=now_s {
                    let mut c = 0;
                    while let Some(&&(s, n)) = it.peek() {
                        if s > second {
                            break;
                        }
                        if s == second {
                            c += n;
                        }
                        it.next();
                    }
                    tracker.record_second(c);
                }
            }
            let st = tracker.stats(row.stored);
            out.push(SpaceReport {
                peer: row.peer,
                stored: st.stored,
                s: st.consumption_rate,
                i: st.peak_duration_s,
                f: st.replenish_s,
                t: st.upper(),
                m: st.lower(),
                state: st.state(),
            });
        }
        Ok(out)
    }

    /// [`Centre::pools_at`] now.
    ///
    /// # Errors
    /// Storage errors.
    pub fn pools(&self) -> Result<Vec<SpaceReport>, CentreError> {
        self.pools_at(now_ms())
    }

    /// One rebalancing step with the statistics as of `now_ms`: plans with [`plan_transfers`]
    /// and performs each transfer as one journaled store transaction (moved units change space,
    /// the emigration peer's `discard` notice and the immigration peer's `keys` notice go to the
    /// outbox, sealed at rest under the master key), each followed by a `migrate` audit record.
    ///
    /// # Errors
    /// Storage, sealing or audit errors; transfers done before the error stay done.
    pub fn rebalance_pools_at(&self, now_ms: i64) -> Result<Vec<MoveReport>, CentreError> {
        let spaces: BTreeMap<String, SpaceStats> = self
            .pools_at(now_ms)?
            .into_iter()
            .map(|r| {
                (
                    r.peer,
                    SpaceStats {
                        stored: r.stored,
                        consumption_rate: r.s,
                        peak_duration_s: r.i,
                        replenish_s: r.f,
                    },
                )
            })
            .collect();
        let plan = plan_transfers(&spaces, self.a_percent()?);
        let mut done = Vec::with_capacity(plan.len());
        for t in plan {
            let master = &self.master;
            let (migration, ids) =
                self.store
                    .space_move(&t.from, &t.to, t.amount, &mut |migration, ids| {
                        let discard = json!({ "migration": migration, "from_space": t.to,
                            "discard": ids.len() })
                        .to_string();
                        let keys = json!({ "migration": migration, "from_space": t.from,
                            "key_ids": ids })
                        .to_string();
                        let mut out = Vec::with_capacity(2);
                        for (peer, kind, body) in
                            [(&t.from, "discard", discard), (&t.to, "keys", keys)]
                        {
                            out.push(Notice {
                                migration,
                                peer: peer.clone(),
                                kind: kind.to_owned(),
                                sealed: master
                                    .seal(&notice_aad(migration, peer, kind), body.as_bytes())?,
                            });
                        }
                        Ok(out)
                    })?;
            self.audit(AuditEntry::new(
                AuditEvent::Migrate,
                "centre",
                &format!("{}->{}", t.from, t.to),
                format!(
                    "migration={migration} units={} first={}",
                    ids.len(),
                    ids.first().map_or("", String::as_str)
                ),
            ))?;
            done.push(MoveReport {
                migration,
                from: t.from,
                to: t.to,
                amount: ids.len() as u64,
            });
        }
        Ok(done)
    }

    /// [`Centre::rebalance_pools_at`] now.
    ///
    /// # Errors
    /// As [`Centre::rebalance_pools_at`].
    pub fn rebalance_pools(&self) -> Result<Vec<MoveReport>, CentreError> {
        self.rebalance_pools_at(now_ms())
    }
}

/// Opens a `notice` written by [`Centre::rebalance_pools`] (operator tooling and tests).
///
/// # Errors
/// [`CentreError::Crypto`] when it does not open under `master`.
pub fn open_notice(
    master: &crate::centre::crypto::MasterKey,
    n: &Notice,
) -> Result<serde_json::Value, CentreError> {
    let plain = master.open(&notice_aad(n.migration, &n.peer, &n.kind), &n.sealed)?;
    serde_json::from_slice(&plain)
        .map_err(|e| CentreError::Store(StoreError::Corrupt(format!("notice body: {e}"))))
}
