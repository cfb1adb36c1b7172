//! AdamW's update, in place.

use pulp::Arch;
use rayon::prelude::*;

use super::MIN_PARALLEL_ELEMENTS;
use crate::fused::AdamWStep;

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
    let decay = (1.0 - step.lr * step.weight_decay) as f32;
    let (beta1, beta2) = (step.beta1 as f32, step.beta2 as f32);
    let (one_minus_beta1, one_minus_beta2) = ((1.0 - step.beta1) as f32, (1.0 - step.beta2) as f32);
    let sqrt_bias2 = step.bias_correction2.sqrt() as f32;
    let eps = step.eps as f32;
    let rate = (step.lr / step.bias_correction1) as f32;
    param
        .par_chunks_mut(chunk)
        .zip(grad.par_chunks(chunk))
        .zip(m.par_chunks_mut(chunk))
        .zip(v.par_chunks_mut(chunk))
        .for_each(|(((p, g), m), v)| {
            Arch::new().dispatch(
                #[inline(always)]
                || {
                    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                    {
                        let decayed = *p * decay;
                        *m = *m * beta1 + g * one_minus_beta1;
                        *v = *v * beta2 + g * g * one_minus_beta2;
                        let denom = v.sqrt() / sqrt_bias2 + eps;
                        *p = decayed - *m / denom * rate;
                    }
                },
            )
        });
}
