//! The rotary embedding as composed burn operations.

use burn::tensor::Tensor;

/// `x · cos + rotate_half(x) · sin`, `rotate_half(x) = [−x₂, x₁]` (x's halves on the last axis).
pub fn rotary(x: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    let [b, h, t, d] = x.dims();
    let half = d / 2;
    let x1 = x.clone().slice([0..b, 0..h, 0..t, 0..half]);
    let x2 = x.clone().slice([0..b, 0..h, 0..t, half..d]);
    let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
    x * cos + rotated * sin
}
