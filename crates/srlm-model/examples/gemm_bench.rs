//! The `gemm` crate alone (the kernels burn-flex runs every matmul with) on a training step's
//! projection shapes, row-major f32, GFLOP/s as the median of reps after one warm-up:
//! - `batch × [rows, k] · [k, n]` as burn-flex's batched `linear` runs it (one single-threaded
//!   product per batch row, rayon over the rows) against one merged `[batch·rows, k]` product;
//! - single products on one thread and on rayon's threads.
//!
//! ```text
//! cargo run --release -p srlm-model --example gemm_bench [reps]
//! ```

#![allow(clippy::print_stdout, clippy::unwrap_used, unsafe_code)]

use std::time::Instant;

use gemm::Parallelism;
use rayon::prelude::*;

/// `dst = lhs · rhs`, dense row-major `[m, k] · [k, n]`.
fn product(
    dst: &mut [f32],
    lhs: &[f32],
    rhs: &[f32],
    (m, k, n): (usize, usize, usize),
    parallelism: Parallelism,
) {
    assert!(dst.len() >= m * n && lhs.len() >= m * k && rhs.len() >= k * n);
    // SAFETY: the three buffers are dense row-major and at least as long as the shapes say
    // (checked above); `dst` does not alias the inputs (a `&mut` borrow).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            1,
            k as isize,
            rhs.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// The median seconds of `reps` calls of `run`, after one warm-up call.
fn median_seconds(reps: usize, mut run: impl FnMut()) -> f64 {
    run();
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            run();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Deterministic operands `[m, k]` and `[k, n]`.
fn operands(m: usize, k: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
    let a = (0..m * k).map(|i| (i % 13) as f32 * 0.01).collect();
    let b = (0..k * n).map(|i| (i % 7) as f32 * 0.01).collect();
    (a, b)
}

fn main() {
    let reps: usize = std::env::args().nth(1).map_or(9, |s| s.parse().unwrap());
    let threads = rayon::current_num_threads();
    for (batch, rows, k, n) in [
        (16usize, 128usize, 576usize, 1536usize),
        (4, 256, 576, 1536),
        (16, 128, 576, 576),
        (4, 256, 1536, 576),
    ] {
        let m = batch * rows;
        let (a, b) = operands(m, k, n);
        let mut c = vec![0.0f32; m * n];
        for merged in [false, true] {
            let s = median_seconds(reps, || {
                if merged {
                    product(&mut c, &a, &b, (m, k, n), Parallelism::Rayon(0));
                } else {
                    c.par_chunks_mut(rows * n)
                        .zip(a.par_chunks(rows * k))
                        .for_each(|(out, lhs)| {
                            product(out, lhs, &b, (rows, k, n), Parallelism::None);
                        });
                }
            });
            let gflops = 2.0 * (m * k * n) as f64 / s / 1e9;
            println!(
                "{batch}x[{rows}x{k}] x {k}x{n} merged={merged}: {:.2} ms {gflops:.1} GFLOP/s",
                s * 1e3
            );
        }
    }
    for (m, k, n) in [
        (1024, 576, 576),
        (1024, 576, 192),
        (1024, 576, 1536),
        (1024, 1536, 576),
        (128, 576, 1536),
    ] {
        let (a, b) = operands(m, k, n);
        let mut c = vec![0.0f32; m * n];
        for (name, parallelism) in [
            ("1 thread", Parallelism::None),
            ("rayon", Parallelism::Rayon(threads)),
        ] {
            let s = median_seconds(reps, || product(&mut c, &a, &b, (m, k, n), parallelism));
            let gflops = 2.0 * (m * k * n) as f64 / s / 1e9;
            println!(
                "gemm {m}x{k}x{n} {name}: {:.2} ms {gflops:.1} GFLOP/s",
                s * 1e3
            );
        }
    }
}
