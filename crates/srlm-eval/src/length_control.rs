//! The length-controlled win rate (after AlpacaEval 2's): a judge that prefers longer answers
//! makes a model that writes longer answers look better. Regress each verdict on the length
//! difference and read the win rate the regression predicts at equal lengths.
//!
//! The model: `P(A beats B) = σ(θ + φ · tanh(Δ / s))`, Δ = characters of A's answer − characters
//! of B's, `s` the (population) standard deviation of Δ over the prompts, fitted by maximum
//! likelihood with outcomes 1 (win), ½ (tie) and 0 (loss) — unparsed verdicts left out — and a
//! ridge of `RIDGE` · (θ² + φ²) / 2 that keeps the fit finite when every verdict agrees. The
//! length-controlled win rate is `σ(θ)`; the raw rate beside it counts ties as halves the same
//! way. AlpacaEval's model also has an instruction-difficulty term, fitted across many models;
//! with one pair of models per matchup it is left out. Checked against scipy's optimiser by
//! `tools/fixtures/lc_win_rate.py`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use srlm_judge::PairOutcome;

use crate::win_rate::{percentile_share, Share, BOOTSTRAP_RESAMPLES};

/// The ridge on (θ, φ) added to the mean log-loss.
pub const RIDGE: f64 = 1e-4;

/// A matchup's win rates with ties as halves: raw, and controlled for length.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LengthControlled {
    /// Prompts with a verdict (the fit's data).
    pub n: usize,
    /// Mean outcome (win 1, tie ½, loss 0), with its bootstrap interval.
    pub raw: Share,
    /// `σ(θ)`: the predicted rate at equal lengths, with its bootstrap interval.
    pub controlled: Share,
    /// The length coefficient φ: positive when the judge favours the longer answer.
    pub length_coefficient: f64,
}

/// The fitted (θ, φ) for outcomes `y` in [0, 1] and length features `x`, by Newton's method on
/// the ridged mean log-loss (convex, so it converges from zero).
pub fn fit(y: &[f64], x: &[f64]) -> (f64, f64) {
    let n = y.len().max(1) as f64;
    let (mut theta, mut phi) = (0.0f64, 0.0f64);
    for _ in 0..100 {
        let (mut g0, mut g1, mut h00, mut h01, mut h11) =
            (RIDGE * theta, RIDGE * phi, RIDGE, 0.0, RIDGE);
        for (&yi, &xi) in y.iter().zip(x) {
            let p = sigmoid(theta + phi * xi);
            let w = p * (1.0 - p) / n;
            g0 += (p - yi) / n;
            g1 += (p - yi) * xi / n;
            h00 += w;
            h01 += w * xi;
            h11 += w * xi * xi;
        }
        let det = h00 * h11 - h01 * h01;
        if det.abs() < 1e-300 {
            break;
        }
        let d0 = (h11 * g0 - h01 * g1) / det;
        let d1 = (h00 * g1 - h01 * g0) / det;
        theta -= d0;
        phi -= d1;
        if d0.abs().max(d1.abs()) < 1e-12 {
            break;
        }
    }
    (theta, phi)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The length features `tanh(Δ / s)` of character differences `delta` (all zero when `s` is).
pub fn length_features(delta: &[f64]) -> Vec<f64> {
    let n = delta.len().max(1) as f64;
    let mean = delta.iter().sum::<f64>() / n;
    let sd = (delta.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
    delta
        .iter()
        .map(|d| if sd > 0.0 { (d / sd).tanh() } else { 0.0 })
        .collect()
}

/// The raw and length-controlled win rates of A over B, with 95 % percentile-bootstrap
/// intervals (prompts resampled, `seed`). `answers` are (A's, B's) per prompt, in the order of
/// `outcomes`. `None` when no prompt has a verdict.
pub fn length_controlled(
    outcomes: &[PairOutcome],
    answers: &[(&str, &str)],
    seed: u64,
) -> Option<LengthControlled> {
    let mut y = Vec::new();
    let mut delta = Vec::new();
    for (o, (a, b)) in outcomes.iter().zip(answers) {
        let value = match o {
            PairOutcome::Win => 1.0,
            PairOutcome::Tie => 0.5,
            PairOutcome::Loss => 0.0,
            PairOutcome::Unparsed => continue,
        };
        y.push(value);
        delta.push(a.chars().count() as f64 - b.chars().count() as f64);
    }
    if y.is_empty() {
        return None;
    }
    let x = length_features(&delta);
    let n = y.len();
    let (theta, phi) = fit(&y, &x);
    let mut raw_samples = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    let mut lc_samples = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut ys, mut xs) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..BOOTSTRAP_RESAMPLES {
        for k in 0..n {
            let i = rng.random_range(0..n);
            ys[k] = y[i];
            xs[k] = x[i];
        }
        raw_samples.push(ys.iter().sum::<f64>() / n as f64);
        lc_samples.push(sigmoid(fit(&ys, &xs).0));
    }
    Some(LengthControlled {
        n,
        raw: percentile_share(y.iter().sum::<f64>() / n as f64, raw_samples),
        controlled: percentile_share(sigmoid(theta), lc_samples),
        length_coefficient: phi,
    })
}
