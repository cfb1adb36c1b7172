//! The pairing rules: best vs worst, ties, unjudged responses, length control.

use srlm_judge::{Judgement, ParseFailure};
use srlm_loop::build_pairs;
use srlm_loop::{JudgedResponse, JudgedSet, MinParsed, PairSection};

fn response(text: &str, score: Option<f64>) -> JudgedResponse {
    let samples = match score {
        Some(s) => vec![Ok(s)],
        None => vec![Err(ParseFailure::NoScore)],
    };
    JudgedResponse {
        response: text.into(),
        truncated: false,
        judgement: Judgement {
            score,
            samples,
            texts: vec![format!("judged {text}")],
            truncated: 0,
        },
    }
}

fn set(id: &str, responses: Vec<JudgedResponse>) -> JudgedSet {
    JudgedSet {
        id: id.into(),
        prompt: format!("prompt {id}"),
        responses,
    }
}

fn paper() -> PairSection {
    PairSection {
        min_parsed: MinParsed::Majority,
        length_control: false,
        length_margin: 0.5,
    }
}

#[test]
fn best_and_worst_first_of_equals_ties_and_unjudged_dropped() {
    let sets = vec![
        set(
            "a",
            vec![
                response("mid", Some(3.0)),
                response("best one", Some(4.5)),
                response("low first", Some(1.0)),
                response("best two", Some(4.5)),
                response("low second", Some(1.0)),
            ],
        ),
        set(
            "tie",
            vec![response("x", Some(3.0)), response("y", Some(3.0))],
        ),
        set("one", vec![response("x", Some(3.0)), response("y", None)]),
        set(
            "blank",
            vec![response("  ", Some(5.0)), response("y", Some(2.0))],
        ),
        set(
            "b",
            vec![
                response("good", Some(2.0)),
                response("unscored", None),
                response("bad", Some(0.0)),
            ],
        ),
    ];
    let (pairs, report) = build_pairs(&sets, 1, &paper());
    assert_eq!(report.prompts, 5);
    assert_eq!(report.pairs, 2);
    assert_eq!(report.ties, 1);
    assert_eq!(
        report.too_few_judged, 2,
        "one judged response, and a blank best"
    );
    assert_eq!(
        (pairs[0].chosen.as_str(), pairs[0].rejected.as_str()),
        ("best one", "low first")
    );
    assert_eq!(
        (pairs[0].score_chosen, pairs[0].score_rejected),
        (Some(4.5), Some(1.0))
    );
    assert_eq!(pairs[0].judge_texts_chosen, ["judged best one"]);
    assert_eq!(pairs[0].iteration, Some(1));
    assert_eq!(
        (pairs[1].chosen.as_str(), pairs[1].rejected.as_str()),
        ("good", "bad")
    );
    assert!((report.mean_score_chosen - 3.25).abs() < 1e-12);
    assert!((report.mean_score_rejected - 0.5).abs() < 1e-12);
    assert!((report.mean_words_chosen - 1.5).abs() < 1e-12);
}

#[test]
fn length_control_prefers_the_shortest_near_the_top() {
    let sets = vec![set(
        "a",
        vec![
            response("a long answer with many words in it", Some(5.0)),
            response("short and fine", Some(4.6)),
            response("tiny", Some(4.0)),
            response("bad answer", Some(1.0)),
        ],
    )];
    let (pairs, _) = build_pairs(&sets, 1, &paper());
    assert_eq!(pairs[0].chosen, "a long answer with many words in it");
    let (pairs, report) = build_pairs(
        &sets,
        1,
        &PairSection {
            length_control: true,
            min_parsed: MinParsed::Majority,
            length_margin: 0.5,
        },
    );
    assert_eq!(
        pairs[0].chosen, "short and fine",
        "within 0.5 of 5.0; 'tiny' at 4.0 is not"
    );
    assert_eq!(pairs[0].score_chosen, Some(4.6));
    assert_eq!(report.length_controlled, 1);
}

/// A response judged with k samples, `parsed` of them giving `score`.
fn sampled(text: &str, score: f64, parsed: usize, k: usize) -> JudgedResponse {
    let samples: Vec<_> = (0..k)
        .map(|i| {
            if i < parsed {
                Ok(score)
            } else {
                Err(ParseFailure::Truncated)
            }
        })
        .collect();
    JudgedResponse {
        response: text.into(),
        truncated: false,
        judgement: Judgement::from_samples(samples, vec![], &Default::default()),
    }
}

#[test]
fn truncated_candidates_never_enter_a_pair() {
    // The cut answer scored highest (the judge rewards length): it must not be trained as a
    // finished answer with an invented end of turn.
    let mut cut = response("a line of emoji repeated until the cut", Some(3.0));
    cut.truncated = true;
    let sets = vec![set(
        "a",
        vec![
            cut,
            response("a polite one-liner", Some(1.0)),
            response("a complete answer", Some(2.0)),
        ],
    )];
    let (pairs, report) = build_pairs(&sets, 1, &paper());
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].chosen, "a complete answer");
    assert_eq!(pairs[0].rejected, "a polite one-liner");
    assert_eq!((report.responses, report.removed_truncated), (3, 1));
}

#[test]
fn selection_needs_enough_parsed_samples_by_the_configured_rule() {
    let sets = vec![set(
        "a",
        vec![
            sampled("one lucky five", 5.0, 1, 3),
            sampled("two fours", 4.0, 2, 3),
            sampled("three twos", 2.0, 3, 3),
            sampled("one zero", 0.0, 1, 3),
        ],
    )];
    let with = |min_parsed| {
        build_pairs(
            &sets,
            1,
            &PairSection {
                min_parsed,
                ..paper()
            },
        )
    };
    let (pairs, report) = with(MinParsed::Any);
    assert_eq!(
        (pairs[0].chosen.as_str(), pairs[0].rejected.as_str()),
        ("one lucky five", "one zero")
    );
    assert_eq!(report.removed_unparsed, 0);
    let (pairs, report) = with(MinParsed::Majority);
    assert_eq!(
        (pairs[0].chosen.as_str(), pairs[0].rejected.as_str()),
        ("two fours", "three twos")
    );
    assert_eq!(report.removed_unparsed, 2);
    let (pairs, report) = with(MinParsed::All);
    assert!(pairs.is_empty(), "one competing response makes no pair");
    assert_eq!((report.removed_unparsed, report.too_few_judged), (3, 1));
    assert_eq!(
        [1, 2, 3, 4].map(|k| MinParsed::Majority.needed(k)),
        [1, 1, 2, 2]
    );
    assert_eq!(MinParsed::All.needed(3), 3);
}
