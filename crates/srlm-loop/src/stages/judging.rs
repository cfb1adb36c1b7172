//! Self-judging: every candidate scored by the run's judge (the paper's: the judge prompt, k
//! samples averaged; or the expected score over the digit's probabilities; or the caller's own,
//! through [`JudgeSource`](crate::JudgeSource)).

use std::collections::BTreeMap;

use serde_json::json;
use srlm_judge::{Judge, JudgeItem, Judgement, ParseStats};

use crate::error::Result;
use crate::records::{CandidateSet, JudgedResponse, JudgedSet};

/// The responses of `sets` to judge, in order: all of them, or only the finished ones when
/// `judge_cut` is false.
fn items(sets: &[CandidateSet], judge_cut: bool) -> Vec<JudgeItem> {
    sets.iter()
        .flat_map(|s| {
            s.responses
                .iter()
                .filter(move |r| judge_cut || !r.truncated)
                .map(|r| JudgeItem {
                    prompt: s.prompt.clone(),
                    response: r.text.clone(),
                })
        })
        .collect()
}

/// A cut candidate left unjudged: no samples, no score.
fn not_judged() -> Judgement {
    Judgement {
        score: None,
        samples: Vec::new(),
        texts: Vec::new(),
        truncated: 0,
    }
}

/// Puts `judgements` (one per item of [`items`], in order) back beside their responses; a
/// response left out of the items gets [`not_judged`].
fn attach(sets: &[CandidateSet], judgements: Vec<Judgement>, judge_cut: bool) -> Vec<JudgedSet> {
    let mut judgements = judgements.into_iter();
    sets.iter()
        .map(|s| JudgedSet {
            id: s.id.clone(),
            prompt: s.prompt.clone(),
            responses: s
                .responses
                .iter()
                .map(|r| JudgedResponse {
                    response: r.text.clone(),
                    truncated: r.truncated,
                    judgement: if judge_cut || !r.truncated {
                        judgements.next().unwrap_or_else(not_judged)
                    } else {
                        not_judged()
                    },
                })
                .collect(),
        })
        .collect()
}

/// Whether `response` was put to the judge: finished, or cut but with samples drawn (a run
/// with `judge.judge_cut`).
pub(crate) fn was_judged(response: &JudgedResponse) -> bool {
    !response.truncated || !response.judgement.samples.is_empty()
}

/// Judges one unit: every candidate of `sets` (those cut at the token limit only when
/// `judge_cut`), by `judge` reseeded with `seed` first.
pub(crate) fn judge_unit(
    sets: &[CandidateSet],
    judge: &mut dyn Judge,
    seed: u64,
    judge_cut: bool,
) -> Result<Vec<JudgedSet>> {
    judge.reseed(seed);
    let items = items(sets, judge_cut);
    let judgements = judge.judge(&items)?;
    if judgements.len() != items.len() {
        return Err(crate::error::LoopError::Judge(
            srlm_judge::JudgeError::GeneratorRows {
                prompts: items.len(),
                rows: judgements.len(),
                samples: 1,
            },
        ));
    }
    Ok(attach(sets, judgements, judge_cut))
}

/// Judged responses by mean score rounded to the nearest point (unjudged ones left out).
pub fn score_histogram(judgements: &[Judgement]) -> BTreeMap<String, usize> {
    let mut histogram: BTreeMap<String, usize> = BTreeMap::new();
    for score in judgements.iter().filter_map(|j| j.score) {
        *histogram
            .entry(format!("{}", score.round() as i64))
            .or_default() += 1;
    }
    histogram
}

/// The judgements of the responses put to the judge ([`was_judged`]), in order.
pub fn judged_judgements(sets: &[JudgedSet]) -> Vec<Judgement> {
    sets.iter()
        .flat_map(|s| s.responses.iter().filter(|r| was_judged(r)))
        .map(|r| r.judgement.clone())
        .collect()
}

/// The stage's counts over the responses put to the judge: parse rate, failures by reason,
/// histogram of mean scores (rounded), prompts with at least two judged responses; and the cut
/// candidates left unjudged.
pub(crate) fn stats(sets: &[JudgedSet]) -> serde_json::Value {
    let judgements = judged_judgements(sets);
    let cut_not_judged = sets
        .iter()
        .flat_map(|s| &s.responses)
        .filter(|r| !was_judged(r))
        .count();
    let parse = ParseStats::of(&judgements);
    let histogram = score_histogram(&judgements);
    let unjudged = judgements.iter().filter(|j| j.score.is_none()).count();
    json!({
        "prompts": sets.len(),
        "responses": judgements.len(),
        "unjudged": unjudged,
        "cut_not_judged": cut_not_judged,
        "parse_rate": parse.parse_rate(),
        "truncation_rate": parse.truncation_rate(),
        "parse": parse,
        "score_histogram": histogram,
        "prompts_with_two_judged": sets
            .iter()
            .filter(|s| s.responses.iter().filter(|r| r.judgement.score.is_some()).count() >= 2)
            .count(),
    })
}

#[cfg(test)]
mod tests {
    use srlm_judge::Completion;

    use super::{judge_unit, stats, was_judged};
    use crate::records::CandidateSet;

    /// A judge that scores every response by its length in words (capped at 5) and records what
    /// it was asked.
    struct WordCountJudge {
        asked: Vec<String>,
    }

    impl srlm_judge::Judge for WordCountJudge {
        fn judge(
            &mut self,
            items: &[srlm_judge::JudgeItem],
        ) -> srlm_judge::Result<Vec<srlm_judge::Judgement>> {
            Ok(items
                .iter()
                .map(|item| {
                    self.asked.push(item.response.clone());
                    let words = item.response.split_whitespace().count().min(5) as f64;
                    srlm_judge::Judgement::from_samples(
                        vec![Ok(words)],
                        vec![format!("Score: {words}")],
                        &srlm_judge::AggregationConfig {
                            samples: 1,
                            min_valid: 1,
                        },
                    )
                })
                .collect())
        }
    }

    #[test]
    fn cut_candidates_are_not_judged_unless_asked() {
        let completion = |text: &str, truncated| Completion {
            text: text.into(),
            truncated,
        };
        let sets = vec![
            CandidateSet {
                id: "p0".into(),
                prompt: "Q0?".into(),
                responses: vec![
                    completion("one two", false),
                    completion("cut off in the mid", true),
                    completion("one two three", false),
                ],
            },
            CandidateSet {
                id: "p1".into(),
                prompt: "Q1?".into(),
                responses: vec![completion("also cut", true), completion("fine", false)],
            },
        ];
        // Default: the judge sees the three finished responses only, and each judgement lands
        // beside its own response.
        let mut judge = WordCountJudge { asked: Vec::new() };
        let judged = judge_unit(&sets, &mut judge, 7, false).unwrap();
        assert_eq!(judge.asked, ["one two", "one two three", "fine"]);
        let scores: Vec<Vec<Option<f64>>> = judged
            .iter()
            .map(|s| s.responses.iter().map(|r| r.judgement.score).collect())
            .collect();
        assert_eq!(
            scores,
            [vec![Some(2.0), None, Some(3.0)], vec![None, Some(1.0)]]
        );
        assert!(judged[0].responses[1].judgement.samples.is_empty());
        assert!(!was_judged(&judged[0].responses[1]) && was_judged(&judged[0].responses[0]));
        let s = stats(&judged);
        assert_eq!(s["cut_not_judged"], 2);
        assert_eq!(s["responses"], 3);
        assert_eq!(s["unjudged"], 0);
        assert_eq!(s["parse_rate"], 1.0);
        // `judge.judge_cut`: all five, the cut ones scored like any other.
        let mut judge = WordCountJudge { asked: Vec::new() };
        let judged = judge_unit(&sets, &mut judge, 7, true).unwrap();
        assert_eq!(judge.asked.len(), 5);
        assert_eq!(judged[0].responses[1].judgement.score, Some(5.0));
        assert_eq!(judged[1].responses[0].judgement.score, Some(2.0));
        assert_eq!(stats(&judged)["cut_not_judged"], 0);
    }
}
