//! RMSNorm as composed burn operations: what runs without a fused arm, and what the arms are
//! tested against.

use burn::tensor::Tensor;

/// `x · weight · rsqrt(mean(x²) + ε)` over the last dimension.
pub fn rms_norm<const D: usize>(x: Tensor<D>, weight: Tensor<1>, eps: f64) -> Tensor<D> {
    let variance = x.clone().square().mean_dim(D - 1);
    let inv = (variance + eps).sqrt().recip();
    x * inv * weight.unsqueeze::<D>()
}
