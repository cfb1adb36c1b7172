//! Reference-free preference losses, on **length-averaged** response log-probabilities
//! `a_c = π_c / |c|`, `a_r = π_r / |r|` (TRL computes them with `average_log_prob=True`):
//!
//! | loss | per pair | batch |
//! |---|---|---|
//! | SimPO (Meng et al., 2024; TRL's `CPOTrainer`, `loss_type="simpo"`) | `−(1−ε) log σ(β(a_c − a_r) − γ) − ε log σ(−β(a_c − a_r) + γ)` | mean `+ α · NLL` |
//! | ORPO (Hong et al., 2024; TRL's `ORPOTrainer`) | `−β log σ(log odds)`, `log odds = (a_c − a_r) − (log(1−e^{a_c}) − log(1−e^{a_r}))` | `NLL +` mean |
//!
//! `NLL = −Σ π_c / Σ |c|`, the chosen responses' token-mean cross-entropy over the batch.
//! Neither needs a reference model: no reference forward pass, no reference in memory — the
//! cheapest preference objectives on a CPU. Rewards in the metrics are `β a_c` and `β a_r`, as
//! TRL logs them.

use burn::tensor::activation::log_sigmoid;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use srlm_model::burn;

use crate::error::{Result, TrainError};
use crate::loss::DpoMetrics;
use crate::objective::PairStats;

/// Settings of SimPO.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SimpoConfig {
    /// β, the reward scale (the SimPO authors use 2.0–2.5; TRL's `CPOConfig` default is 0.1).
    pub beta: f64,
    /// γ, the target reward margin (TRL's `simpo_gamma`; the SimPO authors suggest γ/β ≈ 0.5).
    pub gamma: f64,
    /// ε: the probability that a label is flipped (conservative loss).
    pub label_smoothing: f64,
    /// α of the added NLL term on the chosen responses (TRL's `cpo_alpha`; SimPO itself: 0).
    pub nll_alpha: f64,
}

impl Default for SimpoConfig {
    fn default() -> Self {
        SimpoConfig {
            beta: 2.0,
            gamma: 1.0,
            label_smoothing: 0.0,
            nll_alpha: 0.0,
        }
    }
}

impl SimpoConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        positive_beta(self.beta)?;
        if !self.gamma.is_finite() {
            return Err(TrainError::Config(format!(
                "SimPO gamma must be finite, got {}",
                self.gamma
            )));
        }
        if !(0.0..0.5).contains(&self.label_smoothing) {
            return Err(TrainError::Config(format!(
                "label_smoothing must be in [0, 0.5), got {}",
                self.label_smoothing
            )));
        }
        if !(self.nll_alpha >= 0.0 && self.nll_alpha.is_finite()) {
            return Err(TrainError::Config(format!(
                "the NLL weight must be ≥ 0, got {}",
                self.nll_alpha
            )));
        }
        Ok(())
    }
}

/// Settings of ORPO.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OrpoConfig {
    /// β (the paper's λ), the weight of the odds-ratio term (TRL's default 0.1).
    pub beta: f64,
}

impl Default for OrpoConfig {
    fn default() -> Self {
        OrpoConfig { beta: 0.1 }
    }
}

impl OrpoConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        positive_beta(self.beta)
    }
}

fn positive_beta(beta: f64) -> Result<()> {
    if beta > 0.0 && beta.is_finite() {
        Ok(())
    } else {
        Err(TrainError::Config(format!("beta must be > 0, got {beta}")))
    }
}

/// Per-pair SimPO losses `[n]` from length-averaged log-probs (the NLL term is added over the
/// batch, by [`crate::rpo_term`]).
pub fn simpo_losses(
    config: &SimpoConfig,
    average_chosen: Tensor<1>,
    average_rejected: Tensor<1>,
) -> Tensor<1> {
    let logits = (average_chosen - average_rejected)
        .mul_scalar(config.beta as f32)
        .sub_scalar(config.gamma as f32);
    let eps = config.label_smoothing as f32;
    if eps > 0.0 {
        log_sigmoid(logits.clone()).mul_scalar(-(1.0 - eps))
            - log_sigmoid(logits.neg()).mul_scalar(eps)
    } else {
        log_sigmoid(logits).neg()
    }
}

/// ORPO's log odds ratio `[n]`: `log(odds(a_c) / odds(a_r))` with `odds(a) = e^a / (1 − e^a)`.
pub fn orpo_log_odds(average_chosen: Tensor<1>, average_rejected: Tensor<1>) -> Tensor<1> {
    (average_chosen.clone() - average_rejected.clone())
        - (log1mexp(average_chosen) - log1mexp(average_rejected))
}

/// Per-pair ORPO losses `[n]`: `−β log σ(log odds)` (the NLL term is added over the batch).
pub fn orpo_losses(
    config: &OrpoConfig,
    average_chosen: Tensor<1>,
    average_rejected: Tensor<1>,
) -> Tensor<1> {
    log_sigmoid(orpo_log_odds(average_chosen, average_rejected)).mul_scalar(-(config.beta as f32))
}

/// `log(1 − eˣ)` for `x < 0`, without cancellation (Mächler's split at −ln 2, as TRL):
/// `log1p(−eˣ)` below, `log(−expm1 x)` above, with `expm1 x = 2t / (1 − t)`, `t = tanh(x/2)`.
/// Each branch sees its input clamped to its own side, so the branch not taken stays finite
/// and passes no NaN into the gradient.
fn log1mexp(x: Tensor<1>) -> Tensor<1> {
    let split = -std::f32::consts::LN_2;
    let below = x.clone().lower_elem(split);
    let far = x.clone().clamp_max(split).exp().neg().log1p();
    let t = x.clone().clamp_min(split).div_scalar(2.0).tanh();
    let near = t.clone().mul_scalar(-2.0).log() - t.neg().add_scalar(1.0).log();
    near.mask_where(below, far)
}

/// `log(1 − eˣ)` on the host, the same split.
pub(crate) fn log1mexp_f64(x: f64) -> f64 {
    if x < -std::f64::consts::LN_2 {
        (-x.exp()).ln_1p()
    } else {
        (-x.exp_m1()).ln()
    }
}

/// `log σ(x)` on the host, without overflow on either side.
fn log_sigmoid_f64(x: f64) -> f64 {
    if x >= 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

/// Metrics of a reference-free preference batch, with TRL's names: the fields every preference
/// loss reports ([`DpoMetrics`], its rewards `β a_c` and `β a_r`, its log-probs the
/// length-averaged `a_c` and `a_r`, as TRL logs them for these losses) and the NLL and odds terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceFreeMetrics {
    /// Loss, rewards, margin, accuracy and log-probs, as every preference loss reports them.
    #[serde(flatten)]
    pub pairs: DpoMetrics,
    /// The chosen responses' token-mean cross-entropy.
    pub nll_loss: f64,
    /// ORPO: mean `log σ(log odds)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_odds_ratio: Option<f64>,
    /// ORPO: mean log odds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_odds_chosen: Option<f64>,
}

impl ReferenceFreeMetrics {
    /// Metrics of a batch of pairs from their summed log-probs and response lengths, the
    /// batch's mean loss and β; `orpo` adds the odds terms.
    pub fn compute(beta: f64, loss: f64, stats: &PairStats, orpo: bool) -> Self {
        let policy = (&stats.policy_chosen, &stats.policy_rejected);
        let tokens = (&stats.chosen_tokens, &stats.rejected_tokens);
        let n = policy.0.len();
        let mean = |sum: f64| sum / n.max(1) as f64;
        let average = |logp: f32, len: f32| f64::from(logp) / f64::from(len.max(1.0));
        let (mut lc, mut lr, mut acc, mut ratio, mut odds) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..n {
            let (c, r) = (
                average(policy.0[i], tokens.0[i]),
                average(policy.1[i], tokens.1[i]),
            );
            lc += c;
            lr += r;
            acc += f64::from(u8::from(beta * c > beta * r));
            let log_odds = (c - r) - (log1mexp_f64(c) - log1mexp_f64(r));
            odds += log_odds;
            ratio += log_sigmoid_f64(log_odds);
        }
        let chosen_logp: f64 = policy.0.iter().map(|&v| f64::from(v)).sum();
        let chosen_tokens: f64 = tokens.0.iter().map(|&v| f64::from(v)).sum();
        ReferenceFreeMetrics {
            pairs: DpoMetrics {
                loss,
                rewards_chosen: beta * mean(lc),
                rewards_rejected: beta * mean(lr),
                rewards_margins: beta * mean(lc - lr),
                rewards_accuracies: mean(acc),
                logps_chosen: mean(lc),
                logps_rejected: mean(lr),
            },
            nll_loss: -chosen_logp / chosen_tokens.max(1.0),
            log_odds_ratio: orpo.then(|| mean(ratio)),
            log_odds_chosen: orpo.then(|| mean(odds)),
        }
    }
}
