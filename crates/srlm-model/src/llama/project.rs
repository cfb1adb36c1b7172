//! A linear projection of `[batch, seq, in]` as one matrix product of its `batch · seq` rows:
//! when those are few (decoding a small batch), [`crate::fused::few_rows_matmul`] reads the
//! weight once instead of letting `gemm` pack it on every call.

use burn::nn::Linear;
use burn::tensor::Tensor;

/// `linear(x)` for `x` `[batch, seq, in]`, computed as one `[batch · seq, in]` product.
pub(crate) fn project(linear: &Linear, x: Tensor<3>) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let rows = x.reshape([b * t, d]);
    let y = match &linear.bias {
        None => crate::fused::few_rows_matmul(rows, linear.weight.val()),
        Some(_) => linear.forward(rows),
    };
    let out = y.dims()[1];
    y.reshape([b, t, out])
}
