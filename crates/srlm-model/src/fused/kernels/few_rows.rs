//! `x · w` for a few rows (decoding a small batch): the weight streamed from memory once.
//!
//! For 2–16 rows `gemm` packs the whole weight matrix into its own layout on every call and
//! then reads the packed copy: three passes over weights that do not fit in cache, where one
//! would do. A decode step at batch 4 spent 3.7× the time of batch 1 in its projections
//! (docs/performance.md). Here each rayon task owns a band of output columns and walks the
//! weight's rows through it four at a time, adding `x[r, k] · w[k, band]` into every row's
//! band of outputs (held in L1): the weight is read once, contiguously, and each of its loads
//! feeds `rows` fused multiply-adds.

use pulp::{Arch, Simd};
use rayon::prelude::*;

/// Output columns a task computes at once: `rows × BAND` outputs stay in L1 (16 KiB at 16
/// rows) while the weight's rows stream past.
const BAND: usize = 256;

/// `x · w`: `x` `[rows, k]`, `w` `[k, n]`, both row-major; returns `[rows, n]` row-major. Sums
/// over `k` in order, one fused multiply-add per term.
pub(crate) fn few_rows_matmul(x: &[f32], w: &[f32], rows: usize, k: usize, n: usize) -> Vec<f32> {
    // Whole SIMD registers of columns per task.
    let per_task = n.div_ceil(tasks()).div_ceil(16) * 16;
    in_column_bands(rows, n, per_task, |start, end| {
        let mut task = vec![0.0; rows * (end - start)];
        for j in (start..end).step_by(BAND) {
            let width = BAND.min(end - j);
            let band = Rows {
                stride: end - start,
                offset: j - start,
                width,
            };
            accumulate_band(&mut task, band, x, w, (rows, k, n), j);
        }
        task
    })
}

/// Two rayon tasks per thread.
fn tasks() -> usize {
    rayon::current_num_threads().max(1) * 2
}

/// The `[rows, n]` outputs, computed on rayon in bands of `per_task` columns: `band(start, end)`
/// returns the `[rows, end - start]` outputs of columns `start..end`.
fn in_column_bands(
    rows: usize,
    n: usize,
    per_task: usize,
    band: impl Fn(usize, usize) -> Vec<f32> + Sync,
) -> Vec<f32> {
    let mut out = vec![0.0; rows * n];
    if rows == 0 || n == 0 {
        return out;
    }
    let starts: Vec<usize> = (0..n).step_by(per_task.max(1)).collect();
    let bands: Vec<Vec<f32>> = starts
        .par_iter()
        .map(|&start| band(start, (start + per_task).min(n)))
        .collect();
    for (&start, values) in starts.iter().zip(&bands) {
        let width = values.len() / rows;
        for (r, row) in values.chunks_exact(width).enumerate() {
            out[r * n + start..r * n + start + width].copy_from_slice(row);
        }
    }
    out
}

/// Where a band's rows lie in a task's outputs: row `r` is `offset + r · stride ..` for
/// `width` columns.
#[derive(Clone, Copy)]
struct Rows {
    stride: usize,
    offset: usize,
    width: usize,
}

/// `out[r, band] += Σₖ x[r, k] · w[k, first..first + width]` for every row `r`, the band's
/// rows laid out in `out` as `band` says (zeros from the caller: the sum is exactly the
/// product).
#[pulp::with_simd(accumulate_band = Arch::new())]
#[inline(always)]
fn accumulate_band_with<S: Simd>(
    _simd: S,
    out: &mut [f32],
    band: Rows,
    x: &[f32],
    w: &[f32],
    (rows, k, n): (usize, usize, usize),
    first: usize,
) {
    let width = band.width;
    // Row `r`'s outputs of this band.
    let row_out = |r: usize| {
        let at = r * band.stride + band.offset;
        at..at + width
    };
    let row = |kk: usize| &w[kk * n + first..kk * n + first + width];
    let mut kk = 0;
    while kk + 4 <= k {
        let (w0, w1, w2, w3) = (row(kk), row(kk + 1), row(kk + 2), row(kk + 3));
        for r in 0..rows {
            let a = &x[r * k + kk..r * k + kk + 4];
            let o = &mut out[row_out(r)];
            for ((((o, &p), &q), &s), &t) in o.iter_mut().zip(w0).zip(w1).zip(w2).zip(w3) {
                *o = a[3].mul_add(t, a[2].mul_add(s, a[1].mul_add(q, a[0].mul_add(p, *o))));
            }
        }
        kk += 4;
    }
    for kk in kk..k {
        let w0 = row(kk);
        for r in 0..rows {
            let a = x[r * k + kk];
            for (o, &p) in out[row_out(r)].iter_mut().zip(w0) {
                *o = a.mul_add(p, *o);
            }
        }
    }
}

/// `x · eᵀ`: `x` `[rows, k]`, `e` `[n, k]`, both row-major (a tied output projection: `e` is
/// the embedding); returns `[rows, n]` row-major. Each of `e`'s rows is read once and dotted
/// with every row of `x` (held in cache), in 16 partial sums.
pub(crate) fn few_rows_matmul_transposed(
    x: &[f32],
    e: &[f32],
    rows: usize,
    k: usize,
    n: usize,
) -> Vec<f32> {
    in_column_bands(rows, n, n.div_ceil(tasks()), |start, end| {
        let mut band = vec![0.0; rows * (end - start)];
        if k == 0 {
            return band;
        }
        dot_rows(&mut band, x, &e[start * k..end * k], rows, k);
        band
    })
}

/// `band[r, v] = x[r, ·] · e[v, ·]` for the rows `v` of `e` (`band` `[rows, e.len() / k]`).
#[pulp::with_simd(dot_rows = Arch::new())]
#[inline(always)]
fn dot_rows_with<S: Simd>(_simd: S, band: &mut [f32], x: &[f32], e: &[f32], rows: usize, k: usize) {
    let width = e.len() / k.max(1);
    for (v, e_row) in e.chunks_exact(k).enumerate() {
        for (r, x_row) in x.chunks_exact(k).take(rows).enumerate() {
            band[r * width + v] = super::sum_zip(x_row, e_row, |p, q| p * q);
        }
    }
}
