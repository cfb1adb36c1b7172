//! Each row's target log-probability under the output projection, `log_softmax(hidden ·
//! weightᵀ)[i, targets[i]]`, without the `[rows, vocab]` logits held whole: the wrapper, the
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
use super::routing::runs_fused;
#[cfg(fused_extension)]
use super::switch::FusedOp;

/// The fused forward pass as a primitive operation of a backend.
#[cfg(fused_extension)]
#[backend_extension(Flex: cfg(feature = "flex"), Cube: cfg(fused_cube), Autodiff)]
pub(crate) trait LinearLogProbsOps: Backend {
    /// `log_softmax(hidden · weightᵀ)[i, targets[i]]` for each row `i` of `hidden` (`[rows,
    /// hidden]`), `weight` `[vocab, hidden]`: each row's target log-probability, `[rows]`,
    /// without the `[rows, vocab]` logits ever being held whole.
    fn fused_linear_log_probs(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: Vec<u32>,
    ) -> FloatTensor<Self>;
}

/// What the backward pass needs from the backend that runs it.
#[cfg(fused_extension)]
pub(crate) trait LinearLogProbsBackward: LinearLogProbsOps {
    /// [`LinearLogProbsOps::fused_linear_log_probs`] and each row's `log Σ exp(logits)`,
    /// `[rows]`.
    fn linear_log_probs_with_lse(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: &[u32],
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// `(dhidden, dweight)` from the forward's inputs, its `log Σ exp` and the gradient of the
    /// log-probabilities; the logits are recomputed chunk by chunk. `dweight` (vocabulary ×
    /// hidden) only when `weight_grad`: a frozen head (LoRA) neither computes nor holds it.
    fn linear_log_probs_backward(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: &[u32],
        lse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        weight_grad: bool,
    ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>);
}

/// Each row's target log-probability under the output projection: `log_softmax(hidden ·
/// weightᵀ)[i, targets[i]]`, `hidden` `[rows, dim]`, `weight` `[vocab, dim]` (the tied
/// embedding's layout), `[rows]`. Fused, the `[rows, vocab]` logits are never held whole
/// (chunks of the vocabulary, an online log-sum-exp, recomputed in the backward pass).
pub fn linear_log_probs(hidden: Tensor<2>, weight: Tensor<2>, targets: &[u32]) -> Tensor<1> {
    #[cfg(fused_extension)]
    if runs_fused(
        FusedOp::LinearLogProbs,
        &hidden.device(),
        &[hidden.dtype(), weight.dtype()],
    ) && targets.len() == hidden.dims()[0]
        && targets.iter().all(|&t| (t as usize) < weight.dims()[0])
    {
        return Tensor::from_dispatch(
            <burn::backend::Dispatch as LinearLogProbsOps>::fused_linear_log_probs(
                hidden.into_dispatch(),
                weight.into_dispatch(),
                targets.to_vec(),
            ),
        );
    }
    reference::linear_log_probs(hidden, weight, targets)
}
