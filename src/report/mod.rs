//! `qwave report`: figures (PNG, with the numbers behind each as CSV) and an
//! HTML page that explains them, for one key-generation run on a simulated
//! scenario or a recorded HDF5 CSI trace, for a binary-symmetric-channel sweep
//! of the reconcilers, and for an eavesdropper-distance sweep.
//!
//! ```text
//! trace.h5 ─┐                          ┌─ heat maps, scatter, correlations ─┐
//!           ├─ CsiTrace ─ keygen ──────┤                                    ├─ DIR/*.png + *.csv + index.html
//! scenario ─┘  (sim.rs)  (run.rs)      └─ per-block records (stats.rs) ─────┘
//! ```
//!
//! Entry points: [`report_run`], [`report_eve_sweep`], [`bsc_sweep::sweep`].

pub mod bsc_sweep;
pub mod csv;
pub mod eve_sweep;
pub mod html;
pub mod plot;
pub mod run;
pub mod sim;
pub mod stats;

use std::path::{Path, PathBuf};

use qwave_dsp::channel::Scenario;

use crate::capture::CaptureError;
use crate::session::SessionConfig;

pub use eve_sweep::{report_eve_sweep, EveSweep, EveSweepOptions, EveSweepPoint, FIRST_ZERO_J0};
pub use run::{report_run, RunInput, RunOptions};

/// Errors of the report generator.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or folder could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TrueType font for the figure text is missing or unreadable.
    #[error(
        "font {path}: {why} (install the Debian package `fonts-dejavu-core`, \
         or point QWAVE_REPORT_FONT at a TrueType file)"
    )]
    Font {
        /// The font file.
        path: PathBuf,
        /// Why it could not be used.
        why: String,
    },
    /// Drawing a figure failed.
    #[error("drawing {figure}: {why}")]
    Plot {
        /// The figure's file name.
        figure: String,
        /// What plotters said.
        why: String,
    },
    /// The trace could not be read.
    #[error(transparent)]
    Trace(#[from] CaptureError),
    /// The input has no data for the report (e.g. no `alice`/`bob` parties).
    #[error("{0}")]
    Input(String),
    /// The channel scenario is invalid.
    #[error("scenario: {0}")]
    Scenario(String),
    /// A reconciler failed with a protocol error during the BSC sweep.
    #[error("reconciliation: {0}")]
    Reconcile(String),
}

impl ReportError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One figure written to the output folder: `<name>.png` and `<name>.csv`.
#[derive(Clone, Debug)]
pub struct Figure {
    /// File stem (no extension).
    pub name: String,
    /// Title shown above the figure in the HTML page.
    pub title: String,
    /// What the figure shows and how to read it (plain text, may hold
    /// several sentences).
    pub caption: String,
}

impl Figure {
    /// Draws `series` on `axes` into `DIR/NAME.png`, writes the numbers drawn
    /// (`data`: header and rows) to `DIR/NAME.csv`, and returns the figure's
    /// entry for the HTML page.
    pub(crate) fn line_chart(
        dir: &Path,
        name: &str,
        axes: &plot::Axes,
        series: &[plot::Series],
        data: (&[&str], &[Vec<csv::Cell>]),
        title: &str,
        caption: &str,
    ) -> Result<Figure, ReportError> {
        plot::chart(&dir.join(format!("{name}.png")), axes, series)?;
        csv::write(&dir.join(format!("{name}.csv")), data.0, data.1)?;
        Ok(Figure {
            name: name.into(),
            title: title.into(),
            caption: caption.into(),
        })
    }
}

/// Creates the output folder.
///
/// # Errors
/// [`ReportError::Io`] when it cannot be created.
pub fn prepare_dir(dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))
}

/// Session parameters and scenario shared by the run and sweep reports.
#[derive(Clone, Debug)]
pub struct SimSetup {
    /// Channel scenario.
    pub scenario: Scenario,
    /// Seconds of probing.
    pub seconds: f64,
    /// Simulator seed.
    pub seed: u64,
    /// Key-generation parameters.
    pub session: SessionConfig,
}
