//! What an evaluation evaluates and how: [`EvalOptions`], the head-to-head judge
//! ([`PairJudge`]) and how it decides ([`PairMethod`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use srlm_judge::HttpSettings;
use srlm_loop::{GeneratorSpec, JudgeSection, RunConfig};

/// What to evaluate and how much of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// Held-out EFT prompts (each with its responses) per held-out set kind (natural, ladder)
    /// for judge quality; 0 skips.
    pub held_out_prompts: usize,
    /// How every model judges (samples, sampling, token limit, template, score pattern): one
    /// source of truth with the loop. `None`: the run's `[judge]` ([`crate::evaluate_run`]), or the
    /// embedded default's ([`crate::evaluate_models`]). The judge's generator and method are not
    /// read: each model judges itself by sampling.
    #[serde(default)]
    pub judge: Option<JudgeSection>,
    /// Evaluation prompts: MT-Bench's `question.jsonl` or a JSONL of `{id, category, turns}`.
    pub eval_prompts: PathBuf,
    /// How many (spread over categories); 0 skips the head-to-heads.
    pub max_eval_prompts: usize,
    /// Held-out prompts whose seed reference answer (the ladder's `original` rung) each model
    /// answers against, judged by the head-to-head judge and method: a yardstick that does
    /// not move between iterations. 0 skips it.
    #[serde(default)]
    pub reference_prompts: usize,
    /// Most new tokens per answer (greedy).
    pub answer_max_tokens: usize,
    /// Who judges every head-to-head: one of the evaluated models by name (default `M1`), a
    /// local model file, or an OpenAI-compatible server — the same judge for every comparison.
    pub pair_judge: PairJudge,
    /// Most new tokens per head-to-head verdict (`None`: the judge's `max_tokens`).
    #[serde(default)]
    pub pair_max_tokens: Option<usize>,
    /// How the head-to-head judge decides: pointwise (each answer scored alone with the judge
    /// prompt, `judge_samples` samples; the default for a local model) or pairwise (MT-Bench's
    /// prompt in both orders; the default for a server).
    #[serde(default)]
    pub pair_method: PairMethod,
    /// Include the seed model M0 as the baseline.
    pub baseline: bool,
    /// Seed of sampling and bootstrap.
    pub seed: u64,
    /// Sequences per forward pass (`None`: the run's `run.generation_batch`, or the embedded
    /// default's).
    #[serde(default)]
    pub batch: Option<usize>,
    /// How requests to a judge server go out.
    pub http: HttpSettings,
    /// A folder where every answer and verdict is journaled as it is made, so a rerun after a
    /// crash redoes nothing finished (`None`: nothing is kept).
    pub journal: Option<PathBuf>,
    /// Prompts with verifiable instructions (IFEval's JSON Lines format) that each model answers
    /// greedily, checked by programs (`None`: no instruction-following section).
    #[serde(default)]
    pub instructed_prompts: Option<PathBuf>,
    /// The first this many of them (0: all).
    #[serde(default)]
    pub max_instructed_prompts: usize,
    /// Kinds held out of training, reported apart.
    #[serde(default)]
    pub held_out_kinds: Vec<String>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            held_out_prompts: 4,
            judge: None,
            eval_prompts: "assets/data/mt_bench.jsonl".into(),
            max_eval_prompts: 8,
            reference_prompts: 8,
            answer_max_tokens: 128,
            pair_judge: PairJudge::default(),
            pair_max_tokens: None,
            pair_method: PairMethod::default(),
            baseline: true,
            seed: 0,
            batch: None,
            http: HttpSettings::default(),
            journal: None,
            instructed_prompts: None,
            max_instructed_prompts: 0,
            held_out_kinds: Vec::new(),
        }
    }
}

impl EvalOptions {
    /// The judge settings in effect: `judge`, or the embedded default's `[judge]`.
    pub fn judge_settings(&self) -> JudgeSection {
        self.judge
            .clone()
            .unwrap_or_else(|| RunConfig::default().judge)
    }

    /// Sequences per forward pass in effect: `batch`, or the embedded default's
    /// `run.generation_batch`.
    pub fn generation_batch(&self) -> usize {
        self.batch
            .unwrap_or_else(|| RunConfig::default().run.generation_batch)
    }

    /// Most new tokens per head-to-head verdict in effect.
    pub fn pair_tokens(&self) -> usize {
        self.pair_max_tokens
            .unwrap_or_else(|| self.judge_settings().max_tokens)
    }
}

/// The one judge of every head-to-head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairJudge {
    /// An evaluated model, by name. The default, `M1` (the model SFT made, before any
    /// self-rewarding), stays the same whichever iterations are compared — unlike the latest
    /// model, which would judge its own answers in every matchup it plays. When no evaluated
    /// model has the name, the first model after the baseline judges (named in the report).
    Evaluated(String),
    /// A model outside the evaluation: a local model file or an OpenAI-compatible server.
    External(GeneratorSpec),
}

impl PairJudge {
    /// The default judge's name, `M1`: the only name that falls back to another model when no
    /// evaluated model has it.
    pub fn default_name() -> &'static str {
        "M1"
    }
}

impl Default for PairJudge {
    fn default() -> Self {
        PairJudge::Evaluated(PairJudge::default_name().into())
    }
}

/// How the fixed judge decides a head-to-head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairMethod {
    /// Pointwise for a local model (it was trained on the pointwise prompt), pairwise for an
    /// OpenAI-compatible server (the paper's GPT-4 protocol).
    #[default]
    Auto,
    /// MT-Bench's pairwise prompt, each pair in both orders, a disagreement a tie.
    Pairwise,
    /// The judge prompt on each answer alone; the higher mean score wins, equal means tie.
    Pointwise,
}

impl PairMethod {
    /// The method used with `judge`: [`PairMethod::Auto`] resolved.
    pub fn resolve(self, judge: &PairJudge) -> PairMethod {
        match self {
            PairMethod::Auto => match judge {
                PairJudge::External(GeneratorSpec::OpenAi(_)) => PairMethod::Pairwise,
                _ => PairMethod::Pointwise,
            },
            other => other,
        }
    }
}
