//! The [`Judge`] interface and [`SamplingJudge`], which samples k judge texts per response from
//! any [`TextGenerator`] (a local burn model, or an OpenAI-compatible server) and averages the
//! parsed scores.

use serde::{Deserialize, Serialize};
use srlm_generation::{complete_checked, GenerationConfig, TextGenerator};

use crate::aggregate::{AggregationConfig, Judgement};
use crate::error::Result;
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

/// Default token cap of one judgement — sampled judgements, the expected-score judge's
/// justification, head-to-head verdicts: the EFT ladder's longest target judgement is about 100
/// tokens of SmolLM2's tokenizer (a test in srlm-data checks it stays under half of this), so a
/// judge trained on it is never cut where its training data would not be.
pub const DEFAULT_JUDGE_MAX_TOKENS: usize = 256;

/// The sampling judge's default settings: temperature 0.7, top-p 0.9, at most
/// [`DEFAULT_JUDGE_MAX_TOKENS`] tokens, seed 0.
pub fn default_judge_sampling() -> GenerationConfig {
    GenerationConfig::sampled(0.7, 0.9, DEFAULT_JUDGE_MAX_TOKENS)
}

/// Scores a batch of responses.
pub trait Judge {
    /// One judgement per item, in order.
    fn judge(&mut self, items: &[JudgeItem]) -> Result<Vec<Judgement>>;

    /// Reseeds a judge that samples, before a unit of work, so a unit's judgements depend on
    /// its own seed only (a resumed run then equals an uninterrupted one). Deterministic judges
    /// ignore it.
    fn reseed(&mut self, _seed: u64) {}
}

impl<J: Judge + ?Sized> Judge for &mut J {
    fn judge(&mut self, items: &[JudgeItem]) -> Result<Vec<Judgement>> {
        (**self).judge(items)
    }

    fn reseed(&mut self, seed: u64) {
        (**self).reseed(seed);
    }
}

impl<J: Judge + ?Sized> Judge for Box<J> {
    fn judge(&mut self, items: &[JudgeItem]) -> Result<Vec<Judgement>> {
        (**self).judge(items)
    }

    fn reseed(&mut self, seed: u64) {
        (**self).reseed(seed);
    }
}

/// LLM-as-a-judge by sampling: render the judge prompt, sample `k` judge texts, parse each,
/// average the valid scores.
///
/// Any [`TextGenerator`] can be the judge model — a local model, a server, or your own type:
///
/// ```
/// use srlm_generation::{Completion, GenerationConfig, GenerationError, TextGenerator};
/// use srlm_judge::{Judge, JudgeItem, SamplingJudge};
///
/// /// A scripted "model": a verdict that depends on the response inside the judge prompt.
/// struct Scripted;
///
/// impl TextGenerator for Scripted {
///     fn complete(
///         &mut self,
///         prompts: &[String],
///         n: usize,
///         _config: &GenerationConfig,
///     ) -> Result<Vec<Vec<Completion>>, GenerationError> {
///         Ok(prompts
///             .iter()
///             .map(|p| {
///                 let verdict = if p.contains("Paris") { "Correct and clear.\nScore: 5" } else { "Off topic." };
///                 vec![Completion { text: verdict.into(), truncated: false }; n]
///             })
///             .collect())
///     }
/// }
///
/// let mut judge = SamplingJudge::new(Scripted).with_samples(3);
/// let item = |response: &str| JudgeItem { prompt: "Capital of France?".into(), response: response.into() };
/// let verdicts = judge.judge(&[item("Paris."), item("Bananas.")])?;
/// assert_eq!(verdicts[0].score, Some(5.0)); // the mean of 3 parsed samples
/// assert_eq!(verdicts[1].score, None); // no sample parsed: no score, and the reasons kept
/// assert_eq!(verdicts[1].samples.len(), 3);
/// # Ok::<(), srlm_judge::JudgeError>(())
/// ```
#[derive(Debug)]
pub struct SamplingJudge<G> {
    generator: G,
    template: JudgeTemplate,
    parser: ScoreParser,
    aggregation: AggregationConfig,
    params: GenerationConfig,
}

impl<G: TextGenerator> SamplingJudge<G> {
    /// The paper's judge: its template, 3 samples, default sampling.
    pub fn new(generator: G) -> Self {
        SamplingJudge {
            generator,
            template: JudgeTemplate::paper(),
            parser: ScoreParser::default(),
            aggregation: AggregationConfig::default(),
            params: default_judge_sampling(),
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

    /// `samples` samples per response, scored when at least one parses (the paper's rule: the
    /// mean of the valid ones).
    pub fn with_samples(self, samples: usize) -> Self {
        self.with_aggregation(AggregationConfig {
            samples,
            min_valid: 1,
        })
    }

    /// Sampling settings of the judge.
    pub fn with_params(mut self, params: GenerationConfig) -> Self {
        self.params = params;
        self
    }

    /// The sampling settings, to change between batches (a new seed per batch, say).
    pub fn params_mut(&mut self) -> &mut GenerationConfig {
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

    fn reseed(&mut self, seed: u64) {
        self.params.seed = seed;
    }
}
