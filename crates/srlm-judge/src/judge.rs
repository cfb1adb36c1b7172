//! The [`Judge`] interface and [`SamplingJudge`], which samples k judge texts per response from
//! any [`TextGenerator`] (a local burn model, or an OpenAI-compatible server) and averages the
//! parsed scores.

use serde::{Deserialize, Serialize};

use crate::aggregate::{AggregationConfig, Judgement};
use crate::error::{JudgeError, Result};
use crate::parse::ScoreParser;
use crate::template::JudgeTemplate;

/// One thing to judge: the user's prompt and a candidate response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JudgeItem {
    /// The user's prompt.
    pub prompt: String,
    /// The response to judge.
    pub response: String,
}

/// Sampling settings for a text generator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampleParams {
    /// Temperature (0 is greedy).
    pub temperature: f32,
    /// Nucleus threshold.
    pub top_p: f32,
    /// Most new tokens per completion.
    pub max_tokens: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for SampleParams {
    fn default() -> Self {
        SampleParams {
            temperature: 0.7,
            top_p: 0.9,
            max_tokens: 256,
            seed: 0,
        }
    }
}

/// A completion of one prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// The generated text.
    pub text: String,
    /// Whether it stopped at the token limit rather than at the end of its turn.
    pub truncated: bool,
}

/// Anything that answers user prompts: a local model or a server.
pub trait TextGenerator {
    /// `n` completions of each prompt (each prompt is one user turn), in order.
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        params: &SampleParams,
    ) -> Result<Vec<Vec<Completion>>>;
}

impl<G: TextGenerator + ?Sized> TextGenerator for &mut G {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        params: &SampleParams,
    ) -> Result<Vec<Vec<Completion>>> {
        (**self).complete(prompts, n, params)
    }
}

impl<G: TextGenerator + ?Sized> TextGenerator for Box<G> {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        params: &SampleParams,
    ) -> Result<Vec<Vec<Completion>>> {
        (**self).complete(prompts, n, params)
    }
}

/// `n` completions of each of `prompts` from `generator`, checked: exactly one row per prompt
/// and `n` completions per row, or [`JudgeError::GeneratorRows`] — never a silently shorter
/// result.
pub fn complete_checked(
    generator: &mut (impl TextGenerator + ?Sized),
    prompts: &[String],
    n: usize,
    params: &SampleParams,
) -> Result<Vec<Vec<Completion>>> {
    let rows = generator.complete(prompts, n, params)?;
    if rows.len() != prompts.len() || rows.iter().any(|r| r.len() != n) {
        return Err(JudgeError::GeneratorRows {
            prompts: prompts.len(),
            rows: rows.len(),
            samples: n,
        });
    }
    Ok(rows)
}

/// Scores a batch of responses.
pub trait Judge {
    /// One judgement per item, in order.
    fn judge(&mut self, items: &[JudgeItem]) -> Result<Vec<Judgement>>;
}

/// LLM-as-a-judge by sampling: render the judge prompt, sample `k` judge texts, parse each,
/// average the valid scores.
#[derive(Debug)]
pub struct SamplingJudge<G> {
    generator: G,
    template: JudgeTemplate,
    parser: ScoreParser,
    aggregation: AggregationConfig,
    params: SampleParams,
}

impl<G: TextGenerator> SamplingJudge<G> {
    /// The paper's judge: its template, 3 samples, default sampling.
    pub fn new(generator: G) -> Self {
        SamplingJudge {
            generator,
            template: JudgeTemplate::paper(),
            parser: ScoreParser::default(),
            aggregation: AggregationConfig::default(),
            params: SampleParams::default(),
        }
    }

    /// Another judge template.
    pub fn with_template(mut self, template: JudgeTemplate) -> Self {
        self.template = template;
        self
    }

    /// Another score parser.
    pub fn with_parser(mut self, parser: ScoreParser) -> Self {
        self.parser = parser;
        self
    }

    /// Samples per response and minimum valid samples.
    pub fn with_aggregation(mut self, aggregation: AggregationConfig) -> Self {
        self.aggregation = aggregation;
        self
    }

    /// Sampling settings of the judge.
    pub fn with_params(mut self, params: SampleParams) -> Self {
        self.params = params;
        self
    }

    /// The sampling settings, to change between batches (a new seed per batch, say).
    pub fn params_mut(&mut self) -> &mut SampleParams {
        &mut self.params
    }

    /// The generator, back.
    pub fn into_inner(self) -> G {
        self.generator
    }
}

impl<G: TextGenerator> Judge for SamplingJudge<G> {
    fn judge(&mut self, items: &[JudgeItem]) -> Result<Vec<Judgement>> {
        let prompts = items
            .iter()
            .map(|item| self.template.render(&item.prompt, &item.response))
            .collect::<Result<Vec<_>>>()?;
        let completions = complete_checked(
            &mut self.generator,
            &prompts,
            self.aggregation.samples,
            &self.params,
        )?;
        Ok(completions
            .into_iter()
            .map(|samples| {
                let parsed = samples
                    .iter()
                    .map(|c| self.parser.parse(&c.text, c.truncated))
                    .collect();
                let truncated = samples.iter().filter(|c| c.truncated).count();
                let texts = samples.into_iter().map(|c| c.text).collect();
                Judgement::from_samples(parsed, texts, &self.aggregation).with_truncated(truncated)
            })
            .collect())
    }
}
