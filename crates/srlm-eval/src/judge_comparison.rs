//! Two judges on the same held-out pairs: B − A in pairwise accuracy, each pair counted for both
//! (a pair a judge left unscored counts as wrong, so both have the same denominator), with a
//! paired-bootstrap 95 % interval — the prompts resampled once for both judges. Two judges'
//! intervals can overlap while their paired difference is clear, and the reverse.

use serde::{Deserialize, Serialize};
use srlm_judge::{judge_metrics, RankedGroup};

use crate::error::{EvalError, Result};
use crate::judge_quality::JudgeQuality;
use crate::win_rate::{bootstrap, Share};

/// B − A in judge quality on one held-out set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeComparison {
    /// Judge A (the earlier model).
    pub a: String,
    /// Judge B.
    pub b: String,
    /// The held-out set's kind.
    pub set: String,
    /// Pairs the reference orders, over every prompt.
    pub pairs: usize,
    /// Pairwise accuracy over all pairs (unjudged counted wrong), B − A.
    pub pairwise_accuracy_all: Share,
}

/// B − A on the pairs both judged, paired over prompts. The two must have judged the same
/// held-out set (the same prompts, responses and reference ranks).
pub fn compare_judges(a: &JudgeQuality, b: &JudgeQuality, seed: u64) -> Result<JudgeComparison> {
    let same_set = a.set == b.set
        && a.groups.len() == b.groups.len()
        && a.groups
            .iter()
            .zip(&b.groups)
            .all(|(x, y)| x.ranks == y.ranks);
    if !same_set || a.groups.is_empty() {
        return Err(EvalError::Input(format!(
            "{} and {} did not judge the same held-out set ({} set: {} and {} prompts)",
            a.model,
            b.model,
            a.set,
            a.groups.len(),
            b.groups.len()
        )));
    }
    let accuracy = |groups: Vec<RankedGroup>| {
        judge_metrics(&groups, 5.0)
            .pairwise_accuracy_all
            .unwrap_or(0.0)
    };
    type Pair<'a> = (&'a RankedGroup, &'a RankedGroup);
    let pairs: Vec<Pair> = a.groups.iter().zip(&b.groups).collect();
    let difference = bootstrap(&pairs, seed, |draw: &[Pair]| {
        accuracy(draw.iter().map(|p| p.1.clone()).collect())
            - accuracy(draw.iter().map(|p| p.0.clone()).collect())
    });
    Ok(JudgeComparison {
        a: a.model.clone(),
        b: b.model.clone(),
        set: a.set.clone(),
        pairs: a.metrics.pairs + a.metrics.unjudged_pairs,
        pairwise_accuracy_all: difference,
    })
}
