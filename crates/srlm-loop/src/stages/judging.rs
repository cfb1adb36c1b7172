//! Self-judging: every candidate scored by the judge prompt, k samples averaged (the paper), or
//! the expected score over the digit's probabilities.

use std::collections::BTreeMap;

use serde_json::json;
use srlm_judge::{
    AggregationConfig, ExpectedScoreJudge, Judge, JudgeItem, Judgement, ParseStats, SampleParams,
    SamplingJudge, TextGenerator,
};
use srlm_model::LanguageModel;

use crate::config::JudgeSection;
use crate::error::Result;
use crate::records::{CandidateSet, JudgedResponse, JudgedSet};

fn items(sets: &[CandidateSet]) -> Vec<JudgeItem> {
    sets.iter()
        .flat_map(|s| {
            s.responses.iter().map(|r| JudgeItem {
                prompt: s.prompt.clone(),
                response: r.text.clone(),
            })
        })
        .collect()
}

fn attach(sets: &[CandidateSet], judgements: Vec<Judgement>) -> Vec<JudgedSet> {
    let mut judgements = judgements.into_iter();
    sets.iter()
        .map(|s| JudgedSet {
            id: s.id.clone(),
            prompt: s.prompt.clone(),
            responses: s
                .responses
                .iter()
                .zip(judgements.by_ref())
                .map(|(r, judgement)| JudgedResponse {
                    response: r.text.clone(),
                    truncated: r.truncated,
                    judgement,
                })
                .collect(),
        })
        .collect()
}

/// Judges one unit by sampling `config.samples` judgements per response from `generator`.
pub fn sample_unit(
    sets: &[CandidateSet],
    generator: &mut dyn TextGenerator,
    config: &JudgeSection,
    seed: u64,
) -> Result<Vec<JudgedSet>> {
    let mut judge = SamplingJudge::new(generator)
        .with_aggregation(AggregationConfig {
            samples: config.samples,
            min_valid: 1,
        })
        .with_params(SampleParams {
            temperature: config.temperature,
            top_p: config.top_p,
            max_tokens: config.max_tokens,
            seed,
        });
    let judgements = judge.judge(&items(sets))?;
    Ok(attach(sets, judgements))
}

/// Judges one unit by the expected score (no sampling; a local model only): the digit
/// probabilities at the final `Score: ` of a greedy justification of at most `max_tokens`.
pub fn expected_unit(
    sets: &[CandidateSet],
    model: &LanguageModel,
    batch: usize,
    max_tokens: usize,
) -> Result<Vec<JudgedSet>> {
    let mut judge = ExpectedScoreJudge::new(model, batch)?.with_justification_tokens(max_tokens);
    let judgements = judge.judge(&items(sets))?;
    Ok(attach(sets, judgements))
}

/// Judged responses by mean score rounded to the nearest point (unjudged ones left out).
pub fn score_histogram(judgements: &[Judgement]) -> BTreeMap<String, usize> {
    let mut histogram: BTreeMap<String, usize> = BTreeMap::new();
    for score in judgements.iter().filter_map(|j| j.score) {
        *histogram
            .entry(format!("{}", score.round() as i64))
            .or_default() += 1;
    }
    histogram
}

/// The stage's counts: parse rate, failures by reason, histogram of mean scores (rounded),
/// prompts with at least two judged responses.
pub fn stats(sets: &[JudgedSet]) -> serde_json::Value {
    let judgements: Vec<Judgement> = sets
        .iter()
        .flat_map(|s| s.responses.iter().map(|r| r.judgement.clone()))
        .collect();
    let parse = ParseStats::of(&judgements);
    let histogram = score_histogram(&judgements);
    let unjudged = judgements.iter().filter(|j| j.score.is_none()).count();
    json!({
        "prompts": sets.len(),
        "responses": judgements.len(),
        "unjudged": unjudged,
        "parse_rate": parse.parse_rate(),
        "truncation_rate": parse.truncation_rate(),
        "parse": parse,
        "score_histogram": histogram,
        "prompts_with_two_judged": sets
            .iter()
            .filter(|s| s.responses.iter().filter(|r| r.judgement.score.is_some()).count() >= 2)
            .count(),
    })
}
