//! [`LocalGenerator`]: a [`TextGenerator`] over an `srlm-model` [`LanguageModel`] — the model
//! judging its own answers, batched.

use srlm_model::{GenerationConfig, LanguageModel, SamplingParams};

use crate::error::Result;
use crate::judge::{Completion, SampleParams, TextGenerator};

/// Generates with a local model, `batch_size` sequences at a time.
#[derive(Debug)]
pub struct LocalGenerator<'a> {
    model: &'a LanguageModel,
    batch_size: usize,
}

impl<'a> LocalGenerator<'a> {
    /// Wraps a loaded model.
    pub fn new(model: &'a LanguageModel, batch_size: usize) -> Self {
        LocalGenerator {
            model,
            batch_size: batch_size.max(1),
        }
    }
}

impl TextGenerator for LocalGenerator<'_> {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        params: &SampleParams,
    ) -> Result<Vec<Vec<Completion>>> {
        let encoded = prompts
            .iter()
            .map(|p| self.model.encode_prompt(p, false))
            .collect::<Result<Vec<_>, _>>()?;
        // Each prompt is prefilled once and its `n` samples decoded from copies of its cache;
        // a chunk holds as many prompts as fit `batch_size` sequences (at least one). Sequence
        // `k` of a chunk starting at prompt `p` draws from stream `k` of seed `seed + p·n`.
        if n == 0 {
            return Ok(prompts.iter().map(|_| Vec::new()).collect());
        }
        let per_chunk = (self.batch_size / n).max(1);
        let mut out: Vec<Vec<Completion>> = Vec::with_capacity(prompts.len());
        for (chunk_index, chunk) in encoded.chunks(per_chunk).enumerate() {
            let config = GenerationConfig {
                max_new_tokens: params.max_tokens,
                sampling: SamplingParams {
                    temperature: params.temperature,
                    top_p: params.top_p,
                    top_k: 0,
                },
                seed: params
                    .seed
                    .wrapping_add((chunk_index * per_chunk * n) as u64),
                stop_ids: Vec::new(),
            };
            let generations = self.model.generate_samples(chunk, n, &config)?;
            for samples in generations.chunks(n) {
                let mut completions = Vec::with_capacity(n);
                for generation in samples {
                    let text = self.model.tokenizer.decode(&generation.token_ids, true)?;
                    let truncated = generation.finish == srlm_model::FinishReason::Length;
                    completions.push(Completion { text, truncated });
                }
                out.push(completions);
            }
        }
        Ok(out)
    }
}
