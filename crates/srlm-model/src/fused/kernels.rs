//! The fused kernels on plain `f32` slices: one pass forward, one pass backward, threaded over
//! rows with rayon and vectorised for the best instruction set the processor has (pulp's
//! runtime dispatch compiles each loop once per instruction set and picks one at run time).
//!
//! Every kernel takes row-major, contiguous data; the backend glue (`flex.rs`) makes it so.

use pulp::Arch;
use rayon::prelude::*;

use super::AdamWStep;

/// Rows below which a kernel runs on the calling thread (a rayon task costs ~µs).
const MIN_PARALLEL_ELEMENTS: usize = 1 << 14;

/// Rows per rayon task for rows of `width` elements.
fn rows_per_task(rows: usize, width: usize) -> usize {
    let per_task = (MIN_PARALLEL_ELEMENTS / width.max(1)).max(1);
    let tasks = rayon::current_num_threads().max(1) * 4;
    per_task.max(rows.div_ceil(tasks)).max(1)
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
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

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
        .for_each(|((y, inv), x)| {
            Arch::new().dispatch(
                #[inline(always)]
                || {
                    for ((y, inv), x) in y
                        .chunks_exact_mut(width)
                        .zip(inv.iter_mut())
                        .zip(x.chunks_exact(width))
                    {
                        let squares: f32 = x.iter().map(|v| v * v).sum();
                        let r = 1.0 / (squares / width as f32 + eps).sqrt();
                        *inv = r;
                        for ((y, &x), &w) in y.iter_mut().zip(x).zip(weight) {
                            *y = x * r * w;
                        }
                    }
                },
            )
        });
    (y, inv)
}

/// RMSNorm backward: with `u = g · w`, `dx = r·u − x · r³ · Σ(u·x) / width` per row and
/// `dw = Σ_rows g · x · r`.
pub(crate) fn rms_norm_backward(
    x: &[f32],
    weight: &[f32],
    inv: &[f32],
    grad: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let width = weight.len();
    let rows = inv.len();
    let mut dx = vec![0.0; x.len()];
    let chunk = rows_per_task(rows, width);
    let dw = dx
        .par_chunks_mut(chunk * width)
        .zip(x.par_chunks(chunk * width))
        .zip(grad.par_chunks(chunk * width))
        .zip(inv.par_chunks(chunk))
        .map(|(((dx, x), g), inv)| {
            let mut dw = vec![0.0f32; width];
            Arch::new().dispatch(
                #[inline(always)]
                || {
                    for (((dx, x), g), &r) in dx
                        .chunks_exact_mut(width)
                        .zip(x.chunks_exact(width))
                        .zip(g.chunks_exact(width))
                        .zip(inv)
                    {
                        let dot: f32 = g
                            .iter()
                            .zip(weight)
                            .zip(x)
                            .map(|((g, w), x)| g * w * x)
                            .sum();
                        let coefficient = r * r * r * dot / width as f32;
                        for ((((dx, &x), &g), &w), dw) in
                            dx.iter_mut().zip(x).zip(g).zip(weight).zip(dw.iter_mut())
                        {
                            *dx = r * g * w - x * coefficient;
                            *dw += g * x * r;
                        }
                    }
                },
            );
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
    (dx, dw)
}

/// SwiGLU forward: `silu(gate) · up = gate · σ(gate) · up`, element-wise.
pub(crate) fn swiglu_forward(gate: &[f32], up: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; gate.len()];
    let chunk = MIN_PARALLEL_ELEMENTS;
    out.par_chunks_mut(chunk)
        .zip(gate.par_chunks(chunk))
        .zip(up.par_chunks(chunk))
        .for_each(|((out, gate), up)| {
            Arch::new().dispatch(
                #[inline(always)]
                || {
                    for ((out, &g), &u) in out.iter_mut().zip(gate).zip(up) {
                        *out = g * sigmoid(g) * u;
                    }
                },
            )
        });
    out
}

/// SwiGLU backward: with `s = σ(gate)`, `d_up = grad · gate · s` and
/// `d_gate = grad · up · s · (1 + gate · (1 − s))`.
pub(crate) fn swiglu_backward(gate: &[f32], up: &[f32], grad: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut d_gate = vec![0.0; gate.len()];
    let mut d_up = vec![0.0; gate.len()];
    let chunk = MIN_PARALLEL_ELEMENTS;
    d_gate
        .par_chunks_mut(chunk)
        .zip(d_up.par_chunks_mut(chunk))
        .zip(gate.par_chunks(chunk))
        .zip(up.par_chunks(chunk))
        .zip(grad.par_chunks(chunk))
        .for_each(|((((d_gate, d_up), gate), up), grad)| {
            Arch::new().dispatch(
                #[inline(always)]
                || {
                    for ((((dg, du), &g), &u), &dy) in d_gate
                        .iter_mut()
                        .zip(d_up.iter_mut())
                        .zip(gate)
                        .zip(up)
                        .zip(grad)
                    {
                        let s = sigmoid(g);
                        *du = dy * g * s;
                        *dg = dy * u * s * (1.0 + g * (1.0 - s));
                    }
                },
            )
        });
    (d_gate, d_up)
}

/// `row ← softmax(scale · row + bias)` in place; returns the row's `log Σ exp(scale · row +
/// bias)`. Inlined into its callers' vectorised loops.
#[inline(always)]
pub(crate) fn softmax_row(row: &mut [f32], bias: &[f32], scale: f32) -> f32 {
    let mut max = f32::NEG_INFINITY;
    for (s, &b) in row.iter_mut().zip(bias) {
        *s = scale * *s + b;
        max = max.max(*s);
    }
    let mut sum = 0.0f32;
    for s in row.iter_mut() {
        *s = exp(*s - max);
        sum += *s;
    }
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
            let first_row = task * chunk;
            Arch::new().dispatch(
                #[inline(always)]
                || {
                    for (i, (p, s)) in probs
                        .chunks_exact_mut(width)
                        .zip(scores.chunks_exact(width))
                        .enumerate()
                    {
                        let b = layout.broadcast_row(first_row + i);
                        p.copy_from_slice(s);
                        softmax_row(p, &bias[b * width..(b + 1) * width], scale);
                    }
                },
            )
        });
    probs
}

/// Softmax backward for `p = softmax(scale · s + bias)`: `ds = scale · p · (dp − Σ dp·p)`.
pub(crate) fn softmax_backward(probs: &[f32], grad: &[f32], width: usize, scale: f32) -> Vec<f32> {
    let rows = probs.len() / width.max(1);
    let mut ds = vec![0.0; probs.len()];
    let chunk = rows_per_task(rows, width);
    ds.par_chunks_mut(chunk * width)
        .zip(probs.par_chunks(chunk * width))
        .zip(grad.par_chunks(chunk * width))
        .for_each(|((ds, p), g)| {
            Arch::new().dispatch(
                #[inline(always)]
                || {
                    for ((ds, p), g) in ds
                        .chunks_exact_mut(width)
                        .zip(p.chunks_exact(width))
                        .zip(g.chunks_exact(width))
                    {
                        let dot: f32 = p.iter().zip(g).map(|(p, g)| p * g).sum();
                        for ((ds, &p), &g) in ds.iter_mut().zip(p).zip(g) {
                            *ds = scale * p * (g - dot);
                        }
                    }
                },
            )
        });
    ds
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
            Arch::new().dispatch(
                #[inline(always)]
                || {
                    for ((row, z), &target) in state
                        .iter_mut()
                        .zip(logits.chunks_exact(width))
                        .zip(targets)
                    {
                        let chunk_max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                        let max = row.max.max(chunk_max);
                        let sum: f32 = z.iter().map(|&v| exp(v - max)).sum();
                        row.sum = row.sum * f64::from(exp(row.max - max)) + f64::from(sum);
                        row.max = max;
                        let target = target as usize;
                        if (start..start + width).contains(&target) {
                            row.target = z[target - start];
                        }
                    }
                },
            )
        });
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
            Arch::new().dispatch(
                #[inline(always)]
                || {
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
                },
            )
        });
}

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
    let half = width / 2;
    let rows = x.len() / width.max(1);
    let mut y = vec![0.0; x.len()];
    let chunk = rows_per_task(rows, width);
    y.par_chunks_mut(chunk * width)
        .zip(x.par_chunks(chunk * width))
        .enumerate()
        .for_each(|(task, (y, x))| {
            let first_row = task * chunk;
            Arch::new().dispatch(
                #[inline(always)]
                || {
                    for (i, (y, x)) in y
                        .chunks_exact_mut(width)
                        .zip(x.chunks_exact(width))
                        .enumerate()
                    {
                        let table = layout.broadcast_row(first_row + i) * width;
                        let (c, s) = (&cos[table..table + width], &sin[table..table + width]);
                        let (y_lo, y_hi) = y.split_at_mut(half);
                        let (x_lo, x_hi) = x.split_at(half);
                        if direction > 0.0 {
                            for j in 0..half {
                                y_lo[j] = x_lo[j] * c[j] - x_hi[j] * s[j];
                                y_hi[j] = x_hi[j] * c[half + j] + x_lo[j] * s[half + j];
                            }
                        } else {
                            for j in 0..half {
                                y_lo[j] = x_lo[j] * c[j] + x_hi[j] * s[half + j];
                                y_hi[j] = x_hi[j] * c[half + j] - x_lo[j] * s[j];
                            }
                        }
                    }
                },
            )
        });
    y
}

/// AdamW's update of one parameter in place (PyTorch's order of operations):
/// `p ← p·(1 − lr·wd)`, `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
/// `p ← p − lr/bias₁ · m / (√v / √bias₂ + ε)`.
pub(crate) fn adamw_update(
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    step: &AdamWStep,
) {
    let chunk = MIN_PARALLEL_ELEMENTS * 4;
    let decay = (1.0 - step.lr * step.weight_decay) as f32;
    let (beta1, beta2) = (step.beta1 as f32, step.beta2 as f32);
    let (one_minus_beta1, one_minus_beta2) = ((1.0 - step.beta1) as f32, (1.0 - step.beta2) as f32);
    let sqrt_bias2 = step.bias_correction2.sqrt() as f32;
    let eps = step.eps as f32;
    let rate = (step.lr / step.bias_correction1) as f32;
    param
        .par_chunks_mut(chunk)
        .zip(grad.par_chunks(chunk))
        .zip(m.par_chunks_mut(chunk))
        .zip(v.par_chunks_mut(chunk))
        .for_each(|(((p, g), m), v)| {
            Arch::new().dispatch(
                #[inline(always)]
                || {
                    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                    {
                        let decayed = *p * decay;
                        *m = *m * beta1 + g * one_minus_beta1;
                        *v = *v * beta2 + g * g * one_minus_beta2;
                        let denom = v.sqrt() / sqrt_bias2 + eps;
                        *p = decayed - *m / denom * rate;
                    }
                },
            )
        });
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
    fn broadcast_row(&self, row: usize) -> usize {
        (row / (self.heads * self.group)) * self.group + row % self.group
    }
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
