//! What the loop's stages write, one JSON object per line.

use serde::{Deserialize, Serialize};
use srlm_judge::{Completion, Judgement};

use crate::filter::Rejection;

/// A prompt written by the model and kept (`iterT/prompts.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPrompt {
    /// `iterT-NNNN`.
    pub id: String,
    /// The prompt.
    pub prompt: String,
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
