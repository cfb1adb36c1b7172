//! Checkpoints: `OUT/checkpoints/step-N/` holds the weights (`model.safetensors`; with LoRA
//! only the adapters, `adapter_model.safetensors` in PEFT's naming), AdamW's
//! moments (`optimizer.safetensors`) and what the run was (`trainer.json`). A checkpoint is
//! written into a temporary folder and renamed into place, so the newest complete one is what
//! a resumed run finds.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use srlm_model::lora::peft;
use srlm_model::{
    burn::tensor::Device, read_safetensors, rename_durable, write_atomic, write_safetensors, Llama,
    LlamaConfig, WeightMap,
};

use super::config::TrainConfig;
use crate::error::{Result, TrainError};
use crate::optim::AdamW;

/// What a checkpoint records besides the weights and the optimizer's moments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Optimizer steps done.
    pub step: usize,
    /// AdamW's step count (for its bias correction).
    pub adam_steps: u64,
    /// The run's settings: a run resumes only with the same ones.
    pub config: TrainConfig,
    /// Items in the training set: a run resumes only on a set of the same size.
    pub items: usize,
    /// The objective's identity ([`crate::Objective::identity`]): a run resumes only into the
    /// same objective, settings and data (`None` in checkpoints older than the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<serde_json::Value>,
    /// Steps skipped so far for a non-finite loss or gradient norm.
    #[serde(default)]
    pub skipped_steps: usize,
}

/// One checkpoint folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// `OUT/checkpoints/step-N`.
    pub dir: PathBuf,
    /// Its `trainer.json`.
    pub state: CheckpointState,
}

fn checkpoints_dir(out_dir: &Path) -> PathBuf {
    out_dir.join("checkpoints")
}

/// The step numbers of the `step-N` folders under `root`.
fn step_folders(root: &Path) -> Result<Vec<(usize, PathBuf)>> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TrainError::io(root, e)),
    };
    let mut steps: Vec<(usize, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let step = name.strip_prefix("step-")?.parse().ok()?;
            Some((step, entry.path()))
        })
        .collect();
    steps.sort_unstable_by_key(|(step, _)| *step);
    Ok(steps)
}

impl Checkpoint {
    /// The newest complete checkpoint of the run in `out_dir`, if any.
    pub fn latest(out_dir: &Path) -> Result<Option<Checkpoint>> {
        let newest = step_folders(&checkpoints_dir(out_dir))?
            .into_iter()
            .rev()
            .find(|(_, dir)| dir.join("trainer.json").exists());
        let Some((_, dir)) = newest else {
            return Ok(None);
        };
        let file = dir.join("trainer.json");
        let text = std::fs::read_to_string(&file).map_err(|e| TrainError::io(&file, e))?;
        let state = serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint {
            path: file.clone(),
            reason: e.to_string(),
        })?;
        Ok(Some(Checkpoint { dir, state }))
    }

    /// Writes `model` and `optim` at `state.step` into `out_dir/checkpoints/`, then removes all
    /// but the newest `state.config.keep_checkpoints` (at least one).
    pub fn save(
        out_dir: &Path,
        model: &Llama,
        optim: &AdamW,
        state: CheckpointState,
    ) -> Result<Checkpoint> {
        let root = checkpoints_dir(out_dir);
        let tmp = root.join(format!(".step-{}.tmp", state.step));
        let dest = root.join(format!("step-{}", state.step));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
        if model.lora_parameters() > 0 {
            write_safetensors(&tmp.join(peft::WEIGHTS_FILE), &model.lora_weights()?)?;
        } else {
            write_safetensors(&tmp.join("model.safetensors"), &model.to_weights()?)?;
        }
        optim.write(&tmp.join("optimizer.safetensors"))?;
        let text =
            serde_json::to_string_pretty(&state).map_err(|e| TrainError::Config(e.to_string()))?;
        write_atomic(&tmp.join("trainer.json"), text.as_bytes())?;
        if dest.exists() {
            std::fs::remove_dir_all(&dest).map_err(|e| TrainError::io(&dest, e))?;
        }
        rename_durable(&tmp, &dest)?;
        let steps = step_folders(&root)?;
        let excess = steps
            .len()
            .saturating_sub(state.config.keep_checkpoints.max(1));
        for (_, old) in &steps[..excess] {
            std::fs::remove_dir_all(old).map_err(|e| TrainError::io(old, e))?;
        }
        Ok(Checkpoint { dir: dest, state })
    }

    /// The checkpoint's network (of shape `model_config`, on the autodiff `device`; with LoRA,
    /// the saved adapters on `base`, the model the run started from) and AdamW.
    pub fn restore(
        &self,
        base: Llama,
        model_config: &LlamaConfig,
        device: &Device,
    ) -> Result<(Llama, AdamW)> {
        let model = match &self.state.config.lora {
            Some(lora) => {
                let file = self.dir.join(peft::WEIGHTS_FILE);
                let mut weights = WeightMap::new(file.display().to_string());
                read_safetensors(&file, &mut weights)?;
                base.with_lora_weights(lora, &mut weights)?
            }
            None => {
                let mut weights = WeightMap::new(self.dir.display().to_string());
                read_safetensors(&self.dir.join("model.safetensors"), &mut weights)?;
                Llama::from_weights(model_config, &mut weights, device)?
            }
        };
        let file = self.dir.join("optimizer.safetensors");
        let mut moments = WeightMap::new(file.display().to_string());
        read_safetensors(&file, &mut moments)?;
        let optim = AdamW::from_weights(
            self.state.config.adamw,
            self.state.adam_steps,
            &moments,
            &device.clone().inner(),
        )?;
        Ok((model, optim))
    }
}
