//! SwiGLU's gating, `silu(gate) · up` element-wise: the wrapper, the backend-extension trait, and
//! its arms — `reference.rs`, `kernel.rs` + `flex.rs` (flex), `cube.rs` (CubeCL), `autodiff.rs`.

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

/// The fused forward pass as a primitive operation of a backend.
#[cfg(fused_extension)]
#[backend_extension(Flex: cfg(feature = "flex"), Cube: cfg(fused_cube), Autodiff)]
pub(crate) trait SwigluOps: Backend {
    /// `silu(gate) · up`, element-wise; `gate` and `up` have one shape.
    fn fused_swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// What the backward pass needs from the backend that runs it.
#[cfg(fused_extension)]
pub(crate) trait SwigluBackward: SwigluOps {
    /// `(dgate, dup)`.
    fn swiglu_backward(
        gate: FloatTensor<Self>,
        up: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// `silu(gate) · up`, element-wise: the SwiGLU feed-forward's gating.
pub fn swiglu<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    #[cfg(fused_extension)]
    if runs_fused(FusedOp::Swiglu, &gate.device(), &[gate.dtype(), up.dtype()]) {
        return Tensor::from_dispatch(<burn::backend::Dispatch as SwigluOps>::fused_swiglu(
            gate.into_dispatch(),
            up.into_dispatch(),
        ));
    }
    reference::swiglu(gate, up)
}
