//! The backend extension: the fused operations as new primitive operations of a backend
//! (burn's `#[backend_extension]`), and the kernels their hand-written backward passes call.

use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend};

use super::AdamWStep;

/// The fused forward operations, implemented for `Flex` (the kernels in `kernels/`), for
/// burn's CubeCL backend `Cube` (wgpu, cuda, `cpu`: the tensor operations of `portable.rs`,
/// compiled by burn's fusion) and for `Autodiff<B>` over any backend with [`FusedBackward`] (a
/// hand-written backward pass). Called through burn's `Dispatch` by the wrappers in
/// [`crate::fused`], which send only tensors on those backends here.
#[backend_extension(Flex: cfg(feature = "flex"), Cube: cfg(fused_cube), Autodiff)]
pub trait FusedOps: Backend {
    /// `x · w / √(mean(x²) + ε)` over the last dimension; `weight` has that dimension's size.
    fn fused_rms_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self>;

    /// `silu(gate) · up`, element-wise; `gate` and `up` have one shape.
    fn fused_swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `softmax(scale · scores + bias)` over the last dimension. `scores`: `[batch, heads, rows,
    /// keys]`; `bias`: `[batch, 1, rows, keys]` (shared by the heads) or the scores' shape. The
    /// bias is a constant: it receives no gradient.
    fn fused_attention_softmax(
        scores: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self>;

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

    /// `log_softmax(hidden · weightᵀ)[i, targets[i]]` for each row `i` of `hidden` (`[rows,
    /// hidden]`), `weight` `[vocab, hidden]`: each row's target log-probability, `[rows]`,
    /// without the `[rows, vocab]` logits ever being held whole.
    fn fused_linear_log_probs(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: Vec<u32>,
    ) -> FloatTensor<Self>;

    /// `x · cos + rotate_half(x) · sin`; `x` `[batch, heads, seq, dim]`, the tables
    /// `[batch, 1, seq, dim]` or `x`'s shape. The tables are constants.
    fn fused_rotary(
        x: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// `x · w`, `x` `[rows, in]` with few rows, `w` `[in, out]`: on flex the weight is read
    /// once (no packing). Under autodiff it is burn's tracked matrix product: the fused
    /// kernel serves inference, where decoding multiplies a few rows by every weight.
    fn fused_few_rows_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `x · eᵀ`, `x` `[rows, in]` with few rows, `e` `[out, in]` (a tied output projection):
    /// as [`FusedOps::fused_few_rows_matmul`], each row of `e` read once.
    fn fused_few_rows_matmul_transposed(
        x: FloatTensor<Self>,
        e: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// AdamW's update of one flattened parameter: the new `(value, m, v)`. Not differentiable
    /// (an optimizer works on the parameters' inner tensors).
    fn fused_adamw(
        value: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        step: AdamWStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// What the backward passes of [`FusedOps`] need from the backend that runs them.
pub trait FusedBackward: FusedOps {
    /// [`FusedOps::fused_rms_norm`] and, per row, `1 / √(mean(x²) + ε)` (`x`'s shape without
    /// its last dimension).
    fn rms_norm_with_inverse(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        eps: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// `(dx, dweight)` from the forward's inputs, its per-row inverse and the output's gradient.
    fn rms_norm_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        inverse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// `(dgate, dup)`.
    fn swiglu_backward(
        gate: FloatTensor<Self>,
        up: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// `dscores` from the forward's output `probs` and its gradient.
    fn attention_softmax_backward(
        probs: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self>;

    /// [`FusedOps::fused_attention`] and each query's `log Σ exp` of its scores, `[batch,
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

    /// [`FusedOps::fused_linear_log_probs`] and each row's `log Σ exp(logits)`, `[rows]`.
    fn linear_log_probs_with_lse(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: &[u32],
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// `(dhidden, dweight)` from the forward's inputs, its `log Σ exp` and the gradient of the
    /// log-probabilities; the logits are recomputed chunk by chunk. `dweight` (vocabulary ×
    /// hidden) only when `weight_grad`: a frozen head (LoRA) neither computes nor holds it.
    fn linear_log_probs_backward(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: &[u32],
        lse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        weight_grad: bool,
    ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>);

    /// The rotary embedding's backward pass: `dx` from the output's gradient and the tables.
    fn rotary_backward(
        grad: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}
