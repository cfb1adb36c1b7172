//! RMSNorm as Hugging Face's `LlamaRMSNorm` computes it: `w · x · rsqrt(mean(x²) + ε)`.

use burn::module::{Module, Param};
use burn::tensor::{FloatDType, Tensor};

/// Root-mean-square layer norm with a learned scale.
#[derive(Module, Debug)]
pub struct RmsNorm {
    /// The scale, `[hidden]`.
    pub weight: Param<Tensor<1>>,
    eps: f64,
}

impl RmsNorm {
    /// A norm with the given scale.
    pub fn new(weight: Tensor<1>, eps: f64) -> Self {
        RmsNorm {
            weight: Param::from_tensor(weight),
            eps,
        }
    }

    /// Normalises over the last dimension.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        // The scale at the activations' dtype, as transformers multiplies it.
        let weight = self.weight.val().cast(FloatDType::from(x.dtype()));
        crate::fused::rms_norm(x, weight, self.eps)
    }
}
