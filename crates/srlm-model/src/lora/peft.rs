//! PEFT's adapter format, in and out: a folder with `adapter_config.json` (`r`, `lora_alpha`,
//! `target_modules`, `use_rslora`, `lora_dropout`, …) and `adapter_model.safetensors`, whose
//! tensors are named `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight` and
//! laid out as PyTorch's: `lora_A` `[r, in]`, `lora_B` `[out, r]` (burn's factors are their
//! transposes). vLLM's `--enable-lora` and `PeftModel.from_pretrained` read such a folder.

use std::path::Path;

use serde_json::{json, Value};

use super::{Factors, LoraConfig, LoraDtype, LoraTarget};
use crate::error::{ModelError, Result};
use crate::hf::{read_safetensors, write_safetensors};
use crate::llama::Llama;
use crate::weights::{read_f32, HostTensor, WeightMap};

/// The adapter's settings file in a PEFT folder.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// The adapter's tensors in a PEFT folder.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";

/// PEFT's name of factor `which` (`lora_A`, `lora_B`) of `target` in layer `layer`.
pub fn tensor_name(layer: usize, target: LoraTarget, which: &str) -> String {
    format!(
        "base_model.model.model.layers.{layer}.{}.{which}.weight",
        target.path()
    )
}

impl Llama {
    /// The adapters' factors in PEFT's naming and layout (empty without adapters).
    pub fn lora_weights(&self) -> Result<WeightMap> {
        let mut map = WeightMap::new("<adapters>");
        for layer in 0..self.num_layers() {
            for target in LoraTarget::ALL {
                let Some(adapter) = self.projection(layer, target).weight.adapter() else {
                    continue;
                };
                for (which, factor) in [("lora_A", adapter.a.val()), ("lora_B", adapter.b.val())] {
                    let name = tensor_name(layer, target, which);
                    let t = factor.transpose();
                    let shape = t.dims().to_vec();
                    let data = read_f32(t, &name)?;
                    map.insert(name, HostTensor { shape, data });
                }
            }
        }
        Ok(map)
    }

    /// This model with the adapters `weights` holds (PEFT naming and layout) on `config`'s
    /// targets, everything else frozen. Every target of every layer must be there with the
    /// shapes the model implies, and nothing else: a missing, misshapen or unexpected tensor is
    /// an error naming it and `weights.source`.
    pub fn with_lora_weights(self, config: &LoraConfig, weights: &mut WeightMap) -> Result<Llama> {
        config.validate()?;
        weights.check_finite()?;
        let device = self.device();
        let source = weights.source.clone();
        let shaped = |e: ModelError| {
            match e {
            ModelError::ShapeMismatch {
                tensor,
                expected,
                actual,
            } => ModelError::Config {
                path: source.clone().into(),
                reason: format!(
                    "tensor `{tensor}` has shape {actual:?}, but rank {} on this model implies {expected:?}",
                    config.rank
                ),
            },
            other => other,
        }
        };
        let model = self.attach(config, |layer, target, linear| {
            let [d_in, d_out] = linear.weight.dims();
            let a = weights
                .take(&tensor_name(layer, target, "lora_A"), &[config.rank, d_in])
                .map_err(shaped)?;
            let b = weights
                .take(&tensor_name(layer, target, "lora_B"), &[d_out, config.rank])
                .map_err(shaped)?;
            Ok(Factors {
                a: a.transposed().to_matrix(&device),
                b: b.transposed().to_matrix(&device),
            })
        })?;
        if let Some(extra) = weights.tensors.keys().next() {
            return Err(ModelError::Config {
                path: source.into(),
                reason: format!(
                    "tensor `{extra}` is not an adapter of this model's targets ({}) in its {} layers",
                    names(&config.targets),
                    model.num_layers()
                ),
            });
        }
        Ok(model)
    }
}

fn names(targets: &[LoraTarget]) -> String {
    let names: Vec<&str> = targets.iter().map(|t| t.name()).collect();
    names.join(", ")
}

/// Writes `model`'s adapters into `dir` as PEFT does (`adapter_config.json`,
/// `adapter_model.safetensors`), naming `base_model`, where known, as the model they adapt.
pub fn save_adapter(
    dir: &Path,
    model: &Llama,
    config: &LoraConfig,
    base_model: Option<&str>,
) -> Result<()> {
    let weights = model.lora_weights()?;
    if weights.tensors.is_empty() {
        return Err(ModelError::InvalidInput(
            "the model has no LoRA adapters to save".into(),
        ));
    }
    write_adapter(dir, config, &weights, base_model)
}

/// Writes adapters given as PEFT-named tensors (`weights`, e.g. from
/// [`stack_adapters`](super::stack_adapters)) into `dir` as PEFT does.
pub fn write_adapter(
    dir: &Path,
    config: &LoraConfig,
    weights: &WeightMap,
    base_model: Option<&str>,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let settings = json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": config.rank,
        "lora_alpha": config.alpha,
        "target_modules": config.targets.iter().map(|t| t.name()).collect::<Vec<_>>(),
        "lora_dropout": config.dropout,
        "use_rslora": config.rslora,
        "bias": "none",
        "fan_in_fan_out": false,
        "inference_mode": true,
        "init_lora_weights": true,
        "modules_to_save": null,
        "layers_to_transform": null,
        "use_dora": false,
    });
    let text = serde_json::to_string_pretty(&settings)
        .map_err(|e| ModelError::InvalidInput(e.to_string()))?;
    write_safetensors(&dir.join(WEIGHTS_FILE), weights)?;
    crate::atomic::write_atomic(&dir.join(CONFIG_FILE), text.as_bytes())
}

/// Reads a PEFT adapter folder: its settings and its tensors (PEFT naming and layout), for
/// [`Llama::with_lora_weights`]. Settings srlm cannot honour (DoRA, biases, `modules_to_save`,
/// per-layer ranks, `fan_in_fan_out`, a regex of targets) are an error naming the file.
pub fn load_adapter(dir: &Path) -> Result<(LoraConfig, WeightMap)> {
    let config = read_config(&dir.join(CONFIG_FILE))?;
    let file = dir.join(WEIGHTS_FILE);
    let mut weights = WeightMap::new(file.display().to_string());
    read_safetensors(&file, &mut weights)?;
    Ok((config, weights))
}

/// The [`LoraConfig`] of a PEFT `adapter_config.json`.
pub fn read_config(path: &Path) -> Result<LoraConfig> {
    let bad = |reason: String| ModelError::Config {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let field = |name: &str| value.get(name).filter(|v| !v.is_null());
    if let Some(kind) = field("peft_type").and_then(Value::as_str) {
        if kind != "LORA" {
            return Err(bad(format!("peft_type {kind:?} is not LORA")));
        }
    }
    let rank = match field("r") {
        None => 8,
        Some(r) => {
            r.as_u64()
                .ok_or_else(|| bad(format!("`r` {r} is not a whole number")))? as usize
        }
    };
    let alpha = match field("lora_alpha") {
        None => 8.0,
        Some(a) => a
            .as_f64()
            .ok_or_else(|| bad(format!("`lora_alpha` {a} is not a number")))?,
    };
    let targets = match field("target_modules") {
        None => return Err(bad("`target_modules` is missing".into())),
        Some(Value::String(s)) if s == "all-linear" => LoraTarget::ALL.to_vec(),
        Some(Value::String(s)) => {
            return Err(bad(format!(
                "`target_modules` {s:?} is a pattern; srlm reads a list of module names"
            )))
        }
        Some(Value::Array(list)) => {
            let mut targets = Vec::new();
            for item in list {
                let name = item
                    .as_str()
                    .ok_or_else(|| bad(format!("target {item} is not a module name")))?;
                targets.push(LoraTarget::parse(name).map_err(|e| bad(e.to_string()))?);
            }
            targets.sort();
            targets
        }
        Some(other) => return Err(bad(format!("`target_modules` {other} is not a list"))),
    };
    for (name, unsupported) in [
        (
            "use_dora",
            field("use_dora").is_some_and(|v| v != &json!(false)),
        ),
        (
            "fan_in_fan_out",
            field("fan_in_fan_out").is_some_and(|v| v != &json!(false)),
        ),
        ("bias", field("bias").is_some_and(|v| v != &json!("none"))),
        (
            "modules_to_save",
            field("modules_to_save").is_some_and(|v| v != &json!([])),
        ),
        (
            "layers_to_transform",
            field("layers_to_transform").is_some(),
        ),
        (
            "rank_pattern",
            field("rank_pattern").is_some_and(|v| v != &json!({})),
        ),
        (
            "alpha_pattern",
            field("alpha_pattern").is_some_and(|v| v != &json!({})),
        ),
    ] {
        if unsupported {
            return Err(bad(format!(
                "`{name}` = {} is not supported",
                field(name).cloned().unwrap_or(Value::Null)
            )));
        }
    }
    let config = LoraConfig {
        rank,
        alpha,
        targets,
        rslora: field("use_rslora")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        dropout: field("lora_dropout").and_then(Value::as_f64).unwrap_or(0.0),
        // PEFT records no dtype: the base is the model's as loaded.
        base_dtype: LoraDtype::F32,
        compute_dtype: LoraDtype::F32,
    };
    config.validate().map_err(|e| bad(e.to_string()))?;
    Ok(config)
}
