//! The few-rows products against burn's matmul on SmolLM2-135M's decode shapes (random values,
//! flex): each repetition times the fused product, then burn's, back to back, so the machine's
//! drift hits both alike. Prints each side's median (ms) and the median of the paired ratios
//! (> 1: the fused product is faster).
//!
//! - `head`: the tied output projection `x · Eᵀ`, `E` the `[49152, 576]` embedding
//!   ([`fused::few_rows_matmul_transposed`]);
//! - `up`: a layer's `[576, 1536]` projection ([`fused::few_rows_matmul`]), each call on the
//!   next of 32 such weights (113 MB, as decoding reads 30 layers' weights from memory, not
//!   from cache).
//!
//! Outside a product's fused range both sides are burn's matmul (ratio ~1).
//!
//! ```text
//! cargo run --release -p srlm-model --example few_rows_bench -- [rows,...] [reps]
//! cargo run --release -p srlm-model --example few_rows_bench -- 2,4,8,16,32,48 15
//! ```

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use srlm_model::burn::tensor::{Device, Distribution, Tensor};
use srlm_model::fused;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Milliseconds `f` takes, its result read back to the host.
fn time(f: impl FnOnce() -> Tensor<2>) -> f64 {
    let start = Instant::now();
    let _ = f().into_data();
    start.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows: Vec<usize> = args.first().map_or(vec![2, 4, 8, 16, 32, 48], |s| {
        s.split(',').map(|r| r.parse().unwrap()).collect()
    });
    let reps: usize = args.get(1).map_or(15, |s| s.parse().unwrap());
    let device = Device::flex();
    let embedding: Tensor<2> = Tensor::random([49_152, 576], Distribution::Default, &device);
    let ups: Vec<Tensor<2>> = (0..32)
        .map(|_| Tensor::random([576, 1536], Distribution::Default, &device))
        .collect();
    let next = std::cell::Cell::new(0);
    let up = || {
        next.set((next.get() + 1) % ups.len());
        ups[next.get()].clone()
    };
    println!("| product | rows | fused ms | burn ms | burn / fused (paired) |");
    println!("|---|---|---|---|---|");
    for &m in &rows {
        let x: Tensor<2> = Tensor::random([m, 576], Distribution::Default, &device);
        type Product<'a> = (
            &'a str,
            Box<dyn Fn() -> Tensor<2> + 'a>,
            Box<dyn Fn() -> Tensor<2> + 'a>,
        );
        let products: [Product; 2] = [
            (
                "head",
                Box::new(|| fused::few_rows_matmul_transposed(x.clone(), embedding.clone())),
                Box::new(|| x.clone().matmul(embedding.clone().transpose())),
            ),
            (
                "up",
                Box::new(|| fused::few_rows_matmul(x.clone(), up())),
                Box::new(|| x.clone().matmul(up())),
            ),
        ];
        for (name, fused_side, burn_side) in &products {
            // One warm-up of each side.
            time(fused_side);
            time(burn_side);
            let (mut a, mut b, mut ratio) = (vec![], vec![], vec![]);
            for _ in 0..reps {
                let (fa, fb) = (time(fused_side), time(burn_side));
                a.push(fa);
                b.push(fb);
                ratio.push(fb / fa);
            }
            println!(
                "| {name} | {m} | {:.2} | {:.2} | {:.2} |",
                median(a),
                median(b),
                median(ratio)
            );
        }
    }
}
