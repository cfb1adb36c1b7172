//! Judge quality on a held-out EFT set: each response scored by the model under test as a
//! judge, compared with the set's reference scores — the paper's table (pairwise accuracy,
//! 5-best %, exact match %, Spearman, Kendall τ) plus the parse rate.

use serde::{Deserialize, Serialize};
use srlm_data::EftRecord;
use srlm_judge::{judge_metrics, Judge, JudgeItem, JudgeMetrics, ParseStats, RankedGroup};

use crate::error::{EvalError, Result};

/// The held-out records of one prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldOutGroup {
    /// The prompt.
    pub prompt: String,
    /// Its responses with reference scores.
    pub records: Vec<EftRecord>,
}

/// Groups records by prompt (first appearance order) and keeps the first `max_prompts` groups
/// with at least two responses.
pub fn held_out_groups(records: &[EftRecord], max_prompts: usize) -> Vec<HeldOutGroup> {
    let mut groups: Vec<HeldOutGroup> = Vec::new();
    for r in records {
        match groups.iter_mut().find(|g| g.prompt == r.prompt) {
            Some(g) => g.records.push(r.clone()),
            None => groups.push(HeldOutGroup {
                prompt: r.prompt.clone(),
                records: vec![r.clone()],
            }),
        }
    }
    groups.retain(|g| g.records.len() >= 2);
    groups.truncate(max_prompts);
    groups
}

/// One judge's row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeQuality {
    /// The model that judged.
    pub model: String,
    /// Agreement with the reference scores.
    pub metrics: JudgeMetrics,
    /// Samples that parsed, failures by reason.
    pub parse: ParseStats,
    /// Parsed samples / samples.
    pub parse_rate: f64,
}

/// The reference ranks of a group: 0 for the highest reference score, equal scores tie.
pub fn reference_ranks(records: &[EftRecord]) -> Vec<f64> {
    let top = records
        .iter()
        .map(|r| r.score)
        .fold(f64::NEG_INFINITY, f64::max);
    records.iter().map(|r| top - r.score).collect()
}

/// Scores every response of `groups` with `judge` and compares with the reference.
pub fn judge_quality(
    model: &str,
    judge: &mut dyn Judge,
    groups: &[HeldOutGroup],
) -> Result<JudgeQuality> {
    if groups.is_empty() {
        return Err(EvalError::Input(
            "no held-out prompt with two or more responses".into(),
        ));
    }
    let items: Vec<JudgeItem> = groups
        .iter()
        .flat_map(|g| {
            g.records.iter().map(|r| JudgeItem {
                prompt: r.prompt.clone(),
                response: r.response.clone(),
            })
        })
        .collect();
    let judgements = judge.judge(&items)?;
    if judgements.len() != items.len() {
        return Err(EvalError::Input(format!(
            "the judge returned {} judgements for {} responses",
            judgements.len(),
            items.len()
        )));
    }
    let mut next = judgements.iter();
    let ranked: Vec<RankedGroup> = groups
        .iter()
        .map(|g| RankedGroup {
            ranks: reference_ranks(&g.records),
            scores: g
                .records
                .iter()
                .zip(next.by_ref())
                .map(|(_, j)| j.score)
                .collect(),
        })
        .collect();
    let parse = ParseStats::of(&judgements);
    Ok(JudgeQuality {
        model: model.to_string(),
        metrics: judge_metrics(&ranked, 5.0),
        parse_rate: parse.parse_rate(),
        parse,
    })
}
