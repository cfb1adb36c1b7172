//! Records → token ids for training: the prompt rendered with the model's chat template (the
//! generation prompt included, exactly as at generation time), the response tokenised on its own
//! and followed by the end-of-turn token. The loss mask covers the response and that token only.
//! Too-long examples are cut at the response's end; one whose prompt alone leaves no room for a
//! response token is dropped. An EFT example is never cut: its judgement ends in the score, so
//! one that does not fit whole is dropped. All are counted.

use srlm_judge::JudgeTemplate;
use srlm_model::{LanguageModel, PromptResponse};

use crate::encoded::{EncodeReport, EncodedExample, EncodedPair};
use crate::error::{DataError, Result};
use crate::records::{EftRecord, IftRecord, PreferenceRecord};

impl EncodedExample {
    /// The ids as `srlm-model` scores them.
    pub fn to_prompt_response(&self) -> PromptResponse {
        PromptResponse {
            prompt: self.prompt.clone(),
            response: self.response.clone(),
        }
    }
}

/// Tokenises records with a model's tokenizer and chat template.
#[derive(Debug)]
pub struct Encoder<'m> {
    model: &'m LanguageModel,
    judge_template: JudgeTemplate,
    max_len: usize,
    max_record_bytes: usize,
}

impl<'m> Encoder<'m> {
    /// An encoder for `model` cutting examples at `max_len` tokens (at most the model's
    /// positions); EFT prompts use the paper's judge template.
    pub fn new(model: &'m LanguageModel, max_len: usize) -> Result<Self> {
        if max_len < 2 {
            return Err(DataError::InvalidConfig(format!(
                "maximum length {max_len} leaves no room for a prompt and a response"
            )));
        }
        let positions = model.model.max_positions();
        if max_len > positions {
            tracing::warn!(
                max_len,
                positions,
                "maximum length capped at the model's positions"
            );
        }
        Ok(Encoder {
            model,
            judge_template: JudgeTemplate::paper(),
            max_len: max_len.min(positions),
            max_record_bytes: Self::MAX_RECORD_BYTES,
        })
    }

    /// The default of [`Encoder::with_max_record_bytes`]: 1 MiB, some 250 k tokens of English —
    /// far past any maximum length, and about 200 MB of tokenizer memory.
    pub const MAX_RECORD_BYTES: usize = 1 << 20;

    /// Records whose prompt and response together exceed `bytes` are dropped (and counted as
    /// `too_large`) before they are tokenised: a tokenizer's memory grows with its input (a
    /// 5 MB record takes about 1 GB), and everything past the maximum length is cut anyway.
    pub fn with_max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    fn too_large(&self, texts: &[&str]) -> bool {
        texts
            .iter()
            .map(|t| t.len())
            .fold(0usize, usize::saturating_add)
            > self.max_record_bytes
    }

    fn eft_too_large(&self, record: &EftRecord) -> bool {
        self.too_large(&[&record.prompt, &record.response, &record.judgement])
    }

    /// The model whose tokenizer and chat template lay the records out.
    pub fn model(&self) -> &'m LanguageModel {
        self.model
    }

    /// Another judge template for EFT prompts.
    pub fn with_judge_template(mut self, template: JudgeTemplate) -> Self {
        self.judge_template = template;
        self
    }

    /// The maximum length.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The model's padding id.
    pub fn pad_id(&self) -> u32 {
        self.model.pad_id
    }

    /// Encodes a user prompt and a response; `None` when it must be dropped (the prompt alone
    /// fills the maximum length, or the record is larger than the record limit).
    pub fn encode(
        &self,
        prompt: &str,
        response: &str,
    ) -> srlm_model::Result<Option<EncodedExample>> {
        if self.too_large(&[prompt, response]) {
            return Ok(None);
        }
        self.encode_within_limit(prompt, response)
    }

    /// [`Encoder::encode`] of a record already checked against the record limit.
    fn encode_within_limit(
        &self,
        prompt: &str,
        response: &str,
    ) -> srlm_model::Result<Option<EncodedExample>> {
        let prompt = self.model.encode_prompt(prompt, false)?;
        let mut response = self.model.encode_response(response)?;
        if prompt.len() >= self.max_len {
            return Ok(None);
        }
        let room = self.max_len - prompt.len();
        let truncated = response.len() > room;
        response.truncate(room);
        Ok(Some(EncodedExample {
            prompt,
            response,
            truncated,
        }))
    }

    /// An IFT record: its prompt as the user turn, its response as the target.
    pub fn ift(&self, record: &IftRecord) -> srlm_model::Result<Option<EncodedExample>> {
        self.encode(&record.prompt, &record.response)
    }

    /// An EFT record: the judge prompt (holding its prompt and response) as the user turn, the
    /// judgement as the target. `None` when it does not fit whole: a cut judgement would lose
    /// its `Score: N`, the one thing EFT teaches.
    pub fn eft(&self, record: &EftRecord) -> Result<Option<EncodedExample>> {
        Ok(self.eft_maybe_cut(record)?.filter(|e| !e.truncated))
    }

    /// An EFT record encoded as any example is, cut or not (`None`: the judge prompt alone fills
    /// the budget); [`Encoder::eft`] and [`Encoder::sft_set`] drop the cut ones.
    fn eft_maybe_cut(&self, record: &EftRecord) -> Result<Option<EncodedExample>> {
        if self.eft_too_large(record) {
            return Ok(None);
        }
        let judge_prompt = self
            .judge_template
            .render(&record.prompt, &record.response)?;
        Ok(self.encode_within_limit(&judge_prompt, &record.judgement)?)
    }

    /// A preference pair; `None` when either side must be dropped.
    pub fn pair(&self, record: &PreferenceRecord) -> srlm_model::Result<Option<EncodedPair>> {
        let chosen = self.encode(&record.prompt, &record.chosen)?;
        let rejected = self.encode(&record.prompt, &record.rejected)?;
        Ok(chosen
            .zip(rejected)
            .map(|(chosen, rejected)| EncodedPair { chosen, rejected }))
    }

    /// Encodes an SFT set (IFT records then EFT records), counting cuts and drops.
    pub fn sft_set(
        &self,
        ift: &[IftRecord],
        eft: &[EftRecord],
    ) -> Result<(Vec<EncodedExample>, EncodeReport)> {
        let mut report = EncodeReport {
            too_large: ift
                .iter()
                .filter(|r| self.too_large(&[&r.prompt, &r.response]))
                .count()
                + eft.iter().filter(|r| self.eft_too_large(r)).count(),
            ..EncodeReport::default()
        };
        let mut out = Vec::with_capacity(ift.len() + eft.len());
        let encoded = ift
            .iter()
            .map(|r| self.ift(r).map_err(DataError::from))
            .chain(eft.iter().map(|r| self.eft_maybe_cut(r)));
        for (index, example) in encoded.enumerate() {
            let example = example.map_err(|e| match e {
                DataError::Model(source) => DataError::Encode { index, source },
                other => other,
            })?;
            match example {
                // An EFT example that would be cut is left out whole: its judgement ends in the
                // score.
                Some(e) if e.truncated && index >= ift.len() => {
                    report.dropped += 1;
                    report.eft_cut += 1;
                    let kind = eft[index - ift.len()].kind().unwrap_or("given");
                    *report.eft_cut_by_kind.entry(kind.to_string()).or_default() += 1;
                }
                Some(e) => {
                    report.encoded += 1;
                    report.truncated += usize::from(e.truncated);
                    report.response_tokens += e.response.len();
                    out.push(e);
                }
                None => report.dropped += 1,
            }
        }
        log_report("sft", &report);
        Ok((out, report))
    }

    /// Encodes a preference set, counting cuts (either side) and drops; a pair whose chosen
    /// and rejected are the same text is an error ([`DataError::NoPreference`]).
    pub fn preference_set(
        &self,
        pairs: &[PreferenceRecord],
    ) -> Result<(Vec<EncodedPair>, EncodeReport)> {
        let mut report = EncodeReport {
            too_large: pairs
                .iter()
                .filter(|r| {
                    self.too_large(&[&r.prompt, &r.chosen])
                        || self.too_large(&[&r.prompt, &r.rejected])
                })
                .count(),
            ..EncodeReport::default()
        };
        if let Some(index) = pairs.iter().position(|p| p.chosen == p.rejected) {
            return Err(DataError::NoPreference { number: index + 1 });
        }
        let mut out = Vec::with_capacity(pairs.len());
        for (index, record) in pairs.iter().enumerate() {
            match self
                .pair(record)
                .map_err(|source| DataError::Encode { index, source })?
            {
                Some(p) => {
                    report.encoded += 1;
                    report.truncated += usize::from(p.chosen.truncated || p.rejected.truncated);
                    report.response_tokens += p.chosen.response.len() + p.rejected.response.len();
                    out.push(p);
                }
                None => report.dropped += 1,
            }
        }
        log_report("preference", &report);
        Ok((out, report))
    }
}

fn log_report(set: &str, report: &EncodeReport) {
    if report.truncated > 0 || report.dropped > 0 {
        tracing::warn!(
            set,
            too_large = report.too_large,
            truncated = report.truncated,
            dropped = report.dropped,
            eft_judgement_would_be_cut = report.eft_cut,
            encoded = report.encoded,
            "examples cut or dropped at the maximum length"
        );
    }
}
