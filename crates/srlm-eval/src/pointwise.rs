//! Head-to-head by single-answer grading: the fixed judge scores each answer alone with the
//! judge prompt (k samples averaged, as the loop judges its candidates) and the higher mean
//! score wins (MT-Bench's single-answer grading, Zheng et al., 2023). A self-rewarding model was
//! trained to judge in exactly this format; asked MT-Bench's pairwise question instead, the
//! 135M M1 of the default run gave no verdict for any of 48 comparisons.

use serde::{Deserialize, Serialize};
use srlm_data::EvalPrompt;
use srlm_judge::{Judge, JudgeItem, PairOutcome};

use crate::error::{EvalError, Result};
use crate::head_to_head::{check_lengths, matchup, Answers, Matchup};

/// The mean score the fixed judge gave one model's answers (pointwise head-to-heads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerScores {
    /// The model (`reference` for the seed's reference answers).
    pub model: String,
    /// Which prompts: `eval` (the evaluation prompts) or `held_out` (the reference prompts).
    pub prompts: String,
    /// Each answer's mean score, `None` when the judge gave none.
    pub scores: Vec<Option<f64>>,
}

impl AnswerScores {
    /// Mean over scored answers (`None` when none was scored).
    pub fn mean(&self) -> Option<f64> {
        let scored: Vec<f64> = self.scores.iter().flatten().copied().collect();
        (!scored.is_empty()).then(|| scored.iter().sum::<f64>() / scored.len() as f64)
    }

    /// Answers with a score.
    pub fn scored(&self) -> usize {
        self.scores.iter().flatten().count()
    }
}

/// Scores each of `answers` (one per prompt, in order) with `judge`.
pub fn score_answers(
    judge: &mut dyn Judge,
    prompts: &[EvalPrompt],
    answers: &Answers,
    which: &str,
) -> Result<AnswerScores> {
    check_lengths(prompts, answers)?;
    let items: Vec<JudgeItem> = prompts
        .iter()
        .zip(&answers.answers)
        .map(|(p, a)| JudgeItem {
            prompt: p.turns.first().cloned().unwrap_or_default(),
            response: a.clone(),
        })
        .collect();
    let judgements = judge.judge(&items)?;
    if judgements.len() != items.len() {
        return Err(EvalError::Input(format!(
            "the judge returned {} judgements for {} answers of {}",
            judgements.len(),
            items.len(),
            answers.model
        )));
    }
    Ok(AnswerScores {
        model: answers.model.clone(),
        prompts: which.to_string(),
        scores: judgements.into_iter().map(|j| j.score).collect(),
    })
}

/// A's outcome from two mean scores: the higher wins, equal scores tie, a missing score is
/// [`PairOutcome::Unparsed`] (never a tie).
pub fn pointwise_outcome(a: Option<f64>, b: Option<f64>) -> PairOutcome {
    match (a, b) {
        (Some(a), Some(b)) if a > b => PairOutcome::Win,
        (Some(a), Some(b)) if a < b => PairOutcome::Loss,
        (Some(_), Some(_)) => PairOutcome::Tie,
        _ => PairOutcome::Unparsed,
    }
}

/// The matchup of A's answers against B's from their scores, with the length-controlled win
/// rate beside the raw one.
pub fn compare_scored(
    prompts: &[EvalPrompt],
    (a, a_scores): (&Answers, &AnswerScores),
    (b, b_scores): (&Answers, &AnswerScores),
    seed: u64,
) -> Result<Matchup> {
    check_lengths(prompts, a)?;
    check_lengths(prompts, b)?;
    if a_scores.scores.len() != prompts.len() || b_scores.scores.len() != prompts.len() {
        return Err(EvalError::Input(format!(
            "{} prompts but {} scores for {} and {} for {}",
            prompts.len(),
            a_scores.scores.len(),
            a.model,
            b_scores.scores.len(),
            b.model
        )));
    }
    let outcomes: Vec<PairOutcome> = a_scores
        .scores
        .iter()
        .zip(&b_scores.scores)
        .map(|(&x, &y)| pointwise_outcome(x, y))
        .collect();
    Ok(matchup(prompts, a, b, outcomes, seed))
}
