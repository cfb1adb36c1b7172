//! LoRA adapters on a [`Llama`]'s projections: `y = x·W + s·(dropout(x)·A)·B` with `W` frozen,
//! `A` `[in, r]`, `B` `[r, out]` trainable and `s = alpha / r` (`alpha / √r` with rsLoRA).
//!
//! The adapters are burn's [`LoraAdapter`]s attached to the projection weights, so the
//! optimizer, autodiff and device moves see them as ordinary parameters; the forward
//! (the model's projection) never composes the dense `W + s·A·B`, so autodiff keeps no
//! weight-sized tensor and computes no weight-sized gradient. Everything else is frozen.
//! [`Llama::merge_lora`] folds the adapters into the weights (the model for the next
//! iteration); [`peft`] reads and writes them in PEFT's format; [`stack_adapters`] makes
//! adapters merged one after another into one adapter on the first model.
//!
//! The frozen weights of the adapted projections can be stored in bf16
//! ([`LoraConfig::base_dtype`]): half their memory, multiplied in bf16 (with f32 accumulation
//! on CUDA's tensor cores) while everything else — adapters, norms, softmax, log-probs, the loss
//! — stays f32. Merging adds the f32 adapters to the bf16-rounded base.
//!
//! ```
//! use srlm_model::{parse_device, LanguageModel, LoraConfig};
//!
//! # let tiny = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama3");
//! let lm = LanguageModel::load(&tiny, &parse_device("cpu")?)?;
//! let adapted = lm.model.clone().with_lora(&LoraConfig::new(4), 7)?;
//! // Two layers of r·(in + out) per projection: q 4·(64+64), k and v 4·(64+32), o 4·(64+64),
//! // gate, up and down 4·(64+96).
//! assert_eq!(adapted.lora_parameters(), 2 * (512 + 384 + 384 + 512 + 3 * 640));
//! assert_eq!(lm.model.lora_parameters(), 0);
//! let merged = adapted.merge_lora();
//! assert_eq!(merged.lora_parameters(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod peft;
mod stack;

pub use stack::stack_adapters;

use burn::module::{LoraAdapter, Module, Param, Reparameterizer};
use burn::nn::{DropoutConfig, Linear};
use burn::tensor::{DType, Distribution, FloatDType, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::llama::Llama;

/// A projection LoRA can adapt, by its Hugging Face module name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LoraTarget {
    /// `self_attn.q_proj`.
    #[serde(rename = "q_proj")]
    Query,
    /// `self_attn.k_proj`.
    #[serde(rename = "k_proj")]
    Key,
    /// `self_attn.v_proj`.
    #[serde(rename = "v_proj")]
    Value,
    /// `self_attn.o_proj`.
    #[serde(rename = "o_proj")]
    Output,
    /// `mlp.gate_proj`.
    #[serde(rename = "gate_proj")]
    Gate,
    /// `mlp.up_proj`.
    #[serde(rename = "up_proj")]
    Up,
    /// `mlp.down_proj`.
    #[serde(rename = "down_proj")]
    Down,
}

impl LoraTarget {
    /// All seven projections of a decoder layer, in Hugging Face's order.
    pub const ALL: [LoraTarget; 7] = [
        LoraTarget::Query,
        LoraTarget::Key,
        LoraTarget::Value,
        LoraTarget::Output,
        LoraTarget::Gate,
        LoraTarget::Up,
        LoraTarget::Down,
    ];

    /// The module's name (`q_proj`, …, `down_proj`), as PEFT's `target_modules` says it.
    pub fn name(self) -> &'static str {
        match self {
            LoraTarget::Query => "q_proj",
            LoraTarget::Key => "k_proj",
            LoraTarget::Value => "v_proj",
            LoraTarget::Output => "o_proj",
            LoraTarget::Gate => "gate_proj",
            LoraTarget::Up => "up_proj",
            LoraTarget::Down => "down_proj",
        }
    }

    /// The module's path inside a decoder layer (`self_attn.q_proj`, `mlp.up_proj`, …).
    pub fn path(self) -> &'static str {
        match self {
            LoraTarget::Query => "self_attn.q_proj",
            LoraTarget::Key => "self_attn.k_proj",
            LoraTarget::Value => "self_attn.v_proj",
            LoraTarget::Output => "self_attn.o_proj",
            LoraTarget::Gate => "mlp.gate_proj",
            LoraTarget::Up => "mlp.up_proj",
            LoraTarget::Down => "mlp.down_proj",
        }
    }

    /// The target named `name` (`q_proj` … `down_proj`); an error listing the known ones.
    pub fn parse(name: &str) -> Result<LoraTarget> {
        LoraTarget::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = LoraTarget::ALL.iter().map(|t| t.name()).collect();
                ModelError::InvalidInput(format!(
                    "unknown LoRA target {name:?} (known: {})",
                    known.join(", ")
                ))
            })
    }
}

/// A LoRA dtype: the one the frozen weights of the adapted projections are stored and multiplied
/// at (`LoraConfig::base_dtype`), and the one activations flow in (`LoraConfig::compute_dtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoraDtype {
    /// `f32`, as loaded.
    #[default]
    F32,
    /// `bf16`: half the memory; the projection's input is cast to bf16 for its product with the
    /// base and the product cast back to f32.
    Bf16,
}

impl LoraDtype {
    /// `f32` or `bf16`.
    pub fn name(self) -> &'static str {
        match self {
            LoraDtype::F32 => "f32",
            LoraDtype::Bf16 => "bf16",
        }
    }

    /// Bytes per stored weight.
    pub fn bytes(self) -> u64 {
        match self {
            LoraDtype::F32 => 4,
            LoraDtype::Bf16 => 2,
        }
    }

    /// Parses `f32` or `bf16`.
    pub fn parse(name: &str) -> Result<LoraDtype> {
        [LoraDtype::F32, LoraDtype::Bf16]
            .into_iter()
            .find(|dtype| dtype.name() == name)
            .ok_or_else(|| {
                ModelError::InvalidInput(format!("dtype `{name}`: expected f32 or bf16"))
            })
    }

    pub(crate) fn float(self) -> FloatDType {
        match self {
            LoraDtype::F32 => FloatDType::F32,
            LoraDtype::Bf16 => FloatDType::BF16,
        }
    }
}

/// What LoRA adapts and how (PEFT's `LoraConfig` fields of the same meaning). Read from TOML
/// or JSON, a field left out takes [`LoraConfig::new`]'s value for the rank given: `alpha` is
/// `2 · rank` unless set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "LoraSettings")]
pub struct LoraConfig {
    /// The rank `r` of `A` `[in, r]` and `B` `[r, out]` (PEFT `r`).
    pub rank: usize,
    /// The scale's numerator (PEFT `lora_alpha`).
    pub alpha: f64,
    /// The projections adapted in every layer (PEFT `target_modules`).
    pub targets: Vec<LoraTarget>,
    /// Scale by `alpha / √r` instead of `alpha / r` (PEFT `use_rslora`).
    pub rslora: bool,
    /// Dropout on the adapters' input while training (PEFT `lora_dropout`).
    pub dropout: f64,
    /// The dtype the adapted projections' frozen weights are stored at (`base_dtype`; PEFT
    /// takes the loaded model's, `torch_dtype`).
    pub base_dtype: LoraDtype,
    /// The dtype the activations flow in between the operations (`compute_dtype`): bf16 halves
    /// them and multiplies bf16 operands (f32 accumulation where the backend has it); norms,
    /// softmax, log-probs and the adapters stay f32. bf16 needs a CubeCL device (cuda, wgpu,
    /// `cubecl-cpu`): flex computes in f32.
    pub compute_dtype: LoraDtype,
}

/// [`LoraConfig`] as written, every field optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoraSettings {
    rank: Option<usize>,
    alpha: Option<f64>,
    targets: Option<Vec<LoraTarget>>,
    rslora: Option<bool>,
    dropout: Option<f64>,
    base_dtype: Option<LoraDtype>,
    compute_dtype: Option<LoraDtype>,
}

impl From<LoraSettings> for LoraConfig {
    fn from(s: LoraSettings) -> Self {
        let base = LoraConfig::new(s.rank.unwrap_or(LoraConfig::default().rank));
        LoraConfig {
            alpha: s.alpha.unwrap_or(base.alpha),
            targets: s.targets.unwrap_or(base.targets.clone()),
            rslora: s.rslora.unwrap_or(base.rslora),
            dropout: s.dropout.unwrap_or(base.dropout),
            base_dtype: s.base_dtype.unwrap_or(base.base_dtype),
            compute_dtype: s.compute_dtype.unwrap_or(base.compute_dtype),
            ..base
        }
    }
}

impl Default for LoraConfig {
    fn default() -> Self {
        LoraConfig::new(16)
    }
}

impl LoraConfig {
    /// Rank `rank` on all seven projections, `alpha = 2·rank`, no rsLoRA, no dropout, an f32
    /// base, f32 compute.
    pub fn new(rank: usize) -> Self {
        LoraConfig {
            rank,
            alpha: 2.0 * rank as f64,
            targets: LoraTarget::ALL.to_vec(),
            rslora: false,
            dropout: 0.0,
            base_dtype: LoraDtype::F32,
            compute_dtype: LoraDtype::F32,
        }
    }

    /// The factor `s` of `s·(x·A)·B`.
    pub fn scale(&self) -> f64 {
        if self.rslora {
            self.alpha / (self.rank as f64).sqrt()
        } else {
            self.alpha / self.rank as f64
        }
    }

    /// Fails on a rank of 0, a non-positive or non-finite alpha, no target, a repeated
    /// target, or a dropout outside `[0, 1)`.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(ModelError::InvalidInput(format!("LoRA: {reason}")));
        if self.rank == 0 {
            return bad("the rank must be at least 1".into());
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return bad(format!("alpha {} must be a positive number", self.alpha));
        }
        if self.targets.is_empty() {
            return bad("no target projection".into());
        }
        let mut seen = self.targets.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != self.targets.len() {
            return bad("a target is listed twice".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout {} is not in [0, 1)", self.dropout));
        }
        Ok(())
    }
}

/// One adapter's factors in burn's layout: `A` `[in, r]`, `B` `[r, out]`.
pub(crate) struct Factors {
    pub(crate) a: Tensor<2>,
    pub(crate) b: Tensor<2>,
}

/// Attaches given factors to a projection's weight and freezes the weight (and a bias).
struct Attach {
    factors: Option<Factors>,
    scale: f64,
}

impl Reparameterizer for Attach {
    type Reparam = LoraAdapter;

    fn reparameterize<const D: usize>(
        &mut self,
        _path: &str,
        param: Param<Tensor<D>>,
    ) -> (Param<Tensor<D>>, Option<LoraAdapter>) {
        let param = param.set_require_grad(false);
        if D != 2 {
            return (param, None);
        }
        let adapter = self.factors.take().map(|Factors { a, b }| LoraAdapter {
            a: Param::from_tensor(a),
            b: Param::from_tensor(b),
            scale: self.scale,
        });
        (param, adapter)
    }
}

impl Llama {
    /// The projection `target` of layer `layer`.
    pub(crate) fn projection_mut(&mut self, layer: usize, target: LoraTarget) -> &mut Linear {
        let l = &mut self.layers[layer];
        match target {
            LoraTarget::Query => &mut l.attention.q,
            LoraTarget::Key => &mut l.attention.k,
            LoraTarget::Value => &mut l.attention.v,
            LoraTarget::Output => &mut l.attention.o,
            LoraTarget::Gate => &mut l.mlp.gate,
            LoraTarget::Up => &mut l.mlp.up,
            LoraTarget::Down => &mut l.mlp.down,
        }
    }

    /// The projection `target` of layer `layer`.
    pub(crate) fn projection(&self, layer: usize, target: LoraTarget) -> &Linear {
        let l = &self.layers[layer];
        match target {
            LoraTarget::Query => &l.attention.q,
            LoraTarget::Key => &l.attention.k,
            LoraTarget::Value => &l.attention.v,
            LoraTarget::Output => &l.attention.o,
            LoraTarget::Gate => &l.mlp.gate,
            LoraTarget::Up => &l.mlp.up,
            LoraTarget::Down => &l.mlp.down,
        }
    }

    /// This model with fresh adapters on `config`'s targets, everything else frozen: `A` drawn
    /// as PEFT does (Kaiming-uniform, bound `1/√in`, seeded by `seed`), `B` zero, so the
    /// adapted model starts equal to this one. Fails on an invalid `config` or a model that
    /// already has adapters ([`Llama::merge_lora`] first).
    pub fn with_lora(self, config: &LoraConfig, seed: u64) -> Result<Llama> {
        config.validate()?;
        let device = self.device();
        device.seed(seed);
        self.attach(config, |_, _, linear| {
            let [d_in, d_out] = linear.weight.dims();
            let bound = 1.0 / (d_in as f64).sqrt();
            Ok(Factors {
                a: Tensor::random(
                    [d_in, config.rank],
                    Distribution::Uniform(-bound, bound),
                    &device,
                ),
                b: Tensor::zeros([config.rank, d_out], &device),
            })
        })
    }

    /// Attaches adapters on `config`'s targets, each one's factors from
    /// `factors(layer, target, linear)`, freezing every parameter.
    pub(crate) fn attach(
        self,
        config: &LoraConfig,
        mut factors: impl FnMut(usize, LoraTarget, &Linear) -> Result<Factors>,
    ) -> Result<Llama> {
        if self.lora_parameters() > 0 {
            return Err(ModelError::InvalidInput(
                "the model already has LoRA adapters: merge them first".into(),
            ));
        }
        let mut model = self.no_grad().with_base_dtype(config)?;
        for layer in 0..model.num_layers() {
            for &target in &config.targets {
                let linear = model.projection_mut(layer, target);
                let attach = Attach {
                    factors: Some(factors(layer, target, linear)?),
                    scale: config.scale(),
                };
                *linear = linear.clone().apply_reparameterization(attach);
            }
        }
        model.set_lora_dropout(config.dropout);
        Ok(model)
    }

    /// This model with the weights of `config`'s target projections stored at
    /// `config.base_dtype` (nothing changes for f32): what [`Llama::with_lora`] starts from, and
    /// what a DPO reference whose policy trains over a bf16 base must be, so that both score
    /// with the same weights. Fails on a model that has adapters.
    pub fn with_base_dtype(self, config: &LoraConfig) -> Result<Llama> {
        let dtype = config.base_dtype.float();
        if self.lora_parameters() > 0 {
            return Err(ModelError::InvalidInput(
                "the model has LoRA adapters: cast its base before attaching them".into(),
            ));
        }
        let mut model = self.with_compute_dtype(config.compute_dtype.float())?;
        for layer in 0..model.num_layers() {
            for &target in &config.targets {
                let linear = model.projection_mut(layer, target);
                if linear.weight.dtype() != DType::from(dtype) {
                    linear.weight = linear.weight.clone().map(|w| w.cast(dtype));
                }
            }
        }
        Ok(model)
    }

    /// The adapters' trainable parameters (0 without adapters).
    pub fn lora_parameters(&self) -> usize {
        let mut count = 0;
        for layer in 0..self.num_layers() {
            for target in LoraTarget::ALL {
                if let Some(adapter) = self.projection(layer, target).weight.adapter() {
                    count += adapter.a.dims().iter().product::<usize>()
                        + adapter.b.dims().iter().product::<usize>();
                }
            }
        }
        count
    }

    /// The adapters folded into the weights (`W + s·A·B`), every parameter trainable again:
    /// the plain model the next iteration starts from (PEFT's `merge_and_unload`).
    pub fn merge_lora(self) -> Llama {
        let mut model = self.materialize().set_require_grad(true).with_compute_f32();
        model.set_lora_dropout(0.0);
        model
    }

    /// Dropout `prob` on every adapter's input, in every layer.
    fn set_lora_dropout(&mut self, prob: f64) {
        let dropout = DropoutConfig::new(prob).init();
        for layer in &mut self.layers {
            layer.attention.lora_dropout = dropout.clone();
            layer.mlp.lora_dropout = dropout.clone();
        }
    }
}
