//! The rotary embedding in rotate-half form, `x · cos + rotate_half(x) · sin`: the wrapper, the
//! backend-extension trait, and its arms — `reference.rs`, `kernel.rs` + `flex.rs` (flex),
//! `cube.rs` (CubeCL), `autodiff.rs`.

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
use super::routing::{bias_fits, runs_fused};
#[cfg(fused_extension)]
use super::switch::FusedOp;

/// The fused forward pass as a primitive operation of a backend.
#[cfg(fused_extension)]
#[backend_extension(Flex: cfg(feature = "flex"), Cube: cfg(fused_cube), Autodiff)]
pub(crate) trait RotaryOps: Backend {
    /// `x · cos + rotate_half(x) · sin`; `x` `[batch, heads, seq, dim]`, the tables
    /// `[batch, 1, seq, dim]` or `x`'s shape. The tables are constants.
    fn fused_rotary(
        x: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// What the backward pass needs from the backend that runs it.
#[cfg(fused_extension)]
pub(crate) trait RotaryBackward: RotaryOps {
    /// `dx` from the output's gradient and the tables.
    fn rotary_backward(
        grad: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// Rotary embedding in rotate-half form, `x · cos + rotate_half(x) · sin`: `x` `[batch, heads,
/// seq, head_dim]`, `cos` and `sin` `[batch, 1, seq, head_dim]` (broadcast over the heads;
/// constants, no gradient).
pub fn rotary(x: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    #[cfg(fused_extension)]
    if runs_fused(
        FusedOp::Rotary,
        &x.device(),
        &[x.dtype(), cos.dtype(), sin.dtype()],
    ) && x.dims()[3].is_multiple_of(2)
        && bias_fits(&x.dims(), &cos.dims())
        && cos.dims() == sin.dims()
    {
        return Tensor::from_dispatch(<burn::backend::Dispatch as RotaryOps>::fused_rotary(
            x.into_dispatch(),
            cos.into_dispatch(),
            sin.into_dispatch(),
        ));
    }
    reference::rotary(x, cos, sin)
}
