//! Auto-refill policy: refill when the remaining volume for a peer falls below
//! consumption rate × refill time (a reorder point, as in a continuous-review inventory
//! policy: reorder when stock on hand no longer covers demand during the lead time).
//!
//! The consumption rate is estimated from the store's `take_key` history over a sliding
//! window ([`consumption_rate`]). Refill volumes are what operators offer: whole MiB from
//! [`MIN_REFILL_BYTES`] to [`MAX_REFILL_BYTES`].

/// One mebibyte.
pub const MIB: u64 = 1 << 20;
/// Smallest volume an operator offers (1 MiB).
pub const MIN_REFILL_BYTES: u64 = MIB;
/// Largest volume an operator offers (9 MiB).
pub const MAX_REFILL_BYTES: u64 = 9 * MIB;

/// Parameters of the auto-refill policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefillPolicy {
    /// Expected time for one refill to land (key generation plus relay), seconds.
    pub refill_seconds: f64,
    /// Window of `take_key` history the rate is estimated over, seconds.
    pub window_seconds: f64,
    /// Safety factor on the threshold (≥ 1).
    pub margin: f64,
}

impl Default for RefillPolicy {
    fn default() -> Self {
        Self {
            refill_seconds: 60.0,
            window_seconds: 3600.0,
            margin: 1.5,
        }
    }
}

/// What the policy says for one peer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// Enough key: remaining covers consumption during a refill.
    Sufficient {
        /// Remaining bytes.
        remaining: u64,
        /// Threshold in bytes.
        threshold: u64,
    },
    /// Refill now with `bytes` (an operator volume).
    Refill {
        /// Remaining bytes.
        remaining: u64,
        /// Threshold in bytes.
        threshold: u64,
        /// Volume to request.
        bytes: u64,
    },
}

/// Bytes per second taken in the window `(now_ms − window, now_ms]`, from `(unix ms, bytes)`
/// records (any order). With no history the rate is 0.
pub fn consumption_rate(takes: &[(i64, u64)], now_ms: i64, window_seconds: f64) -> f64 {
    if window_seconds.is_nan() || window_seconds <= 0.0 {
        return 0.0;
    }
    let since = now_ms - (window_seconds * 1000.0) as i64;
    let bytes: u64 = takes
        .iter()
        .filter(|(t, _)| *t > since && *t <= now_ms)
        .map(|(_, b)| *b)
        .sum();
    bytes as f64 / window_seconds
}

impl RefillPolicy {
    /// Threshold in bytes: `margin × rate × refill time`, rounded up.
    pub fn threshold(&self, rate_bytes_per_s: f64) -> u64 {
        let t = self.margin.max(1.0) * rate_bytes_per_s.max(0.0) * self.refill_seconds.max(0.0);
        if t.is_finite() {
            t.ceil() as u64
        } else {
            u64::MAX
        }
    }

    /// Decides for a peer with `remaining` bytes consumed at `rate_bytes_per_s`. The refill
    /// volume covers the threshold plus one refill time of consumption, rounded up to whole MiB
    /// and clamped to the offered 1–9 MiB.
    pub fn decide(&self, remaining: u64, rate_bytes_per_s: f64) -> Decision {
        let threshold = self.threshold(rate_bytes_per_s);
        if remaining >= threshold && !(threshold == 0 && remaining == 0) {
            return Decision::Sufficient {
                remaining,
                threshold,
            };
        }
        let want = threshold.saturating_mul(2).saturating_sub(remaining);
        let bytes = want
            .div_ceil(MIB)
            .saturating_mul(MIB)
            .clamp(MIN_REFILL_BYTES, MAX_REFILL_BYTES);
        Decision::Refill {
            remaining,
            threshold,
            bytes,
        }
    }
}

/// Parses a volume such as `1MiB`, `512KiB`, `65536` (bytes) into bytes.
///
/// # Errors
/// A message naming the problem (unknown unit, zero, overflow).
pub fn parse_volume(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("volume {s:?}: expected a number then KiB/MiB/B"))?;
    let mul = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "k" | "K" => 1 << 10,
        "MiB" | "M" => MIB,
        other => {
            return Err(format!(
                "volume {s:?}: unknown unit {other:?} (B, KiB, MiB)"
            ))
        }
    };
    let v = n
        .checked_mul(mul)
        .ok_or_else(|| format!("volume {s:?} overflows"))?;
    if v == 0 {
        return Err(format!("volume {s:?} is zero"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_counts_only_the_window() {
        let now = 1_000_000;
        let takes = [
            (now - 10_000, 32),
            (now - 500, 32),
            (now - 100, 32),
            (now + 5, 32),
        ];
        // 10 s window: (now-10 s) is excluded (boundary), two takes inside.
        assert!((consumption_rate(&takes, now, 10.0) - 6.4).abs() < 1e-9);
        assert_eq!(consumption_rate(&[], now, 10.0), 0.0);
        assert_eq!(consumption_rate(&takes, now, 0.0), 0.0);
    }

    #[test]
    fn refills_below_rate_times_refill_time() {
        let p = RefillPolicy {
            refill_seconds: 100.0,
            window_seconds: 60.0,
            margin: 1.0,
        };
        // 1 KiB/s for 100 s: threshold 102400 bytes.
        assert_eq!(p.threshold(1024.0), 102_400);
        assert!(matches!(
            p.decide(200_000, 1024.0),
            Decision::Sufficient {
                threshold: 102_400,
                ..
            }
        ));
        match p.decide(100_000, 1024.0) {
            Decision::Refill { bytes, .. } => assert_eq!(bytes, MIB),
            d => panic!("{d:?}"),
        }
        // Heavy use: 100 KiB/s → threshold 10 MiB, volume clamped to 9 MiB.
        match p.decide(0, 100.0 * 1024.0) {
            Decision::Refill { bytes, .. } => assert_eq!(bytes, MAX_REFILL_BYTES),
            d => panic!("{d:?}"),
        }
        // 30 KiB/s → threshold 3000 KiB; want 2 × 3000 KiB − 1 MiB ≈ 4.86 MiB → 5 MiB.
        match p.decide(MIB, 30.0 * 1024.0) {
            Decision::Refill { bytes, .. } => assert_eq!(bytes, 5 * MIB),
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn empty_store_without_history_refills_minimum() {
        let p = RefillPolicy::default();
        assert_eq!(
            p.decide(0, 0.0),
            Decision::Refill {
                remaining: 0,
                threshold: 0,
                bytes: MIB
            }
        );
        assert!(matches!(p.decide(32, 0.0), Decision::Sufficient { .. }));
    }

    #[test]
    fn volumes_parse() {
        assert_eq!(parse_volume("1MiB"), Ok(MIB));
        assert_eq!(parse_volume("9MiB"), Ok(9 * MIB));
        assert_eq!(parse_volume("64KiB"), Ok(65_536));
        assert_eq!(parse_volume("4096"), Ok(4096));
        assert!(parse_volume("0MiB").is_err());
        assert!(parse_volume("1GiB").is_err());
        assert!(parse_volume("MiB").is_err());
        assert!(parse_volume("99999999999999999999MiB").is_err());
    }
}
