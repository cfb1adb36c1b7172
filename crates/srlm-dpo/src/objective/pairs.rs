//! What every preference objective shares: the pairs, the policy's summed log-probs of a
//! micro-batch of them (one forward pass, each pair's shared prompt run once), the host values
//! reported — and the seam a new pair loss plugs into ([`PairLoss`]).

use std::fmt::Debug;

use burn::tensor::{Device, Tensor, TensorData};
use serde::de::DeserializeOwned;
use serde::Serialize;
use srlm_data::{preference_batch, shared_preference_batch, EncodedPair};
use srlm_model::{burn, read_f32, response_logprobs, shared_prompt_logprobs, Llama};

use super::{BatchTotals, Objective, StepStats};
use crate::error::Result;

/// A loss over preference pairs, given the policy's side of a micro-batch: DPO
/// ([`crate::DpoLoss`]), SimPO ([`crate::SimpoConfig`]), ORPO ([`crate::OrpoConfig`]), or yours.
/// [`PreferenceObjective`] does the batching and the forward pass.
pub trait PairLoss {
    /// The loss's metrics of a step.
    type Metrics: Clone + Debug + Default + PartialEq + Serialize + DeserializeOwned;
    /// The loss of pairs `items` (whose policy log-probs are `policy`) as their share of the
    /// loss of the batch whose totals are `batch`, a scalar `[1]`, and the micro-batch's
    /// statistics (`policy.stats`, with whatever the loss adds).
    fn loss(
        &self,
        policy: PolicyPairs,
        items: &[usize],
        batch: BatchTotals,
    ) -> Result<(Tensor<1>, PairStats)>;
    /// The metrics of a batch whose loss is `loss` and whose micro-batches reported `stats`.
    fn metrics(&self, loss: f64, stats: &PairStats) -> Self::Metrics;
    /// The loss's name and settings (and what else it trains against), for checkpoints.
    fn identity(&self) -> serde_json::Value;
}

/// A preference loss over encoded pairs: the [`Objective`] every [`PairLoss`] trains through.
#[derive(Debug, Clone)]
pub struct PreferenceObjective<L> {
    /// The encoded pairs.
    pub pairs: Vec<EncodedPair>,
    /// The loss (with its settings and, for DPO, the reference's log-probs).
    pub loss: L,
    /// Padding id.
    pub pad_id: u32,
}

impl<L: PairLoss> Objective for PreferenceObjective<L> {
    type Stats = PairStats;
    type Metrics = L::Metrics;

    fn len(&self) -> usize {
        self.pairs.len()
    }

    fn tokens(&self, i: usize) -> usize {
        2 * self.pairs[i].chosen.len().max(self.pairs[i].rejected.len())
    }

    fn forward_tokens(&self, i: usize) -> usize {
        let pair = &self.pairs[i];
        if pair.chosen.prompt == pair.rejected.prompt {
            // `prompt ++ chosen ++ rejected`, the prompt run once.
            pair.chosen.len() + pair.rejected.response.len()
        } else {
            self.tokens(i)
        }
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

    fn loss(
        &self,
        model: &Llama,
        items: &[usize],
        batch: BatchTotals,
    ) -> Result<(Tensor<1>, PairStats)> {
        let policy = PolicyPairs::forward(model, &self.pairs, items, self.pad_id)?;
        self.loss.loss(policy, items, batch)
    }

    fn metrics(&self, loss: f64, stats: &PairStats) -> L::Metrics {
        self.loss.metrics(loss, stats)
    }

    fn identity(&self) -> serde_json::Value {
        serde_json::json!({
            "loss": self.loss.identity(),
            "pairs": crate::reference::data_hash(&self.pairs),
        })
    }
}

/// Host values of a micro-batch of pairs, per pair in micro-batch order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairStats {
    /// Tokens in the micro-batch (prompt + response, both sides).
    pub tokens: usize,
    /// Policy summed log-probs of the chosen responses.
    pub policy_chosen: Vec<f32>,
    /// Policy summed log-probs of the rejected responses.
    pub policy_rejected: Vec<f32>,
    /// Reference summed log-probs of the chosen responses (empty without a reference).
    pub reference_chosen: Vec<f32>,
    /// Reference summed log-probs of the rejected responses (empty without a reference).
    pub reference_rejected: Vec<f32>,
    /// Response tokens of each chosen side (end-of-turn token included).
    pub chosen_tokens: Vec<f32>,
    /// Response tokens of each rejected side.
    pub rejected_tokens: Vec<f32>,
}

impl StepStats for PairStats {
    fn tokens(&self) -> usize {
        self.tokens
    }

    fn merge(&mut self, other: Self) {
        self.tokens += other.tokens;
        self.policy_chosen.extend(other.policy_chosen);
        self.policy_rejected.extend(other.policy_rejected);
        self.reference_chosen.extend(other.reference_chosen);
        self.reference_rejected.extend(other.reference_rejected);
        self.chosen_tokens.extend(other.chosen_tokens);
        self.rejected_tokens.extend(other.rejected_tokens);
    }
}

/// The policy's side of a micro-batch of pairs: differentiable summed log-probs `[n]` and the
/// response lengths as (constant) tensors, with the host statistics (reference columns empty).
#[derive(Debug)]
pub struct PolicyPairs {
    /// Summed log-probs of the chosen responses, `[n]`.
    pub chosen: Tensor<1>,
    /// Summed log-probs of the rejected responses, `[n]`.
    pub rejected: Tensor<1>,
    /// Response tokens of each chosen side, `[n]`.
    pub chosen_tokens: Tensor<1>,
    /// Response tokens of each rejected side, `[n]`.
    pub rejected_tokens: Tensor<1>,
    /// The host values.
    pub stats: PairStats,
}

impl PolicyPairs {
    /// One forward pass over the chosen and rejected rows of pairs `items`.
    pub fn forward(
        model: &Llama,
        pairs: &[EncodedPair],
        items: &[usize],
        pad_id: u32,
    ) -> Result<Self> {
        let refs: Vec<&EncodedPair> = items.iter().map(|&i| &pairs[i]).collect();
        let (chosen, rejected) = pair_logprobs(model, &refs, pad_id)?;
        let chosen_tokens: Vec<f32> = refs
            .iter()
            .map(|p| p.chosen.response.len() as f32)
            .collect();
        let rejected_tokens: Vec<f32> = refs
            .iter()
            .map(|p| p.rejected.response.len() as f32)
            .collect();
        let device = model.device();
        let stats = PairStats {
            tokens: refs.iter().map(|p| p.chosen.len() + p.rejected.len()).sum(),
            policy_chosen: read_f32(chosen.clone().detach(), "policy log-probs")?,
            policy_rejected: read_f32(rejected.clone().detach(), "policy log-probs")?,
            reference_chosen: Vec::new(),
            reference_rejected: Vec::new(),
            chosen_tokens: chosen_tokens.clone(),
            rejected_tokens: rejected_tokens.clone(),
        };
        Ok(PolicyPairs {
            chosen,
            rejected,
            chosen_tokens: column(chosen_tokens, &device),
            rejected_tokens: column(rejected_tokens, &device),
            stats,
        })
    }
}

/// Summed log-probs of the chosen and of the rejected sides of `pairs`, `[n]` each, in one
/// forward pass. Where every pair's sides share their prompt (as the loop's pairs do), each row
/// is `prompt ++ chosen ++ rejected` and the prompt runs once ([`shared_preference_batch`]);
/// otherwise the chosen rows, then the rejected rows ([`preference_batch`]). Both give the same
/// values, up to the order of floating-point sums.
pub fn pair_logprobs(
    model: &Llama,
    pairs: &[&EncodedPair],
    pad_id: u32,
) -> Result<(Tensor<1>, Tensor<1>)> {
    let n = pairs.len();
    if let Some(batch) = shared_preference_batch(pairs, pad_id)? {
        let both = shared_prompt_logprobs(model, &batch)?.reshape([n, 2]);
        return Ok((
            both.clone().narrow(1, 0, 1).reshape([n]),
            both.narrow(1, 1, 1).reshape([n]),
        ));
    }
    let summed = response_logprobs(model, &preference_batch(pairs, pad_id)?)?;
    Ok((summed.clone().narrow(0, 0, n), summed.narrow(0, n, n)))
}

/// A host column `[n]` as a tensor (a constant: no gradient flows into it).
pub(crate) fn column(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = values.len();
    Tensor::<1>::from_data(TensorData::new(values, [n]), device)
}

impl PolicyPairs {
    /// Length-averaged log-probs `(a_c, a_r) = (π_c / |c|, π_r / |r|)`, `[n]` each.
    pub fn averages(&self) -> (Tensor<1>, Tensor<1>) {
        (
            self.chosen.clone() / self.chosen_tokens.clone().clamp_min(1.0),
            self.rejected.clone() / self.rejected_tokens.clone().clamp_min(1.0),
        )
    }
}
