//! RMSNorm, `x · w / √(mean(x²) + ε)` over the last dimension (Hugging Face's `LlamaRMSNorm`):
//! the wrapper, the backend-extension trait, and its arms — `reference.rs` (the composed burn
//! operations), `kernel.rs` + `flex.rs` (flex), `cube.rs` (CubeCL), `autodiff.rs` (the
//! hand-written backward pass).

#[cfg(fused_extension)]
mod autodiff;
#[cfg(any(test, fused_cube))]
mod cube;
#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "flex")]
mod kernel;
pub(crate) mod reference;

#[cfg(fused_extension)]
use burn::backend::tensor::FloatTensor;
#[cfg(fused_extension)]
use burn::backend::{backend_extension, Backend};
use burn::tensor::Tensor;

#[cfg(fused_extension)]
use super::routing::runs_fused;
#[cfg(fused_extension)]
use super::switch::FusedOp;

/// The fused forward pass as a primitive operation of a backend: flex's kernel, CubeCL's tensor
/// operations, and autodiff over either with [`RmsNormBackward`].
#[cfg(fused_extension)]
#[backend_extension(Flex: cfg(feature = "flex"), Cube: cfg(fused_cube), Autodiff)]
pub(crate) trait RmsNormOps: Backend {
    /// `x · w / √(mean(x²) + ε)` over the last dimension; `weight` has that dimension's size.
    fn fused_rms_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self>;
}

/// What the backward pass needs from the backend that runs it.
#[cfg(fused_extension)]
pub(crate) trait RmsNormBackward: RmsNormOps {
    /// [`RmsNormOps::fused_rms_norm`] and, per row, `1 / √(mean(x²) + ε)` (`x`'s shape without
    /// its last dimension).
    fn rms_norm_with_inverse(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        eps: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// `(dx, dweight)` from the forward's inputs, its per-row inverse and the output's gradient;
    /// `dweight` only when `weight_grad` (a frozen weight's is never computed).
    fn rms_norm_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        inverse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        weight_grad: bool,
    ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>);
}

/// `x · weight / √(mean(x²) + ε)` over the last dimension (Hugging Face's `LlamaRMSNorm`).
pub fn rms_norm<const D: usize>(x: Tensor<D>, weight: Tensor<1>, eps: f64) -> Tensor<D> {
    #[cfg(fused_extension)]
    if runs_fused(FusedOp::RmsNorm, &x.device(), &[x.dtype(), weight.dtype()]) {
        return Tensor::from_dispatch(<burn::backend::Dispatch as RmsNormOps>::fused_rms_norm(
            x.into_dispatch(),
            weight.into_dispatch(),
            eps as f32,
        ));
    }
    reference::rms_norm(x, weight, eps)
}
