//! What a training step minimises: [`SftObjective`] (masked cross-entropy) and [`DpoObjective`]
//! (a preference loss against cached reference log-probs). Both compute the loss of a
//! micro-batch normalised by the whole accumulated batch, so micro-batch losses add up.

use burn::tensor::{Tensor, TensorData};
use srlm_data::{preference_batch, sft_batch, EncodedExample, EncodedPair};
use srlm_model::{burn, read_f32, response_logprobs, Llama};

use crate::error::{Result, TrainError};
use crate::loss::{dpo_losses, rpo_term, sft_loss, DpoConfig, PairLogps};
use crate::reference::ReferenceLogps;

/// Host values of one micro-batch, for the step's metrics.
#[derive(Debug, Clone, Default)]
pub struct MicroStats {
    /// Tokens in the batch (prompt + response, all rows).
    pub tokens: usize,
    /// Policy log-probs of the chosen sides (DPO).
    pub policy_chosen: Vec<f32>,
    /// Policy log-probs of the rejected sides (DPO).
    pub policy_rejected: Vec<f32>,
    /// Reference log-probs of the chosen sides (DPO).
    pub reference_chosen: Vec<f32>,
    /// Reference log-probs of the rejected sides (DPO).
    pub reference_rejected: Vec<f32>,
}

/// Totals of a whole (accumulated) batch that each micro-batch's loss is divided by, so that the
/// micro-batch losses add up to exactly the loss of the batch taken at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchTotals {
    /// Items (examples or pairs) in the batch.
    pub items: usize,
    /// Response tokens in the batch (SFT: all responses; DPO: the chosen responses).
    pub response_tokens: usize,
}

/// A training objective over an indexed set of items.
pub trait Objective {
    /// Number of items.
    fn len(&self) -> usize;
    /// Whether there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Padded-size weight of item `i` for token-budget batching.
    fn tokens(&self, i: usize) -> usize;
    /// The totals of a whole batch.
    fn totals(&self, batch: &[usize]) -> BatchTotals;
    /// β of a DPO objective (for its metrics); `None` for others.
    fn beta(&self) -> Option<f64> {
        None
    }
    /// The loss of micro-batch `items` as its share of the loss of the whole batch whose totals
    /// are `batch`, a scalar `[1]`.
    fn loss(
        &self,
        model: &Llama,
        items: &[usize],
        batch: BatchTotals,
    ) -> Result<(Tensor<1>, MicroStats)>;
}

/// Supervised fine-tuning: cross-entropy over response tokens (and the end-of-turn token).
#[derive(Debug, Clone)]
pub struct SftObjective {
    /// The encoded examples.
    pub examples: Vec<EncodedExample>,
    /// Padding id.
    pub pad_id: u32,
}

impl Objective for SftObjective {
    fn len(&self) -> usize {
        self.examples.len()
    }

    fn tokens(&self, i: usize) -> usize {
        self.examples[i].len()
    }

    fn totals(&self, batch: &[usize]) -> BatchTotals {
        BatchTotals {
            items: batch.len(),
            response_tokens: batch.iter().map(|&i| self.examples[i].response.len()).sum(),
        }
    }

    fn loss(
        &self,
        model: &Llama,
        items: &[usize],
        batch_totals: BatchTotals,
    ) -> Result<(Tensor<1>, MicroStats)> {
        let refs: Vec<&EncodedExample> = items.iter().map(|&i| &self.examples[i]).collect();
        let batch = sft_batch(&refs, self.pad_id)?;
        let stats = MicroStats {
            tokens: refs.iter().map(|e| e.len()).sum(),
            ..MicroStats::default()
        };
        let summed = response_logprobs(model, &batch)?;
        Ok((sft_loss(summed, batch_totals.response_tokens), stats))
    }
}

/// DPO against precomputed reference log-probs.
#[derive(Debug, Clone)]
pub struct DpoObjective {
    /// The encoded pairs.
    pub pairs: Vec<EncodedPair>,
    /// The reference's log-probs, one per pair.
    pub reference: ReferenceLogps,
    /// The loss settings.
    pub config: DpoConfig,
    /// Padding id.
    pub pad_id: u32,
}

impl DpoObjective {
    /// Checks that the reference log-probs match the pairs.
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
        Ok(DpoObjective {
            pairs,
            reference,
            config,
            pad_id,
        })
    }
}

impl Objective for DpoObjective {
    fn len(&self) -> usize {
        self.pairs.len()
    }

    fn tokens(&self, i: usize) -> usize {
        2 * self.pairs[i].chosen.len().max(self.pairs[i].rejected.len())
    }

    fn totals(&self, batch: &[usize]) -> BatchTotals {
        BatchTotals {
            items: batch.len(),
            response_tokens: batch
                .iter()
                .map(|&i| self.pairs[i].chosen.response.len())
                .sum(),
        }
    }

    fn beta(&self) -> Option<f64> {
        Some(self.config.beta)
    }

    fn loss(
        &self,
        model: &Llama,
        items: &[usize],
        batch_totals: BatchTotals,
    ) -> Result<(Tensor<1>, MicroStats)> {
        let refs: Vec<&EncodedPair> = items.iter().map(|&i| &self.pairs[i]).collect();
        let batch = preference_batch(&refs, self.pad_id)?;
        let n = refs.len();
        let device = model.device();
        let summed = response_logprobs(model, &batch)?;
        let policy_chosen = summed.clone().narrow(0, 0, n);
        let policy_rejected = summed.narrow(0, n, n);
        let column = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [n]), &device);
        let reference_chosen: Vec<f32> = items.iter().map(|&i| self.reference.chosen[i]).collect();
        let reference_rejected: Vec<f32> =
            items.iter().map(|&i| self.reference.rejected[i]).collect();
        let chosen_tokens: Vec<f32> = refs
            .iter()
            .map(|p| p.chosen.response.len() as f32)
            .collect();
        let rejected_tokens: Vec<f32> = refs
            .iter()
            .map(|p| p.rejected.response.len() as f32)
            .collect();
        let losses = dpo_losses(
            &self.config,
            PairLogps {
                policy_chosen: policy_chosen.clone(),
                policy_rejected: policy_rejected.clone(),
                reference_chosen: column(reference_chosen.clone()),
                reference_rejected: column(reference_rejected.clone()),
                chosen_tokens: column(chosen_tokens.clone()),
                rejected_tokens: column(rejected_tokens),
            },
        );
        let mut loss = losses.sum().div_scalar(batch_totals.items.max(1) as f32);
        if let Some(alpha) = self.config.rpo_alpha {
            // This micro-batch's chosen log-probs over the whole batch's chosen tokens: the
            // micro-batch terms add up to the batch's token mean exactly.
            loss = loss + rpo_term(alpha, policy_chosen.clone(), batch_totals.response_tokens);
        }
        let stats = MicroStats {
            tokens: refs.iter().map(|p| p.chosen.len() + p.rejected.len()).sum(),
            policy_chosen: read_f32(policy_chosen.detach(), "policy log-probs")?,
            policy_rejected: read_f32(policy_rejected.detach(), "policy log-probs")?,
            reference_chosen,
            reference_rejected,
        };
        Ok((loss, stats))
    }
}
