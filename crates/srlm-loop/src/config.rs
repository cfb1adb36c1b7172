//! The run configuration: one TOML file, every field optional (a missing one takes the embedded
//! default), overridable from the command line by `section.key=value`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use srlm_data::eft::{LadderConfig, LadderPool, NaturalConfig};
use srlm_dpo::{DpoConfig, TrainConfig};
use srlm_judge::{Endpoint, HttpSettings};

use crate::error::{LoopError, Result};
use crate::filter::FilterConfig;

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
    /// `base_url` and `model`; how requests go out is the run's `[http]` block.
    #[serde(rename = "openai")]
    OpenAi(Endpoint),
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Iterations, seed, device.
    pub run: RunSection,
    /// The seed model M0.
    pub model: ModelSection,
    /// Seed data and the SFT set sizes.
    pub data: DataSection,
    /// Supervised fine-tuning of M0 on IFT + EFT (→ M1).
    pub sft: TrainConfig,
    /// Self-instruction creation.
    pub instruct: InstructSection,
    /// Candidate responses.
    pub candidates: CandidateSection,
    /// Self-judging.
    pub judge: JudgeSection,
    /// Preference pairs.
    pub pairs: PairSection,
    /// DPO (→ Mt+1).
    pub dpo: DpoSection,
    /// How requests to servers go out (every role that uses one).
    pub http: HttpSettings,
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

fn default_held_out_pairs() -> f64 {
    0.1
}

impl RunConfig {
    /// The paper's settings at the paper's sizes (3,200 IFT + 1,630 EFT examples; thousands of
    /// new prompts per iteration): a GPU run, generation served by vLLM.
    pub fn paper() -> Self {
        let mut c = RunConfig::default();
        c.data.ift_examples = 3200;
        c.data.eft_examples = 1630;
        c.data.max_len = 2048;
        c.sft = TrainConfig {
            checkpoint_every: Some(50),
            ..TrainConfig::default()
        };
        c.dpo.train = TrainConfig {
            checkpoint_every: Some(50),
            ..TrainConfig::paper_dpo()
        };
        c.instruct.source = PromptSource::SelfInstruct;
        c.instruct.prompts = 4000;
        c.instruct.max_generations = 40_000;
        c.instruct.max_tokens = 256;
        c.instruct.batch = 64;
        c.candidates.max_tokens = 1024;
        c.candidates.batch = 16;
        c.judge.max_tokens = 512;
        c.judge.batch = 16;
        c
    }

    /// A size whose numbers can show an effect, with intervals: ~320 EFT examples in SFT (114
    /// natural anchors: ~2.8 records each, as the seed model's answers cut at the token limit
    /// are left out), 64 held-out natural sets (≥ 200 ordered pairs for judge quality), 150
    /// prompts an iteration (≥ 100 pairs: 70 % of prompts gave one in the demo run of
    /// 2026-12-03, 95 of 136; the rest had fewer than two finished candidates or tied) and DPO
    /// batches of 8 (≥ 10 optimizer steps an iteration). Hours on a 2-core CPU (docs/self-rewarding-loop.md has the measured stage
    /// times); it resumes.
    pub fn demo() -> Self {
        let mut c = RunConfig::default();
        c.data.ift_examples = 64;
        c.data.eft_examples = 340;
        c.data.natural.held_out_prompts = 64;
        c.instruct.prompts = 150;
        c.dpo.train.batch_size = 8;
        c
    }

    /// A loop that finishes in a few minutes on a 2-core CPU: for smoke tests.
    pub fn quick() -> Self {
        let mut c = RunConfig::default();
        c.data.ift_examples = 4;
        c.data.eft_examples = 4;
        c.data.natural.held_out_prompts = 2;
        c.data.natural.max_tokens = 128;
        c.sft.batch_size = 8;
        c.instruct.prompts = 2;
        c.instruct.max_generations = 8;
        c.instruct.batch = 4;
        c.instruct.max_tokens = 48;
        c.candidates.max_tokens = 256;
        c.dpo.train.batch_size = 2;
        c
    }

    /// Reads a TOML file over `base`: keys present in the file replace the base's.
    pub fn from_toml_file(path: &Path, base: RunConfig) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| LoopError::io(path, e))?;
        Self::from_toml_str(&text, base).map_err(|reason| LoopError::Config {
            path: Some(path.into()),
            reason,
        })
    }

    /// Parses TOML text over `base`.
    pub fn from_toml_str(text: &str, base: RunConfig) -> std::result::Result<Self, String> {
        let user: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut merged = toml::Table::try_from(&base).map_err(|e| e.to_string())?;
        merge(&mut merged, user, "")?;
        let config: RunConfig = toml::Value::Table(merged)
            .try_into()
            .map_err(|e: toml::de::Error| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    /// Applies `section.key=value` overrides (the value in TOML syntax; a bare word is a string).
    /// A key given more than once takes its last value.
    pub fn with_overrides(self, overrides: &[String]) -> Result<Self> {
        let mut last: Vec<(&str, &str)> = Vec::new();
        for o in overrides {
            let (key, value) = o.split_once('=').ok_or_else(|| LoopError::Config {
                path: None,
                reason: format!("override {o:?} is not KEY=VALUE"),
            })?;
            let key = key.trim();
            last.retain(|(k, _)| *k != key);
            last.push((key, value));
        }
        let mut text = String::new();
        for (key, value) in last {
            let value = value.trim();
            let literal = if toml::from_str::<toml::Table>(&format!("x = {value}")).is_ok() {
                value.to_string()
            } else {
                toml::Value::String(value.to_string()).to_string()
            };
            text.push_str(&format!("{key} = {literal}\n"));
        }
        Self::from_toml_str(&text, self).map_err(|reason| LoopError::Config { path: None, reason })
    }

    /// The configuration as TOML (what `config.toml` of a run holds).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| LoopError::Config {
            path: None,
            reason: e.to_string(),
        })
    }

    fn validate(&self) -> std::result::Result<(), String> {
        self.http.validate().map_err(|e| e.to_string())?;
        let positive = [
            ("instruct.prompts", self.instruct.prompts),
            ("instruct.batch", self.instruct.batch),
            ("candidates.n", self.candidates.n),
            ("candidates.batch", self.candidates.batch),
            ("candidates.max_tokens", self.candidates.max_tokens),
            ("judge.samples", self.judge.samples),
            ("judge.batch", self.judge.batch),
            ("judge.max_tokens", self.judge.max_tokens),
            ("data.max_len", self.data.max_len),
            ("data.natural.max_tokens", self.data.natural.max_tokens),
            ("run.generation_batch", self.run.generation_batch),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.dpo.held_out_pairs) {
            return Err(format!(
                "dpo.held_out_pairs must be in [0, 1), got {}",
                self.dpo.held_out_pairs
            ));
        }
        if self.candidates.n < 2 {
            return Err("candidates.n must be at least 2 to form a pair".into());
        }
        if self.instruct.shots_seed + self.instruct.shots_generated == 0 {
            return Err("instruct needs at least one few-shot example".into());
        }
        if self.judge.method == JudgeMethod::Expected
            && self.judge.generator != GeneratorSpec::Current
            && !matches!(self.judge.generator, GeneratorSpec::Local { .. })
        {
            return Err("judge.method = \"expected\" needs a local judge model".into());
        }
        Ok(())
    }
}

/// Dotted keys (`a.b = 1`) become nested tables in TOML; merge `user` into `base`, failing on a
/// key the base does not have (a typo).
fn merge(
    base: &mut toml::Table,
    user: toml::Table,
    prefix: &str,
) -> std::result::Result<(), String> {
    for (key, value) in user {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(u)) if !is_tagged(b) => {
                merge(b, u, &path)?
            }
            (Some(_), value) => {
                base.insert(key, value);
            }
            (None, value) if OPTIONAL_KEYS.contains(&path.as_str()) => {
                base.insert(key, value);
            }
            (None, _) => return Err(format!("unknown setting `{path}`")),
        }
    }
    Ok(())
}

/// A generator table is replaced whole (its `kind` decides its fields).
fn is_tagged(table: &toml::Table) -> bool {
    table.contains_key("kind")
}

/// Settings absent from the defaults (optional ones) that a file may set.
const OPTIONAL_KEYS: &[&str] = &[
    "data.eft",
    "judge.template",
    "judge.score_pattern",
    "sft.max_steps",
    "sft.max_grad_norm",
    "sft.eval_every",
    "sft.checkpoint_every",
    "dpo.train.max_steps",
    "dpo.train.max_grad_norm",
    "dpo.train.eval_every",
    "dpo.train.checkpoint_every",
    "dpo.loss.rpo_alpha",
    "http.api_key_env",
];

impl Default for RunConfig {
    /// The embedded default: the paper's hyper-parameters at a size that runs two iterations on
    /// SmolLM2-135M-Instruct on a 2-core CPU in about an hour (68 minutes measured on
    /// 2026-12-03: docs/example-report/).
    fn default() -> Self {
        // A few optimizer steps instead of the paper's hundreds: peak learning rates scaled up
        // (SFT 1e-4, DPO 5e-6) so that they move the model at all, and no dropout — SmolLM2 was
        // trained without it, and a 0.1 residual dropout multiplies its loss on EFT examples
        // (docs/self-rewarding-loop.md). `RunConfig::paper()` has the paper's values.
        let sft = TrainConfig {
            peak_lr: 1e-4,
            final_lr: 2e-5,
            batch_size: 8,
            dropout: 0.0,
            checkpoint_every: Some(1),
            ..TrainConfig::default()
        };
        let dpo_train = TrainConfig {
            peak_lr: 5e-6,
            final_lr: 1e-6,
            batch_size: 4,
            dropout: 0.0,
            checkpoint_every: Some(1),
            ..TrainConfig::paper_dpo()
        };
        RunConfig {
            run: RunSection {
                iterations: 2,
                seed: 0,
                device: "cpu".into(),
                // Decode on these CPUs is bound by reading the weights once per step: 48 rows
                // decode ~1.7x the tokens per second of 16 (`srlm bench --batches 16,32,64`).
                generation_batch: 48,
            },
            model: ModelSection {
                path: "assets/SmolLM2-135M-Instruct.Q4_1.gguf".into(),
            },
            data: DataSection {
                seed: "assets/data/sharegpt.json".into(),
                eft: None,
                ift_examples: 16,
                eft_examples: 64,
                held_out_fraction: 0.05,
                max_len: 768,
                ladder: LadderConfig {
                    min_answer_words: 40,
                    max_answer_words: 120,
                    max_prompt_words: 60,
                    seed: 0,
                    pool: LadderPool::Train,
                },
                eft_builder: EftBuilder::Natural,
                natural: NaturalSection::default(),
            },
            sft,
            instruct: InstructSection {
                source: PromptSource::Seed,
                // ≥ 20 pairs an iteration: in the 2026-12-03 default run 79 % then 67 % of
                // prompts gave a pair (the rest had < 2 finished candidates, or tied).
                prompts: 32,
                max_generations: 24,
                batch: 8,
                shots_seed: 6,
                shots_generated: 2,
                temperature: 0.6,
                top_p: 0.9,
                max_tokens: 64,
                generator: GeneratorSpec::Current,
                filter: FilterConfig::default(),
            },
            candidates: CandidateSection {
                n: 4,
                temperature: 0.7,
                top_p: 0.9,
                // Candidates cut at the limit never enter a pair: room for SmolLM2's usual
                // answer (most are under 300 tokens).
                max_tokens: 384,
                // 12 prompts x 4 candidates: one full generation batch per unit.
                batch: 12,
                generator: GeneratorSpec::Current,
            },
            judge: JudgeSection {
                method: JudgeMethod::Sampling,
                samples: 3,
                temperature: 0.7,
                top_p: 0.9,
                max_tokens: srlm_judge::DEFAULT_JUDGE_MAX_TOKENS,
                // 4 prompts x 4 candidates x 3 samples: one full generation batch per unit.
                batch: 4,
                judge_cut: false,
                generator: GeneratorSpec::Current,
                template: None,
                score_pattern: None,
            },
            pairs: PairSection {
                min_parsed: MinParsed::Majority,
                length_control: false,
                length_margin: 0.25,
            },
            dpo: DpoSection {
                loss: DpoConfig::default(),
                train: dpo_train,
                held_out_pairs: default_held_out_pairs(),
            },
            http: HttpSettings::default(),
        }
    }
}
