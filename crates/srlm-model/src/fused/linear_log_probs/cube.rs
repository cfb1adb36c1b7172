//! The output projection's log-probs on burn's CubeCL backends: the forward pass with each row's
//! `log Σ exp`, and the backward pass, as burn tensor operations over chunks of the vocabulary
//! (the `[rows, vocab]` logits are never held whole, forward or backward).

use burn::tensor::{FloatDType, IndexingUpdateOp, Int, Tensor, TensorData};

/// Vocabulary ids per chunk of [`linear_log_probs_with_lse`] and its backward pass.
pub(super) const VOCAB_CHUNK: usize = 8192;

/// Each row's target log-probability under `hidden · weightᵀ` (`hidden` `[rows, dim]`,
/// `weight` `[vocab, dim]`), `[rows]`, and each row's `log Σ exp` of its logits, `[rows]`: the
/// logits a chunk of [`VOCAB_CHUNK`] ids at a time, with an online log-sum-exp. Both in f32
/// whatever the inputs' dtypes (bf16 or f16 inputs multiply in the weight's dtype).
pub(super) fn linear_log_probs_with_lse(
    hidden: Tensor<2>,
    weight: Tensor<2>,
    targets: &[u32],
) -> (Tensor<1>, Tensor<1>) {
    let [rows, _] = hidden.dims();
    let vocab = weight.dims()[0];
    let hidden_as_weight = hidden.clone().cast(FloatDType::from(weight.dtype()));
    let mut max: Option<Tensor<2>> = None;
    let mut sum: Option<Tensor<2>> = None;
    for start in (0..vocab).step_by(VOCAB_CHUNK) {
        let end = (start + VOCAB_CHUNK).min(vocab);
        let logits = chunk_logits(&hidden_as_weight, &weight, start, end);
        let chunk_max = logits.clone().max_dim(1);
        let new_max = match &max {
            Some(m) => m.clone().max_pair(chunk_max),
            None => chunk_max,
        };
        let chunk_sum = (logits - new_max.clone()).exp().sum_dim(1);
        sum = Some(match (sum, &max) {
            (Some(s), Some(m)) => s * (m.clone() - new_max.clone()).exp() + chunk_sum,
            _ => chunk_sum,
        });
        max = Some(new_max);
    }
    let lse = match (max, sum) {
        (Some(m), Some(s)) => (s.log() + m).reshape([rows]),
        _ => Tensor::zeros([rows], &hidden.device()),
    };
    let target_rows = weight.select(0, target_ids(targets, &hidden.device()));
    let target_logits = (hidden.cast(FloatDType::F32) * target_rows.cast(FloatDType::F32))
        .sum_dim(1)
        .reshape([rows]);
    (target_logits - lse.clone(), lse)
}

/// The backward pass of [`linear_log_probs_with_lse`]: `dlogits = g·(onehot(target) − p)`,
/// `dhidden = dlogits · weight`, `dweight = dlogitsᵀ · hidden` (only with `weight_grad`), the
/// logits recomputed a chunk at a time from the forward's `log Σ exp`; `dhidden` accumulates in
/// f32 and comes back in `hidden`'s dtype, `dweight` in the weight's.
pub(super) fn linear_log_probs_backward(
    hidden: Tensor<2>,
    weight: Tensor<2>,
    targets: &[u32],
    lse: Tensor<1>,
    grad: Tensor<1>,
    weight_grad: bool,
) -> (Tensor<2>, Option<Tensor<2>>) {
    let [rows, _] = hidden.dims();
    let vocab = weight.dims()[0];
    let device = hidden.device();
    let (hidden_dtype, weight_dtype) = (hidden.dtype(), FloatDType::from(weight.dtype()));
    let hidden = hidden.cast(weight_dtype);
    let lse = lse.reshape([rows, 1]);
    let grad = grad.cast(FloatDType::F32).reshape([rows, 1]);
    let ids = target_ids(targets, &device);
    // The target's part: `+g` at each row's target logit.
    let target_rows = weight.clone().select(0, ids.clone());
    let mut d_hidden = target_rows.cast(FloatDType::F32) * grad.clone();
    let mut d_weight_chunks = Vec::new();
    for start in (0..vocab).step_by(VOCAB_CHUNK) {
        let end = (start + VOCAB_CHUNK).min(vocab);
        let probs = (chunk_logits(&hidden, &weight, start, end) - lse.clone()).exp();
        let d_logits = (probs * grad.clone().neg()).cast(weight_dtype);
        let rows_of_chunk = weight.clone().narrow(0, start, end - start);
        d_hidden = d_hidden + d_logits.clone().matmul(rows_of_chunk).cast(FloatDType::F32);
        if weight_grad {
            d_weight_chunks.push(d_logits.transpose().matmul(hidden.clone()));
        }
    }
    let d_weight = weight_grad.then(|| {
        let d_target = hidden * grad.cast(weight_dtype);
        Tensor::cat(d_weight_chunks, 0).select_assign(0, ids, d_target, IndexingUpdateOp::Add)
    });
    (d_hidden.cast(FloatDType::from(hidden_dtype)), d_weight)
}

/// `hidden · weight[start..end]ᵀ`, `[rows, end − start]`, in f32 (the product in the weight's
/// dtype: on CUDA a bf16 product accumulates in f32).
fn chunk_logits(hidden: &Tensor<2>, weight: &Tensor<2>, start: usize, end: usize) -> Tensor<2> {
    hidden
        .clone()
        .matmul(weight.clone().narrow(0, start, end - start).transpose())
        .cast(FloatDType::F32)
}

fn target_ids(targets: &[u32], device: &burn::tensor::Device) -> Tensor<1, Int> {
    let ids: Vec<i64> = targets.iter().map(|&t| i64::from(t)).collect();
    Tensor::from_data(TensorData::new(ids, [targets.len()]), device)
}

#[cfg(fused_cube)]
mod arms {
    use burn::backend::tensor::FloatTensor;
    use burn::backend::Cube;

    use super::super::{LinearLogProbsBackward, LinearLogProbsOps};
    use crate::fused::cube_tensors::{lift, lower};

    impl LinearLogProbsOps for Cube {
        fn fused_linear_log_probs(
            hidden: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            targets: Vec<u32>,
        ) -> FloatTensor<Self> {
            Self::linear_log_probs_with_lse(hidden, weight, &targets).0
        }
    }

    impl LinearLogProbsBackward for Cube {
        fn linear_log_probs_with_lse(
            hidden: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            targets: &[u32],
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            let (log_probs, lse) =
                super::linear_log_probs_with_lse(lift(hidden), lift(weight), targets);
            (lower(log_probs), lower(lse))
        }

        fn linear_log_probs_backward(
            hidden: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            targets: &[u32],
            lse: FloatTensor<Self>,
            grad: FloatTensor<Self>,
            weight_grad: bool,
        ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
            let (d_hidden, d_weight) = super::linear_log_probs_backward(
                lift(hidden),
                lift(weight),
                targets,
                lift(lse),
                lift(grad),
                weight_grad,
            );
            (lower(d_hidden), d_weight.map(lower))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference;
    use super::*;
    use crate::fused::testing::{assert_close, on, plain, random};

    #[test]
    fn linear_log_probs_match_autodiff_through_the_reference_across_chunks() {
        // A vocabulary of two chunks and a part, repeated targets, targets in every chunk.
        let (rows, dim, vocab) = (6, 8, 2 * VOCAB_CHUNK + 37);
        let hidden = random([rows, dim], &plain());
        let weight = random([vocab, dim], &plain()).mul_scalar(0.3);
        let targets = [
            0,
            5,
            VOCAB_CHUNK as u32,
            5,
            vocab as u32 - 1,
            2 * VOCAB_CHUNK as u32,
        ];
        let g = random([rows], &plain());
        let ad = plain().autodiff();
        let ha = on(&hidden, &ad).require_grad();
        let wa = on(&weight, &ad).require_grad();
        let y = reference::linear_log_probs(ha.clone(), wa.clone(), &targets);
        let grads = (y.clone() * on(&g, &ad)).sum().backward();
        let (log_probs, lse) = linear_log_probs_with_lse(hidden.clone(), weight.clone(), &targets);
        assert_close(log_probs, y.inner(), "log-probs");
        let (d_h, d_w) = linear_log_probs_backward(
            hidden.clone(),
            weight.clone(),
            &targets,
            lse.clone(),
            g.clone(),
            true,
        );
        assert_close(d_h, ha.grad(&grads).unwrap(), "dhidden");
        assert_close(d_w.unwrap(), wa.grad(&grads).unwrap(), "dweight");
        // A frozen weight: the same dhidden, no dweight.
        let (d_h, d_w) = linear_log_probs_backward(hidden, weight, &targets, lse, g, false);
        assert_close(d_h, ha.grad(&grads).unwrap(), "dhidden, frozen weight");
        assert!(d_w.is_none());
    }
}
