//! Tokenised training data: examples, pairs and the counts of an encoding pass — plain ids,
//! with no model attached (the [`crate::Encoder`] that makes them needs feature `model`).

use serde::Serialize;

/// One tokenised example: prompt ids (no loss) and response ids (loss).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedExample {
    /// Prompt ids, chat template and generation prompt included.
    pub prompt: Vec<u32>,
    /// Response ids, ending with the end-of-turn id unless the example was truncated.
    pub response: Vec<u32>,
    /// Whether the response was cut to fit the maximum length.
    pub truncated: bool,
}

impl EncodedExample {
    /// Total tokens.
    pub fn len(&self) -> usize {
        self.prompt.len() + self.response.len()
    }

    /// Whether it has no tokens (never, for an encoded example).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A tokenised preference pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPair {
    /// The preferred response with its prompt.
    pub chosen: EncodedExample,
    /// The dispreferred response with its prompt.
    pub rejected: EncodedExample,
}

impl EncodedPair {
    /// Tokens of both sides.
    pub fn len(&self) -> usize {
        self.chosen.len() + self.rejected.len()
    }

    /// Whether it has no tokens (never, for an encoded pair).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Counts of an encoding pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EncodeReport {
    /// Examples (or pairs) encoded.
    pub encoded: usize,
    /// Of those, cut at the maximum length.
    pub truncated: usize,
    /// Dropped: the prompt alone reaches the maximum length, or (EFT) the judgement would be cut.
    pub dropped: usize,
    /// Of the dropped, EFT examples left out whole because their judgement would be cut at the
    /// maximum length, losing its `Score: N` (an EFT target is never trained on cut).
    #[serde(default)]
    pub eft_cut: usize,
    /// `eft_cut` per kind of EFT set (the record's `origin` up to its first `:`, `natural`,
    /// `ladder`, `verifiable`; `given` without one).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub eft_cut_by_kind: std::collections::BTreeMap<String, usize>,
    /// Response tokens (the loss's tokens) over all encoded examples.
    pub response_tokens: usize,
    /// Of the dropped, records larger than the encoder's record limit, left out before
    /// tokenising ([`crate::Encoder::with_max_record_bytes`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub too_large: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
