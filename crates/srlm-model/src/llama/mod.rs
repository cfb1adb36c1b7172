//! The Llama decoder as a burn [`Module`]: embeddings, decoder layers, final norm, output head.

mod attention;
mod block;
mod cache;
mod checkpoint;
mod load;
mod mlp;
mod norm;
mod project;

use burn::module::Module;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Device, FloatDType, Int, Tensor, TensorData};

pub use attention::Attention;
pub use block::DecoderLayer;
pub(crate) use cache::row_index;
pub use cache::KvCache;
pub use checkpoint::{add_gradients, LayerCheckpoints};
pub use mlp::Mlp;
pub use norm::RmsNorm;

use crate::batch::TokenBatch;
use crate::error::{ModelError, Result};
use crate::rope::RotaryTables;
use attention::StepContext;

/// What the attention bias adds where a query may not look.
pub(crate) const MASKED: f32 = -1.0e9;

/// A Llama causal language model.
#[derive(Module, Debug)]
pub struct Llama {
    /// `model.embed_tokens`, `[vocab, hidden]`.
    pub embed: Embedding,
    /// `model.layers`.
    pub layers: Vec<DecoderLayer>,
    /// `model.norm`.
    pub norm: RmsNorm,
    /// `lm_head`, absent when tied to the embeddings.
    pub lm_head: Option<Linear>,
    rope: RotaryTables,
    /// The dtype activations flow in ([`Llama::with_compute_dtype`]).
    #[module(skip)]
    compute: FloatDType,
}

impl Llama {
    /// The vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.embed.weight.dims()[0]
    }

    /// Number of decoder layers.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// The dtype activations flow in between the operations (f32 unless
    /// [`Llama::with_compute_dtype`] chose bf16).
    pub fn compute_dtype(&self) -> FloatDType {
        self.compute
    }

    /// This model with its activations in `dtype`: the embeddings' output, the rotary tables and
    /// the attention bias are cast to it, so the decoder layers run at it — projections over a
    /// base of the same dtype multiply it directly; the fused norm, softmax and attention
    /// compute in f32 and answer in it; adapters, the head and log-probs stay f32. The
    /// weights are not touched. Only f32 and bf16, and bf16 only on a CubeCL device (flex
    /// computes in f32): anything else is an error naming the device.
    pub fn with_compute_dtype(mut self, dtype: FloatDType) -> Result<Llama> {
        match dtype {
            FloatDType::F32 => {}
            FloatDType::BF16 if crate::fused::is_cube(&self.device()) => {}
            FloatDType::BF16 => {
                return Err(ModelError::InvalidInput(format!(
                    "bf16 compute runs on a CubeCL device (cuda, wgpu, cubecl-cpu), not on {:?}: \
                     use f32 compute there",
                    self.device()
                )))
            }
            other => {
                return Err(ModelError::InvalidInput(format!(
                    "compute dtype {other:?}: expected f32 or bf16"
                )))
            }
        }
        self.compute = dtype;
        Ok(self)
    }

    /// This model computing in f32 again.
    pub(crate) fn with_compute_f32(mut self) -> Llama {
        self.compute = FloatDType::F32;
        self
    }

    /// Longest sequence (prompt and generated tokens together) the model accepts.
    pub fn max_positions(&self) -> usize {
        self.rope.max_positions()
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.embed.weight.device()
    }

    /// A fresh, empty cache for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.num_layers())
    }

    /// Final hidden states (after the last norm), `[batch, seq, hidden]`.
    ///
    /// `positions` are each token's rotary position, `bias` the additive attention bias
    /// `[batch, 1, seq, past + seq]` (see [`attention_bias`]). With a cache, the step's keys and
    /// values are appended to it.
    pub fn forward_hidden(
        &self,
        tokens: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        bias: Tensor<4>,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        // The tables and the bias at the activations' dtype, as transformers casts them.
        let (cos, sin) = self.rope.lookup(positions);
        let (cos, sin, bias) = (
            cos.cast(self.compute),
            sin.cast(self.compute),
            bias.cast(self.compute),
        );
        let groups = self.layers.first().map_or(1, |l| l.attention.groups());
        let ctx = StepContext::grouped(cos, sin, bias, groups);
        if cache.is_none() && checkpoint::recording() && self.embed.weight.is_autodiff() {
            let parts = (&self.embed, self.layers.as_slice(), &self.norm);
            return checkpoint::forward(parts, tokens, ctx, self.compute);
        }
        let mut x = self.embed.forward(tokens).cast(self.compute);
        for (index, layer) in self.layers.iter().enumerate() {
            let layer_cache = cache.as_deref_mut().map(|c| (c, index));
            x = layer.forward(x, &ctx, layer_cache);
        }
        self.norm.forward(x)
    }

    /// The layers' (and the embedding's) parameter gradients of the forward passes `recorded`
    /// by [`LayerCheckpoints::record`]: `grads` are the loss's gradients (the recorded passes'
    /// last hidden states' gradients are taken out of them); each layer is recomputed under
    /// autodiff from its saved input, last layer first. Add the rest of the model's gradients
    /// (`GradientsParams::from_grads(grads, model)`) with [`add_gradients`].
    pub fn backward_checkpointed(
        &self,
        recorded: LayerCheckpoints,
        grads: &mut burn::tensor::Gradients,
    ) -> burn::optim::GradientsParams {
        recorded.backward(&self.layers, &self.embed, self.compute, grads)
    }

    /// Logits `[batch, seq, vocab]` from hidden states, in f32 (the head's dtype) whatever the
    /// activations' dtype.
    pub fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        let hidden = hidden.cast(FloatDType::F32);
        match &self.lm_head {
            Some(head) => project::project(head, hidden, &burn::nn::DropoutConfig::new(0.0).init()),
            None => {
                let [b, t, d] = hidden.dims();
                let weight = self.embed.weight.val();
                let vocab = weight.dims()[0];
                crate::fused::few_rows_matmul_transposed(hidden.reshape([b * t, d]), weight)
                    .reshape([b, t, vocab])
            }
        }
    }

    /// Each row's log-probability of its target token: `hidden` `[rows, dim]` (final hidden
    /// states) → `[rows]`. Through [`fused::linear_log_probs`](crate::fused::linear_log_probs)
    /// (the `[rows, vocab]` logits never held whole where that runs fused) unless the head has
    /// a bias. In f32 whatever the activations' dtype.
    pub fn target_logprobs(&self, hidden: Tensor<2>, targets: &[u32]) -> Tensor<1> {
        let hidden = hidden.cast(FloatDType::F32);
        match &self.lm_head {
            None => crate::fused::linear_log_probs(hidden, self.embed.weight.val(), targets),
            Some(head) if head.bias.is_none() => {
                crate::fused::linear_log_probs(hidden, head.weight.val().transpose(), targets)
            }
            Some(head) => crate::fused::reference::target_log_probs(head.forward(hidden), targets),
        }
    }

    /// Logits `[batch, seq, vocab]` for a padded batch, without a cache.
    pub fn forward(&self, batch: &TokenBatch) -> Result<Tensor<3>> {
        let (tokens, positions, bias) = self.step_inputs(batch, None, 0)?;
        Ok(self.logits(self.forward_hidden(tokens, positions, bias, None)))
    }

    /// Token, position and bias tensors for `batch`, whose first token comes after `past`
    /// cached positions; `past_valid` says which of those were real tokens
    /// (`[batch · past]`, row-major), and positions continue from each row's count of them.
    pub fn step_inputs(
        &self,
        batch: &TokenBatch,
        past_valid: Option<&[bool]>,
        past: usize,
    ) -> Result<(Tensor<2, Int>, Tensor<2, Int>, Tensor<4>)> {
        self.step_inputs_with_room(batch, past_valid, past, past + batch.seq)
    }

    /// [`Llama::step_inputs`] for a cache with reserved room ([`KvCache::reserve`]): the bias
    /// is `keys` positions wide (the cache's capacity), masking the positions after this step's
    /// tokens, which attention reads but nothing has written yet.
    pub fn step_inputs_with_room(
        &self,
        batch: &TokenBatch,
        past_valid: Option<&[bool]>,
        past: usize,
        keys: usize,
    ) -> Result<(Tensor<2, Int>, Tensor<2, Int>, Tensor<4>)> {
        if keys < past + batch.seq {
            return Err(ModelError::InvalidInput(format!(
                "an attention bias of {keys} keys cannot hold {past} cached and {} new positions",
                batch.seq
            )));
        }
        let device = self.device();
        let (b, t) = (batch.batch, batch.seq);
        self.check_tokens(&batch.tokens)?;
        let mut key_valid = Vec::with_capacity(b * keys);
        let mut positions = Vec::with_capacity(b * t);
        for row in 0..b {
            let past_row = past_valid
                .map(|v| &v[row * past..(row + 1) * past])
                .unwrap_or(&[]);
            let mut count = past_row.iter().filter(|&&v| v).count();
            key_valid.extend_from_slice(past_row);
            for col in 0..t {
                let valid = batch.valid[row * t + col];
                key_valid.push(valid);
                positions.push(if valid { count as i64 } else { 0 });
                count += usize::from(valid);
            }
            key_valid.resize((row + 1) * keys, false);
        }
        self.check_positions(&positions)?;
        let tokens: Vec<i64> = batch.tokens.iter().map(|&id| id as i64).collect();
        let tokens = Tensor::from_data(TensorData::new(tokens, [b, t]), &device);
        let positions = Tensor::from_data(TensorData::new(positions, [b, t]), &device);
        let bias = attention_bias_with_room(&key_valid, b, past, t, keys, &device);
        Ok((tokens, positions, bias))
    }

    /// Fails on a token id outside the vocabulary.
    pub(crate) fn check_tokens(&self, tokens: &[u32]) -> Result<()> {
        match tokens.iter().find(|&&id| id as usize >= self.vocab_size()) {
            Some(bad) => Err(ModelError::InvalidInput(format!(
                "token id {bad} is outside the vocabulary (size {})",
                self.vocab_size()
            ))),
            None => Ok(()),
        }
    }

    /// Fails on a rotary position past the model's last.
    pub(crate) fn check_positions(&self, positions: &[i64]) -> Result<()> {
        let longest = positions.iter().copied().max().unwrap_or(0) as usize;
        if longest >= self.max_positions() {
            return Err(ModelError::InvalidInput(format!(
                "sequence of {} tokens exceeds the model's {} positions",
                longest + 1,
                self.max_positions()
            )));
        }
        Ok(())
    }
}

/// The additive attention bias `[batch, 1, seq, past + seq]` for queries at cache indices
/// `past..past + seq`: a query sees a key when the key is a real token (`key_valid`, row-major
/// `[batch, past + seq]`) and not in its future.
pub fn attention_bias(
    key_valid: &[bool],
    batch: usize,
    past: usize,
    seq: usize,
    device: &Device,
) -> Tensor<4> {
    attention_bias_with_room(key_valid, batch, past, seq, past + seq, device)
}

/// [`attention_bias`] `keys` positions wide (`key_valid` row-major `[batch, keys]`): the keys
/// after `past + seq` are masked, whatever `key_valid` says of them.
pub fn attention_bias_with_room(
    key_valid: &[bool],
    batch: usize,
    past: usize,
    seq: usize,
    keys: usize,
    device: &Device,
) -> Tensor<4> {
    let mut bias = vec![MASKED; batch * seq * keys];
    for row in 0..batch {
        for query in 0..seq {
            let base = (row * seq + query) * keys;
            for key in 0..=past + query {
                if key_valid[row * keys + key] {
                    bias[base + key] = 0.0;
                }
            }
        }
    }
    Tensor::from_data(TensorData::new(bias, [batch, 1, seq, keys]), device)
}
