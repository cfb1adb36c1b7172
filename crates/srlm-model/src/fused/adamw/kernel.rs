//! AdamW's update, in place.

use pulp::{Arch, Simd};
use rayon::prelude::*;

use super::AdamWStep;
use crate::fused::simd::MIN_PARALLEL_ELEMENTS;

/// AdamW's update of one parameter in place (PyTorch's order of operations):
/// `p ← p·(1 − lr·wd)`, `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
/// `p ← p − lr/bias₁ · m / (√v / √bias₂ + ε)`.
pub(crate) fn adamw_update(
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    step: &AdamWStep,
) {
    let chunk = MIN_PARALLEL_ELEMENTS * 4;
    let coefficients = Coefficients {
        decay: (1.0 - step.lr * step.weight_decay) as f32,
        beta1: step.beta1 as f32,
        beta2: step.beta2 as f32,
        one_minus_beta1: (1.0 - step.beta1) as f32,
        one_minus_beta2: (1.0 - step.beta2) as f32,
        sqrt_bias2: step.bias_correction2.sqrt() as f32,
        eps: step.eps as f32,
        rate: (step.lr / step.bias_correction1) as f32,
    };
    param
        .par_chunks_mut(chunk)
        .zip(grad.par_chunks(chunk))
        .zip(m.par_chunks_mut(chunk))
        .zip(v.par_chunks_mut(chunk))
        .for_each(|(((p, g), m), v)| update_chunk(p, g, m, v, coefficients));
}

/// The update's per-step scalars, in f32.
#[derive(Debug, Clone, Copy)]
struct Coefficients {
    decay: f32,
    beta1: f32,
    beta2: f32,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    sqrt_bias2: f32,
    eps: f32,
    rate: f32,
}

#[pulp::with_simd(update_chunk = Arch::new())]
#[inline(always)]
fn update_chunk_with<S: Simd>(
    _simd: S,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    c: Coefficients,
) {
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let decayed = *p * c.decay;
        *m = *m * c.beta1 + g * c.one_minus_beta1;
        *v = *v * c.beta2 + g * g * c.one_minus_beta2;
        let denom = v.sqrt() / c.sqrt_bias2 + c.eps;
        *p = decayed - *m / denom * c.rate;
    }
}
