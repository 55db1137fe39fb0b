//! Key-pool rebalancing between the centre's per-peer spaces (issue 7).
//!
//! A space is the set of key units the centre has set aside for one peer SAE: when that SAE
//! requests keys as a master (ETSI 014 "Get key"), they come from its space, and the units it
//! consumed are counted in one-second buckets. From those buckets [`DemandTracker`] derives the
//! consumption rate `S` and peak duration `I`; `F` is configured per space. Thresholds
//! `T = S·I`, `M = S·F` and the transfer rule are those of [`crate::pools::plan`].
//! [`Centre::rebalance_pools`] plans with [`plan_transfers`] and performs each move as one store
//! transaction that also writes both peers' notices to the outbox and the `migrate` audit record
//! (the transaction is the journal: after a crash a move is either complete or absent, so no
//! unit is in two spaces and none is lost).
//!
//! Peers share their space with the centre: [`Centre::space_sync`] hands a peer the units of its
//! space it does not hold yet, [`Centre::space_sync_ack`] marks them shared. Notices are
//! delivered by [`Centre::notices_for`], each encrypted under a shared unit of the addressed
//! peer's space ([`crate::pools::notice`]), and removed with their notice key only on
//! [`Centre::notice_ack`]; see `docs/pools.md` for the exactly-once argument.

use std::collections::BTreeMap;

use serde::Serialize;
use zeroize::Zeroizing;

use super::{b64, now_ms, Centre, CentreError};
use crate::centre::audit::{self, AuditEntry, AuditEvent};
use crate::centre::crypto::MasterKey;
use crate::centre::etsi::BadRequest;
use crate::centre::store::{Notice, PoolUnit, StoreError};
use crate::pools::notice::{seal_notice, NoticeBody, NoticeKind, UnitKey, WireNotice};
use crate::pools::{plan_transfers, DemandTracker, SpaceState, SpaceStats, Transfer};

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

/// One unit handed to its peer by a sync.
#[derive(Debug, Clone, Serialize)]
pub struct SyncUnit {
    /// Unit ID.
    pub id: String,
    /// Key material, base64.
    pub key: String,
}

/// Reply of [`Centre::space_sync`].
#[derive(Debug, Clone, Serialize)]
pub struct SyncReply {
    /// The peer (caller).
    pub peer: String,
    /// Units of its space it does not hold yet (acknowledge with [`Centre::space_sync_ack`]).
    pub units: Vec<SyncUnit>,
    /// Units consumed from its space (ETSI `enc_keys`): drop them, then acknowledge.
    pub consumed: Vec<String>,
}

/// Reply of [`Centre::notices_for`].
#[derive(Debug, Clone, Serialize)]
pub struct NoticesReply {
    /// Notices ready for the caller, in migration order (apply in this order, then ack each).
    pub notices: Vec<WireNotice>,
    /// Notices after them that wait for a unit shared with the caller (sync first).
    pub waiting: u64,
}

fn notice_aad(migration: i64, peer: &str, kind: &str) -> Vec<u8> {
    format!("notice:{migration}:{peer}:{kind}").into_bytes()
}

fn unit_key(master: &MasterKey, u: &PoolUnit) -> Result<UnitKey, StoreError> {
    Ok(UnitKey {
        id: u.id.clone(),
        key: master.open(format!("pool:{}", u.id).as_bytes(), &u.sealed)?,
    })
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
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
    /// and performs each transfer with [`Centre::space_transfer`] (one journaled transaction
    /// each, its `migrate` audit record included).
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
        for t in &plan {
            done.push(self.space_transfer(t)?);
        }
        Ok(done)
    }

    /// Performs one transfer as one journaled store transaction: the `amount` oldest movable
    /// units of `t.from` change space, the emigration peer's `discard` notice and the immigration
    /// peer's `keys` notice go to the outbox (sealed at rest under the master key), and the
    /// `migrate` audit record is chained, all or nothing.
    ///
    /// # Errors
    /// 503 when `t.from` holds fewer movable units; storage, sealing or audit errors.
    pub fn space_transfer(&self, t: &Transfer) -> Result<MoveReport, CentreError> {
        let master = &self.master;
        // The audit record is chained inside the move's transaction; the lock keeps the head
        // anchor in step with other appenders.
        let _g = self
            .audit_lock
            .lock()
            .map_err(|_| CentreError::Audit("lock poisoned".into()))?;
        let moved = match self.store.space_move(
            &t.from,
            &t.to,
            t.amount,
            now_ms(),
            &mut |migration, units| {
                let ids: Vec<String> = units.iter().map(|u| u.id.clone()).collect();
                let keys = units
                    .iter()
                    .map(|u| unit_key(master, u))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut out = Vec::with_capacity(2);
                for (peer, body) in [
                    (&t.from, NoticeBody::Discard(ids.clone())),
                    (&t.to, NoticeBody::Keys(keys)),
                ] {
                    let kind = body.kind().as_str();
                    let plain = body.encode().map_err(corrupt)?;
                    out.push(Notice {
                        migration,
                        peer: peer.clone(),
                        kind: kind.to_owned(),
                        sealed: master.seal(&notice_aad(migration, peer, kind), &plain)?,
                    });
                }
                let entry = AuditEntry::new(
                    AuditEvent::Migrate,
                    "centre",
                    &format!("{}->{}", t.from, t.to),
                    format!(
                        "migration={migration} units={} first={}",
                        ids.len(),
                        ids.first().map_or("", String::as_str)
                    ),
                );
                Ok((out, entry))
            },
        ) {
            Ok(m) => m,
            Err(StoreError::Insufficient { available, needed }) => {
                return Err(CentreError::Unavailable(format!(
                    "space {} holds {available} movable units, {needed} asked",
                    t.from
                )))
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(p) = &self.cfg.audit_head {
            audit::write_head(p, moved.audit.seq, &moved.audit.hash)
                .map_err(|e| CentreError::Audit(e.to_string()))?;
        }
        Ok(MoveReport {
            migration: moved.migration,
            from: t.from.clone(),
            to: t.to.clone(),
            amount: moved.ids.len() as u64,
        })
    }

    /// [`Centre::rebalance_pools_at`] now.
    ///
    /// # Errors
    /// As [`Centre::rebalance_pools_at`].
    pub fn rebalance_pools(&self) -> Result<Vec<MoveReport>, CentreError> {
        self.rebalance_pools_at(now_ms())
    }

    /// Checks that `caller` is an SAE in service with a space.
    fn space_peer(&self, caller: &str) -> Result<(), CentreError> {
        self.authorise_sae(caller)?;
        if self.store.spaces()?.iter().any(|s| s.peer == caller) {
            Ok(())
        } else {
            Err(BadRequest::new(format!("no space configured for {caller}")).into())
        }
    }

    /// A peer's sync: the units of its space it does not hold yet (oldest first; units in flight
    /// to it in an unacknowledged `keys` notice excluded) and the units consumed from its space.
    /// Changes nothing: the peer stores them, then acknowledges with
    /// [`Centre::space_sync_ack`]; a lost reply is asked again.
    ///
    /// # Errors
    /// 401 for an SAE not in service, 400 without a space; storage or unsealing errors.
    pub fn space_sync(&self, caller: &str) -> Result<SyncReply, CentreError> {
        self.space_peer(caller)?;
        let s = self.store.space_sync(caller)?;
        let mut units = Vec::with_capacity(s.units.len());
        for u in &s.units {
            let k = unit_key(&self.master, u)?;
            units.push(SyncUnit {
                id: k.id.clone(),
                key: b64(&k.key),
            });
        }
        Ok(SyncReply {
            peer: caller.to_owned(),
            units,
            consumed: s.consumed,
        })
    }

    /// The peer has stored the units `shared` and dropped the consumed IDs `consumed`: from now
    /// on the centre may encrypt notices to it under those units. Idempotent. Returns how many
    /// units became shared and how many consumed IDs were forgotten.
    ///
    /// # Errors
    /// As [`Centre::space_sync`].
    pub fn space_sync_ack(
        &self,
        caller: &str,
        shared: &[String],
        consumed: &[String],
    ) -> Result<(u64, u64), CentreError> {
        self.space_peer(caller)?;
        Ok(self.store.space_sync_ack(caller, shared, consumed)?)
    }

    /// The caller's outbox notices ready for delivery, each encrypted under a unit of its space
    /// shared with it (see [`crate::centre::store::SpaceStore::notices_deliver`]); identical on
    /// every call until acknowledged.
    ///
    /// # Errors
    /// As [`Centre::space_sync`].
    pub fn notices_for(&self, caller: &str) -> Result<NoticesReply, CentreError> {
        self.space_peer(caller)?;
        let master = &self.master;
        let (ready, waiting) = self.store.notices_deliver(caller, &mut |n, key| {
            let plain = Zeroizing::new(
                master
                    .open(&notice_aad(n.migration, &n.peer, &n.kind), &n.sealed)?
                    .to_vec(),
            );
            let body = NoticeBody::decode(&plain).map_err(corrupt)?;
            let w = seal_notice(n.migration, &n.peer, &body, &unit_key(master, key)?)
                .map_err(corrupt)?;
            serde_json::to_vec(&w).map_err(corrupt)
        })?;
        let notices = ready
            .iter()
            .map(|o| serde_json::from_slice(&o.wire).map_err(corrupt))
            .collect::<Result<_, _>>()?;
        Ok(NoticesReply { notices, waiting })
    }

    /// The caller has applied notice `id` (`MIGRATION-KIND`): it leaves the outbox with its
    /// notice key, and a `keys` notice's units become shared. `false` when already acknowledged.
    ///
    /// # Errors
    /// 400 for a malformed ID; as [`Centre::space_sync`].
    pub fn notice_ack(&self, caller: &str, id: &str) -> Result<bool, CentreError> {
        self.space_peer(caller)?;
        let bad = || BadRequest::new(format!("bad notice ID {id:?}"));
        let (m, kind) = id.split_once('-').ok_or_else(bad)?;
        let m: i64 = m.parse().map_err(|_| bad())?;
        let kind = NoticeKind::parse(kind).map_err(|_| bad())?;
        Ok(self.store.notice_ack(caller, m, kind.as_str())?)
    }
}

/// Opens an outbox `notice` at rest (operator tooling and tests).
///
/// # Errors
/// [`CentreError::Crypto`] when it does not open under `master`; [`CentreError::Store`] for a
/// malformed body.
pub fn open_notice(master: &MasterKey, n: &Notice) -> Result<NoticeBody, CentreError> {
    let plain = master.open(&notice_aad(n.migration, &n.peer, &n.kind), &n.sealed)?;
    Ok(NoticeBody::decode(&plain).map_err(corrupt)?)
}
