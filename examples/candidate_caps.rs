//! How many of an iteration's candidates a larger token cap would let finish: samples the loop's
//! candidates again (4 per prompt, T 0.7, p 0.9, as `[candidates]`) at a large cap, once, and
//! counts for each smaller cap the samples that would have been cut there — a sequence's first
//! C tokens do not depend on the cap (its own random stream; up to rounding between batch
//! shapes, docs/ARCHITECTURE.md) — and those cut at the large cap in a repetition loop,
//! which no cap ends (more than 30 % of the 4-word sequences of their last 120 words repeat, the
//! candidates stage's `truncated_looping`).
//!
//! ```text
//! cargo run --release -p srlm --example candidate_caps -- runs/demo/M1 runs/demo/iter1/prompts.jsonl 768 48
//! ```
//! Arguments: the model (Mt), the iteration's `prompts.jsonl`, the large cap, how many prompts.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;

use srlm::generation::GenerationConfig;
use srlm::model::{parse_device, LanguageModel};
use srlm::run::loops_at_end;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model_path, prompts_path, cap, count] = args.as_slice() else {
        return Err("usage: candidate_caps MODEL PROMPTS.jsonl CAP PROMPT-COUNT".into());
    };
    let (cap, count): (usize, usize) = (cap.parse()?, count.parse()?);
    let model = LanguageModel::load(Path::new(model_path), &parse_device("cpu")?)?;
    let mut prompts = Vec::new();
    for line in std::fs::read_to_string(prompts_path)?.lines().take(count) {
        let record: serde_json::Value = serde_json::from_str(line)?;
        let prompt = record["prompt"].as_str().ok_or("a line without a prompt")?;
        prompts.push(prompt.to_string());
    }
    // (tokens of the answer, cut at the large cap, looping)
    let mut samples = Vec::new();
    for (unit, chunk) in prompts.chunks(12).enumerate() {
        let params = GenerationConfig::sampled(0.7, 0.9, cap).with_seed(1000 + unit as u64);
        for completions in model.complete(chunk, 4, &params, 48)? {
            for c in completions {
                let tokens = model.tokenizer.encode(&c.text, false)?.len();
                samples.push((tokens, c.truncated, loops_at_end(&c.text)));
            }
        }
        eprintln!("{} of {} prompts", (unit * 12 + chunk.len()), prompts.len());
    }
    let n = samples.len() as f64;
    println!(
        "{} samples of {} prompts, sampled at a cap of {cap} tokens",
        samples.len(),
        prompts.len()
    );
    for c in [256, 384, 448, 512, 640, 768, 1024]
        .into_iter()
        .filter(|&c| c <= cap)
    {
        // Finished within c: its tokens and the end of turn fit.
        let cut = samples
            .iter()
            .filter(|&&(t, truncated, _)| truncated || t + 1 > c)
            .count();
        println!("cap {c}: {cut} cut ({:.1} %)", 100.0 * cut as f64 / n);
    }
    let looping = samples
        .iter()
        .filter(|&&(_, truncated, l)| truncated && l)
        .count();
    println!(
        "cut at {cap} in a loop: {looping} ({:.1} %)",
        100.0 * looping as f64 / n
    );
    Ok(())
}
