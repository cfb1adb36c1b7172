//! SwiGLU on burn's CubeCL backends: the backward pass as burn tensor operations (the forward
//! pass is the reference's, which burn's fusion compiles into one kernel).

use burn::tensor::activation::{sigmoid, silu};
use burn::tensor::Tensor;

/// SwiGLU's `(dgate, dup)`: `dup = g·silu(gate)`, `dgate = g·up·σ(gate)·(1 + gate·(1 − σ(gate)))`.
pub(super) fn swiglu_backward(
    gate: Tensor<1>,
    up: Tensor<1>,
    grad: Tensor<1>,
) -> (Tensor<1>, Tensor<1>) {
    let sig = sigmoid(gate.clone());
    let d_up = grad.clone() * silu(gate.clone());
    let slope = sig.clone() * (gate * (sig.neg().add_scalar(1.0))).add_scalar(1.0);
    (grad * up * slope, d_up)
}

/// bf16 and f16 tensors are widened to f32 for the gating and its gradient; results come back in
/// the inputs' dtypes.
#[cfg(fused_cube)]
mod arms {
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Cube, TensorMetadata};

    use super::super::{reference, SwigluBackward, SwigluOps};
    use crate::fused::cube_tensors::{lift_flat, lower_as, narrowed, widened};

    impl SwigluOps for Cube {
        fn fused_swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self> {
            let dtype = gate.dtype();
            let (gate, shape) = lift_flat(gate);
            let (up, _) = lift_flat(up);
            let y = reference::swiglu(widened(gate), widened(up));
            lower_as(narrowed(y, dtype), shape)
        }
    }

    impl SwigluBackward for Cube {
        fn swiglu_backward(
            gate: FloatTensor<Self>,
            up: FloatTensor<Self>,
            grad: FloatTensor<Self>,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            let (gate_dtype, up_dtype) = (gate.dtype(), up.dtype());
            let (gate, shape) = lift_flat(gate);
            let (up, grad) = (lift_flat(up).0, lift_flat(grad).0);
            let (d_gate, d_up) = super::swiglu_backward(widened(gate), widened(up), widened(grad));
            (
                lower_as(narrowed(d_gate, gate_dtype), shape.clone()),
                lower_as(narrowed(d_up, up_dtype), shape),
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
    fn swiglu_matches_autodiff_through_the_reference() {
        let n = 37;
        let (gate, up, g) = (
            random([n], &plain()),
            random([n], &plain()),
            random([n], &plain()),
        );
        let ga = on(&gate, &plain().autodiff()).require_grad();
        let ua = on(&up, &plain().autodiff()).require_grad();
        let y = reference::swiglu(ga.clone(), ua.clone());
        let grads = (y * on(&g, &plain().autodiff())).sum().backward();
        let (d_gate, d_up) = swiglu_backward(gate, up, g);
        assert_close(d_gate, ga.grad(&grads).unwrap(), "dgate");
        assert_close(d_up, ua.grad(&grads).unwrap(), "dup");
    }
}
