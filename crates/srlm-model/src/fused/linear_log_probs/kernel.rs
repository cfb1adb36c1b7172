//! The flex kernels of the output projection's log-softmax over vocabulary chunks: the online
//! log-sum-exp forward, the gradient of the target log-probabilities backward.

use pulp::{Arch, Simd};
use rayon::prelude::*;

use crate::fused::simd::{exp, max, rows_per_task, sum_map};

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
