//! AdamW's update as composed burn operations.

use burn::tensor::Tensor;

use super::AdamWStep;

/// AdamW's update as tensor operations, PyTorch's order: `p ← p(1 − lr·wd)`,
/// `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`, `p ← p − lr/bias₁ · m / (√v / √bias₂ + ε)`.
pub fn adamw_update(
    value: Tensor<1>,
    grad: Tensor<1>,
    m: Tensor<1>,
    v: Tensor<1>,
    step: &AdamWStep,
) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
    let m = m.mul_scalar(step.beta1 as f32) + grad.clone().mul_scalar((1.0 - step.beta1) as f32);
    let v =
        v.mul_scalar(step.beta2 as f32) + grad.powi_scalar(2).mul_scalar((1.0 - step.beta2) as f32);
    let decayed = value.mul_scalar((1.0 - step.lr * step.weight_decay) as f32);
    let denom = v
        .clone()
        .sqrt()
        .div_scalar(step.bias_correction2.sqrt() as f32)
        .add_scalar(step.eps as f32);
    let updated =
        decayed - (m.clone() / denom).mul_scalar((step.lr / step.bias_correction1) as f32);
    (updated, m, v)
}
