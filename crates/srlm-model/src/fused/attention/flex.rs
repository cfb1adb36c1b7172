//! Attention on flex: the tiled kernels of `kernel.rs` on the tensors' buffers.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;

use super::kernel::{backward, forward, AttentionDims, AttentionSaved};
use super::{AttentionBackward, AttentionOps};
use crate::fused::flex_tensors::{contiguous, tensor, values};

impl AttentionOps for Flex {
    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        forward_tensors(q, k, v, bias, scale).0
    }
}

impl AttentionBackward for Flex {
    fn attention_with_lse(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        forward_tensors(q, k, v, bias, scale)
    }

    fn attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        out: FloatTensor<Self>,
        lse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        backward_tensors(q, k, v, bias, out, lse, grad, scale)
    }
}

/// The dimensions of `q` `[batch, heads, rows, dim]`, `k` `[batch, heads, keys, dim]` and
/// `bias` `[batch, 1 | heads, rows, keys]`.
fn dims_of(q: &FlexTensor, k: &FlexTensor, bias: &FlexTensor) -> AttentionDims {
    let (q, k, bias) = (
        q.layout().shape(),
        k.layout().shape(),
        bias.layout().shape(),
    );
    AttentionDims {
        batch: q[0],
        heads: q[1],
        rows: q[2],
        keys: k[2],
        dim: q[3],
        bias_heads: bias[1],
    }
}

/// [`forward`] on tensors: `(out [batch, heads, rows, dim], lse [batch, heads, rows])`.
fn forward_tensors(
    q: FlexTensor,
    k: FlexTensor,
    v: FlexTensor,
    bias: FlexTensor,
    scale: f32,
) -> (FlexTensor, FlexTensor) {
    let (q, k, v, bias) = (
        contiguous(&q),
        contiguous(&k),
        contiguous(&v),
        contiguous(&bias),
    );
    let dims = dims_of(&q, &k, &bias);
    let (out, lse) = forward(
        values(&q),
        values(&k),
        values(&v),
        values(&bias),
        dims,
        scale,
    );
    let AttentionDims {
        batch,
        heads,
        rows,
        dim,
        ..
    } = dims;
    (
        tensor(out, [batch, heads, rows, dim].into()),
        tensor(lse, [batch, heads, rows].into()),
    )
}

/// [`backward`] on tensors: `(dq, dk, dv)` in the shapes of `q`, `k` and `v`.
#[allow(clippy::too_many_arguments)]
fn backward_tensors(
    q: FlexTensor,
    k: FlexTensor,
    v: FlexTensor,
    bias: FlexTensor,
    out: FlexTensor,
    lse: FlexTensor,
    grad: FlexTensor,
    scale: f32,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (q, k, v, bias) = (
        contiguous(&q),
        contiguous(&k),
        contiguous(&v),
        contiguous(&bias),
    );
    let (out, lse, grad) = (contiguous(&out), contiguous(&lse), contiguous(&grad));
    let dims = dims_of(&q, &k, &bias);
    let saved = AttentionSaved {
        q: values(&q),
        k: values(&k),
        v: values(&v),
        bias: values(&bias),
        out: values(&out),
        lse: values(&lse),
        grad: values(&grad),
    };
    let (d_q, d_k, d_v) = backward(&saved, dims, scale);
    (
        tensor(d_q, q.layout().shape().clone()),
        tensor(d_k, k.layout().shape().clone()),
        tensor(d_v, v.layout().shape().clone()),
    )
}
