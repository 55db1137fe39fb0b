//! OFDM numerology, subcarrier layout and training sequences of the 802.11 legacy (non-HT) PHY,
//! IEEE 802.11-2020 §17.3.2.4 (timing parameters), §17.3.3 (L-STF, L-LTF) and §17.3.5.10 (pilots).
//!
//! Time-domain scaling used throughout qwave: a symbol with frequency-domain values `X_k` is
//! `x[n] = (1/√52) · Σ_k X_k · e^{j2πkn/64}`, so each of the L-STF, L-LTF and L-SIG fields has mean
//! power 1 per sample. The Annex I example values of IEEE 802.11-2020 use `1/64` instead; multiply
//! by `√52/64` to compare.

use num_complex::Complex32;
use std::f64::consts::PI;
use std::sync::OnceLock;

/// Nominal sample rate of a 20 MHz channel (IEEE 802.11-2020 Table 17-5).
pub const SAMPLE_RATE_HZ: f64 = 20e6;
/// FFT size of a 20 MHz OFDM symbol.
pub const FFT_LEN: usize = 64;
/// Cyclic prefix (guard interval) of a data or SIGNAL symbol, in samples (0.8 µs).
pub const CP_LEN: usize = 16;
/// Number of occupied subcarriers (48 data + 4 pilots).
pub const N_USED: usize = 52;
/// Occupied subcarrier indices, -26..=-1 then 1..=26. This is the column order of CSI everywhere
/// in qwave (HDF5 traces, features, quantizers).
pub const USED_SUBCARRIERS: [i16; N_USED] = {
    let mut a = [0i16; N_USED];
    let mut i = 0;
    while i < N_USED {
        a[i] = if i < 26 { i as i16 - 26 } else { i as i16 - 25 };
        i += 1;
    }
    a
};
/// Pilot subcarriers of a 20 MHz non-HT symbol (§17.3.5.10).
pub const PILOT_SUBCARRIERS: [i16; 4] = [-21, -7, 7, 21];
/// Pilot values on [`PILOT_SUBCARRIERS`] before the polarity sequence p_n (§17.3.5.10, Eq. 17-24).
pub const PILOT_VALUES: [f32; 4] = [1.0, 1.0, 1.0, -1.0];
/// Data subcarriers in the order of the mapping M(k) of §17.3.5.10 (Eq. 17-25): the k-th
/// interleaved coded bit of a symbol goes to `DATA_SUBCARRIERS[k]`.
pub const DATA_SUBCARRIERS: [i16; 48] = {
    let mut a = [0i16; 48];
    let mut k = 0;
    while k < 48 {
        let kk = k as i16;
        a[k] = if k <= 4 {
            kk - 26
        } else if k <= 17 {
            kk - 25
        } else if k <= 23 {
            kk - 24
        } else if k <= 29 {
            kk - 23
        } else if k <= 42 {
            kk - 22
        } else {
            kk - 21
        };
        k += 1;
    }
    a
};

/// L-STF sequence S_{-26..26} without its `√(13/6)` factor, as multiples of `(1 + j)`
/// (IEEE 802.11-2020 Eq. 17-6); index `k + 26`.
pub const L_STF_SIGNS: [i8; 53] = [
    0, 0, 1, 0, 0, 0, -1, 0, 0, 0, 1, 0, 0, 0, -1, 0, 0, 0, -1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
    -1, 0, 0, 0, -1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0,
];

/// L-LTF sequence L_{-26..26} (IEEE 802.11-2020 Eq. 17-8); index `k + 26`.
pub const L_LTF: [i8; 53] = [
    1, 1, -1, -1, 1, 1, -1, 1, -1, 1, 1, 1, 1, 1, 1, -1, -1, 1, 1, -1, 1, -1, 1, 1, 1, 1, 0, 1, -1,
    -1, 1, 1, -1, 1, -1, 1, -1, -1, -1, -1, -1, 1, 1, -1, -1, 1, -1, 1, -1, 1, 1, 1, 1,
];

/// FFT bin (0..64) holding subcarrier `k` (-32..32): negative subcarriers wrap to the top half.
#[inline]
pub const fn subcarrier_to_bin(k: i16) -> usize {
    (k as i32).rem_euclid(FFT_LEN as i32) as usize
}

/// Subcarrier index (-32..32) of FFT bin `bin` (0..64); the inverse of [`subcarrier_to_bin`].
#[inline]
pub const fn bin_to_subcarrier(bin: usize) -> i16 {
    let b = (bin % FFT_LEN) as i16;
    if b >= 32 {
        b - 64
    } else {
        b
    }
}

/// L-STF value on subcarrier `k` (zero outside -26..=26).
pub fn l_stf(k: i16) -> Complex32 {
    if !(-26..=26).contains(&k) {
        return Complex32::new(0.0, 0.0);
    }
    let s = (13.0f32 / 6.0).sqrt() * f32::from(L_STF_SIGNS[(k + 26) as usize]);
    Complex32::new(s, s)
}

/// L-LTF value (±1, or 0 at DC and outside -26..=26) on subcarrier `k`.
pub fn l_ltf(k: i16) -> f32 {
    if !(-26..=26).contains(&k) {
        return 0.0;
    }
    f32::from(L_LTF[(k + 26) as usize])
}

/// One 64-sample OFDM symbol (no cyclic prefix) from per-bin values, with qwave's `1/√52`
/// scaling. Direct DFT over the non-zero bins: no plan, no allocation (used on the transmit side).
pub fn symbol_from_bins(bins: &[Complex32; FFT_LEN], out: &mut [Complex32; FFT_LEN]) {
    let tw = twiddles();
    let scale = 1.0 / (N_USED as f32).sqrt();
    for o in out.iter_mut() {
        *o = Complex32::new(0.0, 0.0);
    }
    for (b, &x) in bins.iter().enumerate() {
        if x.re == 0.0 && x.im == 0.0 {
            continue;
        }
        for (n, o) in out.iter_mut().enumerate() {
            *o += x * tw[(b * n) % FFT_LEN];
        }
    }
    for o in out.iter_mut() {
        *o *= scale;
    }
}

struct Tables {
    stf: [Complex32; FFT_LEN],
    ltf: [Complex32; FFT_LEN],
}

fn twiddles() -> &'static [Complex32; FFT_LEN] {
    static TW: OnceLock<[Complex32; FFT_LEN]> = OnceLock::new();
    TW.get_or_init(|| {
        let mut t = [Complex32::new(0.0, 0.0); FFT_LEN];
        for (i, v) in t.iter_mut().enumerate() {
            let a = 2.0 * PI * i as f64 / FFT_LEN as f64;
            *v = Complex32::new(a.cos() as f32, a.sin() as f32);
        }
        t
    })
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut sb = [Complex32::new(0.0, 0.0); FFT_LEN];
        let mut lb = [Complex32::new(0.0, 0.0); FFT_LEN];
        for k in -26i16..=26 {
            sb[subcarrier_to_bin(k)] = l_stf(k);
            lb[subcarrier_to_bin(k)] = Complex32::new(l_ltf(k), 0.0);
        }
        let mut stf = [Complex32::new(0.0, 0.0); FFT_LEN];
        let mut ltf = [Complex32::new(0.0, 0.0); FFT_LEN];
        symbol_from_bins(&sb, &mut stf);
        symbol_from_bins(&lb, &mut ltf);
        Tables { stf, ltf }
    })
}

/// 64 time samples of the L-STF (four 16-sample short symbols), mean power 1.
pub fn l_stf_time() -> &'static [Complex32; FFT_LEN] {
    &tables().stf
}

/// 64 time samples of one L-LTF long symbol, mean power 1.
pub fn l_ltf_time() -> &'static [Complex32; FFT_LEN] {
    &tables().ltf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcarrier_layout() {
        assert_eq!(USED_SUBCARRIERS[0], -26);
        assert_eq!(USED_SUBCARRIERS[25], -1);
        assert_eq!(USED_SUBCARRIERS[26], 1);
        assert_eq!(USED_SUBCARRIERS[51], 26);
        for k in -32i16..32 {
            assert_eq!(bin_to_subcarrier(subcarrier_to_bin(k)), k);
        }
        assert_eq!(subcarrier_to_bin(-1), 63);
        // data + pilots = used, disjoint
        let mut all: Vec<i16> = DATA_SUBCARRIERS.to_vec();
        all.extend_from_slice(&PILOT_SUBCARRIERS);
        all.sort_unstable();
        assert_eq!(all, USED_SUBCARRIERS.to_vec());
    }
}
