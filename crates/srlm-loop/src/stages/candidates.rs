//! Candidate responses: N samples per prompt (the paper: 4, T 0.7, p 0.9).

use serde_json::json;
use srlm_generation::{complete_checked, GenerationConfig, TextGenerator};

use crate::config::CandidateSection;
use crate::error::Result;
use crate::records::{CandidateSet, NewPrompt};

/// Samples the responses of one unit of prompts.
pub(crate) fn generate_unit(
    prompts: &[NewPrompt],
    generator: &mut dyn TextGenerator,
    config: &CandidateSection,
    seed: u64,
) -> Result<Vec<CandidateSet>> {
    let texts: Vec<String> = prompts.iter().map(|p| p.prompt.clone()).collect();
    let params = GenerationConfig::sampled(config.temperature, config.top_p, config.max_tokens)
        .with_seed(seed);
    let completions = complete_checked(generator, &texts, config.n, &params)?;
    Ok(prompts
        .iter()
        .zip(completions)
        .map(|(p, responses)| CandidateSet {
            id: p.id.clone(),
            prompt: p.prompt.clone(),
            responses,
        })
        .collect())
}

/// The stage's counts: prompts, responses, how many hit the token limit, mean length.
pub(crate) fn stats(sets: &[CandidateSet]) -> serde_json::Value {
    let responses: Vec<_> = sets.iter().flat_map(|s| &s.responses).collect();
    json!({
        "prompts": sets.len(),
        "responses": responses.len(),
        "truncated": responses.iter().filter(|r| r.truncated).count(),
        "empty": responses.iter().filter(|r| r.text.trim().is_empty()).count(),
        "mean_words": super::mean_words(responses.iter().map(|r| r.text.as_str())),
    })
}
