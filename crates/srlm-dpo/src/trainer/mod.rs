//! The trainer every objective runs in: seeded shuffling, gradient accumulation over
//! token-budget micro-batches, global-norm clipping, AdamW on a warm-up + cosine schedule,
//! evaluation every K steps, checkpoints every K steps and at the end, exact resume, and a clear
//! stop on a non-finite loss.
//!
//! Its pieces are separate: [`Trainer`] (start or resume, one step at a time, log, checkpoint),
//! [`Checkpoint`] (find, write, restore), [`evaluate`] / [`evaluate_objective`] (a set's loss
//! and metrics without training); [`train`] puts them together into a whole run.

mod checkpoint;
mod config;
mod evaluate;
mod metrics;
mod step;

use std::ops::ControlFlow;
use std::path::Path;

use srlm_model::{Llama, LlamaConfig};

pub use checkpoint::{Checkpoint, CheckpointState};
pub use config::TrainConfig;
pub use evaluate::{evaluate, evaluate_objective, evaluate_preferences};
pub use metrics::{StepMetrics, StepTime};
pub use step::Trainer;

use crate::error::Result;
use crate::objective::Objective;

/// What a run ended with.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The trained network (on the autodiff device).
    pub model: Llama,
    /// Optimizer steps done in total.
    pub steps: usize,
    /// The step a resumed run started from (0 for a fresh run).
    pub resumed_from: usize,
    /// Whether the callback stopped the run early.
    pub stopped: bool,
}

/// Trains `model` (moved to the autodiff device) on `objective`, writing `metrics.jsonl` and
/// `checkpoints/step-N/` into `out_dir`, resuming from the latest checkpoint there. With `eval`
/// and `config.eval_every`, the evaluation loss joins every K-th step's metrics (and the
/// last's). `on_step` sees every step's metrics and may stop the run (`ControlFlow::Break`).
pub fn train<O: Objective>(
    model: Llama,
    model_config: &LlamaConfig,
    objective: &O,
    eval: Option<&O>,
    config: &TrainConfig,
    out_dir: &Path,
    on_step: &mut dyn FnMut(&StepMetrics<O::Metrics>) -> ControlFlow<()>,
) -> Result<TrainOutcome> {
    let mut trainer = Trainer::new(model, model_config, objective, config, out_dir)?;
    let resumed_from = trainer.resumed_from();
    let mut stopped = false;
    while let Some(mut metrics) = trainer.step()? {
        let done = trainer.steps_done();
        metrics.eval_loss = match (eval, config.eval_every) {
            (Some(set), Some(every))
                if every > 0 && (done % every == 0 || trainer.is_finished()) =>
            {
                Some(evaluate(trainer.model(), set, config)?)
            }
            _ => None,
        };
        trainer.log(&metrics)?;
        tracing::debug!(
            step = done,
            loss = metrics.loss,
            grad_norm = metrics.grad_norm,
            "step"
        );
        if trainer.checkpoint_due() {
            trainer.checkpoint()?;
        }
        if on_step(&metrics).is_break() {
            stopped = !trainer.is_finished();
            break;
        }
    }
    let steps = trainer.steps_done();
    Ok(TrainOutcome {
        model: trainer.into_model(),
        steps,
        resumed_from,
        stopped,
    })
}
