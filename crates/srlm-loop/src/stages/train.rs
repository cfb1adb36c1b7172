//! The two training stages: SFT of M0 on IFT + EFT (→ M1), and DPO of Mt against itself on
//! its own preference pairs (→ Mt+1), evaluated on the pairs it held out, before and after.
//! Both resume from the trainer's checkpoints.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::json;
use srlm_data::split::hold_out_count;
use srlm_data::{EftRecord, Encoder, IftRecord, PreferenceRecord};
use srlm_dpo::{
    evaluate_preferences, fine_tune, sft_objective, DpoConfig, DpoMetrics, FineTuned, Objective,
    Reference, StepMetrics, TrainConfig, TrainError,
};
use srlm_judge::JudgeTemplate;
use srlm_model::LanguageModel;

use crate::error::{LoopError, Result};
use crate::observer::Observer;

/// What a training stage did.
#[derive(Debug)]
pub(crate) struct Trained {
    /// The trained model (inference device).
    pub model: LanguageModel,
    /// Statistics for the stage summary.
    pub stats: serde_json::Value,
    /// Whether it resumed from a checkpoint.
    pub resumed: bool,
}

/// [`fine_tune`] with the stage's progress reported to `observer`; a stop asked by the
/// observer is [`LoopError::Stopped`].
fn run<O: Objective>(
    lm: LanguageModel,
    objective: &O,
    config: &TrainConfig,
    workdir: &Path,
    (iteration, stage): (usize, &str),
    observer: &mut dyn Observer,
) -> Result<FineTuned<O::Metrics>> {
    observer.stage_started(iteration, stage, config.total_steps(objective.len()), 0);
    let trained = fine_tune(lm, objective, config, workdir, &mut |m| {
        let message = format!("loss {:.4}, {:.0} tok/s", m.loss, m.tokens_per_second);
        observer.unit_finished(iteration, stage, m.step, &message)
    })?;
    if trained.stopped {
        return Err(LoopError::Stopped {
            stage: stage.to_string(),
            units: trained.total_steps,
        });
    }
    Ok(trained)
}

fn step_stats<M: Serialize>(steps: &[StepMetrics<M>]) -> serde_json::Value {
    json!({
        "steps_this_invocation": steps.len(),
        "first": steps.first(),
        "last": steps.last(),
        "tokens_per_second": steps.iter().map(|s| s.tokens_per_second).sum::<f64>() / steps.len().max(1) as f64,
    })
}

/// An empty set is the stage's [`LoopError::Empty`].
fn empty_as_stage_error(stage: &str, error: TrainError) -> LoopError {
    match error {
        TrainError::NothingFits { .. } => LoopError::Empty {
            stage: stage.into(),
            reason: format!("{error} (data.max_len)"),
        },
        other => other.into(),
    }
}

/// SFT of `m0` on IFT + EFT records of up to `max_len` tokens (`judge_template` renders the EFT
/// prompts). `m0` is taken: its weights are trained in place (keep yours with a clone).
pub(crate) fn sft(
    m0: LanguageModel,
    ift: &[IftRecord],
    eft: &[EftRecord],
    (max_len, judge_template): (usize, JudgeTemplate),
    config: &TrainConfig,
    workdir: &Path,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    let encoder = Encoder::new(&m0, max_len)?.with_judge_template(judge_template);
    let (objective, report) =
        sft_objective(&encoder, ift, eft).map_err(|e| empty_as_stage_error("sft", e))?;
    drop(encoder);
    let trained = run(m0, &objective, config, workdir, (0, "sft"), observer)?;
    let stats = json!({
        "ift": ift.len(),
        "eft": eft.len(),
        "encode": report,
        "train": step_stats(&trained.steps),
    });
    Ok(Trained {
        stats,
        resumed: trained.resumed_from > 0,
        model: trained.model,
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
pub(crate) fn hold_out_pairs(
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
/// `pairs`; `held_out` pairs are evaluated before and after the update. `mt` is taken: its
/// reference log-probs and the "before" come first, then its weights are trained in place.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dpo(
    mt: LanguageModel,
    pairs: &[PreferenceRecord],
    held_out: &[PreferenceRecord],
    max_len: usize,
    loss: &DpoConfig,
    config: &TrainConfig,
    workdir: &Path,
    iteration: usize,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    // Over a bf16 base the reference is that base too: policy and reference score alike. The
    // driver loaded Mt stored that way already; this sets the compute dtype (and casts a model
    // a caller loaded in f32).
    let mt = match &config.lora {
        Some(lora) => mt.with_base_dtype(lora)?,
        None => mt,
    };
    let encoder = Encoder::new(&mt, max_len)?;
    let reference = Reference::new(&mt)?;
    let cache = workdir.join("reference-cache");
    let train_set = reference
        .dpo_objective(
            &encoder,
            pairs,
            *loss,
            config.micro_batch_tokens,
            Some(&cache),
        )
        .map_err(|e| empty_as_stage_error("dpo", e))?;
    let held = match reference.dpo_objective(
        &encoder,
        held_out,
        *loss,
        config.micro_batch_tokens,
        Some(&cache),
    ) {
        Ok(set) => Some(set.objective),
        Err(TrainError::NothingFits { .. }) => None,
        Err(other) => return Err(other.into()),
    };
    let evaluate = |model: &LanguageModel| -> Result<Option<HeldOutMetrics>> {
        Ok(match &held {
            Some(set) => evaluate_preferences(&model.model, set, config.micro_batch_tokens)?
                .map(HeldOutMetrics::from),
            None => None,
        })
    };
    let before = evaluate(&mt)?;
    drop((encoder, reference));
    let trained = run(
        mt,
        &train_set.objective,
        config,
        workdir,
        (iteration, "dpo"),
        observer,
    )?;
    let held_out = HeldOutDpo {
        pairs: held.as_ref().map_or(0, |h| h.len()),
        before,
        after: evaluate(&trained.model)?,
    };
    let stats = json!({
        "pairs": pairs.len(),
        "encode": train_set.encoding,
        "reference": format!("{:?}", train_set.cache),
        "train": step_stats(&trained.steps),
        "held_out": held_out,
    });
    Ok(Trained {
        stats,
        resumed: trained.resumed_from > 0,
        model: trained.model,
    })
}

#[cfg(test)]
mod tests {
    use srlm_data::PreferenceRecord;

    use super::hold_out_pairs;

    #[test]
    fn dpo_holds_out_a_share_of_pairs_once_there_are_four() {
        let pairs = |n: usize| -> Vec<PreferenceRecord> {
            (0..n)
                .map(|i| PreferenceRecord {
                    prompt: format!("prompt {i}"),
                    chosen: "good".into(),
                    rejected: "bad".into(),
                    score_chosen: Some(4.0),
                    score_rejected: Some(1.0),
                    iteration: Some(1),
                    judge_texts_chosen: Vec::new(),
                    judge_texts_rejected: Vec::new(),
                })
                .collect()
        };
        let sizes = |n: usize, fraction: f64| {
            let (train, held) = hold_out_pairs(&pairs(n), fraction, 3);
            (train.len(), held.len())
        };
        assert_eq!(sizes(3, 0.1), (3, 0));
        assert_eq!(sizes(4, 0.1), (3, 1));
        assert_eq!(sizes(20, 0.1), (18, 2));
        assert_eq!(sizes(20, 0.0), (20, 0));
        assert_eq!(sizes(4, 0.9), (1, 3), "at least one pair is trained on");
        // Held out and trained on are disjoint and cover every pair.
        let (train, held) = hold_out_pairs(&pairs(20), 0.25, 3);
        let mut all: Vec<String> = train
            .iter()
            .chain(&held)
            .map(|p| p.prompt.clone())
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 20);
    }
}
