//! Prefill and decode throughput at several batch sizes.
//!
//! Prefill: one forward pass over `batch × PROMPT` prompt tokens with last-position logits (as
//! generation does). Decode: `NEW` greedy steps after that prefill, stop tokens ignored;
//! tokens/s counts `batch × NEW` new tokens over the decode time alone (the generation's wall
//! time minus the prefill just measured).

use std::path::Path;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use srlm::model::burn::tensor::Device;
use srlm::model::{
    generate, parse_device, GenerationConfig, LanguageModel, Llama, LlamaConfig, LoraConfig,
    LoraDtype, Padding, TokenBatch,
};

use super::{median, Record};

/// Prompt tokens per row.
pub(crate) const PROMPT: usize = 128;
/// New tokens per row.
pub(crate) const NEW: usize = 32;

/// Deterministic token ids, the same as the PyTorch script's.
pub(crate) fn token_ids(row: usize, n: usize, salt: usize, vocab: usize) -> Vec<u32> {
    (0..n)
        .map(|i| ((i * 7919 + (row + salt) * 104_729) % (vocab - 100) + 50) as u32)
        .collect()
}

/// The model, its configuration and its padding id: from a file, or `random:NAME` (random
/// weights in the shapes of [`LlamaConfig::named`]; `random:smollm2` is SmolLM2-135M's). With
/// `lora`, its target projections are stored at its base dtype as they are read or drawn.
pub(crate) fn load_model(
    source: &str,
    device: &Device,
    lora: Option<&LoraConfig>,
) -> Result<(Llama, LlamaConfig, u32)> {
    if let Some(name) = source.strip_prefix("random:") {
        let name = if name == "smollm2" {
            "smollm2-135m"
        } else {
            name
        };
        let Some(config) = LlamaConfig::named(name) else {
            anyhow::bail!(
                "no shapes named {name:?} (known: smollm2, {})",
                LlamaConfig::NAMED.join(", ")
            );
        };
        let model = match lora {
            Some(lora) => Llama::random_with_base_dtype(&config, device, 0, lora)?,
            None => Llama::random(&config, device, 0)?,
        };
        return Ok((model, config, 2));
    }
    let path = Path::new(source);
    let lm = LanguageModel::load_for_training(path, device, lora)
        .with_context(|| format!("loading {source}"))?;
    Ok((lm.model, lm.config, lm.pad_id))
}

pub(crate) fn measure(
    source: &str,
    device: &str,
    batches: &[usize],
    (prompt_len, new_tokens): (usize, usize),
    reps: usize,
    base: Option<&LoraConfig>,
) -> Result<Vec<Record>> {
    let device = parse_device(device)?;
    let (model, _, pad_id) = load_model(source, &device, base)?;
    let vocab = model.vocab_size();
    let mut records = Vec::new();
    for &batch in batches {
        let prompts: Vec<Vec<u32>> = (0..batch)
            .map(|b| token_ids(b, prompt_len, 0, vocab))
            .collect();
        let mut prefill = Vec::new();
        let mut decode = Vec::new();
        for rep in 0..=reps {
            let t0 = Instant::now();
            let tb = TokenBatch::pad(&prompts, pad_id, Padding::Left)?;
            let (tokens, positions, bias) = model.step_inputs(&tb, None, 0)?;
            let mut cache = model.new_cache();
            let hidden = model.forward_hidden(tokens, positions, bias, Some(&mut cache));
            let [b, t, d] = hidden.dims();
            let logits = model.logits(hidden.slice([0..b, t - 1..t, 0..d]));
            srlm::model::read_f32(logits, "logits")?;
            let prefill_s = t0.elapsed().as_secs_f64();
            let config = GenerationConfig {
                max_new_tokens: new_tokens,
                stop_ids: vec![u32::MAX],
                ..Default::default()
            };
            let t1 = Instant::now();
            let out = generate(&model, &prompts, pad_id, &config)?;
            let total_s = t1.elapsed().as_secs_f64();
            ensure!(
                out.iter().all(|g| g.token_ids.len() == new_tokens),
                "generation stopped before {new_tokens} tokens"
            );
            // The first repetition is the warm-up.
            if rep > 0 {
                prefill.push((batch * prompt_len) as f64 / prefill_s);
                decode.push((batch * new_tokens) as f64 / (total_s - prefill_s).max(1e-9));
            }
        }
        for (work, rates) in [("prefill", prefill), ("decode", decode)] {
            records.push(Record::generation(
                &base_name(work, base),
                batch,
                median(rates),
            ));
        }
    }
    Ok(records)
}

/// `work` over a bf16 LoRA base is `work+bf16base` (the model the loop generates from when its
/// adapters train over that base: `--lora R --lora-base bf16`); over an f32 base, `work`.
pub(crate) fn base_name(work: &str, base: Option<&LoraConfig>) -> String {
    match base {
        Some(lora) if lora.base_dtype != LoraDtype::F32 => {
            format!("{work}+{}base", lora.base_dtype.name())
        }
        _ => work.to_string(),
    }
}
