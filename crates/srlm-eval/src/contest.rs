//! The head-to-heads of an evaluation: every model's answers against each other and against the
//! seed's reference answers, decided by the one fixed judge — pairwise (MT-Bench's prompt in
//! both orders) or pointwise (each answer scored alone, [`crate::pointwise`]).

use srlm_data::{EftRecord, EvalPrompt};
use srlm_generation::{GenerationConfig, TextGenerator};

use crate::error::Result;
use crate::head_to_head::{compare, Answers};
use crate::judges::{journaled, sampling_judge};
use crate::options::EvalOptions;
use crate::pointwise::{compare_scored, score_answers, AnswerScores};
use crate::report::EvalReport;

/// What the head-to-head judge compares: every model's answers to the evaluation prompts (the
/// matchups as index pairs into them), and every model's answers to the held-out reference
/// prompts beside the seed's reference answers.
pub(crate) struct Contest<'a> {
    pub(crate) prompts: &'a [EvalPrompt],
    pub(crate) answers: &'a [Answers],
    pub(crate) pairs: Vec<(usize, usize)>,
    pub(crate) reference_prompts: &'a [EvalPrompt],
    pub(crate) reference_answers: &'a [Answers],
    pub(crate) references: &'a Answers,
}

/// Each pair of answers judged in both orders with MT-Bench's pairwise prompt; the verdicts
/// are journaled under `journal_key` ([`crate::HeadToHeadJudge::journal_key`]).
pub(crate) fn pairwise(
    judge: Box<dyn TextGenerator>,
    journal_key: &str,
    contest: &Contest<'_>,
    options: &EvalOptions,
    report: &mut EvalReport,
) -> Result<()> {
    let params = GenerationConfig::greedy(options.pair_tokens()).with_seed(options.seed);
    let mut judge = journaled(judge, options, &format!("verdicts-{journal_key}"))?;
    for &(a, b) in &contest.pairs {
        report.head_to_head.push(compare(
            &mut judge,
            contest.prompts,
            &contest.answers[a],
            &contest.answers[b],
            &params,
            options.seed,
        )?);
    }
    for model_answers in contest.reference_answers {
        report.reference.push(compare(
            &mut judge,
            contest.reference_prompts,
            model_answers,
            contest.references,
            &params,
            options.seed,
        )?);
    }
    Ok(())
}

/// Every answer scored once by the judge with the judge prompt (the judge settings' samples,
/// averaged); each matchup compares the scores.
pub(crate) fn pointwise(
    judge: Box<dyn TextGenerator>,
    journal_key: &str,
    contest: &Contest<'_>,
    options: &EvalOptions,
    report: &mut EvalReport,
) -> Result<()> {
    let generator = journaled(judge, options, &format!("scores-{journal_key}"))?;
    let mut scorer = sampling_judge(generator, options)?;
    let scores = contest
        .answers
        .iter()
        .map(|a| score_answers(&mut scorer, contest.prompts, a, "eval"))
        .collect::<Result<Vec<AnswerScores>>>()?;
    for &(a, b) in &contest.pairs {
        report.head_to_head.push(compare_scored(
            contest.prompts,
            (&contest.answers[a], &scores[a]),
            (&contest.answers[b], &scores[b]),
            options.seed,
        )?);
    }
    report.answer_scores = scores;
    if contest.reference_answers.is_empty() {
        return Ok(());
    }
    let reference = score_answers(
        &mut scorer,
        contest.reference_prompts,
        contest.references,
        "held_out",
    )?;
    for model_answers in contest.reference_answers {
        let model_scores = score_answers(
            &mut scorer,
            contest.reference_prompts,
            model_answers,
            "held_out",
        )?;
        report.reference.push(compare_scored(
            contest.reference_prompts,
            (model_answers, &model_scores),
            (contest.references, &reference),
            options.seed,
        )?);
        report.answer_scores.push(model_scores);
    }
    report.answer_scores.push(reference);
    Ok(())
}

/// The first `n` distinct held-out prompts with a seed reference answer (the natural set's
/// `reference` rung or the ladder's `original`), as evaluation prompts and the reference's
/// answers.
pub fn reference_answers(held_out: &[EftRecord], n: usize) -> (Vec<EvalPrompt>, Answers) {
    let mut prompts: Vec<EvalPrompt> = Vec::new();
    let mut texts = Vec::new();
    for r in held_out {
        if prompts.len() == n {
            break;
        }
        let reference = matches!(
            r.origin.as_deref(),
            Some("ladder:original" | "natural:reference")
        );
        if !reference || prompts.iter().any(|p| p.turns[0] == r.prompt) {
            continue;
        }
        prompts.push(EvalPrompt {
            id: format!("held-out-{}", prompts.len()),
            category: None,
            turns: vec![r.prompt.clone()],
        });
        texts.push(r.response.clone());
    }
    (
        prompts,
        Answers {
            model: "reference".into(),
            answers: texts,
        },
    )
}
