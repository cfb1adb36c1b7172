//! Paired A/B timing of two sets of fused operations in one process: each repetition runs a
//! prefill (or forward pass) under set A, then under set B, back to back, so the machine's drift
//! between runs hits both sides alike. Prints each side's median and the median of the paired
//! ratios B / A (> 1: B is faster).
//!
//! ```text
//! cargo run --release -p srlm-model --example fused_ab -- MODEL.gguf A B [batch] [tokens] [reps]
//! cargo run --release -p srlm-model --example fused_ab -- random:smollm2 default rms_norm,swiglu
//! ```

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use srlm_model::burn::tensor::Device;
use srlm_model::fused::{parse_fused_ops, set_enabled};
use srlm_model::{LanguageModel, Llama, LlamaConfig, Padding, TokenBatch};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (source, a, b) = (&args[0], &args[1], &args[2]);
    let batch: usize = args.get(3).map_or(16, |s| s.parse().unwrap());
    let tokens: usize = args.get(4).map_or(128, |s| s.parse().unwrap());
    let reps: usize = args.get(5).map_or(7, |s| s.parse().unwrap());
    let device = Device::flex();
    let model = if source == "random:smollm2" {
        Llama::random(&LlamaConfig::smollm2_135m(), &device, 0).unwrap()
    } else {
        LanguageModel::load(std::path::Path::new(source), &device)
            .unwrap()
            .model
    };
    let vocab = model.vocab_size();
    let prompts: Vec<Vec<u32>> = (0..batch)
        .map(|r| {
            (0..tokens)
                .map(|i| ((i * 7919 + r * 104_729) % (vocab - 100) + 50) as u32)
                .collect()
        })
        .collect();
    let sides = [parse_fused_ops(a).unwrap(), parse_fused_ops(b).unwrap()];
    let prefill = |ops: &[srlm_model::fused::FusedOp]| {
        set_enabled(ops);
        let t0 = Instant::now();
        let tb = TokenBatch::pad(&prompts, 0, Padding::Left).unwrap();
        let (ids, positions, bias) = model.step_inputs(&tb, None, 0).unwrap();
        let mut cache = model.new_cache();
        let hidden = model.forward_hidden(ids, positions, bias, Some(&mut cache));
        let [rows, t, d] = hidden.dims();
        let logits = model.logits(hidden.slice([0..rows, t - 1..t, 0..d]));
        let _ = logits.into_data();
        (batch * tokens) as f64 / t0.elapsed().as_secs_f64()
    };
    prefill(&sides[0]);
    prefill(&sides[1]);
    let (mut ra, mut rb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..reps {
        // Alternate which side goes first.
        let (x, y) = if rep % 2 == 0 {
            (prefill(&sides[0]), prefill(&sides[1]))
        } else {
            let y = prefill(&sides[1]);
            (prefill(&sides[0]), y)
        };
        ra.push(x);
        rb.push(y);
        ratio.push(y / x);
    }
    println!(
        "prefill {batch}x{tokens}: A ({a}) {:.1} tok/s, B ({b}) {:.1} tok/s, paired B/A median {:.3} (min {:.3}, max {:.3})",
        median(ra),
        median(rb),
        median(ratio.clone()),
        ratio.iter().copied().fold(f64::INFINITY, f64::min),
        ratio.iter().copied().fold(0.0, f64::max),
    );
}
