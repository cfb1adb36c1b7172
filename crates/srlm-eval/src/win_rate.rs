//! Win / tie / loss tallies with percentile-bootstrap confidence intervals.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use srlm_judge::PairOutcome;

/// A share with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Share {
    /// The observed share, in [0, 1].
    pub value: f64,
    /// 2.5th percentile of the bootstrap distribution.
    pub low: f64,
    /// 97.5th percentile.
    pub high: f64,
}

/// Win / tie / loss of A against B. Shares are over the prompts the judge gave a verdict on (in
/// both orders, pairwise; a score to both answers, pointwise); the others are counted in
/// `unparsed`, apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinTieLoss {
    /// Prompts with a verdict (the shares' denominator).
    pub n: usize,
    /// Prompts where the judge gave no verdict (in at least one order, or no score to an answer).
    #[serde(default)]
    pub unparsed: usize,
    /// A better (in both orders, pairwise).
    pub wins: usize,
    /// Tied, or the two orders disagreed.
    pub ties: usize,
    /// B better (in both orders, pairwise).
    pub losses: usize,
    /// Share of wins.
    pub win: Share,
    /// Share of ties.
    pub tie: Share,
    /// Share of losses.
    pub loss: Share,
}

/// A share as a percentage with its interval, or `n/a` when there was nothing to count.
pub(crate) fn pct(s: &Share) -> String {
    if !s.value.is_finite() {
        return "n/a (nothing counted)".into();
    }
    format!(
        "{:.1} % [{:.1}, {:.1}]",
        100.0 * s.value,
        100.0 * s.low,
        100.0 * s.high
    )
}

/// Bootstrap resamples used for the intervals.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// The `q`-quantile of sorted values by linear interpolation (numpy's default).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// `value` with the 95 % percentile interval of its bootstrap `samples`.
pub(crate) fn percentile_share(value: f64, mut samples: Vec<f64>) -> Share {
    samples.sort_by(f64::total_cmp);
    Share {
        value,
        low: quantile(&samples, 0.025),
        high: quantile(&samples, 0.975),
    }
}

/// Tallies outcomes and bootstraps each share's 95 % interval (percentile method, `seed`).
/// Unparsed outcomes are counted and left out of the shares.
pub fn win_tie_loss(outcomes: &[PairOutcome], seed: u64) -> WinTieLoss {
    let unparsed = outcomes
        .iter()
        .filter(|o| **o == PairOutcome::Unparsed)
        .count();
    let outcomes: Vec<PairOutcome> = outcomes
        .iter()
        .copied()
        .filter(|o| *o != PairOutcome::Unparsed)
        .collect();
    let n = outcomes.len();
    let count = |o: PairOutcome| outcomes.iter().filter(|x| **x == o).count();
    let (wins, ties, losses) = (
        count(PairOutcome::Win),
        count(PairOutcome::Tie),
        count(PairOutcome::Loss),
    );
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    if n > 0 {
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..BOOTSTRAP_RESAMPLES {
            let mut c = [0usize; 3];
            for _ in 0..n {
                let k = match outcomes[rng.random_range(0..n)] {
                    PairOutcome::Win => 0,
                    PairOutcome::Tie | PairOutcome::Unparsed => 1,
                    PairOutcome::Loss => 2,
                };
                c[k] += 1;
            }
            for k in 0..3 {
                samples[k].push(c[k] as f64 / n as f64);
            }
        }
    }
    let share = |k: usize, count: usize| {
        if n == 0 {
            Share {
                value: 0.0,
                low: 0.0,
                high: 0.0,
            }
        } else {
            percentile_share(count as f64 / n as f64, samples[k].clone())
        }
    };
    WinTieLoss {
        n,
        unparsed,
        wins,
        ties,
        losses,
        win: share(0, wins),
        tie: share(1, ties),
        loss: share(2, losses),
    }
}

/// `statistic` on `items`, with the 95 % percentile interval of `statistic` on the items
/// resampled with replacement (`seed`).
pub(crate) fn bootstrap<T: Copy>(items: &[T], seed: u64, statistic: impl Fn(&[T]) -> f64) -> Share {
    let value = statistic(items);
    let n = items.len();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut samples = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    let mut draw: Vec<T> = Vec::with_capacity(n);
    if n > 0 {
        for _ in 0..BOOTSTRAP_RESAMPLES {
            draw.clear();
            draw.extend((0..n).map(|_| items[rng.random_range(0..n)]));
            samples.push(statistic(&draw));
        }
    }
    percentile_share(value, samples)
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantiles_interpolate_as_numpy_does() {
        // numpy.percentile([1, 2, 3, 4], [25, 97.5]) (linear interpolation): 1.75, 3.925.
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.975), 3.925);
    }
}
