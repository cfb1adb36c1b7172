//! Products of a few rows by a weight read once (decoding a small batch), where `gemm` would pack
//! the weight on every call: the wrappers, the backend-extension trait, and its arms —
//! `reference.rs` (burn's matrix product), `kernel.rs` + `tied_head.rs` + `flex.rs` (flex). Flex
//! only, outside autodiff: elsewhere, and under autodiff, the wrappers run the reference.

#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "flex")]
mod kernel;
pub(crate) mod reference;
#[cfg(feature = "flex")]
mod tied_head;

#[cfg(feature = "flex")]
use burn::backend::tensor::FloatTensor;
#[cfg(feature = "flex")]
use burn::backend::{backend_extension, Backend};
use burn::tensor::Tensor;

#[cfg(feature = "flex")]
use super::routing::{is_flex, runs_fused};
#[cfg(feature = "flex")]
use super::switch::FusedOp;

/// Most rows [`few_rows_matmul`] takes: up to here its register tiles beat `gemm` (which packs
/// the weight on every call) on SmolLM2's projections read from memory (docs/performance-log.md,
/// "Register tiles for the few-rows products").
pub const FEW_ROWS_MAX: usize = 64;

/// Most rows [`few_rows_matmul_transposed`] takes: up to here its register tiles beat `gemm`
/// (which packs the whole embedding on every call) on SmolLM2's head (docs/performance-log.md,
/// "Register tiles for the few-rows products").
pub const FEW_ROWS_TRANSPOSED_MAX: usize = 64;

/// The products as primitive operations of flex (inference only: not differentiable).
#[cfg(feature = "flex")]
#[backend_extension(Flex)]
pub(crate) trait FewRowsOps: Backend {
    /// `x · w`, `x` `[rows, in]` with few rows, `w` `[in, out]`: the weight read once (no
    /// packing).
    fn fused_few_rows_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `x · eᵀ`, `x` `[rows, in]` with few rows, `e` `[out, in]` (a tied output projection):
    /// each row of `e` read once.
    fn fused_few_rows_matmul_transposed(
        x: FloatTensor<Self>,
        e: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// `x · w` for `x` `[rows, in]` and `w` `[in, out]`. With 2 to [`FEW_ROWS_MAX`] rows on flex,
/// outside autodiff (decoding a small batch), the weight is read once instead of packed by
/// `gemm` on every call (`few_rows` in [`FusedOp`](super::FusedOp)); otherwise burn's matrix
/// product.
pub fn few_rows_matmul(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if runs_few_rows(&x, &w, FEW_ROWS_MAX) {
        return Tensor::from_dispatch(
            <burn::backend::Dispatch as FewRowsOps>::fused_few_rows_matmul(
                x.into_dispatch(),
                w.into_dispatch(),
            ),
        );
    }
    reference::few_rows_matmul(x, w)
}

/// `x · eᵀ` for `x` `[rows, in]` and `e` `[out, in]` (a tied output projection, `e` the
/// embedding): as [`few_rows_matmul`], each row of `e` read once for 2 to
/// [`FEW_ROWS_TRANSPOSED_MAX`] rows on flex outside autodiff.
pub fn few_rows_matmul_transposed(x: Tensor<2>, e: Tensor<2>) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if runs_few_rows(&x, &e, FEW_ROWS_TRANSPOSED_MAX) {
        return Tensor::from_dispatch(
            <burn::backend::Dispatch as FewRowsOps>::fused_few_rows_matmul_transposed(
                x.into_dispatch(),
                e.into_dispatch(),
            ),
        );
    }
    reference::few_rows_matmul_transposed(x, e)
}

/// Whether the few-rows kernels take `x` times `w`: 2 to `max` rows, flex, no autodiff,
/// `f32`, [`FusedOp::FewRows`] on.
#[cfg(feature = "flex")]
fn runs_few_rows(x: &Tensor<2>, w: &Tensor<2>, max: usize) -> bool {
    let rows = x.dims()[0];
    (2..=max).contains(&rows)
        && !x.is_autodiff()
        && !w.is_autodiff()
        && is_flex(&x.device())
        && runs_fused(FusedOp::FewRows, &x.device(), &[x.dtype(), w.dtype()])
}
