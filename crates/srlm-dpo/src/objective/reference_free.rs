//! SimPO and ORPO: preference objectives without a reference model (formulas in
//! [`crate::reference_free`]).

use burn::tensor::Tensor;
use srlm_data::EncodedPair;
use srlm_model::burn;

use super::pairs::{PairLoss, PairStats, PolicyPairs, PreferenceObjective};
use super::BatchTotals;
use crate::error::Result;
use crate::loss::rpo_term;
use crate::reference_free::{
    orpo_losses, simpo_losses, OrpoConfig, ReferenceFreeMetrics, SimpoConfig,
};

/// SimPO on preference pairs.
pub type SimpoObjective = PreferenceObjective<SimpoConfig>;

/// ORPO on preference pairs (its NLL term is always on).
pub type OrpoObjective = PreferenceObjective<OrpoConfig>;

impl PreferenceObjective<SimpoConfig> {
    /// Checks the settings.
    pub fn simpo(pairs: Vec<EncodedPair>, config: SimpoConfig, pad_id: u32) -> Result<Self> {
        config.validate()?;
        Ok(PreferenceObjective {
            pairs,
            loss: config,
            pad_id,
        })
    }
}

impl PreferenceObjective<OrpoConfig> {
    /// Checks the settings.
    pub fn orpo(pairs: Vec<EncodedPair>, config: OrpoConfig, pad_id: u32) -> Result<Self> {
        config.validate()?;
        Ok(PreferenceObjective {
            pairs,
            loss: config,
            pad_id,
        })
    }
}

/// The batch mean of per-pair losses computed on one micro-batch: their sum over the batch size.
fn batch_share(losses: Tensor<1>, batch: BatchTotals) -> Tensor<1> {
    losses.sum().div_scalar(batch.items.max(1) as f32)
}

impl PairLoss for SimpoConfig {
    type Metrics = ReferenceFreeMetrics;

    fn loss(
        &self,
        policy: PolicyPairs,
        _items: &[usize],
        batch: BatchTotals,
    ) -> Result<(Tensor<1>, PairStats)> {
        let (chosen, rejected) = policy.averages();
        let mut loss = batch_share(simpo_losses(self, chosen, rejected), batch);
        if self.nll_alpha > 0.0 {
            loss = loss + rpo_term(self.nll_alpha, policy.chosen, batch.response_tokens);
        }
        Ok((loss, policy.stats))
    }

    fn metrics(&self, loss: f64, stats: &PairStats) -> ReferenceFreeMetrics {
        ReferenceFreeMetrics::compute(self.beta, loss, stats, false)
    }

    fn identity(&self) -> serde_json::Value {
        serde_json::json!({"objective": "simpo", "config": self})
    }
}

impl PairLoss for OrpoConfig {
    type Metrics = ReferenceFreeMetrics;

    fn loss(
        &self,
        policy: PolicyPairs,
        _items: &[usize],
        batch: BatchTotals,
    ) -> Result<(Tensor<1>, PairStats)> {
        let (chosen, rejected) = policy.averages();
        let odds = batch_share(orpo_losses(self, chosen, rejected), batch);
        let nll = rpo_term(1.0, policy.chosen, batch.response_tokens);
        Ok((nll + odds, policy.stats))
    }

    fn metrics(&self, loss: f64, stats: &PairStats) -> ReferenceFreeMetrics {
        ReferenceFreeMetrics::compute(self.beta, loss, stats, true)
    }

    fn identity(&self) -> serde_json::Value {
        serde_json::json!({"objective": "orpo", "config": self})
    }
}
