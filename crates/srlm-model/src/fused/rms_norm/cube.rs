//! RMSNorm on burn's CubeCL backends (wgpu, cuda, `cpu`): the forward pass with what its
//! backward pass needs, and the backward pass, as burn tensor operations that burn's fusion
//! compiles into kernels. Under autodiff they replace the composed operations' nodes with one.

use burn::tensor::Tensor;

/// RMSNorm over the last dimension of `x` `[rows, dim]` and each row's `1 / √(mean(x²) + ε)`,
/// `[rows, 1]`.
pub(super) fn rms_norm_with_inverse(
    x: Tensor<2>,
    weight: Tensor<1>,
    eps: f32,
) -> (Tensor<2>, Tensor<2>) {
    let inverse = (x.clone().square().mean_dim(1) + f64::from(eps))
        .sqrt()
        .recip();
    let y = x * inverse.clone() * weight.unsqueeze::<2>();
    (y, inverse)
}

/// RMSNorm's `(dx, dweight)`: `dx = r·g·w − x·r³·Σ(g·w·x)/d` and, when `weight_grad`,
/// `dw = Σ_rows g·x·r`.
pub(super) fn rms_norm_backward(
    x: Tensor<2>,
    weight: Tensor<1>,
    inverse: Tensor<2>,
    grad: Tensor<2>,
    weight_grad: bool,
) -> (Tensor<2>, Option<Tensor<1>>) {
    let dim = x.dims()[1];
    let gw = grad.clone() * weight.unsqueeze::<2>();
    let dot = (gw.clone() * x.clone()).sum_dim(1).div_scalar(dim as f32);
    let cubed = inverse.clone().powi_scalar(3);
    let dx = gw * inverse.clone() - x.clone() * cubed * dot;
    let dw = weight_grad.then(|| (grad * x * inverse).sum_dim(0).reshape([dim]));
    (dx, dw)
}

/// bf16 and f16 tensors are widened to f32 for the norm and its gradient; the result and the
/// gradients come back in their inputs' dtypes, the saved inverse stays f32.
#[cfg(fused_cube)]
mod arms {
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Cube, TensorMetadata};

    use super::super::{RmsNormBackward, RmsNormOps};
    use crate::fused::cube_tensors::{lift_f32, lift_rows, lower, lower_as, narrowed, widened};

    impl RmsNormOps for Cube {
        fn fused_rms_norm(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            eps: f32,
        ) -> FloatTensor<Self> {
            Self::rms_norm_with_inverse(x, weight, eps).0
        }
    }

    impl RmsNormBackward for Cube {
        fn rms_norm_with_inverse(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            eps: f32,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            let dtype = x.dtype();
            let (x, shape) = lift_rows(x);
            let (y, inverse) = super::rms_norm_with_inverse(widened(x), lift_f32(weight), eps);
            (lower_as(narrowed(y, dtype), shape), lower(inverse))
        }

        fn rms_norm_backward(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            inverse: FloatTensor<Self>,
            grad: FloatTensor<Self>,
            weight_grad: bool,
        ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
            let (x_dtype, w_dtype) = (x.dtype(), weight.dtype());
            let (x, shape) = lift_rows(x);
            let (grad, _) = lift_rows(grad);
            let (dx, dw) = super::rms_norm_backward(
                widened(x),
                lift_f32(weight),
                lift_f32(inverse),
                widened(grad),
                weight_grad,
            );
            (
                lower_as(narrowed(dx, x_dtype), shape),
                dw.map(|dw| lower(narrowed(dw, w_dtype))),
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
    fn rms_norm_matches_autodiff_through_the_reference() {
        let (rows, dim) = (7, 13);
        let x = random([rows, dim], &plain());
        let w = random([dim], &plain());
        let g = random([rows, dim], &plain());
        let xa = on(&x, &plain().autodiff()).require_grad();
        let wa = on(&w, &plain().autodiff()).require_grad();
        let y = reference::rms_norm(xa.clone(), wa.clone(), 1e-5);
        let grads = (y.clone() * on(&g, &plain().autodiff())).sum().backward();
        let (fy, inv) = rms_norm_with_inverse(x.clone(), w.clone(), 1e-5);
        assert_close(fy, y.inner(), "y");
        let (dx, dw) = rms_norm_backward(x.clone(), w.clone(), inv.clone(), g.clone(), true);
        assert_close(dx.clone(), xa.grad(&grads).unwrap(), "dx");
        assert_close(dw.unwrap(), wa.grad(&grads).unwrap(), "dw");
        // A frozen weight: the same dx, no dw.
        let (frozen_dx, frozen_dw) = rms_norm_backward(x, w, inv, g, false);
        assert!(frozen_dw.is_none());
        assert_close(frozen_dx, dx, "dx, weight frozen");
    }
}
