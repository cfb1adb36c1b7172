//! The building blocks of the flex kernels on plain `f32` slices: one pass forward, one pass backward, threaded over
//! rows with rayon and vectorised for the best instruction set the processor has (pulp's
//! runtime dispatch compiles each loop once per instruction set and picks one at run time).
//!
//! Each loop is a named `#[inline(always)]` function under `#[pulp::with_simd]`, never a
//! closure handed to `Arch::dispatch`: a closure reaches the dispatcher through its `FnOnce`
//! shim, which LLVM does not inline into the instruction-set-specific function, so the loop
//! was compiled for baseline x86-64 (scalar SSE), several times slower than the same loop
//! vectorised (docs/performance-log.md, "The fused kernels were compiled for scalar SSE").
//!
//! Every kernel takes row-major, contiguous data; each operation's `flex.rs` makes it so. This
//! file holds what the kernels of several operations share (a leaf of `fused/`); each kernel
//! lives in its operation's folder (`rms_norm/kernel.rs`, …).

/// Rows below which a kernel runs on the calling thread (a rayon task costs ~µs).
pub(crate) const MIN_PARALLEL_ELEMENTS: usize = 1 << 14;

/// Rows per rayon task for rows of `width` elements.
pub(crate) fn rows_per_task(rows: usize, width: usize) -> usize {
    let per_task = (MIN_PARALLEL_ELEMENTS / width.max(1)).max(1);
    let tasks = rayon::current_num_threads().max(1) * 4;
    per_task.max(rows.div_ceil(tasks)).max(1)
}

/// Independent partial sums in the reductions below: a float sum kept in one accumulator
/// cannot be reordered, so it would not vectorise; 16 lanes fill two AVX2 registers (or one
/// AVX-512 register) and hide the addition's latency.
const LANES: usize = 16;

/// `Σ f(aᵢ, bᵢ)` over two slices of equal length, in [`LANES`] partial sums.
#[inline(always)]
pub(crate) fn sum_zip(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for l in 0..LANES {
            lanes[l] += f(x[l], y[l]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `Σ f(xᵢ)`, in [`LANES`] partial sums.
#[inline(always)]
pub(crate) fn sum_map(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    for c in chunks {
        for l in 0..LANES {
            lanes[l] += f(c[l]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// The largest element (−∞ for none), in [`LANES`] partial maxima.
#[inline(always)]
pub(crate) fn max(x: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for c in chunks {
        for l in 0..LANES {
            lanes[l] = lanes[l].max(c[l]);
        }
    }
    lanes.iter().fold(tail, |m, &v| m.max(v))
}

/// `eˣ` in f32, branch-free so that loops over it vectorise: Cephes' `expf` (range reduction
/// by ln 2 rounded to nearest, degree-6 polynomial, exponent bits), relative error below
/// 2·10⁻⁷ over the range where `eˣ` is a normal f32; 0 below −87.3 and clamped at e⁸⁸ above.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 · 2²³: adding and subtracting it rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let clamped = x.clamp(-87.3, 88.0);
    let n = (clamped * LOG2E + ROUND) - ROUND;
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_2e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 0.166_666_65;
    let p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    if x < -87.3 {
        0.0
    } else {
        y * scale
    }
}

/// `1 / (1 + e⁻ˣ)`.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `row ← softmax(scale · row + bias)` in place; returns the row's `log Σ exp(scale · row +
/// bias)`. Inlined into its callers' vectorised loops (the attention softmax, attention).
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

/// How the rows of a `[batch, heads, group, width]` tensor map to the rows of a
/// `[batch, 1, group, width]` one broadcast over the heads (an attention bias, rotary tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowBroadcast {
    /// Elements per row.
    pub(crate) width: usize,
    /// Rows per head (queries, positions).
    pub(crate) group: usize,
    /// Heads sharing one block of broadcast rows (1 when there is a row per row).
    pub(crate) heads: usize,
}

impl RowBroadcast {
    /// The broadcast row that row `row` reads: `(row / (heads · group)) · group + row % group`.
    #[inline(always)]
    pub(crate) fn broadcast_row(&self, row: usize) -> usize {
        (row / (self.heads * self.group)) * self.group + row % self.group
    }
}

/// Asks the CPU to bring the cache line at `address` towards L1 ahead of its use: a hint, with
/// no effect on any value. The address need not be valid (a prefetch never faults), so no
/// bounds are checked; nothing happens off x86-64.
#[inline(always)]
#[allow(unsafe_code)]
pub(crate) fn prefetch(address: *const f32) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `_mm_prefetch` needs SSE, which every x86-64 CPU has, and it neither reads
        // nor writes memory architecturally, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(address.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_standard_library_within_two_ulps_of_relative_error() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = f64::from(x).exp();
            let got = f64::from(exp(x));
            worst = worst.max(((got - want) / want).abs());
            x += 0.013;
        }
        assert!(worst < 3.0e-7, "worst relative error {worst}");
        assert_eq!(exp(-1.0e9), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!((exp(0.0) - 1.0).abs() < 1e-7);
    }

    #[test]
    fn a_bias_block_is_shared_by_the_heads_of_one_batch_row() {
        let layout = RowBroadcast {
            width: 4,
            group: 3,
            heads: 2,
        };
        let rows: Vec<usize> = (0..12).map(|r| layout.broadcast_row(r)).collect();
        assert_eq!(rows, vec![0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
    }
}
