//! RMSNorm on flex: the kernels of `kernel.rs` on the tensors' buffers.

use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;

use super::kernel;
use super::{RmsNormBackward, RmsNormOps};
use crate::fused::flex_tensors::{contiguous, row_shape, shape, tensor, values};

impl RmsNormOps for Flex {
    fn fused_rms_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self> {
        Self::rms_norm_with_inverse(x, weight, eps).0
    }
}

impl RmsNormBackward for Flex {
    fn rms_norm_with_inverse(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        eps: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (x, weight) = (contiguous(&x), contiguous(&weight));
        let dims = shape(&x);
        let (y, inverse) = kernel::rms_norm_forward(values(&x), values(&weight), eps);
        let rows = row_shape(&dims);
        (tensor(y, dims), tensor(inverse, rows))
    }

    fn rms_norm_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        inverse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        weight_grad: bool,
    ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
        let (x, weight) = (contiguous(&x), contiguous(&weight));
        let (inverse, grad) = (contiguous(&inverse), contiguous(&grad));
        let (dx, dw) = kernel::rms_norm_backward(
            values(&x),
            values(&weight),
            values(&inverse),
            values(&grad),
            weight_grad,
        );
        let dw = dw.map(|dw| tensor(dw, shape(&weight)));
        (tensor(dx, shape(&x)), dw)
    }
}
