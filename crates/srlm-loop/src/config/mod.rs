//! The run configuration: one TOML file, every field optional (a missing one takes the embedded
//! default), overridable from the command line by `section.key=value`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use srlm_data::eft::{LadderConfig, LadderPool};
use srlm_dpo::{DpoConfig, TrainConfig};
use srlm_judge::HttpSettings;

use crate::error::{LoopError, Result};
use crate::filter::FilterConfig;

mod sections;
mod served;
mod validate;
mod verifiable;

use sections::default_held_out_pairs;

pub use sections::{
    CandidateSection, DataSection, DpoSection, EftBuilder, Follows, GeneratorSpec, InstructSection,
    JudgeMethod, JudgeSection, MinParsed, ModelSection, NaturalSection, PairSection, PromptSource,
    RunSection, ServeSection, ServedModel, VerifiableSection,
};

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
    /// How served roles that follow Mt are switched to it between iterations.
    #[serde(default)]
    pub serve: ServeSection,
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
        c.instruct.max_seed_answer_words = None;
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
    /// are left out), 64 held-out natural sets (≥ 200 ordered pairs for judge quality), 140
    /// prompts an iteration (≥ 100 pairs: in the demo run of 2026-12-03, 95 of 136 prompts
    /// gave one — the rest had fewer than two finished candidates or tied — and 79 % of those
    /// whose seed answer had at most `instruct.max_seed_answer_words` = 200 words) and DPO
    /// batches of 8 (≥ 10 optimizer steps an iteration). A tenth of the seed held out: at the
    /// default twentieth, the held-out pairs short enough for instructions ran out after the
    /// natural anchors and 64 of the 96 held-out verifiable prompts, leaving no evaluation
    /// prompt. Hours on a 2-core CPU (docs/self-rewarding-loop.md has the measured stage
    /// times); it resumes.
    pub fn demo() -> Self {
        let mut c = RunConfig::default();
        c.data.held_out_fraction = 0.1;
        c.data.ift_examples = 64;
        c.data.eft_examples = 340;
        c.data.natural.held_out_prompts = 64;
        c.data.verifiable.prompts = 200;
        c.data.verifiable.held_out_prompts = 96;
        c.data.verifiable.eval_prompts = 80;
        c.instruct.prompts = 140;
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
        c.data.verifiable.prompts = 4;
        c.data.verifiable.held_out_prompts = 2;
        c.data.verifiable.eval_prompts = 4;
        c.data.verifiable.max_tokens = 128;
        c.sft.batch_size = 8;
        c.instruct.prompts = 2;
        c.instruct.max_generations = 8;
        c.instruct.batch = 4;
        c.instruct.max_tokens = 48;
        c.candidates.max_tokens = 256;
        c.dpo.train.batch_size = 2;
        c
    }

    /// The generator of each role that may run elsewhere than on Mt, by the role's name:
    /// `instruct`, `candidates`, `judge`.
    pub fn role_generators(&self) -> [(&'static str, &GeneratorSpec); 3] {
        [
            ("instruct", &self.instruct.generator),
            ("candidates", &self.candidates.generator),
            ("judge", &self.judge.generator),
        ]
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
    "instruct.max_seed_answer_words",
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
    "serve.on_new_model",
    "sft.lora",
    "dpo.train.lora",
];

impl Default for RunConfig {
    /// The embedded default: the paper's hyper-parameters at a size that runs two iterations on
    /// SmolLM2-135M-Instruct on a 2-core CPU in well under an hour (35.2 minutes measured on
    /// 2026-12-04: docs/example-report/default-2026-12-04d/).
    fn default() -> Self {
        // A few optimizer steps instead of the paper's hundreds: peak learning rates scaled up
        // (SFT 1e-4, DPO 2e-5: at 5e-6 two iterations moved the held-out DPO loss by < 0.01)
        // so that they move the model at all, and no dropout — SmolLM2 was
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
            peak_lr: 2e-5,
            final_lr: 4e-6,
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
                // M1 parsed 97.1 % of its judgements after 48 (8 steps with the IFT examples,
                // 5.7 minutes) and 99.3 % after 59 (10 steps, 8.4 minutes) in the default runs
                // of 2026-12-04.
                eft_examples: 48,
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
                // Half of the EFT examples ordered by the checks over M0's own answers (the
                // decision the loop asks of its judge), a held-out own-vs-own judge set and
                // instructed evaluation prompts (docs/verifiable-instructions.md).
                verifiable: VerifiableSection {
                    share: 0.5,
                    prompts: 40,
                    held_out_prompts: 32,
                    eval_prompts: 64,
                    // Never trained (EFT or loop prompts); the evaluation reports them apart.
                    held_out_kinds: vec![
                        "detectable_format:title".into(),
                        "startend:quotation".into(),
                        "change_case:english_capital".into(),
                    ],
                    ..VerifiableSection::default()
                },
            },
            sft,
            instruct: InstructSection {
                source: PromptSource::Seed,
                // ≥ 20 pairs an iteration within ~45 minutes: 23 and 23 of 32 prompts gave a
                // pair in the default run of 2026-12-04 (35.2 minutes), 21 and 22 of 28 in the
                // same run at 28 prompts (33.2 minutes). The rest had < 2 finished candidates,
                // or tied.
                prompts: 32,
                // Prompts whose seed answer is short enough to be answered within
                // `candidates.max_tokens` more often (see the field's docs).
                // 100 words: 48 of 128 candidates were cut at 384 tokens with 200 in the
                // default run of 2026-12-04, and a cut candidate is never paired.
                max_seed_answer_words: Some(100),
                max_generations: 24,
                batch: 8,
                shots_seed: 6,
                shots_generated: 2,
                temperature: 0.6,
                top_p: 0.9,
                max_tokens: 64,
                generator: GeneratorSpec::Current,
                filter: FilterConfig::default(),
                // Half of the prompts carry verifiable instructions: the checks then say how
                // often the self-judge's chosen answer follows more of them.
                instructed_share: 0.5,
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
            serve: ServeSection::default(),
        }
    }
}
