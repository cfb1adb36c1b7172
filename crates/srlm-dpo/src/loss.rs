//! The losses: masked cross-entropy for SFT, and DPO with its variants on *summed* response
//! log-probabilities (see the crate docs for every formula).

use burn::tensor::activation::{log_sigmoid, relu};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use srlm_model::burn;

use crate::error::{Result, TrainError};

/// Which preference loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DpoLossType {
    /// `-log σ(β Δ)` (Rafailov et al., 2023); with `label_smoothing > 0`, cDPO.
    #[default]
    Sigmoid,
    /// `(Δ̄ - 1/(2β))²` on length-averaged log-ratios (Azar et al., 2023, as TRL computes it).
    Ipo,
    /// `max(0, 1 - β Δ)` (SLiC).
    Hinge,
}

/// Settings of the DPO objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DpoConfig {
    /// β, the strength of the pull towards the reference (paper and TRL default 0.1).
    pub beta: f64,
    /// The loss.
    pub loss_type: DpoLossType,
    /// ε of conservative DPO: the probability that a label is flipped (sigmoid loss only).
    pub label_smoothing: f64,
    /// α of an added NLL term on the chosen responses (RPO); `None` adds nothing.
    pub rpo_alpha: Option<f64>,
}

impl Default for DpoConfig {
    fn default() -> Self {
        DpoConfig {
            beta: 0.1,
            loss_type: DpoLossType::Sigmoid,
            label_smoothing: 0.0,
            rpo_alpha: None,
        }
    }
}

impl DpoConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if !(self.beta > 0.0 && self.beta.is_finite()) {
            return Err(TrainError::Config(format!(
                "beta must be > 0, got {}",
                self.beta
            )));
        }
        if !(0.0..0.5).contains(&self.label_smoothing) {
            return Err(TrainError::Config(format!(
                "label_smoothing must be in [0, 0.5), got {}",
                self.label_smoothing
            )));
        }
        if let Some(alpha) = self.rpo_alpha.filter(|a| !(a.is_finite() && *a >= 0.0)) {
            return Err(TrainError::Config(format!(
                "rpo_alpha must be finite and not negative, got {alpha}"
            )));
        }
        if self.label_smoothing > 0.0 && self.loss_type != DpoLossType::Sigmoid {
            return Err(TrainError::Config(
                "label_smoothing applies to the sigmoid loss only".into(),
            ));
        }
        Ok(())
    }
}

/// Summed log-probabilities of one batch of pairs, policy and reference, with the token counts.
#[derive(Debug, Clone)]
pub struct PairLogps {
    /// Policy, chosen, `[n]` (differentiable during training).
    pub policy_chosen: Tensor<1>,
    /// Policy, rejected, `[n]`.
    pub policy_rejected: Tensor<1>,
    /// Reference, chosen, `[n]` (constants).
    pub reference_chosen: Tensor<1>,
    /// Reference, rejected, `[n]`.
    pub reference_rejected: Tensor<1>,
    /// Response tokens of each chosen side, `[n]`.
    pub chosen_tokens: Tensor<1>,
    /// Response tokens of each rejected side, `[n]`.
    pub rejected_tokens: Tensor<1>,
}

/// Per-pair DPO losses `[n]` (the RPO term is added by [`rpo_term`], over the batch).
pub fn dpo_losses(config: &DpoConfig, logps: PairLogps) -> Tensor<1> {
    let chosen_ratio = logps.policy_chosen - logps.reference_chosen;
    let rejected_ratio = logps.policy_rejected - logps.reference_rejected;
    let beta = config.beta as f32;
    match config.loss_type {
        DpoLossType::Sigmoid => {
            let logits = (chosen_ratio - rejected_ratio).mul_scalar(beta);
            let eps = config.label_smoothing as f32;
            if eps > 0.0 {
                log_sigmoid(logits.clone()).mul_scalar(-(1.0 - eps))
                    - log_sigmoid(logits.neg()).mul_scalar(eps)
            } else {
                log_sigmoid(logits).neg()
            }
        }
        DpoLossType::Hinge => {
            let logits = (chosen_ratio - rejected_ratio).mul_scalar(beta);
            relu(logits.neg().add_scalar(1.0))
        }
        DpoLossType::Ipo => {
            let delta = chosen_ratio / logps.chosen_tokens.clamp_min(1.0)
                - rejected_ratio / logps.rejected_tokens.clamp_min(1.0);
            delta.sub_scalar(1.0 / (2.0 * beta)).powi_scalar(2)
        }
    }
}

/// The RPO term over a batch: `α · (−Σ chosen log-probs / Σ chosen tokens)`, a scalar `[1]`.
pub fn rpo_term(alpha: f64, policy_chosen: Tensor<1>, chosen_tokens: usize) -> Tensor<1> {
    policy_chosen
        .sum()
        .mul_scalar(-(alpha as f32) / chosen_tokens.max(1) as f32)
}

/// SFT loss of a (micro-)batch: `−Σ response-token log-probs / normaliser`, where the
/// normaliser is the number of response tokens in the whole (accumulated) batch, so that the
/// micro-batch losses add up to the batch's per-token mean.
pub fn sft_loss(summed_logps: Tensor<1>, normaliser: usize) -> Tensor<1> {
    summed_logps
        .sum()
        .mul_scalar(-1.0 / normaliser.max(1) as f32)
}

/// What every preference loss reports of a batch, with TRL's names, from host values (DPO's
/// rewards are `β (π − ref)`; the reference-free losses' in [`crate::ReferenceFreeMetrics`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DpoMetrics {
    /// Mean loss (not serialised: a step's `loss` field already holds it).
    #[serde(skip)]
    pub loss: f64,
    /// Mean `β (π_c − ref_c)`.
    #[serde(rename = "rewards/chosen")]
    pub rewards_chosen: f64,
    /// Mean `β (π_r − ref_r)`.
    #[serde(rename = "rewards/rejected")]
    pub rewards_rejected: f64,
    /// Mean chosen − rejected reward.
    #[serde(rename = "rewards/margins")]
    pub rewards_margins: f64,
    /// Share of pairs whose chosen reward is strictly higher.
    #[serde(rename = "rewards/accuracies")]
    pub rewards_accuracies: f64,
    /// Mean policy log-prob of chosen.
    #[serde(rename = "logps/chosen")]
    pub logps_chosen: f64,
    /// Mean policy log-prob of rejected.
    #[serde(rename = "logps/rejected")]
    pub logps_rejected: f64,
}

impl DpoMetrics {
    /// Metrics of `n` pairs from their summed log-probs and the batch's mean loss.
    pub fn compute(
        beta: f64,
        loss: f64,
        policy: (&[f32], &[f32]),
        reference: (&[f32], &[f32]),
    ) -> Self {
        let n = policy.0.len().max(1) as f64;
        let (mut rc, mut rr, mut acc, mut lc, mut lr) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..policy.0.len() {
            let c = beta * (f64::from(policy.0[i]) - f64::from(reference.0[i]));
            let r = beta * (f64::from(policy.1[i]) - f64::from(reference.1[i]));
            rc += c;
            rr += r;
            acc += f64::from(u8::from(c > r));
            lc += f64::from(policy.0[i]);
            lr += f64::from(policy.1[i]);
        }
        DpoMetrics {
            loss,
            rewards_chosen: rc / n,
            rewards_rejected: rr / n,
            rewards_margins: (rc - rr) / n,
            rewards_accuracies: acc / n,
            logps_chosen: lc / n,
            logps_rejected: lr / n,
        }
    }
}
