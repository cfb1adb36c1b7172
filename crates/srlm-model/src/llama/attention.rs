//! Grouped-query self-attention with rotary embeddings and an additive attention bias.

use burn::module::Module;
use burn::nn::{Dropout, Linear};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::Tensor;

use super::cache::KvCache;
use super::project::{project, project_each};
use crate::rope::apply_rotary;

/// Self-attention with `heads` query heads sharing `kv_heads` key/value heads.
#[derive(Module, Debug)]
pub struct Attention {
    /// `q_proj`.
    pub q: Linear,
    /// `k_proj`.
    pub k: Linear,
    /// `v_proj`.
    pub v: Linear,
    /// `o_proj`.
    pub o: Linear,
    /// Dropout on the attention probabilities (training only).
    pub dropout: Dropout,
    /// Dropout on LoRA adapters' input (training only; 0 without adapters).
    pub(crate) lora_dropout: Dropout,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

/// Per-step inputs shared by every layer.
pub(crate) struct StepContext {
    /// `[batch, 1, seq, head_dim]`.
    pub(crate) cos: Tensor<4>,
    /// `[batch, 1, seq, head_dim]`.
    pub(crate) sin: Tensor<4>,
    /// Additive bias `[batch, 1, groups · seq, past + seq]`: 0 where a query may look, a large
    /// negative number elsewhere; the `[batch, 1, seq, past + seq]` bias repeated once per query
    /// head of a key/value head (`groups = heads / kv_heads`), matching the grouped queries.
    pub(crate) bias: Tensor<4>,
}

impl StepContext {
    /// The context for `groups` query heads per key/value head.
    pub(crate) fn grouped(cos: Tensor<4>, sin: Tensor<4>, bias: Tensor<4>, groups: usize) -> Self {
        let bias = if groups > 1 {
            bias.repeat_dim(2, groups)
        } else {
            bias
        };
        StepContext { cos, sin, bias }
    }
}

impl Attention {
    /// Assembles the block from its projections.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        q: Linear,
        k: Linear,
        v: Linear,
        o: Linear,
        dropout: Dropout,
        heads: usize,
        kv_heads: usize,
        head_dim: usize,
    ) -> Self {
        Attention {
            q,
            k,
            v,
            o,
            dropout,
            lora_dropout: burn::nn::DropoutConfig::new(0.0).init(),
            heads,
            kv_heads,
            head_dim,
        }
    }

    /// Query heads per key/value head.
    pub(crate) fn groups(&self) -> usize {
        self.heads / self.kv_heads
    }

    /// `x`: `[batch, seq, hidden]`. With a cache, this step's keys and values are appended to
    /// layer `layer` and attention covers every cached position.
    pub(crate) fn forward(
        &self,
        x: Tensor<3>,
        ctx: &StepContext,
        cache: Option<(&mut KvCache, usize)>,
    ) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let (h, kvh, d) = (self.heads, self.kv_heads, self.head_dim);
        let [q, k, v] = project_each([&self.q, &self.k, &self.v], x, &self.lora_dropout);
        let q = q.reshape([b, t, h, d]).swap_dims(1, 2);
        let k = k.reshape([b, t, kvh, d]).swap_dims(1, 2);
        let v = v.reshape([b, t, kvh, d]).swap_dims(1, 2);
        let q = apply_rotary(q, ctx.cos.clone(), ctx.sin.clone());
        let k = apply_rotary(k, ctx.cos.clone(), ctx.sin.clone());
        let (k, v) = match cache {
            Some((cache, layer)) => cache.append(layer, k, v),
            None => (k, v),
        };
        // Grouped-query attention without copying keys and values `h / kvh` times: the
        // queries of each key/value head are stacked along the sequence axis,
        // `[b, h, t, d]` → `[b, kvh, (h / kvh)·t, d]` (head `g·n + r` becomes rows `r·t..`),
        // against a bias repeated the same way (see `StepContext::grouped`).
        let q = q.reshape([b, kvh, (h / kvh) * t, d]);
        let scale = 1.0 / (d as f64).sqrt();
        let half = q.dtype() != burn::tensor::DType::F32;
        let out = if (q.is_autodiff() || half) && self.dropout.prob == 0.0 {
            // Training: burn's fused attention has no backward of its own (autodiff decomposes
            // it), so attention runs as one operation with its own backward pass, the scores
            // recomputed tile by tile instead of kept (on flex; composed elsewhere). bf16
            // activations take it without autodiff too (a checkpointed layer's recorded pass):
            // its scores and softmax are f32, burn's are not.
            crate::fused::attention(q, k, v, ctx.bias.clone(), scale)
        } else if q.is_autodiff() {
            // Training with dropout on the probabilities: they are written out; the scale,
            // bias and softmax are one fused pass each way.
            let scores = q.matmul(k.swap_dims(2, 3));
            let probs = crate::fused::attention_softmax(scores, ctx.bias.clone(), scale);
            let probs = self.dropout.forward(probs);
            probs.matmul(v)
        } else {
            // Inference: the backend's fused scaled-dot-product attention (on flex: one pass
            // per (batch, head) with a fused softmax, threaded), the bias broadcast over heads.
            let options = AttentionModuleOptions {
                scale: Some(scale),
                softcap: None,
                is_causal: false,
            };
            attention(q, k, v, None, Some(ctx.bias.clone()), options)
        };
        let out = out.reshape([b, h, t, d]);
        project(
            &self.o,
            out.swap_dims(1, 2).reshape([b, t, h * d]),
            &self.lora_dropout,
        )
    }
}
