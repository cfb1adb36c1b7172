//! What a training step minimises. An [`Objective`] is an indexed set of items (examples or
//! pairs) that computes the loss of any micro-batch of them as its share of the loss of the
//! whole accumulated batch, so micro-batch losses add up; it reports its own host statistics
//! ([`Objective::Stats`], summed over a step's micro-batches) and turns them into its own
//! metrics ([`Objective::Metrics`], written beside the step's loss in `metrics.jsonl`).
//!
//! The trainer knows nothing else about it. SFT ([`SftObjective`]) implements it directly; the
//! preference objectives are one [`PreferenceObjective`] over a [`PairLoss`] — DPO against a
//! frozen reference ([`DpoObjective`]), the reference-free SimPO ([`SimpoObjective`]) and ORPO
//! ([`OrpoObjective`]) — so a new pair loss is one `PairLoss` impl, and an objective of another
//! shape (KTO's unpaired examples, say) one `Objective` impl: no change to the trainer.

mod dpo;
mod identity;
mod pairs;
mod reference_free;
mod sft;

use std::fmt::Debug;

use burn::tensor::Tensor;
use serde::de::DeserializeOwned;
use serde::Serialize;
use srlm_model::{burn, Llama};

use crate::error::Result;

pub use dpo::{DpoLoss, DpoObjective};
pub(crate) use identity::differing_fields;
pub use pairs::{pair_logprobs, PairLoss, PairStats, PolicyPairs, PreferenceObjective};
pub use reference_free::{OrpoObjective, SimpoObjective};
pub use sft::{SftMetrics, SftObjective, SftStats};

/// Host values one micro-batch reports besides its loss, added up over a step's micro-batches
/// (and over an evaluation set).
pub trait StepStats: Default {
    /// Tokens the micro-batches held (prompt + response, all rows).
    fn tokens(&self) -> usize;
    /// Adds `other`'s values to these (micro-batch order kept).
    fn merge(&mut self, other: Self);
}

/// Totals of a whole (accumulated) batch that each micro-batch's loss is divided by, so that the
/// micro-batch losses add up to exactly the loss of the batch taken at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchTotals {
    /// Items (examples or pairs) in the batch.
    pub items: usize,
    /// Response tokens in the batch (SFT: all responses; preference losses: the chosen ones).
    pub response_tokens: usize,
}

/// A training objective over an indexed set of items.
pub trait Objective {
    /// What a micro-batch reports besides its loss.
    type Stats: StepStats;
    /// The objective's metrics of a step (flattened into the step's line of `metrics.jsonl`).
    /// (`Default`: the metrics of a step skipped for a non-finite loss.)
    type Metrics: Clone + Debug + Default + PartialEq + Serialize + DeserializeOwned;

    /// Number of items.
    fn len(&self) -> usize;
    /// Whether there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Padded-size weight of item `i` for token-budget batching.
    fn tokens(&self, i: usize) -> usize;
    /// Tokens of item `i`'s forward pass (for the memory plan; [`Objective::tokens`] unless
    /// the item runs in fewer).
    fn forward_tokens(&self, i: usize) -> usize {
        self.tokens(i)
    }
    /// The totals of a whole batch.
    fn totals(&self, batch: &[usize]) -> BatchTotals;
    /// The loss of micro-batch `items` as its share of the loss of the whole batch whose totals
    /// are `batch`, a scalar `[1]`, and the micro-batch's statistics.
    fn loss(
        &self,
        model: &Llama,
        items: &[usize],
        batch: BatchTotals,
    ) -> Result<(Tensor<1>, Self::Stats)>;
    /// The metrics of a batch whose loss is `loss` and whose micro-batches reported `stats`.
    fn metrics(&self, loss: f64, stats: &Self::Stats) -> Self::Metrics;
    /// What the objective is: its name and settings and a fingerprint of its items (and of
    /// anything else it trains against, such as a reference's log-probs). Checkpoints record
    /// it; a run resumes only into an objective with the same identity.
    fn identity(&self) -> serde_json::Value;
}
