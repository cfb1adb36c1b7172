//! The seed model's own answers to the prompts the natural EFT builder anchors on: one greedy
//! and one sampled answer each, an answer cut at the token limit left out (it is not a natural,
//! finished answer).

use serde_json::json;
use srlm_data::eft::SeedAnswers;
use srlm_generation::{complete_checked, GenerationConfig, TextGenerator};

use crate::config::NaturalSection;
use crate::error::Result;

/// Answers one unit of prompts, greedy and sampled.
pub(crate) fn answer_unit(
    prompts: &[String],
    generator: &mut dyn TextGenerator,
    config: &NaturalSection,
    seed: u64,
) -> Result<Vec<SeedAnswers>> {
    let greedy = GenerationConfig::greedy(config.max_tokens).with_seed(seed);
    let sampled = GenerationConfig::sampled(config.temperature, config.top_p, config.max_tokens)
        .with_seed(seed);
    let greedy = complete_checked(generator, prompts, 1, &greedy)?;
    let sampled = complete_checked(generator, prompts, 1, &sampled)?;
    let finished = |mut c: Vec<srlm_generation::Completion>| {
        c.pop()
            .filter(|c| !c.truncated && !c.text.trim().is_empty())
            .map(|c| c.text)
    };
    Ok(prompts
        .iter()
        .zip(greedy.into_iter().zip(sampled))
        .map(|(prompt, (g, s))| SeedAnswers {
            prompt: prompt.clone(),
            greedy: finished(g),
            sampled: finished(s),
        })
        .collect())
}

/// The answers' counts: prompts, answers kept, answers left out (cut at the limit or empty).
pub(crate) fn stats(answers: &[SeedAnswers], max_tokens: usize) -> serde_json::Value {
    let kept = answers
        .iter()
        .map(|a| usize::from(a.greedy.is_some()) + usize::from(a.sampled.is_some()))
        .sum::<usize>();
    let texts = answers
        .iter()
        .flat_map(|a| [a.greedy.as_deref(), a.sampled.as_deref()])
        .flatten();
    json!({
        "prompts": answers.len(),
        "answers": kept,
        "left_out": 2 * answers.len() - kept,
        "max_tokens": max_tokens,
        "mean_words": super::mean_words(texts),
    })
}
