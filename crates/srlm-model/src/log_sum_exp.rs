//! `log Σ exp` over a tensor's last dimension, summed in two levels: the one normaliser of
//! log-probabilities, shared by the composed paths (`logprob.rs`) and the fused operations'
//! references and CubeCL arms (`fused/*/reference.rs`, `fused/attention/cube.rs`). A leaf: it
//! imports nothing of the crate.

use burn::tensor::Tensor;

/// Chunk width of the two-level sum in [`log_sum_exp`].
const CHUNK: usize = 256;

/// `log Σ exp(x)` over the last dimension, `[b, t, v]` → `[b, t, 1]`.
///
/// A plain `f32` sum over a 50k vocabulary drifts by ~1e-4 per token, which adds up over a
/// response (measured on SmolLM2: 1.5e-3 over 11 tokens against transformers). Summing chunks
/// of 256 first, then the chunk sums, keeps each partial sum short.
pub fn log_sum_exp(x: Tensor<3>) -> Tensor<3> {
    let [b, t, v] = x.dims();
    let max = x.clone().max_dim(2).detach();
    let e = (x - max.clone()).exp();
    let whole = v / CHUNK * CHUNK;
    let mut sum = if whole > 0 {
        e.clone()
            .slice([0..b, 0..t, 0..whole])
            .reshape([b, t, whole / CHUNK, CHUNK])
            .sum_dim(3)
            .reshape([b, t, whole / CHUNK])
            .sum_dim(2)
    } else {
        Tensor::zeros([b, t, 1], &e.device())
    };
    if whole < v {
        sum = sum + e.slice([0..b, 0..t, whole..v]).sum_dim(2);
    }
    sum.log() + max
}
