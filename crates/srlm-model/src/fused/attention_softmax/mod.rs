//! The attention softmax, `softmax(scale · scores + bias)` over the last dimension: the wrapper,
//! the backend-extension trait, and its arms — `reference.rs`, `kernel.rs` + `flex.rs` (flex),
//! `cube.rs` (CubeCL), `autodiff.rs`.

#[cfg(fused_extension)]
mod autodiff;
#[cfg(any(test, fused_cube))]
mod cube;
#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "flex")]
mod kernel;
pub(crate) mod reference;

#[cfg(fused_extension)]
use burn::backend::tensor::FloatTensor;
#[cfg(fused_extension)]
use burn::backend::{backend_extension, Backend};
use burn::tensor::Tensor;

#[cfg(fused_extension)]
use super::routing::{bias_fits, runs_fused};
#[cfg(fused_extension)]
use super::switch::FusedOp;

/// The fused forward pass as a primitive operation of a backend.
#[cfg(fused_extension)]
#[backend_extension(Flex: cfg(feature = "flex"), Cube: cfg(fused_cube), Autodiff)]
pub(crate) trait AttentionSoftmaxOps: Backend {
    /// `softmax(scale · scores + bias)` over the last dimension. `scores`: `[batch, heads, rows,
    /// keys]`; `bias`: `[batch, 1, rows, keys]` (shared by the heads) or the scores' shape. The
    /// bias is a constant: it receives no gradient.
    fn fused_attention_softmax(
        scores: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self>;
}

/// What the backward pass needs from the backend that runs it.
#[cfg(fused_extension)]
pub(crate) trait AttentionSoftmaxBackward: AttentionSoftmaxOps {
    /// `dscores` from the forward's output `probs` and its gradient.
    fn attention_softmax_backward(
        probs: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self>;
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
            <burn::backend::Dispatch as AttentionSoftmaxOps>::fused_attention_softmax(
                scores.into_dispatch(),
                bias.into_dispatch(),
                scale as f32,
            ),
        );
    }
    reference::attention_softmax(scores, bias, scale)
}
