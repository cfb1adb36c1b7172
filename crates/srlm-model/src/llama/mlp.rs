//! The SwiGLU feed-forward block: `down(silu(gate(x)) · up(x))`.

use burn::module::Module;
use burn::nn::Linear;
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
}

impl Mlp {
    /// Applies the block to `[batch, seq, hidden]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let gated = crate::fused::swiglu(project(&self.gate, x.clone()), project(&self.up, x));
        project(&self.down, gated)
    }
}
