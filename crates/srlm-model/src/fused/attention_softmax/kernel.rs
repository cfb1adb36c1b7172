//! The attention softmax's flex kernels, forward and backward, on rows of `f32`.

use pulp::{Arch, Simd};
use rayon::prelude::*;

use crate::fused::simd::{rows_per_task, softmax_row, sum_zip, RowBroadcast};

/// Softmax over rows of `layout.width` of `scale · scores + bias`: score row `i` reads bias row
/// `RowBroadcast::broadcast_row(i)` — a `[batch, 1, group, width]` bias broadcast over
/// `heads` (with `heads = 1`, one bias row per score row).
pub(crate) fn softmax_forward(
    scores: &[f32],
    bias: &[f32],
    layout: RowBroadcast,
    scale: f32,
) -> Vec<f32> {
    let width = layout.width;
    let rows = scores.len() / width.max(1);
    let mut probs = vec![0.0; scores.len()];
    let chunk = rows_per_task(rows, width);
    probs
        .par_chunks_mut(chunk * width)
        .zip(scores.par_chunks(chunk * width))
        .enumerate()
        .for_each(|(task, (probs, scores))| {
            forward_rows(probs, scores, bias, layout, task * chunk, scale);
        });
    probs
}

#[pulp::with_simd(forward_rows = Arch::new())]
#[inline(always)]
fn forward_rows_with<S: Simd>(
    _simd: S,
    probs: &mut [f32],
    scores: &[f32],
    bias: &[f32],
    layout: RowBroadcast,
    first_row: usize,
    scale: f32,
) {
    let width = layout.width;
    for (i, (p, s)) in probs
        .chunks_exact_mut(width)
        .zip(scores.chunks_exact(width))
        .enumerate()
    {
        let b = layout.broadcast_row(first_row + i);
        p.copy_from_slice(s);
        softmax_row(p, &bias[b * width..(b + 1) * width], scale);
    }
}

/// Softmax backward for `p = softmax(scale · s + bias)`: `ds = scale · p · (dp − Σ dp·p)`.
pub(crate) fn softmax_backward(probs: &[f32], grad: &[f32], width: usize, scale: f32) -> Vec<f32> {
    let rows = probs.len() / width.max(1);
    let mut ds = vec![0.0; probs.len()];
    let chunk = rows_per_task(rows, width);
    ds.par_chunks_mut(chunk * width)
        .zip(probs.par_chunks(chunk * width))
        .zip(grad.par_chunks(chunk * width))
        .for_each(|((ds, p), g)| backward_rows(ds, p, g, width, scale));
    ds
}

#[pulp::with_simd(backward_rows = Arch::new())]
#[inline(always)]
fn backward_rows_with<S: Simd>(
    _simd: S,
    ds: &mut [f32],
    p: &[f32],
    g: &[f32],
    width: usize,
    scale: f32,
) {
    for ((ds, p), g) in ds
        .chunks_exact_mut(width)
        .zip(p.chunks_exact(width))
        .zip(g.chunks_exact(width))
    {
        let dot = sum_zip(p, g, |p, g| p * g);
        for ((ds, &p), &g) in ds.iter_mut().zip(p).zip(g) {
            *ds = scale * p * (g - dot);
        }
    }
}
