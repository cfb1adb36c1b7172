//! The paper's EFT builder: judge each human-ranked answer with a judge model (k sampled
//! judgements), keep a prompt's judgements only when their mean scores order the answers as the
//! people ranked them, and keep for each answer the sampled judgement closest to its mean.

use serde::Serialize;
use srlm_judge::{Judge, JudgeItem, Judgement};

use crate::error::Result;
use crate::records::{EftRecord, RankedPrompt};

/// Counts of a ranked EFT build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RankedEftReport {
    /// Prompts offered.
    pub prompts: usize,
    /// Prompts kept: every answer judged and the scores agree with the human ranks.
    pub agreeing: usize,
    /// Prompts dropped because some answer got no valid score.
    pub unjudged: usize,
    /// Prompts dropped because the scores contradict the ranks (ties across ranks included).
    pub disagreeing: usize,
    /// EFT records produced.
    pub records: usize,
}

/// Whether `scores` (by answer) order the answers as `ranks` do: for any two answers with
/// different ranks, the better-ranked one (lower rank) scores strictly higher.
pub fn agrees_with_ranks(ranks: &[u32], scores: &[f64]) -> bool {
    ranks.iter().zip(scores).enumerate().all(|(i, (ri, si))| {
        ranks
            .iter()
            .zip(scores)
            .skip(i + 1)
            .all(|(rj, sj)| match ri.cmp(rj) {
                std::cmp::Ordering::Less => si > sj,
                std::cmp::Ordering::Greater => si < sj,
                std::cmp::Ordering::Equal => true,
            })
    })
}

/// Judges `prompts` with `judge`, `chunk` prompts per judge call, and keeps agreeing sets.
pub fn build_ranked_eft<J: Judge>(
    judge: &mut J,
    prompts: &[RankedPrompt],
    chunk: usize,
) -> Result<(Vec<EftRecord>, RankedEftReport)> {
    let mut report = RankedEftReport {
        prompts: prompts.len(),
        ..RankedEftReport::default()
    };
    let mut records = Vec::new();
    for group in prompts.chunks(chunk.max(1)) {
        let items: Vec<JudgeItem> = group
            .iter()
            .flat_map(|p| {
                p.answers.iter().map(|a| JudgeItem {
                    prompt: p.prompt.clone(),
                    response: a.text.clone(),
                })
            })
            .collect();
        let judgements = judge.judge(&items)?;
        let mut judgements = judgements.into_iter();
        for prompt in group {
            let mine: Vec<Judgement> = judgements.by_ref().take(prompt.answers.len()).collect();
            let scores: Option<Vec<f64>> = mine.iter().map(|j| j.score).collect();
            let Some(scores) = scores else {
                report.unjudged += 1;
                continue;
            };
            let ranks: Vec<u32> = prompt.answers.iter().map(|a| a.rank).collect();
            if !agrees_with_ranks(&ranks, &scores) {
                report.disagreeing += 1;
                continue;
            }
            report.agreeing += 1;
            for (answer, judgement) in prompt.answers.iter().zip(&mine) {
                if let Some((text, score)) = closest_sample(judgement) {
                    records.push(EftRecord {
                        prompt: prompt.prompt.clone(),
                        response: answer.text.clone(),
                        judgement: text,
                        score,
                        origin: Some(format!("ranked:{}", answer.rank)),
                    });
                }
            }
        }
    }
    report.records = records.len();
    Ok((records, report))
}

/// The sampled text whose parsed score is closest to the mean (first on ties), with its score.
fn closest_sample(judgement: &Judgement) -> Option<(String, f64)> {
    let mean = judgement.score?;
    judgement
        .samples
        .iter()
        .zip(&judgement.texts)
        .filter_map(|(s, t)| s.as_ref().ok().map(|s| (t, *s)))
        .min_by(|(_, a), (_, b)| (a - mean).abs().total_cmp(&(b - mean).abs()))
        .map(|(t, s)| (t.clone(), s))
}
