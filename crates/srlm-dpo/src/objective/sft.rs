//! Supervised fine-tuning: cross-entropy over response tokens (and the end-of-turn token).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use srlm_data::{sft_batch, EncodedExample};
use srlm_model::{burn, response_logprobs, Llama};

use super::{BatchTotals, Objective, StepStats};
use crate::error::Result;
use crate::loss::sft_loss;

/// Supervised fine-tuning: cross-entropy over response tokens (and the end-of-turn token).
#[derive(Debug, Clone)]
pub struct SftObjective {
    /// The encoded examples.
    pub examples: Vec<EncodedExample>,
    /// Padding id.
    pub pad_id: u32,
}

/// What an SFT micro-batch reports: its size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SftStats {
    /// Tokens (prompt + response, all rows).
    pub tokens: usize,
}

impl StepStats for SftStats {
    fn tokens(&self) -> usize {
        self.tokens
    }

    fn merge(&mut self, other: Self) {
        self.tokens += other.tokens;
    }
}

/// SFT has no metrics beyond the step's loss (the mean response-token cross-entropy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SftMetrics {}

impl Objective for SftObjective {
    type Stats = SftStats;
    type Metrics = SftMetrics;

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
    ) -> Result<(Tensor<1>, SftStats)> {
        let refs: Vec<&EncodedExample> = items.iter().map(|&i| &self.examples[i]).collect();
        let batch = sft_batch(&refs, self.pad_id)?;
        let stats = SftStats {
            tokens: refs.iter().map(|e| e.len()).sum(),
        };
        let summed = response_logprobs(model, &batch)?;
        Ok((sft_loss(summed, batch_totals.response_tokens), stats))
    }

    fn metrics(&self, _loss: f64, _stats: &SftStats) -> SftMetrics {
        SftMetrics {}
    }

    fn identity(&self) -> serde_json::Value {
        serde_json::json!({
            "objective": "sft",
            "examples": crate::reference::examples_hash(&self.examples),
        })
    }
}
