//! The flags that size a training step's memory, which `srlm sft`, `srlm dpo` and `srlm plan`
//! share: batch, micro-batch, dropout, LoRA, layer checkpointing.

use anyhow::Result;
use clap::Args;
use srlm::dpo::TrainConfig;
use srlm::model::{LoraConfig, LoraDtype, LoraTarget};

/// The step's size and how it trains.
#[derive(Args)]
pub(crate) struct StepArgs {
    /// Examples (pairs) per optimizer step.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Padded tokens per micro-batch (gradients are accumulated over micro-batches).
    #[arg(long, default_value_t = 4096)]
    micro_batch_tokens: usize,
    /// Dropout on the residual stream while training.
    #[arg(long, default_value_t = 0.1)]
    dropout: f64,
    #[command(flatten)]
    lora: LoraArgs,
    /// Layer checkpointing: keep only each layer's input, recompute the layer in the backward
    /// pass (less memory, one more forward pass; needs --dropout 0).
    #[arg(long)]
    checkpointing: bool,
}

impl StepArgs {
    /// `config` with these settings.
    pub(crate) fn apply(&self, mut config: TrainConfig) -> Result<TrainConfig> {
        config.batch_size = self.batch_size;
        config.micro_batch_tokens = self.micro_batch_tokens;
        config.dropout = self.dropout;
        config.lora = self.lora.config()?;
        config.checkpointing = self.checkpointing;
        Ok(config)
    }
}

/// `--lora R` and its settings (`srlm sft`, `srlm dpo`, `srlm plan`, `srlm bench`).
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct LoraArgs {
    /// Train LoRA adapters of this rank on a frozen model instead of every weight; the saved
    /// model has them merged in, and OUT/adapter/ holds them in PEFT's format.
    #[arg(long, value_name = "RANK")]
    lora: Option<usize>,
    /// LoRA's alpha (scale alpha / rank; default 2 · rank).
    #[arg(long, requires = "lora")]
    lora_alpha: Option<f64>,
    /// The projections LoRA adapts (default: all seven).
    #[arg(
        long,
        requires = "lora",
        value_delimiter = ',',
        value_name = "q_proj,..."
    )]
    lora_targets: Vec<String>,
    /// Dropout on the adapters' input.
    #[arg(long, requires = "lora", default_value_t = 0.0)]
    lora_dropout: f64,
    /// Scale by alpha / √rank (rsLoRA).
    #[arg(long, requires = "lora")]
    rslora: bool,
    /// Store the adapted projections' frozen weights in bf16 (half their memory; their
    /// products in bf16, everything else f32).
    #[arg(long, requires = "lora", value_name = "f32|bf16")]
    lora_base: Option<String>,
    /// The activations' dtype: bf16 halves them and multiplies bf16 operands (norms, softmax,
    /// log-probs and the adapters stay f32); bf16 needs a CubeCL device (cuda, wgpu,
    /// cubecl-cpu).
    #[arg(long, requires = "lora", value_name = "f32|bf16")]
    lora_compute: Option<String>,
}

impl LoraArgs {
    /// The adapters' settings; `None` without `--lora`.
    pub(crate) fn config(&self) -> Result<Option<LoraConfig>> {
        let Some(rank) = self.lora else {
            return Ok(None);
        };
        let mut lora = LoraConfig::new(rank);
        lora.alpha = self.lora_alpha.unwrap_or(lora.alpha);
        if !self.lora_targets.is_empty() {
            lora.targets = self
                .lora_targets
                .iter()
                .map(|name| LoraTarget::parse(name.trim()))
                .collect::<std::result::Result<_, _>>()?;
        }
        lora.dropout = self.lora_dropout;
        lora.rslora = self.rslora;
        if let Some(name) = &self.lora_base {
            lora.base_dtype = LoraDtype::parse(name)?;
        }
        if let Some(name) = &self.lora_compute {
            lora.compute_dtype = LoraDtype::parse(name)?;
        }
        Ok(Some(lora))
    }

    /// The rank, if `--lora` is given.
    pub(crate) fn rank(&self) -> Option<usize> {
        self.lora
    }

    /// Whether nothing but the rank and the dtypes differ from the defaults (alpha 2 · rank, all
    /// seven projections, no dropout, no rsLoRA), and bf16 compute comes over a bf16 base: what
    /// `srlm bench --torch`'s PEFT side matches (its model in bf16 where srlm computes in bf16,
    /// else in f32).
    pub(crate) fn matches_peft_defaults(&self) -> bool {
        (!self.computes_bf16() || self.lora_base.as_deref() == Some("bf16"))
            && self.lora_alpha.is_none()
            && self.lora_targets.is_empty()
            && self.lora_dropout == 0.0
            && !self.rslora
    }

    /// Whether the activations are bf16 (`--lora-compute bf16`).
    pub(crate) fn computes_bf16(&self) -> bool {
        self.lora_compute.as_deref() == Some("bf16")
    }

    /// The flags beyond `--lora R` that give these settings again (to a child process).
    pub(crate) fn setting_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some(alpha) = self.lora_alpha {
            flags.extend(["--lora-alpha".to_string(), alpha.to_string()]);
        }
        if !self.lora_targets.is_empty() {
            flags.extend(["--lora-targets".to_string(), self.lora_targets.join(",")]);
        }
        if self.lora_dropout != 0.0 {
            flags.extend(["--lora-dropout".to_string(), self.lora_dropout.to_string()]);
        }
        if self.rslora {
            flags.push("--rslora".to_string());
        }
        if let Some(base) = &self.lora_base {
            flags.extend(["--lora-base".to_string(), base.clone()]);
        }
        if let Some(compute) = &self.lora_compute {
            flags.extend(["--lora-compute".to_string(), compute.clone()]);
        }
        flags
    }
}
