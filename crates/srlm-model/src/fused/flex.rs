//! [`FusedOps`] and [`FusedBackward`] for burn-flex: each operation reads its inputs' buffers
//! (made contiguous first when they are views) and runs a kernel of `kernels.rs`.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;
use burn::tensor::{Shape, TensorData};

use super::kernels::{self, SoftmaxLayout};
use super::linear_log_probs;
use super::ops::{FusedBackward, FusedOps};

/// `tensor` laid out contiguously: itself (a reference count) when it is, a copy when it is a
/// strided view.
pub(super) fn contiguous(tensor: &FlexTensor) -> FlexTensor {
    tensor.to_contiguous()
}

/// The `f32` values of a contiguous tensor (the wrappers in `fused` send only `f32` tensors).
pub(super) fn values(tensor: &FlexTensor) -> &[f32] {
    let storage = tensor.storage::<f32>();
    match tensor.layout().contiguous_offsets() {
        Some((start, end)) => &storage[start..end],
        None => storage,
    }
}

pub(super) fn tensor(values: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

fn shape(tensor: &FlexTensor) -> Shape {
    tensor.layout().shape().clone()
}

/// `shape` without its last dimension (one value per row).
fn row_shape(shape: &Shape) -> Shape {
    let dims = shape.as_slice();
    Shape::from(dims[..dims.len().saturating_sub(1)].to_vec())
}

impl FusedOps for Flex {
    fn fused_rms_norm(x: FlexTensor, weight: FlexTensor, eps: f32) -> FlexTensor {
        Self::rms_norm_with_inverse(x, weight, eps).0
    }

    fn fused_swiglu(gate: FlexTensor, up: FlexTensor) -> FlexTensor {
        let (gate, up) = (contiguous(&gate), contiguous(&up));
        tensor(
            kernels::swiglu_forward(values(&gate), values(&up)),
            shape(&gate),
        )
    }

    fn fused_linear_log_probs(
        hidden: FlexTensor,
        weight: FlexTensor,
        targets: Vec<u32>,
    ) -> FlexTensor {
        linear_log_probs::forward(hidden, weight, &targets).0
    }

    fn fused_attention_softmax(scores: FlexTensor, bias: FlexTensor, scale: f32) -> FlexTensor {
        let (scores, bias) = (contiguous(&scores), contiguous(&bias));
        let dims = shape(&scores);
        let [_, heads, rows, keys] = [dims[0], dims[1], dims[2], dims[3]];
        let bias_heads = shape(&bias)[1];
        let layout = SoftmaxLayout {
            width: keys,
            group: rows,
            heads: if bias_heads == 1 { heads } else { 1 },
        };
        tensor(
            kernels::softmax_forward(values(&scores), values(&bias), layout, scale),
            dims,
        )
    }
}

impl FusedBackward for Flex {
    fn rms_norm_with_inverse(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        eps: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (x, weight) = (contiguous(&x), contiguous(&weight));
        let dims = shape(&x);
        let (y, inverse) = kernels::rms_norm_forward(values(&x), values(&weight), eps);
        let rows = row_shape(&dims);
        (tensor(y, dims), tensor(inverse, rows))
    }

    fn rms_norm_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        inverse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (x, weight) = (contiguous(&x), contiguous(&weight));
        let (inverse, grad) = (contiguous(&inverse), contiguous(&grad));
        let (dx, dw) = kernels::rms_norm_backward(
            values(&x),
            values(&weight),
            values(&inverse),
            values(&grad),
        );
        (tensor(dx, shape(&x)), tensor(dw, shape(&weight)))
    }

    fn swiglu_backward(
        gate: FloatTensor<Self>,
        up: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (gate, up, grad) = (contiguous(&gate), contiguous(&up), contiguous(&grad));
        let (d_gate, d_up) = kernels::swiglu_backward(values(&gate), values(&up), values(&grad));
        let dims = shape(&gate);
        (tensor(d_gate, dims.clone()), tensor(d_up, dims))
    }

    fn attention_softmax_backward(
        probs: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        let (probs, grad) = (contiguous(&probs), contiguous(&grad));
        let dims = shape(&probs);
        let width = dims[dims.num_dims() - 1];
        tensor(
            kernels::softmax_backward(values(&probs), values(&grad), width, scale),
            dims,
        )
    }

    fn linear_log_probs_with_lse(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: &[u32],
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        linear_log_probs::forward(hidden, weight, targets)
    }

    fn linear_log_probs_backward(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: &[u32],
        lse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        linear_log_probs::backward(hidden, weight, targets, lse, grad)
    }
}
