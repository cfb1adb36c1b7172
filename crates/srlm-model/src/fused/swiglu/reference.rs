//! SwiGLU's gating as composed burn operations.

use burn::tensor::activation::silu;
use burn::tensor::Tensor;

/// `silu(gate) · up`.
pub fn swiglu<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    silu(gate) * up
}
