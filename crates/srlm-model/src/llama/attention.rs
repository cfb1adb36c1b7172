//! Grouped-query self-attention with rotary embeddings and an additive attention bias.

use burn::module::Module;
use burn::nn::{Dropout, Linear};
use burn::tensor::activation::softmax;
use burn::tensor::Tensor;

use super::cache::KvCache;
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
    /// Additive bias `[batch, 1, seq, past + seq]`: 0 where a query may look, a large negative
    /// number elsewhere.
    pub(crate) bias: Tensor<4>,
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
            heads,
            kv_heads,
            head_dim,
        }
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
        let q = self
            .q
            .forward(x.clone())
            .reshape([b, t, h, d])
            .swap_dims(1, 2);
        let k = self
            .k
            .forward(x.clone())
            .reshape([b, t, kvh, d])
            .swap_dims(1, 2);
        let v = self.v.forward(x).reshape([b, t, kvh, d]).swap_dims(1, 2);
        let q = apply_rotary(q, ctx.cos.clone(), ctx.sin.clone());
        let k = apply_rotary(k, ctx.cos.clone(), ctx.sin.clone());
        let (k, v) = match cache {
            Some((cache, layer)) => cache.append(layer, k, v),
            None => (k, v),
        };
        let k = repeat_kv(k, h / kvh);
        let v = repeat_kv(v, h / kvh);
        let scale = 1.0 / (d as f64).sqrt();
        let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale) + ctx.bias.clone();
        let probs = self.dropout.forward(softmax(scores, 3));
        let out = probs.matmul(v).swap_dims(1, 2).reshape([b, t, h * d]);
        self.o.forward(out)
    }
}

/// `[b, kv_heads, t, d]` → `[b, kv_heads · n_rep, t, d]`, each key/value head repeated for the
/// query heads of its group (Hugging Face's `repeat_kv`).
fn repeat_kv(x: Tensor<4>, n_rep: usize) -> Tensor<4> {
    if n_rep == 1 {
        return x;
    }
    let [b, kvh, t, d] = x.dims();
    x.unsqueeze_dim::<5>(2)
        .expand([b, kvh, n_rep, t, d])
        .reshape([b, kvh * n_rep, t, d])
}
