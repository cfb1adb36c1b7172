//! Several adapters as one. Merged one after another, adapters add their deltas:
//! `W + s₁A₁B₁ + s₂A₂B₂ = W + [A₁ A₂]·[s₁B₁; s₂B₂]`, so the iterations' adapters of a run stacked
//! along the rank are one adapter relative to the first model — exactly, not approximately. A
//! server that loads adapters (vLLM's `--enable-lora`) then serves every Mt over one base.

use super::peft::tensor_name;
use super::{LoraConfig, LoraDtype, LoraTarget};
use crate::error::{ModelError, Result};
use crate::weights::{HostTensor, WeightMap};

/// The adapters `adapters` (each its settings and its PEFT-named tensors, in the order they
/// were merged) as one adapter of rank `Σ rᵢ` and scale 1 (`alpha = rank`), on the union of
/// their targets, over `layers` layers. An adapter without a target contributes zeros there.
/// Fails on no adapter, or tensors whose widths disagree between adapters.
pub fn stack_adapters(
    adapters: &[(LoraConfig, WeightMap)],
    layers: usize,
) -> Result<(LoraConfig, WeightMap)> {
    if adapters.is_empty() {
        return Err(ModelError::InvalidInput("no adapter to stack".into()));
    }
    let rank: usize = adapters.iter().map(|(c, _)| c.rank).sum();
    let mut targets: Vec<LoraTarget> = adapters
        .iter()
        .flat_map(|(c, _)| c.targets.iter().copied())
        .collect();
    targets.sort();
    targets.dedup();
    let mut stacked = WeightMap::new("<stacked adapters>");
    for layer in 0..layers {
        for &target in &targets {
            let (a, b) = stack_one(adapters, layer, target, rank)?;
            stacked.insert(tensor_name(layer, target, "lora_A"), a);
            stacked.insert(tensor_name(layer, target, "lora_B"), b);
        }
    }
    let config = LoraConfig {
        rank,
        alpha: rank as f64,
        targets,
        rslora: false,
        dropout: 0.0,
        base_dtype: LoraDtype::F32,
        compute_dtype: LoraDtype::F32,
    };
    Ok((config, stacked))
}

/// The widths `(in, out)` of `target` in `layer`, from whichever adapter has it.
fn widths(
    adapters: &[(LoraConfig, WeightMap)],
    layer: usize,
    target: LoraTarget,
) -> Result<(usize, usize)> {
    for (_, weights) in adapters {
        let a = weights.tensors.get(&tensor_name(layer, target, "lora_A"));
        let b = weights.tensors.get(&tensor_name(layer, target, "lora_B"));
        if let (Some(a), Some(b)) = (a, b) {
            return Ok((a.shape[1], b.shape[0]));
        }
    }
    Err(ModelError::MissingTensor {
        tensor: tensor_name(layer, target, "lora_A"),
        source_desc: "every adapter stacked".into(),
    })
}

/// `lora_A` `[rank, in]` (rows of each adapter in turn) and `lora_B` `[out, rank]` (its
/// columns scaled by the adapter's scale) of one projection.
fn stack_one(
    adapters: &[(LoraConfig, WeightMap)],
    layer: usize,
    target: LoraTarget,
    rank: usize,
) -> Result<(HostTensor, HostTensor)> {
    let (d_in, d_out) = widths(adapters, layer, target)?;
    let mut a = vec![0.0f32; rank * d_in];
    let mut b = vec![0.0f32; d_out * rank];
    let mut offset = 0;
    for (config, weights) in adapters {
        let r = config.rank;
        if config.targets.contains(&target) {
            let name_a = tensor_name(layer, target, "lora_A");
            let name_b = tensor_name(layer, target, "lora_B");
            let (Some(ta), Some(tb)) = (weights.tensors.get(&name_a), weights.tensors.get(&name_b))
            else {
                return Err(ModelError::MissingTensor {
                    tensor: name_a,
                    source_desc: weights.source.clone(),
                });
            };
            for (t, name, expected) in [(ta, &name_a, [r, d_in]), (tb, &name_b, [d_out, r])] {
                if t.shape != expected {
                    return Err(ModelError::ShapeMismatch {
                        tensor: format!("{name} ({})", weights.source),
                        expected: expected.to_vec(),
                        actual: t.shape.clone(),
                    });
                }
            }
            a[offset * d_in..(offset + r) * d_in].copy_from_slice(&ta.data);
            let scale = config.scale() as f32;
            for row in 0..d_out {
                for k in 0..r {
                    b[row * rank + offset + k] = scale * tb.data[row * r + k];
                }
            }
        }
        offset += r;
    }
    Ok((
        HostTensor {
            shape: vec![rank, d_in],
            data: a,
        },
        HostTensor {
            shape: vec![d_out, rank],
            data: b,
        },
    ))
}
