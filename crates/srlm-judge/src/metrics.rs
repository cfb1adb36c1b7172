//! Reward-model metrics against a reference ranking, as the paper reports them (Table 4):
//! pairwise accuracy, 5-best %, exact match %, Spearman and Kendall's τ.
//!
//! Conventions (ties and missing scores):
//! - A group is one prompt's responses with reference ranks (0 = best; equal ranks are ties) and
//!   judge scores. Responses the judge left unjudged are dropped from their group.
//! - **Pairwise accuracy**: over pairs whose reference ranks differ, the fraction the judge orders
//!   the same way; a judge tie on such a pair counts as wrong.
//! - **5-best %** (the paper's definition: "how often the responses that the model scores a
//!   perfect 5 out of 5 are rated as the highest ranked by humans"): over the judged responses
//!   whose score rounds to the top of the scale, the share that hold the best reference rank of
//!   their group — P(best | judge gives 5), not P(judge gives 5 | best).
//! - **Exact match %**: over fully judged groups, how often the judge's scores give exactly the
//!   reference order, ties included (judge scores tie exactly where reference ranks tie).
//! - **Spearman / Kendall τ-b**: computed per group between judge scores and negated ranks
//!   (scipy's `spearmanr` and `kendalltau`, tie-corrected), then averaged over the groups where
//!   they are defined (at least two judged responses, neither side constant).
//! - A metric with nothing to count (no judged pair, no response scored 5, no correlated group)
//!   is `None`, never 0: a judge that parsed nothing has no accuracy, not a zero one.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// Numeric order where `-0.0 == 0.0` (unlike `total_cmp`); NaN compares equal to everything.
fn order(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// Average ranks (1-based) with ties sharing their mean rank, as `scipy.stats.rankdata`.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| self::order(values[a], values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Spearman's ρ (Pearson correlation of average ranks); `None` when undefined.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Kendall's τ-b (tie-corrected); `None` when undefined.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let (mut concordant, mut discordant, mut ties_x, mut ties_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            let dx = order(x[i], x[j]) as i64;
            let dy = order(y[i], y[j]) as i64;
            match (dx, dy) {
                (0, 0) => {}
                (0, _) => ties_x += 1,
                (_, 0) => ties_y += 1,
                _ if dx == dy => concordant += 1,
                _ => discordant += 1,
            }
        }
    }
    let denominator =
        (((concordant + discordant + ties_x) * (concordant + discordant + ties_y)) as f64).sqrt();
    (denominator > 0.0).then(|| (concordant - discordant) as f64 / denominator)
}

/// One prompt's responses: reference ranks (0 = best) and the judge's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedGroup {
    /// Reference rank of each response (lower is better; equal is a tie).
    pub ranks: Vec<f64>,
    /// The judge's score of each response, `None` if unjudged.
    pub scores: Vec<Option<f64>>,
}

/// The paper's judge-quality table for one judge; a metric is `None` when it has nothing to
/// count (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JudgeMetrics {
    /// Pairwise accuracy, in [0, 1].
    pub pairwise_accuracy: Option<f64>,
    /// 5-best, in percent: of the responses the judge scored at the top, the share that are the
    /// reference's best.
    pub five_best_pct: Option<f64>,
    /// Exact match, in percent.
    pub exact_match_pct: Option<f64>,
    /// Mean per-group Spearman ρ.
    pub spearman: Option<f64>,
    /// Mean per-group Kendall τ-b.
    pub kendall_tau: Option<f64>,
    /// Groups given.
    pub groups: usize,
    /// Pairs with different reference ranks that were judged.
    pub pairs: usize,
    /// Pairs with different reference ranks where at least one response got no score.
    #[serde(default)]
    pub unjudged_pairs: usize,
    /// Pairwise accuracy over every pair with different reference ranks, an unjudged pair
    /// counted as wrong: `agreeing / (pairs + unjudged_pairs)`. A judge that parses little
    /// cannot look good here.
    #[serde(default)]
    pub pairwise_accuracy_all: Option<f64>,
    /// Responses the judge scored at the top of the scale (5-best's denominator).
    #[serde(default)]
    pub top_scored: usize,
    /// Groups where the correlations were defined.
    pub correlated_groups: usize,
}

/// `num / den`, or `None` when there is nothing to count.
fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Computes [`JudgeMetrics`] over `groups` (see the module docs for the conventions).
pub fn judge_metrics(groups: &[RankedGroup], top_score: f64) -> JudgeMetrics {
    let (mut pairs, mut agree, mut unjudged) = (0, 0, 0);
    let (mut five_den, mut five_num, mut exact_den, mut exact_num) = (0, 0, 0, 0);
    let (mut rho_sum, mut tau_sum, mut corr) = (0.0, 0.0, 0);
    for g in groups {
        for (i, (ri, si)) in g.ranks.iter().zip(&g.scores).enumerate() {
            for (rj, sj) in g.ranks.iter().zip(&g.scores).skip(i + 1) {
                unjudged += usize::from(ri != rj && (si.is_none() || sj.is_none()));
            }
        }
        let judged: Vec<(f64, f64)> = g
            .ranks
            .iter()
            .zip(&g.scores)
            .filter_map(|(&r, s)| s.map(|s| (r, s)))
            .collect();
        for i in 0..judged.len() {
            for j in i + 1..judged.len() {
                let ((ri, si), (rj, sj)) = (judged[i], judged[j]);
                if ri == rj {
                    continue;
                }
                pairs += 1;
                if (ri < rj && si > sj) || (ri > rj && si < sj) {
                    agree += 1;
                }
            }
        }
        let best = g.ranks.iter().copied().fold(f64::INFINITY, f64::min);
        for &(rank, score) in &judged {
            if score.round() == top_score {
                five_den += 1;
                five_num += usize::from(rank == best);
            }
        }
        if judged.len() == g.ranks.len() && judged.len() >= 2 {
            exact_den += 1;
            let same = (0..judged.len()).all(|i| {
                (i + 1..judged.len()).all(|j| {
                    let (ri, si) = judged[i];
                    let (rj, sj) = judged[j];
                    order(ri, rj) == order(sj, si)
                })
            });
            exact_num += usize::from(same);
        }
        let scores: Vec<f64> = judged.iter().map(|p| p.1).collect();
        let neg_ranks: Vec<f64> = judged.iter().map(|p| -p.0).collect();
        if let (Some(rho), Some(tau)) = (
            spearman(&scores, &neg_ranks),
            kendall_tau_b(&scores, &neg_ranks),
        ) {
            rho_sum += rho;
            tau_sum += tau;
            corr += 1;
        }
    }
    let mean = |sum: f64| (corr > 0).then(|| sum / corr as f64);
    JudgeMetrics {
        pairwise_accuracy: ratio(agree, pairs),
        pairwise_accuracy_all: ratio(agree, pairs + unjudged),
        unjudged_pairs: unjudged,
        five_best_pct: ratio(five_num, five_den).map(|r| 100.0 * r),
        exact_match_pct: ratio(exact_num, exact_den).map(|r| 100.0 * r),
        spearman: mean(rho_sum),
        kendall_tau: mean(tau_sum),
        groups: groups.len(),
        pairs,
        top_scored: five_den,
        correlated_groups: corr,
    }
}
