//! The loop's candidate stage as a benchmark: a real model samples 4 answers to each of the
//! first MT-Bench questions (temperature 0.7, top-p 0.9, up to `--new-tokens`) through
//! `LanguageModel::complete`, `--batches` sequences per forward pass. Answers end where the
//! model ends them, so their lengths vary as the loop's do — the case continuous batching is
//! for (`--fused` without `continuous_batching` measures fixed chunks). Tokens/s counts the
//! tokens generated over the whole wall time, prefills included.

use std::path::Path;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use srlm::model::{
    parse_device, GenerationConfig, LanguageModel, LocalGenerator, LoraConfig, TextGenerator,
};

use super::{median, Record};

/// Samples per question, as the loop's `candidates.n`.
const SAMPLES: usize = 4;

/// The first turns of the first `count` questions of an MT-Bench `question.jsonl`.
fn questions(path: &Path, count: usize) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the questions {}", path.display()))?;
    let mut out = Vec::with_capacity(count);
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        if out.len() == count {
            break;
        }
        let value: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not JSON", path.display(), i + 1))?;
        let turn = value["turns"][0]
            .as_str()
            .with_context(|| format!("{} line {}: no `turns[0]` string", path.display(), i + 1))?;
        out.push(turn.to_string());
    }
    ensure!(
        out.len() == count,
        "{} holds {} questions, {count} asked",
        path.display(),
        out.len()
    );
    Ok(out)
}

pub(crate) fn measure(
    source: &str,
    device: &str,
    batches: &[usize],
    (questions_path, count, new_tokens): (&Path, usize, usize),
    reps: usize,
    base: Option<&LoraConfig>,
) -> Result<Vec<Record>> {
    ensure!(
        source != "random:smollm2",
        "--work answers needs a trained model: a random one never ends its answers"
    );
    let device = parse_device(device)?;
    let model = LanguageModel::load_for_training(Path::new(source), &device, base)
        .with_context(|| format!("loading {source}"))?;
    let prompts = questions(questions_path, count)?;
    let config = GenerationConfig::sampled(0.7, 0.9, new_tokens).with_seed(0);
    let mut records = Vec::new();
    for &batch in batches {
        let mut rates = Vec::new();
        for rep in 0..=reps {
            let t0 = Instant::now();
            let answers =
                LocalGenerator::new(&model, batch).complete(&prompts, SAMPLES, &config)?;
            let seconds = t0.elapsed().as_secs_f64();
            let mut tokens = 0;
            for answer in answers.iter().flatten() {
                tokens += model.tokenizer.encode(&answer.text, false)?.len();
            }
            // The first repetition is the warm-up.
            if rep > 0 {
                rates.push(tokens as f64 / seconds);
            }
        }
        records.push(Record::generation(
            &super::generation::base_name("answers", base),
            batch,
            median(rates),
        ));
    }
    Ok(records)
}
