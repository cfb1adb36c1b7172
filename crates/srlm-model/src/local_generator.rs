//! [`LocalGenerator`]: the [`TextGenerator`] over a loaded [`LanguageModel`] — text in, text
//! out, batched, each prompt prefilled once for all its samples.

use srlm_generation::{Completion, GenerationConfig, GenerationError, TextGenerator};

use crate::error::Result;

use crate::generate::{ContinuousBatching, FinishReason, GenerationPath};
use crate::model::LanguageModel;

impl LanguageModel {
    /// `n` completions of each user prompt (chat template applied), at most `batch_size`
    /// sequences per forward pass: text in, text out. Each prompt is prefilled once and its `n`
    /// samples decoded from copies of its cache; sequence `k` of a chunk of `batch_size / n`
    /// prompts starting at prompt `p` draws from stream `k` of seed `config.seed + p·n`. With
    /// [`GenerationPath::ContinuousBatching`] on (`SRLM_GENERATION=all`; off by default) prompts join the
    /// batch as sequences finish ([`crate::generate_continuous`]), drawing from the same streams.
    pub fn complete(
        &self,
        prompts: &[String],
        n: usize,
        config: &GenerationConfig,
        batch_size: usize,
    ) -> Result<Vec<Vec<Completion>>> {
        let encoded = prompts
            .iter()
            .map(|p| self.encode_prompt(p, false))
            .collect::<Result<Vec<_>>>()?;
        if n == 0 {
            return Ok(prompts.iter().map(|_| Vec::new()).collect());
        }
        let per_chunk = (batch_size.max(1) / n).max(1);
        let generations = if GenerationPath::ContinuousBatching.is_on() {
            let batching = ContinuousBatching {
                rows: batch_size.max(1),
            };
            self.generate_continuous(&encoded, n, config, batching)?
        } else {
            let mut all = Vec::with_capacity(encoded.len() * n);
            for (chunk_index, chunk) in encoded.chunks(per_chunk).enumerate() {
                let chunk_config = GenerationConfig {
                    seed: config
                        .seed
                        .wrapping_add((chunk_index * per_chunk * n) as u64),
                    ..config.clone()
                };
                all.extend(self.generate_samples(chunk, n, &chunk_config)?);
            }
            all
        };
        let mut out: Vec<Vec<Completion>> = Vec::with_capacity(prompts.len());
        for samples in generations.chunks(n) {
            let mut completions = Vec::with_capacity(n);
            for generation in samples {
                completions.push(Completion {
                    text: self.tokenizer.decode(&generation.token_ids, true)?,
                    truncated: generation.finish == FinishReason::Length,
                });
            }
            out.push(completions);
        }
        Ok(out)
    }
}

/// Generates with a borrowed local model, `batch_size` sequences at a time
/// ([`LanguageModel::complete`]).
///
/// ```
/// use srlm_model::{parse_device, GenerationConfig, LanguageModel, LocalGenerator, TextGenerator};
///
/// # let tiny = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama3");
/// let model = LanguageModel::load(&tiny, &parse_device("cpu")?)?;
/// let mut generator = LocalGenerator::new(&model, 8);
/// let rows = generator.complete(&["Hello".to_string()], 2, &GenerationConfig::greedy(4))?;
/// assert_eq!(rows.len(), 1);
/// assert_eq!(rows[0].len(), 2);
/// assert_eq!(rows[0][0], rows[0][1]); // greedy: both samples agree
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
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

    /// The model.
    pub fn model(&self) -> &'a LanguageModel {
        self.model
    }
}

impl TextGenerator for LocalGenerator<'_> {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        config: &GenerationConfig,
    ) -> srlm_generation::Result<Vec<Vec<Completion>>> {
        self.model
            .complete(prompts, n, config, self.batch_size)
            .map_err(GenerationError::generator)
    }
}

/// A [`TextGenerator`] that owns its model (one loaded for a stage or a report).
#[derive(Debug)]
pub struct OwnedLocalGenerator {
    /// The model.
    pub model: LanguageModel,
    /// Sequences per forward pass.
    pub batch_size: usize,
}

impl TextGenerator for OwnedLocalGenerator {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        config: &GenerationConfig,
    ) -> srlm_generation::Result<Vec<Vec<Completion>>> {
        LocalGenerator::new(&self.model, self.batch_size).complete(prompts, n, config)
    }
}
