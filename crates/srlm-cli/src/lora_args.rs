//! The LoRA flags `srlm sft`, `srlm dpo` and `srlm plan` share.

use anyhow::Result;
use clap::Args;
use srlm::model::{LoraConfig, LoraTarget};

/// `--lora R` and its settings.
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
        Ok(Some(lora))
    }
}
