//! The two training stages: SFT of M0 on IFT + EFT (→ M1), and DPO of Mt against itself on
//! its own preference pairs (→ Mt+1), evaluated on the pairs it held out, before and after.
//! Both resume from the trainer's checkpoints.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::json;
use srlm_data::split::hold_out_count;
use srlm_data::{EftRecord, EncodedPair, Encoder, IftRecord, PreferenceRecord};
use srlm_dpo::{
    cached_reference_logps, compute_reference_logps, data_hash, evaluate_preferences, train,
    weights_hash, DpoConfig, DpoMetrics, DpoObjective, Objective, SftObjective, StepMetrics,
    TrainConfig,
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

/// SFT of `m0` on IFT + EFT records, laid out by `encoder` (its judge template renders the EFT
/// prompts).
pub fn sft(
    m0: &LanguageModel,
    ift: &[IftRecord],
    eft: &[EftRecord],
    encoder: &Encoder<'_>,
    config: &TrainConfig,
    workdir: &Path,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    let (examples, report) = encoder.sft_set(ift, eft)?;
    if examples.is_empty() {
        return Err(LoopError::Empty {
            stage: "sft".into(),
            reason: format!("no example fits data.max_len = {}", encoder.max_len()),
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

/// TRL's DPO metrics of held-out pairs under one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeldOutMetrics {
    /// Mean DPO loss (ln 2 ≈ 0.693 when the policy is the reference).
    pub loss: f64,
    /// Share of pairs whose chosen reward is strictly higher.
    pub reward_accuracy: f64,
    /// Mean chosen − rejected reward.
    pub reward_margin: f64,
    /// Mean chosen reward.
    pub reward_chosen: f64,
    /// Mean rejected reward.
    pub reward_rejected: f64,
}

impl From<DpoMetrics> for HeldOutMetrics {
    fn from(m: DpoMetrics) -> Self {
        HeldOutMetrics {
            loss: m.loss,
            reward_accuracy: m.rewards_accuracies,
            reward_margin: m.rewards_margins,
            reward_chosen: m.rewards_chosen,
            reward_rejected: m.rewards_rejected,
        }
    }
}

/// A DPO stage's evaluation on the pairs it held out, before and after its update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutDpo {
    /// Held-out pairs that fit `data.max_len` (evaluated).
    pub pairs: usize,
    /// Under Mt (the policy before the update is the reference).
    pub before: Option<HeldOutMetrics>,
    /// Under Mt+1.
    pub after: Option<HeldOutMetrics>,
}

/// Splits an iteration's pairs into DPO training pairs and held-out pairs: `fraction` of them
/// (at least one once there are 4 pairs, none below), chosen by a seeded hash of the prompt.
pub fn hold_out_pairs(
    pairs: &[PreferenceRecord],
    fraction: f64,
    seed: u64,
) -> (Vec<PreferenceRecord>, Vec<PreferenceRecord>) {
    let count = if fraction <= 0.0 || pairs.len() < 4 {
        0
    } else {
        ((fraction * pairs.len() as f64).round() as usize).clamp(1, pairs.len() - 1)
    };
    let split = hold_out_count(pairs.to_vec(), |p| p.prompt.as_str(), count, seed);
    (split.train, split.held_out)
}

/// DPO of `mt` against itself (frozen, its log-probs cached in `workdir/reference-cache`) on
/// `pairs`; `held_out` pairs are evaluated before and after the update.
#[allow(clippy::too_many_arguments)]
pub fn dpo(
    mt: &LanguageModel,
    pairs: &[PreferenceRecord],
    held_out: &[PreferenceRecord],
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
    let (objective, cache) = reference_objective(mt, &hash, encoded, loss, config, workdir)?;
    let (held_encoded, _) = encoder.preference_set(held_out)?;
    let held = if held_encoded.is_empty() {
        None
    } else {
        Some(reference_objective(mt, &hash, held_encoded, loss, config, workdir)?.0)
    };
    let evaluate = |model: &LanguageModel| -> Result<Option<HeldOutMetrics>> {
        Ok(match &held {
            Some(set) => evaluate_preferences(&model.model, set, config.micro_batch_tokens)?
                .map(HeldOutMetrics::from),
            None => None,
        })
    };
    let before = evaluate(mt)?;
    let (model, steps, resumed) = run(
        mt,
        &objective,
        config,
        workdir,
        (iteration, "dpo"),
        observer,
    )?;
    let held_out = HeldOutDpo {
        pairs: held.as_ref().map_or(0, |h| h.len()),
        before,
        after: evaluate(&model)?,
    };
    let stats = json!({
        "pairs": pairs.len(),
        "encode": report,
        "reference": cache,
        "train": step_stats(&steps),
        "held_out": held_out,
    });
    Ok(Trained {
        model,
        stats,
        resumed,
    })
}

/// A DPO objective over `encoded` with Mt's log-probs as the reference (cached in
/// `workdir/reference-cache` under Mt's `weights_hash`), and how the cache served them.
fn reference_objective(
    mt: &LanguageModel,
    weights_hash: &str,
    encoded: Vec<EncodedPair>,
    loss: &DpoConfig,
    config: &TrainConfig,
    workdir: &Path,
) -> Result<(DpoObjective, String)> {
    let (logps, cache) = cached_reference_logps(
        Some(&workdir.join("reference-cache")),
        weights_hash,
        &data_hash(&encoded),
        encoded.len(),
        || compute_reference_logps(&mt.model, &encoded, mt.pad_id, config.micro_batch_tokens),
    )?;
    Ok((
        DpoObjective::new(encoded, logps, *loss, mt.pad_id)?,
        format!("{cache:?}"),
    ))
}
