//! The attention softmax and the output projection's log-softmax over vocabulary chunks.

use pulp::{Arch, Simd};
use rayon::prelude::*;

use super::{exp, max, rows_per_task, sum_map, sum_zip, RowBroadcast};

/// `row ← softmax(scale · row + bias)` in place; returns the row's `log Σ exp(scale · row +
/// bias)`. Inlined into its callers' vectorised loops.
#[inline(always)]
pub(crate) fn softmax_row(row: &mut [f32], bias: &[f32], scale: f32) -> f32 {
    for (s, &b) in row.iter_mut().zip(bias) {
        *s = scale * *s + b;
    }
    let max = max(row);
    for s in row.iter_mut() {
        *s = exp(*s - max);
    }
    let sum = sum_map(row, |s| s);
    let norm = 1.0 / sum;
    for s in row.iter_mut() {
        *s *= norm;
    }
    max + sum.ln()
}

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

/// The online log-sum-exp over vocabulary chunks: folds one chunk of logits (`rows × width`,
/// vocabulary ids `start..start + width`) into each row's running maximum and sum
/// (`Σ exp(z − max)`, f64 across chunks), and picks each row's target logit when the target
/// falls in the chunk.
pub(crate) fn log_sum_exp_fold(
    logits: &[f32],
    width: usize,
    start: usize,
    targets: &[u32],
    state: &mut [LogSumExpRow],
) {
    let rows = state.len();
    let chunk = rows_per_task(rows, width);
    state
        .par_chunks_mut(chunk)
        .zip(logits.par_chunks(chunk * width))
        .zip(targets.par_chunks(chunk))
        .for_each(|((state, logits), targets)| {
            fold_rows(state, logits, targets, width, start);
        });
}

#[pulp::with_simd(fold_rows = Arch::new())]
#[inline(always)]
fn fold_rows_with<S: Simd>(
    _simd: S,
    state: &mut [LogSumExpRow],
    logits: &[f32],
    targets: &[u32],
    width: usize,
    start: usize,
) {
    for ((row, z), &target) in state
        .iter_mut()
        .zip(logits.chunks_exact(width))
        .zip(targets)
    {
        let max = row.max.max(max(z));
        let sum = sum_map(z, |v| exp(v - max));
        row.sum = row.sum * f64::from(exp(row.max - max)) + f64::from(sum);
        row.max = max;
        let target = target as usize;
        if (start..start + width).contains(&target) {
            row.target = z[target - start];
        }
    }
}

/// One row's running state in [`log_sum_exp_fold`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogSumExpRow {
    pub(crate) max: f32,
    pub(crate) sum: f64,
    pub(crate) target: f32,
}

impl LogSumExpRow {
    pub(crate) const EMPTY: LogSumExpRow = LogSumExpRow {
        max: f32::NEG_INFINITY,
        sum: 0.0,
        target: f32::NEG_INFINITY,
    };

    /// `log Σ exp(z)` over everything folded in.
    pub(crate) fn log_sum_exp(&self) -> f32 {
        (f64::from(self.max) + self.sum.ln()) as f32
    }
}

/// Turns one chunk of logits (`rows × width`, ids `start..`) into the gradient of
/// `Σ_rows grad · log_softmax(z)[target]` in place: `grad · ([j = target] − exp(z − lse))`.
pub(crate) fn log_softmax_target_grad(
    logits: &mut [f32],
    width: usize,
    start: usize,
    targets: &[u32],
    lse: &[f32],
    grad: &[f32],
) {
    let rows = lse.len();
    let chunk = rows_per_task(rows, width);
    logits
        .par_chunks_mut(chunk * width)
        .zip(targets.par_chunks(chunk))
        .zip(lse.par_chunks(chunk))
        .zip(grad.par_chunks(chunk))
        .for_each(|(((logits, targets), lse), grad)| {
            target_grad_rows(logits, targets, lse, grad, width, start);
        });
}

#[pulp::with_simd(target_grad_rows = Arch::new())]
#[inline(always)]
fn target_grad_rows_with<S: Simd>(
    _simd: S,
    logits: &mut [f32],
    targets: &[u32],
    lse: &[f32],
    grad: &[f32],
    width: usize,
    start: usize,
) {
    for (((z, &target), &lse), &g) in logits
        .chunks_exact_mut(width)
        .zip(targets)
        .zip(lse)
        .zip(grad)
    {
        for z in z.iter_mut() {
            *z = -g * exp(*z - lse);
        }
        let target = target as usize;
        if (start..start + width).contains(&target) {
            z[target - start] += g;
        }
    }
}
