//! Text in, text out: load a model (a Hugging Face folder or a GGUF file) and complete prompts,
//! greedily and by sampling, through the same `GenerationConfig` every part of srlm uses.
//!
//! ```text
//! cargo run --release -p srlm --example generate                  # the tiny committed model
//! cargo run --release -p srlm --example generate -- assets/SmolLM2-135M-Instruct.Q4_1.gguf
//! ```

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use srlm::generation::GenerationConfig;
use srlm::model::{parse_device, LanguageModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama3")
        });
    let model = LanguageModel::load(&path, &parse_device("cpu")?)?;
    let prompts = vec![
        "Name three primary colours.".to_string(),
        "Write one sentence about the sea.".to_string(),
    ];
    // One greedy answer per prompt, at most 4 sequences per forward pass.
    let greedy = model.complete(&prompts, 1, &GenerationConfig::greedy(32), 4)?;
    // Three samples per prompt, seeded: the same seed gives the same samples.
    let sampled = model.complete(
        &prompts,
        3,
        &GenerationConfig::sampled(0.7, 0.9, 32).with_seed(7),
        4,
    )?;
    for ((prompt, best), samples) in prompts.iter().zip(&greedy).zip(&sampled) {
        println!("## {prompt}\ngreedy: {}", best[0].text);
        for (k, sample) in samples.iter().enumerate() {
            let cut = if sample.truncated {
                " [cut at the token cap]"
            } else {
                ""
            };
            println!("sample {k}: {}{cut}", sample.text);
        }
    }
    Ok(())
}
