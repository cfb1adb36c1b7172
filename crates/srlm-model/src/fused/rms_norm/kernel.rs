//! RMSNorm, forward and backward.

use pulp::{Arch, Simd};
use rayon::prelude::*;

use crate::fused::simd::{rows_per_task, sum_map, sum_zip};

/// RMSNorm forward: `y = x · r · w` per row of `width`, with `r = 1 / √(mean(x²) + ε)`.
/// Returns `y` and `r` (one per row, kept for the backward pass).
pub(crate) fn rms_norm_forward(x: &[f32], weight: &[f32], eps: f32) -> (Vec<f32>, Vec<f32>) {
    let width = weight.len();
    let rows = x.len() / width.max(1);
    let mut y = vec![0.0; x.len()];
    let mut inv = vec![0.0; rows];
    let chunk = rows_per_task(rows, width);
    y.par_chunks_mut(chunk * width)
        .zip(inv.par_chunks_mut(chunk))
        .zip(x.par_chunks(chunk * width))
        .for_each(|((y, inv), x)| forward_rows(y, inv, x, weight, eps));
    (y, inv)
}

#[pulp::with_simd(forward_rows = Arch::new())]
#[inline(always)]
fn forward_rows_with<S: Simd>(
    _simd: S,
    y: &mut [f32],
    inv: &mut [f32],
    x: &[f32],
    weight: &[f32],
    eps: f32,
) {
    let width = weight.len();
    for ((y, inv), x) in y
        .chunks_exact_mut(width)
        .zip(inv.iter_mut())
        .zip(x.chunks_exact(width))
    {
        let squares = sum_map(x, |v| v * v);
        let r = 1.0 / (squares / width as f32 + eps).sqrt();
        *inv = r;
        for ((y, &x), &w) in y.iter_mut().zip(x).zip(weight) {
            *y = x * r * w;
        }
    }
}

/// RMSNorm backward: with `u = g · w`, `dx = r·u − x · r³ · Σ(u·x) / width` per row and, when
/// `weight_grad`, `dw = Σ_rows g · x · r`.
pub(crate) fn rms_norm_backward(
    x: &[f32],
    weight: &[f32],
    inv: &[f32],
    grad: &[f32],
    weight_grad: bool,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let width = weight.len();
    let rows = inv.len();
    let mut dx = vec![0.0; x.len()];
    let chunk = rows_per_task(rows, width);
    let tasks = dx
        .par_chunks_mut(chunk * width)
        .zip(x.par_chunks(chunk * width))
        .zip(grad.par_chunks(chunk * width))
        .zip(inv.par_chunks(chunk));
    if !weight_grad {
        tasks.for_each(|(((dx, x), g), inv)| backward_rows(dx, &mut [], x, g, inv, weight));
        return (dx, None);
    }
    let dw = tasks
        .map(|(((dx, x), g), inv)| {
            let mut dw = vec![0.0f32; width];
            backward_rows(dx, &mut dw, x, g, inv, weight);
            dw
        })
        .reduce(
            || vec![0.0f32; width],
            |mut a, b| {
                for (a, b) in a.iter_mut().zip(&b) {
                    *a += b;
                }
                a
            },
        );
    (dx, Some(dw))
}

/// One task's rows of [`rms_norm_backward`]; `dw` empty when the weight's gradient is not wanted.
#[pulp::with_simd(backward_rows = Arch::new())]
#[inline(always)]
fn backward_rows_with<S: Simd>(
    _simd: S,
    dx: &mut [f32],
    dw: &mut [f32],
    x: &[f32],
    g: &[f32],
    inv: &[f32],
    weight: &[f32],
) {
    let width = weight.len();
    for (((dx, x), g), &r) in dx
        .chunks_exact_mut(width)
        .zip(x.chunks_exact(width))
        .zip(g.chunks_exact(width))
        .zip(inv)
    {
        // `u = g · w` first, into `dx`, then `Σ u · x`.
        for ((u, &g), &w) in dx.iter_mut().zip(g).zip(weight) {
            *u = g * w;
        }
        let dot = sum_zip(dx, x, |u, x| u * x);
        let coefficient = r * r * r * dot / width as f32;
        if dw.is_empty() {
            for (dx, &x) in dx.iter_mut().zip(x) {
                *dx = r * *dx - x * coefficient;
            }
        } else {
            for (((dx, &x), &g), dw) in dx.iter_mut().zip(x).zip(g).zip(dw.iter_mut()) {
                *dx = r * *dx - x * coefficient;
                *dw += g * x * r;
            }
        }
    }
}
