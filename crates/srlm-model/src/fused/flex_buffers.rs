//! Reading and making burn-flex buffers: the helpers every flex kernel wrapper shares
//! (`flex.rs`, `attention.rs`, `linear_log_probs.rs`). A leaf of `fused/`.

use burn::backend::flex::FlexTensor;
use burn::tensor::{Shape, TensorData};

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
