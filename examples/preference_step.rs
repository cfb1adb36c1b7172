//! Preference training from Rust: preference records encoded with the model's chat template,
//! one DPO step against the model itself as the frozen reference (its log-probs computed once),
//! and one SimPO step with no reference at all — both through the same trainer, each printing
//! the TRL-named metrics it writes to `metrics.jsonl`.
//!
//! ```text
//! cargo run --release -p srlm --example preference_step -- runs/preference-example
//! cargo run --release -p srlm --example preference_step -- runs/preference-example assets/SmolLM2-135M-Instruct.Q4_1.gguf
//! ```
//!
//! The output folder gets `dpo/` and `simpo/`, each with `metrics.jsonl`, `checkpoints/` and the
//! trained model in Hugging Face layout; run again and each resumes (here: finds its step done).

#![allow(clippy::print_stdout)]

use std::ops::ControlFlow;
use std::path::PathBuf;

use srlm::data::{Encoder, PreferenceRecord};
use srlm::dpo::{fine_tune, DpoConfig, Reference, SimpoConfig, SimpoObjective, TrainConfig};
use srlm::model::{parse_device, LanguageModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "runs/preference-example".into()),
    );
    let path = args.next().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama3")
    });
    let mt = LanguageModel::load(&path, &parse_device("cpu")?)?;
    let pairs = vec![
        PreferenceRecord::new("What is 7 × 6?", "7 × 6 = 42.", "It is 13."),
        PreferenceRecord::new(
            "Name a prime number.",
            "7 is prime: its only divisors are 1 and 7.",
            "Eight.",
        ),
        PreferenceRecord::new("Say hello in French.", "Bonjour !", "Hola."),
        PreferenceRecord::new("What colour is the sky?", "Blue, on a clear day.", "Green."),
    ];
    let encoder = Encoder::new(&mt, 256)?;
    let config = TrainConfig {
        max_steps: Some(1),
        batch_size: pairs.len(),
        dropout: 0.0,
        peak_lr: 1e-4,
        final_lr: 1e-4,
        ..TrainConfig::paper_dpo()
    };

    let reference = Reference::new(&mt)?;
    let dpo = reference.dpo_objective(
        &encoder,
        &pairs,
        DpoConfig::default(),
        4096,
        Some(&out.join("dpo/reference-cache")),
    )?;
    let trained = fine_tune(
        mt.clone(),
        &dpo.objective,
        &config,
        &out.join("dpo"),
        &mut |step| {
            println!(
                "dpo step {}: loss {:.4} (ln 2 = 0.6931 while the policy is its reference) {:?}",
                step.step, step.loss, step.objective
            );
            ControlFlow::Continue(())
        },
    )?;
    trained.model.save_pretrained(&out.join("dpo"))?;

    let (encoded, _) = encoder.preference_set(&pairs)?;
    let simpo = SimpoObjective::simpo(encoded, SimpoConfig::default(), mt.pad_id)?;
    let trained = fine_tune(
        mt.clone(),
        &simpo,
        &config,
        &out.join("simpo"),
        &mut |step| {
            println!(
                "simpo step {}: loss {:.4} {:?}",
                step.step, step.loss, step.objective
            );
            ControlFlow::Continue(())
        },
    )?;
    trained.model.save_pretrained(&out.join("simpo"))?;
    println!("models in {}", out.display());
    Ok(())
}
