//! The rotary embedding on burn's CubeCL backends: the backward pass as burn tensor operations
//! (the forward pass is the reference's, which burn's fusion compiles).

use burn::tensor::Tensor;

/// The rotary embedding's `dx`: the transposed rotation of the output's gradient,
/// `g · cos + rotate_halfᵀ(g · sin)`, `rotate_halfᵀ(u) = [u₂, −u₁]`.
pub(super) fn rotary_backward(grad: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    let [b, h, t, d] = grad.dims();
    let half = d / 2;
    let u = grad.clone() * sin;
    let u1 = u.clone().slice([0..b, 0..h, 0..t, 0..half]);
    let u2 = u.slice([0..b, 0..h, 0..t, half..d]);
    grad * cos + Tensor::cat(vec![u2, u1.neg()], 3)
}

/// bf16 and f16 tensors are widened to f32 for the rotation; results come back in the rotated
/// tensor's dtype.
#[cfg(fused_cube)]
mod arms {
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Cube, TensorMetadata};

    use super::super::{reference, RotaryBackward, RotaryOps};
    use crate::fused::cube_tensors::{lift_f32, lower_in};

    impl RotaryOps for Cube {
        fn fused_rotary(
            x: FloatTensor<Self>,
            cos: FloatTensor<Self>,
            sin: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let dtype = x.dtype();
            lower_in(
                reference::rotary(lift_f32(x), lift_f32(cos), lift_f32(sin)),
                dtype,
            )
        }
    }

    impl RotaryBackward for Cube {
        fn rotary_backward(
            grad: FloatTensor<Self>,
            cos: FloatTensor<Self>,
            sin: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let dtype = grad.dtype();
            lower_in(
                super::rotary_backward(lift_f32(grad), lift_f32(cos), lift_f32(sin)),
                dtype,
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
    fn rotary_matches_autodiff_through_the_reference() {
        let (b, h, t, d) = (2, 3, 4, 10);
        let x = random([b, h, t, d], &plain());
        let cos = random([b, 1, t, d], &plain());
        let sin = random([b, 1, t, d], &plain());
        let g = random([b, h, t, d], &plain());
        let ad = plain().autodiff();
        let xa = on(&x, &ad).require_grad();
        let y = reference::rotary(xa.clone(), on(&cos, &ad), on(&sin, &ad));
        let grads = (y * on(&g, &ad)).sum().backward();
        assert_close(rotary_backward(g, cos, sin), xa.grad(&grads).unwrap(), "dx");
    }
}
