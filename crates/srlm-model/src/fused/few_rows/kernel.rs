//! `x · w` for a few rows (decoding a small batch): the weight streamed from memory once.
//!
//! For a few rows `gemm` packs the whole weight matrix into its own layout on every call and
//! then reads the packed copy: three passes over weights that do not fit in cache, where one
//! would do, and a decode step at batch 4 spent several times batch 1's time in its projections
//! (docs/performance-log.md, "Decoding a few rows"). Here each rayon task owns a band of output columns. Within it, blocks
//! of four vector registers of columns are multiplied against tiles of up to four rows with
//! the outputs held in registers while the weight's rows go past (prefetched ahead: a band's
//! row is a short piece of a long row, which the hardware's prefetchers do not follow); the
//! band's last columns stream the weight's rows four at a time through every row's outputs.
//! The weight is read from memory once.

use pulp::{Arch, Simd};
use rayon::prelude::*;

/// Output columns a task computes at once (a band's block of the weight stays in L2 while
/// the tiles of rows pass over it).
const BAND: usize = 256;

/// `x · w`: `x` `[rows, k]`, `w` `[k, n]`, both row-major; returns `[rows, n]` row-major. Sums
/// over `k` in order, one fused multiply-add per term.
pub(crate) fn few_rows_matmul(x: &[f32], w: &[f32], rows: usize, k: usize, n: usize) -> Vec<f32> {
    // Whole register tiles of columns per task (64: four AVX-512 registers, eight AVX2 ones).
    let per_task = n.div_ceil(tasks()).div_ceil(64) * 64;
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
pub(super) fn tasks() -> usize {
    rayon::current_num_threads().max(1) * 2
}

/// The `[rows, n]` outputs, computed on rayon in bands of `per_task` columns: `band(start, end)`
/// returns the `[rows, end - start]` outputs of columns `start..end`.
pub(super) fn in_column_bands(
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

/// Input rows per register tile of this kernel and the tied head's: four where the
/// instruction set's vectors hold 16 floats (AVX-512, 32 vector registers), two otherwise
/// (AVX2's 16 registers).
#[inline(always)]
pub(super) fn rows_per_tile<S: Simd>() -> usize {
    if S::F32_LANES >= 16 {
        4
    } else {
        2
    }
}

/// How many of the weight's rows ahead [`accumulate_band`] prefetches.
const AHEAD: usize = 16;

/// Vector registers of columns per register tile of [`accumulate_band`].
const TILE_COLUMNS: usize = 4;

/// `out[r, band] += Σₖ x[r, k] · w[k, first..first + width]` for every row `r` (zeros from the
/// caller: the sum is exactly the product). The band's columns in blocks of four vector
/// registers, each block against tiles of up to four rows ([`rows_per_tile`]) with the outputs
/// in registers over all of `k` ([`column_tile`]); the
/// columns past the last whole block through [`stream_band`].
#[pulp::with_simd(accumulate_band = Arch::new())]
#[inline(always)]
fn accumulate_band_with<S: Simd>(
    simd: S,
    out: &mut [f32],
    band: Rows,
    x: &[f32],
    w: &[f32],
    (rows, k, n): (usize, usize, usize),
    first: usize,
) {
    let block = TILE_COLUMNS * S::F32_LANES;
    let tiled = band.width / block * block;
    let tile_rows = rows_per_tile::<S>();
    for column in (0..tiled).step_by(block) {
        let mut r = 0;
        while r < rows {
            let tile = ColumnTile {
                out: &mut *out,
                at: r * band.stride + band.offset + column,
                stride: band.stride,
            };
            let weights = ColumnBlock {
                w,
                n,
                first: first + column,
                prefetch: r == 0,
            };
            let x_rows = tile_rows.min(rows - r);
            let x_row = |i: usize| &x[(r + i) * k..(r + i + 1) * k];
            match x_rows {
                4 => column_tile(
                    simd,
                    tile,
                    [x_row(0), x_row(1), x_row(2), x_row(3)],
                    weights,
                ),
                3 => column_tile(simd, tile, [x_row(0), x_row(1), x_row(2)], weights),
                2 => column_tile(simd, tile, [x_row(0), x_row(1)], weights),
                _ => column_tile(simd, tile, [x_row(0)], weights),
            }
            r += x_rows;
        }
    }
    let rest = Rows {
        offset: band.offset + tiled,
        width: band.width - tiled,
        ..band
    };
    stream_band(out, rest, x, w, (rows, k, n), first + tiled);
}

/// Where a register tile's outputs go: row `i` at `out[at + i · stride ..]`.
struct ColumnTile<'a> {
    out: &'a mut [f32],
    at: usize,
    stride: usize,
}

/// A block of the weight's columns: `w[·, first .. first + TILE_COLUMNS · lanes]` of the
/// `[k, n]` weight, its rows [`AHEAD`] on prefetched when `prefetch` (the first tile of a
/// block, which reads it from memory).
#[derive(Clone, Copy)]
struct ColumnBlock<'a> {
    w: &'a [f32],
    n: usize,
    first: usize,
    prefetch: bool,
}

/// `out[i, block] += x[i, ·] · w[·, block]` for the `R` rows `x`, the `R × TILE_COLUMNS`
/// vectors of outputs held in registers while `k` runs: each step loads `TILE_COLUMNS` vectors
/// of the weight and broadcasts `R` inputs for `R · TILE_COLUMNS` fused multiply-adds.
#[inline(always)]
fn column_tile<S: Simd, const R: usize>(
    simd: S,
    tile: ColumnTile<'_>,
    x: [&[f32]; R],
    block: ColumnBlock<'_>,
) {
    let lanes = S::F32_LANES;
    let k = x.first().map_or(0, |row| row.len());
    let mut acc = [[simd.splat_f32s(0.0); TILE_COLUMNS]; R];
    for kk in 0..k {
        let at = kk * block.n + block.first;
        let (wv, _) = S::as_simd_f32s(&block.w[at..at + TILE_COLUMNS * lanes]);
        if block.prefetch {
            let ahead = block.w.as_ptr().wrapping_add(at + AHEAD * block.n);
            for column in (0..TILE_COLUMNS * lanes).step_by(16) {
                crate::fused::simd::prefetch(ahead.wrapping_add(column));
            }
        }
        for (acc_r, row) in acc.iter_mut().zip(&x) {
            let xb = simd.splat_f32s(row[kk]);
            for (a, &wc) in acc_r.iter_mut().zip(wv) {
                *a = simd.mul_add_e_f32s(xb, wc, *a);
            }
        }
    }
    for (i, acc_r) in acc.iter().enumerate() {
        let at = tile.at + i * tile.stride;
        let (outs, _) = S::as_mut_simd_f32s(&mut tile.out[at..at + TILE_COLUMNS * lanes]);
        for (o, &a) in outs.iter_mut().zip(acc_r) {
            *o = simd.add_f32s(*o, a);
        }
    }
}

/// `out[r, band] += Σₖ x[r, k] · w[k, first..first + width]` for every row `r`, the band's
/// rows laid out in `out` as `band` says, the weight's rows streamed four at a time through
/// every row's outputs (held in L1).
#[inline(always)]
fn stream_band(
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
        // The band's rows `AHEAD` on, on their way to L1 while these are used: a band's row
        // is a short piece of a long one, which the hardware's prefetchers do not follow.
        for ahead in (kk + AHEAD)..(kk + AHEAD + 4).min(k) {
            let start = w.as_ptr().wrapping_add(ahead * n + first);
            for column in (0..width).step_by(16) {
                crate::fused::simd::prefetch(start.wrapping_add(column));
            }
        }
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
