//! Attention as composed burn operations.

use burn::tensor::Tensor;

use crate::fused::attention_softmax::reference::attention_softmax;

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
