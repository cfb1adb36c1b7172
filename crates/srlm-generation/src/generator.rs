//! [`TextGenerator`]: anything that answers user prompts, and the checked call every consumer
//! goes through.

use serde::{Deserialize, Serialize};

use crate::error::{GenerationError, Result};
use crate::settings::GenerationConfig;

/// A completion of one prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// The generated text.
    pub text: String,
    /// Whether it stopped at the token limit rather than at the end of its turn.
    pub truncated: bool,
}

/// Anything that answers user prompts: a local model, a server, a script in a test.
pub trait TextGenerator {
    /// `n` completions of each prompt (each prompt is one user turn), in order: one row per
    /// prompt, `n` completions per row.
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        config: &GenerationConfig,
    ) -> Result<Vec<Vec<Completion>>>;
}

impl<G: TextGenerator + ?Sized> TextGenerator for &mut G {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        config: &GenerationConfig,
    ) -> Result<Vec<Vec<Completion>>> {
        (**self).complete(prompts, n, config)
    }
}

impl<G: TextGenerator + ?Sized> TextGenerator for Box<G> {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        config: &GenerationConfig,
    ) -> Result<Vec<Vec<Completion>>> {
        (**self).complete(prompts, n, config)
    }
}

/// `n` completions of each of `prompts` from `generator`, checked: exactly one row per prompt
/// and `n` completions per row, or [`GenerationError::Rows`] — never a silently shorter result.
pub fn complete_checked(
    generator: &mut (impl TextGenerator + ?Sized),
    prompts: &[String],
    n: usize,
    config: &GenerationConfig,
) -> Result<Vec<Vec<Completion>>> {
    let rows = generator.complete(prompts, n, config)?;
    if rows.len() != prompts.len() || rows.iter().any(|r| r.len() != n) {
        return Err(GenerationError::Rows {
            prompts: prompts.len(),
            rows: rows.len(),
            samples: n,
        });
    }
    Ok(rows)
}
