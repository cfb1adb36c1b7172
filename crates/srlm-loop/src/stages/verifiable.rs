//! Verifiable instructions in the data stage (`[data.verifiable]`): seed prompts given
//! instructions ([`pick`]), the seed model's sampled answers to them ([`answer_instructed`]),
//! and what those answers were ([`answer_stats`]). The EFT records are built from the answers
//! by [`srlm_data::eft::build_verifiable`].

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;
use srlm_data::eft::VerifiableAnswers;
use srlm_data::split::normalize_prompt;
use srlm_data::IftRecord;
use srlm_generation::{complete_checked, GenerationConfig, TextGenerator};
use srlm_verifiable::{InstructedPrompt, InstructionSampler};

use crate::config::VerifiableSection;
use crate::error::{LoopError, Result};

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Up to `count` seed pairs of `pool` whose task is short enough (`max_task_words`), whose seed
/// answer is short enough (`max_answer_words`) and whose normalised prompt is not in `exclude`,
/// in an order fixed by `seed`; each task gets instructions from `sampler` and the key
/// `{prefix}-NNNN`. The picked prompts' normalised tasks are added to `exclude`. Fewer usable
/// prompts than asked is a warning; none at all, when some were asked for, is an error: a set
/// that comes out empty would silently drop what it is for (its EFT, its judge-quality or its
/// instruction-following section).
pub(crate) fn pick(
    pool: &[IftRecord],
    count: usize,
    exclude: &mut HashSet<String>,
    config: &VerifiableSection,
    sampler: &mut InstructionSampler,
    (prefix, seed): (&str, u64),
) -> Result<Vec<InstructedPrompt>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut usable: Vec<&IftRecord> = pool
        .iter()
        .filter(|r| {
            let task = words(&r.prompt);
            task > 0
                && task <= config.max_task_words
                && words(&r.response) <= config.max_answer_words
                && !exclude.contains(&normalize_prompt(&r.prompt))
        })
        .collect();
    usable.shuffle(&mut StdRng::seed_from_u64(seed));
    if usable.is_empty() {
        return Err(LoopError::Empty {
            stage: "data".into(),
            reason: format!(
                "no seed prompt is left for the {prefix} set of data.verifiable ({count} asked): \
                 none passes max_task_words and max_answer_words without being used by another \
                 set; raise data.held_out_fraction or the limits, or ask for fewer prompts"
            ),
        });
    }
    if usable.len() < count {
        tracing::warn!(
            set = prefix,
            asked = count,
            usable = usable.len(),
            "fewer seed prompts than data.verifiable asks for pass its limits \
             (max_task_words, max_answer_words) and are not used by another set; \
             data.held_out_fraction or the limits give more"
        );
    }
    usable.truncate(count);
    Ok(usable
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            exclude.insert(normalize_prompt(&r.prompt));
            let task = r.prompt.trim();
            InstructedPrompt::new(format!("{prefix}-{i:04}"), task, &sampler.draw(task))
        })
        .collect())
}

/// `answers` sampled answers to each prompt, as `params` say; an answer cut at the token limit
/// (or blank) is `None`.
pub fn answer_instructed(
    prompts: &[InstructedPrompt],
    generator: &mut dyn TextGenerator,
    answers: usize,
    params: &GenerationConfig,
) -> Result<Vec<VerifiableAnswers>> {
    let texts: Vec<String> = prompts.iter().map(|p| p.prompt.clone()).collect();
    let rows = complete_checked(generator, &texts, answers, params)?;
    Ok(prompts
        .iter()
        .zip(rows)
        .map(|(prompt, row)| VerifiableAnswers {
            prompt: prompt.clone(),
            answers: row
                .into_iter()
                .map(|c| (!c.truncated && !c.text.trim().is_empty()).then_some(c.text))
                .collect(),
        })
        .collect())
}

/// The sampling settings of `[data.verifiable]`'s answers.
pub(crate) fn answer_params(config: &VerifiableSection, seed: u64) -> GenerationConfig {
    GenerationConfig::sampled(config.temperature, config.top_p, config.max_tokens).with_seed(seed)
}

/// Counts of the answers: prompts, answers, those cut at the limit (or blank) and their share,
/// the mean words of the finished ones.
pub(crate) fn answer_stats(answers: &[VerifiableAnswers], max_tokens: usize) -> serde_json::Value {
    let total: usize = answers.iter().map(|a| a.answers.len()).sum();
    let finished = answers.iter().flat_map(|a| a.answers.iter().flatten());
    let kept = finished.clone().count();
    json!({
        "prompts": answers.len(),
        "answers": total,
        "cut": total - kept,
        "cut_share": if total == 0 { 0.0 } else { (total - kept) as f64 / total as f64 },
        "max_tokens": max_tokens,
        "mean_words": super::mean_words(finished.map(String::as_str)),
    })
}
