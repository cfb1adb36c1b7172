//! One decoder layer: pre-norm attention and pre-norm MLP, each with a residual connection.

use burn::module::Module;
use burn::nn::Dropout;
use burn::tensor::Tensor;

use super::attention::{Attention, StepContext};
use super::cache::KvCache;
use super::mlp::Mlp;
use super::norm::RmsNorm;

/// A Llama decoder layer.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    /// `input_layernorm`.
    pub input_norm: RmsNorm,
    /// `self_attn`.
    pub attention: Attention,
    /// `post_attention_layernorm`.
    pub post_attention_norm: RmsNorm,
    /// `mlp`.
    pub mlp: Mlp,
    /// Dropout on each residual branch's output (training only; 0 by default).
    pub dropout: Dropout,
}

impl DecoderLayer {
    pub(crate) fn forward(
        &self,
        x: Tensor<3>,
        ctx: &StepContext,
        cache: Option<(&mut KvCache, usize)>,
    ) -> Tensor<3> {
        let attended = self
            .attention
            .forward(self.input_norm.forward(x.clone()), ctx, cache);
        let x = x + self.dropout.forward(attended);
        let fed = self
            .mlp
            .forward(self.post_attention_norm.forward(x.clone()));
        x + self.dropout.forward(fed)
    }
}
