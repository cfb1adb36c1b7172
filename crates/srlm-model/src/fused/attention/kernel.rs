//! Attention forward and backward on flex without the scores of the whole sequence ever held
//! (the recomputation of FlashAttention): the forward pass keeps only the output and each
//! query's `log Σ exp`, and the backward pass recomputes the probabilities tile by tile.
//!
//! A tile is [`TILE_ROWS`] queries of one (batch, head) against all of that head's keys:
//! `TILE_ROWS × keys` f32 scores (256 KiB at 1,024 keys, within a core's L2), so each row's
//! softmax is exact in one pass and needs no online rescaling. The four products per tile are
//! single-threaded `gemm` calls; rayon runs the tiles in parallel. Grouped-query attention is
//! the caller's stacking of a key/value head's query heads along the rows (see
//! `llama::attention`): keys and values are never repeated.

use pulp::{Arch, Simd};
use rayon::prelude::*;

use crate::fused::simd::{exp, softmax_row, sum_zip};

/// Queries per tile.
const TILE_ROWS: usize = 64;

/// Tiles whose `dK`, `dV` contributions the backward pass sums into one partial (in order).
const TILES_PER_PARTIAL: usize = 4;

/// The shapes of one attention: `q` `[batch, heads, rows, dim]`, `k` and `v` `[batch, heads,
/// keys, dim]`, the bias `[batch, bias_heads, rows, keys]` with `bias_heads` 1 (shared by the
/// heads) or `heads`; all row-major and contiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AttentionDims {
    pub(crate) batch: usize,
    pub(crate) heads: usize,
    pub(crate) rows: usize,
    pub(crate) keys: usize,
    pub(crate) dim: usize,
    pub(crate) bias_heads: usize,
}

impl AttentionDims {
    /// Head `head` (`batch · heads` of them)'s keys, values and bias rows.
    fn head<'a>(&self, head: usize, k: &'a [f32], v: &'a [f32], bias: &'a [f32]) -> HeadData<'a> {
        let kv = self.keys * self.dim;
        let bias_head = if self.bias_heads == 1 {
            head / self.heads
        } else {
            head
        };
        let bias_len = self.rows * self.keys;
        HeadData {
            k: &k[head * kv..(head + 1) * kv],
            v: &v[head * kv..(head + 1) * kv],
            bias: &bias[bias_head * bias_len..(bias_head + 1) * bias_len],
        }
    }
}

struct HeadData<'a> {
    k: &'a [f32],
    v: &'a [f32],
    bias: &'a [f32],
}

/// A strided `rows × cols` view of a slice: element `(i, j)` at `i · rs + j · cs`.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> Mat<'a> {
    /// `data` as a row-major `rows × cols` matrix.
    fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "matrix larger than its slice");
        Mat {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    fn t(self) -> Self {
        Mat {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }
}

/// `dst = [dst +] factor · lhs · rhs`, `dst` row-major `lhs.rows × rhs.cols`, on this thread.
#[allow(unsafe_code)]
fn matmul(dst: &mut [f32], accumulate: bool, factor: f32, lhs: Mat<'_>, rhs: Mat<'_>) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "inner dimensions differ");
    assert_eq!(dst.len(), m * n, "destination of the wrong size");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    // SAFETY: every index `gemm` reads, `(i, j) → i·rs + j·cs` for `i < rows`, `j < cols`, is
    // within its slice: `Mat::row_major` checked `rows · cols ≤ len` and `t` only swaps the
    // roles; `dst` holds exactly `m × n` elements, row-major. `gemm` reads `dst` only when
    // `accumulate`, and the slices do not overlap (`dst` is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            1.0,
            factor,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `softmax(scale · s + bias)` of each row of `scores` in place, and each row's `log Σ exp`.
#[pulp::with_simd(softmax_rows = Arch::new())]
#[inline(always)]
fn softmax_rows_with<S: Simd>(
    _simd: S,
    scores: &mut [f32],
    bias: &[f32],
    keys: usize,
    scale: f32,
    lse: &mut [f32],
) {
    for ((row, bias), lse) in scores
        .chunks_exact_mut(keys)
        .zip(bias.chunks_exact(keys))
        .zip(lse.iter_mut())
    {
        *lse = softmax_row(row, bias, scale);
    }
}

/// The probabilities again from the scores `scale · s + bias` and each row's `log Σ exp`.
#[pulp::with_simd(probabilities = Arch::new())]
#[inline(always)]
fn probabilities_with<S: Simd>(
    _simd: S,
    scores: &mut [f32],
    bias: &[f32],
    keys: usize,
    scale: f32,
    lse: &[f32],
) {
    for ((row, bias), &lse) in scores
        .chunks_exact_mut(keys)
        .zip(bias.chunks_exact(keys))
        .zip(lse)
    {
        for (s, &b) in row.iter_mut().zip(bias) {
            *s = exp(scale * *s + b - lse);
        }
    }
}

/// `dS = scale · P ∘ (dP − Σⱼ dOᵢⱼ·Oᵢⱼ)` in place of `dP`, row by row.
#[pulp::with_simd(score_grads = Arch::new())]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn score_grads_with<S: Simd>(
    _simd: S,
    d_p: &mut [f32],
    p: &[f32],
    d_o: &[f32],
    o: &[f32],
    keys: usize,
    dim: usize,
    scale: f32,
) {
    for (((d_p, p), d_o), o) in d_p
        .chunks_exact_mut(keys)
        .zip(p.chunks_exact(keys))
        .zip(d_o.chunks_exact(dim))
        .zip(o.chunks_exact(dim))
    {
        let dot = sum_zip(d_o, o, |a, b| a * b);
        for (d, &p) in d_p.iter_mut().zip(p) {
            *d = scale * p * (*d - dot);
        }
    }
}

/// `(softmax(scale · q·kᵀ + bias) · v, log Σ exp of each query's scores)`: `[batch, heads,
/// rows, dim]` and `[batch, heads, rows]`.
pub(crate) fn forward(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    bias: &[f32],
    dims: AttentionDims,
    scale: f32,
) -> (Vec<f32>, Vec<f32>) {
    let AttentionDims {
        rows, keys, dim, ..
    } = dims;
    let heads = dims.batch * dims.heads;
    let mut out = vec![0.0f32; heads * rows * dim];
    let mut lse = vec![0.0f32; heads * rows];
    if rows == 0 || dim == 0 || keys == 0 {
        return (out, lse);
    }
    out.par_chunks_mut(rows * dim)
        .zip(lse.par_chunks_mut(rows))
        .enumerate()
        .for_each(|(head, (out, lse))| {
            let data = dims.head(head, k, v, bias);
            let q = &q[head * rows * dim..(head + 1) * rows * dim];
            out.par_chunks_mut(TILE_ROWS * dim)
                .zip(lse.par_chunks_mut(TILE_ROWS))
                .enumerate()
                // One scores buffer per rayon job, reused by its tiles (`matmul` overwrites it).
                .for_each_init(Vec::new, |scores, (tile, (out, lse))| {
                    let (first, n) = (tile * TILE_ROWS, lse.len());
                    let q = Mat::row_major(&q[first * dim..(first + n) * dim], n, dim);
                    let bias = &data.bias[first * keys..(first + n) * keys];
                    scores.resize(TILE_ROWS * keys, 0.0);
                    let p = &mut scores[..n * keys];
                    matmul(p, false, 1.0, q, Mat::row_major(data.k, keys, dim).t());
                    softmax_rows(p, bias, keys, scale, lse);
                    let p = Mat::row_major(p, n, keys);
                    matmul(out, false, 1.0, p, Mat::row_major(data.v, keys, dim));
                });
        });
    (out, lse)
}

/// The forward pass's saved tensors and the output's gradient, as slices.
pub(crate) struct AttentionSaved<'a> {
    pub(crate) q: &'a [f32],
    pub(crate) k: &'a [f32],
    pub(crate) v: &'a [f32],
    pub(crate) bias: &'a [f32],
    pub(crate) out: &'a [f32],
    pub(crate) lse: &'a [f32],
    pub(crate) grad: &'a [f32],
}

/// `(dq, dk, dv)` of [`forward`], the probabilities recomputed tile by tile: per tile
/// `dV += Pᵀ·dO`, `dS = scale · P ∘ (dO·Vᵀ − rowsum(dO ∘ O))`, `dQ = dS·K`, `dK += dSᵀ·Q`.
/// A head's groups of tiles run in parallel, each summing into its own `dK`, `dV` partials,
/// which are then added in a fixed order (deterministic).
pub(crate) fn backward(
    saved: &AttentionSaved<'_>,
    dims: AttentionDims,
    scale: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let AttentionDims {
        rows, keys, dim, ..
    } = dims;
    let heads = dims.batch * dims.heads;
    let mut d_q = vec![0.0f32; heads * rows * dim];
    let mut d_k = vec![0.0f32; heads * keys * dim];
    let mut d_v = vec![0.0f32; heads * keys * dim];
    if rows == 0 || dim == 0 || keys == 0 {
        return (d_q, d_k, d_v);
    }
    let head_len = rows * dim;
    d_q.par_chunks_mut(head_len)
        .zip(d_k.par_chunks_mut(keys * dim))
        .zip(d_v.par_chunks_mut(keys * dim))
        .enumerate()
        .for_each(|(head, ((d_q, d_k), d_v))| {
            let data = dims.head(head, saved.k, saved.v, saved.bias);
            let range = head * head_len..(head + 1) * head_len;
            let (q, out, grad) = (
                &saved.q[range.clone()],
                &saved.out[range.clone()],
                &saved.grad[range],
            );
            let lse = &saved.lse[head * rows..(head + 1) * rows];
            // Each group of tiles sums into its own partials in tile order, and the partials
            // are summed in group order: the result does not depend on how rayon schedules
            // the groups (runs are reproducible bit for bit).
            let partials: Vec<(Vec<f32>, Vec<f32>)> = d_q
                .par_chunks_mut(TILES_PER_PARTIAL * TILE_ROWS * dim)
                .enumerate()
                .map(|(group, d_q)| {
                    let mut dk = vec![0.0f32; keys * dim];
                    let mut dv = vec![0.0f32; keys * dim];
                    // The group's tiles reuse two buffers (`matmul` overwrites them).
                    let mut p_buffer = vec![0.0f32; TILE_ROWS * keys];
                    let mut d_s_buffer = vec![0.0f32; TILE_ROWS * keys];
                    for (i, d_q) in d_q.chunks_mut(TILE_ROWS * dim).enumerate() {
                        let tile = group * TILES_PER_PARTIAL + i;
                        let (first, n) = (tile * TILE_ROWS, d_q.len() / dim);
                        let span = first * dim..(first + n) * dim;
                        let q_t = Mat::row_major(&q[span.clone()], n, dim);
                        let d_o = &grad[span.clone()];
                        let k_m = Mat::row_major(data.k, keys, dim);
                        let v_m = Mat::row_major(data.v, keys, dim);
                        let p = &mut p_buffer[..n * keys];
                        matmul(p, false, 1.0, q_t, k_m.t());
                        let bias = &data.bias[first * keys..(first + n) * keys];
                        probabilities(p, bias, keys, scale, &lse[first..first + n]);
                        let p: &[f32] = p;
                        let d_o_m = Mat::row_major(d_o, n, dim);
                        matmul(&mut dv, true, 1.0, Mat::row_major(p, n, keys).t(), d_o_m);
                        let d_s = &mut d_s_buffer[..n * keys];
                        matmul(d_s, false, 1.0, d_o_m, v_m.t());
                        score_grads(d_s, p, d_o, &out[span], keys, dim, scale);
                        let d_s = Mat::row_major(d_s, n, keys);
                        matmul(d_q, false, 1.0, d_s, k_m);
                        matmul(&mut dk, true, 1.0, d_s.t(), q_t);
                    }
                    (dk, dv)
                })
                .collect();
            for (dk, dv) in &partials {
                d_k.iter_mut().zip(dk).for_each(|(a, b)| *a += b);
                d_v.iter_mut().zip(dv).for_each(|(a, b)| *a += b);
            }
        });
    (d_q, d_k, d_v)
}
