//! Fused operations for the model's hot paths, each with its own backward pass.
//!
//! burn-autodiff records RMSNorm, SiLU·up and the attention softmax as 3–6 element-wise
//! operations each, and burn-flex runs its transcendental functions (`exp`, `sigmoid`) as a
//! scalar loop on one thread. The functions here compute each of them in one pass forward and
//! one pass backward, threaded and vectorised, as a burn backend extension
//! (`#[backend_extension]`), one extension trait per operation, implemented for the flex
//! backend and for autodiff over it. Inference has one more: [`few_rows_matmul`], a few rows by
//! a weight read once (decoding a small batch), where `gemm` would pack the weight on every call.
//!
//! On burn's CubeCL backend (wgpu, cuda, burn's `cpu`) the same extensions run tensor
//! operations that burn's fusion compiles into kernels, with the same hand-written backward
//! passes: autodiff keeps one node per operation, attention recomputes its probabilities instead
//! of keeping them, and the output projection's log-probs never hold the `[rows, vocab]` logits.
//! For tensors that are not `f32`, on any other backend, and for an operation turned off (see
//! [`set_enabled`]), each function computes the composed burn operations of [`mod@reference`]
//! instead — the definition every fused arm is tested against.
//!
//! Each operation is one folder: `mod.rs` (its wrapper, its extension trait and the trait its
//! backward pass needs), `reference.rs`, `kernel.rs` + `flex.rs` (flex), `cube.rs` (CubeCL),
//! `autodiff.rs`. What several share: `routing.rs` (which arm runs), `switch.rs` (which
//! operations are on), `simd.rs` (the flex kernels' building blocks), `flex_tensors.rs` and
//! `cube_tensors.rs` (the backends' buffers). Adding an operation is one folder, its `mod` line
//! and re-exports below, its [`FusedOp`] and its line in `reference.rs`.
//!
//! ```
//! use srlm_model::burn::tensor::{Device, Tensor};
//! use srlm_model::fused;
//!
//! let device = Device::flex();
//! let x = Tensor::<3>::from_floats([[[1.0, -2.0, 3.0, 0.5]]], &device);
//! let w = Tensor::<1>::from_floats([1.0, 1.0, 2.0, 1.0], &device);
//! let fast = fused::rms_norm(x.clone(), w.clone(), 1e-5);
//! let composed = fused::reference::rms_norm(x, w, 1e-5);
//! fast.into_data().assert_approx_eq::<f32>(&composed.into_data(), Default::default());
//! ```

mod adamw;
mod attention;
mod attention_softmax;
mod few_rows;
mod linear_log_probs;
mod rms_norm;
mod rotary;
mod swiglu;

#[cfg(fused_cube)]
mod cube_tensors;
#[cfg(feature = "flex")]
mod flex_tensors;
pub mod reference;
mod routing;
#[cfg(feature = "flex")]
mod simd;
mod switch;
#[cfg(test)]
mod testing;

pub use adamw::{adamw_update, AdamWStep};
pub use attention::attention;
pub use attention_softmax::attention_softmax;
pub use few_rows::{
    few_rows_matmul, few_rows_matmul_transposed, FEW_ROWS_MAX, FEW_ROWS_TRANSPOSED_MAX,
};
pub use linear_log_probs::linear_log_probs;
pub use rms_norm::rms_norm;
pub use rotary::rotary;
pub use routing::{is_cube, is_flex};
pub use swiglu::swiglu;
pub use switch::{
    enabled, enabled_ops, parse_fused_ops, set_enabled, with_enabled, FusedOp, ENV_VAR,
};
