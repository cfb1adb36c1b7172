//! Judge quality on a held-out EFT set: each response scored by the model under test as a
//! judge, compared with the set's reference scores — the paper's table (pairwise accuracy,
//! 5-best %, exact match %, Spearman, Kendall τ) plus the parse rate, an accuracy that counts
//! unjudged pairs as wrong, and a 95 % bootstrap interval (prompts resampled) on every metric.
//! A held-out file may hold sets of several kinds (`natural:*` and `ladder:*` records);
//! [`held_out_sets`] keeps them apart, so each is measured on its own.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use srlm_data::EftRecord;
use srlm_judge::{judge_metrics, Judge, JudgeItem, JudgeMetrics, ParseStats, RankedGroup};

use crate::error::{EvalError, Result};
use crate::win_rate::{percentile_share, Share, BOOTSTRAP_RESAMPLES};

/// The held-out records of one prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldOutGroup {
    /// The prompt.
    pub prompt: String,
    /// Its responses with reference scores.
    pub records: Vec<EftRecord>,
}

/// The kind of a held-out record: its `origin` up to the first `:` (`natural`, `ladder`,
/// `ranked`), or `given` for records without one.
pub fn set_kind(record: &EftRecord) -> &str {
    record.kind().unwrap_or("given")
}

/// The held-out records split by kind ([`set_kind`], first appearance order), each grouped by
/// prompt with [`held_out_groups`]; kinds with no usable group are left out.
pub fn held_out_sets(
    records: &[EftRecord],
    max_prompts: usize,
) -> Vec<(String, Vec<HeldOutGroup>)> {
    let mut kinds: Vec<String> = Vec::new();
    for r in records {
        if !kinds.iter().any(|k| k == set_kind(r)) {
            kinds.push(set_kind(r).to_string());
        }
    }
    kinds
        .into_iter()
        .filter_map(|kind| {
            let of_kind: Vec<EftRecord> = records
                .iter()
                .filter(|r| set_kind(r) == kind)
                .cloned()
                .collect();
            let groups = held_out_groups(&of_kind, max_prompts);
            (!groups.is_empty()).then_some((kind, groups))
        })
        .collect()
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

/// 95 % percentile-bootstrap intervals of [`JudgeMetrics`], prompts (groups) resampled with
/// replacement ([`BOOTSTRAP_RESAMPLES`] times); `None` where the metric is undefined.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricIntervals {
    /// Pairwise accuracy over judged pairs.
    pub pairwise_accuracy: Option<Share>,
    /// Pairwise accuracy with unjudged pairs counted as wrong.
    pub pairwise_accuracy_all: Option<Share>,
    /// 5-best, as a share (not percent).
    pub five_best: Option<Share>,
    /// Exact match, as a share.
    pub exact_match: Option<Share>,
    /// Mean Spearman ρ.
    pub spearman: Option<Share>,
    /// Mean Kendall τ-b.
    pub kendall_tau: Option<Share>,
}

type MetricOf = fn(&JudgeMetrics) -> Option<f64>;

const INTERVAL_METRICS: [MetricOf; 6] = [
    |m| m.pairwise_accuracy,
    |m| m.pairwise_accuracy_all,
    |m| m.five_best_pct.map(|p| p / 100.0),
    |m| m.exact_match_pct.map(|p| p / 100.0),
    |m| m.spearman,
    |m| m.kendall_tau,
];

/// Bootstraps every metric of `groups` (prompts resampled, `seed`).
pub fn metric_intervals(groups: &[RankedGroup], top_score: f64, seed: u64) -> MetricIntervals {
    let observed = judge_metrics(groups, top_score);
    let mut samples: [Vec<f64>; 6] = Default::default();
    if !groups.is_empty() {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut resampled = Vec::with_capacity(groups.len());
        for _ in 0..BOOTSTRAP_RESAMPLES {
            resampled.clear();
            resampled.extend(
                (0..groups.len()).map(|_| groups[rng.random_range(0..groups.len())].clone()),
            );
            let m = judge_metrics(&resampled, top_score);
            for (k, f) in INTERVAL_METRICS.iter().enumerate() {
                if let Some(v) = f(&m) {
                    samples[k].push(v);
                }
            }
        }
    }
    let [a, b, c, d, e, f] = samples;
    let share =
        |k: usize, s: Vec<f64>| INTERVAL_METRICS[k](&observed).map(|v| percentile_share(v, s));
    MetricIntervals {
        pairwise_accuracy: share(0, a),
        pairwise_accuracy_all: share(1, b),
        five_best: share(2, c),
        exact_match: share(3, d),
        spearman: share(4, e),
        kendall_tau: share(5, f),
    }
}

/// One judge's row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeQuality {
    /// The model that judged.
    pub model: String,
    /// The held-out set's kind ([`set_kind`]; empty in reports older than it).
    #[serde(default)]
    pub set: String,
    /// Agreement with the reference scores.
    pub metrics: JudgeMetrics,
    /// 95 % bootstrap intervals of the metrics.
    #[serde(default)]
    pub intervals: MetricIntervals,
    /// Samples that parsed, failures by reason.
    pub parse: ParseStats,
    /// Parsed samples / samples.
    pub parse_rate: f64,
    /// The chance floor of the pairwise accuracy over judged pairs: its mean when each prompt's
    /// scores are shuffled among its responses ([`chance_pairwise_accuracy`]) — what this
    /// judge's own score distribution, ties and unscored answers included, earns without reading
    /// the answers. `None` in reports older than it or with no judged pair.
    #[serde(default)]
    pub chance_pairwise_accuracy: Option<f64>,
    /// Each prompt's reference ranks and this judge's scores (what paired comparisons between
    /// judges resample; empty in reports older than it).
    #[serde(default)]
    pub groups: Vec<RankedGroup>,
}

/// Permutations behind [`chance_pairwise_accuracy`].
pub const CHANCE_PERMUTATIONS: usize = 1000;

/// The pairwise accuracy (judged pairs) a judge gets when its scores are shuffled within each
/// prompt, averaged over [`CHANCE_PERMUTATIONS`] shuffles (`seed`): the floor that an accuracy
/// must clear to say the judge read the answers. With three sampled judgements averaged and ties
/// counted as wrong, it is well under 0.5.
pub fn chance_pairwise_accuracy(groups: &[RankedGroup], seed: u64) -> Option<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut shuffled: Vec<RankedGroup> = groups.to_vec();
    let mut sum = 0.0;
    let mut counted = 0usize;
    for _ in 0..CHANCE_PERMUTATIONS {
        for (s, g) in shuffled.iter_mut().zip(groups) {
            s.scores.clone_from(&g.scores);
            s.scores.shuffle(&mut rng);
        }
        if let Some(acc) = judge_metrics(&shuffled, 5.0).pairwise_accuracy {
            sum += acc;
            counted += 1;
        }
    }
    (counted > 0).then(|| sum / counted as f64)
}

/// The reference ranks of a group: 0 for the highest reference score, equal scores tie.
pub fn reference_ranks(records: &[EftRecord]) -> Vec<f64> {
    let top = records
        .iter()
        .map(|r| r.score)
        .fold(f64::NEG_INFINITY, f64::max);
    records.iter().map(|r| top - r.score).collect()
}

/// Scores every response of `groups` (a held-out set of kind `set`) with `judge` and compares
/// with the reference; `seed` seeds the bootstrap.
pub fn judge_quality(
    model: &str,
    set: &str,
    judge: &mut dyn Judge,
    groups: &[HeldOutGroup],
    seed: u64,
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
        set: set.to_string(),
        metrics: judge_metrics(&ranked, 5.0),
        intervals: metric_intervals(&ranked, 5.0, seed),
        chance_pairwise_accuracy: chance_pairwise_accuracy(&ranked, seed),
        parse_rate: parse.parse_rate(),
        parse,
        groups: ranked,
    })
}
