//! Self-judging: every candidate scored by the run's judge (the paper's: the judge prompt, k
//! samples averaged; or the expected score over the digit's probabilities; or the caller's own,
//! through [`JudgeSource`](crate::JudgeSource)).

use std::collections::BTreeMap;

use serde_json::json;
use srlm_judge::{Judge, JudgeItem, Judgement, ParseStats};

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

/// Judges one unit: every candidate of `sets`, by `judge` reseeded with `seed` first.
pub fn judge_unit(
    sets: &[CandidateSet],
    judge: &mut dyn Judge,
    seed: u64,
) -> Result<Vec<JudgedSet>> {
    judge.reseed(seed);
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
