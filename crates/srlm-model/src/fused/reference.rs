//! The composed burn operations each fused operation computes: what runs on every backend
//! without a fused kernel, and what the fused kernels are tested against.

use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Int, Tensor, TensorData};

use crate::logprob::log_sum_exp;

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
