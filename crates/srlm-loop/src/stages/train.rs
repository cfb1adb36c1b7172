//! The two training stages: SFT of M0 on IFT + EFT (→ M1), and DPO of Mt against itself on
//! its own preference pairs (→ Mt+1). Both resume from the trainer's checkpoints.

use std::path::Path;

use serde_json::json;
use srlm_data::{EftRecord, Encoder, IftRecord, PreferenceRecord};
use srlm_dpo::{
    cached_reference_logps, compute_reference_logps, data_hash, train, weights_hash, DpoConfig,
    DpoObjective, Objective, SftObjective, StepMetrics, TrainConfig,
};
use srlm_model::burn::module::Module;
use srlm_model::LanguageModel;

use crate::error::{LoopError, Result};
use crate::observer::Observer;

/// What a training stage did.
#[derive(Debug)]
pub struct Trained {
    /// The trained model (inference device).
    pub model: LanguageModel,
    /// Statistics for the stage summary.
    pub stats: serde_json::Value,
    /// Whether it resumed from a checkpoint.
    pub resumed: bool,
}

fn run<O: Objective>(
    lm: &LanguageModel,
    objective: &O,
    config: &TrainConfig,
    workdir: &Path,
    (iteration, stage): (usize, &str),
    observer: &mut dyn Observer,
) -> Result<(LanguageModel, Vec<StepMetrics>, bool)> {
    let total = (objective.len().div_ceil(config.batch_size) * config.epochs)
        .min(config.max_steps.unwrap_or(usize::MAX));
    observer.stage_started(iteration, stage, total, 0);
    let mut steps = Vec::new();
    let outcome = train(
        lm.model.clone(),
        &lm.config,
        objective,
        None,
        config,
        workdir,
        &mut |m| {
            steps.push(m.clone());
            let message = format!("loss {:.4}, {:.0} tok/s", m.loss, m.tokens_per_second);
            observer.unit_finished(iteration, stage, m.step, &message)
        },
    )?;
    if outcome.stopped {
        return Err(LoopError::Stopped {
            stage: stage.to_string(),
            units: outcome.steps,
        });
    }
    let model = LanguageModel::from_parts(
        outcome.model.valid(),
        lm.config.clone(),
        lm.tokenizer.clone(),
        lm.tokenizer_config.clone(),
    )?;
    Ok((model, steps, outcome.resumed_from > 0))
}

fn step_stats(steps: &[StepMetrics]) -> serde_json::Value {
    json!({
        "steps_this_invocation": steps.len(),
        "first": steps.first(),
        "last": steps.last(),
        "tokens_per_second": steps.iter().map(|s| s.tokens_per_second).sum::<f64>() / steps.len().max(1) as f64,
    })
}

/// SFT of `m0` on IFT + EFT records.
pub fn sft(
    m0: &LanguageModel,
    ift: &[IftRecord],
    eft: &[EftRecord],
    max_len: usize,
    config: &TrainConfig,
    workdir: &Path,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    let encoder = Encoder::new(m0, max_len)?;
    let (examples, report) = encoder.sft_set(ift, eft)?;
    if examples.is_empty() {
        return Err(LoopError::Empty {
            stage: "sft".into(),
            reason: format!("no example fits data.max_len = {max_len}"),
        });
    }
    let objective = SftObjective {
        examples,
        pad_id: m0.pad_id,
    };
    let (model, steps, resumed) = run(m0, &objective, config, workdir, (0, "sft"), observer)?;
    let stats = json!({
        "ift": ift.len(),
        "eft": eft.len(),
        "encode": report,
        "train": step_stats(&steps),
    });
    Ok(Trained {
        model,
        stats,
        resumed,
    })
}

/// DPO of `mt` against itself (frozen, its log-probs cached in `workdir/reference-cache`).
#[allow(clippy::too_many_arguments)]
pub fn dpo(
    mt: &LanguageModel,
    pairs: &[PreferenceRecord],
    max_len: usize,
    loss: &DpoConfig,
    config: &TrainConfig,
    workdir: &Path,
    iteration: usize,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    let encoder = Encoder::new(mt, max_len)?;
    let (encoded, report) = encoder.preference_set(pairs)?;
    if encoded.is_empty() {
        return Err(LoopError::Empty {
            stage: "dpo".into(),
            reason: format!("no pair fits data.max_len = {max_len}"),
        });
    }
    let hash = weights_hash(&mt.model)?;
    let (logps, cache) = cached_reference_logps(
        Some(&workdir.join("reference-cache")),
        &hash,
        &data_hash(&encoded),
        encoded.len(),
        || compute_reference_logps(&mt.model, &encoded, mt.pad_id, config.micro_batch_tokens),
    )?;
    let objective = DpoObjective::new(encoded, logps, *loss, mt.pad_id)?;
    let (model, steps, resumed) = run(
        mt,
        &objective,
        config,
        workdir,
        (iteration, "dpo"),
        observer,
    )?;
    let stats = json!({
        "pairs": pairs.len(),
        "encode": report,
        "reference": format!("{cache:?}"),
        "train": step_stats(&steps),
    });
    Ok(Trained {
        model,
        stats,
        resumed,
    })
}
