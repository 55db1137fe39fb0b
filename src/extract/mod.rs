//! Feature extraction: preprocessing, quantization and min-entropy estimation.
//!
//! Each party runs the same code on its own channel measurements:
//!
//! ```text
//!  FeatureBlock ─► preprocess (normalize · DCT/PCA · decimate) ─► samples
//!  samples ─► Quantizer::drop_list ──(sent in the clear)──► union of both lists
//!  samples + union ─► Quantizer::quantize ─► Gray-coded bits + soft values
//!  bits ─► estimate_min_entropy (NIST SP 800-90B §6.3)
//! ```
//!
//! Nothing here does I/O; the values the session must exchange (time stride,
//! drop lists) are returned to the caller.

mod entropy;
mod error;
mod guard;
mod preprocess;
mod quantize;
mod rate;

pub use entropy::{
    collision_estimate, compression_estimate, estimate_min_entropy, markov_estimate, mcv_estimate,
    t_tuple_estimate, EntropyReport, COMPRESSION_MIN_SAMPLES, MIN_ENTROPY_SAMPLES,
    POOLED_COMPRESSION_MIN_BITS,
};
pub use error::ExtractError;
pub use guard::GuardBandQuantizer;
pub use preprocess::{
    auto_stride, pearson, preprocess, stride_for, Decorrelate, FeatureBlock, PreprocessConfig,
    TimeDecimation,
};
pub use quantize::{
    gray_decode, gray_encode, merge_drop_lists, new_column_quantizer, new_quantizer,
    EquiprobableQuantizer, Quantized, Quantizer, QuantizerKind, MAX_BITS_PER_SAMPLE,
};
pub use rate::{bits_per_sample_for, gray_disagreement, RECONCILIATION_EFFICIENCY};
