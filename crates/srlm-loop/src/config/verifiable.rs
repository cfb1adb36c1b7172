//! `[data.verifiable]`: verifiable instructions (`srlm-verifiable`) in a run — judge training
//! data whose order is read off the seed model's own answers by programs
//! (`docs/verifiable-instructions.md`), held-out own-vs-own pairs to measure the judge on, and
//! held-out instructed prompts for `srlm eval`'s instruction-following section. The share of an
//! iteration's prompts given instructions is `instruct.instructed_share`; they draw with the
//! same settings.

use serde::{Deserialize, Serialize};
use srlm_verifiable::{InstructionSampler, SamplerConfig, INSTRUCTION_IDS};

/// `[data.verifiable]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifiableSection {
    /// Share of `data.eft_examples` drawn from verifiable sets; the rest come from
    /// `data.eft_builder`. 0: no verifiable EFT (no training prompt is answered for it).
    pub share: f64,
    /// Training seed prompts given instructions and answered `answers` times by the seed model
    /// (about a quarter give a set: the others' answers all follow as many instructions, or are
    /// cut). Used when `share` > 0.
    pub prompts: usize,
    /// Held-out seed prompts treated the same way: the judge-quality set `verifiable` of
    /// `srlm eval` (own-vs-own pairs ordered by the checks). 0: none.
    pub held_out_prompts: usize,
    /// Held-out seed prompts given instructions for `srlm eval`'s instruction-following
    /// section (`data/instructed-eval.jsonl`; every kind, `held_out_kinds` included). 0: none.
    pub eval_prompts: usize,
    /// Answers the seed model samples per prompt.
    pub answers: usize,
    /// Most new tokens of an answer; an answer cut here is left out (its checks would judge an
    /// unfinished answer).
    pub max_tokens: usize,
    /// Sampling temperature of the answers (the loop's candidates').
    pub temperature: f32,
    /// Nucleus threshold of the answers.
    pub top_p: f32,
    /// Longest task (seed prompt) in words: a 135M model finishes short tasks.
    pub max_task_words: usize,
    /// Longest seed answer in words: a task whose reference answer is short is answered
    /// within `max_tokens` more often.
    pub max_answer_words: usize,
    /// Fewest instructions a prompt gets (≥ 1).
    pub min_instructions: usize,
    /// Most instructions a prompt gets.
    pub max_instructions: usize,
    /// Smallest word-count threshold drawn (IFEval draws 100–500; this model answers in fewer).
    pub min_words: usize,
    /// Largest word-count threshold drawn.
    pub max_words: usize,
    /// Kinds never given to a training prompt (EFT or loop): the evaluation reports them apart
    /// — does following generalise to kinds never trained?
    #[serde(default)]
    pub held_out_kinds: Vec<String>,
}

impl Default for VerifiableSection {
    fn default() -> Self {
        VerifiableSection {
            share: 0.0,
            prompts: 96,
            held_out_prompts: 0,
            eval_prompts: 0,
            answers: 4,
            max_tokens: 256,
            temperature: 0.7,
            top_p: 0.9,
            max_task_words: 40,
            max_answer_words: 150,
            min_instructions: 1,
            max_instructions: 3,
            min_words: 20,
            max_words: 120,
            held_out_kinds: Vec::new(),
        }
    }
}

impl VerifiableSection {
    /// Whether the data stage gives any prompt instructions for the seed model to answer.
    pub fn answers_needed(&self) -> bool {
        self.share > 0.0 || self.held_out_prompts > 0
    }

    /// A sampler of training prompts' instructions: `held_out_kinds` left out. An error is
    /// [`LoopError::Config`](crate::LoopError::Config) naming the section.
    pub fn training_sampler(&self, seed: u64) -> crate::Result<InstructionSampler> {
        self.sampler(false, seed).map_err(Self::config_error)
    }

    /// A sampler of held-out evaluation prompts' instructions: every kind.
    pub fn evaluation_sampler(&self, seed: u64) -> crate::Result<InstructionSampler> {
        self.sampler(true, seed).map_err(Self::config_error)
    }

    fn config_error(reason: String) -> crate::LoopError {
        crate::LoopError::Config { path: None, reason }
    }

    fn sampler(&self, every_kind: bool, seed: u64) -> Result<InstructionSampler, String> {
        let kinds = INSTRUCTION_IDS
            .iter()
            .filter(|k| every_kind || !self.held_out_kinds.iter().any(|h| h == *k))
            .map(|k| k.to_string())
            .collect();
        let config = SamplerConfig {
            kinds,
            min_instructions: self.min_instructions,
            max_instructions: self.max_instructions,
            words: (self.min_words, self.max_words),
        };
        InstructionSampler::new(config, seed).map_err(|e| format!("data.verifiable: {e}"))
    }

    /// Checks ranges and kinds, and that the samplers can be built.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.share) {
            return Err(format!(
                "data.verifiable.share must be in [0, 1], got {}",
                self.share
            ));
        }
        if self.answers_needed() && self.answers < 2 {
            return Err(format!(
                "data.verifiable.answers must be at least 2 to order answers, got {}",
                self.answers
            ));
        }
        if self.share > 0.0 && self.prompts == 0 {
            return Err("data.verifiable.prompts must be at least 1 when share > 0".into());
        }
        if self.max_tokens == 0 {
            return Err("data.verifiable.max_tokens must be at least 1".into());
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(format!(
                "data.verifiable.temperature must be positive, got {}",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(format!(
                "data.verifiable.top_p must be in (0, 1], got {}",
                self.top_p
            ));
        }
        if let Some(k) = self
            .held_out_kinds
            .iter()
            .find(|k| !INSTRUCTION_IDS.contains(&k.as_str()))
        {
            return Err(format!(
                "data.verifiable.held_out_kinds: unknown instruction id `{k}` (known: {})",
                INSTRUCTION_IDS.join(", ")
            ));
        }
        self.sampler(false, 0)?;
        self.sampler(true, 0)?;
        Ok(())
    }
}
