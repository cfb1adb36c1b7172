//! The few-rows products on flex: the register-tiled kernels of `kernel.rs` and `tied_head.rs`
//! on the tensors' buffers.

use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;
use burn::tensor::Shape;

use super::FewRowsOps;
use super::{kernel, tied_head};
use crate::fused::flex_tensors::{contiguous, shape, tensor, values};

impl FewRowsOps for Flex {
    fn fused_few_rows_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        let (x, w) = (contiguous(&x), contiguous(&w));
        let ([rows, k], n) = ([shape(&x)[0], shape(&x)[1]], shape(&w)[1]);
        tensor(
            kernel::few_rows_matmul(values(&x), values(&w), rows, k, n),
            Shape::from(vec![rows, n]),
        )
    }

    fn fused_few_rows_matmul_transposed(
        x: FloatTensor<Self>,
        e: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, e) = (contiguous(&x), contiguous(&e));
        let ([rows, k], n) = ([shape(&x)[0], shape(&x)[1]], shape(&e)[0]);
        tensor(
            tied_head::few_rows_matmul_transposed(values(&x), values(&e), rows, k, n),
            Shape::from(vec![rows, n]),
        )
    }
}
