//! The rotary embedding on flex: the kernels of `kernel.rs` on the tensors' buffers.

use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;

use super::kernel;
use super::{RotaryBackward, RotaryOps};
use crate::fused::flex_tensors::{contiguous, row_broadcast, shape, tensor, values};

impl RotaryOps for Flex {
    fn fused_rotary(
        x: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, cos, sin) = (contiguous(&x), contiguous(&cos), contiguous(&sin));
        let dims = shape(&x);
        let layout = row_broadcast(&dims, &shape(&cos));
        tensor(
            kernel::rotary_forward(values(&x), values(&cos), values(&sin), layout),
            dims,
        )
    }
}

impl RotaryBackward for Flex {
    fn rotary_backward(
        grad: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (grad, cos, sin) = (contiguous(&grad), contiguous(&cos), contiguous(&sin));
        let dims = shape(&grad);
        let layout = row_broadcast(&dims, &shape(&cos));
        tensor(
            kernel::rotary_backward(values(&grad), values(&cos), values(&sin), layout),
            dims,
        )
    }
}
