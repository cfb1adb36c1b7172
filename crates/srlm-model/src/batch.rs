//! [`TokenBatch`]: sequences of different lengths padded into one rectangle, with a mask of
//! which cells are real tokens.

use crate::error::{ModelError, Result};

/// Side on which a batch is padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Padding before each sequence (generation: every sequence ends at the last column).
    Left,
    /// Padding after each sequence (scoring and training).
    Right,
}

/// A padded batch of token ids.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBatch {
    /// `batch × seq` ids, row-major; padding cells hold the pad id.
    pub tokens: Vec<u32>,
    /// `batch × seq` flags: `true` for real tokens.
    pub valid: Vec<bool>,
    /// Number of sequences.
    pub batch: usize,
    /// Length of the longest sequence.
    pub seq: usize,
}

impl TokenBatch {
    /// Pads `sequences` to the longest one. Fails on an empty batch or an empty sequence.
    pub fn pad(sequences: &[Vec<u32>], pad_id: u32, side: Padding) -> Result<Self> {
        if sequences.is_empty() {
            return Err(ModelError::InvalidInput("empty batch".into()));
        }
        if let Some(i) = sequences.iter().position(Vec::is_empty) {
            return Err(ModelError::InvalidInput(format!(
                "sequence {i} of the batch is empty"
            )));
        }
        let seq = sequences.iter().map(Vec::len).max().unwrap_or(0);
        let batch = sequences.len();
        let mut tokens = Vec::with_capacity(batch * seq);
        let mut valid = Vec::with_capacity(batch * seq);
        for s in sequences {
            let pad = seq - s.len();
            if side == Padding::Left {
                tokens.extend(std::iter::repeat_n(pad_id, pad));
                valid.extend(std::iter::repeat_n(false, pad));
            }
            tokens.extend_from_slice(s);
            valid.extend(std::iter::repeat_n(true, s.len()));
            if side == Padding::Right {
                tokens.extend(std::iter::repeat_n(pad_id, pad));
                valid.extend(std::iter::repeat_n(false, pad));
            }
        }
        Ok(TokenBatch {
            tokens,
            valid,
            batch,
            seq,
        })
    }

    /// One column of new tokens (a decoding step), all real.
    pub fn column(tokens: Vec<u32>) -> Self {
        let batch = tokens.len();
        TokenBatch {
            valid: vec![true; batch],
            tokens,
            batch,
            seq: 1,
        }
    }
}
