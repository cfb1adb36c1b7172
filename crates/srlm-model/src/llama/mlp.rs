//! The SwiGLU feed-forward block: `down(silu(gate(x)) · up(x))`.

use burn::module::Module;
use burn::nn::{Dropout, Linear};
use burn::tensor::Tensor;

use super::project::project;

/// SwiGLU MLP.
#[derive(Module, Debug)]
pub struct Mlp {
    /// `gate_proj`.
    pub gate: Linear,
    /// `up_proj`.
    pub up: Linear,
    /// `down_proj`.
    pub down: Linear,
    /// Dropout on LoRA adapters' input (training only; 0 without adapters).
    pub(crate) lora_dropout: Dropout,
}

impl Mlp {
    /// Applies the block to `[batch, seq, hidden]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let drop = &self.lora_dropout;
        let gated = crate::fused::swiglu(
            project(&self.gate, x.clone(), drop),
            project(&self.up, x, drop),
        );
        project(&self.down, gated, drop)
    }
}
