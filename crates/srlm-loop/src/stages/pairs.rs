//! Preference pairs from judged candidates: per prompt, the highest mean score is chosen and the
//! lowest rejected (the paper).
//!
//! The rules, in order:
//! 1. A response competes only if its text is not blank, it ended its turn (a response cut at
//!    `candidates.max_tokens` is never trained: the encoder would append an end of turn the model
//!    never wrote, teaching it to stop mid-sentence), and enough of its judge samples parsed
//!    ([`MinParsed`], default ⌈k/2⌉: a mean of one lucky sample must not beat a mean of three).
//!    Each rule's removals are counted in the order given. A prompt with fewer than two
//!    competing responses gives no pair (`too_few_judged`).
//! 2. Chosen: the highest score; rejected: the lowest; among equal scores the earlier sample.
//! 3. If they tie (every counted response scored the same) the prompt gives no pair (`ties`).
//! 4. Length control (off by default, as in the paper; Meta-Rewarding's remedy for length
//!    creep): the chosen response is the shortest, in words, of those scoring within
//!    `length_margin` of the highest.

use serde::{Deserialize, Serialize};
use srlm_data::PreferenceRecord;

use crate::config::{MinParsed, PairSection};
use crate::records::{JudgedResponse, JudgedSet};

/// Counts of the pairing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairReport {
    /// Prompts offered.
    pub prompts: usize,
    /// Pairs made.
    pub pairs: usize,
    /// Prompts whose counted responses all scored the same.
    pub ties: usize,
    /// Prompts with fewer than two competing responses.
    pub too_few_judged: usize,
    /// Responses offered.
    #[serde(default)]
    pub responses: usize,
    /// Responses left out as blank.
    #[serde(default)]
    pub removed_blank: usize,
    /// Responses left out because they were cut at the token limit.
    #[serde(default)]
    pub removed_truncated: usize,
    /// Responses left out because fewer judge samples parsed than `pairs.min_parsed` asks.
    #[serde(default)]
    pub removed_unparsed: usize,
    /// Pairs where length control picked a shorter response than the top-scoring one.
    pub length_controlled: usize,
    /// Mean score of the chosen responses.
    pub mean_score_chosen: f64,
    /// Mean score of the rejected responses.
    pub mean_score_rejected: f64,
    /// Mean words of the chosen responses.
    pub mean_words_chosen: f64,
    /// Mean words of the rejected responses.
    pub mean_words_rejected: f64,
}

fn words(r: &JudgedResponse) -> usize {
    r.response.split_whitespace().count()
}

/// Why a response does not compete, or its score when it does.
fn competes(r: &JudgedResponse, rule: MinParsed) -> std::result::Result<f64, Removal> {
    if r.response.trim().is_empty() {
        return Err(Removal::Blank);
    }
    if r.truncated {
        return Err(Removal::Truncated);
    }
    match r.judgement.score {
        Some(score) if r.judgement.valid() >= rule.needed(r.judgement.samples.len()) => Ok(score),
        _ => Err(Removal::Unparsed),
    }
}

enum Removal {
    Blank,
    Truncated,
    Unparsed,
}

/// Builds the pairs of one iteration.
pub fn build_pairs(
    sets: &[JudgedSet],
    iteration: usize,
    config: &PairSection,
) -> (Vec<PreferenceRecord>, PairReport) {
    let mut report = PairReport {
        prompts: sets.len(),
        ..PairReport::default()
    };
    let mut pairs = Vec::new();
    for set in sets {
        let mut counted: Vec<(&JudgedResponse, f64)> = Vec::new();
        for r in &set.responses {
            report.responses += 1;
            match competes(r, config.min_parsed) {
                Ok(score) => counted.push((r, score)),
                Err(Removal::Blank) => report.removed_blank += 1,
                Err(Removal::Truncated) => report.removed_truncated += 1,
                Err(Removal::Unparsed) => report.removed_unparsed += 1,
            }
        }
        if counted.len() < 2 {
            report.too_few_judged += 1;
            continue;
        }
        // First of the highest, first of the lowest.
        let mut best = counted[0];
        let mut worst = counted[0];
        for &c in &counted[1..] {
            if c.1 > best.1 {
                best = c;
            }
            if c.1 < worst.1 {
                worst = c;
            }
        }
        if best.1 <= worst.1 {
            report.ties += 1;
            continue;
        }
        let mut chosen = best;
        if config.length_control {
            for &c in &counted {
                if c.1 >= best.1 - config.length_margin && words(c.0) < words(chosen.0) {
                    chosen = c;
                }
            }
            if chosen.1 <= worst.1 {
                report.ties += 1;
                continue;
            }
            if !std::ptr::eq(chosen.0, best.0) {
                report.length_controlled += 1;
            }
        }
        report.mean_score_chosen += chosen.1;
        report.mean_score_rejected += worst.1;
        report.mean_words_chosen += words(chosen.0) as f64;
        report.mean_words_rejected += words(worst.0) as f64;
        pairs.push(PreferenceRecord {
            prompt: set.prompt.clone(),
            chosen: chosen.0.response.clone(),
            rejected: worst.0.response.clone(),
            score_chosen: Some(chosen.1),
            score_rejected: Some(worst.1),
            iteration: Some(iteration as u32),
            judge_texts_chosen: chosen.0.judgement.texts.clone(),
            judge_texts_rejected: worst.0.judgement.texts.clone(),
        });
    }
    report.pairs = pairs.len();
    if !pairs.is_empty() {
        let n = pairs.len() as f64;
        report.mean_score_chosen /= n;
        report.mean_score_rejected /= n;
        report.mean_words_chosen /= n;
        report.mean_words_rejected /= n;
    }
    (pairs, report)
}
