//! Micro-benchmark of the single burn operations a SmolLM2-135M training step is made of, at the
//! step's shapes (4 × 256 tokens), on the flex backend: achieved GFLOP/s for each matmul and
//! GB/s for the element-wise work. Shows which of burn's kernels bound the step.
//!
//! ```text
//! cargo run --release -p srlm-model --example ops_bench [reps]
//! ```

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Device, Distribution, Tensor};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<T>(reps: usize, mut f: impl FnMut() -> T, sync: impl Fn(T)) -> f64 {
    sync(f());
    median(
        (0..reps)
            .map(|_| {
                let t0 = Instant::now();
                sync(f());
                t0.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn main() {
    let reps: usize = std::env::args().nth(1).map_or(5, |s| s.parse().unwrap());
    let device = Device::flex();
    let rand = |dims: &[usize]| -> Tensor<2> {
        Tensor::random([dims[0], dims[1]], Distribution::Normal(0.0, 1.0), &device)
    };
    let sync2 = |t: Tensor<2>| {
        let _ = t.slice([0..1, 0..1]).into_data();
    };
    println!("| op | shape | ms | rate |");
    println!("|---|---|---|---|");
    let tokens = 1024;
    for (name, k, n) in [
        ("q/o proj", 576, 576),
        ("k/v proj", 576, 192),
        ("gate/up", 576, 1536),
        ("down", 1536, 576),
        ("lm_head", 576, 49_152),
    ] {
        let x = rand(&[tokens, k]);
        let w = rand(&[k, n]);
        let s = time(reps, || x.clone().matmul(w.clone()), sync2);
        let gflops = 2.0 * (tokens * k * n) as f64 / s / 1e9;
        println!(
            "| matmul {name} | {tokens}×{k} · {k}×{n} | {:.2} | {gflops:.1} GFLOP/s |",
            s * 1e3
        );
        let x3: Tensor<3> = x.clone().reshape([4, tokens / 4, k]);
        let s = time(
            reps,
            || burn::tensor::module::linear(x3.clone(), w.clone(), None),
            |t: Tensor<3>| {
                let _ = t.slice([0..1, 0..1, 0..1]).into_data();
            },
        );
        let gflops = 2.0 * (tokens * k * n) as f64 / s / 1e9;
        println!(
            "| linear 3-D {name} | 4×256×{k} · {k}×{n} | {:.2} | {gflops:.1} GFLOP/s |",
            s * 1e3
        );
        // Backward shapes: dX = dY · Wᵀ and dW = Xᵀ · dY.
        let dy = rand(&[tokens, n]);
        let s = time(reps, || dy.clone().matmul(w.clone().transpose()), sync2);
        let gflops = 2.0 * (tokens * k * n) as f64 / s / 1e9;
        println!(
            "| dY·Wᵀ {name} | {tokens}×{n} · ({k}×{n})ᵀ | {:.2} | {gflops:.1} GFLOP/s |",
            s * 1e3
        );
        let s = time(reps, || x.clone().transpose().matmul(dy.clone()), sync2);
        let gflops = 2.0 * (tokens * k * n) as f64 / s / 1e9;
        println!(
            "| Xᵀ·dY {name} | ({tokens}×{k})ᵀ · {tokens}×{n} | {:.2} | {gflops:.1} GFLOP/s |",
            s * 1e3
        );
    }
    let sync4 = |t: Tensor<4>| {
        let _ = t.slice([0..1, 0..1, 0..1, 0..1]).into_data();
    };
    let q: Tensor<4> = Tensor::random([4, 9, 256, 64], Distribution::Normal(0.0, 1.0), &device);
    let k: Tensor<4> = Tensor::random([4, 9, 256, 64], Distribution::Normal(0.0, 1.0), &device);
    let s = time(reps, || q.clone().matmul(k.clone().swap_dims(2, 3)), sync4);
    println!(
        "| q·kᵀ | 4×9×256×64 | {:.2} | {:.1} GFLOP/s |",
        s * 1e3,
        2.0 * 36.0 * 256.0 * 256.0 * 64.0 / s / 1e9
    );
    let scores: Tensor<4> = q.clone().matmul(k.clone().swap_dims(2, 3));
    let s = time(reps, || softmax(scores.clone(), 3), sync4);
    let bytes = 2.0 * 4.0 * scores.shape().num_elements() as f64;
    println!(
        "| softmax | 4×9×256×256 | {:.2} | {:.1} GB/s |",
        s * 1e3,
        bytes / s / 1e9
    );
    let h = rand(&[tokens, 1536]);
    let s = time(reps, || silu(h.clone()), sync2);
    println!(
        "| silu | 1024×1536 | {:.2} | {:.1} GB/s |",
        s * 1e3,
        8.0 * (tokens * 1536) as f64 / s / 1e9
    );
    let s = time(reps, || h.clone() * h.clone(), sync2);
    println!(
        "| mul | 1024×1536 | {:.2} | {:.1} GB/s |",
        s * 1e3,
        12.0 * (tokens * 1536) as f64 / s / 1e9
    );
    let x = rand(&[tokens, 576]);
    let s = time(
        reps,
        || {
            let variance = x.clone().square().mean_dim(1);
            x.clone() * (variance + 1e-5).sqrt().recip()
        },
        sync2,
    );
    println!(
        "| rms norm (4 ops) | 1024×576 | {:.2} | {:.1} GB/s |",
        s * 1e3,
        8.0 * (tokens * 576) as f64 / s / 1e9
    );
    let logits = rand(&[tokens, 49_152]);
    let s = time(reps, || logits.clone().exp(), sync2);
    println!(
        "| exp | 1024×49152 | {:.2} | {:.1} GB/s |",
        s * 1e3,
        8.0 * (tokens * 49_152) as f64 / s / 1e9
    );
    let s = time(reps, || logits.clone().sum_dim(1), sync2);
    println!(
        "| sum_dim | 1024×49152 | {:.2} | {:.1} GB/s |",
        s * 1e3,
        4.0 * (tokens * 49_152) as f64 / s / 1e9
    );
    // srlm's fused kernels (`srlm_model::fused`) at the same shapes.
    let g = rand(&[tokens, 1536]);
    let s = time(
        reps,
        || srlm_model::fused::swiglu(g.clone(), h.clone()),
        sync2,
    );
    println!(
        "| fused swiglu | 1024×1536 | {:.2} | {:.1} GB/s |",
        s * 1e3,
        12.0 * (tokens * 1536) as f64 / s / 1e9
    );
    let w: Tensor<1> = Tensor::random([576], Distribution::Normal(1.0, 0.1), &device);
    let s = time(
        reps,
        || srlm_model::fused::rms_norm(x.clone(), w.clone(), 1e-5),
        sync2,
    );
    println!(
        "| fused rms_norm | 1024×576 | {:.2} | {:.1} GB/s |",
        s * 1e3,
        8.0 * (tokens * 576) as f64 / s / 1e9
    );
    let bias: Tensor<4> = Tensor::zeros([4, 1, 256, 256], &device);
    let s = time(
        reps,
        || srlm_model::fused::attention_softmax(scores.clone(), bias.clone(), 0.125),
        sync4,
    );
    println!(
        "| fused attention_softmax | 4×9×256×256 | {:.2} | {:.1} GB/s |",
        s * 1e3,
        2.0 * 4.0 * scores.shape().num_elements() as f64 / s / 1e9
    );
    let cos: Tensor<4> = Tensor::random([4, 1, 256, 64], Distribution::Normal(0.0, 1.0), &device);
    let sin: Tensor<4> = Tensor::random([4, 1, 256, 64], Distribution::Normal(0.0, 1.0), &device);
    let s = time(
        reps,
        || srlm_model::fused::rotary(q.clone(), cos.clone(), sin.clone()),
        sync4,
    );
    println!(
        "| fused rotary | 4×9×256×64 | {:.2} | {:.1} GB/s |",
        s * 1e3,
        2.0 * 4.0 * q.shape().num_elements() as f64 / s / 1e9
    );
}
