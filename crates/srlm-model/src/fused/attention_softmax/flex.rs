//! The attention softmax on flex: the kernels of `kernel.rs` on the tensors' buffers.

use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;

use super::kernel;
use super::{AttentionSoftmaxBackward, AttentionSoftmaxOps};
use crate::fused::flex_tensors::{contiguous, row_broadcast, shape, tensor, values};

impl AttentionSoftmaxOps for Flex {
    fn fused_attention_softmax(
        scores: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        let (scores, bias) = (contiguous(&scores), contiguous(&bias));
        let dims = shape(&scores);
        let layout = row_broadcast(&dims, &shape(&bias));
        tensor(
            kernel::softmax_forward(values(&scores), values(&bias), layout, scale),
            dims,
        )
    }
}

impl AttentionSoftmaxBackward for Flex {
    fn attention_softmax_backward(
        probs: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        let (probs, grad) = (contiguous(&probs), contiguous(&grad));
        let dims = shape(&probs);
        let width = dims[dims.num_dims() - 1];
        tensor(
            kernel::softmax_backward(values(&probs), values(&grad), width, scale),
            dims,
        )
    }
}
