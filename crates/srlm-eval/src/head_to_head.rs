//! Head-to-head between two models on evaluation prompts: each pair of answers judged in both
//! orders, a disagreement counted as a tie (`srlm_judge::judge_pairs`), overall and per category,
//! with the length-controlled win rate beside the raw one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use srlm_data::EvalPrompt;
use srlm_judge::{
    complete_checked, judge_pairs, GenerationConfig, PairItem, PairOutcome, TextGenerator,
};

use crate::error::{EvalError, Result};
use crate::length_control::{length_controlled, LengthControlled};
use crate::win_rate::{win_tie_loss, WinTieLoss};

/// One model's answers to the evaluation prompts (first turns), in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answers {
    /// The model.
    pub model: String,
    /// One answer per prompt.
    pub answers: Vec<String>,
}

/// Answers the first turn of each prompt with `generator`.
pub fn answer(
    model: &str,
    generator: &mut dyn TextGenerator,
    prompts: &[EvalPrompt],
    params: &GenerationConfig,
) -> Result<Answers> {
    let texts: Vec<String> = prompts
        .iter()
        .map(|p| p.turns.first().cloned().unwrap_or_default())
        .collect();
    let completions = complete_checked(generator, &texts, 1, params)?;
    Ok(Answers {
        model: model.to_string(),
        answers: completions
            .into_iter()
            .map(|mut c| c.pop().map(|c| c.text).unwrap_or_default())
            .collect(),
    })
}

/// A matchup's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matchup {
    /// Model A.
    pub a: String,
    /// Model B.
    pub b: String,
    /// Each prompt's outcome for A, in order.
    pub outcomes: Vec<PairOutcome>,
    /// Over all prompts.
    pub overall: WinTieLoss,
    /// Per category (prompts without one are under `"-"`).
    pub by_category: BTreeMap<String, WinTieLoss>,
    /// Win rates with ties as halves, raw and controlled for the answers' length (`None` with
    /// no verdict, or in reports older than it).
    #[serde(default)]
    pub length_controlled: Option<LengthControlled>,
}

/// Tallies outcomes overall and per category.
pub fn tally(
    a: &str,
    b: &str,
    prompts: &[EvalPrompt],
    outcomes: Vec<PairOutcome>,
    seed: u64,
) -> Matchup {
    let mut per: BTreeMap<String, Vec<PairOutcome>> = BTreeMap::new();
    for (p, o) in prompts.iter().zip(&outcomes) {
        per.entry(p.category.clone().unwrap_or_else(|| "-".into()))
            .or_default()
            .push(*o);
    }
    Matchup {
        a: a.to_string(),
        b: b.to_string(),
        overall: win_tie_loss(&outcomes, seed),
        by_category: per
            .into_iter()
            .map(|(k, v)| (k, win_tie_loss(&v, seed)))
            .collect(),
        outcomes,
        length_controlled: None,
    }
}

/// Judges A's answers against B's with `judge` in both orders.
pub fn compare(
    judge: &mut dyn TextGenerator,
    prompts: &[EvalPrompt],
    a: &Answers,
    b: &Answers,
    params: &GenerationConfig,
    seed: u64,
) -> Result<Matchup> {
    check_lengths(prompts, a)?;
    check_lengths(prompts, b)?;
    let items: Vec<PairItem> = prompts
        .iter()
        .zip(a.answers.iter().zip(&b.answers))
        .map(|(p, (x, y))| PairItem {
            prompt: p.turns.first().cloned().unwrap_or_default(),
            a: x.clone(),
            b: y.clone(),
        })
        .collect();
    let mut judge = judge;
    let outcomes = judge_pairs(&mut judge, &items, params)?;
    Ok(matchup(prompts, a, b, outcomes, seed))
}

/// A's matchup against B from each prompt's outcome: [`tally`] with the length-controlled win
/// rate beside the raw one. `a`, `b` and `outcomes` are one per prompt.
pub(crate) fn matchup(
    prompts: &[EvalPrompt],
    a: &Answers,
    b: &Answers,
    outcomes: Vec<PairOutcome>,
    seed: u64,
) -> Matchup {
    let lengths: Vec<(&str, &str)> = a
        .answers
        .iter()
        .zip(&b.answers)
        .map(|(x, y)| (x.as_str(), y.as_str()))
        .collect();
    let controlled = length_controlled(&outcomes, &lengths, seed);
    Matchup {
        length_controlled: controlled,
        ..tally(&a.model, &b.model, prompts, outcomes, seed)
    }
}

/// An error unless `answers` has one answer per prompt.
pub(crate) fn check_lengths(prompts: &[EvalPrompt], answers: &Answers) -> Result<()> {
    if answers.answers.len() == prompts.len() {
        return Ok(());
    }
    Err(EvalError::Input(format!(
        "{} prompts but {} answers from {}",
        prompts.len(),
        answers.answers.len(),
        answers.model
    )))
}
