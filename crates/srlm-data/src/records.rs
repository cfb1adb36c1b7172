//! The three kinds of records of self-rewarding training (the paper's names): IFT, EFT, AIFT.

use serde::{Deserialize, Serialize};

/// One conversational turn, as `{"role", "content"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// Instruction fine-tuning: a prompt and a good response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IftRecord {
    /// The user's prompt.
    pub prompt: String,
    /// The response to learn.
    pub response: String,
    /// Where it came from (`sharegpt`, `oasst1`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Evaluation fine-tuning: a judge prompt (holding a prompt and a response) and the judge's
/// answer — a justification ending in `Score: N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EftRecord {
    /// The user's prompt being judged.
    pub prompt: String,
    /// The response being judged.
    pub response: String,
    /// The target judgement text, ending in `Score: N`.
    pub judgement: String,
    /// The target score, 0–5.
    pub score: f64,
    /// How the target was obtained (`ranked`, `ladder:truncated`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl EftRecord {
    /// The kind of set the record belongs to: its `origin` up to the first `:` (`natural`,
    /// `ladder`, `verifiable`, `ranked`); `None` without one.
    pub fn kind(&self) -> Option<&str> {
        self.origin
            .as_deref()
            .and_then(|o| o.split(':').next())
            .filter(|k| !k.is_empty())
    }
}

/// AI-feedback preference pair, with TRL's field names (`prompt`, `chosen`, `rejected`) so a
/// file goes straight into TRL, plus the self-rewarding extras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreferenceRecord {
    /// The prompt.
    pub prompt: String,
    /// The preferred response.
    pub chosen: String,
    /// The dispreferred response.
    pub rejected: String,
    /// The judge's mean score of `chosen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_chosen: Option<f64>,
    /// The judge's mean score of `rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_rejected: Option<f64>,
    /// The self-rewarding iteration that produced the pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration: Option<u32>,
    /// The judge's raw texts for `chosen`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub judge_texts_chosen: Vec<String>,
    /// The judge's raw texts for `rejected`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub judge_texts_rejected: Vec<String>,
}

impl PreferenceRecord {
    /// A pair with no judge scores, iteration or judge texts.
    pub fn new(
        prompt: impl Into<String>,
        chosen: impl Into<String>,
        rejected: impl Into<String>,
    ) -> Self {
        PreferenceRecord {
            prompt: prompt.into(),
            chosen: chosen.into(),
            rejected: rejected.into(),
            score_chosen: None,
            score_rejected: None,
            iteration: None,
            judge_texts_chosen: Vec::new(),
            judge_texts_rejected: Vec::new(),
        }
    }
}

/// A conversation, as `{"messages": [{"role", "content"}, ...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// The turns.
    pub messages: Vec<Turn>,
}

/// A prompt for evaluation (MT-Bench and the like): one or more user turns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalPrompt {
    /// The set's identifier of the prompt (MT-Bench's `question_id`, as text).
    pub id: String,
    /// Its category, where the set has them (`writing`, `math`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The user turns; the first is the prompt of single-turn evaluation.
    pub turns: Vec<String>,
}

/// A prompt with several answers ranked by people (0 = best), the input of the paper's EFT
/// builder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedPrompt {
    /// The user's prompt.
    pub prompt: String,
    /// The answers, best first.
    pub answers: Vec<RankedAnswer>,
}

/// One ranked answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedAnswer {
    /// The text.
    pub text: String,
    /// Its rank among its siblings (0 = best).
    pub rank: u32,
}
