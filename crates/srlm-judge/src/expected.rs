//! [`ExpectedScoreJudge`]: the score as an expectation over the model's next-token
//! probabilities for the digits 0–5, read where EFT training puts the score — after the judge's
//! own justification, at its final `Score: `. One greedy justification and one forward pass per
//! response, no sampling, no parse failures.
//!
//! The justification is generated greedily (at most `justification_tokens` tokens) and cut right
//! after its last `Score: `; a justification without one (or cut at the token limit) gets
//! `\nScore: ` appended. With `justification_tokens` 0 the digit is read right after the prompt,
//! a position EFT targets never train — only for judges trained to score first.

use srlm_generation::{complete_checked, GenerationConfig};
use srlm_model::{next_token_logprobs, LanguageModel, LocalGenerator};

use crate::aggregate::Judgement;
use crate::error::{JudgeError, Result};
use crate::judge::{Judge, JudgeItem, DEFAULT_JUDGE_MAX_TOKENS};
use crate::parse::SCORE_PREFIX;
use crate::template::JudgeTemplate;

/// Expected-score judge over a local model.
#[derive(Debug)]
pub struct ExpectedScoreJudge<'a> {
    model: &'a LanguageModel,
    template: JudgeTemplate,
    prefix: String,
    digits: Vec<u32>,
    batch_size: usize,
    justification_tokens: usize,
}

impl<'a> ExpectedScoreJudge<'a> {
    /// The paper's template; the score is read after a greedy justification of at most
    /// [`DEFAULT_JUDGE_MAX_TOKENS`], at its final `Score: `.
    pub fn new(model: &'a LanguageModel, batch_size: usize) -> Result<Self> {
        Self::with_template(model, JudgeTemplate::paper(), SCORE_PREFIX, batch_size)
    }

    /// Another template and score prefix. Each digit 0–5 must follow the prefix as a single
    /// token of the model's tokenizer.
    pub fn with_template(
        model: &'a LanguageModel,
        template: JudgeTemplate,
        prefix: &str,
        batch_size: usize,
    ) -> Result<Self> {
        if prefix.trim().is_empty() {
            return Err(JudgeError::InvalidInput(
                "the score prefix of the expected-score judge is empty".into(),
            ));
        }
        let base = model.tokenizer.encode(prefix, false)?;
        let mut digits = Vec::with_capacity(6);
        for d in 0..=5 {
            let ids = model.tokenizer.encode(&format!("{prefix}{d}"), false)?;
            match ids.strip_prefix(base.as_slice()) {
                Some([id]) => digits.push(*id),
                _ => {
                    return Err(JudgeError::InvalidInput(format!(
                        "after the prefix {prefix:?}, the digit {d} is not one token of this tokenizer ({ids:?} vs prefix {base:?})"
                    )))
                }
            }
        }
        Ok(ExpectedScoreJudge {
            model,
            template,
            prefix: prefix.to_string(),
            digits,
            batch_size: batch_size.max(1),
            justification_tokens: DEFAULT_JUDGE_MAX_TOKENS,
        })
    }

    /// Most tokens of the greedy justification before the score (0: read the score right after
    /// the prompt, without a justification).
    pub fn with_justification_tokens(mut self, tokens: usize) -> Self {
        self.justification_tokens = tokens;
        self
    }

    /// Greedy justifications of `judge_prompts` (user turns), each cut right after its final
    /// score prefix, or ending in one; and whether each hit the token limit.
    fn justify(&self, judge_prompts: &[String]) -> Result<Vec<(String, bool)>> {
        if self.justification_tokens == 0 {
            return Ok(judge_prompts
                .iter()
                .map(|_| (self.prefix.clone(), false))
                .collect());
        }
        let greedy = GenerationConfig::greedy(self.justification_tokens);
        let mut generator = LocalGenerator::new(self.model, self.batch_size);
        Ok(complete_checked(&mut generator, judge_prompts, 1, &greedy)?
            .into_iter()
            .flatten()
            .map(|c| (cut_at_final_prefix(&c.text, &self.prefix), c.truncated))
            .collect())
    }
}

/// `text` up to and including its last `prefix`; without one, `text` (trimmed) followed by a
/// new line and `prefix`.
pub(crate) fn cut_at_final_prefix(text: &str, prefix: &str) -> String {
    match text.rfind(prefix) {
        Some(at) => text[..at + prefix.len()].to_string(),
        None => {
            let body = text.trim_end();
            if body.is_empty() {
                prefix.to_string()
            } else {
                format!("{body}\n{prefix}")
            }
        }
    }
}

impl Judge for ExpectedScoreJudge<'_> {
    fn judge(&mut self, items: &[JudgeItem]) -> Result<Vec<Judgement>> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(self.batch_size) {
            let judge_prompts = chunk
                .iter()
                .map(|item| self.template.render(&item.prompt, &item.response))
                .collect::<Result<Vec<_>>>()?;
            let justifications = self.justify(&judge_prompts)?;
            let scored = judge_prompts
                .iter()
                .zip(&justifications)
                .map(|(judge_prompt, (justification, _))| {
                    let prompt = self.model.chat_prompt(judge_prompt)?;
                    Ok(self
                        .model
                        .tokenizer
                        .encode(&format!("{prompt}{justification}"), false)?)
                })
                .collect::<Result<Vec<_>>>()?;
            let logprobs =
                next_token_logprobs(&self.model.model, &scored, self.model.pad_id, &self.digits)?;
            for (logps, (justification, truncated)) in logprobs.iter().zip(justifications) {
                let weights: Vec<f64> = logps.iter().map(|&l| f64::from(l).exp()).collect();
                let total: f64 = weights.iter().sum();
                let score = weights
                    .iter()
                    .enumerate()
                    .map(|(d, w)| d as f64 * w)
                    .sum::<f64>()
                    / total;
                out.push(Judgement {
                    score: total.is_finite().then_some(score),
                    samples: vec![Ok(score)],
                    texts: vec![justification],
                    truncated: usize::from(truncated),
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{cut_at_final_prefix, SCORE_PREFIX};

    #[test]
    fn the_score_is_read_at_the_final_prefix() {
        let text = "Score: the rubric first.\nIt is relevant (1 point).\nScore: 4 because";
        assert_eq!(
            cut_at_final_prefix(text, SCORE_PREFIX),
            "Score: the rubric first.\nIt is relevant (1 point).\nScore: "
        );
    }

    #[test]
    fn a_justification_without_a_score_gets_one() {
        assert_eq!(
            cut_at_final_prefix("It is relevant (1 point).  ", "Score: "),
            "It is relevant (1 point).\nScore: "
        );
        assert_eq!(cut_at_final_prefix("  ", "Score: "), "Score: ");
    }
}
