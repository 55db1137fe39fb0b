//! Feature preprocessing: per-block normalization, decorrelation across
//! feature dimensions (DCT or PCA) and time decimation.
//!
//! CSI amplitudes of neighbouring subcarriers are strongly correlated (the
//! coherence bandwidth spans several subcarriers), and so are successive
//! probes (coherence time ≫ probe interval). Quantizing correlated samples
//! yields bits whose min-entropy is far below one per bit, so the samples are
//! decorrelated first: across dimensions by an orthonormal DCT-II (close to
//! the Karhunen–Loève transform of a first-order Markov process; Ahmed,
//! Natarajan & Rao, IEEE Trans. Computers 1974) or by PCA of the block's own
//! covariance, and over time by keeping every `stride`-th probe, with the
//! stride taken from the block's autocorrelation.

use super::ExtractError;

/// A block of feature vectors. Rows are probe exchanges (time), columns are
/// feature dimensions (e.g. amplitude per subcarrier); `data` is row-major.
#[derive(Clone, Debug)]
pub struct FeatureBlock {
    /// Number of probe exchanges.
    pub rows: usize,
    /// Number of feature dimensions.
    pub cols: usize,
    /// `rows * cols` values, row-major.
    pub data: Vec<f64>,
}

impl FeatureBlock {
    /// Checks shape, size (at least 2 rows, 1 column) and finiteness.
    ///
    /// # Errors
    /// [`ExtractError::ShapeMismatch`], [`ExtractError::TooSmall`] or
    /// [`ExtractError::NonFinite`].
    pub fn validate(&self) -> Result<(), ExtractError> {
        let expected = self.rows.saturating_mul(self.cols);
        if expected != self.data.len() {
            return Err(ExtractError::ShapeMismatch {
                rows: self.rows,
                cols: self.cols,
                expected,
                got: self.data.len(),
            });
        }
        if self.rows < MIN_ROWS || self.cols == 0 {
            return Err(ExtractError::TooSmall {
                rows: self.rows,
                cols: self.cols,
                min_rows: MIN_ROWS,
            });
        }
        if let Some(i) = self.data.iter().position(|v| !v.is_finite()) {
            return Err(ExtractError::NonFinite {
                row: i / self.cols,
                col: i % self.cols,
            });
        }
        Ok(())
    }
}

/// Fewest rows a block may have.
const MIN_ROWS: usize = 2;

/// Decorrelation across feature dimensions (within one probe).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Decorrelate {
    /// Keep the dimensions as they are.
    None,
    /// Orthonormal DCT-II of each row; keep the `keep` lowest-frequency
    /// coefficients (where a smooth frequency response puts its energy).
    Dct {
        /// Number of coefficients kept (1..=cols).
        keep: usize,
    },
    /// Project each row on the `keep` leading eigenvectors of the block's
    /// column covariance (largest eigenvalue first). Each eigenvector's sign is
    /// fixed so that its largest-magnitude entry is positive. Alice and Bob
    /// estimate their bases independently; with nearly equal eigenvalues the
    /// order of components can differ between them, so prefer DCT unless the
    /// spectrum is well separated.
    Pca {
        /// Number of principal components kept (1..=cols).
        keep: usize,
    },
}

/// Time decimation: how many probe exchanges apart kept rows are.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TimeDecimation {
    /// Keep every row (stride 1).
    None,
    /// Keep every n-th row (0 is treated as 1).
    Fixed(usize),
    /// Stride = first lag at which the block's autocorrelation drops below
    /// `threshold` (see [`auto_stride`]). Alice computes it with
    /// [`stride_for`] and sends it; both parties then call [`preprocess`] with
    /// that stride.
    Auto {
        /// Autocorrelation threshold in (0, 1), e.g. `0.5` or `1/e`.
        threshold: f64,
    },
}

/// Preprocessing settings; both parties must use the same.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PreprocessConfig {
    /// Standardize each input column to zero mean and unit variance over the
    /// block, and after decorrelation standardize each output dimension too
    /// (so that one set of quantile edges fits every dimension).
    pub normalize: bool,
    /// Decorrelation across columns.
    pub decorrelate: Decorrelate,
    /// Time decimation (only [`stride_for`] reads it; [`preprocess`] takes the
    /// agreed stride).
    pub time_decimation: TimeDecimation,
}

impl PreprocessConfig {
    /// Columns of [`preprocess`]'s row-major output for an input of `cols`
    /// columns (the kept components, at most `cols`).
    pub fn output_columns(&self, cols: usize) -> usize {
        match self.decorrelate {
            Decorrelate::None => cols,
            Decorrelate::Dct { keep } | Decorrelate::Pca { keep } => keep.min(cols),
        }
    }
}

impl Default for PreprocessConfig {
    fn default() -> Self {
        Self {
            normalize: true,
            decorrelate: Decorrelate::None,
            time_decimation: TimeDecimation::None,
        }
    }
}

/// Turns a feature block into a flat sample sequence ready for quantization.
///
/// Steps, in order: (1) if `cfg.normalize`, standardize each column over the
/// block; (2) decorrelate across columns per `cfg.decorrelate` (PCA always
/// centres columns first); (3) if `cfg.normalize`, standardize each resulting
/// dimension; (4) keep rows `0, stride, 2·stride, …`. Normalization and
/// decorrelation use all rows, so their statistics do not depend on the stride.
///
/// Output order is time-major, then dimension: sample `t * d + j` is
/// dimension `j` of the `t`-th kept row, where `d` is the number of output
/// dimensions (`cols`, or `keep`). A column with zero variance standardizes to
/// all zeros.
///
/// # Errors
/// Invalid block ([`FeatureBlock::validate`]), `stride == 0`
/// ([`ExtractError::ZeroStride`]) or `keep` outside `1..=cols`
/// ([`ExtractError::BadKeep`]).
pub fn preprocess(
    block: &FeatureBlock,
    cfg: &PreprocessConfig,
    stride: usize,
) -> Result<Vec<f64>, ExtractError> {
    block.validate()?;
    if stride == 0 {
        return Err(ExtractError::ZeroStride);
    }
    let (rows, cols) = (block.rows, block.cols);
    let mut x = block.data.clone();
    if cfg.normalize {
        standardize_columns(&mut x, rows, cols);
    }
    let (mut y, dims) = match cfg.decorrelate {
        Decorrelate::None => (x, cols),
        Decorrelate::Dct { keep } => {
            check_keep(keep, cols)?;
            (dct_rows(&x, rows, cols, keep), keep)
        }
        Decorrelate::Pca { keep } => {
            check_keep(keep, cols)?;
            (pca_project(&x, rows, cols, keep), keep)
        }
    };
    if cfg.normalize && cfg.decorrelate != Decorrelate::None {
        standardize_columns(&mut y, rows, dims);
    }
    if stride == 1 {
        return Ok(y);
    }
    let kept_rows = rows.div_ceil(stride);
    let mut out = Vec::with_capacity(kept_rows * dims);
    for row in y.chunks_exact(dims).step_by(stride) {
        out.extend_from_slice(row);
    }
    Ok(out)
}

/// The stride the configured time decimation asks for on this block.
///
/// For [`TimeDecimation::Auto`] the autocorrelation is measured on the
/// normalized and decorrelated features (stride 1), i.e. on what will be
/// quantized. Alice calls this and sends the result; both parties pass it to
/// [`preprocess`].
///
/// # Errors
/// As [`preprocess`].
pub fn stride_for(block: &FeatureBlock, cfg: &PreprocessConfig) -> Result<usize, ExtractError> {
    match cfg.time_decimation {
        TimeDecimation::None => Ok(1),
        TimeDecimation::Fixed(n) => Ok(n.max(1)),
        TimeDecimation::Auto { threshold } => {
            let features = preprocess(block, cfg, 1)?;
            let dims = features.len() / block.rows;
            let fb = FeatureBlock {
                rows: block.rows,
                cols: dims,
                data: features,
            };
            Ok(auto_stride(&fb, threshold))
        }
    }
}

/// Smallest lag `L ≥ 1` at which the block's autocorrelation drops below
/// `threshold`.
///
/// The autocorrelation at lag `L` is the mean over non-constant columns of
/// `Σ_t (x_t − m)(x_{t+L} − m) / Σ_t (x_t − m)²` (the standard biased
/// estimator, Box & Jenkins). For an AR(1) process with coefficient `a` this
/// is ≈ `a^L`, so the answer is ≈ `ceil(ln(threshold) / ln(a))`. Lags up to
/// `rows / 2` are searched; if the autocorrelation never drops below the
/// threshold, `max(rows / 2, 1)` is returned. An invalid block, a threshold
/// that is not finite or not below 1, or a block with no varying column gives 1.
pub fn auto_stride(block: &FeatureBlock, threshold: f64) -> usize {
    if block.validate().is_err() || !threshold.is_finite() || threshold >= 1.0 {
        return 1;
    }
    let (rows, cols) = (block.rows, block.cols);
    let max_lag = (rows / 2).max(1);
    // Centred columns (column-major for contiguous lag products) and energies.
    let mut centred = vec![0.0; rows * cols];
    let mut energy = vec![0.0; cols];
    for c in 0..cols {
        let mean = (0..rows).map(|r| block.data[r * cols + c]).sum::<f64>() / rows as f64;
        let col = &mut centred[c * rows..(c + 1) * rows];
        for (r, v) in col.iter_mut().enumerate() {
            *v = block.data[r * cols + c] - mean;
        }
        energy[c] = col.iter().map(|v| v * v).sum();
    }
    let live: Vec<usize> = (0..cols)
        .filter(|&c| energy[c] > f64::EPSILON * rows as f64)
        .collect();
    if live.is_empty() {
        return 1;
    }
    for lag in 1..=max_lag {
        let mut acc = 0.0;
        for &c in &live {
            let col = &centred[c * rows..(c + 1) * rows];
            let num: f64 = col[..rows - lag]
                .iter()
                .zip(&col[lag..])
                .map(|(a, b)| a * b)
                .sum();
            acc += num / energy[c];
        }
        if acc / (live.len() as f64) < threshold {
            return lag;
        }
    }
    max_lag
}

/// Pearson correlation coefficient of two equally long sequences.
///
/// Returns NaN when it is undefined: lengths differ, fewer than 2 pairs, a
/// sequence is constant or holds a non-finite value.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() || a.len() < 2 {
        return f64::NAN;
    }
    let n = a.len() as f64;
    let ma = a.iter().sum::<f64>() / n;
    let mb = b.iter().sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    let denom = (saa * sbb).sqrt();
    if denom.is_nan() || denom <= 0.0 || denom.is_infinite() {
        return f64::NAN;
    }
    (sab / denom).clamp(-1.0, 1.0)
}

fn check_keep(keep: usize, cols: usize) -> Result<(), ExtractError> {
    if keep == 0 || keep > cols {
        return Err(ExtractError::BadKeep { keep, cols });
    }
    Ok(())
}

/// Per-column zero mean, unit variance (population variance); constant
/// columns become zero.
fn standardize_columns(x: &mut [f64], rows: usize, cols: usize) {
    for c in 0..cols {
        let mean = (0..rows).map(|r| x[r * cols + c]).sum::<f64>() / rows as f64;
        let var = (0..rows)
            .map(|r| (x[r * cols + c] - mean).powi(2))
            .sum::<f64>()
            / rows as f64;
        let scale = if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 };
        for r in 0..rows {
            let v = &mut x[r * cols + c];
            *v = (*v - mean) * scale;
        }
    }
}

/// Orthonormal DCT-II of each row, first `keep` coefficients:
/// `X_k = s_k Σ_n x_n cos(π (n + ½) k / N)`, `s_0 = √(1/N)`, `s_k = √(2/N)`.
fn dct_rows(x: &[f64], rows: usize, cols: usize, keep: usize) -> Vec<f64> {
    let n = cols as f64;
    let mut basis = vec![0.0; keep * cols];
    for k in 0..keep {
        let s = if k == 0 {
            (1.0 / n).sqrt()
        } else {
            (2.0 / n).sqrt()
        };
        for j in 0..cols {
            basis[k * cols + j] =
                s * (std::f64::consts::PI * (j as f64 + 0.5) * k as f64 / n).cos();
        }
    }
    project(x, rows, cols, &basis, keep)
}

/// `out[r, k] = Σ_j x[r, j] · basis[k, j]`.
fn project(x: &[f64], rows: usize, cols: usize, basis: &[f64], keep: usize) -> Vec<f64> {
    let mut out = vec![0.0; rows * keep];
    for (row, o) in x.chunks_exact(cols).zip(out.chunks_exact_mut(keep)) {
        for (k, ok) in o.iter_mut().enumerate() {
            *ok = row
                .iter()
                .zip(&basis[k * cols..(k + 1) * cols])
                .map(|(a, b)| a * b)
                .sum();
        }
    }
    out
}

/// Projects centred rows on the `keep` leading eigenvectors of the sample
/// covariance (Pearson 1901; Hotelling 1933).
fn pca_project(x: &[f64], rows: usize, cols: usize, keep: usize) -> Vec<f64> {
    let mut centred = x.to_vec();
    for c in 0..cols {
        let mean = (0..rows).map(|r| x[r * cols + c]).sum::<f64>() / rows as f64;
        for r in 0..rows {
            centred[r * cols + c] -= mean;
        }
    }
    let mut cov = vec![0.0; cols * cols];
    for row in centred.chunks_exact(cols) {
        for i in 0..cols {
            let ri = row[i];
            for j in i..cols {
                cov[i * cols + j] += ri * row[j];
            }
        }
    }
    for i in 0..cols {
        for j in i..cols {
            let v = cov[i * cols + j] / (rows - 1) as f64;
            cov[i * cols + j] = v;
            cov[j * cols + i] = v;
        }
    }
    let (values, vectors) = qwave_dsp::linalg::symmetric_eigen(cov, cols);
    let mut order: Vec<usize> = (0..cols).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let mut basis = vec![0.0; keep * cols];
    for (k, &e) in order.iter().take(keep).enumerate() {
        // Column e of `vectors` is the eigenvector.
        let v: Vec<f64> = (0..cols).map(|j| vectors[j * cols + e]).collect();
        let pivot = v
            .iter()
            .enumerate()
            .fold((0, 0.0f64), |best, (j, a)| {
                if a.abs() > best.1 {
                    (j, a.abs())
                } else {
                    best
                }
            })
            .0;
        let sign = if v[pivot] < 0.0 { -1.0 } else { 1.0 };
        for j in 0..cols {
            basis[k * cols + j] = sign * v[j];
        }
    }
    project(&centred, rows, cols, &basis, keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalizes_known_matrix() {
        // [[2,1],[1,2]] has eigenvalues 1 and 3.
        let (mut vals, vecs) = qwave_dsp::linalg::symmetric_eigen(vec![2.0, 1.0, 1.0, 2.0], 2);
        vals.sort_by(f64::total_cmp);
        assert!((vals[0] - 1.0).abs() < 1e-12 && (vals[1] - 3.0).abs() < 1e-12);
        // Eigenvectors are orthonormal.
        let dot = vecs[0] * vecs[1] + vecs[2] * vecs[3];
        assert!(dot.abs() < 1e-12);
    }

    #[test]
    fn dct_is_orthonormal() {
        // Full DCT preserves energy.
        let x: Vec<f64> = (0..8).map(|i| (i as f64 * 0.7).sin() + 0.3).collect();
        let y = dct_rows(&x, 1, 8, 8);
        let ex: f64 = x.iter().map(|v| v * v).sum();
        let ey: f64 = y.iter().map(|v| v * v).sum();
        assert!((ex - ey).abs() < 1e-12);
    }
}
