//! The SwiGLU feed-forward block: `down(silu(gate(x)) · up(x))`.

use burn::module::Module;
use burn::nn::{Dropout, Linear};
use burn::tensor::Tensor;

use super::project::{project, project_each};

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
        let [gate, up] = project_each([&self.gate, &self.up], x, drop);
        let gated = crate::fused::swiglu(gate, up);
        project(&self.down, gated, drop)
    }
}
