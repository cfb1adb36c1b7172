//! Prefill and decode throughput of a model, at several batch sizes (median of repeated runs).
//!
//! ```text
//! cargo run --release -p srlm-model --example bench -- assets/SmolLM2-135M-Instruct.Q4_1.gguf [device] [reps]
//! cargo run --release -p srlm-model --example bench -- random:smollm2 wgpu 3   # same shapes, random weights
//! ```
//!
//! Prefill: one forward pass over `batch × 128` prompt tokens (last-position logits only, as
//! generation does). Decode: 32 greedy steps after that prefill, stop tokens ignored; tokens/s
//! counts `batch × 32` new tokens over the decode time alone.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Instant;

use srlm_model::{
    generate, parse_device, GenerationConfig, LanguageModel, Llama, LlamaConfig, TokenBatch,
};

/// SmolLM2-135M's shapes (for machines without the model file).
fn smollm2_config() -> LlamaConfig {
    let mut c = LlamaConfig::tiny(49_152, 576, 30, 9, 3);
    c.intermediate_size = 1536;
    c.max_position_embeddings = 8192;
    c.rope_theta = 100_000.0;
    c
}

const PROMPT: usize = 128;
const NEW: usize = 32;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let source = args
        .get(1)
        .map_or("assets/SmolLM2-135M-Instruct.Q4_1.gguf", String::as_str);
    let device = parse_device(args.get(2).map_or("cpu", String::as_str))?;
    let reps: usize = args.get(3).map_or(Ok(3), |s| s.parse())?;
    let (model, pad_id) = if source == "random:smollm2" {
        (Llama::random(&smollm2_config(), &device, 0)?, 2)
    } else {
        let lm = LanguageModel::load(&PathBuf::from(source), &device)?;
        (lm.model, lm.pad_id)
    };
    let vocab = model.vocab_size() as u32;
    println!("| work | batch | tokens/s (median of {reps}) |");
    println!("|---|---|---|");
    for batch in [1usize, 4, 8] {
        let prompts: Vec<Vec<u32>> = (0..batch)
            .map(|b| {
                (0..PROMPT)
                    .map(|i| ((i * 7919 + b * 104_729) as u32) % (vocab - 100) + 50)
                    .collect()
            })
            .collect();
        let mut prefill = Vec::new();
        let mut decode = Vec::new();
        // One warm-up run, then `reps` measured ones.
        for rep in 0..=reps {
            let t0 = Instant::now();
            let tb = TokenBatch::pad(&prompts, pad_id, srlm_model::Padding::Left)?;
            let (tokens, positions, bias) = model.step_inputs(&tb, None, 0)?;
            let mut cache = model.new_cache();
            let hidden = model.forward_hidden(tokens, positions, bias, Some(&mut cache));
            let [b, t, d] = hidden.dims();
            let logits = model.logits(hidden.slice([0..b, t - 1..t, 0..d]));
            let _ = logits.into_data();
            let prefill_s = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            let config = GenerationConfig {
                max_new_tokens: NEW,
                stop_ids: vec![u32::MAX],
                ..Default::default()
            };
            let out = generate(&model, &prompts, pad_id, &config)?;
            let total_s = t1.elapsed().as_secs_f64();
            assert!(out.iter().all(|g| g.token_ids.len() == NEW));
            if rep > 0 {
                prefill.push((batch * PROMPT) as f64 / prefill_s);
                // generate() also prefills: subtract this run's measured prefill time.
                decode.push((batch * NEW) as f64 / (total_s - prefill_s).max(1e-9));
            }
        }
        println!("| prefill {PROMPT} | {batch} | {:.0} |", median(prefill));
        println!("| decode {NEW} | {batch} | {:.1} |", median(decode));
    }
    Ok(())
}
