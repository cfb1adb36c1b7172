//! The Llama-like families a config may name (`model_type`), and what differs between them:
//! Llama (also a config without `model_type`, and GGUF files), Mistral (a sliding attention
//! window) and Qwen2 (biases on the query, key and value projections, none on the output).
//!
//! A sliding window of `w` lets a query see the `w` latest keys (transformers: `kv > q − w`);
//! srlm has no windowed attention, so it takes sequences of at most `w` tokens, where the window
//! masks nothing, and refuses longer ones ([`LlamaConfig::positions`]).

use crate::config::LlamaConfig;
use crate::lora::LoraTarget;

/// The `model_type`s srlm reads.
pub const MODEL_TYPES: [&str; 3] = ["llama", "mistral", "qwen2"];

impl LlamaConfig {
    /// The config's `model_type` (`llama` when it names none).
    pub fn model_type(&self) -> &str {
        self.extra
            .get("model_type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("llama")
    }

    /// Whether the projection `target` has a bias: Qwen2's query, key and value do, its output
    /// does not; otherwise `attention_bias` and `mlp_bias` say.
    pub fn projection_bias(&self, target: LoraTarget) -> bool {
        use LoraTarget::{Down, Gate, Key, Output, Query, Up, Value};
        match (self.model_type(), target) {
            ("qwen2", Query | Key | Value) => true,
            ("qwen2", Output) => false,
            (_, Query | Key | Value | Output) => self.attention_bias,
            (_, Gate | Up | Down) => self.mlp_bias,
        }
    }

    /// The sliding attention window, where the family has one and the config turns it on
    /// (Mistral's `sliding_window`; Qwen2's with `use_sliding_window`).
    pub fn sliding_window(&self) -> Option<usize> {
        let on = match self.model_type() {
            "mistral" => true,
            "qwen2" => self
                .extra
                .get("use_sliding_window")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            _ => false,
        };
        let window = self.extra.get("sliding_window")?.as_u64()?;
        on.then(|| usize::try_from(window).unwrap_or(usize::MAX))
    }

    /// Positions the model takes: `max_position_embeddings`, or the sliding window where that
    /// is shorter (within it, the window masks nothing).
    pub fn positions(&self) -> usize {
        match self.sliding_window() {
            Some(window) => window.min(self.max_position_embeddings),
            None => self.max_position_embeddings,
        }
    }

    /// Fails on a family srlm does not read, naming the ones it does.
    pub(crate) fn check_family(&self) -> std::result::Result<(), String> {
        let kind = self.model_type();
        if MODEL_TYPES.contains(&kind) {
            Ok(())
        } else {
            Err(format!(
                "`model_type` {kind:?} is not a family srlm reads ({})",
                MODEL_TYPES.join(", ")
            ))
        }
    }
}
