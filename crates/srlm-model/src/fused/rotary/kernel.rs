//! Rotary embedding (rotate-half form), forward and backward.

use pulp::{Arch, Simd};
use rayon::prelude::*;

use crate::fused::simd::{rows_per_task, RowBroadcast};

/// Rotary embedding, rotate-half form: per row of `x` (`layout.width` = head dim `d`, half
/// `h = d / 2`), `y[j] = x[j]·cos[j] − x[j+h]·sin[j]` for `j < h` and
/// `y[j] = x[j]·cos[j] + x[j−h]·sin[j]` above; `cos` and `sin` rows broadcast over the heads.
pub(crate) fn rotary_forward(
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    layout: RowBroadcast,
) -> Vec<f32> {
    rotary(x, cos, sin, layout, 1.0)
}

/// Rotary backward: `dx[j] = g[j]·cos[j] + g[j+h]·sin[j+h]` for `j < h` and
/// `dx[j] = g[j]·cos[j] − g[j−h]·sin[j−h]` above.
pub(crate) fn rotary_backward(
    grad: &[f32],
    cos: &[f32],
    sin: &[f32],
    layout: RowBroadcast,
) -> Vec<f32> {
    rotary(grad, cos, sin, layout, -1.0)
}

/// Both rotary directions: `direction` 1 rotates (forward), −1 applies the transpose (the
/// backward pass; the tables are the same).
fn rotary(x: &[f32], cos: &[f32], sin: &[f32], layout: RowBroadcast, direction: f32) -> Vec<f32> {
    let width = layout.width;
    let rows = x.len() / width.max(1);
    let mut y = vec![0.0; x.len()];
    let chunk = rows_per_task(rows, width);
    y.par_chunks_mut(chunk * width)
        .zip(x.par_chunks(chunk * width))
        .enumerate()
        .for_each(|(task, (y, x))| {
            rotate_rows(y, x, cos, sin, layout, task * chunk, direction);
        });
    y
}

#[pulp::with_simd(rotate_rows = Arch::new())]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn rotate_rows_with<S: Simd>(
    _simd: S,
    y: &mut [f32],
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    layout: RowBroadcast,
    first_row: usize,
    direction: f32,
) {
    let width = layout.width;
    let half = width / 2;
    for (i, (y, x)) in y
        .chunks_exact_mut(width)
        .zip(x.chunks_exact(width))
        .enumerate()
    {
        let table = layout.broadcast_row(first_row + i) * width;
        let (c, s) = (&cos[table..table + width], &sin[table..table + width]);
        let (y_lo, y_hi) = y.split_at_mut(half);
        let (x_lo, x_hi) = x.split_at(half);
        let (c_lo, c_hi) = c.split_at(half);
        let (s_lo, s_hi) = s.split_at(half);
        if direction > 0.0 {
            for j in 0..half {
                y_lo[j] = x_lo[j] * c_lo[j] - x_hi[j] * s_lo[j];
                y_hi[j] = x_hi[j] * c_hi[j] + x_lo[j] * s_hi[j];
            }
        } else {
            for j in 0..half {
                y_lo[j] = x_lo[j] * c_lo[j] + x_hi[j] * s_hi[j];
                y_hi[j] = x_hi[j] * c_hi[j] - x_lo[j] * s_lo[j];
            }
        }
    }
}
