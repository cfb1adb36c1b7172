//! What the loop's stages write, one JSON object per line.

use serde::{Deserialize, Serialize};
use srlm_judge::{Completion, Judgement};
use srlm_verifiable::InstructedPrompt;

use crate::filter::Rejection;

/// A prompt written by the model and kept (`iterT/prompts.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPrompt {
    /// `iterT-NNNN`.
    pub id: String,
    /// The prompt (with its instructions' texts appended when `instructed`).
    pub prompt: String,
    /// The verifiable instructions appended to the task (`instruct.instructed_share`), in
    /// IFEval's form: the checks that grade the candidates, never the judge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructed: Option<InstructedPrompt>,
}

impl NewPrompt {
    /// The task without instructions: what a seed prompt is compared against.
    pub fn task(&self) -> &str {
        self.instructed
            .as_ref()
            .and_then(|i| i.task.as_deref())
            .unwrap_or(&self.prompt)
    }
}

/// A seed prompt the loop may draw (`data/seed-prompts.jsonl`): the prompt and the length of its
/// seed answer, which the seed prompt source can filter on (`instruct.max_seed_answer_words`).
/// Reads a bare JSON string too (run folders written before the answer length was recorded);
/// its length is then unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "SeedPromptLine")]
pub struct SeedPrompt {
    /// The prompt.
    pub prompt: String,
    /// Words in the seed's answer to it (whitespace-separated), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_words: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SeedPromptLine {
    Prompt(String),
    Record {
        prompt: String,
        #[serde(default)]
        answer_words: Option<usize>,
    },
}

impl From<SeedPromptLine> for SeedPrompt {
    fn from(line: SeedPromptLine) -> Self {
        match line {
            SeedPromptLine::Prompt(prompt) => SeedPrompt {
                prompt,
                answer_words: None,
            },
            SeedPromptLine::Record {
                prompt,
                answer_words,
            } => SeedPrompt {
                prompt,
                answer_words,
            },
        }
    }
}

/// One generation of the self-instruction stage, kept or not (`iterT/prompts-all.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedInstruction {
    /// The prompt read out of the generation.
    pub prompt: String,
    /// The generation as written.
    pub raw: String,
    /// Whether it was kept.
    pub kept: bool,
    /// Why it was dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
}

/// N responses to one prompt (`iterT/candidates.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateSet {
    /// The prompt's id.
    pub id: String,
    /// The prompt.
    pub prompt: String,
    /// The responses, in sampling order.
    pub responses: Vec<Completion>,
}

/// One judged response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgedResponse {
    /// The response.
    pub response: String,
    /// Whether it hit the token limit.
    pub truncated: bool,
    /// The judge's verdict: mean score (if enough samples parsed), samples, texts.
    pub judgement: Judgement,
}

/// A prompt with its judged responses (`iterT/judgements.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgedSet {
    /// The prompt's id.
    pub id: String,
    /// The prompt.
    pub prompt: String,
    /// The responses with their judgements.
    pub responses: Vec<JudgedResponse>,
}
