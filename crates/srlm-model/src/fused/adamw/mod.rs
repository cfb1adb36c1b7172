//! AdamW's update of one flattened parameter, PyTorch's semantics: the wrapper, the
//! backend-extension trait, and its arms — `reference.rs`, `kernel.rs` + `flex.rs` (flex, one
//! pass in place), `cube.rs` (CubeCL). No autodiff arm: an optimizer works on the parameters'
//! inner tensors, and the wrapper sends no tracked tensor here.

#[cfg(fused_cube)]
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

/// One AdamW step's settings for [`adamw_update`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWStep {
    /// Learning rate.
    pub lr: f64,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// `1 − β₁ᵗ` at this step `t`.
    pub bias_correction1: f64,
    /// `1 − β₂ᵗ`.
    pub bias_correction2: f64,
}

/// The fused update as a primitive operation of a backend (flex and CubeCL; not
/// differentiable).
#[cfg(fused_extension)]
#[backend_extension(Flex: cfg(feature = "flex"), Cube: cfg(fused_cube))]
pub(crate) trait AdamWOps: Backend {
    /// AdamW's update of one flattened parameter: the new `(value, m, v)`.
    fn fused_adamw(
        value: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        step: AdamWStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// AdamW's update of one flattened parameter (PyTorch's semantics: decoupled weight decay,
/// bias-corrected moments): returns the new `(value, m, v)`. Fused, one pass over the four
/// buffers, in place where they are not shared.
pub fn adamw_update(
    value: Tensor<1>,
    grad: Tensor<1>,
    m: Tensor<1>,
    v: Tensor<1>,
    step: &AdamWStep,
) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
    #[cfg(fused_extension)]
    if runs_fused(
        FusedOp::AdamW,
        &value.device(),
        &[value.dtype(), grad.dtype(), m.dtype(), v.dtype()],
    ) && [&value, &grad, &m, &v].iter().all(|t| !t.is_autodiff())
        && [grad.dims(), m.dims(), v.dims()]
            .iter()
            .all(|d| *d == value.dims())
    {
        let (value, m, v) = <burn::backend::Dispatch as AdamWOps>::fused_adamw(
            value.into_dispatch(),
            grad.into_dispatch(),
            m.into_dispatch(),
            v.into_dispatch(),
            *step,
        );
        return (
            Tensor::from_dispatch(value),
            Tensor::from_dispatch(m),
            Tensor::from_dispatch(v),
        );
    }
    reference::adamw_update(value, grad, m, v, step)
}
