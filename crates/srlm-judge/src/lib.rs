//! # srlm-judge
//!
//! LLM-as-a-judge for self-rewarding training. This crate knows no tensors: it renders prompts,
//! reads scores out of text, aggregates them and measures judges; models are reached through the
//! [`TextGenerator`] trait (a local `srlm-model` model via [`LocalGenerator`], or any
//! OpenAI-compatible server via [`OpenAiGenerator`]).
//!
//! - [`JudgeTemplate`]: the paper's additive 5-point prompt (Yuan et al., 2024, Figure 2) by
//!   default, or your own minijinja template over `{{ prompt }}` and `{{ response }}`.
//! - [`ScoreParser`]: the last `Score: N` wins; `**Score:** 4`, `Score: 4.5`, `Score: 4/5` are
//!   read; a failure comes with a [`ParseFailure`] reason.
//! - [`SamplingJudge`]: k samples per response (default 3), mean of the valid ones
//!   ([`Judgement`], [`ParseStats`]); [`ExpectedScoreJudge`]: the expectation over the digit
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
mod expected;
mod http;
mod journal;
mod judge;
mod local;
mod metrics;
mod pairwise;
mod parse;
mod template;

pub use aggregate::{AggregationConfig, Judgement, ParseStats};
pub use error::{JudgeError, Result};
pub use expected::{ExpectedScoreJudge, DEFAULT_JUDGE_MAX_TOKENS};
pub use http::{
    request_seed, Endpoint, HttpConfig, HttpSettings, OpenAiGenerator, SamplingCheck,
    REQUEST_SEED_BITS,
};
pub use journal::{CompletionJournal, JournaledGenerator};
pub use judge::{
    complete_checked, Completion, Judge, JudgeItem, SampleParams, SamplingJudge, TextGenerator,
};
pub use local::LocalGenerator;
pub use metrics::{
    average_ranks, judge_metrics, kendall_tau_b, spearman, JudgeMetrics, RankedGroup,
};
pub use pairwise::{
    combine, judge_pairs, parse_verdict, PairItem, PairOutcome, PairwiseTemplate, Verdict,
    PAIRWISE_TEMPLATE,
};
pub use parse::{ParseFailure, ScoreParser, DEFAULT_PATTERN};
pub use template::{JudgeTemplate, PAPER_TEMPLATE};
