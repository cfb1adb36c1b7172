//! The `gemm` crate alone (the kernels burn-flex runs every matmul with) on a training step's
//! projection shapes, one thread and rayon over two, row-major f32: GFLOP/s, median of reps.
//!
//! ```text
//! cargo run --release -p srlm-model --example gemm_bench [reps]
//! ```

#![allow(clippy::print_stdout, clippy::unwrap_used, unsafe_code)]

use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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
        let a: Vec<f32> = (0..m * k).map(|i| (i % 13) as f32 * 0.01).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 7) as f32 * 0.01).collect();
        let mut c = vec![0.0f32; m * n];
        for merged in [false, true] {
            let mut run = || {
                let t0 = Instant::now();
                if merged {
                    unsafe {
                        gemm::gemm(
                            m,
                            n,
                            k,
                            c.as_mut_ptr(),
                            1,
                            n as isize,
                            false,
                            a.as_ptr(),
                            1,
                            k as isize,
                            b.as_ptr(),
                            1,
                            n as isize,
                            0.0,
                            1.0,
                            false,
                            false,
                            false,
                            gemm::Parallelism::Rayon(0),
                        );
                    }
                } else {
                    use rayon::prelude::*;
                    c.par_chunks_mut(rows * n)
                        .enumerate()
                        .for_each(|(i, out)| unsafe {
                            gemm::gemm(
                                rows,
                                n,
                                k,
                                out.as_mut_ptr(),
                                1,
                                n as isize,
                                false,
                                a.as_ptr().add(i * rows * k),
                                1,
                                k as isize,
                                b.as_ptr(),
                                1,
                                n as isize,
                                0.0,
                                1.0,
                                false,
                                false,
                                false,
                                gemm::Parallelism::None,
                            );
                        });
                }
                t0.elapsed().as_secs_f64()
            };
            run();
            let s = median((0..reps).map(|_| run()).collect());
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
        let a: Vec<f32> = (0..m * k).map(|i| (i % 13) as f32 * 0.01).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 7) as f32 * 0.01).collect();
        let mut c = vec![0.0f32; m * n];
        for (name, par) in [
            ("1 thread", gemm::Parallelism::None),
            ("rayon", gemm::Parallelism::Rayon(threads)),
        ] {
            let mut run = || {
                let t0 = Instant::now();
                // SAFETY: a, b, c are dense row-major buffers of the sizes given.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        c.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        a.as_ptr(),
                        1,
                        k as isize,
                        b.as_ptr(),
                        1,
                        n as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        par,
                    );
                }
                t0.elapsed().as_secs_f64()
            };
            run();
            let s = median((0..reps).map(|_| run()).collect());
            let gflops = 2.0 * (m * k * n) as f64 / s / 1e9;
            println!(
                "gemm {m}x{k}x{n} {name}: {:.2} ms {gflops:.1} GFLOP/s",
                s * 1e3
            );
        }
    }
}
