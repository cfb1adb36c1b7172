//! SwiGLU on flex: the kernels of `kernel.rs` on the tensors' buffers.

use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;

use super::kernel;
use super::{SwigluBackward, SwigluOps};
use crate::fused::flex_tensors::{contiguous, shape, tensor, values};

impl SwigluOps for Flex {
    fn fused_swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self> {
        let (gate, up) = (contiguous(&gate), contiguous(&up));
        tensor(
            kernel::swiglu_forward(values(&gate), values(&up)),
            shape(&gate),
        )
    }
}

impl SwigluBackward for Flex {
    fn swiglu_backward(
        gate: FloatTensor<Self>,
        up: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (gate, up, grad) = (contiguous(&gate), contiguous(&up), contiguous(&grad));
        let (d_gate, d_up) = kernel::swiglu_backward(values(&gate), values(&up), values(&grad));
        let dims = shape(&gate);
        (tensor(d_gate, dims.clone()), tensor(d_up, dims))
    }
}
