//! A step's metrics and the `metrics.jsonl` they are appended to: one whole line per step, cut
//! back to the resumed step when a run resumes.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use srlm_model::write_atomic;

use crate::error::{Result, TrainError};
use crate::objective::SftMetrics;

/// One optimizer step's metrics, with TRL's names; `M` is the objective's own metrics
/// ([`crate::Objective::Metrics`]), flattened into the same JSON object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics<M = SftMetrics> {
    /// 1-based optimizer step.
    pub step: usize,
    /// Fractional epoch at the end of the step.
    pub epoch: f64,
    /// Loss of the batch (not finite, `null` in JSON, on a skipped step).
    #[serde(deserialize_with = "number_or_null")]
    pub loss: f64,
    /// Global gradient norm before clipping (not finite, `null` in JSON, on a skipped step).
    #[serde(deserialize_with = "number_or_null")]
    pub grad_norm: f64,
    /// Learning rate used.
    pub learning_rate: f64,
    /// Tokens (prompt + response, all rows) in the batch.
    pub num_tokens: usize,
    /// Tokens per second of the step (wall time).
    pub tokens_per_second: f64,
    /// Where the step's wall time went.
    #[serde(default)]
    pub time: StepTime,
    /// The objective's metrics (DPO: `rewards/…`, `logps/…`).
    #[serde(flatten)]
    pub objective: M,
    /// Evaluation loss, on evaluation steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_loss: Option<f64>,
    /// The step's loss or gradient norm was not finite and no update was made
    /// ([`crate::TrainConfig::max_skipped_steps`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

/// A JSON number, or `null` (how `serde_json` writes a NaN or an infinity) as NaN.
fn number_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Wall seconds of one optimizer step by phase (summed over its micro-batches).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StepTime {
    /// Forward passes and the loss, up to reading the loss value.
    pub forward: f64,
    /// Backward passes and accumulating the micro-batch gradients.
    pub backward: f64,
    /// Gradient norm, clipping and the AdamW update.
    pub optimizer: f64,
}

/// Keeps the lines of steps `1..=keep_through` (a resumed run rewrites the rest).
pub(crate) fn truncate_metrics(path: &Path, keep_through: usize) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: String = text
        .lines()
        .filter(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("step").and_then(serde_json::Value::as_u64))
                .is_some_and(|s| s as usize <= keep_through)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    write_atomic(path, kept.as_bytes())?;
    Ok(())
}

/// Appends one step's line.
pub(crate) fn append_metrics<M: Serialize>(path: &Path, metrics: &StepMetrics<M>) -> Result<()> {
    let mut line = serde_json::to_string(metrics).map_err(|e| TrainError::Config(e.to_string()))?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| TrainError::io(path, e))?;
    // One write per line: a crash leaves whole lines (a torn last line is dropped on resume).
    file.write_all(line.as_bytes())
        .map_err(|e| TrainError::io(path, e))
}
