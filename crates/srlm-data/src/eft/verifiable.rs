//! The verifiable EFT builder: judge training data whose known order lies **among the model's
//! own answers** — the decision the loop asks of its judge. Each prompt carries one to three
//! verifiable instructions (`srlm-verifiable`); the model answers it several times; programs
//! check each answer. An answer that follows every instruction ranks above one that follows
//! some, which ranks above one that follows none; answers that follow as many are tied, and the
//! tie is kept (nothing breaks it).
//!
//! Each target judgement states the checks before the score ("The user asked for exactly 3
//! bullet points; the response has 5. …"), so the score follows from text read off the
//! response, not from the first tokens of a template.

use serde::{Deserialize, Serialize};
use srlm_verifiable::{InstructedPrompt, Instruction};

use crate::error::Result;
use crate::records::EftRecord;

/// One prompt and the model's answers to it. Leave an answer out (`None`) when it was cut at
/// the token limit: the checks would judge an unfinished answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifiableAnswers {
    /// The prompt with its instructions.
    pub prompt: InstructedPrompt,
    /// The model's answers (sampled at the loop's settings).
    pub answers: Vec<Option<String>>,
}

/// What the builder kept and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerifiableReport {
    /// Prompts read.
    pub prompts: usize,
    /// Answers read.
    pub answers: usize,
    /// Answers left out because they were cut at the token limit.
    pub cut: usize,
    /// Prompts kept: at least two finished answers that the checks do not all tie.
    pub kept_prompts: usize,
    /// Prompts left out because every finished answer followed as many instructions (or fewer
    /// than two finished).
    pub all_tied_prompts: usize,
    /// Records written.
    pub records: usize,
    /// Pairs of a kept prompt's answers that the checks order.
    pub ordered_pairs: usize,
    /// Pairs the checks tie.
    pub tied_pairs: usize,
    /// Records per target score, 1–4.
    pub score_histogram: [usize; 4],
}

/// The target score of an answer following `followed` of `total` instructions: 4 all, 1 none,
/// and 3 or 2 for at least or under half. Ordered as the counts are; equal counts tie.
pub fn verifiable_score(followed: usize, total: usize) -> u8 {
    if total == 0 || followed >= total {
        4
    } else if followed == 0 {
        1
    } else if 2 * followed >= total {
        3
    } else {
        2
    }
}

/// The target judgement of `response`: one sentence per instruction saying what was asked and
/// what the response does, the count followed, then `Score: N`. Returns the score and the text.
pub fn verifiable_judgement(instructions: &[Instruction], response: &str) -> (u8, String) {
    let (_, score, text) = judged(instructions, response);
    (score, text)
}

/// The judgement with the count of instructions followed, each instruction checked once.
fn judged(instructions: &[Instruction], response: &str) -> (usize, u8, String) {
    let verdicts: Vec<_> = instructions.iter().map(|i| i.explain(response)).collect();
    let followed = verdicts.iter().filter(|v| v.followed).count();
    let score = verifiable_score(followed, instructions.len());
    let mut text = String::new();
    for v in &verdicts {
        text.push_str(&v.sentence);
        text.push(' ');
    }
    let summary = match (followed, instructions.len()) {
        (f, n) if f == n && n == 1 => "It follows the instruction.".to_string(),
        (f, n) if f == n => format!("It follows all {n} instructions."),
        (0, 1) => "It does not follow the instruction.".to_string(),
        (0, n) => format!("It follows none of the {n} instructions."),
        (f, n) => format!("It follows {f} of the {n} instructions."),
    };
    text.push_str(&summary);
    text.push_str(&format!("\nScore: {score}"));
    (followed, score, text)
}

/// EFT records from the model's checked answers: for every prompt with at least two finished
/// answers that the checks do not all tie, one record per finished answer (origin
/// `verifiable:F/N`, F of N instructions followed).
pub fn build_verifiable(sets: &[VerifiableAnswers]) -> Result<(Vec<EftRecord>, VerifiableReport)> {
    let mut report = VerifiableReport {
        prompts: sets.len(),
        ..VerifiableReport::default()
    };
    let mut records = Vec::new();
    for set in sets {
        let instructions = set.prompt.instructions()?;
        report.answers += set.answers.len();
        let finished: Vec<&String> = set.answers.iter().flatten().collect();
        report.cut += set.answers.len() - finished.len();
        let judged: Vec<(usize, u8, String, &String)> = finished
            .iter()
            .map(|answer| {
                let (followed, score, text) = judged(&instructions, answer);
                (followed, score, text, *answer)
            })
            .collect();
        let ordered = judged
            .iter()
            .enumerate()
            .flat_map(|(i, a)| judged[i + 1..].iter().map(move |b| a.0 != b.0))
            .filter(|&o| o)
            .count();
        let pairs = judged.len() * judged.len().saturating_sub(1) / 2;
        if judged.len() < 2 || ordered == 0 {
            report.all_tied_prompts += 1;
            continue;
        }
        report.kept_prompts += 1;
        report.ordered_pairs += ordered;
        report.tied_pairs += pairs - ordered;
        for (followed, score, judgement, answer) in judged {
            report.score_histogram[usize::from(score - 1)] += 1;
            records.push(EftRecord {
                prompt: set.prompt.prompt.clone(),
                response: answer.clone(),
                judgement,
                score: f64::from(score),
                origin: Some(format!("verifiable:{followed}/{}", instructions.len())),
            });
        }
    }
    report.records = records.len();
    Ok((records, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_keep_the_order_of_the_counts_and_ties() {
        assert_eq!(verifiable_score(1, 1), 4);
        assert_eq!(verifiable_score(0, 1), 1);
        assert_eq!(
            (0..=3).map(|f| verifiable_score(f, 3)).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(
            (0..=2).map(|f| verifiable_score(f, 2)).collect::<Vec<_>>(),
            [1, 3, 4]
        );
    }

    #[test]
    fn records_come_from_prompts_whose_answers_the_checks_order() {
        let two = InstructedPrompt::new(
            0,
            "Name fruits.",
            &[
                Instruction::BulletLists { bullets: 2 },
                Instruction::NoComma,
            ],
        );
        let tied = InstructedPrompt::new(1, "Say hi.", &[Instruction::NoComma]);
        let sets = vec![
            VerifiableAnswers {
                prompt: two,
                answers: vec![
                    Some("* apple\n* pear".into()), // 2/2 -> 4
                    Some("apple, pear".into()),     // 0/2 -> 1
                    Some("* apple, pear".into()),   // 0/2 -> 1 (one bullet, a comma)
                    None,                           // cut
                ],
            },
            VerifiableAnswers {
                prompt: tied,
                answers: vec![Some("hi".into()), Some("hello".into())],
            },
        ];
        let (records, report) = build_verifiable(&sets).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(
            (report.kept_prompts, report.all_tied_prompts, report.cut),
            (1, 1, 1)
        );
        assert_eq!((report.ordered_pairs, report.tied_pairs), (2, 1));
        assert_eq!(report.score_histogram, [2, 0, 0, 1]);
        assert_eq!(records[0].score, 4.0);
        assert_eq!(records[0].origin.as_deref(), Some("verifiable:2/2"));
        assert_eq!(
            records[0].judgement,
            "The user asked for exactly 2 bullet points; the response has 2. The user asked \
             for no commas; the response has none. It follows all 2 instructions.\nScore: 4"
        );
        assert!(records[1]
            .judgement
            .ends_with("It follows none of the 2 instructions.\nScore: 1"));
    }
}
