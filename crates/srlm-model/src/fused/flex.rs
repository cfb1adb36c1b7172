//! [`FusedOps`] and [`FusedBackward`] for burn-flex: each operation reads its inputs' buffers
//! (made contiguous first when they are views) and runs a kernel of `kernels/`.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;
use burn::tensor::Shape;

use super::flex_buffers::{contiguous, tensor, values};
use super::kernels::{self, RowBroadcast};
use super::ops::{FusedBackward, FusedOps};
use super::AdamWStep;
use super::{attention, linear_log_probs};

fn shape(tensor: &FlexTensor) -> Shape {
    tensor.layout().shape().clone()
}

/// `tensor` as the sole owner of a contiguous buffer holding exactly its values (moved when it
/// already is one; else a copy), so that `storage_mut` writes in place without copying first
/// unless the buffer is shared.
fn owned_contiguous(tensor: FlexTensor) -> FlexTensor {
    let exact = tensor.bytes().len() == tensor.layout().num_elements() * size_of::<f32>();
    if tensor.is_contiguous() && tensor.layout().start_offset() == 0 && exact {
        tensor
    } else {
        tensor.to_contiguous()
    }
}

/// How `[batch, 1 | heads, rows, width]` `table` broadcasts over `x`'s heads.
fn row_broadcast(x: &Shape, table: &Shape) -> RowBroadcast {
    RowBroadcast {
        width: x[3],
        group: x[2],
        heads: if table[1] == 1 { x[1] } else { 1 },
    }
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

    fn fused_few_rows_matmul(x: FlexTensor, w: FlexTensor) -> FlexTensor {
        let (x, w) = (contiguous(&x), contiguous(&w));
        let ([rows, k], n) = ([shape(&x)[0], shape(&x)[1]], shape(&w)[1]);
        tensor(
            kernels::few_rows_matmul(values(&x), values(&w), rows, k, n),
            Shape::from(vec![rows, n]),
        )
    }

    fn fused_few_rows_matmul_transposed(x: FlexTensor, e: FlexTensor) -> FlexTensor {
        let (x, e) = (contiguous(&x), contiguous(&e));
        let ([rows, k], n) = ([shape(&x)[0], shape(&x)[1]], shape(&e)[0]);
        tensor(
            kernels::few_rows_matmul_transposed(values(&x), values(&e), rows, k, n),
            Shape::from(vec![rows, n]),
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
        let layout = row_broadcast(&dims, &shape(&bias));
        tensor(
            kernels::softmax_forward(values(&scores), values(&bias), layout, scale),
            dims,
        )
    }

    fn fused_attention(
        q: FlexTensor,
        k: FlexTensor,
        v: FlexTensor,
        bias: FlexTensor,
        scale: f32,
    ) -> FlexTensor {
        attention::forward_tensors(q, k, v, bias, scale).0
    }

    fn fused_rotary(x: FlexTensor, cos: FlexTensor, sin: FlexTensor) -> FlexTensor {
        let (x, cos, sin) = (contiguous(&x), contiguous(&cos), contiguous(&sin));
        let dims = shape(&x);
        let layout = row_broadcast(&dims, &shape(&cos));
        tensor(
            kernels::rotary_forward(values(&x), values(&cos), values(&sin), layout),
            dims,
        )
    }

    fn fused_adamw(
        value: FlexTensor,
        grad: FlexTensor,
        m: FlexTensor,
        v: FlexTensor,
        step: AdamWStep,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let mut value = owned_contiguous(value);
        let (mut m, mut v) = (owned_contiguous(m), owned_contiguous(v));
        let grad = contiguous(&grad);
        kernels::adamw_update(
            value.storage_mut::<f32>(),
            values(&grad),
            m.storage_mut::<f32>(),
            v.storage_mut::<f32>(),
            &step,
        );
        (value, m, v)
    }
}

impl FusedBackward for Flex {
    fn attention_with_lse(
        q: FlexTensor,
        k: FlexTensor,
        v: FlexTensor,
        bias: FlexTensor,
        scale: f32,
    ) -> (FlexTensor, FlexTensor) {
        attention::forward_tensors(q, k, v, bias, scale)
    }

    fn attention_backward(
        q: FlexTensor,
        k: FlexTensor,
        v: FlexTensor,
        bias: FlexTensor,
        out: FlexTensor,
        lse: FlexTensor,
        grad: FlexTensor,
        scale: f32,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        attention::backward_tensors(q, k, v, bias, out, lse, grad, scale)
    }

    fn rotary_backward(
        grad: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (grad, cos, sin) = (contiguous(&grad), contiguous(&cos), contiguous(&sin));
        let dims = shape(&grad);
        let layout = row_broadcast(&dims, &shape(&cos));
        tensor(
            kernels::rotary_backward(values(&grad), values(&cos), values(&sin), layout),
            dims,
        )
    }

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
        weight_grad: bool,
    ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
        linear_log_probs::backward(hidden, weight, targets, lse, grad, weight_grad)
    }
}
