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
        // Every (prompt, sample) is one sequence; its index seeds its random stream.
        let jobs: Vec<(usize, &Vec<u32>)> = encoded
            .iter()
            .enumerate()
            .flat_map(|(i, ids)| (0..n).map(move |_| (i, ids)))
            .collect();
        let mut out: Vec<Vec<Completion>> = prompts.iter().map(|_| Vec::with_capacity(n)).collect();
        for (chunk_index, chunk) in jobs.chunks(self.batch_size).enumerate() {
            let ids: Vec<Vec<u32>> = chunk.iter().map(|(_, ids)| (*ids).clone()).collect();
            let config = GenerationConfig {
                max_new_tokens: params.max_tokens,
                sampling: SamplingParams {
                    temperature: params.temperature,
                    top_p: params.top_p,
                    top_k: 0,
                },
                seed: params
                    .seed
                    .wrapping_add((chunk_index * self.batch_size) as u64),
                stop_ids: Vec::new(),
            };
            for ((prompt, _), generation) in chunk.iter().zip(self.model.generate(&ids, &config)?) {
                let text = self.model.tokenizer.decode(&generation.token_ids, true)?;
                let truncated = generation.finish == srlm_model::FinishReason::Length;
                out[*prompt].push(Completion { text, truncated });
            }
        }
        Ok(out)
    }
}
