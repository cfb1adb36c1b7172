//! Batched generation with a KV cache: one prefill of the whole left-padded batch, then one
//! decoding step per new token; finished sequences leave the batch.

use crate::batch::{Padding, TokenBatch};
use crate::error::{ModelError, Result};
use crate::llama::Llama;
use crate::sampling::{sample, sequence_rng, SamplingParams};
use crate::weights::read_f32;

/// Generation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationConfig {
    /// Most tokens to generate per sequence (the stop token included).
    pub max_new_tokens: usize,
    /// How each token is chosen.
    pub sampling: SamplingParams,
    /// Seed: the same seed, prompts and model give the same tokens.
    pub seed: u64,
    /// Token ids that end a sequence (end of turn); kept in the output.
    pub stop_ids: Vec<u32>,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        GenerationConfig {
            max_new_tokens: 256,
            sampling: SamplingParams::default(),
            seed: 0,
            stop_ids: Vec::new(),
        }
    }
}

/// Why a sequence stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// A stop token was generated.
    Stop,
    /// `max_new_tokens` (or the model's context) was reached.
    Length,
}

/// One generated continuation.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The new tokens only, the stop token included when there is one.
    pub token_ids: Vec<u32>,
    /// Why it ended.
    pub finish: FinishReason,
}

/// Generates a continuation of every prompt (token ids, chat template already applied).
pub fn generate(
    model: &Llama,
    prompts: &[Vec<u32>],
    pad_id: u32,
    config: &GenerationConfig,
) -> Result<Vec<Generation>> {
    config.sampling.validate()?;
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    if longest >= model.max_positions() {
        return Err(ModelError::InvalidInput(format!(
            "prompt of {longest} tokens leaves no room in the model's {} positions",
            model.max_positions()
        )));
    }
    let batch = TokenBatch::pad(prompts, pad_id, Padding::Left)?;
    let mut outputs: Vec<Generation> = prompts
        .iter()
        .map(|_| Generation {
            token_ids: Vec::new(),
            finish: FinishReason::Length,
        })
        .collect();
    if config.max_new_tokens == 0 {
        return Ok(outputs);
    }
    let mut rngs: Vec<_> = (0..prompts.len())
        .map(|i| sequence_rng(config.seed, i))
        .collect();
    // `active[r]`: the request index of cache row `r`; `valid[r]`: which cached cells are real.
    let mut active: Vec<usize> = (0..prompts.len()).collect();
    let mut valid: Vec<Vec<bool>> = batch
        .valid
        .chunks(batch.seq)
        .map(<[bool]>::to_vec)
        .collect();
    let mut cache = model.new_cache();
    let (tokens, positions, bias) = model.step_inputs(&batch, None, 0)?;
    let mut hidden = model.forward_hidden(tokens, positions, bias, Some(&mut cache));
    let room = model.max_positions() - longest;
    let steps = config.max_new_tokens.min(room);
    for step in 0..steps {
        let [b, t, d] = hidden.dims();
        let last = hidden.slice([0..b, t - 1..t, 0..d]);
        let logits = model.logits(last);
        let vocab = logits.dims()[2];
        let logits = read_f32(logits.reshape([b, vocab]), "logits")?;
        let mut next = Vec::with_capacity(b);
        let mut keep = Vec::with_capacity(b);
        for (row, &request) in active.iter().enumerate() {
            let id = sample(
                &logits[row * vocab..(row + 1) * vocab],
                &config.sampling,
                &mut rngs[request],
            );
            let out = &mut outputs[request];
            out.token_ids.push(id);
            if config.stop_ids.contains(&id) {
                out.finish = FinishReason::Stop;
            } else {
                keep.push(row);
                next.push(id);
            }
        }
        if keep.is_empty() || step + 1 == steps {
            break;
        }
        if keep.len() < active.len() {
            cache.retain_rows(&keep, &model.device());
            active = keep.iter().map(|&r| active[r]).collect();
            valid = keep
                .iter()
                .map(|&r| std::mem::take(&mut valid[r]))
                .collect();
        }
        let past = valid[0].len();
        let flat: Vec<bool> = valid.iter().flatten().copied().collect();
        let column = TokenBatch::column(next);
        let (tokens, positions, bias) = model.step_inputs(&column, Some(&flat), past)?;
        hidden = model.forward_hidden(tokens, positions, bias, Some(&mut cache));
        valid.iter_mut().for_each(|v| v.push(true));
    }
    Ok(outputs)
}
