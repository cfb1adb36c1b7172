//! Rotary position embeddings (Hugging Face's rotate-half layout), with `linear` and `llama3`
//! frequency scaling.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::config::LlamaConfig;

/// Precomputed `cos` and `sin` tables, one row per position, `head_dim` columns
/// (`[freqs, freqs]`, as Hugging Face lays them out).
#[derive(Module, Debug)]
pub(crate) struct RotaryTables {
    cos: Tensor<2>,
    sin: Tensor<2>,
    max_positions: usize,
}

/// The inverse frequencies of a config, computed in `f32` the way transformers does.
pub fn inverse_frequencies(config: &LlamaConfig) -> Vec<f32> {
    let dim = config.head_dim();
    let base = config.rope_theta as f32;
    let mut inv: Vec<f32> = (0..dim)
        .step_by(2)
        .map(|i| 1.0 / base.powf(i as f32 / dim as f32))
        .collect();
    if let Some(scaling) = &config.rope_scaling {
        let factor = scaling.factor as f32;
        match scaling.rope_type.as_str() {
            "linear" => inv.iter_mut().for_each(|f| *f /= factor),
            "llama3" => {
                let low = scaling.low_freq_factor.unwrap_or(1.0) as f32;
                let high = scaling.high_freq_factor.unwrap_or(4.0) as f32;
                let old_len = scaling.original_max_position_embeddings.unwrap_or(8192) as f32;
                let low_wavelen = old_len / low;
                let high_wavelen = old_len / high;
                for f in inv.iter_mut() {
                    let wavelen = 2.0 * std::f32::consts::PI / *f;
                    let scaled = if wavelen > low_wavelen {
                        *f / factor
                    } else {
                        *f
                    };
                    // transformers: `~(wavelen < high) * ~(wavelen > low)`; wavelengths are finite, so this is a range test.
                    let medium = (high_wavelen..=low_wavelen).contains(&wavelen);
                    *f = if medium {
                        let smooth = (old_len / wavelen - low) / (high - low);
                        (1.0 - smooth) * scaled / factor + smooth * scaled
                    } else {
                        scaled
                    };
                }
            }
            _ => {}
        }
    }
    inv
}

impl RotaryTables {
    /// Builds the tables for positions `0..config.positions()`.
    pub(crate) fn new(config: &LlamaConfig, device: &Device) -> Self {
        let inv = inverse_frequencies(config);
        let dim = config.head_dim();
        let max_positions = config.positions();
        let mut cos = Vec::with_capacity(max_positions * dim);
        let mut sin = Vec::with_capacity(max_positions * dim);
        for pos in 0..max_positions {
            for _ in 0..2 {
                for f in &inv {
                    let angle = pos as f32 * f;
                    cos.push(angle.cos());
                    sin.push(angle.sin());
                }
            }
        }
        let shape = [max_positions, dim];
        RotaryTables {
            cos: Tensor::from_data(TensorData::new(cos, shape), device),
            sin: Tensor::from_data(TensorData::new(sin, shape), device),
            max_positions,
        }
    }

    /// The number of positions the tables cover.
    pub(crate) fn max_positions(&self) -> usize {
        self.max_positions
    }

    /// `cos` and `sin` for each position of `positions` (`[batch, seq]`), shaped
    /// `[batch, 1, seq, head_dim]` to broadcast over heads.
    pub(crate) fn lookup(&self, positions: Tensor<2, Int>) -> (Tensor<4>, Tensor<4>) {
        let [batch, seq] = positions.dims();
        let flat = positions.reshape([batch * seq]);
        let [_, dim] = self.cos.dims();
        let cos = self
            .cos
            .clone()
            .select(0, flat.clone())
            .reshape([batch, 1, seq, dim]);
        let sin = self
            .sin
            .clone()
            .select(0, flat)
            .reshape([batch, 1, seq, dim]);
        (cos, sin)
    }
}

/// Applies the rotation to `x` (`[batch, heads, seq, head_dim]`): `x·cos + rotate_half(x)·sin`
/// (one fused pass where [`crate::fused::rotary`] runs fused).
pub(crate) fn apply_rotary(x: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    crate::fused::rotary(x, cos, sin)
}
