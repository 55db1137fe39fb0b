//! Key-store backup split across nodes: an all-or-nothing transform followed by Reed–Solomon
//! erasure coding ([`slices`]), placed on trusted-institution and client nodes under checked
//! constraints ([`placement`]).

pub mod aont;
pub mod placement;
pub mod slices;

pub use placement::{NodeShare, Placement};
pub use slices::{restore, split, Slice};

/// Errors of backup and restore.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BackupError {
    /// Impossible split parameters.
    #[error("bad backup parameters: {0}")]
    BadParameters(String),
    /// The placement violates a constraint.
    #[error("placement rejected: {0}")]
    BadPlacement(String),
    /// The bytes are not a valid slice.
    #[error("not a valid backup slice: {0}")]
    BadSlice(&'static str),
    /// A slice's integrity tag does not match its contents.
    #[error("slice {index} is corrupted (integrity tag mismatch)")]
    CorruptSlice {
        /// The slice index its header claims.
        index: u8,
    },
    /// The slices belong to different backups.
    #[error("the slices belong to different backups")]
    Mixed,
    /// Too few distinct slices.
    #[error("{have} distinct slices, {need} needed to restore")]
    NotEnough {
        /// Distinct slices given.
        have: usize,
        /// The threshold.
        need: usize,
    },
    /// The restored package fails its check (a slice was altered and re-tagged).
    #[error("restored data fails its check: a slice was altered")]
    Corrupt,
}
