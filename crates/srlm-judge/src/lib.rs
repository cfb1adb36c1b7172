//! # srlm-judge
//!
//! LLM-as-a-judge for self-rewarding training. This crate knows no tensors: it renders prompts,
//! reads scores out of text, aggregates them and measures judges; models are reached through the
//! [`TextGenerator`] trait of `srlm-generation` (a local `srlm-model` model via
//! `LocalGenerator`, or any OpenAI-compatible server via [`OpenAiGenerator`]).
//!
//! Feature `local` (default) adds the local model: `LocalGenerator` (re-exported from
//! `srlm-model`) and `ExpectedScoreJudge`, which reads the model's digit probabilities. Without
//! it the crate builds without burn: templates, parsing, the sampling, pairwise and HTTP judges,
//! metrics.
//!
//! - [`JudgeTemplate`]: the paper's additive 5-point prompt (Yuan et al., 2024, Figure 2) by
//!   default, or your own minijinja template over `{{ prompt }}` and `{{ response }}`.
//! - [`ScoreParser`]: the last `Score: N` wins; `**Score:** 4`, `Score: 4.5`, `Score: 4/5` are
//!   read; a failure comes with a [`ParseFailure`] reason.
//! - [`SamplingJudge`]: k samples per response (default 3), mean of the valid ones
//!   ([`Judgement`], [`ParseStats`]); `ExpectedScoreJudge`: the expectation over the digit
//!   probabilities at the final `Score: ` of the judge's own greedy justification, where EFT
//!   training puts the score.
//! - [`judge_pairs`]: head-to-head in both orders, disagreement = tie.
//! - [`judge_metrics`]: pairwise accuracy, 5-best %, exact match %, Spearman, Kendall τ-b.
//!
//! ```
//! use srlm_judge::{JudgeTemplate, ScoreParser, ParseFailure};
//!
//! let prompt = JudgeTemplate::paper().render("What is 2+2?", "4")?;
//! assert!(prompt.contains("User: What is 2+2?\n<response>4</response>"));
//! let parser = ScoreParser::default();
//! assert_eq!(parser.parse("Clear and correct.\n**Score:** 4", false), Ok(4.0));
//! assert_eq!(parser.parse("I think it is good", true), Err(ParseFailure::Truncated));
//! # Ok::<(), srlm_judge::JudgeError>(())
//! ```

mod aggregate;
mod error;
#[cfg(feature = "local")]
mod expected;
mod http;
mod journal;
mod judge;
mod metrics;
mod pairwise;
mod parse;
mod template;

pub use aggregate::{AggregationConfig, Judgement, ParseStats};
pub use error::{JudgeError, Result};
#[cfg(feature = "local")]
pub use expected::ExpectedScoreJudge;
pub use http::{
    request_seed, Endpoint, HttpConfig, HttpSettings, OpenAiGenerator, REQUEST_SEED_BITS,
};
pub use journal::{CompletionJournal, JournaledGenerator};
pub use judge::{
    default_judge_sampling, Judge, JudgeItem, SamplingJudge, DEFAULT_JUDGE_MAX_TOKENS,
};
pub use metrics::{
    average_ranks, judge_metrics, kendall_tau_b, spearman, JudgeMetrics, RankedGroup,
};
pub use pairwise::{
    combine, judge_pairs, parse_verdict, PairItem, PairOutcome, PairwiseTemplate, Verdict,
    PAIRWISE_TEMPLATE,
};
pub use parse::{ParseFailure, ScoreParser, DEFAULT_PATTERN, SCORE_PREFIX};
/// The generation seam (crate `srlm-generation`), re-exported: judges sample through it.
pub use srlm_generation::{
    complete_checked, Completion, GenerationConfig, GenerationError, SamplingParams, TextGenerator,
};
/// The local model's generator (feature `local`, on by default).
#[cfg(feature = "local")]
pub use srlm_model::LocalGenerator;
pub use template::{JudgeTemplate, PAPER_TEMPLATE};
