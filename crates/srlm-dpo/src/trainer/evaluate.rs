//! Evaluating an objective without training: the loss (and the objective's metrics) of a whole
//! set under a model, without gradients or dropout.

use srlm_data::batch_by_tokens;
use srlm_model::{burn::module::Module, read_f32, Llama};

use super::config::TrainConfig;
use crate::error::Result;
use crate::loss::DpoMetrics;
use crate::objective::{DpoObjective, Objective, StepStats};

/// Mean loss of `set` under `model`, without gradients or dropout.
pub fn evaluate<O: Objective>(model: &Llama, set: &O, config: &TrainConfig) -> Result<f64> {
    Ok(evaluate_with_stats(model, set, config.micro_batch_tokens)?.0)
}

/// The objective's metrics of all of `set` taken as one batch under `model` (micro-batches of
/// `micro_batch_tokens`), without gradients or dropout; `None` for an empty set.
pub fn evaluate_objective<O: Objective>(
    model: &Llama,
    set: &O,
    micro_batch_tokens: usize,
) -> Result<Option<O::Metrics>> {
    if set.is_empty() {
        return Ok(None);
    }
    let (loss, stats) = evaluate_with_stats(model, set, micro_batch_tokens)?;
    Ok(Some(set.metrics(loss, &stats)))
}

/// TRL's DPO metrics (loss, reward accuracy and margin, …) of `set` under `model`: how a DPO
/// update did on pairs it did not train on. `None` for an empty set.
pub fn evaluate_preferences(
    model: &Llama,
    set: &DpoObjective,
    micro_batch_tokens: usize,
) -> Result<Option<DpoMetrics>> {
    evaluate_objective(model, set, micro_batch_tokens)
}

/// The loss of all of `set` as one batch, and its statistics (in micro-batch order).
fn evaluate_with_stats<O: Objective>(
    model: &Llama,
    set: &O,
    micro_batch_tokens: usize,
) -> Result<(f64, O::Stats)> {
    let model = model.valid();
    let all: Vec<usize> = (0..set.len()).collect();
    let batch_totals = set.totals(&all);
    let lengths: Vec<usize> = all.iter().map(|&i| set.tokens(i)).collect();
    let mut total = 0.0;
    let mut stats = O::Stats::default();
    for group in batch_by_tokens(&lengths, micro_batch_tokens, usize::MAX) {
        let (loss, micro) = set.loss(&model, &group, batch_totals)?;
        let value = read_f32(loss, "the evaluation loss")?;
        total += f64::from(value.first().copied().unwrap_or(f32::NAN));
        stats.merge(micro);
    }
    Ok((total, stats))
}
