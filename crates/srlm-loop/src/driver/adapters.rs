//! With LoRA in DPO (`dpo.train.lora`), each model M(t) the run saves also holds
//! `M{t}/adapter/`: the adapters from the run's adapter base to M(t) stacked into one, in
//! PEFT's format (exact: merged adapters add). A server that loads adapters (vLLM's
//! `--enable-lora`) then serves every Mt over one base, switched by `[serve] load_adapters`.

use std::path::{Path, PathBuf};

use srlm_judge::OpenAiGenerator;
use srlm_model::lora::{peft, stack_adapters};
use srlm_model::{LoraConfig, WeightMap};

use super::serving::ServedRole;
use super::SelfRewardingRun;
use crate::error::{LoopError, Result};

/// An adapter that makes the adapter base into M(t), ready to save beside M(t).
pub(super) struct StackedAdapter {
    config: LoraConfig,
    weights: WeightMap,
    /// The model it adapts (written as `base_model_name_or_path`).
    base: PathBuf,
}

impl StackedAdapter {
    /// Writes it as `MODEL/adapter/` in PEFT's format.
    fn write(&self, model_dir: &Path) -> Result<()> {
        let base = std::path::absolute(&self.base).unwrap_or_else(|_| self.base.clone());
        peft::write_adapter(
            &model_dir.join(srlm_dpo::ADAPTER_DIR),
            &self.config,
            &self.weights,
            Some(&base.display().to_string()),
        )?;
        Ok(())
    }
}

impl SelfRewardingRun {
    /// The model every `M{t}/adapter/` adapts: M0 (`model.path`) when SFT trains adapters
    /// too, M1 otherwise; `None` when DPO trains every weight (no model is an adapter away).
    fn adapter_base(&self) -> Option<PathBuf> {
        self.config.dpo.train.lora.as_ref()?;
        Some(match self.config.sft.lora {
            Some(_) => self.config.model.path.clone(),
            None => self.dir.model(1),
        })
    }

    /// The adapters trained on the way from the adapter base to M(t), in order: SFT's (when it
    /// trained adapters) and each DPO iteration's before `t` (an iteration without pairs has
    /// none).
    fn adapter_chain(&self, t: usize) -> Vec<PathBuf> {
        let root = self.dir.root();
        let mut chain = Vec::new();
        if self.config.sft.lora.is_some() {
            chain.push(root.join("sft").join(srlm_dpo::ADAPTER_DIR));
        }
        for i in 1..t {
            let dir = root
                .join(format!("iter{i}/dpo"))
                .join(srlm_dpo::ADAPTER_DIR);
            if dir.join(peft::CONFIG_FILE).exists() {
                chain.push(dir);
            }
        }
        chain
    }

    /// Saves `model` as M(t), with its stacked adapter when the run has one for it.
    pub(super) fn save_model(
        &self,
        t: usize,
        model: &srlm_model::LanguageModel,
    ) -> Result<PathBuf> {
        let adapter = self.stacked_adapter(t, model.model.num_layers())?;
        self.dir.save_model_with(t, model, |dir| match &adapter {
            Some(adapter) => adapter.write(dir),
            None => Ok(()),
        })
    }

    /// M(t)'s stacked adapter over a model of `layers` layers, when the run has one for it.
    fn stacked_adapter(&self, t: usize, layers: usize) -> Result<Option<StackedAdapter>> {
        let Some(base) = self.adapter_base() else {
            return Ok(None);
        };
        let chain = self.adapter_chain(t);
        if chain.is_empty() {
            return Ok(None);
        }
        let adapters = chain
            .iter()
            .map(|dir| peft::load_adapter(dir))
            .collect::<srlm_model::Result<Vec<_>>>()?;
        let (config, weights) = stack_adapters(&adapters, layers)?;
        Ok(Some(StackedAdapter {
            config,
            weights,
            base,
        }))
    }
}

impl SelfRewardingRun {
    /// `[serve] load_adapters`: serves M(t) on the role's server as `M{t}/adapter/` under the
    /// role's name for t, after dropping the name it had in t − 1 (and a stale one under the
    /// same name). What was done, for the error if the server still does not serve Mt.
    pub(super) fn load_served_adapter(
        &self,
        t: usize,
        served: &ServedRole,
        client: &OpenAiGenerator,
    ) -> Result<String> {
        let dir = self.dir.model(t).join(srlm_dpo::ADAPTER_DIR);
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        if !dir.join(peft::CONFIG_FILE).exists() {
            let base = self
                .adapter_base()
                .map_or("no adapter base (dpo.train.lora is not set)".into(), |b| {
                    format!("the adapter base {}", b.display())
                });
            return Err(LoopError::Serve(format!(
                "iteration {t}, {} role: serve.load_adapters, but M{t} has no adapter ({} is absent; {base}): serve M{t} itself as `{}`",
                served.role,
                dir.display(),
                served.endpoint.model
            )));
        }
        let name = &served.endpoint.model;
        if let Some(previous) = served.previous_name.as_deref().filter(|p| p != name) {
            client.unload_lora_adapter(previous)?;
        }
        client.unload_lora_adapter(name)?;
        let path = dir.display().to_string();
        client.load_lora_adapter(name, &path)?;
        tracing::info!(iteration = t, url = %served.endpoint.base_url, %name, %path, "adapter loaded");
        Ok(format!("serve.load_adapters loaded {path} as `{name}`"))
    }
}
