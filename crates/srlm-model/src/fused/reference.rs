//! The composed burn operations each fused operation computes: what runs on every backend
//! without a fused kernel, and what the fused kernels are tested against.

use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Int, Tensor, TensorData};

use super::AdamWStep;
use crate::log_sum_exp::log_sum_exp;

/// `x · weight · rsqrt(mean(x²) + ε)` over the last dimension.
pub fn rms_norm<const D: usize>(x: Tensor<D>, weight: Tensor<1>, eps: f64) -> Tensor<D> {
    let variance = x.clone().square().mean_dim(D - 1);
    let inv = (variance + eps).sqrt().recip();
    x * inv * weight.unsqueeze::<D>()
}

/// `silu(gate) · up`.
pub fn swiglu<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    silu(gate) * up
}

/// `softmax(scale · scores + bias)` over the last dimension.
pub fn attention_softmax(scores: Tensor<4>, bias: Tensor<4>, scale: f64) -> Tensor<4> {
    softmax(scores.mul_scalar(scale) + bias, 3)
}

/// `softmax(scale · q·kᵀ + bias) · v`, the scores and probabilities written out.
pub fn attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    bias: Tensor<4>,
    scale: f64,
) -> Tensor<4> {
    attention_softmax(q.matmul(k.swap_dims(2, 3)), bias, scale).matmul(v)
}

/// `log_softmax(hidden · weightᵀ)` at each row's target, with the `[rows, vocab]` logits
/// written out.
pub fn linear_log_probs(hidden: Tensor<2>, weight: Tensor<2>, targets: &[u32]) -> Tensor<1> {
    target_log_probs(hidden.matmul(weight.transpose()), targets)
}

/// `log_softmax(logits)` at each row's target: `logits` `[rows, vocab]` → `[rows]`.
pub fn target_log_probs(logits: Tensor<2>, targets: &[u32]) -> Tensor<1> {
    let rows = logits.dims()[0];
    let logits = logits.unsqueeze::<3>();
    let targets: Vec<i64> = targets.iter().map(|&t| i64::from(t)).collect();
    let targets =
        Tensor::<3, Int>::from_data(TensorData::new(targets, [1, rows, 1]), &logits.device());
    (logits.clone().gather(2, targets) - log_sum_exp(logits)).reshape([rows])
}

/// `x · cos + rotate_half(x) · sin`, `rotate_half(x) = [−x₂, x₁]` (x's halves on the last axis).
pub fn rotary(x: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    let [b, h, t, d] = x.dims();
    let half = d / 2;
    let x1 = x.clone().slice([0..b, 0..h, 0..t, 0..half]);
    let x2 = x.clone().slice([0..b, 0..h, 0..t, half..d]);
    let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
    x * cos + rotated * sin
}

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
