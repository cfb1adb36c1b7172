//! DPO (and its IPO, hinge, cDPO and RPO variants) against precomputed reference log-probs.

use burn::tensor::Tensor;
use srlm_data::EncodedPair;
use srlm_model::burn;

use super::pairs::{column, PairLoss, PairStats, PolicyPairs, PreferenceObjective};
use super::BatchTotals;
use crate::error::{Result, TrainError};
use crate::loss::{dpo_losses, rpo_term, DpoConfig, DpoMetrics, PairLogps};
use crate::reference::ReferenceLogps;

/// The DPO loss: its settings and the frozen reference's log-probs, one per pair.
#[derive(Debug, Clone)]
pub struct DpoLoss {
    /// The loss settings.
    pub config: DpoConfig,
    /// The reference's summed log-probs of each pair.
    pub reference: ReferenceLogps,
}

/// DPO against precomputed reference log-probs.
pub type DpoObjective = PreferenceObjective<DpoLoss>;

impl PreferenceObjective<DpoLoss> {
    /// Checks the settings and that the reference log-probs match the pairs.
    pub fn new(
        pairs: Vec<EncodedPair>,
        reference: ReferenceLogps,
        config: DpoConfig,
        pad_id: u32,
    ) -> Result<Self> {
        config.validate()?;
        if reference.chosen.len() != pairs.len() || reference.rejected.len() != pairs.len() {
            return Err(TrainError::Config(format!(
                "{} pairs but reference log-probs for {} / {}",
                pairs.len(),
                reference.chosen.len(),
                reference.rejected.len()
            )));
        }
        Ok(PreferenceObjective {
            pairs,
            loss: DpoLoss { config, reference },
            pad_id,
        })
    }
}

impl PairLoss for DpoLoss {
    type Metrics = DpoMetrics;

    fn loss(
        &self,
        policy: PolicyPairs,
        items: &[usize],
        batch: BatchTotals,
    ) -> Result<(Tensor<1>, PairStats)> {
        let device = policy.chosen.device();
        let reference_chosen: Vec<f32> = items.iter().map(|&i| self.reference.chosen[i]).collect();
        let reference_rejected: Vec<f32> =
            items.iter().map(|&i| self.reference.rejected[i]).collect();
        let losses = dpo_losses(
            &self.config,
            PairLogps {
                policy_chosen: policy.chosen.clone(),
                policy_rejected: policy.rejected,
                reference_chosen: column(reference_chosen.clone(), &device),
                reference_rejected: column(reference_rejected.clone(), &device),
                chosen_tokens: policy.chosen_tokens,
                rejected_tokens: policy.rejected_tokens,
            },
        );
        let mut loss = losses.sum().div_scalar(batch.items.max(1) as f32);
        if let Some(alpha) = self.config.rpo_alpha {
            // This micro-batch's chosen log-probs over the whole batch's chosen tokens: the
            // micro-batch terms add up to the batch's token mean exactly.
            loss = loss + rpo_term(alpha, policy.chosen, batch.response_tokens);
        }
        let stats = PairStats {
            reference_chosen,
            reference_rejected,
            ..policy.stats
        };
        Ok((loss, stats))
    }

    fn metrics(&self, loss: f64, stats: &PairStats) -> DpoMetrics {
        DpoMetrics::compute(
            self.config.beta,
            loss,
            (&stats.policy_chosen, &stats.policy_rejected),
            (&stats.reference_chosen, &stats.reference_rejected),
        )
    }

    fn identity(&self) -> serde_json::Value {
        serde_json::json!({
            "objective": "dpo",
            "config": self.config,
            "reference_logps": self.reference.hash(),
        })
    }
}
