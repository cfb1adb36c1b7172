//! Generation settings: how many tokens, how each is chosen, from which seed.

use serde::{Deserialize, Serialize};

use crate::error::{GenerationError, Result};

/// How the next token is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    /// 0 is greedy (argmax); otherwise logits are divided by it.
    pub temperature: f32,
    /// Nucleus: keep the smallest set of most likely tokens whose probability reaches `top_p`
    /// (1.0 keeps all).
    pub top_p: f32,
    /// Keep only the `top_k` most likely tokens (0 keeps all).
    #[serde(default)]
    pub top_k: usize,
}

impl Default for SamplingParams {
    /// Greedy.
    fn default() -> Self {
        SamplingParams {
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
        }
    }
}

impl SamplingParams {
    /// Temperature and nucleus sampling (no top-k).
    pub fn nucleus(temperature: f32, top_p: f32) -> Self {
        SamplingParams {
            temperature,
            top_p,
            top_k: 0,
        }
    }

    /// Checks the ranges: a finite temperature ≥ 0 and `top_p` in (0, 1].
    pub fn validate(&self) -> Result<()> {
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return Err(GenerationError::InvalidSettings(format!(
                "temperature {} must be finite and ≥ 0",
                self.temperature
            )));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(GenerationError::InvalidSettings(format!(
                "top_p {} must be in (0, 1]",
                self.top_p
            )));
        }
        Ok(())
    }
}

/// Generation settings, for a local model and for any [`TextGenerator`](crate::TextGenerator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationConfig {
    /// Most tokens to generate per sequence (the stop token included).
    pub max_new_tokens: usize,
    /// How each token is chosen.
    pub sampling: SamplingParams,
    /// Seed: the same seed, prompts and model give the same tokens.
    pub seed: u64,
    /// Token ids that end a sequence, kept in the output. Empty: the model's own end of turn.
    /// Local models only: an OpenAI-compatible server ends at its own end of turn.
    #[serde(default)]
    pub stop_ids: Vec<u32>,
}

impl Default for GenerationConfig {
    /// Greedy, 256 tokens, seed 0, the model's end of turn.
    fn default() -> Self {
        GenerationConfig::greedy(256)
    }
}

impl GenerationConfig {
    /// Greedy decoding of at most `max_new_tokens`.
    pub fn greedy(max_new_tokens: usize) -> Self {
        GenerationConfig {
            max_new_tokens,
            sampling: SamplingParams::default(),
            seed: 0,
            stop_ids: Vec::new(),
        }
    }

    /// Temperature and nucleus sampling of at most `max_new_tokens`.
    pub fn sampled(temperature: f32, top_p: f32, max_new_tokens: usize) -> Self {
        GenerationConfig {
            sampling: SamplingParams::nucleus(temperature, top_p),
            ..GenerationConfig::greedy(max_new_tokens)
        }
    }

    /// The same settings from another seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}
