//! Reading and making burn-flex buffers: the helpers every operation's `flex.rs` shares. A leaf
//! of `fused/`.

use burn::backend::flex::FlexTensor;
use burn::tensor::{Shape, TensorData};

use super::simd::RowBroadcast;

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

/// A fresh tensor holding `values` in `shape`.
pub(super) fn tensor(values: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The tensor's shape.
pub(super) fn shape(tensor: &FlexTensor) -> Shape {
    tensor.layout().shape().clone()
}

/// `tensor` as the sole owner of a contiguous buffer holding exactly its values (moved when it
/// already is one; else a copy), so that `storage_mut` writes in place without copying first
/// unless the buffer is shared.
pub(super) fn owned_contiguous(tensor: FlexTensor) -> FlexTensor {
    let exact = tensor.bytes().len() == tensor.layout().num_elements() * size_of::<f32>();
    if tensor.is_contiguous() && tensor.layout().start_offset() == 0 && exact {
        tensor
    } else {
        tensor.to_contiguous()
    }
}

/// How `[batch, 1 | heads, rows, width]` `table` broadcasts over `x`'s heads.
pub(super) fn row_broadcast(x: &Shape, table: &Shape) -> RowBroadcast {
    RowBroadcast {
        width: x[3],
        group: x[2],
        heads: if table[1] == 1 { x[1] } else { 1 },
    }
}

/// `shape` without its last dimension (one value per row).
pub(super) fn row_shape(shape: &Shape) -> Shape {
    let dims = shape.as_slice();
    Shape::from(dims[..dims.len().saturating_sub(1)].to_vec())
}
