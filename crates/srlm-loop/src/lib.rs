//! # srlm-loop
//!
//! The self-rewarding loop of Yuan et al. (2024), "Self-Rewarding Language Models": from a seed
//! model M0, supervised fine-tuning on instruction (IFT) and evaluation (EFT) data gives M1; then
//! each iteration t has Mt write new prompts (few-shot, Self-Instruct's filters), sample N
//! candidate responses to each, judge every candidate itself with the additive 5-point
//! LLM-as-a-judge prompt (k samples averaged), keep (best, worst) as a preference pair, and
//! train Mt+1 by DPO with Mt as the frozen reference.
//!
//! [`SelfRewardingRun`] drives the stages in a run folder ([`RunDir`]); every stage writes its
//! output atomically and records each finished unit of work (a batch of generations, a
//! training step) durably, so a run killed at any point continues, with the same command, from
//! the last finished unit — and ends with the same outputs as an uninterrupted run.
//!
//! ```
//! use srlm_loop::{rouge_l, FilterConfig, RunConfig};
//!
//! // The paper's settings, and the embedded small default.
//! let paper = RunConfig::paper();
//! assert_eq!(paper.candidates.n, 4);
//! assert_eq!(paper.judge.samples, 3);
//! assert_eq!(paper.run.iterations, 2);
//! // Any setting can be overridden, as on the command line.
//! let config = RunConfig::default().with_overrides(&["candidates.n=2".into()])?;
//! assert_eq!(config.candidates.n, 2);
//!
//! // Self-Instruct's filters.
//! let filter = FilterConfig::default();
//! assert!(filter.check_text("Draw a picture of a cat.").is_err());
//! assert!(filter.check_text("Compose a lullaby for a sleepy child.").is_ok());
//! assert!(rouge_l("Write a poem about the sea.", "Write a short poem about the ocean.") > 0.7);
//! # Ok::<(), srlm_loop::LoopError>(())
//! ```

mod config;
mod driver;
mod error;
mod filter;
mod generator;
mod judge_source;
mod observer;
mod records;
mod rouge;
mod run_dir;
mod stage_clock;
mod stages;

pub use config::{
    CandidateSection, DataSection, DpoSection, EftBuilder, Follows, GeneratorSpec, InstructSection,
    JudgeMethod, JudgeSection, MinParsed, ModelSection, NaturalSection, PairSection, PromptSource,
    RunConfig, RunSection, ServeSection, ServedModel, VerifiableSection,
};
pub use driver::{RunOutcome, SelfRewardingRun};
pub use error::{LoopError, Result};
pub use filter::{FilterConfig, Rejection, UNFIT_KEYWORDS};
pub use generator::{GeneratorSource, Role, SpecGenerators};
pub use judge_source::{ConfiguredJudges, JudgeSource};
pub use observer::{LogObserver, Observer};
pub use records::{
    CandidateSet, GeneratedInstruction, JudgedResponse, JudgedSet, NewPrompt, SeedPrompt,
};
pub use rouge::{rouge_l, rouge_l_tokens, rouge_tokens, RougePool};
pub use run_dir::{RunDir, StageSummary};
// The stages' pieces a user composes or reads a run folder with: Self-Instruct's prompt and
// parser, the preference pairs, the checks of the self-judge against the verifiable
// instructions, the instructed answers, and what a finished run's records hold.
pub use stages::candidates::loops_at_end;
pub use stages::instruct::{extract_tasks, few_shot_prompt};
pub use stages::instructed::{check_self_reward, wilson_interval, Rate, SelfRewardCheck};
pub use stages::judging::{judged_judgements, score_histogram};
pub use stages::mean_words;
pub use stages::pairs::{build_pairs, PairReport};
pub use stages::train::{HeldOutDpo, HeldOutMetrics};
pub use stages::verifiable::answer_instructed;
