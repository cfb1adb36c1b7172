//! Win rates and their intervals, matchups, prompt selection, judge quality, head-to-head order
//! swapping and ties — against hand-computed values.

use srlm_data::{EftRecord, EvalPrompt};
use srlm_eval::{
    compare, held_out_groups, held_out_sets, judge_quality, matchups, metric_intervals,
    reference_ranks, spread_over_categories, win_tie_loss, Answers,
};
use srlm_judge::PairOutcome::{Loss, Tie, Unparsed, Win};
use srlm_judge::{
    default_judge_sampling, Completion, GenerationConfig, Judge, JudgeItem, Judgement,
    TextGenerator,
};

#[test]
fn win_tie_loss_counts_shares_and_intervals() {
    let w = win_tie_loss(&[Win, Win, Tie, Loss], 7);
    assert_eq!((w.n, w.wins, w.ties, w.losses), (4, 2, 1, 1));
    assert_eq!((w.win.value, w.tie.value, w.loss.value), (0.5, 0.25, 0.25));
    for s in [w.win, w.tie, w.loss] {
        assert!(
            0.0 <= s.low && s.low <= s.value && s.value <= s.high && s.high <= 1.0,
            "{s:?}"
        );
    }
    assert_eq!(w, win_tie_loss(&[Win, Win, Tie, Loss], 7), "seeded");
    // No spread when every outcome is the same.
    let all = win_tie_loss(&[Win; 10], 0);
    assert_eq!((all.win.low, all.win.high, all.loss.high), (1.0, 1.0, 0.0));
    // More evidence, narrower interval.
    let small = win_tie_loss(&[Win, Loss], 0);
    let large = win_tie_loss(&[[Win, Loss]; 200].concat(), 0);
    assert!(large.win.high - large.win.low < small.win.high - small.win.low);
    assert!(
        (large.win.low - 0.45).abs() < 0.03 && (large.win.high - 0.55).abs() < 0.03,
        "{:?}",
        large.win
    );
    let none = win_tie_loss(&[], 0);
    assert_eq!((none.n, none.win.value, none.win.high), (0, 0.0, 0.0));
}

#[test]
fn missing_verdicts_are_counted_apart_not_as_ties() {
    let w = win_tie_loss(&[Win, Unparsed, Tie, Unparsed, Loss, Win], 3);
    assert_eq!((w.n, w.unparsed, w.wins, w.ties, w.losses), (4, 2, 2, 1, 1));
    assert_eq!((w.win.value, w.tie.value), (0.5, 0.25));
    let broken = win_tie_loss(&[Unparsed; 5], 0);
    assert_eq!((broken.n, broken.unparsed, broken.tie.value), (0, 5, 0.0));
}

#[test]
fn matchups_cover_consecutive_latest_and_baseline() {
    let names: Vec<String> = ["M0", "M1", "M2", "M3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        matchups(&names, true),
        [(1, 0), (2, 1), (3, 2), (3, 1), (2, 0), (3, 0)]
    );
    let names: Vec<String> = ["M1", "M2", "M3"].iter().map(|s| s.to_string()).collect();
    assert_eq!(matchups(&names, false), [(1, 0), (2, 1), (2, 0)]);
}

fn prompt(id: &str, category: &str) -> EvalPrompt {
    EvalPrompt {
        id: id.into(),
        category: Some(category.into()),
        turns: vec![format!("question {id}")],
    }
}

#[test]
fn prompts_are_spread_over_categories() {
    let prompts = vec![
        prompt("1", "writing"),
        prompt("2", "writing"),
        prompt("3", "writing"),
        prompt("4", "math"),
        prompt("5", "math"),
        prompt("6", "coding"),
    ];
    let ids = |v: Vec<EvalPrompt>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(
        ids(spread_over_categories(&prompts, 4)),
        ["1", "4", "6", "2"]
    );
    assert_eq!(
        ids(spread_over_categories(&prompts, 100)),
        ["1", "4", "6", "2", "5", "3"]
    );
}

pub(crate) fn eft(prompt: &str, response: &str, score: f64) -> EftRecord {
    EftRecord {
        prompt: prompt.into(),
        response: response.into(),
        judgement: format!("Score: {score}"),
        score,
        origin: None,
    }
}

/// Scores a response by the `nth` number written in it; without one ("?") the parse fails.
pub(crate) struct NthNumber(pub usize);

impl Judge for NthNumber {
    fn judge(&mut self, items: &[JudgeItem]) -> srlm_judge::Result<Vec<Judgement>> {
        Ok(items
            .iter()
            .map(|i| {
                let parsed = i
                    .response
                    .split_whitespace()
                    .filter_map(|w| w.parse::<f64>().ok())
                    .nth(self.0)
                    .ok_or(srlm_judge::ParseFailure::NoScore);
                Judgement::from_samples(vec![parsed], vec![i.response.clone()], &Default::default())
            })
            .collect())
    }
}

#[test]
fn judge_quality_against_reference_scores() {
    let records = vec![
        eft("p1", "says 4", 4.0),
        eft("p1", "says 2", 3.0),
        eft("p1", "says 3", 1.0),
        eft("alone", "says 1", 1.0),
        eft("p2", "says 5", 4.0),
        eft("p2", "says ?", 0.0),
        eft("p2", "says 1", 2.0),
    ];
    let groups = held_out_groups(&records, 10);
    assert_eq!(groups.len(), 2, "a prompt with one response is no group");
    assert_eq!(reference_ranks(&groups[0].records), [0.0, 1.0, 3.0]);
    let q = judge_quality("M1", "given", &mut NthNumber(0), &groups, 0).unwrap();
    // p1: pairs (4>3 ok), (4>1 ok), (3 vs 1: judge 2 < 3, wrong) → 2/3; p2: the "?" is
    // unjudged, (4 vs 2: 5 > 1 ok) → 1/1. Overall 3/4.
    assert_eq!(q.metrics.pairwise_accuracy, Some(0.75));
    // Counting p2's two pairs with the unscored response as wrong: 3 / 6.
    assert_eq!(q.metrics.unjudged_pairs, 2);
    assert_eq!(q.metrics.pairwise_accuracy_all, Some(0.5));
    // The intervals hold the observed values; resampling p1 alone gives 2/3, p2 alone 1/1
    // (and 1/3 counting unjudged pairs as wrong), the extremes of the bootstrap.
    let acc = q.intervals.pairwise_accuracy.unwrap();
    assert_eq!(acc.value, 0.75);
    assert!(
        (acc.low - 2.0 / 3.0).abs() < 1e-12 && acc.high == 1.0,
        "{acc:?}"
    );
    let all = q.intervals.pairwise_accuracy_all.unwrap();
    assert!(
        all.low <= 0.5 && 0.5 <= all.high && all.high <= 2.0 / 3.0 + 1e-12,
        "{all:?}"
    );
    assert_eq!(q.set, "given");
    // 5-best: one response was scored 5 (p2's best) → 100 %.
    assert_eq!(q.metrics.five_best_pct, Some(100.0));
    // Exact match over fully judged groups: p1 only, and its order is wrong → 0 %.
    assert_eq!(q.metrics.exact_match_pct, Some(0.0));
    assert_eq!((q.parse.samples, q.parse.parsed), (6, 5));
    assert!((q.parse_rate - 5.0 / 6.0).abs() < 1e-12);
    assert_eq!(held_out_groups(&records, 1).len(), 1);
}

#[test]
fn held_out_sets_keep_kinds_apart_even_on_one_prompt() {
    let tagged = |prompt: &str, score: f64, origin: &str| EftRecord {
        origin: Some(origin.into()),
        ..eft(prompt, "says 1", score)
    };
    let records = vec![
        tagged("p", 4.0, "ladder:original"),
        tagged("p", 4.0, "natural:reference"),
        tagged("p", 0.0, "ladder:scrambled"),
        tagged("p", 1.0, "natural:neighbour"),
        tagged("q", 2.0, "natural:seed_greedy"),
        eft("r", "says 2", 2.0),
        eft("r", "says 1", 1.0),
    ];
    let sets = held_out_sets(&records, 10);
    let kinds: Vec<&str> = sets.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["ladder", "natural", "given"]);
    for (_, groups) in &sets {
        assert_eq!(groups.len(), 1, "q's lone natural record is no group");
        assert_eq!(groups[0].records.len(), 2);
    }
}

#[test]
fn metric_intervals_are_seeded_and_narrow_with_agreeing_prompts() {
    let perfect = srlm_judge::RankedGroup {
        ranks: vec![0.0, 1.0, 2.0],
        scores: vec![Some(4.0), Some(2.0), Some(1.0)],
    };
    let all_right = metric_intervals(&vec![perfect.clone(); 20], 5.0, 3);
    let s = all_right.spearman.unwrap();
    assert_eq!((s.value, s.low, s.high), (1.0, 1.0, 1.0));
    let reversed = srlm_judge::RankedGroup {
        scores: vec![Some(1.0), Some(2.0), Some(4.0)],
        ..perfect.clone()
    };
    let mixed: Vec<_> = (0..20)
        .map(|i| {
            if i % 2 == 0 {
                perfect.clone()
            } else {
                reversed.clone()
            }
        })
        .collect();
    let a = metric_intervals(&mixed, 5.0, 3);
    let acc = a.pairwise_accuracy.unwrap();
    assert_eq!(acc.value, 0.5);
    assert!(
        acc.low < 0.5 && acc.high > 0.5 && acc.high - acc.low < 0.6,
        "{acc:?}"
    );
    assert_eq!(a, metric_intervals(&mixed, 5.0, 3), "seeded");
    assert!(a.five_best.is_none(), "nothing scored 5");
}

/// A pairwise judge that prefers the longer answer, or always says "[[A]]" (position bias).
struct PairJudge {
    biased: bool,
    seen: usize,
}

impl TextGenerator for PairJudge {
    fn complete(
        &mut self,
        prompts: &[String],
        _: usize,
        _: &GenerationConfig,
    ) -> Result<Vec<Vec<Completion>>, srlm_judge::GenerationError> {
        self.seen += prompts.len();
        Ok(prompts
            .iter()
            .map(|p| {
                let answer = |tag: &str| {
                    p.split(&format!("[The Start of Assistant {tag}'s Answer]\n"))
                        .nth(1)
                        .and_then(|r| r.split('\n').next())
                        .unwrap_or("")
                        .len()
                };
                let verdict = if self.biased || answer("A") > answer("B") {
                    "[[A]]"
                } else if answer("A") < answer("B") {
                    "[[B]]"
                } else {
                    "[[C]]"
                };
                vec![Completion {
                    text: format!("Reasons. {verdict}"),
                    truncated: false,
                }]
            })
            .collect())
    }
}

#[test]
fn head_to_head_judges_both_orders_and_counts_disagreement_as_tie() {
    let prompts = vec![
        prompt("1", "writing"),
        prompt("2", "math"),
        prompt("3", "math"),
    ];
    let a = Answers {
        model: "M2".into(),
        answers: vec!["a much longer answer".into(), "short".into(), "same".into()],
    };
    let b = Answers {
        model: "M1".into(),
        answers: vec!["brief".into(), "a longer answer here".into(), "same".into()],
    };
    let mut judge = PairJudge {
        biased: false,
        seen: 0,
    };
    let m = compare(&mut judge, &prompts, &a, &b, &default_judge_sampling(), 0).unwrap();
    assert_eq!(judge.seen, 6, "each pair in both orders");
    assert_eq!(m.outcomes, [Win, Loss, Tie]);
    assert_eq!(
        (m.overall.wins, m.overall.ties, m.overall.losses),
        (1, 1, 1)
    );
    assert_eq!(
        (m.by_category["writing"].wins, m.by_category["writing"].n),
        (1, 1)
    );
    assert_eq!(
        (m.by_category["math"].losses, m.by_category["math"].ties),
        (1, 1)
    );
    // A judge that always picks the first-shown answer disagrees with itself: all ties.
    let mut biased = PairJudge {
        biased: true,
        seen: 0,
    };
    let m = compare(&mut biased, &prompts, &a, &b, &default_judge_sampling(), 0).unwrap();
    assert_eq!(m.outcomes, [Tie, Tie, Tie]);
    // Mismatched answers are an error, not a panic.
    let short = Answers {
        model: "M0".into(),
        answers: vec!["x".into()],
    };
    assert!(compare(
        &mut biased,
        &prompts,
        &a,
        &short,
        &default_judge_sampling(),
        0
    )
    .is_err());
}

#[test]
fn pointwise_head_to_head_compares_each_answers_own_score() {
    use srlm_eval::{compare_scored, pointwise_outcome, score_answers, PairJudge, PairMethod};
    let prompts = vec![
        prompt("1", "writing"),
        prompt("2", "math"),
        prompt("3", "math"),
        prompt("4", "math"),
    ];
    // NthNumber(0) scores an answer by the number written in it; "?" gets no score.
    let a = Answers {
        model: "M2".into(),
        answers: vec!["4".into(), "2".into(), "3".into(), "?".into()],
    };
    let b = Answers {
        model: "M1".into(),
        answers: vec!["1".into(), "5".into(), "3".into(), "2".into()],
    };
    let a_scores = score_answers(&mut NthNumber(0), &prompts, &a, "eval").unwrap();
    let b_scores = score_answers(&mut NthNumber(0), &prompts, &b, "eval").unwrap();
    assert_eq!(a_scores.scores, [Some(4.0), Some(2.0), Some(3.0), None]);
    assert_eq!((a_scores.mean(), a_scores.scored()), (Some(3.0), 3));
    assert_eq!(b_scores.mean(), Some(11.0 / 4.0));
    let m = compare_scored(&prompts, (&a, &a_scores), (&b, &b_scores), 0).unwrap();
    // Higher wins, equal ties, a missing score is no verdict (never a tie).
    assert_eq!(m.outcomes, [Win, Loss, Tie, Unparsed]);
    assert_eq!(
        (
            m.overall.wins,
            m.overall.ties,
            m.overall.losses,
            m.overall.unparsed
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(m.by_category["math"].losses, 1);
    assert!(m.length_controlled.is_some());
    assert_eq!(pointwise_outcome(Some(2.5), Some(2.0)), Win);
    assert_eq!(pointwise_outcome(None, None), Unparsed);
    // Answers or scores that do not match the prompts are an error, not a panic.
    let short = Answers {
        model: "M0".into(),
        answers: vec!["1".into()],
    };
    assert!(score_answers(&mut NthNumber(0), &prompts, &short, "eval").is_err());
    assert!(compare_scored(&prompts, (&a, &a_scores), (&short, &b_scores), 0).is_err());
    // Auto: pointwise for a model (it learned that prompt), pairwise for a server.
    let server = PairJudge::External(srlm_loop::GeneratorSpec::OpenAi(
        srlm_loop::ServedModel::fixed(srlm_judge::Endpoint {
            base_url: "http://127.0.0.1:1".into(),
            model: "judge".into(),
        }),
    ));
    assert_eq!(PairMethod::Auto.resolve(&server), PairMethod::Pairwise);
    assert_eq!(
        PairMethod::Auto.resolve(&PairJudge::default()),
        PairMethod::Pointwise
    );
    assert_eq!(
        PairMethod::Pairwise.resolve(&PairJudge::default()),
        PairMethod::Pairwise
    );
}

/// The chance floor: each prompt's scores shuffled among its responses. Counted by hand over the
/// equally likely placements (1,000 shuffles leave a few hundredths of noise).
#[test]
fn chance_floor_is_the_accuracy_of_shuffled_scores() {
    use srlm_eval::chance_pairwise_accuracy;
    use srlm_judge::RankedGroup;
    let group = |ranks: &[f64], scores: &[f64]| RankedGroup {
        ranks: ranks.to_vec(),
        scores: scores.iter().map(|&s| Some(s)).collect(),
    };
    // Two answers, two scores: right in half the placements.
    let two = chance_pairwise_accuracy(&[group(&[0.0, 1.0], &[2.0, 1.0])], 0).unwrap();
    assert!((two - 0.5).abs() < 0.05, "{two}");
    // Scores 2, 2, 1 over three ranked answers: the 1 last gives 2/3 pairs right (the 2s tie,
    // which counts wrong), in the middle 1/3, first 0 -> mean 1/3, well under 0.5.
    let tied = chance_pairwise_accuracy(&[group(&[0.0, 1.0, 2.0], &[2.0, 2.0, 1.0])], 0).unwrap();
    assert!((tied - 1.0 / 3.0).abs() < 0.05, "{tied}");
    // Equal scores everywhere: every pair a tie, the floor 0.
    let flat = chance_pairwise_accuracy(&[group(&[0.0, 1.0], &[3.0, 3.0])], 0).unwrap();
    assert_eq!(flat, 0.0);
    assert_eq!(chance_pairwise_accuracy(&[], 0), None);
}
