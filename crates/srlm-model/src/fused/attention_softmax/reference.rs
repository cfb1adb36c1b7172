//! The attention softmax as composed burn operations.

use burn::tensor::activation::softmax;
use burn::tensor::Tensor;

/// `softmax(scale · scores + bias)` over the last dimension.
pub fn attention_softmax(scores: Tensor<4>, bias: Tensor<4>, scale: f64) -> Tensor<4> {
    softmax(scores.mul_scalar(scale) + bias, 3)
}
