//! `calibration/<serial>.toml`: one radio's calibration, written by
//! `qwave calibrate` and loaded by `qwave lab` by device serial.
//!
//! ```toml
//! format = "qwave-calibration"
//! version = 1
//! serial = "31A5F2B"                 # this radio
//! reference_serial = "31A5F00"       # the radio c is relative to
//! created_utc = "2026-11-21T12:00:00Z"
//! radio = "soapy:driver=uhd,serial=31A5F2B (uhd)"
//! carrier_hz = 2.4e9
//! sample_rate_hz = 2e7
//! exchanges = 200                    # probe exchanges used
//! cfo_hz = 812.5                     # this radio's LO minus the reference's
//! dc_re = 0.0
//! dc_im = 0.0
//! iq_gain = 1.0                      # Q/I amplitude ratio
//! iq_phase_rad = 0.0                 # Q branch phase skew
//! subcarriers = [-26, …, 26]         # 52 used subcarriers
//! c_re = [ … ]                       # c_X / c_R per subcarrier (real part)
//! c_im = [ … ]
//! ```

use std::path::{Path, PathBuf};

use num_complex::{Complex32, Complex64};
use qwave_dsp::ofdm::USED_SUBCARRIERS;
use serde::{Deserialize, Serialize};

use super::estimate::{IqImpairment, N_SC};
use super::CalibrationError;

/// Value of the `format` key.
pub const FORMAT: &str = "qwave-calibration";
/// Value of the `version` key.
pub const VERSION: u32 = 1;

/// One radio's calibration (the TOML file's contents).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// Serial of the calibrated radio (the file name without `.toml`).
    pub serial: String,
    /// Serial of the reference radio the coefficients are relative to.
    pub reference_serial: String,
    /// When the measurement ran, RFC 3339 UTC.
    pub created_utc: String,
    /// The radio's description at measurement time.
    pub radio: String,
    /// Carrier frequency of the measurement, Hz.
    pub carrier_hz: f64,
    /// Sample rate of the measurement, samples/s.
    pub sample_rate_hz: f64,
    /// Probe exchanges the coefficients were averaged over.
    pub exchanges: u64,
    /// Frequency offset of this radio's LO relative to the reference, Hz.
    pub cfo_hz: f64,
    /// Receive DC offset, real part.
    pub dc_re: f64,
    /// Receive DC offset, imaginary part.
    pub dc_im: f64,
    /// Receive IQ amplitude imbalance (Q/I ratio).
    pub iq_gain: f64,
    /// Receive IQ phase imbalance, radians.
    pub iq_phase_rad: f64,
    /// Subcarrier indices of the coefficient columns (the 52 used ones).
    pub subcarriers: Vec<i16>,
    /// Real parts of the reciprocity coefficient `c_X / c_R`.
    pub c_re: Vec<f64>,
    /// Imaginary parts of the reciprocity coefficient `c_X / c_R`.
    pub c_im: Vec<f64>,
}

impl Calibration {
    /// A calibration from measured values, stamped with the current time.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        serial: &str,
        reference_serial: &str,
        radio: &str,
        carrier_hz: f64,
        sample_rate_hz: f64,
        exchanges: u64,
        cfo_hz: f64,
        iq: &IqImpairment,
        c: &[Complex64; N_SC],
    ) -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            serial: serial.into(),
            reference_serial: reference_serial.into(),
            created_utc: now_rfc3339(),
            radio: radio.into(),
            carrier_hz,
            sample_rate_hz,
            exchanges,
            cfo_hz,
            dc_re: iq.dc.re,
            dc_im: iq.dc.im,
            iq_gain: iq.gain,
            iq_phase_rad: iq.phase_rad,
            subcarriers: USED_SUBCARRIERS.to_vec(),
            c_re: c.iter().map(|v| v.re).collect(),
            c_im: c.iter().map(|v| v.im).collect(),
        }
    }

    /// The receive DC/IQ impairment stored in the file.
    pub fn iq(&self) -> IqImpairment {
        IqImpairment {
            dc: Complex64::new(self.dc_re, self.dc_im),
            gain: self.iq_gain,
            phase_rad: self.iq_phase_rad,
        }
    }

    /// The reciprocity coefficient per used subcarrier (validated files only).
    pub fn coefficients(&self) -> [Complex32; N_SC] {
        let mut c = [Complex32::new(1.0, 0.0); N_SC];
        for ((o, re), im) in c.iter_mut().zip(&self.c_re).zip(&self.c_im) {
            *o = Complex32::new(*re as f32, *im as f32);
        }
        c
    }

    /// Multiplies a channel estimate this radio measured by its coefficient:
    /// after both parties do this, `c_A·H_BA = c_B·H_AB` (module docs of
    /// [`super::estimate`]).
    pub fn correct_csi(&self, csi: &mut [Complex32; N_SC]) {
        for (h, c) in csi.iter_mut().zip(self.coefficients()) {
            *h *= c;
        }
    }

    /// Checks format, version, sizes and ranges.
    ///
    /// # Errors
    /// [`CalibrationError::Corrupt`] naming the problem.
    pub fn validate(&self, path: &Path) -> Result<(), CalibrationError> {
        let bad = |reason: String| CalibrationError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        if self.format != FORMAT {
            return Err(bad(format!("format is `{}`, not `{FORMAT}`", self.format)));
        }
        if self.version != VERSION {
            return Err(bad(format!(
                "version {} (this qwave reads {VERSION})",
                self.version
            )));
        }
        check_serial(&self.serial).map_err(|e| bad(e.to_string()))?;
        if self.subcarriers != USED_SUBCARRIERS {
            return Err(bad(
                "subcarriers must be the 52 used ones, −26..=−1, 1..=26".into(),
            ));
        }
        if self.c_re.len() != N_SC || self.c_im.len() != N_SC {
            return Err(bad(format!(
                "c_re/c_im have {}/{} values, need {N_SC}",
                self.c_re.len(),
                self.c_im.len()
            )));
        }
        for (i, (re, im)) in self.c_re.iter().zip(&self.c_im).enumerate() {
            let m = re.hypot(*im);
            if !(m.is_finite() && m > 1e-6 && m < 1e6) {
                return Err(bad(format!(
                    "coefficient of subcarrier {} is {re}{im:+}j (must be finite and non-zero)",
                    USED_SUBCARRIERS[i]
                )));
            }
        }
        let finite = [
            self.cfo_hz,
            self.dc_re,
            self.dc_im,
            self.carrier_hz,
            self.sample_rate_hz,
        ];
        if finite.iter().any(|v| !v.is_finite()) {
            return Err(bad(
                "cfo_hz, dc_re, dc_im, carrier_hz and sample_rate_hz must be finite".into(),
            ));
        }
        if !(self.iq_gain.is_finite() && self.iq_gain > 0.1 && self.iq_gain < 10.0) {
            return Err(bad(format!("iq_gain {} outside (0.1, 10)", self.iq_gain)));
        }
        if !(self.iq_phase_rad.is_finite() && self.iq_phase_rad.abs() < 1.0) {
            return Err(bad(format!(
                "iq_phase_rad {} outside (−1, 1)",
                self.iq_phase_rad
            )));
        }
        Ok(())
    }

    /// Writes `<dir>/<serial>.toml` (creating `dir`), returning the path.
    ///
    /// # Errors
    /// [`CalibrationError::Io`], or [`CalibrationError::BadSerial`] for a
    /// serial that cannot be a file name.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, CalibrationError> {
        let path = path_for(dir, &self.serial)?;
        std::fs::create_dir_all(dir).map_err(|source| CalibrationError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let text = toml::to_string(self).map_err(|e| CalibrationError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        std::fs::write(&path, text).map_err(|source| CalibrationError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// Reads and validates one file.
    ///
    /// # Errors
    /// [`CalibrationError::Io`] if it cannot be read,
    /// [`CalibrationError::Corrupt`] if it is not a valid calibration.
    pub fn read(path: &Path) -> Result<Self, CalibrationError> {
        let text = std::fs::read_to_string(path).map_err(|source| CalibrationError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let cal: Self = toml::from_str(&text).map_err(|e| CalibrationError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string().trim().to_string(),
        })?;
        cal.validate(path)?;
        Ok(cal)
    }

    /// Loads `<dir>/<serial>.toml`: `Ok(None)` when there is no such file.
    ///
    /// # Errors
    /// [`CalibrationError::BadSerial`], or the errors of [`Calibration::read`];
    /// a file whose `serial` differs from the name asked for is
    /// [`CalibrationError::Corrupt`].
    pub fn load(dir: &Path, serial: &str) -> Result<Option<(PathBuf, Self)>, CalibrationError> {
        let path = path_for(dir, serial)?;
        if !path.exists() {
            return Ok(None);
        }
        let cal = Self::read(&path)?;
        if cal.serial != serial {
            return Err(CalibrationError::Corrupt {
                path,
                reason: format!("file is for serial `{}`, not `{serial}`", cal.serial),
            });
        }
        Ok(Some((path, cal)))
    }
}

/// `<dir>/<serial>.toml`.
///
/// # Errors
/// [`CalibrationError::BadSerial`] unless the serial is 1–64 characters of
/// `A–Z a–z 0–9 . _ -` and does not start with a dot.
pub fn path_for(dir: &Path, serial: &str) -> Result<PathBuf, CalibrationError> {
    check_serial(serial)?;
    Ok(dir.join(format!("{serial}.toml")))
}

fn check_serial(serial: &str) -> Result<(), CalibrationError> {
    let ok = !serial.is_empty()
        && serial.len() <= 64
        && !serial.starts_with('.')
        && serial
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(CalibrationError::BadSerial(serial.into()))
    }
}

/// Current time as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, Hinnant's algorithm).
fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Calibration {
        let mut c = [Complex64::new(1.0, 0.0); N_SC];
        c[3] = Complex64::new(0.8, -0.3);
        Calibration::new(
            "sim-alice",
            "sim-bob",
            "sim:alice",
            2.4e9,
            20e6,
            100,
            812.0,
            &IqImpairment::default(),
            &c,
        )
    }

    #[test]
    fn round_trip_and_date() {
        let dir = std::env::temp_dir().join(format!("qwave-calfile-{}", std::process::id()));
        let cal = sample();
        assert_eq!(cal.created_utc.len(), 20);
        assert!(cal.created_utc.starts_with("20"));
        let p = cal.save(&dir).unwrap();
        assert_eq!(p, dir.join("sim-alice.toml"));
        let (q, back) = Calibration::load(&dir, "sim-alice").unwrap().unwrap();
        assert_eq!(q, p);
        assert_eq!(back, cal);
        assert!(Calibration::load(&dir, "sim-bob").unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_serials_and_values() {
        assert!(matches!(
            path_for(Path::new("."), "../x"),
            Err(CalibrationError::BadSerial(_))
        ));
        assert!(matches!(
            path_for(Path::new("."), ""),
            Err(CalibrationError::BadSerial(_))
        ));
        let mut cal = sample();
        cal.c_re.pop();
        assert!(matches!(
            cal.validate(Path::new("x")),
            Err(CalibrationError::Corrupt { .. })
        ));
        let mut cal = sample();
        cal.c_re[0] = 0.0;
        cal.c_im[0] = 0.0;
        assert!(matches!(
            cal.validate(Path::new("x")),
            Err(CalibrationError::Corrupt { .. })
        ));
        let mut cal = sample();
        cal.iq_gain = f64::NAN;
        assert!(matches!(
            cal.validate(Path::new("x")),
            Err(CalibrationError::Corrupt { .. })
        ));
    }
}
