//! Estimating a space's demand statistics from what was consumed.

/// A second counts as part of a peak when its consumption exceeds this multiple of the mean.
pub const PEAK_FACTOR: f64 = 1.5;

/// Tracks one space's consumption in one-second buckets: `S` is an exponentially weighted mean
/// of keys per second (time constant `tau_s`), a peak is a run of consecutive seconds above
/// [`PEAK_FACTOR`] times the mean in force, and `I` the mean length of the finished peaks; `F`
/// is the mean of the observed replenishment times.
#[derive(Clone, Debug)]
pub struct DemandTracker {
    tau_s: f64,
    started: bool,
    rate: f64,
    run: u32,
    peaks: u32,
    peak_seconds: u64,
    refills: u32,
    refill_total_s: f64,
    default_replenish_s: f64,
}

impl DemandTracker {
    /// A tracker with EWMA time constant `tau_s` and the replenishment time to assume before any
    /// refill was observed.
    pub fn new(tau_s: f64, default_replenish_s: f64) -> Self {
        Self {
            tau_s: tau_s.max(1.0),
            started: false,
            rate: 0.0,
            run: 0,
            peaks: 0,
            peak_seconds: 0,
            refills: 0,
            refill_total_s: 0.0,
            default_replenish_s,
        }
    }

    /// Records the keys consumed during one second.
    pub fn record_second(&mut self, consumed: u64) {
        let c = consumed as f64;
        if !self.started {
            // The first second sets the mean (no ramp from zero that would look like a peak).
            self.started = true;
            self.rate = c;
            return;
        }
        if self.rate > 0.0 && c > PEAK_FACTOR * self.rate {
            self.run += 1;
        } else if self.run > 0 {
            self.peaks += 1;
            self.peak_seconds += u64::from(self.run);
            self.run = 0;
        }
        let alpha = 1.0 / self.tau_s;
        self.rate += alpha * (c - self.rate);
    }

    /// Records how long one replenishment took.
    pub fn record_refill(&mut self, seconds: f64) {
        self.refills += 1;
        self.refill_total_s += seconds;
    }

    /// Consumption rate `S`, keys per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Mean peak duration `I`, seconds (1 s before any peak ended).
    pub fn peak_duration_s(&self) -> f64 {
        if self.peaks == 0 {
            1.0
        } else {
            self.peak_seconds as f64 / f64::from(self.peaks)
        }
    }

    /// Replenishment time `F`, seconds.
    pub fn replenish_s(&self) -> f64 {
        if self.refills == 0 {
            self.default_replenish_s
        } else {
            self.refill_total_s / f64::from(self.refills)
        }
    }

    /// The statistics for a space holding `stored` keys.
    pub fn stats(&self, stored: u64) -> super::SpaceStats {
        super::SpaceStats {
            stored,
            consumption_rate: self.rate(),
            peak_duration_s: self.peak_duration_s(),
            replenish_s: self.replenish_s(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_peaks() {
        let mut d = DemandTracker::new(10.0, 5.0);
        for _ in 0..200 {
            d.record_second(10);
        }
        assert!((d.rate() - 10.0).abs() < 0.01);
        // Two peaks of 3 s each.
        for _ in 0..2 {
            for _ in 0..3 {
                d.record_second(40);
            }
            for _ in 0..30 {
                d.record_second(10);
            }
        }
        assert!(
            (d.peak_duration_s() - 3.0).abs() < 1e-9,
            "{}",
            d.peak_duration_s()
        );
        assert_eq!(d.replenish_s(), 5.0);
        d.record_refill(8.0);
        d.record_refill(12.0);
        assert_eq!(d.replenish_s(), 10.0);
    }
}
