//! The attention softmax on burn's CubeCL backends: the backward pass as burn tensor operations
//! (the forward pass is the reference's, which burn's fusion compiles).

use burn::tensor::Tensor;

/// `softmax(scale · scores + bias)`'s `dscores` from its output `probs` and the output's
/// gradient: `scale · p · (g − Σ g·p)`.
pub(super) fn attention_softmax_backward(
    probs: Tensor<4>,
    grad: Tensor<4>,
    scale: f32,
) -> Tensor<4> {
    let dot = (grad.clone() * probs.clone()).sum_dim(3);
    (probs * (grad - dot)).mul_scalar(scale)
}

/// bf16 and f16 scores are widened to f32 for the softmax and its gradient; results come back in
/// the scores' dtype.
#[cfg(fused_cube)]
mod arms {
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Cube, TensorMetadata};

    use super::super::{reference, AttentionSoftmaxBackward, AttentionSoftmaxOps};
    use crate::fused::cube_tensors::{lift_f32, lower_in};

    impl AttentionSoftmaxOps for Cube {
        fn fused_attention_softmax(
            scores: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            scale: f32,
        ) -> FloatTensor<Self> {
            let dtype = scores.dtype();
            let probs =
                reference::attention_softmax(lift_f32(scores), lift_f32(bias), f64::from(scale));
            lower_in(probs, dtype)
        }
    }

    impl AttentionSoftmaxBackward for Cube {
        fn attention_softmax_backward(
            probs: FloatTensor<Self>,
            grad: FloatTensor<Self>,
            scale: f32,
        ) -> FloatTensor<Self> {
            let dtype = probs.dtype();
            let d_scores =
                super::attention_softmax_backward(lift_f32(probs), lift_f32(grad), scale);
            lower_in(d_scores, dtype)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference;
    use super::*;
    use crate::fused::testing::{assert_close, on, plain, random};

    #[test]
    fn attention_softmax_matches_autodiff_through_the_reference() {
        let (b, h, rows, keys) = (2, 3, 5, 9);
        let scores = random([b, h, rows, keys], &plain());
        // One head's bias broadcast, with masked keys as the model writes them.
        let bias = random([b, 1, rows, keys], &plain()).mask_fill(
            random([b, 1, rows, keys], &plain()).greater_elem(1.0),
            -1.0e9,
        );
        let scale = 0.37;
        let ad = plain().autodiff();
        let sa = on(&scores, &ad).require_grad();
        let p = reference::attention_softmax(sa.clone(), on(&bias, &ad), f64::from(scale));
        let gp = random([b, h, rows, keys], &plain());
        let grads = (p.clone() * on(&gp, &ad)).sum().backward();
        let probs = reference::attention_softmax(scores, bias, f64::from(scale));
        assert_close(probs.clone(), p.inner(), "probs");
        let d_s = attention_softmax_backward(probs, gp, scale);
        assert_close(d_s, sa.grad(&grads).unwrap(), "dscores");
    }
}
