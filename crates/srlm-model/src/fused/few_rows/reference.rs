//! The few-rows products as burn's matrix product.

use burn::tensor::Tensor;

/// `x · w`.
pub fn few_rows_matmul(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    x.matmul(w)
}

/// `x · eᵀ`.
pub fn few_rows_matmul_transposed(x: Tensor<2>, e: Tensor<2>) -> Tensor<2> {
    x.matmul(e.transpose())
}
