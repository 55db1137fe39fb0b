//! Exponential power-delay profile on the sample grid (tapped delay line at 50 ns spacing).
//!
//! Tap `l` (delay `l·T_s`) has average power `p_l ∝ r^l`, truncated where `r^l` falls below
//! [`PDP_FLOOR`] (−30 dB) and normalised to unit total power. The decay `r` is solved so that the *discrete,
//! truncated* profile has exactly the configured rms delay spread (for the untruncated discrete profile
//! `σ_τ = T_s·√r/(1−r)`; truncation is then corrected by bisection). Exponential PDPs are the usual indoor
//! model, e.g. IEEE 802.11 TGn channel models (Erceg et al. 2004) and Saleh & Valenzuela 1987.

use super::{ChannelError, MAX_TAPS};

/// Relative power of the last kept tap (−30 dB).
pub const PDP_FLOOR: f64 = 1e-3;

/// RMS delay spread in seconds of a profile `pdp` with tap spacing `ts` seconds.
pub fn rms_delay_spread_s(pdp: &[f64], ts: f64) -> f64 {
    let total: f64 = pdp.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let mean: f64 = pdp
        .iter()
        .enumerate()
        .map(|(l, p)| l as f64 * p)
        .sum::<f64>()
        / total;
    let second: f64 = pdp
        .iter()
        .enumerate()
        .map(|(l, p)| (l * l) as f64 * p)
        .sum::<f64>()
        / total;
    (second - mean * mean).max(0.0).sqrt() * ts
}

fn profile(r: f64, taps: usize) -> Vec<f64> {
    let mut pdp: Vec<f64> = (0..taps).map(|l| r.powi(l as i32)).collect();
    let total: f64 = pdp.iter().sum();
    pdp.iter_mut().for_each(|p| *p /= total);
    pdp
}

/// Unit-power exponential profile with rms delay spread `rms_s` at tap spacing `ts`.
///
/// # Errors
/// [`ChannelError::InvalidScenario`] if the profile would need more than [`MAX_TAPS`] taps.
pub fn exponential_pdp(rms_s: f64, ts: f64) -> Result<Vec<f64>, ChannelError> {
    let s = rms_s / ts;
    if s < 1e-9 {
        return Ok(vec![1.0]);
    }
    // Untruncated discrete profile: √r/(1−r) = s  ⇒  u = √r solves s·u² + u − s = 0.
    let u = (-1.0 + (1.0 + 4.0 * s * s).sqrt()) / (2.0 * s);
    let r0 = u * u;
    let mut taps = 1 + (PDP_FLOOR.ln() / r0.ln()).ceil() as usize;
    // Truncation lowers the spread: bisect r (monotone for a fixed tap count) to hit it exactly; the larger r
    // may push the last tap above the floor, then one more tap is added and r re-solved.
    loop {
        if taps > MAX_TAPS {
            return Err(ChannelError::InvalidScenario {
                field: "rms_delay_spread_s",
                reason: "too long for the tap budget",
            });
        }
        let (mut lo, mut hi) = (r0 * 0.5, (r0 + 1.0) * 0.5);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if rms_delay_spread_s(&profile(mid, taps), 1.0) < s {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let r = 0.5 * (lo + hi);
        if r.powi(taps as i32 - 1) <= PDP_FLOOR {
            return Ok(profile(r, taps));
        }
        taps += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_configured_spread() {
        for rms in [1e-9, 25e-9, 50e-9, 100e-9, 300e-9] {
            let pdp = exponential_pdp(rms, 50e-9).unwrap();
            let got = rms_delay_spread_s(&pdp, 50e-9);
            assert!(
                (got - rms).abs() < 1e-3 * rms,
                "{rms}: {got} ({} taps)",
                pdp.len()
            );
            assert!((pdp.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert!(pdp[pdp.len() - 1] / pdp[0] <= PDP_FLOOR * (1.0 + 1e-9));
        }
        assert_eq!(exponential_pdp(0.0, 50e-9).unwrap(), vec![1.0]);
    }
}
