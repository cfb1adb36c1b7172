//! Attention on burn's CubeCL backends: the forward pass with each query's `log Σ exp`, and the
//! backward pass recomputing the probabilities from it, as burn tensor operations.

use burn::tensor::Tensor;

use crate::log_sum_exp::log_sum_exp;

/// `softmax(scale · q·kᵀ + bias) · v` and each query's `log Σ exp` of its scores, `[batch,
/// heads, rows, 1]`.
pub(super) fn attention_with_lse(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    bias: Tensor<4>,
    scale: f32,
) -> (Tensor<4>, Tensor<4>) {
    let z = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale) + bias;
    let [b, h, rows, keys] = z.dims();
    let lse = log_sum_exp(z.clone().reshape([b * h, rows, keys])).reshape([b, h, rows, 1]);
    let probs = (z - lse.clone()).exp();
    (probs.matmul(v), lse)
}

/// Attention's `(dq, dk, dv)`, the probabilities recomputed from the forward's `log Σ exp`:
/// `dv = pᵀ·g`, `ds = p·(g·vᵀ − Σ g·out)`, `dq = scale · ds·k`, `dk = scale · dsᵀ·q`.
#[allow(clippy::too_many_arguments)]
pub(super) fn attention_backward(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    bias: Tensor<4>,
    out: Tensor<4>,
    lse: Tensor<4>,
    grad: Tensor<4>,
    scale: f32,
) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
    let z = q
        .clone()
        .matmul(k.clone().swap_dims(2, 3))
        .mul_scalar(scale)
        + bias;
    let probs = (z - lse).exp();
    let d_v = probs.clone().swap_dims(2, 3).matmul(grad.clone());
    let row_dot = (grad.clone() * out).sum_dim(3);
    let d_scores = (probs * (grad.matmul(v.swap_dims(2, 3)) - row_dot)).mul_scalar(scale);
    let d_q = d_scores.clone().matmul(k);
    let d_k = d_scores.swap_dims(2, 3).matmul(q);
    (d_q, d_k, d_v)
}

/// bf16 and f16 tensors are widened to f32 — the scores, softmax and `log Σ exp`, and the
/// products too (the scores of a bf16 product would be rounded to bf16 before the softmax, as
/// flash attention never does) —; the output and the gradients come back in the inputs' dtypes,
/// the saved `log Σ exp` stays f32.
#[cfg(fused_cube)]
mod arms {
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Cube, TensorMetadata};

    use super::super::{AttentionBackward, AttentionOps};
    use crate::fused::cube_tensors::{lift_f32, lower, lower_in};

    impl AttentionOps for Cube {
        fn fused_attention(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            scale: f32,
        ) -> FloatTensor<Self> {
            Self::attention_with_lse(q, k, v, bias, scale).0
        }
    }

    impl AttentionBackward for Cube {
        fn attention_with_lse(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            scale: f32,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            let dtype = v.dtype();
            let (out, lse) = super::attention_with_lse(
                lift_f32(q),
                lift_f32(k),
                lift_f32(v),
                lift_f32(bias),
                scale,
            );
            (lower_in(out, dtype), lower(lse))
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
            let dtypes = (q.dtype(), k.dtype(), v.dtype());
            let (d_q, d_k, d_v) = super::attention_backward(
                lift_f32(q),
                lift_f32(k),
                lift_f32(v),
                lift_f32(bias),
                lift_f32(out),
                lift_f32(lse),
                lift_f32(grad),
                scale,
            );
            (
                lower_in(d_q, dtypes.0),
                lower_in(d_k, dtypes.1),
                lower_in(d_v, dtypes.2),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference;
    use super::*;
    use crate::fused::testing::{assert_close, on, plain, random};

    #[test]
    fn attention_matches_autodiff_through_the_reference() {
        let (b, h, rows, keys, dim) = (2, 3, 5, 9, 6);
        let q = random([b, h, rows, dim], &plain());
        let k = random([b, h, keys, dim], &plain());
        let v = random([b, h, keys, dim], &plain());
        // One head's bias broadcast, with masked keys as the model writes them.
        let bias = random([b, 1, rows, keys], &plain()).mask_fill(
            random([b, 1, rows, keys], &plain()).greater_elem(1.0),
            -1.0e9,
        );
        let g = random([b, h, rows, dim], &plain());
        let scale = 0.37;
        let ad = plain().autodiff();
        let (qa, ka, va) = (
            on(&q, &ad).require_grad(),
            on(&k, &ad).require_grad(),
            on(&v, &ad).require_grad(),
        );
        let y = reference::attention(
            qa.clone(),
            ka.clone(),
            va.clone(),
            on(&bias, &ad),
            f64::from(scale),
        );
        let grads = (y.clone() * on(&g, &ad)).sum().backward();
        let (out, lse) = attention_with_lse(q.clone(), k.clone(), v.clone(), bias.clone(), scale);
        assert_close(out.clone(), y.inner(), "out");
        let (d_q, d_k, d_v) = attention_backward(q, k, v, bias, out, lse, g, scale);
        assert_close(d_q, qa.grad(&grads).unwrap(), "dq");
        assert_close(d_k, ka.grad(&grads).unwrap(), "dk");
        assert_close(d_v, va.grad(&grads).unwrap(), "dv");
    }
}
