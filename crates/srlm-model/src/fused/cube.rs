//! [`FusedOps`] and [`FusedBackward`] for burn's CubeCL backend (wgpu, cuda, burn's `cpu`): the
//! tensor-operation implementation of `portable.rs`, which burn's operation fusion compiles into
//! kernels, run on the primitives the backend extension hands over. Under autodiff each
//! operation keeps its one hand-written backward pass, and the output projection's log-probs
//! never hold the `[rows, vocab]` logits.

use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    BackendTensor, Cube, DispatchAutodiffContext, DispatchTensor, DispatchTensorKind,
    TensorMetadata,
};
use burn::tensor::{Shape, Tensor};

use super::ops::{FusedBackward, FusedOps};
use super::{portable, reference, AdamWStep};

/// A primitive of the CubeCL backend as a tensor of rank `D` (its rank).
fn lift<const D: usize>(tensor: FloatTensor<Cube>) -> Tensor<D> {
    Tensor::from_dispatch(DispatchTensor {
        kind: DispatchTensorKind::Cube(BackendTensor::Float(tensor)),
        autodiff: DispatchAutodiffContext::Disabled,
    })
}

/// The primitive back from a tensor that [`lift`] made (operations keep the backend).
fn lower<const D: usize>(tensor: Tensor<D>) -> FloatTensor<Cube> {
    match tensor.into_dispatch().kind {
        DispatchTensorKind::Cube(tensor) => tensor.float(),
        #[allow(unreachable_patterns)]
        _ => unreachable!("an operation on CubeCL tensors returned another backend's tensor"),
    }
}

/// `tensor` as `[rows, last dimension]`, and its shape to restore.
fn lift_rows(tensor: FloatTensor<Cube>) -> (Tensor<2>, Shape) {
    let shape = tensor.shape();
    let dims = shape.as_slice();
    let width = dims.last().copied().unwrap_or(1);
    let rows = dims.iter().product::<usize>() / width.max(1);
    let flat = Cube::float_reshape(tensor, Shape::new([rows, width]));
    (lift(flat), shape)
}

/// `tensor` flattened to one dimension, and its shape to restore.
fn lift_flat(tensor: FloatTensor<Cube>) -> (Tensor<1>, Shape) {
    let shape = tensor.shape();
    let flat = Cube::float_reshape(tensor, Shape::new([shape.num_elements()]));
    (lift(flat), shape)
}

fn lower_as<const D: usize>(tensor: Tensor<D>, shape: Shape) -> FloatTensor<Cube> {
    Cube::float_reshape(lower(tensor), shape)
}

impl FusedOps for Cube {
    fn fused_rms_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self> {
        Self::rms_norm_with_inverse(x, weight, eps).0
    }

    fn fused_swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self> {
        let (gate, shape) = lift_flat(gate);
        let (up, _) = lift_flat(up);
        lower_as(reference::swiglu(gate, up), shape)
    }

    fn fused_few_rows_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        lower(lift::<2>(x).matmul(lift::<2>(w)))
    }

    fn fused_few_rows_matmul_transposed(
        x: FloatTensor<Self>,
        e: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        lower(lift::<2>(x).matmul(lift::<2>(e).transpose()))
    }

    fn fused_attention_softmax(
        scores: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        lower(reference::attention_softmax(
            lift(scores),
            lift(bias),
            f64::from(scale),
        ))
    }

    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        Self::attention_with_lse(q, k, v, bias, scale).0
    }

    fn fused_linear_log_probs(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: Vec<u32>,
    ) -> FloatTensor<Self> {
        Self::linear_log_probs_with_lse(hidden, weight, &targets).0
    }

    fn fused_rotary(
        x: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        lower(reference::rotary(lift(x), lift(cos), lift(sin)))
    }

    fn fused_adamw(
        value: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        step: AdamWStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (value, shape) = lift_flat(value);
        let (grad, m, v) = (lift_flat(grad).0, lift_flat(m).0, lift_flat(v).0);
        let (value, m, v) = reference::adamw_update(value, grad, m, v, &step);
        (
            lower_as(value, shape.clone()),
            lower_as(m, shape.clone()),
            lower_as(v, shape),
        )
    }
}

impl FusedBackward for Cube {
    fn rms_norm_with_inverse(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        eps: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (x, shape) = lift_rows(x);
        let (y, inverse) = portable::rms_norm_with_inverse(x, lift(weight), eps);
        (lower_as(y, shape), lower(inverse))
    }

    fn rms_norm_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        inverse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (x, shape) = lift_rows(x);
        let (grad, _) = lift_rows(grad);
        let (dx, dw) = portable::rms_norm_backward(x, lift(weight), lift(inverse), grad);
        (lower_as(dx, shape), lower(dw))
    }

    fn swiglu_backward(
        gate: FloatTensor<Self>,
        up: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (gate, shape) = lift_flat(gate);
        let (up, grad) = (lift_flat(up).0, lift_flat(grad).0);
        let (d_gate, d_up) = portable::swiglu_backward(gate, up, grad);
        (lower_as(d_gate, shape.clone()), lower_as(d_up, shape))
    }

    fn attention_softmax_backward(
        probs: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        lower(portable::attention_softmax_backward(
            lift(probs),
            lift(grad),
            scale,
        ))
    }

    fn attention_with_lse(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (out, lse) = portable::attention_with_lse(lift(q), lift(k), lift(v), lift(bias), scale);
        (lower(out), lower(lse))
    }

    fn attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        out: FloatTensor<Self>,
        lse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (d_q, d_k, d_v) = portable::attention_backward(
            lift(q),
            lift(k),
            lift(v),
            lift(bias),
            lift(out),
            lift(lse),
            lift(grad),
            scale,
        );
        (lower(d_q), lower(d_k), lower(d_v))
    }

    fn linear_log_probs_with_lse(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: &[u32],
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (log_probs, lse) =
            portable::linear_log_probs_with_lse(lift(hidden), lift(weight), targets);
        (lower(log_probs), lower(lse))
    }

    fn linear_log_probs_backward(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: &[u32],
        lse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        weight_grad: bool,
    ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
        let (d_hidden, d_weight) = portable::linear_log_probs_backward(
            lift(hidden),
            lift(weight),
            targets,
            lift(lse),
            lift(grad),
            weight_grad,
        );
        (lower(d_hidden), d_weight.map(lower))
    }

    fn rotary_backward(
        grad: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        lower(portable::rotary_backward(lift(grad), lift(cos), lift(sin)))
    }
}
