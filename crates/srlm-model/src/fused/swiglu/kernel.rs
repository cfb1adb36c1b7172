//! SwiGLU's gating, forward and backward.

use pulp::{Arch, Simd};
use rayon::prelude::*;

use crate::fused::simd::{sigmoid, MIN_PARALLEL_ELEMENTS};

/// SwiGLU forward: `silu(gate) · up = gate · σ(gate) · up`, element-wise.
pub(crate) fn swiglu_forward(gate: &[f32], up: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; gate.len()];
    let chunk = MIN_PARALLEL_ELEMENTS;
    out.par_chunks_mut(chunk)
        .zip(gate.par_chunks(chunk))
        .zip(up.par_chunks(chunk))
        .for_each(|((out, gate), up)| forward_chunk(out, gate, up));
    out
}

#[pulp::with_simd(forward_chunk = Arch::new())]
#[inline(always)]
fn forward_chunk_with<S: Simd>(_simd: S, out: &mut [f32], gate: &[f32], up: &[f32]) {
    for ((out, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *out = g * sigmoid(g) * u;
    }
}

/// SwiGLU backward: with `s = σ(gate)`, `d_up = grad · gate · s` and
/// `d_gate = grad · up · s · (1 + gate · (1 − s))`.
pub(crate) fn swiglu_backward(gate: &[f32], up: &[f32], grad: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut d_gate = vec![0.0; gate.len()];
    let mut d_up = vec![0.0; gate.len()];
    let chunk = MIN_PARALLEL_ELEMENTS;
    d_gate
        .par_chunks_mut(chunk)
        .zip(d_up.par_chunks_mut(chunk))
        .zip(gate.par_chunks(chunk))
        .zip(up.par_chunks(chunk))
        .zip(grad.par_chunks(chunk))
        .for_each(|((((d_gate, d_up), gate), up), grad)| {
            backward_chunk(d_gate, d_up, gate, up, grad);
        });
    (d_gate, d_up)
}

#[pulp::with_simd(backward_chunk = Arch::new())]
#[inline(always)]
fn backward_chunk_with<S: Simd>(
    _simd: S,
    d_gate: &mut [f32],
    d_up: &mut [f32],
    gate: &[f32],
    up: &[f32],
    grad: &[f32],
) {
    for ((((dg, du), &g), &u), &dy) in d_gate
        .iter_mut()
        .zip(d_up.iter_mut())
        .zip(gate)
        .zip(up)
        .zip(grad)
    {
        let s = sigmoid(g);
        *du = dy * g * s;
        *dg = dy * u * s * (1.0 + g * (1.0 - s));
    }
}
