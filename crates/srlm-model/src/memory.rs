//! What a Llama holds in memory while it trains, counted from its shapes: the parameters, the
//! LoRA adapters, and the bytes one training forward pass keeps per token for its backward pass
//! (what `srlm plan` adds up before a run; `srlm_dpo::MemoryPlan`).
//!
//! The per-token counts follow what this crate's forward pass saves, operation by operation:
//! RMSNorm keeps its input, each projection its input, attention its rotated queries, keys and
//! values and its output (fused, no dropout) or its probabilities (with `attention_dropout`),
//! SwiGLU both of its inputs, the down projection their product, a dropout its mask. These are
//! in the activations' dtype (LoRA's `compute_dtype`); attention's log-sum-exp, an adapter's
//! `x·A`, and the head's input are `f32`, and under bf16 compute the adapters keep an `f32` copy
//! of their input (the adapters are `f32`), one per input shared by q/k/v and by gate/up.

use crate::config::LlamaConfig;
use crate::lora::{LoraConfig, LoraTarget};

/// Bytes a training forward pass keeps per token for the backward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SavedPerToken {
    /// One decoder layer's, all of its operations.
    pub layer: u64,
    /// One decoder layer's input alone (what layer checkpointing keeps).
    pub layer_input: u64,
    /// The final norm's and the output projection's.
    pub head: u64,
}

/// How a training forward pass runs, as far as what it keeps is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingForward<'a> {
    /// Dropout on the residual branches (the trainer's; the attention probabilities' is the
    /// model's `attention_dropout`).
    pub dropout: f64,
    /// LoRA adapters (their dropout included), if the projections have them.
    pub lora: Option<&'a LoraConfig>,
    /// Tokens per sequence: attention with dropout keeps `3 × heads × seq` values per token.
    pub seq: usize,
}

impl LlamaConfig {
    /// Parameters: embedding, the decoder layers' projections (and their biases) and norms, the
    /// final norm and an untied head (`u64::MAX` if the count overflows).
    pub fn parameter_count(&self) -> u64 {
        self.checked_parameter_count().unwrap_or(u64::MAX)
    }

    /// [`LlamaConfig::parameter_count`], `None` when it overflows 64 bits.
    pub(crate) fn checked_parameter_count(&self) -> Option<u64> {
        let n = |v: usize| u64::try_from(v).ok();
        let (h, v, i) = (
            n(self.hidden_size)?,
            n(self.vocab_size)?,
            n(self.intermediate_size)?,
        );
        // Saturated widths overflow the checked sums below, as the true ones would.
        let (q, kv) = (self.q_width(), self.kv_width());
        // The biases the family has.
        let biases = LoraTarget::ALL
            .iter()
            .filter(|&&t| self.projection_bias(t))
            .try_fold(0u64, |sum, &t| sum.checked_add(self.projection_shape(t).1))?;
        // q, k, v, o; gate, up, down; two norms; biases.
        let layer = h
            .checked_mul(q.checked_mul(2)?.checked_add(kv.checked_mul(2)?)?)?
            .checked_add(h.checked_mul(i)?.checked_mul(3)?)?
            .checked_add(h.checked_mul(2)?)?
            .checked_add(biases)?;
        let heads = if self.tie_word_embeddings { 1 } else { 2 };
        layer
            .checked_mul(n(self.num_hidden_layers)?)?
            .checked_add(v.checked_mul(h)?.checked_mul(heads)?)?
            .checked_add(h)
    }

    /// `(in, out)` widths of the projection `target`.
    pub fn projection_shape(&self, target: LoraTarget) -> (u64, u64) {
        let (h, i) = (self.hidden_size as u64, self.intermediate_size as u64);
        let (q, kv) = (self.q_width(), self.kv_width());
        match target {
            LoraTarget::Query => (h, q),
            LoraTarget::Key | LoraTarget::Value => (h, kv),
            LoraTarget::Output => (q, h),
            LoraTarget::Gate | LoraTarget::Up => (h, i),
            LoraTarget::Down => (i, h),
        }
    }

    /// What one training forward pass keeps per token, in bytes (see the module's
    /// documentation).
    pub fn saved_per_token(&self, forward: &TrainingForward) -> SavedPerToken {
        const F32: u64 = 4;
        let h = self.hidden_size as u64;
        let i = self.intermediate_size as u64;
        let (q, kv) = (self.q_width(), self.kv_width());
        let heads = self.num_attention_heads as u64;
        let compute = forward.lora.map_or(F32, |l| l.compute_dtype.bytes());
        // Both norms' inputs and outputs; the rotated queries, the keys and values; the
        // attention output laid out for `o_proj`; gate, up and their product.
        let mut layer = (4 * h + q + 2 * kv + q + 3 * i) * compute;
        if self.attention_dropout > 0.0 {
            // Probabilities, their mask and the dropped probabilities.
            layer += 3 * heads * forward.seq as u64 * compute;
        } else {
            // The fused attention's output, and its log-sum-exp per head in f32.
            layer += q * compute + heads * F32;
        }
        if forward.dropout > 0.0 {
            // Both residual branches' masks.
            layer += 2 * h * compute;
        }
        if let Some(lora) = forward.lora {
            let has = |t: &LoraTarget| lora.targets.contains(t);
            for &target in &lora.targets {
                let input = self.projection_shape(target).0;
                // `x·A` (f32) for `B`'s gradient; with dropout, the mask and the dropped input
                // and (under bf16 compute) its own f32 copy.
                layer += lora.rank as u64 * F32;
                if lora.dropout > 0.0 {
                    layer += 2 * input * compute + if compute != F32 { input * F32 } else { 0 };
                }
            }
            if compute != F32 && lora.dropout == 0.0 {
                // The input cast to the adapters' f32 for `A`'s gradient, once per input:
                // q/k/v share the norm's output, gate/up theirs.
                let attention = [LoraTarget::Query, LoraTarget::Key, LoraTarget::Value];
                let shared = [
                    (attention.iter().any(has), h),
                    (has(&LoraTarget::Output), q),
                    ([LoraTarget::Gate, LoraTarget::Up].iter().any(has), h),
                    (has(&LoraTarget::Down), i),
                ];
                layer += shared
                    .iter()
                    .filter(|(adapted, _)| *adapted)
                    .map(|(_, width)| width * F32)
                    .sum::<u64>();
            }
        }
        SavedPerToken {
            layer,
            layer_input: h * compute,
            // The final norm's input, and its output cast to f32 for the head.
            head: h * compute + h * F32,
        }
    }

    /// Query heads × head width (saturating: a config's numbers are not checked yet here).
    fn q_width(&self) -> u64 {
        (self.num_attention_heads as u64).saturating_mul(self.head_dim() as u64)
    }

    /// Key/value heads × head width (saturating).
    fn kv_width(&self) -> u64 {
        (self.kv_heads() as u64).saturating_mul(self.head_dim() as u64)
    }

    /// [`LlamaConfig::validate`] for a model whose LoRA targets are stored at `lora`'s base
    /// dtype ([`crate::LoraDtype`]): the memory it needs counts those weights at that dtype.
    pub fn validate_stored(&self, lora: Option<&LoraConfig>) -> Result<(), String> {
        let saved = lora.map_or(0, |lora| {
            lora.adapted_weight_count(self)
                .saturating_mul(4 - lora.base_dtype.bytes())
        });
        let needed = self.host_bytes().map(|bytes| bytes.saturating_sub(saved));
        match lora {
            Some(lora) if saved > 0 => self.validate_needing(
                needed,
                &format!(
                    "in f32 with the adapted projections in {}",
                    lora.base_dtype.name()
                ),
            ),
            _ => self.validate_needing(needed, "in f32"),
        }
    }
}

impl LoraConfig {
    /// `(in, out)` of each target projection of one layer.
    fn target_shapes<'a>(
        &'a self,
        model: &'a LlamaConfig,
    ) -> impl Iterator<Item = (u64, u64)> + 'a {
        self.targets.iter().map(|&t| model.projection_shape(t))
    }

    /// Trainable values of these adapters on a model of `model`'s shapes: `r · (in + out)` per
    /// target and layer.
    pub fn parameter_count(&self, model: &LlamaConfig) -> u64 {
        let per_layer: u64 = self
            .target_shapes(model)
            .map(|(i, o)| self.rank as u64 * (i + o))
            .sum();
        per_layer * model.num_hidden_layers as u64
    }

    /// Weights of the projections these adapters adapt (stored at [`LoraConfig::base_dtype`]):
    /// `in · out` per target and layer.
    pub fn adapted_weight_count(&self, model: &LlamaConfig) -> u64 {
        let per_layer: u64 = self.target_shapes(model).map(|(i, o)| i * o).sum();
        per_layer * model.num_hidden_layers as u64
    }

    /// The largest adapted projection's weights (0 without targets).
    pub fn largest_adapted_weight(&self, model: &LlamaConfig) -> u64 {
        self.target_shapes(model)
            .map(|(i, o)| i * o)
            .max()
            .unwrap_or(0)
    }
}
