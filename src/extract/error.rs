//! Typed errors of the extraction stage.

use thiserror::Error;

/// Everything that can go wrong while turning measurements into bits.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ExtractError {
    /// `rows * cols` does not match the length of the data.
    #[error("feature block shape {rows}x{cols} needs {expected} values, got {got}")]
    ShapeMismatch {
        /// Rows claimed by the block.
        rows: usize,
        /// Columns claimed by the block.
        cols: usize,
        /// `rows * cols`.
        expected: usize,
        /// Length of `data`.
        got: usize,
    },
    /// The block has too few rows (probe exchanges) or no columns.
    #[error(
        "feature block {rows}x{cols} is too small: need at least {min_rows} rows and 1 column"
    )]
    TooSmall {
        /// Rows in the block.
        rows: usize,
        /// Columns in the block.
        cols: usize,
        /// Minimum number of rows.
        min_rows: usize,
    },
    /// A value is NaN or infinite.
    #[error("non-finite feature value at row {row}, column {col}")]
    NonFinite {
        /// Row of the value.
        row: usize,
        /// Column of the value.
        col: usize,
    },
    /// A decorrelation asks to keep more (or fewer than one) dimensions than there are.
    #[error("cannot keep {keep} of {cols} dimensions (need 1..={cols})")]
    BadKeep {
        /// Requested number of kept dimensions.
        keep: usize,
        /// Available columns.
        cols: usize,
    },
    /// Time stride zero.
    #[error("time stride must be at least 1")]
    ZeroStride,
    /// Too few samples for a statistically meaningful estimate.
    #[error("too few samples: need at least {needed}, got {got}")]
    TooFewSamples {
        /// Minimum number of samples.
        needed: usize,
        /// Samples given.
        got: usize,
    },
    /// A bit sequence holds a value other than 0 or 1.
    #[error("bit sequence holds {value} at index {index} (expected 0 or 1)")]
    NotBinary {
        /// Index of the offending value.
        index: usize,
        /// The offending value.
        value: u8,
    },
}
