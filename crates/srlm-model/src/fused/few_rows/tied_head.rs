//! `x · eᵀ` for a few rows, `E` the `[vocab, dim]` embedding (a tied output projection,
//! decoding a small batch): each of `E`'s rows read from memory once. The rows of `E` are
//! read four at a time, each tile of up to four input rows multiplied against them in
//! registers (16 accumulators at four rows), the next four prefetched while these are used.
//! The tasks and their column bands are [`few_rows_matmul`](super::kernel::few_rows_matmul)'s.

use pulp::{Arch, Simd};

use super::kernel::{in_column_bands, rows_per_tile, tasks};

/// `x · eᵀ`: `x` `[rows, k]`, `e` `[n, k]`, both row-major (a tied output projection: `e` is
/// the embedding); returns `[rows, n]` row-major. Each of `e`'s rows is read from memory once;
/// tiles of input rows × `e`'s rows are multiplied in registers (see [`dot_tile`]).
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

/// `e`'s rows per register tile.
const TILE_E: usize = 4;

/// `band[r, v] = x[r, ·] · e[v, ·]` for the rows `v` of `e` (`band` `[rows, e.len() / k]`):
/// `e`'s rows four at a time (read from memory once, then from L1), against tiles of up to
/// four input rows ([`rows_per_tile`]).
#[pulp::with_simd(dot_rows = Arch::new())]
#[inline(always)]
fn dot_rows_with<S: Simd>(simd: S, band: &mut [f32], x: &[f32], e: &[f32], rows: usize, k: usize) {
    let width = e.len() / k;
    let tile_rows = rows_per_tile::<S>();
    let x_row = |r: usize| &x[r * k..(r + 1) * k];
    let e_row = |v: usize| &e[v * k..(v + 1) * k];
    for v in (0..width).step_by(TILE_E) {
        if width - v < TILE_E {
            // The last rows of `e`, one dot product at a time.
            for r in 0..rows {
                for j in v..width {
                    let [[dot]] = dot_tile(simd, [x_row(r)], [e_row(j)], &[]);
                    band[r * width + j] = dot;
                }
            }
            continue;
        }
        let es = [e_row(v), e_row(v + 1), e_row(v + 2), e_row(v + 3)];
        let following = e.get((v + TILE_E) * k..).unwrap_or_default();
        let mut r = 0;
        while r < rows {
            let x_rows = tile_rows.min(rows - r);
            let at = (r, v);
            // The next rows of `e` are prefetched once, by the first tile (which reads these
            // from memory); the other tiles find them in L1.
            let next = if r == 0 { following } else { &[] };
            match x_rows {
                4 => put_dots(
                    band,
                    width,
                    at,
                    dot_tile(
                        simd,
                        [x_row(r), x_row(r + 1), x_row(r + 2), x_row(r + 3)],
                        es,
                        next,
                    ),
                ),
                3 => put_dots(
                    band,
                    width,
                    at,
                    dot_tile(simd, [x_row(r), x_row(r + 1), x_row(r + 2)], es, next),
                ),
                2 => put_dots(
                    band,
                    width,
                    at,
                    dot_tile(simd, [x_row(r), x_row(r + 1)], es, next),
                ),
                _ => put_dots(band, width, at, dot_tile(simd, [x_row(r)], es, next)),
            }
            r += x_rows;
        }
    }
}

/// Writes a tile's dot products into rows `r..` and columns `v..` of `band` (`width` columns).
#[inline(always)]
fn put_dots<const R: usize, const V: usize>(
    band: &mut [f32],
    width: usize,
    (r, v): (usize, usize),
    dots: [[f32; V]; R],
) {
    for (i, row) in dots.iter().enumerate() {
        let at = (r + i) * width + v;
        band[at..at + V].copy_from_slice(row);
    }
}

/// The `R × V` dot products of `x`'s rows with `e`'s rows (all of one length), each pair
/// accumulated in one vector register: every step loads `R + V` vectors for `R · V` fused
/// multiply-adds.
#[inline(always)]
fn dot_tile<S: Simd, const R: usize, const V: usize>(
    simd: S,
    x: [&[f32]; R],
    e: [&[f32]; V],
    next: &[f32],
) -> [[f32; V]; R] {
    let xs = x.map(|row| S::as_simd_f32s(row));
    let es = e.map(|row| S::as_simd_f32s(row));
    let steps = xs.first().map_or(0, |(head, _)| head.len());
    // Every row has `steps` whole vectors: sliced so, the loop below has no bounds checks.
    let x_heads = xs.map(|(head, _)| &head[..steps]);
    let e_heads = es.map(|(head, _)| &head[..steps]);
    // The next tile's rows, prefetched at the pace these are read (when there is one).
    let ahead = next.len() >= V * steps * S::F32_LANES;
    let mut acc = [[simd.splat_f32s(0.0); V]; R];
    for i in 0..steps {
        let ev: [S::f32s; V] = core::array::from_fn(|j| e_heads[j][i]);
        if ahead {
            for j in 0..V {
                crate::fused::simd::prefetch(
                    next.as_ptr().wrapping_add((i * V + j) * S::F32_LANES),
                );
            }
        }
        for (acc_r, head) in acc.iter_mut().zip(&x_heads) {
            let xv = head[i];
            for (a, &ej) in acc_r.iter_mut().zip(&ev) {
                *a = simd.mul_add_e_f32s(xv, ej, *a);
            }
        }
    }
    let mut dots = [[0.0; V]; R];
    for (r, dots_r) in dots.iter_mut().enumerate() {
        for (j, dot) in dots_r.iter_mut().enumerate() {
            let tail: f32 = xs[r].1.iter().zip(es[j].1).map(|(&p, &q)| p * q).sum();
            *dot = simd.reduce_sum_f32s(acc[r][j]) + tail;
        }
    }
    dots
}
