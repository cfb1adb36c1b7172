//! Training-step throughput and peak memory: SFT, DPO against cached reference log-probs, and
//! DPO with the reference model kept in memory and run every step (the usual Python setup).
//!
//! ```text
//! cargo run --release -p srlm-dpo --example bench_train -- sft     [model] [reps]
//! cargo run --release -p srlm-dpo --example bench_train -- dpo     [model] [reps]
//! cargo run --release -p srlm-dpo --example bench_train -- dpo-ref [model] [reps]
//! ```
//!
//! One process per mode, so that the peak resident memory (`VmHWM`) it prints is that mode's.
//! SFT: batch 4 × (128 prompt + 128 response tokens). DPO: 4 pairs, each side 128 + 128. One
//! optimizer step per repetition, f32, dropout 0.1 (the paper's), after one warm-up step; the
//! tokens/s of a step counts every token of every row (DPO: both sides) over the step's wall time.
//! Prints one JSON line.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use srlm_data::{EncodedExample, EncodedPair};
use srlm_dpo::{
    compute_reference_logps, train, DpoConfig, DpoObjective, Objective, SftObjective, TrainConfig,
};
use srlm_model::{parse_device, LanguageModel};

const PROMPT: usize = 128;
const RESPONSE: usize = 128;
const BATCH: usize = 4;

fn tokens(seed: usize, n: usize, vocab: usize) -> Vec<u32> {
    (0..n)
        .map(|i| ((i * 7919 + seed * 104_729) % (vocab - 100) + 50) as u32)
        .collect()
}

fn example(seed: usize, vocab: usize) -> EncodedExample {
    EncodedExample {
        prompt: tokens(seed, PROMPT, vocab),
        response: tokens(seed + 1000, RESPONSE, vocab),
        truncated: false,
    }
}

/// Peak resident set size of this process, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("sft", String::as_str).to_string();
    let path = PathBuf::from(
        args.get(2)
            .map_or("assets/SmolLM2-135M-Instruct.Q4_1.gguf", String::as_str),
    );
    let reps: usize = args.get(3).map_or(Ok(3), |s| s.parse())?;
    let device = parse_device("cpu")?;
    let lm = LanguageModel::load(&path, &device)?;
    let vocab = lm.model.vocab_size();
    let config = TrainConfig {
        peak_lr: 1e-6,
        final_lr: 1e-6,
        batch_size: BATCH,
        max_steps: Some(reps + 1),
        epochs: 1000,
        micro_batch_tokens: BATCH * 2 * (PROMPT + RESPONSE),
        ..TrainConfig::default()
    };
    let dir = tempfile::tempdir()?;
    let mut step_seconds = Vec::new();
    let mut step_tokens = 0;
    let mut record = |m: &srlm_dpo::StepMetrics| {
        step_seconds.push(m.num_tokens as f64 / m.tokens_per_second);
        step_tokens = m.num_tokens;
        ControlFlow::Continue(())
    };
    let mut reference_seconds = 0.0;
    match mode.as_str() {
        "sft" => {
            let objective = SftObjective {
                examples: (0..BATCH).map(|i| example(i, vocab)).collect(),
                pad_id: lm.pad_id,
            };
            train(
                lm.model,
                &lm.config,
                &objective,
                None,
                &config,
                dir.path(),
                &mut record,
            )?;
        }
        "dpo" | "dpo-ref" => {
            let pairs: Vec<EncodedPair> = (0..BATCH)
                .map(|i| {
                    let chosen = example(i, vocab);
                    let mut rejected = example(i + 50, vocab);
                    rejected.prompt = chosen.prompt.clone();
                    EncodedPair { chosen, rejected }
                })
                .collect();
            // The reference is a second copy of the weights, as in an iteration (Mt vs Mt).
            let reference = LanguageModel::load(&path, &device)?;
            let t0 = Instant::now();
            let logps = compute_reference_logps(
                &reference.model,
                &pairs,
                reference.pad_id,
                config.micro_batch_tokens,
            )?;
            reference_seconds = t0.elapsed().as_secs_f64();
            let keep = if mode == "dpo" {
                drop(reference);
                None
            } else {
                Some(reference)
            };
            let objective = DpoObjective::new(pairs, logps, DpoConfig::default(), lm.pad_id)?;
            assert_eq!(objective.len(), BATCH);
            train(
                lm.model,
                &lm.config,
                &objective,
                None,
                &config,
                dir.path(),
                &mut record,
            )?;
            drop(keep);
        }
        other => return Err(format!("unknown mode {other:?}: sft, dpo or dpo-ref").into()),
    }
    // The first step is the warm-up.
    let measured: Vec<f64> = step_seconds.iter().skip(1).copied().collect();
    let mut seconds = median(measured);
    if mode == "dpo-ref" {
        // A kept reference runs its forward pass every step, inside the step.
        seconds += reference_seconds;
    }
    println!(
        "{}",
        serde_json::json!({
            "mode": mode,
            "tokens_per_step": step_tokens,
            "median_step_s": seconds,
            "tokens_per_s": step_tokens as f64 / seconds,
            "reference_forward_s": reference_seconds,
            "peak_rss_mib": peak_rss_mib(),
            "reps": reps,
        })
    );
    Ok(())
}
