//! [`ExpectedScoreJudge`]: the score as an expectation over the model's next-token
//! probabilities for the digits 0–5 after an answer prefix ending in `Score: ` — one forward pass
//! per response, no sampling, no parse failures.

use srlm_model::{next_token_logprobs, LanguageModel};

use crate::aggregate::Judgement;
use crate::error::{JudgeError, Result};
use crate::judge::{Judge, JudgeItem};
use crate::template::JudgeTemplate;

/// Expected-score judge over a local model.
#[derive(Debug)]
pub struct ExpectedScoreJudge<'a> {
    model: &'a LanguageModel,
    template: JudgeTemplate,
    prefix: String,
    digits: Vec<u32>,
    batch_size: usize,
}

impl<'a> ExpectedScoreJudge<'a> {
    /// The paper's template; the assistant's answer is started with `Score: `.
    pub fn new(model: &'a LanguageModel, batch_size: usize) -> Result<Self> {
        Self::with_template(model, JudgeTemplate::paper(), "Score: ", batch_size)
    }

    /// Another template and answer prefix. Each digit 0–5 must follow the prefix as a single
    /// token of the model's tokenizer.
    pub fn with_template(
        model: &'a LanguageModel,
        template: JudgeTemplate,
        prefix: &str,
        batch_size: usize,
    ) -> Result<Self> {
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
        })
    }
}

impl Judge for ExpectedScoreJudge<'_> {
    fn judge(&mut self, items: &[JudgeItem]) -> Result<Vec<Judgement>> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(self.batch_size) {
            let prompts = chunk
                .iter()
                .map(|item| {
                    let judge_prompt = self.template.render(&item.prompt, &item.response)?;
                    let text = self.model.chat_prompt(&judge_prompt)? + &self.prefix;
                    Ok(self.model.tokenizer.encode(&text, false)?)
                })
                .collect::<Result<Vec<_>>>()?;
            for logps in
                next_token_logprobs(&self.model.model, &prompts, self.model.pad_id, &self.digits)?
            {
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
                    texts: vec![],
                });
            }
        }
        Ok(out)
    }
}
