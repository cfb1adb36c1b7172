//! Fused operations for the model's hot paths, each with its own backward pass.
//!
//! burn-autodiff records RMSNorm, SiLU·up and the attention softmax as 3–6 element-wise
//! operations each, and burn-flex runs its transcendental functions (`exp`, `sigmoid`) as a
//! scalar loop on one thread. The functions here compute each of them in one pass forward and
//! one pass backward, threaded and vectorised, as a burn backend extension
//! (`#[backend_extension]`): [`FusedOps`] for the flex backend and for autodiff over it.
//! Inference has one more: [`few_rows_matmul`], a few rows by a weight read once (decoding a
//! small batch), where `gemm` would pack the weight on every call.
//!
//! On burn's CubeCL backend (wgpu, cuda, burn's `cpu`) the same extension runs tensor
//! operations that burn's fusion compiles into kernels, with the same hand-written backward
//! passes (`portable.rs`): autodiff keeps one node per operation, attention recomputes its
//! probabilities instead of keeping them, and the output projection's log-probs never hold the
//! `[rows, vocab]` logits. For tensors that are not `f32`, on any other backend, and for an
//! operation turned off (see [`set_enabled`]), each function computes the composed burn
//! operations of [`reference`] instead — the definition every fused kernel is tested against.
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

#[cfg(feature = "flex")]
mod attention;
#[cfg(fused_extension)]
mod autodiff;
#[cfg(fused_cube)]
mod cube;
#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "flex")]
mod flex_buffers;
#[cfg(feature = "flex")]
mod kernels;
#[cfg(feature = "flex")]
mod linear_log_probs;
#[cfg(fused_extension)]
mod ops;
#[cfg(any(test, fused_cube))]
mod portable;
pub mod reference;
mod switch;

#[cfg(fused_extension)]
pub use ops::{FusedBackward, FusedOps};
pub use switch::{
    enabled, enabled_ops, parse_fused_ops, set_enabled, with_enabled, FusedOp, ENV_VAR,
};

#[cfg(fused_extension)]
use burn::tensor::DType;
use burn::tensor::{Device, Tensor};

/// `x · weight / √(mean(x²) + ε)` over the last dimension (Hugging Face's `LlamaRMSNorm`).
pub fn rms_norm<const D: usize>(x: Tensor<D>, weight: Tensor<1>, eps: f64) -> Tensor<D> {
    #[cfg(fused_extension)]
    if runs_fused(FusedOp::RmsNorm, &x.device(), &[x.dtype(), weight.dtype()]) {
        return Tensor::from_dispatch(<burn::backend::Dispatch as FusedOps>::fused_rms_norm(
            x.into_dispatch(),
            weight.into_dispatch(),
            eps as f32,
        ));
    }
    reference::rms_norm(x, weight, eps)
}

/// Most rows [`few_rows_matmul`] takes: up to here its register tiles beat `gemm` (which packs
/// the weight on every call) on SmolLM2's projections read from memory (docs/performance-log.md,
/// "Register tiles for the few-rows products").
pub const FEW_ROWS_MAX: usize = 64;

/// Most rows [`few_rows_matmul_transposed`] takes: up to here its register tiles beat `gemm`
/// (which packs the whole embedding on every call) on SmolLM2's head (docs/performance-log.md,
/// "Register tiles for the few-rows products").
pub const FEW_ROWS_TRANSPOSED_MAX: usize = 64;

/// `x · w` for `x` `[rows, in]` and `w` `[in, out]`. With 2 to [`FEW_ROWS_MAX`] rows on flex,
/// outside autodiff (decoding a small batch), the weight is read once instead of packed by
/// `gemm` on every call (`few_rows` in [`FusedOp`]); otherwise burn's matrix product.
pub fn few_rows_matmul(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    #[cfg(fused_extension)]
    if runs_few_rows(&x, &w, FEW_ROWS_MAX) {
        return Tensor::from_dispatch(
            <burn::backend::Dispatch as FusedOps>::fused_few_rows_matmul(
                x.into_dispatch(),
                w.into_dispatch(),
            ),
        );
    }
    x.matmul(w)
}

/// `x · eᵀ` for `x` `[rows, in]` and `e` `[out, in]` (a tied output projection, `e` the
/// embedding): as [`few_rows_matmul`], each row of `e` read once for 2 to
/// [`FEW_ROWS_TRANSPOSED_MAX`] rows on flex outside autodiff.
pub fn few_rows_matmul_transposed(x: Tensor<2>, e: Tensor<2>) -> Tensor<2> {
    #[cfg(fused_extension)]
    if runs_few_rows(&x, &e, FEW_ROWS_TRANSPOSED_MAX) {
        return Tensor::from_dispatch(
            <burn::backend::Dispatch as FusedOps>::fused_few_rows_matmul_transposed(
                x.into_dispatch(),
                e.into_dispatch(),
            ),
        );
    }
    x.matmul(e.transpose())
}

/// Whether the few-rows kernels take `x` times `w`: 2 to `max` rows, flex, no autodiff,
/// `f32`, [`FusedOp::FewRows`] on.
#[cfg(fused_extension)]
fn runs_few_rows(x: &Tensor<2>, w: &Tensor<2>, max: usize) -> bool {
    let rows = x.dims()[0];
    (2..=max).contains(&rows)
        && !x.is_autodiff()
        && !w.is_autodiff()
        && is_flex(&x.device())
        && runs_fused(FusedOp::FewRows, &x.device(), &[x.dtype(), w.dtype()])
}

/// `silu(gate) · up`, element-wise: the SwiGLU feed-forward's gating.
pub fn swiglu<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    #[cfg(fused_extension)]
    if runs_fused(FusedOp::Swiglu, &gate.device(), &[gate.dtype(), up.dtype()]) {
        return Tensor::from_dispatch(<burn::backend::Dispatch as FusedOps>::fused_swiglu(
            gate.into_dispatch(),
            up.into_dispatch(),
        ));
    }
    reference::swiglu(gate, up)
}

/// `softmax(scale · scores + bias)` over the last dimension, for attention: `scores`
/// `[batch, heads, queries, keys]`, `bias` `[batch, 1, queries, keys]` (broadcast over the
/// heads) or the scores' shape. The bias is a constant (it gets no gradient).
pub fn attention_softmax(scores: Tensor<4>, bias: Tensor<4>, scale: f64) -> Tensor<4> {
    #[cfg(fused_extension)]
    if runs_fused(
        FusedOp::AttentionSoftmax,
        &scores.device(),
        &[scores.dtype(), bias.dtype()],
    ) && bias_fits(&scores.dims(), &bias.dims())
    {
        return Tensor::from_dispatch(
            <burn::backend::Dispatch as FusedOps>::fused_attention_softmax(
                scores.into_dispatch(),
                bias.into_dispatch(),
                scale as f32,
            ),
        );
    }
    reference::attention_softmax(scores, bias, scale)
}

/// `softmax(scale · q·kᵀ + bias) · v`: `q` `[batch, heads, rows, dim]`, `k` and `v` `[batch,
/// heads, keys, dim]`, `bias` `[batch, 1, rows, keys]` (broadcast over the heads) or `[batch,
/// heads, rows, keys]`, a constant (no gradient). Fused, the scores are computed tile by tile
/// and never held for the whole sequence, forward or backward (the backward pass recomputes
/// them from each query's `log Σ exp`). Otherwise the scores are written out and go through
/// [`attention_softmax`].
pub fn attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    bias: Tensor<4>,
    scale: f64,
) -> Tensor<4> {
    #[cfg(fused_extension)]
    if runs_fused(
        FusedOp::Attention,
        &q.device(),
        &[q.dtype(), k.dtype(), v.dtype(), bias.dtype()],
    ) && attention_fits(&q.dims(), &k.dims(), &v.dims(), &bias.dims())
    {
        return Tensor::from_dispatch(<burn::backend::Dispatch as FusedOps>::fused_attention(
            q.into_dispatch(),
            k.into_dispatch(),
            v.into_dispatch(),
            bias.into_dispatch(),
            scale as f32,
        ));
    }
    // Off or not on flex: the scores written out, through the attention softmax (fused or not).
    attention_softmax(q.matmul(k.swap_dims(2, 3)), bias, scale).matmul(v)
}

/// Each row's target log-probability under the output projection: `log_softmax(hidden ·
/// weightᵀ)[i, targets[i]]`, `hidden` `[rows, dim]`, `weight` `[vocab, dim]` (the tied
/// embedding's layout), `[rows]`. Fused, the `[rows, vocab]` logits are never held whole
/// (chunks of 4,096 ids, an online log-sum-exp, recomputed in the backward pass).
pub fn linear_log_probs(hidden: Tensor<2>, weight: Tensor<2>, targets: &[u32]) -> Tensor<1> {
    #[cfg(fused_extension)]
    if runs_fused(
        FusedOp::LinearLogProbs,
        &hidden.device(),
        &[hidden.dtype(), weight.dtype()],
    ) && targets.len() == hidden.dims()[0]
        && targets.iter().all(|&t| (t as usize) < weight.dims()[0])
    {
        return Tensor::from_dispatch(
            <burn::backend::Dispatch as FusedOps>::fused_linear_log_probs(
                hidden.into_dispatch(),
                weight.into_dispatch(),
                targets.to_vec(),
            ),
        );
    }
    reference::linear_log_probs(hidden, weight, targets)
}

/// Rotary embedding in rotate-half form, `x · cos + rotate_half(x) · sin`: `x` `[batch, heads,
/// seq, head_dim]`, `cos` and `sin` `[batch, 1, seq, head_dim]` (broadcast over the heads;
/// constants, no gradient).
pub fn rotary(x: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    #[cfg(fused_extension)]
    if runs_fused(
        FusedOp::Rotary,
        &x.device(),
        &[x.dtype(), cos.dtype(), sin.dtype()],
    ) && x.dims()[3].is_multiple_of(2)
        && bias_fits(&x.dims(), &cos.dims())
        && cos.dims() == sin.dims()
    {
        return Tensor::from_dispatch(<burn::backend::Dispatch as FusedOps>::fused_rotary(
            x.into_dispatch(),
            cos.into_dispatch(),
            sin.into_dispatch(),
        ));
    }
    reference::rotary(x, cos, sin)
}

/// One AdamW step's settings for [`adamw_update`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWStep {
    /// Learning rate.
    pub lr: f64,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// `1 − β₁ᵗ` at this step `t`.
    pub bias_correction1: f64,
    /// `1 − β₂ᵗ`.
    pub bias_correction2: f64,
}

/// AdamW's update of one flattened parameter (PyTorch's semantics: decoupled weight decay,
/// bias-corrected moments): returns the new `(value, m, v)`. Fused, one pass over the four
/// buffers, in place where they are not shared.
pub fn adamw_update(
    value: Tensor<1>,
    grad: Tensor<1>,
    m: Tensor<1>,
    v: Tensor<1>,
    step: &AdamWStep,
) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
    #[cfg(fused_extension)]
    if runs_fused(
        FusedOp::AdamW,
        &value.device(),
        &[value.dtype(), grad.dtype(), m.dtype(), v.dtype()],
    ) && !value.is_autodiff()
        && [grad.dims(), m.dims(), v.dims()]
            .iter()
            .all(|d| *d == value.dims())
    {
        let (value, m, v) = <burn::backend::Dispatch as FusedOps>::fused_adamw(
            value.into_dispatch(),
            grad.into_dispatch(),
            m.into_dispatch(),
            v.into_dispatch(),
            *step,
        );
        return (
            Tensor::from_dispatch(value),
            Tensor::from_dispatch(m),
            Tensor::from_dispatch(v),
        );
    }
    reference::adamw_update(value, grad, m, v, step)
}

/// Whether a `[batch, 1 | heads, rows, width]` operand fits `[batch, heads, rows, width]`: its
/// shape, or one head broadcast.
#[cfg(fused_extension)]
fn bias_fits(scores: &[usize; 4], bias: &[usize; 4]) -> bool {
    bias[0] == scores[0] && (bias[1] == 1 || bias[1] == scores[1]) && bias[2..] == scores[2..]
}

/// Whether `q`, `k`, `v` and `bias` have the shapes [`attention`] takes.
#[cfg(fused_extension)]
fn attention_fits(q: &[usize; 4], k: &[usize; 4], v: &[usize; 4], bias: &[usize; 4]) -> bool {
    k == v && k[..2] == q[..2] && k[3] == q[3] && bias_fits(&[q[0], q[1], q[2], k[2]], bias)
}

/// Whether `op` runs fused for tensors on `device` with these element types.
#[cfg(fused_extension)]
fn runs_fused(op: FusedOp, device: &Device, dtypes: &[DType]) -> bool {
    enabled(op) && (is_flex(device) || is_cube(device)) && dtypes.iter().all(|d| *d == DType::F32)
}

/// Whether `device` is one of burn's CubeCL backends (wgpu, cuda, `cpu`), with or without
/// autodiff.
pub fn is_cube(device: &Device) -> bool {
    #[allow(unreachable_patterns)]
    match concrete(device.as_dispatch()) {
        #[cfg(fused_cube)]
        burn::backend::DispatchDevice::Cube(_) => true,
        _ => false,
    }
}

/// Whether `device` is the flex backend, with or without autodiff.
pub fn is_flex(device: &Device) -> bool {
    #[allow(unreachable_patterns)]
    match concrete(device.as_dispatch()) {
        #[cfg(feature = "flex")]
        burn::backend::DispatchDevice::Flex(_) => true,
        _ => false,
    }
}

/// The backend's own device under any autodiff wrapping.
fn concrete(device: &burn::backend::DispatchDevice) -> &burn::backend::DispatchDevice {
    match device {
        burn::backend::DispatchDevice::Autodiff(inner) => concrete(inner),
        other => other,
    }
}
