//! The sections of a run configuration (`[run]`, `[data]`, `[instruct]`, …) and the generator
//! each role uses.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use srlm_data::eft::{LadderConfig, NaturalConfig};
use srlm_dpo::{DpoConfig, TrainConfig};

use crate::error::{LoopError, Result};
use crate::filter::FilterConfig;

pub use super::served::{Follows, ServeSection, ServedModel};
pub use super::verifiable::VerifiableSection;

/// Which model generates: the current model Mt, another local model, or a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GeneratorSpec {
    /// The model of the iteration (Mt).
    Current,
    /// A fixed local model (a GGUF file or a Hugging Face folder).
    Local {
        /// Its path.
        path: PathBuf,
    },
    /// An OpenAI-compatible server (for example vLLM serving a checkpoint of this run):
    /// `base_url`, `model` and whether it `follows` Mt; how requests go out is the run's
    /// `[http]` block, how it is switched between iterations the run's `[serve]` block.
    #[serde(rename = "openai")]
    OpenAi(ServedModel),
}

impl GeneratorSpec {
    /// The spec of iteration `t`: a served model's name with `{t}` replaced.
    pub fn at(&self, t: usize) -> GeneratorSpec {
        match self {
            GeneratorSpec::OpenAi(served) => {
                let endpoint = served.endpoint(t);
                GeneratorSpec::OpenAi(ServedModel {
                    base_url: endpoint.base_url,
                    model: endpoint.model,
                    follows: served.follows,
                })
            }
            other => other.clone(),
        }
    }

    /// The server, when the spec is one that must serve the iteration's model.
    pub fn follows_current(&self) -> Option<&ServedModel> {
        match self {
            GeneratorSpec::OpenAi(served) if served.follows == Follows::Current => Some(served),
            _ => None,
        }
    }
}

/// `[run]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// Self-rewarding iterations after SFT (the paper: 2, giving M2 and M3).
    pub iterations: usize,
    /// Seed of every random choice of the run.
    pub seed: u64,
    /// Device (`cpu`, `wgpu`, `cuda`).
    pub device: String,
    /// Sequences per forward pass when a local model generates.
    pub generation_batch: usize,
}

/// `[model]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// M0: a GGUF file or a Hugging Face folder.
    pub path: PathBuf,
}

/// `[data]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Seed instructions: a ShareGPT JSON file or an IFT JSON Lines file.
    pub seed: PathBuf,
    /// Ready EFT training records (JSON Lines); when absent, label-free ladders are built from
    /// the seed (see `docs/eft-ladder.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eft: Option<PathBuf>,
    /// IFT examples drawn for SFT.
    pub ift_examples: usize,
    /// EFT examples drawn for SFT.
    pub eft_examples: usize,
    /// Share of seed prompts held out of training (the judge's evaluation set).
    pub held_out_fraction: f64,
    /// Longest training example in tokens.
    pub max_len: usize,
    /// Which label-free builder makes EFT examples when `eft` is absent: `natural` (the
    /// default) or `ladder`.
    #[serde(default)]
    pub eft_builder: EftBuilder,
    /// The ladder builder's settings (its seed is the run's). Held-out ladders are built with
    /// either builder: a judge trained on natural sets is also measured on ladders.
    pub ladder: LadderConfig,
    /// The natural builder's settings and the seed model's answers it needs.
    #[serde(default)]
    pub natural: NaturalSection,
    /// Verifiable instructions: EFT ordered by programs over the seed model's own answers
    /// (mixed in at `share`), held-out own-vs-own judge sets and instructed evaluation prompts.
    #[serde(default)]
    pub verifiable: VerifiableSection,
}

/// Which label-free EFT builder makes the SFT set's judge examples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EftBuilder {
    /// Natural answers of known relative quality: the seed's reference answer, a sentence-end
    /// cut of it, the seed model's own answers, a nearest-neighbour prompt's answer
    /// (`docs/eft-natural.md`). Costs the seed model two answers per anchoring prompt.
    #[default]
    Natural,
    /// Known-quality ladders built by damaging the reference answer (`docs/eft-ladder.md`).
    Ladder,
}

/// `[data.natural]`: the natural EFT builder and the seed model's answers it anchors on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NaturalSection {
    /// Held-out prompts given a natural set (the judge-quality set of the kind the loop's
    /// candidates are: fluent, finished answers); built whichever builder trains. 0: none.
    pub held_out_prompts: usize,
    /// Most new tokens of a seed-model answer; an answer cut here is left out.
    pub max_tokens: usize,
    /// Temperature of the sampled answer.
    pub temperature: f32,
    /// Nucleus threshold of the sampled answer.
    pub top_p: f32,
    /// The builder's limits (its seed is the run's).
    pub builder: NaturalConfig,
}

impl Default for NaturalSection {
    fn default() -> Self {
        NaturalSection {
            held_out_prompts: 12,
            max_tokens: 256,
            temperature: 0.7,
            top_p: 0.9,
            builder: NaturalConfig {
                max_answer_words: 160,
                max_prompt_words: 60,
                ..NaturalConfig::default()
            },
        }
    }
}

/// Where an iteration's new prompts come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptSource {
    /// Seed prompts no stage has used: held out of SFT (neither an SFT example's prompt nor a
    /// held-out EFT prompt) and not used by an earlier iteration, drawn by the run's seed and
    /// passed through the text filters. The default at small sizes: the paper wrote prompts
    /// with a *fixed* Llama 2-Chat 70B, and a 135M model prompted few-shot mostly parrots the
    /// instruction ("Write a new task for a new task.").
    #[default]
    Seed,
    /// Self-instruction: `generator` writes new prompts few-shot, kept if they pass
    /// Self-Instruct's filters (the paper's method; use it with a capable generator).
    SelfInstruct,
}

/// `[instruct]`: an iteration's new prompts — unused seed prompts, or new ones by few-shot
/// prompting kept if they pass Self-Instruct's filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstructSection {
    /// Where the prompts come from.
    #[serde(default)]
    pub source: PromptSource,
    /// Prompts to keep per iteration.
    pub prompts: usize,
    /// The seed prompt source leaves out prompts whose seed answer is longer than this many
    /// words (`None`: no limit). At small sizes the candidates' token cap cuts long answers and
    /// a cut candidate never enters a pair: in the demo run of 2026-12-03, prompts whose seed
    /// answer ran past 200 words gave a pair 56 % of the time, the rest 79 %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seed_answer_words: Option<usize>,
    /// Most generations per iteration (the stage stops here even when short of `prompts`).
    pub max_generations: usize,
    /// Generations per unit of work (one journal entry).
    pub batch: usize,
    /// Examples from the seed prompts in each few-shot prompt (the paper: 6).
    pub shots_seed: usize,
    /// Examples from prompts generated earlier in the run (the paper: 2).
    pub shots_generated: usize,
    /// Sampling temperature (the paper: 0.6).
    pub temperature: f32,
    /// Nucleus threshold (the paper: 0.9).
    pub top_p: f32,
    /// Most new tokens per generation.
    pub max_tokens: usize,
    /// Who writes the prompts (the paper used a fixed Llama 2-Chat 70B; default: Mt).
    pub generator: GeneratorSpec,
    /// The filters.
    pub filter: FilterConfig,
    /// Share of each iteration's prompts given one to three verifiable instructions (drawn as
    /// `data.verifiable` says, its held-out kinds left out). The self-judge still chooses the
    /// pairs; the checks only measure how often its choice follows more instructions. 0: none.
    #[serde(default)]
    pub instructed_share: f64,
}

/// `[candidates]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateSection {
    /// Responses per prompt (the paper: 4).
    pub n: usize,
    /// Temperature (the paper: 0.7).
    pub temperature: f32,
    /// Nucleus threshold (the paper: 0.9).
    pub top_p: f32,
    /// Most new tokens per response.
    pub max_tokens: usize,
    /// Prompts per unit of work.
    pub batch: usize,
    /// Who answers (default: Mt).
    pub generator: GeneratorSpec,
}

/// How a candidate's score is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeMethod {
    /// k sampled judgements, parsed, averaged (the paper).
    Sampling,
    /// The expectation over the score digit's probabilities (local models only).
    Expected,
}

/// `[judge]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeSection {
    /// Sampling or expected score.
    pub method: JudgeMethod,
    /// Judgements per candidate (the paper: 3).
    pub samples: usize,
    /// Temperature of the judge's samples.
    pub temperature: f32,
    /// Nucleus threshold.
    pub top_p: f32,
    /// Most new tokens per judgement, also the expected-score judge's justification (default
    /// [`srlm_judge::DEFAULT_JUDGE_MAX_TOKENS`]: twice the EFT ladder's longest target).
    pub max_tokens: usize,
    /// Prompts (each with all its candidates) per unit of work.
    pub batch: usize,
    /// Whether candidates cut at `candidates.max_tokens` are judged too (default `false`: they
    /// never enter a preference pair, so judging them only costs time — a third of the stage
    /// in the default run; `true` keeps their scores, to study what the judge makes of cut text).
    #[serde(default)]
    pub judge_cut: bool,
    /// Who judges (default: Mt, the model judging itself).
    pub generator: GeneratorSpec,
    /// The judge prompt: a minijinja file over `{{ prompt }}` and `{{ response }}` (default:
    /// the paper's additive 5-point prompt). The same template renders the EFT examples SFT
    /// trains on, so the judge is asked what it was taught.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<PathBuf>,
    /// The score pattern: a regular expression whose first capture group is the score (default
    /// [`srlm_judge::DEFAULT_PATTERN`], `Score: N`); the last match in a judgement wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_pattern: Option<String>,
}

impl JudgeSection {
    /// The judge prompt this section names: its `template` file, or the paper's.
    pub fn judge_template(&self) -> Result<srlm_judge::JudgeTemplate> {
        match &self.template {
            None => Ok(srlm_judge::JudgeTemplate::paper()),
            Some(path) => {
                let source = std::fs::read_to_string(path).map_err(|e| LoopError::Config {
                    path: Some(path.clone()),
                    reason: format!("judge.template: {e}"),
                })?;
                srlm_judge::JudgeTemplate::new(&source).map_err(|e| LoopError::Config {
                    path: Some(path.clone()),
                    reason: format!("judge.template: {e}"),
                })
            }
        }
    }

    /// The score parser this section names: its `score_pattern` (scores 0–5), or the default.
    pub fn score_parser(&self) -> Result<srlm_judge::ScoreParser> {
        match &self.score_pattern {
            None => Ok(srlm_judge::ScoreParser::default()),
            Some(pattern) => {
                srlm_judge::ScoreParser::new(pattern, 0.0, 5.0).map_err(|e| LoopError::Config {
                    path: None,
                    reason: format!("judge.score_pattern: {e}"),
                })
            }
        }
    }
}

/// How many of a response's k judge samples must parse for it to compete for a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MinParsed {
    /// Every sample.
    All,
    /// At least ⌈k/2⌉ (the default).
    Majority,
    /// At least one (the mean of whichever parsed; favours single lucky samples).
    Any,
}

impl MinParsed {
    /// Samples that must parse out of `k`.
    pub fn needed(self, k: usize) -> usize {
        match self {
            MinParsed::All => k,
            MinParsed::Majority => k.div_ceil(2),
            MinParsed::Any => 1,
        }
        .max(1)
    }
}

/// `[pairs]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairSection {
    /// Judge samples that must parse for a response to compete: `all`, `majority` (⌈k/2⌉,
    /// default) or `any`.
    pub min_parsed: MinParsed,
    /// Among candidates scoring within `length_margin` of the best, choose the shortest
    /// (Meta-Rewarding's length control). Off in the paper.
    pub length_control: bool,
    /// The margin of near-top scores for length control.
    pub length_margin: f64,
}

/// `[dpo]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpoSection {
    /// The loss.
    pub loss: DpoConfig,
    /// The trainer (the paper: 1e-6 → 1e-7, batch 16, dropout 0.1).
    pub train: TrainConfig,
    /// Share of an iteration's preference pairs held out of DPO (chosen by a seeded hash of
    /// their prompts; at least one once there are 4 pairs) and evaluated before and after the
    /// update: loss, reward accuracy and margin on pairs the update never saw. 0 holds none out.
    #[serde(default = "default_held_out_pairs")]
    pub held_out_pairs: f64,
}

pub(super) fn default_held_out_pairs() -> f64 {
    0.1
}
