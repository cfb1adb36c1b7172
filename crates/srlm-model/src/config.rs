//! [`LlamaConfig`]: a serde mirror of Hugging Face's Llama `config.json`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// The `rope_scaling` block of a Llama `config.json` (Llama 2 `linear`/`dynamic`, Llama 3 `llama3`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RopeScaling {
    /// `rope_type` (newer files) or `type` (older files): `default`, `linear` or `llama3` (`dynamic` is rejected).
    #[serde(alias = "type")]
    pub rope_type: String,
    /// The scaling factor.
    #[serde(default = "one")]
    pub factor: f64,
    /// `llama3` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_freq_factor: Option<f64>,
    /// `llama3` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_freq_factor: Option<f64>,
    /// `llama3` (and `dynamic`): the context length the model was pretrained with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_max_position_embeddings: Option<usize>,
}

fn one() -> f64 {
    1.0
}

/// `eos_token_id` is an integer or a list of integers in `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    /// One id.
    One(u32),
    /// Several ids.
    Many(Vec<u32>),
}

impl TokenIds {
    /// The ids as a list.
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(id) => vec![*id],
            TokenIds::Many(ids) => ids.clone(),
        }
    }
}

/// A Llama model's hyper-parameters, with the field names of Hugging Face's `config.json`.
///
/// Unknown fields are kept in `extra` so that a loaded-then-saved config round-trips.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    /// Vocabulary size (rows of the embedding matrix).
    pub vocab_size: usize,
    /// Model width.
    pub hidden_size: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Number of query heads.
    pub num_attention_heads: usize,
    /// Number of key/value heads (grouped-query attention); defaults to `num_attention_heads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_key_value_heads: Option<usize>,
    /// Per-head width; defaults to `hidden_size / num_attention_heads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<usize>,
    /// Longest sequence the rotary tables cover.
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    /// RMSNorm epsilon.
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    /// Rotary base.
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    /// Rotary scaling, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_scaling: Option<RopeScaling>,
    /// Whether the output head shares the embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Bias on the q/k/v/o projections.
    #[serde(default)]
    pub attention_bias: bool,
    /// Bias on the MLP projections.
    #[serde(default)]
    pub mlp_bias: bool,
    /// Dropout on attention probabilities (training only).
    #[serde(default)]
    pub attention_dropout: f64,
    /// MLP activation; only `silu` is supported.
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Beginning-of-sequence id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_token_id: Option<u32>,
    /// End-of-sequence id(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token_id: Option<TokenIds>,
    /// Padding id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad_token_id: Option<u32>,
    /// Every other field of the file, kept as is.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn default_max_pos() -> usize {
    2048
}
fn default_eps() -> f64 {
    1e-6
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_act() -> String {
    "silu".to_string()
}

impl LlamaConfig {
    /// SmolLM2-135M's shapes (vocabulary 49,152, width 576, 30 layers, 9 query and 3 key/value
    /// heads, MLP 1,536, rotary base 100,000, tied head): for benchmarks and device checks with
    /// random weights on machines without the model file. No special-token ids.
    ///
    /// ```
    /// let c = srlm_model::LlamaConfig::smollm2_135m();
    /// assert_eq!((c.vocab_size, c.hidden_size, c.num_hidden_layers), (49_152, 576, 30));
    /// ```
    pub fn smollm2_135m() -> Self {
        let mut c = Self::tiny(49_152, 576, 30, 9, 3);
        c.intermediate_size = 1536;
        c.max_position_embeddings = 8192;
        c.rope_theta = 100_000.0;
        c
    }

    /// The shapes of a published model of a family srlm reads, by name, for memory plans and
    /// benchmarks with random weights: `smollm2-135m`, `llama-3.2-1b`, `llama-3.2-3b`,
    /// `llama-3-8b`, `qwen2.5-1.5b`, `qwen2.5-7b` (vocabulary, width, layers, heads, MLP, tied
    /// head as their `config.json`; Qwen2.5 with its q/k/v biases).
    ///
    /// ```
    /// let c = srlm_model::LlamaConfig::named("llama-3-8b").unwrap();
    /// assert_eq!((c.hidden_size, c.num_hidden_layers, c.intermediate_size), (4096, 32, 14_336));
    /// ```
    pub fn named(name: &str) -> Option<Self> {
        let (vocab, hidden, layers, heads, kv, ffn, tied) = match name {
            "smollm2-135m" => return Some(Self::smollm2_135m()),
            "llama-3.2-1b" => (128_256, 2048, 16, 32, 8, 8192, true),
            "llama-3.2-3b" => (128_256, 3072, 28, 24, 8, 8192, true),
            "llama-3-8b" => (128_256, 4096, 32, 32, 8, 14_336, false),
            "qwen2.5-1.5b" => (151_936, 1536, 28, 12, 2, 8960, true),
            "qwen2.5-7b" => (152_064, 3584, 28, 28, 4, 18_944, false),
            _ => return None,
        };
        let mut c = Self::tiny(vocab, hidden, layers, heads, kv);
        c.intermediate_size = ffn;
        c.tie_word_embeddings = tied;
        c.max_position_embeddings = 8192;
        c.rope_theta = 500_000.0;
        if name.starts_with("qwen") {
            c.rope_theta = 1_000_000.0;
            c.extra.insert("model_type".into(), "qwen2".into());
        }
        Some(c)
    }

    /// The names [`LlamaConfig::named`] knows.
    pub const NAMED: [&'static str; 6] = [
        "smollm2-135m",
        "llama-3.2-1b",
        "llama-3.2-3b",
        "llama-3-8b",
        "qwen2.5-1.5b",
        "qwen2.5-7b",
    ];

    /// A small config for tests and examples; every other field at its default.
    pub fn tiny(
        vocab_size: usize,
        hidden_size: usize,
        num_hidden_layers: usize,
        num_attention_heads: usize,
        num_key_value_heads: usize,
    ) -> Self {
        LlamaConfig {
            vocab_size,
            hidden_size,
            intermediate_size: hidden_size * 2 + hidden_size / 2,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads: Some(num_key_value_heads),
            head_dim: None,
            max_position_embeddings: 256,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            rope_scaling: None,
            tie_word_embeddings: true,
            attention_bias: false,
            mlp_bias: false,
            attention_dropout: 0.0,
            hidden_act: default_act(),
            bos_token_id: None,
            eos_token_id: None,
            pad_token_id: None,
            extra: serde_json::Map::new(),
        }
    }

    /// Reads and validates a `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        let config: LlamaConfig = serde_json::from_str(&text).map_err(|e| ModelError::Config {
            path: path.to_path_buf(),
            reason: format!("line {}, column {}: {e}", e.line(), e.column()),
        })?;
        let mut config = config;
        config
            .adopt_rope_parameters()
            .map_err(|reason| ModelError::Config {
                path: path.to_path_buf(),
                reason,
            })?;
        config.validate().map_err(|reason| ModelError::Config {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(config)
    }

    /// transformers ≥ 5 writes `rope_parameters` (`rope_theta` and the scaling in one block)
    /// instead of `rope_theta` + `rope_scaling`: take the values from it when present.
    fn adopt_rope_parameters(&mut self) -> std::result::Result<(), String> {
        let Some(params) = self.extra.get("rope_parameters") else {
            return Ok(());
        };
        if params.is_null() {
            return Ok(());
        }
        if let Some(theta) = params.get("rope_theta").and_then(serde_json::Value::as_f64) {
            self.rope_theta = theta;
        }
        let scaling: RopeScaling = serde_json::from_value(params.clone())
            .map_err(|e| format!("`rope_parameters`: {e}"))?;
        if scaling.rope_type != "default" {
            self.rope_scaling = Some(scaling);
        }
        Ok(())
    }

    /// Number of key/value heads.
    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Per-head width.
    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// Bytes the model takes in host memory as built here: its parameters in `f32` and the
    /// rotary tables (`cos` and `sin` for every position it takes, [`LlamaConfig::positions`]);
    /// `None` when the count overflows.
    pub fn host_bytes(&self) -> Option<u64> {
        let hd = u64::try_from(self.head_dim()).ok()?;
        let rotary = u64::try_from(self.positions())
            .ok()?
            .checked_mul(hd)?
            .checked_mul(2)?;
        self.checked_parameter_count()?
            .checked_add(rotary)?
            .checked_mul(4)
    }

    /// Checks that the numbers describe a buildable model; returns what is wrong. A model
    /// larger than this machine's memory ([`LlamaConfig::host_bytes`] against `MemTotal` where
    /// the system says it) is refused with both numbers, rather than aborting an allocation.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.validate_needing(self.host_bytes(), "in f32")
    }

    /// [`LlamaConfig::validate`] with the model's memory need given: `needed` bytes (`None`: it
    /// overflows), stored as `stored` says (for the message).
    pub(crate) fn validate_needing(
        &self,
        needed: Option<u64>,
        stored: &str,
    ) -> std::result::Result<(), String> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.kv_heads()),
            ("max_position_embeddings", self.max_position_embeddings),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("`{name}` must be positive"));
            }
        }
        self.check_family()?;
        if self.head_dim.is_none() && !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(format!(
                "`hidden_size` ({}) is not divisible by `num_attention_heads` ({})",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !self.head_dim().is_multiple_of(2) {
            return Err(format!(
                "head dimension {} must be even for rotary embeddings",
                self.head_dim()
            ));
        }
        if !self.num_attention_heads.is_multiple_of(self.kv_heads()) {
            return Err(format!(
                "`num_attention_heads` ({}) is not a multiple of `num_key_value_heads` ({})",
                self.num_attention_heads,
                self.kv_heads()
            ));
        }
        if self.hidden_act != "silu" {
            return Err(format!(
                "`hidden_act` is `{}`; only `silu` is supported",
                self.hidden_act
            ));
        }
        if !(0.0..1.0).contains(&self.attention_dropout) {
            return Err(format!(
                "`attention_dropout` {} is not in [0, 1)",
                self.attention_dropout
            ));
        }
        let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
        match (needed, crate::host_memory::host_memory_bytes()) {
            (None, _) => {
                return Err(
                    "the model's size overflows 64 bits (check its dimensions and `max_position_embeddings`)".into(),
                )
            }
            (Some(needed), Some(total)) if needed > total => {
                return Err(format!(
                    "the model needs {:.1} GiB {stored} (parameters and rotary tables for {} positions), more than this machine's {:.1} GiB",
                    gib(needed),
                    self.positions(),
                    gib(total)
                ))
            }
            _ => {}
        }
        if let Some(scaling) = &self.rope_scaling {
            match scaling.rope_type.as_str() {
                "default" | "linear" => {}
                "llama3" => {
                    if scaling.low_freq_factor.is_none()
                        || scaling.high_freq_factor.is_none()
                        || scaling.original_max_position_embeddings.is_none()
                    {
                        return Err("`rope_scaling` of type `llama3` needs `low_freq_factor`, `high_freq_factor` and `original_max_position_embeddings`".into());
                    }
                }
                other => return Err(format!("`rope_scaling` type `{other}` is not supported (supported: default, linear, llama3)")),
            }
        }
        Ok(())
    }

    /// The end-of-sequence ids, possibly empty.
    pub fn eos_ids(&self) -> Vec<u32> {
        self.eos_token_id
            .as_ref()
            .map(TokenIds::to_vec)
            .unwrap_or_default()
    }
}
