//! Moving between the CubeCL backend's primitives and `Tensor`s, so that each operation's
//! `cube.rs` can run burn tensor operations (which burn's fusion compiles into kernels) on what
//! the backend extension hands over — widened to f32 where an arm computes, narrowed back to the
//! input's dtype for its result. A leaf of `fused/`.

use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    BackendTensor, Cube, DispatchAutodiffContext, DispatchTensor, DispatchTensorKind,
    TensorMetadata,
};
use burn::tensor::{DType, FloatDType, Shape, Tensor};

/// A primitive of the CubeCL backend as a tensor of rank `D` (its rank).
pub(super) fn lift<const D: usize>(tensor: FloatTensor<Cube>) -> Tensor<D> {
    Tensor::from_dispatch(DispatchTensor {
        kind: DispatchTensorKind::Cube(BackendTensor::Float(tensor)),
        autodiff: DispatchAutodiffContext::Disabled,
    })
}

/// The primitive back from a tensor that [`lift`] made (operations keep the backend).
pub(super) fn lower<const D: usize>(tensor: Tensor<D>) -> FloatTensor<Cube> {
    match tensor.into_dispatch().kind {
        DispatchTensorKind::Cube(tensor) => tensor.float(),
        #[allow(unreachable_patterns)]
        _ => unreachable!("an operation on CubeCL tensors returned another backend's tensor"),
    }
}

/// `tensor` as `[rows, last dimension]`, and its shape to restore.
pub(super) fn lift_rows(tensor: FloatTensor<Cube>) -> (Tensor<2>, Shape) {
    let shape = tensor.shape();
    let dims = shape.as_slice();
    let width = dims.last().copied().unwrap_or(1);
    let rows = dims.iter().product::<usize>() / width.max(1);
    let flat = Cube::float_reshape(tensor, Shape::new([rows, width]));
    (lift(flat), shape)
}

/// `tensor` flattened to one dimension, and its shape to restore.
pub(super) fn lift_flat(tensor: FloatTensor<Cube>) -> (Tensor<1>, Shape) {
    let shape = tensor.shape();
    let flat = Cube::float_reshape(tensor, Shape::new([shape.num_elements()]));
    (lift(flat), shape)
}

/// [`lower`], reshaped to `shape`.
pub(super) fn lower_as<const D: usize>(tensor: Tensor<D>, shape: Shape) -> FloatTensor<Cube> {
    Cube::float_reshape(lower(tensor), shape)
}

/// `tensor` in f32, where the arms compute (a bf16 or f16 tensor is widened; an f32 one is
/// returned as it is).
pub(super) fn widened<const D: usize>(tensor: Tensor<D>) -> Tensor<D> {
    tensor.cast(FloatDType::F32)
}

/// `tensor` in `dtype`, the dtype of the input a result answers to (nothing to do for f32).
pub(super) fn narrowed<const D: usize>(tensor: Tensor<D>, dtype: DType) -> Tensor<D> {
    tensor.cast(FloatDType::from(dtype))
}

/// [`lift`], [`widened`].
pub(super) fn lift_f32<const D: usize>(tensor: FloatTensor<Cube>) -> Tensor<D> {
    widened(lift(tensor))
}

/// [`narrowed`], [`lower`].
pub(super) fn lower_in<const D: usize>(tensor: Tensor<D>, dtype: DType) -> FloatTensor<Cube> {
    lower(narrowed(tensor, dtype))
}
