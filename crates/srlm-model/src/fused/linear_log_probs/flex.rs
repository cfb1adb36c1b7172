//! Target log-probabilities through the output projection on flex, chunked over the
//! vocabulary (the idea of Liger Kernel's fused linear cross-entropy): each chunk's logits
//! `[rows, CHUNK]` come from one gemm, are folded into an online log-sum-exp and dropped, so the
//! `[rows, vocab]` logits and their log-softmax are never held whole; the backward pass
//! recomputes each chunk and turns it into its share of both gradients at once.

use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;

use super::kernel::{self, LogSumExpRow};
use super::{LinearLogProbsBackward, LinearLogProbsOps};
use crate::fused::flex_tensors::{contiguous, tensor, values};

impl LinearLogProbsOps for Flex {
    fn fused_linear_log_probs(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: Vec<u32>,
    ) -> FloatTensor<Self> {
        forward(hidden, weight, &targets).0
    }
}

impl LinearLogProbsBackward for Flex {
    fn linear_log_probs_with_lse(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: &[u32],
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        forward(hidden, weight, targets)
    }

    fn linear_log_probs_backward(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: &[u32],
        lse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        weight_grad: bool,
    ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
        backward(hidden, weight, targets, lse, grad, weight_grad)
    }
}

/// Vocabulary ids per chunk: `rows × CHUNK` f32 logits live at a time (8 MiB for 512 rows).
const CHUNK: usize = 4096;

/// The logits of vocabulary ids `start..start + width`, `[rows, width]`:
/// `hidden · weight[start..]ᵀ`, a fresh contiguous tensor.
fn chunk_logits(
    hidden: &FlexTensor,
    weight: &FlexTensor,
    start: usize,
    width: usize,
) -> FlexTensor {
    let rows = weight.narrow(0, start, width).transpose(0, 1);
    contiguous(&Flex::float_matmul(hidden.clone(), rows))
}

fn chunks(vocab: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..vocab)
        .step_by(CHUNK)
        .map(move |start| (start, CHUNK.min(vocab - start)))
}

/// `(log-probs [rows], log Σ exp [rows])`.
fn forward(hidden: FlexTensor, weight: FlexTensor, targets: &[u32]) -> (FlexTensor, FlexTensor) {
    let hidden = contiguous(&hidden);
    let rows = hidden.layout().shape()[0];
    let vocab = weight.layout().shape()[0];
    let mut state = vec![LogSumExpRow::EMPTY; rows];
    for (start, width) in chunks(vocab) {
        let logits = chunk_logits(&hidden, &weight, start, width);
        kernel::log_sum_exp_fold(values(&logits), width, start, targets, &mut state);
    }
    let lse: Vec<f32> = state.iter().map(LogSumExpRow::log_sum_exp).collect();
    let log_probs = state.iter().zip(&lse).map(|(r, l)| r.target - l).collect();
    (tensor(log_probs, [rows].into()), tensor(lse, [rows].into()))
}

/// `(dhidden, dweight)`: per chunk, `dlogits = grad · (onehot − softmax)`, then
/// `dhidden += dlogits · weight[chunk]` and, with `weight_grad`, `dweight[chunk] = dlogitsᵀ ·
/// hidden`.
fn backward(
    hidden: FlexTensor,
    weight: FlexTensor,
    targets: &[u32],
    lse: FlexTensor,
    grad: FlexTensor,
    weight_grad: bool,
) -> (FlexTensor, Option<FlexTensor>) {
    let hidden = contiguous(&hidden);
    let [rows, dim] = [hidden.layout().shape()[0], hidden.layout().shape()[1]];
    let vocab = weight.layout().shape()[0];
    let (lse, grad) = (contiguous(&lse), contiguous(&grad));
    let (lse, grad) = (values(&lse), values(&grad));
    let mut d_hidden = vec![0.0f32; rows * dim];
    let mut d_weight = Vec::with_capacity(if weight_grad { vocab * dim } else { 0 });
    for (start, width) in chunks(vocab) {
        // The chunk's logits become its gradient in place (the buffer is this tensor's alone).
        let mut d_logits = chunk_logits(&hidden, &weight, start, width);
        let buffer = d_logits.storage_mut::<f32>();
        kernel::log_softmax_target_grad(buffer, width, start, targets, lse, grad);
        let slice = weight.narrow(0, start, width);
        let d_h = Flex::float_matmul(d_logits.clone(), slice).to_contiguous();
        for (acc, v) in d_hidden.iter_mut().zip(values(&d_h)) {
            *acc += v;
        }
        if weight_grad {
            // dWᵀ for the chunk, `[hidden, width]`: hiddenᵀ · dlogits, then its rows laid out.
            let d_w = Flex::float_matmul(d_logits.transpose(0, 1), hidden.clone());
            d_weight.extend_from_slice(values(&d_w.to_contiguous()));
        }
    }
    (
        tensor(d_hidden, [rows, dim].into()),
        weight_grad.then(|| tensor(d_weight, [vocab, dim].into())),
    )
}
