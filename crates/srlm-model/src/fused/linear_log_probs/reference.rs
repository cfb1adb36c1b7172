//! The output projection's target log-probabilities as composed burn operations.

use burn::tensor::{Int, Tensor, TensorData};

use crate::log_sum_exp::log_sum_exp;

/// `log_softmax(hidden · weightᵀ)` at each row's target, with the `[rows, vocab]` logits
/// written out.
pub fn linear_log_probs(hidden: Tensor<2>, weight: Tensor<2>, targets: &[u32]) -> Tensor<1> {
    target_log_probs(hidden.matmul(weight.transpose()), targets)
}

/// `log_softmax(logits)` at each row's target: `logits` `[rows, vocab]` → `[rows]`.
pub fn target_log_probs(logits: Tensor<2>, targets: &[u32]) -> Tensor<1> {
    let rows = logits.dims()[0];
    let logits = logits.unsqueeze::<3>();
    let targets: Vec<i64> = targets.iter().map(|&t| i64::from(t)).collect();
    let targets =
        Tensor::<3, Int>::from_data(TensorData::new(targets, [1, rows, 1]), &logits.device());
    (logits.clone().gather(2, targets) - log_sum_exp(logits)).reshape([rows])
}
