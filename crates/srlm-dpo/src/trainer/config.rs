//! The settings of a training run.

use serde::{Deserialize, Serialize};

use srlm_model::LoraConfig;

use crate::error::{Result, TrainError};
use crate::optim::AdamWConfig;

/// Settings of a training run (defaults: the paper's SFT; see [`TrainConfig::paper_dpo`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Peak learning rate.
    pub peak_lr: f64,
    /// Final learning rate.
    pub final_lr: f64,
    /// Warm-up steps.
    pub warmup_steps: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Stop after this many optimizer steps (before the epochs end).
    pub max_steps: Option<usize>,
    /// Examples (or pairs) per optimizer step (the paper: 16).
    pub batch_size: usize,
    /// Padded tokens per micro-batch; a batch is accumulated over as many as it needs.
    pub micro_batch_tokens: usize,
    /// AdamW.
    pub adamw: AdamWConfig,
    /// Clip the global gradient norm to this (`None`: no clipping).
    pub max_grad_norm: Option<f64>,
    /// Dropout on the residual stream during training (the paper: 0.1).
    pub dropout: f64,
    /// Seed of shuffling and dropout.
    pub seed: u64,
    /// Evaluate every this many steps (and at the end), when an evaluation set is given.
    pub eval_every: Option<usize>,
    /// Checkpoint every this many steps; the end is always checkpointed.
    pub checkpoint_every: Option<usize>,
    /// Checkpoints kept (oldest removed first).
    pub keep_checkpoints: usize,
    /// Steps whose loss or gradient norm is not finite that may be skipped (no update, counted
    /// in `metrics.jsonl` as `skipped`) before the run stops; 0 (the default) stops at the first.
    #[serde(default)]
    pub max_skipped_steps: usize,
    /// Train LoRA adapters on a frozen model instead of every weight (`None`: full
    /// fine-tuning). The trained model is the adapters merged into the weights; checkpoints
    /// hold only the adapters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lora: Option<LoraConfig>,
    /// Layer checkpointing: keep only each decoder layer's input in the forward pass and
    /// recompute the layer in the backward pass (one more forward pass, the activations of one
    /// layer alive at a time). Needs dropout 0.
    #[serde(default)]
    pub checkpointing: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            peak_lr: 5.5e-6,
            final_lr: 1.1e-6,
            warmup_steps: 0,
            epochs: 1,
            max_steps: None,
            batch_size: 16,
            micro_batch_tokens: 4096,
            adamw: AdamWConfig::default(),
            max_grad_norm: Some(1.0),
            dropout: 0.1,
            seed: 0,
            eval_every: None,
            checkpoint_every: None,
            keep_checkpoints: 2,
            max_skipped_steps: 0,
            lora: None,
            checkpointing: false,
        }
    }
}

impl TrainConfig {
    /// The paper's DPO settings: 1e-6 → 1e-7, batch 16, dropout 0.1.
    pub fn paper_dpo() -> Self {
        TrainConfig {
            peak_lr: 1e-6,
            final_lr: 1e-7,
            ..TrainConfig::default()
        }
    }

    /// Optimizer steps per pass over `items` items.
    pub fn steps_per_epoch(&self, items: usize) -> usize {
        items.div_ceil(self.batch_size.max(1))
    }

    /// Optimizer steps a run over `items` items takes: the epochs' steps, capped by
    /// `max_steps`.
    pub fn total_steps(&self, items: usize) -> usize {
        (self.steps_per_epoch(items) * self.epochs).min(self.max_steps.unwrap_or(usize::MAX))
    }

    /// Checks every setting: sizes at least 1, learning rates finite (the peak positive),
    /// a gradient-norm limit positive and finite (a negative one would turn clipping into
    /// gradient ascent, zero would zero every update), dropout in [0, 1), AdamW's betas in
    /// [0, 1), ε positive, weight decay not negative, LoRA's settings, no dropout under layer
    /// checkpointing.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.batch_size == 0 || self.epochs == 0 || self.micro_batch_tokens == 0 {
            return bad("batch_size, epochs and micro_batch_tokens must be at least 1".into());
        }
        if self.max_steps == Some(0) {
            return bad("max_steps must be at least 1 (leave it out for no limit)".into());
        }
        let finite_positive = |v: f64| v.is_finite() && v > 0.0;
        if !(finite_positive(self.peak_lr) && self.final_lr.is_finite() && self.final_lr >= 0.0) {
            return bad(format!(
                "learning rates {} → {} must be finite, the peak positive",
                self.peak_lr, self.final_lr
            ));
        }
        if let Some(norm) = self.max_grad_norm.filter(|n| !finite_positive(*n)) {
            return bad(format!(
                "max_grad_norm must be positive and finite, got {norm} (leave it out for no clipping)"
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout {} is outside [0, 1)", self.dropout));
        }
        let a = &self.adamw;
        if !((0.0..1.0).contains(&a.beta1) && (0.0..1.0).contains(&a.beta2)) {
            return bad(format!(
                "adamw betas must be in [0, 1), got {} and {}",
                a.beta1, a.beta2
            ));
        }
        if !(finite_positive(a.eps) && a.weight_decay.is_finite() && a.weight_decay >= 0.0) {
            return bad(format!(
                "adamw eps must be positive and weight_decay not negative, got {} and {}",
                a.eps, a.weight_decay
            ));
        }
        if self.eval_every == Some(0) || self.checkpoint_every == Some(0) {
            return bad("eval_every and checkpoint_every must be at least 1".into());
        }
        if let Some(lora) = &self.lora {
            lora.validate()
                .map_err(|e| TrainError::Config(e.to_string()))?;
        }
        let lora_dropout = self.lora.as_ref().map_or(0.0, |l| l.dropout);
        if self.checkpointing && (self.dropout > 0.0 || lora_dropout > 0.0) {
            return bad(format!(
                "layer checkpointing needs dropout 0 (the recomputed layers would draw other masks), got dropout {} and LoRA dropout {lora_dropout}",
                self.dropout
            ));
        }
        Ok(())
    }
}
