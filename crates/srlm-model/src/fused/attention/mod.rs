//! Attention, `softmax(scale · q·kᵀ + bias) · v`, without the scores of the whole sequence held
//! (FlashAttention's recomputation): the wrapper, the backend-extension trait, and its arms —
//! `reference.rs`, `kernel.rs` + `flex.rs` (flex), `cube.rs` (CubeCL), `autodiff.rs`.

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

use super::attention_softmax::attention_softmax;
#[cfg(fused_extension)]
use super::routing::{bias_fits, runs_fused};
#[cfg(fused_extension)]
use super::switch::FusedOp;

/// The fused forward pass as a primitive operation of a backend.
#[cfg(fused_extension)]
#[backend_extension(Flex: cfg(feature = "flex"), Cube: cfg(fused_cube), Autodiff)]
pub(crate) trait AttentionOps: Backend {
    /// `softmax(scale · q·kᵀ + bias) · v`: `q` `[batch, heads, rows, dim]`, `k` and `v`
    /// `[batch, heads, keys, dim]`, `bias` `[batch, 1, rows, keys]` (shared by the heads) or
    /// `[batch, heads, rows, keys]`, a constant. The `[rows, keys]` scores of a head are never
    /// held whole.
    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self>;
}

/// What the backward pass needs from the backend that runs it.
#[cfg(fused_extension)]
pub(crate) trait AttentionBackward: AttentionOps {
    /// [`AttentionOps::fused_attention`] and each query's `log Σ exp` of its scores, `[batch,
    /// heads, rows]`.
    fn attention_with_lse(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// `(dq, dk, dv)` from the forward's inputs, output and `log Σ exp`, and the output's
    /// gradient; the probabilities are recomputed tile by tile.
    #[allow(clippy::too_many_arguments)]
    fn attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        out: FloatTensor<Self>,
        lse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
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
        return Tensor::from_dispatch(<burn::backend::Dispatch as AttentionOps>::fused_attention(
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

/// Whether `q`, `k`, `v` and `bias` have the shapes [`attention`] takes.
#[cfg(fused_extension)]
fn attention_fits(q: &[usize; 4], k: &[usize; 4], v: &[usize; 4], bias: &[usize; 4]) -> bool {
    k == v && k[..2] == q[..2] && k[3] == q[3] && bias_fits(&[q[0], q[1], q[2], k[2]], bias)
}
