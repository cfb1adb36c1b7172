//! AdamW's hyper-parameters and the layout of its update.

use serde::{Deserialize, Serialize};

/// AdamW's hyper-parameters (PyTorch's defaults, weight decay TRL's 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// How the update walks the trainable parameters ([`UpdateLayout::PerTensor`] unless set).
    #[serde(default)]
    pub layout: UpdateLayout,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            layout: UpdateLayout::PerTensor,
        }
    }
}

/// How the gradient norm and the AdamW update walk the trainable parameters. Both layouts
/// compute the same update (the norm's sum in another order: within float rounding).
///
/// Per tensor is the default on every backend: on flex its fused update runs in place, where
/// buckets copy; on burn's `cpu` backend the buckets' views ran as copy kernels, each compiled
/// in turn. Buckets are meant for CubeCL GPUs, where every operation of the per-tensor update
/// is a launch of its own — not yet measured there (`docs/performance.md`, *The optimizer
/// phase alone*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateLayout {
    /// One norm and one AdamW update per parameter tensor, moments kept per tensor.
    #[default]
    PerTensor,
    /// The gradients concatenated into flat buckets of up to [`BUCKET_ELEMENTS`] values (a
    /// larger tensor alone), the moments kept flat per bucket: one norm and one update per
    /// bucket, the parameters then views into the bucket's updated values.
    Buckets,
}

/// The most values a bucket gathers from several tensors (64 MiB of f32): the update's
/// transient copies of one bucket's gradients and values stay under 128 MiB.
pub const BUCKET_ELEMENTS: usize = 1 << 24;
